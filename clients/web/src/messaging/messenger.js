// The messaging engine of this browser device (no DOM): keys published,
// queue fetched and acknowledged, messages decrypted, sessions and the
// conversations' logs kept in the sealed store, messages encrypted per
// device and sent. The screens (src/screens/messaging/) read its state and
// listen to 'change'.
//
// - Live arrival: the edge forwards "patient.<id>.device.<this device>.messaging"
//   to this connection only; the event is a hint: sync() then Fetches the
//   queue until caught_up, decrypts, stores, and Acks (the queue is the truth).
// - De-duplication: an entry whose message id is already in the log is
//   acknowledged without decrypting again (a crash between store and Ack).
// - Sending: one copy per current device of every member but this one (the
//   patient's other devices included); a DEVICES_CHANGED answer makes it
//   claim the new devices' bundles, drop the stale copies and send again
//   once with the same message id.
// - Every key, session and plaintext stays here: the server gets bundles'
//   public halves and ciphertext.
// Events: on('change', fn) after anything the screens show changed.
import { enumConstants } from '../enums.js';
import { Code } from '../errors.js';
import { hex } from '../dom.js';
import { STATE } from '../protocol.js';
import { e2eReady, sodium } from '../e2e/kdf.js';
import { messageInfo } from '../e2e/header.js';
import { prekeyKind } from '../e2e/prekeys.js';
import { x3dhInitiate, x3dhRespond } from '../e2e/x3dh.js';
import { sessionEncrypt, sessionDecrypt } from '../e2e/ratchet.js';
import { sessionSerialize, sessionDeserialize } from '../e2e/session.js';
import { safetyNumber } from '../e2e/safety.js';
import { DeviceKeys, deviceIdentity } from './keys.js';
import { contentEncode, contentDecode, textContent, readContent, fitName, fitMime } from './content.js';
import {
  convFromServer, convUpdate, hasMessage, addMessage, unreadCount, markAllRead, applyRead, applyDelivered,
  lastMessage,
} from './thread.js';
import { encryptFile, decryptFile, upload, download } from './attach.js';

const Kind = enumConstants('espace.v1.EntryKind', 'ENTRY_KIND_');
const Result = enumConstants('espace.v1.SendResult', 'SEND_RESULT_');
const Principal = enumConstants('espace.v1.PrincipalKind', 'PRINCIPAL_');
const PREKEY = enumConstants('espace.v1.PrekeyKind', 'PREKEY_KIND_');

const TOPIC = /^patient\.([0-9a-f]{32})\.device\.([0-9a-f]{32})\.messaging$/;
const FETCH_ROUNDS = 50;
const CONTROL_IDS_KEPT = 500;

export const fromHex = (h) => Uint8Array.from(h.match(/../g) || [], (b) => parseInt(b, 16));

/** The stable id of a member for safety numbers (docs/e2e.md section 9). */
export function stableId(member) {
  return member.kind === Principal.PATIENT ? `patient:${member.principal}` : `rpps:${member.principal}`;
}

/** A Bundle message from the server as the e2e module's bundle. */
export function bundleFromWire(b) {
  return {
    ik: b.identity_key,
    spkId: b.signed_prekey.id, spk: b.signed_prekey.key, spkSig: b.signed_prekey.sig,
    opkKind: b.prekey_kind === PREKEY.NONE ? prekeyKind.none : b.prekey_kind,
    opkId: b.prekey_id,
    opk: b.prekey && b.prekey.length ? b.prekey : new Uint8Array(32),
    opkSig: b.prekey_sig && b.prekey_sig.length ? b.prekey_sig : new Uint8Array(64),
  };
}

/** Errors after which an upload or download goes on once the connection is back. */
export function retryable(err) {
  return Boolean(err) && (err.code === Code.UNAVAILABLE || err.code === Code.DEADLINE_EXCEEDED
    || (err.code === Code.FAILED_PRECONDITION && err.field === 'offset'));
}

