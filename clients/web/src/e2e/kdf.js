// End-to-end encryption (docs/e2e.md), the JavaScript twin of clients/e2e:
// this module loads libsodium, names the errors, and holds the KDF (keyed
// BLAKE2b-512 extract/expand, "KDF" in docs/e2e.md).
//
// Call `await e2eReady()` once; every other function of src/e2e/ is then
// synchronous. Errors are thrown as E2EError whose `code` is the name of the
// es_status the C library returns in the same case ('INVALID_ARGUMENT',
// 'UNAUTHENTICATED', 'ALREADY_EXISTS', 'RESOURCE_EXHAUSTED',
// 'FAILED_PRECONDITION', 'TOO_LARGE').
import { sodiumReady } from '../crypto.js';

let lib = null;

/** Wait for libsodium; returns it. */
export async function e2eReady() {
  lib = await sodiumReady();
  return lib;
}

/** libsodium, once e2eReady() has resolved. */
export function sodium() {
  if (!lib) throw new Error('e2e: await e2eReady() first');
  return lib;
}

/** An e2e failure: `code` is an es_status name (proto/status.h). */
export class E2EError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'E2EError';
    this.code = code;
  }
}

/** Throw E2EError(code, message) unless `ok`. */
export function check(ok, code, message) {
  if (!ok) throw new E2EError(code, message);
}

export const LABEL_X3DH = 'espace.e2e.v1.x3dh';
export const LABEL_ROOT = 'espace.e2e.v1.root';
export const LABEL_CHAIN = 'espace.e2e.v1.chain';
export const LABEL_MESSAGE = 'espace.e2e.v1.message';
export const LABEL_PREKEY = 'espace.e2e.v1.prekey';
export const LABEL_SAFETY = 'espace.e2e.v1.safety-number';
export const NONCE_BYTES = 24;

/** Concatenate byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Big-endian 32-bit bytes of n. */
export function u32(n) {
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

const utf8 = new TextEncoder();

/** prk = BLAKE2b-512(key = salt (16..64 bytes), message = ikm). */
export function kdfExtract(salt, ikm) {
  check(salt.length >= 16 && salt.length <= 64, 'INVALID_ARGUMENT', 'salt of 16..64 bytes');
  return sodium().crypto_generichash(64, ikm, salt);
}

/**
 * The first `length` bytes of T(1) || T(2) || ..., where
 * T(i) = BLAKE2b-512(key = prk, message = T(i-1) || label || i).
 */
export function kdfExpand(prk, label, length) {
  check(prk.length >= 16 && prk.length <= 64, 'INVALID_ARGUMENT', 'key of 16..64 bytes');
  check(length >= 1 && length <= 255 * 64, 'INVALID_ARGUMENT', 'length of 1..16320 bytes');
  const s = sodium();
  const l = utf8.encode(label);
  const out = new Uint8Array(length);
  let t = new Uint8Array(0);
  for (let i = 1, done = 0; done < length; i++) {
    t = s.crypto_generichash(64, concat(t, l, new Uint8Array([i])), prk);
    out.set(t.subarray(0, Math.min(64, length - done)), done);
    done += 64;
  }
  return out;
}

/** [rk', ck]: the root KDF of a DH output. */
export function kdfRoot(rk, dh) {
  const okm = kdfExpand(kdfExtract(rk, dh), LABEL_ROOT, 64);
  return [okm.slice(0, 32), okm.slice(32)];
}

/** [ck', mk]: one step of a chain. */
export function kdfChain(ck) {
  const okm = kdfExpand(ck, LABEL_CHAIN, 64);
  return [okm.slice(0, 32), okm.slice(32)];
}

/** [key, nonce] of a message key. */
export function kdfMessage(mk) {
  const okm = kdfExpand(mk, LABEL_MESSAGE, 32 + NONCE_BYTES);
  return [okm.slice(0, 32), okm.slice(32)];
}

/** The X3DH secret of the concatenated DH outputs (96 or 128 bytes). */
export function kdfX3dh(dh) {
  const ikm = concat(new Uint8Array(32).fill(0xff), dh);
  return kdfExpand(kdfExtract(new Uint8Array(32), ikm), LABEL_X3DH, 32);
}
