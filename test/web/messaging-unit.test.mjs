// Unit tests of the web app's messaging parts that run in Node (no UI):
// the sealed store (nothing in clear, records bound to their name and
// account), a ratchet session kept in it and loaded back, the conversation
// log (order, de-duplication by message id, read state), the content
// format, attachments (secretstream round trip, truncation and tampering
// refused, an upload resumed after a lost connection against a fake
// server that enforces the service's offset rule) and the device keys'
// publication and replenishing.
// Run: cd clients/web && npm test
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = process.env.ES_WEB_DIR || path.resolve(here, '../../clients/web');
const src = (p) => path.join(webDir, 'src', p);

const { sodiumReady } = await import(src('crypto.js'));
const { SealedStore, memoryBackend } = await import(src('messaging/store.js'));
const thread = await import(src('messaging/thread.js'));
const content = await import(src('messaging/content.js'));
const attach = await import(src('messaging/attach.js'));
const { DeviceKeys } = await import(src('messaging/keys.js'));
const { e2eReady } = await import(src('e2e/kdf.js'));
const { identityGenerate, prekeyKind, OPK_BATCH } = await import(src('e2e/prekeys.js'));
const { x3dhInitiate, x3dhRespond } = await import(src('e2e/x3dh.js'));
const { sessionEncrypt, sessionDecrypt } = await import(src('e2e/ratchet.js'));
const { sessionSerialize, sessionDeserialize } = await import(src('e2e/session.js'));
const { bundleFromWire, retryable } = await import(src('messaging/messenger.js'));
const { Code, EspaceError } = await import(src('errors.js'));

const s = await sodiumReady();
await e2eReady();
const enc = new TextEncoder();

/** Does `needle` (string) occur in any byte of the backend's records? */
function inBackend(backend, needle) {
  const n = Buffer.from(needle);
  for (const rec of backend.map.values()) {
    for (const v of Object.values(rec)) {
      const b = typeof v === 'string' ? Buffer.from(v) : Buffer.from(v);
      if (b.includes(n)) return true;
    }
  }
  return false;
}

test('sealed store: values round-trip, nothing in clear, names hashed', async () => {
  const backend = memoryBackend();
  const key = s.randombytes_buf(32);
  const st = new SealedStore(backend, key, 'a'.repeat(32));
  const value = { text: 'SECRET-MARKER', bytes: Uint8Array.from([1, 2, 3]), nested: [{ n: 1 }] };
  await st.put('conv/0123456789abcdef0123456789abcdef', value);
  assert.deepEqual(await st.get('conv/0123456789abcdef0123456789abcdef'), value);
  assert.equal(await st.get('conv/ffff'), undefined);
  assert.equal(inBackend(backend, 'SECRET-MARKER'), false);
  assert.equal(inBackend(backend, '0123456789abcdef'), false, 'the record name is not in the store');
  const [k] = backend.map.keys();
  assert.match(k, /^a{32}\/[0-9a-f]{32}$/);
  await st.delete('conv/0123456789abcdef0123456789abcdef');
  assert.equal(backend.map.size, 0);
});

test('sealed store: wrong key, another account or a moved record do not open', async () => {
  const backend = memoryBackend();
  const key = s.randombytes_buf(32);
  const st = new SealedStore(backend, key, 'a'.repeat(32));
  await st.put('one', { v: 1 });
  await st.put('two', { v: 2 });
  // another key does not even find the record (names are hashed under the key)
  assert.equal(await new SealedStore(backend, s.randombytes_buf(32), 'a'.repeat(32)).get('one'), undefined);
  // another account with the same key: the record copied there does not open (the AD names the account)
  const other = new SealedStore(backend, key, 'b'.repeat(32));
  backend.map.set(await other.storageKey('one'), { ...backend.map.get(await st.storageKey('one')), k: await other.storageKey('one') });
  await assert.rejects(other.get('one'), /does not open/);
  // the record of "one" copied under the storage key of "two": the AD names the record
  const recOne = backend.map.get(await st.storageKey('one'));
  backend.map.set(await st.storageKey('two'), { ...recOne, k: await st.storageKey('two') });
  await assert.rejects(st.get('two'), /does not open/);
  // a flipped bit
  recOne.sealed[3] ^= 1;
  await assert.rejects(st.get('one'), /does not open/);
});

