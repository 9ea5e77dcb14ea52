// End-to-end encryption in JavaScript (clients/web/src/e2e/, docs/e2e.md):
// - the shared vectors of test/vectors/e2e, written by the C library's
//   generator (test/vectors/e2e/gen.c) and checked against the C library by
//   ctest unit.e2e.vectors: every key, secret, ciphertext and session state
//   must come out here byte for byte. C-made messages decrypt here, and the
//   messages made here equal the C ones, so they decrypt in C;
// - the same protocol properties the C tests check: loss, reordering,
//   duplicates, tampering, the skipped-key bound, state unchanged on refusal.
// Run: cd clients/web && npm test
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = process.env.ES_WEB_DIR || path.resolve(here, '../../clients/web');
const vectorsDir = path.resolve(here, '../vectors/e2e');
const e2e = (name) => import(path.join(webDir, 'src/e2e', name));

const kdf = await e2e('kdf.js');
const prekeys = await e2e('prekeys.js');
const header = await e2e('header.js');
const ratchet = await e2e('ratchet.js');
const session = await e2e('session.js');
const x3dh = await e2e('x3dh.js');
const safety = await e2e('safety.js');
const s = await kdf.e2eReady();

const vec = (name) => JSON.parse(fs.readFileSync(path.join(vectorsDir, name), 'utf8'));
const hex = (h) => s.from_hex(h);
const toHex = (b) => s.to_hex(b);
const utf8 = (t) => new TextEncoder().encode(t);
const text = (b) => new TextDecoder().decode(b);

function bundleOf(j) {
  return {
    ik: hex(j.ik), spkId: j.spk_id, spk: hex(j.spk), spkSig: hex(j.spk_sig),
    opkKind: j.opk_kind, opkId: j.opk_id, opk: hex(j.opk), opkSig: hex(j.opk_sig),
  };
}

/** The E2EError code thrown by fn, or 'OK'. */
function statusOf(fn) {
  try {
    fn();
    return 'OK';
  } catch (e) {
    if (!(e instanceof kdf.E2EError)) throw e;
    return e.code;
  }
}

// ---- shared vectors ----

test('e2e vectors: KDF', () => {
  const v = vec('kdf.json');
  for (const c of v.extract) assert.equal(toHex(kdf.kdfExtract(hex(c.salt), hex(c.ikm))), c.prk);
  for (const c of v.expand) assert.equal(toHex(kdf.kdfExpand(hex(c.prk), c.label, c.length)), c.okm);
  const [rk, ck] = kdf.kdfRoot(hex(v.root.rk), hex(v.root.dh));
  assert.equal(toHex(rk), v.root.rk_out);
  assert.equal(toHex(ck), v.root.ck_out);
  const [ck2, mk] = kdf.kdfChain(hex(v.chain.ck));
  assert.equal(toHex(ck2), v.chain.ck_out);
  assert.equal(toHex(mk), v.chain.mk);
  const [key, nonce] = kdf.kdfMessage(hex(v.message.mk));
  assert.equal(toHex(key), v.message.key);
  assert.equal(toHex(nonce), v.message.nonce);
  for (const c of v.x3dh) assert.equal(toHex(kdf.kdfX3dh(hex(c.dh))), c.sk);
  assert.equal(statusOf(() => kdf.kdfExpand(new Uint8Array(15), 'x', 1)), 'INVALID_ARGUMENT');
  assert.equal(statusOf(() => kdf.kdfExpand(new Uint8Array(64), 'x', 0)), 'INVALID_ARGUMENT');
});

const keys = vec('keys.json');
const alice = prekeys.identityFromSeed(hex(keys.alice.seed));
const bob = prekeys.identityFromSeed(hex(keys.bob.seed));
const bobPrekey = (j) => prekeys.prekeyFromSecret(bob, j.kind, j.id, 0, hex(j.sk));
const spk = bobPrekey(keys.signed);
const opk = bobPrekey(keys.one_time);
const lrk = bobPrekey(keys.last_resort);

