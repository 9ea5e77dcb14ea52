// A session's serialized state (docs/e2e.md "Session state"), byte for byte
// the layout of clients/e2e/session.c, so a state saved by one side loads in
// the other. It holds secrets: encrypt it before it is stored.
import { sodium, check, concat, u32 } from './kdf.js';
import { MAX_CHAIN, MAX_SKIPPED, MAX_PREV_CHAINS } from './header.js';
import { flag, sessionEmpty } from './ratchet.js';
import { prekeyKind } from './prekeys.js';

const FORMAT = 1;
const FIXED = 1 + 1 + 64 + 6 * 32 + 3 * 4 + 32 + 4 + 1 + 4 + 1 + 32 * MAX_PREV_CHAINS + 4;
const SKIPPED_BYTES = 68;

/** The serialized state of s (Uint8Array). */
export function sessionSerialize(s) {
  const prev = new Uint8Array(32 * MAX_PREV_CHAINS);
  s.prev.forEach((p, i) => prev.set(p, 32 * i));
  return concat(
    new Uint8Array([FORMAT, s.flags]), s.ad, s.rk, s.dhsSk, s.dhsPk, s.dhr, s.cks, s.ckr,
    u32(s.ns), u32(s.nr), u32(s.pn), s.ek, u32(s.spkId), new Uint8Array([s.opkKind]), u32(s.opkId),
    new Uint8Array([s.prev.length]), prev, u32(s.skipped.length),
    ...s.skipped.flatMap((e) => [e.dh, u32(e.n), e.mk]),
  );
}

function valid(s, prevBytes) {
  const so = sodium();
  const f = s.flags;
  const zeroUnless = (bit, v) => (f & bit) !== 0 || so.is_zero(v);
  return (f & ~flag.all) === 0
    && (!(f & flag.x3dhPending) || (f & flag.initiator) !== 0)
    && (!(f & flag.sendStep) || (f & flag.hasDhr) !== 0)
    && (!(f & flag.hasCkr) || (f & flag.hasDhr) !== 0)
    && zeroUnless(flag.hasDhr, s.dhr) && zeroUnless(flag.hasCks, s.cks) && zeroUnless(flag.hasCkr, s.ckr)
    && s.ns <= MAX_CHAIN && s.nr <= MAX_CHAIN && s.pn <= MAX_CHAIN
    && [prekeyKind.none, prekeyKind.oneTime, prekeyKind.lastResort].includes(s.opkKind)
    && so.memcmp(so.crypto_scalarmult_base(s.dhsSk), s.dhsPk)
    && s.prev.length <= MAX_PREV_CHAINS && so.is_zero(prevBytes.subarray(32 * s.prev.length))
    && s.skipped.every((e) => e.n < MAX_CHAIN);
}

/** A session from its serialized state; throws INVALID_ARGUMENT when the bytes are not one. */
export function sessionDeserialize(bytes) {
  check(bytes instanceof Uint8Array && bytes.length >= FIXED && bytes[0] === FORMAT, 'INVALID_ARGUMENT',
    'not a session state');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = dv.getUint32(FIXED - 4);
  check(count <= MAX_SKIPPED && bytes.length === FIXED + count * SKIPPED_BYTES, 'INVALID_ARGUMENT',
    'bad session state length');
  let at = 1;
  const take = (n) => bytes.slice(at, (at += n));
  const u32At = () => { const v = dv.getUint32(at); at += 4; return v; };
  const s = sessionEmpty();
  s.flags = bytes[at++];
  for (const [k, n] of [['ad', 64], ['rk', 32], ['dhsSk', 32], ['dhsPk', 32], ['dhr', 32], ['cks', 32], ['ckr', 32]]) {
    s[k] = take(n);
  }
  s.ns = u32At();
  s.nr = u32At();
  s.pn = u32At();
  s.ek = take(32);
  s.spkId = u32At();
  s.opkKind = bytes[at++];
  s.opkId = u32At();
  const nprev = bytes[at++];
  const prevBytes = take(32 * MAX_PREV_CHAINS);
  s.prev = Array.from({ length: Math.min(nprev, MAX_PREV_CHAINS) }, (_, i) => prevBytes.slice(32 * i, 32 * i + 32));
  at += 4;
  for (let i = 0; i < count; i++) s.skipped.push({ dh: take(32), n: u32At(), mk: take(32) });
  check(nprev <= MAX_PREV_CHAINS && valid(s, prevBytes), 'INVALID_ARGUMENT', 'inconsistent session state');
  return s;
}

/** Wipe a session's secrets in place. */
export function sessionWipe(s) {
  const so = sodium();
  for (const k of ['rk', 'dhsSk', 'cks', 'ckr']) so.memzero(s[k]);
  for (const e of s.skipped) so.memzero(e.mk);
  s.skipped = [];
}