test('a ratchet session stored sealed loads back and goes on', async () => {
  const alice = identityGenerate();
  const bob = identityGenerate();
  const keys = new DeviceKeys(bob, new SealedStore(memoryBackend(), s.randombytes_buf(32), 'b'.repeat(32)));
  const calls = [];
  await keys.publish(async (m, r) => { calls.push([m, r]); return { hint: { one_time_left: 100, low: false, published: true } }; },
    { one_time_left: 0, low: false, published: false });
  const pub = calls[0][1];
  const bundle = bundleFromWire({
    identity_key: pub.identity_key, signed_prekey: pub.signed_prekey, prekey_kind: 2,
    prekey_id: pub.one_time[0].id, prekey: pub.one_time[0].key, prekey_sig: new Uint8Array(0),
  });
  const a = x3dhInitiate(alice, bundle);
  const m1 = sessionEncrypt(a, enc.encode('bonjour'));
  const { session } = x3dhRespond(bob, keys.signedPrekey(bundle.spkId), keys.namedPrekey(prekeyKind.oneTime, bundle.opkId), m1);
  await keys.useOneTime(bundle.opkId);
  assert.equal(keys.namedPrekey(prekeyKind.oneTime, bundle.opkId), null, 'a used one-time prekey is gone');

  const backend = memoryBackend();
  const st = new SealedStore(backend, s.randombytes_buf(32), 'b'.repeat(32));
  await st.put('session/dev', { state: sessionSerialize(session), ik: alice.signPk });
  const back = await st.get('session/dev');
  const b2 = sessionDeserialize(back.state);
  const m2 = sessionEncrypt(a, enc.encode('deuxième'));
  assert.equal(new TextDecoder().decode(sessionDecrypt(b2, m2)), 'deuxième');
  assert.deepEqual(back.ik, alice.signPk);
  // the same message twice: refused by the ratchet (the log de-duplicates before)
  assert.throws(() => sessionDecrypt(b2, m2), (e) => e.code === 'ALREADY_EXISTS');
});

test('device keys: first publication, nothing new when stocked, a batch when low, rotation keeps old secrets', async () => {
  const id = identityGenerate();
  const store = new SealedStore(memoryBackend(), s.randombytes_buf(32), 'c'.repeat(32));
  const keys = new DeviceKeys(id, store);
  const calls = [];
  const call = async (m, r) => { calls.push([m, r]); return { hint: { one_time_left: 100, low: false, published: true } }; };
  await keys.publish(call, { one_time_left: 0, low: false, published: false });
  assert.equal(calls.length, 1);
  assert.equal(calls[0][0], 'PublishKeys');
  assert.equal(calls[0][1].one_time.length, OPK_BATCH);
  assert.deepEqual(calls[0][1].identity_key, id.signPk);
  await keys.publish(call, { one_time_left: 50, low: false, published: true });
  assert.equal(calls.length, 1, 'nothing to publish when stocked');
  await keys.publish(call, { one_time_left: 5, low: true, published: true });
  assert.equal(calls.length, 2);
  assert.equal(calls[1][1].one_time.length, OPK_BATCH);
  assert.equal(calls[1][1].identity_key, undefined);
  const ids = new Set([...calls[0][1].one_time, ...calls[1][1].one_time].map((p) => p.id));
  assert.equal(ids.size, 2 * OPK_BATCH, 'one-time ids are never reused');
  // loaded again from the store (a new page): same secrets
  const again = new DeviceKeys(id, store);
  await again.load();
  assert.ok(again.namedPrekey(prekeyKind.oneTime, calls[1][1].one_time[0].id));
  // rotation after 7 days: the old signed prekey is kept for late initial messages
  const oldSpk = again.rec.spk.id;
  again.rec.spk.createdS -= 8 * 86400;
  await again.publish(call, { one_time_left: 150, low: false, published: true });
  assert.ok(calls[2][1].signed_prekey && calls[2][1].last_resort);
  assert.ok(again.signedPrekey(oldSpk), 'the replaced signed prekey is kept');
  assert.notEqual(again.rec.spk.id, oldSpk);
});