test('e2e vectors: identities and prekeys', () => {
  for (const [id, j] of [[alice, keys.alice], [bob, keys.bob]]) {
    assert.equal(toHex(id.signPk), j.sign_pk);
    assert.equal(toHex(id.signSk), j.sign_sk);
    assert.equal(toHex(id.dhPk), j.dh_pk);
    assert.equal(toHex(id.dhSk), j.dh_sk);
    assert.deepEqual(prekeys.identityFromSecret(hex(j.sign_sk)), id);
  }
  for (const [p, j] of [[spk, keys.signed], [opk, keys.one_time], [lrk, keys.last_resort]]) {
    assert.equal(toHex(p.pk), j.pk);
    assert.equal(toHex(p.sig), j.sig);
  }
  const bad = hex(keys.alice.sign_sk);
  bad[40] ^= 1;
  assert.equal(statusOf(() => prekeys.identityFromSecret(bad)), 'INVALID_ARGUMENT');
});

test('e2e vectors: X3DH, first messages and bad bundles', () => {
  const v = vec('x3dh.json');
  assert.equal(v.cases.length, 3);
  for (const c of v.cases) {
    const b = bundleOf(c.bundle);
    prekeys.bundleVerify(b);
    assert.equal(toHex(x3dh.x3dhSecretInitiator(alice, b, hex(c.ek_sk))), c.sk, c.name);
    const a = x3dh.x3dhInitiate(alice, b, { ekSk: hex(c.ek_sk), dhsSk: hex(c.dhs_sk) });
    assert.equal(toHex(ratchet.sessionEncrypt(a, utf8(c.text))), c.message, c.name);
    const named = { [prekeys.prekeyKind.oneTime]: opk, [prekeys.prekeyKind.lastResort]: lrk };
    const r = x3dh.x3dhRespond(bob, spk, named[b.opkKind] || null, hex(c.message));
    assert.equal(text(r.plaintext), c.text);
  }
  assert.ok(v.bad_bundles.length >= 5);
  for (const c of v.bad_bundles) {
    assert.equal(statusOf(() => prekeys.bundleVerify(bundleOf(c.bundle))), c.status, c.name);
    assert.equal(statusOf(() => x3dh.x3dhInitiate(alice, bundleOf(c.bundle))), c.status, c.name);
  }
});

function flipped(msg, at) {
  const m = Uint8Array.from(msg);
  if (at >= 0) m[at] ^= 1;
  return m;
}

/** Play events of conversation.json on sessions { alice, bob }. */
function play(events, sessions) {
  const msgs = [];
  for (const ev of events) {
    if (ev.op === 'send') {
      const sess = sessions[ev.from];
      assert.equal(ratchet.sessionSendStepPending(sess), ev.ratchet_sk !== '', `step of message ${ev.index}`);
      const m = ratchet.sessionEncrypt(sess, utf8(ev.text), ev.ratchet_sk ? hex(ev.ratchet_sk) : null);
      assert.equal(toHex(m), ev.message, `message ${ev.index} made in JS equals the C one`);
      msgs[ev.index] = hex(ev.message);
      continue;
    }
    const m = flipped(msgs[ev.index], ev.flip);
    let got;
    let status;
    if (!sessions[ev.to]) {
      status = statusOf(() => {
        const r = x3dh.x3dhRespond(bob, spk, opk, m);
        sessions.bob = r.session;
        got = r.plaintext;
      });
    } else {
      const before = toHex(session.sessionSerialize(sessions[ev.to]));
      status = statusOf(() => { got = ratchet.sessionDecrypt(sessions[ev.to], m); });
      if (status !== 'OK') assert.equal(toHex(session.sessionSerialize(sessions[ev.to])), before, 'state unchanged');
    }
    assert.equal(status, ev.status, `message ${ev.index} (flip ${ev.flip}) to ${ev.to}`);
    if (status === 'OK') assert.equal(text(got), ev.text);
  }
}

