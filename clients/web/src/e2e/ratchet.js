// The Double Ratchet on a session (docs/e2e.md "Double Ratchet"), as
// clients/e2e/ratchet.c: every step is computed on local copies and written
// to the session only once the message is sealed or has authenticated, so a
// refused message leaves the session as it was. The sending half of a DH
// ratchet step waits for the next encrypt (flag.sendStep).
import { sodium, check, concat, kdfRoot, kdfChain, kdfMessage, E2EError } from './kdf.js';
import {
  headerEncode, messageInfo, MAX_PLAINTEXT, MAX_SKIP, MAX_SKIPPED, MAX_CHAIN, MAX_PREV_CHAINS,
} from './header.js';

/** Session flags (one byte in the serialized state). */
export const flag = Object.freeze({
  initiator: 0x01, x3dhPending: 0x02, hasDhr: 0x04, hasCks: 0x08, hasCkr: 0x10, sendStep: 0x20, all: 0x3f,
});

/** A zeroed session state. */
export function sessionEmpty() {
  const z = () => new Uint8Array(32);
  return {
    flags: 0, ad: new Uint8Array(64), rk: z(), dhsSk: z(), dhsPk: z(), dhr: z(), cks: z(), ckr: z(),
    ns: 0, nr: 0, pn: 0, ek: z(), spkId: 0, opkKind: 0, opkId: 0, prev: [], skipped: [],
  };
}

const eq = (a, b) => sodium().memcmp(a, b);

/** The peer's Ed25519 identity key. */
export function sessionPeerIdentity(s) {
  return s.flags & flag.initiator ? s.ad.slice(32) : s.ad.slice(0, 32);
}

/** Our own Ed25519 identity key. */
export function sessionLocalIdentity(s) {
  return s.flags & flag.initiator ? s.ad.slice(0, 32) : s.ad.slice(32);
}

/** Does the next encrypt step the ratchet (draw a new ratchet key)? */
export function sessionSendStepPending(s) {
  return (s.flags & flag.sendStep) !== 0;
}

function open(s, mk, msg, h) {
  const [key, nonce] = kdfMessage(mk);
  try {
    return sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(null, msg.subarray(h.headerLen),
      concat(s.ad, msg.subarray(0, h.headerLen)), nonce, key);
  } catch {
    throw new E2EError('UNAUTHENTICATED', 'message does not authenticate');
  } finally {
    sodium().memzero(key);
  }
}

function checkInitial(s, h) {
  if (!h.initial) return;
  check(!(s.flags & flag.initiator) && eq(h.ek, s.ek) && eq(h.ik, s.ad.subarray(0, 32)) && h.spkId === s.spkId
    && h.opkKind === s.opkKind && h.opkId === s.opkId, 'FAILED_PRECONDITION', 'initial message of another X3DH');
}

/** Keys of messages from..to-1 of chain dh, appended to out; returns the advanced chain key. */
function skip(out, dh, ck, from, to) {
  let c = ck;
  for (let n = from; n < to; n++) {
    const [next, mk] = kdfChain(c);
    out.push({ dh: Uint8Array.from(dh), n, mk });
    c = next;
  }
  return c;
}