test('conversation log: order by sent time, de-duplication by id, read state and receipts', () => {
  const conv = thread.convFromServer({ patient_id: 'p', professionals: ['10001234567'], started_by: '10001234567', started_ms: 5 }, 'c1');
  const pro = { kind: 2, principal: '10001234567' };
  assert.equal(thread.addMessage(conv, { id: 'b', from: pro, sentMs: 20, text: 'deux' }), true);
  assert.equal(thread.addMessage(conv, { id: 'a', from: pro, sentMs: 10, text: 'un' }), true);
  assert.equal(thread.addMessage(conv, { id: 'c', from: pro, sentMs: 20, text: 'trois' }), true);
  assert.equal(thread.addMessage(conv, { id: 'a', from: pro, sentMs: 10, text: 'un (copie)' }), false);
  assert.deepEqual(conv.messages.map((m) => m.text), ['un', 'deux', 'trois']);
  assert.equal(thread.unreadCount(conv), 3);
  thread.addMessage(conv, { id: 'm', from: { kind: 1, principal: 'p' }, sentMs: 30, text: 'moi', mine: true });
  assert.equal(thread.unreadCount(conv), 3, 'own messages are read');
  // another of the patient's devices read 'a'
  assert.equal(thread.applyRead(conv, ['a'], 'p', true), true);
  assert.equal(thread.unreadCount(conv), 2);
  assert.deepEqual(thread.markAllRead(conv), ['b', 'c']);
  assert.deepEqual(thread.markAllRead(conv), []);
  assert.equal(thread.applyRead(conv, ['m'], '10001234567', false), true);
  assert.deepEqual(conv.messages.find((m) => m.id === 'm').readBy, ['10001234567']);
  assert.equal(thread.applyDelivered(conv, 'm', '10001234567'), true);
  assert.equal(thread.applyDelivered(conv, 'm', '10001234567'), false);
  assert.equal(thread.lastMessage(conv).id, 'm');
});

test('content: text, attachments and read receipts; anything else refused', () => {
  const att = { id: '0'.repeat(32), key: s.to_base64(new Uint8Array(32), s.base64_variants.ORIGINAL), hash: 'a'.repeat(64), size: 41, name: 'cr.pdf', mime: 'application/pdf', plainSize: 0 };
  const t = content.textContent('Bonjour', [att]);
  assert.deepEqual(content.contentDecode(content.contentEncode(t)), t);
  const r = content.readContent(['f'.repeat(32)]);
  assert.deepEqual(content.contentDecode(content.contentEncode(r)), r);
  for (const bad of [{}, { v: 2, type: 'text', text: 'x' }, { v: 1, type: 'text', text: '' },
    { v: 1, type: 'read', ids: ['xyz'] }, { v: 1, type: 'text', text: 'x', attachments: [{ ...att, key: 'short' }] },
    { v: 1, type: 'other' }]) {
    assert.throws(() => content.contentEncode(bad), content.ContentError, JSON.stringify(bad));
  }
  assert.throws(() => content.contentDecode(Uint8Array.from([0x0a, 0x05, 0x0a, 0x03, 0x61])), content.ContentError); // truncated
  assert.deepEqual(content.contentDecode(new Uint8Array(0)), { v: 1, type: 'unknown' }); // a newer kind
  assert.equal(content.fitName('a/b\0c'), 'a_b_c');
  assert.equal(new TextEncoder().encode(content.fitName('é'.repeat(300))).length, 254);
  assert.equal(content.fitMime('application/pdf'), 'application/pdf');
  assert.throws(() => content.contentDecode(Uint8Array.from([0xff, 0xfe])), content.ContentError);
});