test('e2e vectors: a conversation with loss, reordering, duplicates and tampering', () => {
  const v = vec('conversation.json');
  const b = bundleOf(v.bundle);
  const sessions = { alice: x3dh.x3dhInitiate(alice, b, { ekSk: hex(v.ek_sk), dhsSk: hex(v.dhs_sk) }), bob: null };
  play(v.events, sessions);
  assert.equal(toHex(session.sessionSerialize(sessions.alice)), v.final.alice);
  assert.equal(toHex(session.sessionSerialize(sessions.bob)), v.final.bob);
  // the states the C library saved load here and carry on as in C
  const loaded = {
    alice: session.sessionDeserialize(hex(v.final.alice)),
    bob: session.sessionDeserialize(hex(v.final.bob)),
  };
  assert.equal(toHex(session.sessionSerialize(loaded.bob)), v.final.bob);
  assert.ok(v.after.length >= 4);
  play(v.after, loaded);
});

test('e2e vectors: safety numbers', () => {
  const v = vec('safety.json');
  for (const c of v.cases) assert.equal(safety.safetyNumber(hex(c.ik_a), c.id_a, hex(c.ik_b), c.id_b), c.number);
  assert.equal(v.cases[0].number, v.cases[1].number, 'the same on both sides');
  assert.notEqual(v.cases[0].number, v.cases[2].number, 'another key, another number');
  assert.match(v.cases[0].number, /^\d{5}( \d{5}){11}$/);
});

// ---- protocol properties (as test/unit/e2e/test_ratchet.c) ----

/** Two fresh devices with an open pair of sessions. */
function openPair() {
  const a = prekeys.identityGenerate();
  const b = prekeys.identityGenerate();
  const bSpk = prekeys.prekeyGenerate(b, prekeys.prekeyKind.signed, 1, 0);
  const [bOpk] = prekeys.prekeysGenerate(1, 10, 0);
  const sa = x3dh.x3dhInitiate(a, prekeys.bundleMake(b, bSpk, bOpk));
  const r = x3dh.x3dhRespond(b, bSpk, bOpk, ratchet.sessionEncrypt(sa, utf8('hello')));
  assert.equal(text(r.plaintext), 'hello');
  return { a: sa, b: r.session, ids: { a, b } };
}

/** Decrypt on sess; returns [status, text], checking a refusal changed nothing. */
function recv(sess, m) {
  const before = toHex(session.sessionSerialize(sess));
  let got = null;
  const status = statusOf(() => { got = ratchet.sessionDecrypt(sess, m); });
  if (status !== 'OK') assert.equal(toHex(session.sessionSerialize(sess)), before, 'state unchanged');
  return [status, got && text(got)];
}

test('e2e: a lossy network: every message decrypts exactly once', () => {
  const p = openPair();
  let seed = 99;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
  let sent = 0;
  let dropped = 0;
  for (let round = 0; round < 30; round++) {
    const batch = [];
    for (const who of ['a', 'b']) {
      if (rand(3) === 0) continue;
      for (let k = 1 + rand(4); k > 0; k--, sent++) {
        const t = `message ${sent}`;
        batch.push({ to: who === 'a' ? 'b' : 'a', t, m: ratchet.sessionEncrypt(p[who], utf8(t)) });
      }
    }
    for (let i = batch.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [batch[i], batch[j]] = [batch[j], batch[i]];
    }
    for (const w of batch) {
      if (rand(5) === 0) { dropped++; continue; }
      assert.deepEqual(recv(p[w.to], w.m), ['OK', w.t]);
      if (rand(4) === 0) assert.deepEqual(recv(p[w.to], w.m), ['ALREADY_EXISTS', null]);
    }
  }
  assert.ok(sent > 40 && dropped > 3);
});

