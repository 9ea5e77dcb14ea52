// Safety numbers (docs/e2e.md "Safety number"), as clients/e2e/safety.c:
// 60 digits in 12 groups of 5, the same on both devices.
import { sodium, check, concat, LABEL_SAFETY } from './kdf.js';

export const SAFETY_ITERATIONS = 5200;
export const SAFETY_ID_MAX = 255;

const utf8 = new TextEncoder();

function half(ik, id) {
  const s = sodium();
  const key = utf8.encode(LABEL_SAFETY);
  let h = s.crypto_generichash(64, concat(new Uint8Array(2), ik, utf8.encode(id)), key);
  for (let i = 1; i < SAFETY_ITERATIONS; i++) h = s.crypto_generichash(64, concat(h, ik), key);
  let digits = '';
  for (let c = 0; c < 6; c++) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 256 + h[5 * c + j]; // < 2^40: exact in a double
    digits += String(v % 100000).padStart(5, '0');
  }
  return digits;
}

/** The safety number of two devices (Ed25519 identity key and stable id each), symmetric in a and b. */
export function safetyNumber(ikA, idA, ikB, idB) {
  check(utf8.encode(idA).length <= SAFETY_ID_MAX && utf8.encode(idB).length <= SAFETY_ID_MAX, 'INVALID_ARGUMENT',
    'stable id too long');
  const a = half(ikA, idA);
  const b = half(ikB, idB);
  const all = a <= b ? a + b : b + a;
  return all.match(/\d{5}/g).join(' ');
}