export class Messenger {
  /**
   * @param {object} o
   * @param o.conn    protocol.js Connection (logged in)
   * @param o.store   SealedStore of this account
   * @param o.keys    crypto.js device keys (unwrapped)
   * @param o.me      WhoAmIReply (caller.principal: patient id, caller.device_id)
   */
  constructor({ conn, store, keys, me }) {
    this.conn = conn;
    this.store = store;
    this.deviceKeys = keys;
    this.myId = me.caller.principal;
    this.myDevice = hex(me.caller.device_id);
    this.convs = new Map();     // hex -> conversation record
    this.devices = new Map();   // conv hex -> [MemberDevices] (last known)
    this.sessions = new Map();  // device hex -> { s, ik, member }
    this.listeners = new Set();
    this.lock = Promise.resolve();
    this.caughtUp = false;
    this.ready = false;
    this.error = null;
    this.offs = [];
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit() {
    for (const fn of this.listeners) {
      try {
        fn();
      } catch (err) {
        console.error(err);
      }
    }
  }

  call(method, req = {}, opts = {}) {
    return this.conn.call('messaging', method, req, opts);
  }

  /** Run fn alone (sessions and logs change in one order). */
  exclusive(fn) {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }

  /** Load the stored state, publish the keys, fetch the queue. */
  async start() {
    await e2eReady();
    this.identity = deviceIdentity(this.deviceKeys);
    this.keys = new DeviceKeys(this.identity, this.store);
    await this.keys.load();
    const index = (await this.store.get('index')) || { convs: [] };
    for (const id of index.convs) {
      const c = await this.store.get(`conv/${id}`);
      if (c) this.convs.set(id, c);
    }
    this.offs.push(this.conn.on('event', (ev) => {
      const m = TOPIC.exec(ev.topic);
      if (m && m[1] === this.myId && m[2] === this.myDevice) this.sync();
    }));
    this.offs.push(this.conn.on('state', (st) => {
      if (st === STATE.ONLINE) this.sync();
    }));
    const st = await this.call('KeyStatus', {});
    await this.exclusive(() => this.keys.publish((m, r) => this.call(m, r), st.hint || {}));
    this.ready = true;
    await this.refreshConversations();
    await this.sync();
  }

  stop() {
    for (const off of this.offs) off();
    this.offs = [];
    this.listeners.clear();
    this.stopped = true;
  }

  // ---- stored records ----

  async saveConv(conv) {
    await this.store.put(`conv/${conv.id}`, conv);
  }

  async saveIndex() {
    await this.store.put('index', { convs: [...this.convs.keys()] });
  }

  async loadSession(dev) {
    if (this.sessions.has(dev)) return this.sessions.get(dev);
    const rec = await this.store.get(`session/${dev}`);
    if (!rec) return null;
    const entry = { s: sessionDeserialize(rec.state), ik: rec.ik, member: rec.member };
    sodium().memzero(rec.state);
    this.sessions.set(dev, entry);
    return entry;
  }

  async saveSession(dev, entry) {
    this.sessions.set(dev, entry);
    const state = sessionSerialize(entry.s);
    await this.store.put(`session/${dev}`, { state, ik: entry.ik, member: entry.member });
    sodium().memzero(state);
  }

  // ---- conversations ----

  /** The conversations, the most recent activity first. */
  list() {
    const when = (c) => (lastMessage(c) ? lastMessage(c).sentMs : c.startedMs);
    return [...this.convs.values()].sort((a, b) => when(b) - when(a));
  }

  conv(id) {
    return this.convs.get(id) || null;
  }

  unread(id) {
    const c = this.convs.get(id);
    return c ? unreadCount(c) : 0;
  }

  totalUnread() {
    let n = 0;
    for (const c of this.convs.values()) n += unreadCount(c);
    return n;
  }

  async refreshConversations() {
    const r = await this.call('ListConversations', { limit: 500 });
    await this.exclusive(async () => {
      for (const c of r.conversations) {
        const id = hex(c.id);
        let conv = this.convs.get(id);
        if (!conv) {
          conv = convFromServer(c, id);
          this.convs.set(id, conv);
        } else {
          convUpdate(conv, c);
        }
        await this.saveConv(conv);
      }
      await this.saveIndex();
    });
    this.emit();
  }

  /** The conversation and its members' current devices, from the server (also updates the record). */
  async fetchConversation(id) {
    const r = await this.call('GetConversation', { conversation_id: fromHex(id) });
    let conv = this.convs.get(id);
    if (!conv) {
      conv = convFromServer(r.conversation, id);
      this.convs.set(id, conv);
      await this.saveIndex();
    } else {
      convUpdate(conv, r.conversation);
    }
    this.devices.set(id, r.devices);
    await this.saveConv(conv);
    return r.devices;
  }

  /**
   * "Nouveau message": start a conversation with professional `rpps`, who
   * must hold the patient's MESSAGING grant (else the service refuses:
   * PERMISSION_DENIED). Resolves to the new conversation's id (hex).
   */
  async startConversation(rpps) {
    const r = await this.call('StartConversation', { patient_id: '', professionals: [rpps] });
    const id = hex(r.conversation.id);
    let conv = this.convs.get(id);
    if (!conv) {
      conv = convFromServer(r.conversation, id);
      this.convs.set(id, conv);
      await this.saveIndex();
    } else {
      convUpdate(conv, r.conversation);
    }
    this.devices.set(id, r.devices);
    await this.saveConv(conv);
    this.emit();
    return id;
  }

  // ---- receiving ----

  /** Fetch the queue until caught up, then acknowledge. Calls made meanwhile run once more after. */
  sync() {
    if (!this.ready || this.stopped) return Promise.resolve();
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.again = false;
          await this.exclusive(() => this.fetchAll());
        } while (this.again && !this.stopped);
        this.error = null;
      } catch (err) {
        this.error = err;
        console.warn('espace: messaging sync failed:', err.message);
      } finally {
        this.syncing = null;
        this.emit();
      }
    })();
    return this.syncing;
  }

  async fetchAll() {
    this.caughtUp = false;
    for (let i = 0; i < FETCH_ROUNDS; i++) {
      const r = await this.call('Fetch', { after_seq: 0, limit: 100 });
      for (const e of r.entries) await this.receive(e);
      if (r.entries.length) await this.call('Ack', { up_to_seq: r.last_seq });
      if (r.hint && (r.hint.low || !r.hint.published)) {
        await this.keys.publish((m, q) => this.call(m, q), r.hint);
      }
      if (r.entries.length) this.emit();
      if (r.caught_up) {
        this.caughtUp = true;
        return;
      }
    }
  }

  async convFor(id) {
    if (!this.convs.has(id)) await this.fetchConversation(id);
    return this.convs.get(id);
  }

  /** One queue entry: a delivery receipt, or a message to decrypt and file. */
  async receive(e) {
    const convId = hex(e.conversation_id);
    const msgId = hex(e.message_id);
    const conv = await this.convFor(convId);
    if (e.kind === Kind.RECEIPT) {
      if (e.receipt_member && applyDelivered(conv, msgId, e.receipt_member.principal)) await this.saveConv(conv);
      return;
    }
    if (e.kind !== Kind.MESSAGE) return;
    conv.controlIds = conv.controlIds || [];
    if (hasMessage(conv, msgId) || conv.controlIds.includes(msgId)) return; // a copy seen before
    const sender = e.sender;
    const bySelf = sender.kind === Principal.PATIENT && sender.principal === this.myId;
    const base = {
      id: msgId, from: { kind: sender.kind, principal: sender.principal }, device: hex(e.sender_device),
      sentMs: Number(e.sent_ms), mine: bySelf,
    };
    let content;
    try {
      const plain = await this.decrypt(hex(e.sender_device), sender, e.ciphertext);
      content = contentDecode(plain);
      sodium().memzero(plain);
    } catch (err) {
      console.warn('espace: a message could not be decrypted:', err.message);
      addMessage(conv, { ...base, text: '', unreadable: true });
      await this.saveConv(conv);
      return;
    }
    if (content.type === 'read') {
      applyRead(conv, content.ids, sender.principal, bySelf);
      conv.controlIds = [...conv.controlIds, msgId].slice(-CONTROL_IDS_KEPT);
    } else if (content.type === 'unknown') { // a newer client's kind: nothing to show
      conv.controlIds = [...conv.controlIds, msgId].slice(-CONTROL_IDS_KEPT);
    } else {
      addMessage(conv, { ...base, text: content.text, attachments: content.attachments });
    }
    await this.saveConv(conv);
  }

  /** Decrypt a copy from device `dev` of `member` (a session, or X3DH for an initial message). */
  async decrypt(dev, member, ct) {
    const info = messageInfo(ct);
    const have = await this.loadSession(dev);
    if (have) {
      try {
        const plain = sessionDecrypt(have.s, ct); // the state changes only when it decrypts
        await this.saveSession(dev, have);
        return plain;
      } catch (err) {
        if (!(info.initial && err.code === 'FAILED_PRECONDITION')) throw err;
        // the peer started a new session: answer it below
      }
    }
    if (!info.initial) throw new Error('no session with this device');
    const spk = this.keys.signedPrekey(info.spkId);
    const opk = info.opkKind === prekeyKind.none ? null : this.keys.namedPrekey(info.opkKind, info.opkId);
    if (!spk || (info.opkKind !== prekeyKind.none && !opk)) throw new Error('prekey unknown or used');
    const { session, plaintext } = x3dhRespond(this.identity, spk, opk, ct);
    await this.saveSession(dev, { s: session, ik: info.ik, member: { kind: member.kind, principal: member.principal } });
    if (info.opkKind === prekeyKind.oneTime) await this.keys.useOneTime(info.opkId);
    return plaintext;
  }

  // ---- sending ----

  /** Devices to send to: every current device of every member but this one. */
  targets(devices) {
    const out = [];
    for (const md of devices) {
      for (const d of md.devices) {
        const dev = hex(d.device_id);
        if (dev !== this.myDevice) out.push({ dev, ik: d.identity_key, member: md.member });
      }
    }
    return out;
  }

  /** Encrypt `plain` for each target into `copies` (Map dev -> ciphertext), claiming bundles as needed. */
  async encryptFor(convId, targets, plain, copies) {
    const need = [];
    for (const t of targets) {
      const s = await this.loadSession(t.dev);
      if (!s || !sodium().memcmp(s.ik, t.ik)) need.push(t);
    }
    if (need.length) {
      const r = await this.call('ClaimBundles', { conversation_id: fromHex(convId), device_ids: need.map((t) => fromHex(t.dev)) });
      for (const b of r.bundles) {
        const dev = hex(b.device_id);
        const t = need.find((x) => x.dev === dev);
        if (!t) continue;
        const s = x3dhInitiate(this.identity, bundleFromWire(b)); // verifies the signatures
        await this.saveSession(dev, { s, ik: b.identity_key, member: { kind: t.member.kind, principal: t.member.principal } });
      }
    }
    for (const t of targets) {
      const entry = await this.loadSession(t.dev);
      if (!entry) throw new Error(`no bundle for device ${t.dev}`);
      copies.set(t.dev, sessionEncrypt(entry.s, plain));
      await this.saveSession(t.dev, entry);
    }
  }

  /** Encrypt and send content `content` into conversation `id`; resolves to the sent_ms. */
  async sendContent(id, content, msgId) {
    return this.exclusive(async () => {
      const plain = contentEncode(content);
      const devices = await this.fetchConversation(id);
      const targets = this.targets(devices);
      if (!targets.some((t) => t.member.kind !== Principal.PATIENT)) throw new Error('no recipient device');
      const copies = new Map();
      await this.encryptFor(id, targets, plain, copies);
      for (let attempt = 0; attempt < 2; attempt++) {
        const r = await this.call('Send', {
          conversation_id: fromHex(id), message_id: fromHex(msgId), patient_id: '',
          copies: [...copies].map(([dev, ciphertext]) => ({ device_id: fromHex(dev), ciphertext })),
        });
        if (r.result === Result.STORED || r.result === Result.DUPLICATE) return Number(r.sent_ms);
        if (r.result !== Result.DEVICES_CHANGED || attempt > 0) break;
        // the members' devices changed: drop the stale copies, add the missing ones, once
        for (const d of r.stale) copies.delete(hex(d));
        this.devices.set(id, r.devices);
        const missing = new Set(r.missing.map(hex));
        await this.encryptFor(id, this.targets(r.devices).filter((t) => missing.has(t.dev)), plain, copies);
      }
      throw Object.assign(new Error('devices changed'), { devicesChanged: true });
    });
  }

  newId() {
    return hex(sodium().randombytes_buf(16));
  }

  /** Send a text (and attachments already uploaded) into conversation `id`; the message joins the log. */
  async sendText(id, text, attachments = []) {
    const content = textContent(text, attachments);
    const msgId = this.newId();
    const sentMs = await this.sendContent(id, content, msgId);
    const conv = this.convs.get(id);
    await this.exclusive(async () => {
      addMessage(conv, {
        id: msgId, from: { kind: Principal.PATIENT, principal: this.myId }, device: this.myDevice,
        sentMs, mine: true, text: content.text, attachments: content.attachments,
      });
      await this.saveConv(conv);
    });
    this.emit();
    return msgId;
  }

  /** Mark conversation `id` read here and tell the other devices (an encrypted read receipt). */
  async markRead(id) {
    const conv = this.convs.get(id);
    if (!conv) return;
    const ids = await this.exclusive(async () => {
      const newly = markAllRead(conv);
      if (newly.length || conv.messages.some((m) => !m.mine && m.unreadable)) await this.saveConv(conv);
      return newly;
    });
    this.emit();
    if (!ids.length || conv.closed) return;
    try {
      await this.sendContent(id, readContent(ids.slice(-500)), this.newId());
    } catch (err) {
      console.warn('espace: read receipt not sent:', err.message); // read state stays local anyway
    }
  }

  waitOnline() {
    if (this.conn.state === STATE.ONLINE) return new Promise((r) => setTimeout(r, 200));
    return new Promise((resolve) => {
      const off = this.conn.on('state', (s) => {
        if (s === STATE.ONLINE) {
          off();
          resolve();
        }
      });
    });
  }

  /** Encrypt and upload file bytes into conversation `id`; resolves to the attachment for the content. */
  async uploadFile(id, { name, mime, bytes }, onProgress) {
    const { ciphertext, key, hash } = await encryptFile(bytes);
    const attId = sodium().randombytes_buf(16);
    await upload({
      call: (m, r) => this.call(m, r, { timeoutMs: 30000 }), convId: fromHex(id), attId, ciphertext, hash,
      onProgress, waitOnline: () => this.waitOnline(), isRetryable: retryable,
    });
    const s = sodium();
    return {
      id: hex(attId), key: s.to_base64(key, s.base64_variants.ORIGINAL), hash: hex(hash),
      size: ciphertext.length, name: fitName(name), mime: fitMime(mime), plainSize: bytes.length,
    };
  }

  /** Download and decrypt attachment `att` (from a message's content): the file bytes. */
  async downloadFile(att, onProgress) {
    const s = sodium();
    const ciphertext = await download({
      call: (m, r) => this.call(m, r, { timeoutMs: 30000 }), attId: fromHex(att.id), size: att.size,
      hash: fromHex(att.hash), onProgress, waitOnline: () => this.waitOnline(), isRetryable: retryable,
    });
    return decryptFile(ciphertext, s.from_base64(att.key, s.base64_variants.ORIGINAL));
  }

  // ---- safety numbers ----

  /** [{ member, dev, number }] for every other device of conversation `id` (fetches the devices). */
  async safetyNumbers(id) {
    const devices = await this.fetchConversation(id);
    const mine = stableId({ kind: Principal.PATIENT, principal: this.myId });
    return this.targets(devices).map((t) => ({
      member: t.member, dev: t.dev,
      number: safetyNumber(this.identity.signPk, mine, t.ik, stableId(t.member)),
    }));
  }
}