test('e2e: the skipped-key bound', () => {
  const p = openPair();
  const m = [null];
  for (let n = 1; n <= header.MAX_SKIP + 2; n++) m.push(ratchet.sessionEncrypt(p.a, utf8(`n${n}`)));
  assert.equal(recv(p.b, m[header.MAX_SKIP + 2])[0], 'RESOURCE_EXHAUSTED');
  assert.deepEqual(recv(p.b, m[header.MAX_SKIP + 1]), ['OK', `n${header.MAX_SKIP + 1}`]);
  assert.equal(p.b.skipped.length, header.MAX_SKIP);
  assert.deepEqual(recv(p.b, m[header.MAX_SKIP + 2]), ['OK', `n${header.MAX_SKIP + 2}`]);
  assert.deepEqual(recv(p.b, m[1]), ['OK', 'n1']);
  assert.equal(recv(p.b, m[1])[0], 'ALREADY_EXISTS');
});

test('e2e: tampering anywhere is refused and changes nothing', () => {
  const p = openPair();
  const m = ratchet.sessionEncrypt(p.b, utf8('ordonnance'));
  for (let i = 0; i < m.length; i++) {
    for (const bit of [1, 0x80]) {
      const t = Uint8Array.from(m);
      t[i] ^= bit;
      assert.notEqual(recv(p.a, t)[0], 'OK', `byte ${i}`);
    }
  }
  assert.equal(recv(p.a, m.subarray(0, m.length - 1))[0], 'UNAUTHENTICATED');
  assert.deepEqual(recv(p.a, m), ['OK', 'ordonnance']);
  const q = openPair();
  assert.equal(recv(p.a, ratchet.sessionEncrypt(q.b, utf8('autre')))[0], 'UNAUTHENTICATED');
});

test('e2e: a bad prekey signature is refused', () => {
  const b = prekeys.identityGenerate();
  const bSpk = prekeys.prekeyGenerate(b, prekeys.prekeyKind.signed, 1, 0);
  const bundle = prekeys.bundleMake(b, bSpk);
  prekeys.bundleVerify(bundle);
  const forged = { ...bundle, spkSig: Uint8Array.from(bundle.spkSig) };
  forged.spkSig[0] ^= 1;
  assert.equal(statusOf(() => x3dh.x3dhInitiate(alice, forged)), 'UNAUTHENTICATED');
  const other = { ...bundle, ik: alice.signPk };
  assert.equal(statusOf(() => prekeys.bundleVerify(other)), 'UNAUTHENTICATED');
});

test('e2e: safety numbers agree on both sides and differ for another key', () => {
  const p = openPair();
  const idA = 'patient:0123456789abcdef0123456789abcdef';
  const idB = 'rpps:10001234567';
  const onA = safety.safetyNumber(ratchet.sessionLocalIdentity(p.a), idA, ratchet.sessionPeerIdentity(p.a), idB);
  const onB = safety.safetyNumber(ratchet.sessionPeerIdentity(p.b), idA, ratchet.sessionLocalIdentity(p.b), idB);
  assert.equal(onA, onB);
  const swapped = safety.safetyNumber(prekeys.identityGenerate().signPk, idA, ratchet.sessionPeerIdentity(p.a), idB);
  assert.notEqual(onA, swapped);
});

test('e2e: session states are checked when loaded', () => {
  const p = openPair();
  const bytes = session.sessionSerialize(p.b);
  assert.equal(toHex(session.sessionSerialize(session.sessionDeserialize(bytes))), toHex(bytes));
  for (const len of [0, 10, bytes.length - 1]) {
    assert.equal(statusOf(() => session.sessionDeserialize(bytes.slice(0, len))), 'INVALID_ARGUMENT');
  }
  for (const [at, x] of [[0, 1], [1, 0x40], [1, 0x02], [130, 1], [259, 0x20], [306, 9]]) {
    const bad = Uint8Array.from(bytes);
    bad[at] ^= x;
    assert.equal(statusOf(() => session.sessionDeserialize(bad)), 'INVALID_ARGUMENT', `byte ${at}`);
  }
});