/** Decrypt msg on session s; returns the plaintext or throws E2EError (s unchanged). */
export function sessionDecrypt(s, msg) {
  const h = messageInfo(msg);
  checkInitial(s, h);

  // 1. a skipped key
  const i = s.skipped.findIndex((e) => e.n === h.n && eq(e.dh, h.dh));
  if (i >= 0) {
    const plain = open(s, s.skipped[i].mk, msg, h);
    s.skipped.splice(i, 1);
    return plain;
  }
  // 2. a past chain: its keys are gone
  check(!s.prev.some((p) => eq(p, h.dh)), 'ALREADY_EXISTS', 'message of a past chain');

  // 3. the current receiving chain or a new one
  const pending = [];
  const same = (s.flags & flag.hasDhr) !== 0 && eq(h.dh, s.dhr);
  let ck;
  let rk = s.rk;
  if (same) {
    check(s.flags & flag.hasCkr, 'UNAUTHENTICATED', 'no peer sends on this chain');
    check(h.n >= s.nr, 'ALREADY_EXISTS', 'message already decrypted');
    check(h.n - s.nr <= MAX_SKIP, 'RESOURCE_EXHAUSTED', 'too many skipped messages');
    ck = skip(pending, h.dh, s.ckr, s.nr, h.n);
  } else {
    const old = (s.flags & flag.hasCkr) && h.pn > s.nr ? h.pn - s.nr : 0;
    check(old + h.n <= MAX_SKIP, 'RESOURCE_EXHAUSTED', 'too many skipped messages');
    let dh;
    try {
      dh = sodium().crypto_scalarmult(s.dhsSk, h.dh);
    } catch {
      throw new E2EError('INVALID_ARGUMENT', 'low-order ratchet key');
    }
    if (old) skip(pending, s.dhr, s.ckr, s.nr, h.pn);
    [rk, ck] = kdfRoot(s.rk, dh);
    ck = skip(pending, h.dh, ck, 0, h.n);
  }
  const [ckNext, mk] = kdfChain(ck);
  const plain = open(s, mk, msg, h);

  // 4. commit
  s.skipped.push(...pending);
  if (s.skipped.length > MAX_SKIPPED) s.skipped.splice(0, s.skipped.length - MAX_SKIPPED);
  if (!same) {
    if (s.flags & flag.hasCkr) {
      s.prev.push(s.dhr);
      if (s.prev.length > MAX_PREV_CHAINS) s.prev.shift();
    }
    s.rk = rk;
    s.dhr = h.dh;
    s.flags |= flag.hasDhr | flag.hasCkr | flag.sendStep;
  }
  s.ckr = ckNext;
  s.nr = h.n + 1;
  s.flags &= ~flag.x3dhPending;
  return plain;
}

/**
 * Encrypt plain (Uint8Array) on session s; returns the message. When a step
 * is pending it uses ratchetSecret (32 bytes; default: random).
 */
export function sessionEncrypt(s, plain, ratchetSecret = null) {
  const so = sodium();
  check(plain instanceof Uint8Array, 'INVALID_ARGUMENT', 'plaintext bytes');
  check(plain.length <= MAX_PLAINTEXT, 'TOO_LARGE', 'plaintext too large');
  const initial = (s.flags & flag.x3dhPending) !== 0;
  const step = (s.flags & flag.sendStep) !== 0;
  check(step || (s.flags & flag.hasCks), 'FAILED_PRECONDITION', 'a responder sends after the first message');
  let { rk, cks, dhsSk, dhsPk, ns, pn } = s;
  if (step) {
    dhsSk = ratchetSecret ? Uint8Array.from(ratchetSecret) : so.randombytes_buf(32);
    dhsPk = so.crypto_scalarmult_base(dhsSk);
    [rk, cks] = kdfRoot(s.rk, so.crypto_scalarmult(dhsSk, s.dhr));
    pn = ns;
    ns = 0;
  }
  check(ns < MAX_CHAIN, 'RESOURCE_EXHAUSTED', 'chain full: start a new session');
  const [cksNext, mk] = kdfChain(cks);
  const header = headerEncode({
    initial, dh: dhsPk, pn, n: ns, ik: s.ad.subarray(0, 32), ek: s.ek, spkId: s.spkId, opkKind: s.opkKind,
    opkId: s.opkId,
  });
  const [key, nonce] = kdfMessage(mk);
  const body = so.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, concat(s.ad, header), null, nonce, key);
  so.memzero(key);
  Object.assign(s, { rk, cks: cksNext, dhsSk, dhsPk, pn, ns: ns + 1 });
  s.flags = (s.flags | flag.hasCks) & ~flag.sendStep;
  return concat(header, body);
}