test('attachments: secretstream in 64 KiB chunks round-trips; truncation and tampering are refused', async () => {
  for (const n of [0, 1, 65536, 65537, 200000]) {
    const plain = s.randombytes_buf(n);
    const { ciphertext, key, hash } = await attach.encryptFile(plain);
    assert.equal(ciphertext.length, attach.sealedSize(n));
    assert.deepEqual(hash, s.crypto_generichash(32, ciphertext, null));
    assert.deepEqual(await attach.decryptFile(ciphertext, key), plain);
    if (n > 65536) {
      // dropping the last chunk loses the FINAL tag
      await assert.rejects(attach.decryptFile(ciphertext.subarray(0, 24 + 65536 + 17), key), /corrupt/);
    }
    const bad = Uint8Array.from(ciphertext);
    bad[bad.length - 1] ^= 1;
    await assert.rejects(attach.decryptFile(bad, key), /corrupt/);
  }
});

/** A fake messaging service for uploads: the offset rule, piece sizes, the hash, and a connection that drops. */
function fakeAttachServer({ dropAfterPieces }) {
  const st = { data: null, size: 0, hash: null, next: 0, complete: false, pieces: 0, dropped: 0, online: true };
  const call = async (method, r) => {
    if (!st.online) throw new EspaceError(Code.UNAVAILABLE, 'connection lost');
    if (method === 'BeginAttachment') {
      if (!st.data) Object.assign(st, { data: new Uint8Array(r.size), size: r.size, hash: r.hash });
      return { next_offset: st.next, complete: st.complete };
    }
    if (method === 'UploadChunk') {
      st.pieces++;
      if (st.pieces === dropAfterPieces) {
        st.online = false; // this piece is lost with the connection
        st.dropped++;
        throw new EspaceError(Code.UNAVAILABLE, 'connection lost');
      }
      if (r.offset !== st.next) throw new EspaceError(Code.FAILED_PRECONDITION, `expected ${st.next}`, 'offset');
      assert.ok(r.data.length <= attach.PIECE && (r.data.length >= 16384 || r.offset + r.data.length === st.size));
      st.data.set(r.data, r.offset);
      st.next += r.data.length;
      if (st.next === st.size) {
        assert.deepEqual(s.crypto_generichash(32, st.data, null), st.hash);
        st.complete = true;
      }
      return { next_offset: st.next, complete: st.complete };
    }
    if (method === 'DownloadAttachment') {
      const end = Math.min(r.offset + r.max_bytes, st.size);
      return { data: st.data.slice(r.offset, end), size: st.size, hash: st.hash };
    }
    throw new Error(method);
  };
  return { st, call };
}

test('attachments: an upload resumes where the server says after a lost connection; download checks the hash', async () => {
  const plain = s.randombytes_buf(600000);
  const { ciphertext, key, hash } = await attach.encryptFile(plain);
  const server = fakeAttachServer({ dropAfterPieces: 3 });
  const progress = [];
  await attach.upload({
    call: server.call, convId: new Uint8Array(16), attId: new Uint8Array(16), ciphertext, hash,
    onProgress: (d, t) => progress.push([d, t]),
    waitOnline: async () => { server.st.online = true; },
    isRetryable: retryable,
  });
  assert.equal(server.st.complete, true);
  assert.equal(server.st.dropped, 1);
  assert.deepEqual(progress.at(-1), [ciphertext.length, ciphertext.length]);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i][0] >= progress[i - 1][0], 'progress never goes back');
  const back = await attach.download({
    call: server.call, attId: new Uint8Array(16), size: ciphertext.length, hash,
    waitOnline: async () => {}, isRetryable: retryable,
  });
  assert.deepEqual(await attach.decryptFile(back, key), plain);
  // a hash other than announced: refused
  await assert.rejects(attach.download({
    call: server.call, attId: new Uint8Array(16), size: ciphertext.length, hash: new Uint8Array(32),
    waitOnline: async () => {}, isRetryable: retryable,
  }), /corrupt/);
  // a refusal that is not about the connection is not retried
  await assert.rejects(attach.upload({
    call: async () => { throw new EspaceError(Code.PERMISSION_DENIED, 'no'); }, convId: new Uint8Array(16),
    attId: new Uint8Array(16), ciphertext, hash, waitOnline: async () => {}, isRetryable: retryable,
  }), (e) => e.code === Code.PERMISSION_DENIED);
});
