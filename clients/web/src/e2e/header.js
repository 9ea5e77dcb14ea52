// The clear header of a message in its fixed binary layout (docs/e2e.md
// "Message layout"), and the limits; as clients/e2e/header.c.
import { check, u32 } from './kdf.js';
import { prekeyKind } from './prekeys.js';

export const VERSION = 1;
export const HEADER_BYTES = 42;
export const INITIAL_HEADER_BYTES = 115;
export const TAG_BYTES = 16;
export const MAX_PLAINTEXT = 65536;
export const MAX_SKIP = 1000;
export const MAX_SKIPPED = 1000;
export const MAX_CHAIN = 1048576;
export const MAX_PREV_CHAINS = 16;
export const MESSAGE_MAX = INITIAL_HEADER_BYTES + MAX_PLAINTEXT + TAG_BYTES;

const get32 = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/** The header bytes of h = { initial, dh, pn, n, ik, ek, spkId, opkKind, opkId }. */
export function headerEncode(h) {
  const out = new Uint8Array(h.initial ? INITIAL_HEADER_BYTES : HEADER_BYTES);
  out[0] = VERSION;
  out[1] = h.initial ? 1 : 0;
  out.set(h.dh, 2);
  out.set(u32(h.pn), 34);
  out.set(u32(h.n), 38);
  if (h.initial) {
    out.set(h.ik, 42);
    out.set(h.ek, 74);
    out.set(u32(h.spkId), 106);
    out[110] = h.opkKind;
    out.set(u32(h.opkId), 111);
  }
  return out;
}

/** The header of a message (no decryption), with headerLen and plaintextLen; throws on a malformed one. */
export function messageInfo(msg) {
  check(msg instanceof Uint8Array, 'INVALID_ARGUMENT', 'message bytes');
  check(msg.length <= MESSAGE_MAX, 'TOO_LARGE', 'message too large');
  check(msg.length >= HEADER_BYTES + TAG_BYTES && msg[0] === VERSION && (msg[1] === 0 || msg[1] === 1),
    'INVALID_ARGUMENT', 'not a message of this version');
  const initial = msg[1] === 1;
  const headerLen = initial ? INITIAL_HEADER_BYTES : HEADER_BYTES;
  check(msg.length >= headerLen + TAG_BYTES, 'INVALID_ARGUMENT', 'message too short');
  check(msg.length - headerLen - TAG_BYTES <= MAX_PLAINTEXT, 'TOO_LARGE', 'message too large');
  const h = {
    initial,
    dh: msg.slice(2, 34),
    pn: get32(msg, 34),
    n: get32(msg, 38),
    ik: new Uint8Array(32),
    ek: new Uint8Array(32),
    spkId: 0,
    opkKind: prekeyKind.none,
    opkId: 0,
    headerLen,
    plaintextLen: msg.length - headerLen - TAG_BYTES,
  };
  check(h.pn <= MAX_CHAIN && h.n < MAX_CHAIN, 'INVALID_ARGUMENT', 'counter out of range');
  if (initial) {
    h.ik = msg.slice(42, 74);
    h.ek = msg.slice(74, 106);
    h.spkId = get32(msg, 106);
    h.opkKind = msg[110];
    h.opkId = get32(msg, 111);
    check([prekeyKind.none, prekeyKind.oneTime, prekeyKind.lastResort].includes(h.opkKind), 'INVALID_ARGUMENT',
      'prekey kind');
    check(h.opkKind !== prekeyKind.none || h.opkId === 0, 'INVALID_ARGUMENT', 'prekey id without prekey');
  }
  return h;
}
