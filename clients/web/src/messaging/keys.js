// This browser device's end-to-end keys (docs/e2e.md "Keys", "Prekeys"):
// - the identity is the device's Ed25519 key of src/crypto.js (the key
//   identity records), its X25519 form derived: nothing new to store;
// - the signed, last-resort and one-time prekey secrets are kept in the
//   sealed store (record "prekeys"), never sent anywhere;
// - publish() uploads the bundle after log-in (or when the server lost it),
//   rotates the signed and last-resort prekeys every 7 days (the old secrets
//   kept 30 more days), and uploads a batch of one-time prekeys when the
//   server's hint says the stock is low.
import {
  identityFromSecret, prekeyFromSecret, prekeyGenerate, prekeysGenerate, prekeyKind,
  prekeyRotationDue, prekeyExpired, OPK_BATCH,
} from '../e2e/prekeys.js';
import { sodium } from '../e2e/kdf.js';

const RECORD = 'prekeys';
const OPK_HELD_MAX = 500; // the server holds at most this many (MSG_OPK_HELD)

const nowS = () => Math.floor(Date.now() / 1000);

/** The e2e identity of the device keys of crypto.js (keys.sign.privateKey: 64 bytes). */
export function deviceIdentity(keys) {
  return identityFromSecret(keys.sign.privateKey);
}

const saved = (p) => ({ kind: p.kind, id: p.id, createdS: p.createdS, sk: p.sk });
const wire = (p) => ({ id: p.id, key: p.pk, sig: p.sig });

export class DeviceKeys {
  /** @param identity deviceIdentity(...); @param store a SealedStore */
  constructor(identity, store) {
    this.identity = identity;
    this.store = store;
    this.rec = null; // { spk, lrk, old: [], opks: { id: sk }, nextId }
  }

  async load() {
    this.rec = (await this.store.get(RECORD)) || null;
    return this.rec;
  }

  async save() {
    await this.store.put(RECORD, this.rec);
  }

  prekey(p) {
    return prekeyFromSecret(p.kind === prekeyKind.oneTime ? null : this.identity, p.kind, p.id, p.createdS, p.sk);
  }

  /** The signed prekey with that id (current or kept old one), or null. */
  signedPrekey(id) {
    const all = [this.rec.spk, ...this.rec.old];
    const p = all.find((x) => x.kind === prekeyKind.signed && x.id === id);
    return p ? this.prekey(p) : null;
  }

  /** The one-time or last-resort prekey an initial header names, or null. */
  namedPrekey(kind, id) {
    if (kind === prekeyKind.oneTime) {
      const sk = this.rec.opks[id];
      return sk ? prekeyFromSecret(null, kind, id, 0, sk) : null;
    }
    if (kind === prekeyKind.lastResort) {
      const p = [this.rec.lrk, ...this.rec.old].find((x) => x.kind === kind && x.id === id);
      return p ? this.prekey(p) : null;
    }
    return null;
  }

  /** Forget a one-time prekey for good (after an initial message that named it decrypted). */
  async useOneTime(id) {
    if (this.rec.opks[id]) {
      sodium().memzero(this.rec.opks[id]);
      delete this.rec.opks[id];
      await this.save();
    }
  }

  newOneTime(count) {
    const list = prekeysGenerate(count, this.rec.nextId, nowS());
    this.rec.nextId += count;
    for (const p of list) this.rec.opks[p.id] = p.sk;
    return list;
  }

  newSigned() {
    const t = nowS();
    const spk = prekeyGenerate(this.identity, prekeyKind.signed, this.rec.nextId, t);
    const lrk = prekeyGenerate(this.identity, prekeyKind.lastResort, this.rec.nextId + 1, t);
    this.rec.nextId += 2;
    return { spk, lrk };
  }

  /**
   * Make sure the server has this device's bundle and enough one-time
   * prekeys: `status` is the PrekeyHint the server gave (KeyStatus, Fetch);
   * `call(method, request)` calls the messaging service. Returns the new hint.
   */
  async publish(call, status) {
    if (!this.rec) await this.load();
    let req = null;
    if (!this.rec) {
      // nothing stored here: whatever the server holds for this device is unusable
      if (status.published) await call('Unpublish', {});
      status = { ...status, published: false };
      this.rec = { spk: null, lrk: null, old: [], opks: {}, nextId: 1 };
    }
    if (!this.rec.spk || !status.published) {
      // first publication of this device, or the server lost/withdrew it
      if (!this.rec.spk) {
        const { spk, lrk } = this.newSigned();
        this.rec.spk = saved(spk);
        this.rec.lrk = saved(lrk);
      }
      for (const id of Object.keys(this.rec.opks)) delete this.rec.opks[id];
      req = {
        identity_key: this.identity.signPk,
        signed_prekey: wire(this.prekey(this.rec.spk)),
        last_resort: wire(this.prekey(this.rec.lrk)),
        one_time: this.newOneTime(OPK_BATCH).map(wire),
      };
    } else {
      req = {};
      if (prekeyRotationDue(this.rec.spk, nowS())) {
        const { spk, lrk } = this.newSigned();
        this.rec.old.push(this.rec.spk, this.rec.lrk);
        this.rec.spk = saved(spk);
        this.rec.lrk = saved(lrk);
        req.signed_prekey = wire(spk);
        req.last_resort = wire(lrk);
      }
      this.rec.old = this.rec.old.filter((p) => !prekeyExpired(p, nowS()));
      if (status.low) {
        const room = Math.min(OPK_BATCH, OPK_HELD_MAX - status.one_time_left);
        if (room > 0) req.one_time = this.newOneTime(room).map(wire);
      }
      if (!req.signed_prekey && !req.one_time) return status;
    }
    await this.save(); // the secrets are stored before the public halves leave
    const reply = await call('PublishKeys', req);
    return reply.hint || status;
  }
}
