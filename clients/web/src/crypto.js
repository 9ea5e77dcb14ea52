// Device keys of this browser (libsodium-wrappers-sumo, WebAssembly).
//
// - A device has an Ed25519 signing key pair and an X25519 key pair, made in
//   the browser at the first log-in of an account on this browser.
// - The private keys are kept in IndexedDB only wrapped: XChaCha20-Poly1305
//   under a key derived from the account password with Argon2id
//   (crypto_pwhash, a random 16-byte salt stored beside the ciphertext). The
//   associated data binds the ciphertext to the record's account key.
// - While the session lasts, the derived wrapping key stays in memory beside
//   the unwrapped keys (keys.wrapKey): the messaging records (prekey secrets,
//   ratchet sessions, conversations: src/messaging/store.js) are sealed under
//   it too. forgetKeys wipes it with the rest.
// - Records are keyed by a keyed BLAKE2b hash of the INS, not the INS itself,
//   so the store names no one.
// - The public keys go to identity (LoginRequest.device_keys or
//   RegisterDeviceKeys); the private keys never leave the browser unwrapped.
import sodiumModule from 'libsodium-wrappers-sumo';

const sodium = sodiumModule.default && !sodiumModule.ready ? sodiumModule.default : sodiumModule;

export const DB_NAME = 'espace';
export const DB_STORE = 'device-keys';
const RECORD_VERSION = 1;
const AD_PREFIX = 'espace.web.device-keys.v1:';

let readyPromise = null;

/** Wait for libsodium's WebAssembly to load; returns the sodium object. */
export function sodiumReady() {
  if (!readyPromise) readyPromise = sodium.ready.then(() => sodium);
  return readyPromise;
}

/** The IndexedDB key of an account: hex BLAKE2b-128 of the normalised INS. */
export async function accountKey(ins) {
  const s = await sodiumReady();
  const key = s.from_string('espace.web.account-key.v1.......'); // 32 bytes, public: a domain separator
  return s.to_hex(s.crypto_generichash(16, s.from_string(ins), key));
}

/** New device key pairs: { sign: {publicKey, privateKey}, dh: {publicKey, privateKey} }. */
export async function generateDeviceKeys() {
  const s = await sodiumReady();
  const sign = s.crypto_sign_keypair();
  const dh = s.crypto_box_keypair();
  return {
    sign: { publicKey: sign.publicKey, privateKey: sign.privateKey },
    dh: { publicKey: dh.publicKey, privateKey: dh.privateKey },
  };
}

/** The public half, as an espace.v1.DeviceKeys message. */
export function publicKeys(keys) {
  return { sign_public: keys.sign.publicKey, dh_public: keys.dh.publicKey };
}

async function deriveKey(s, password, salt, opslimit, memlimit) {
  return s.crypto_pwhash(s.crypto_aead_xchacha20poly1305_ietf_KEYBYTES, password, salt,
    opslimit, memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
}

/**
 * Wrap `keys` under `password`; returns the record to store for `account`
 * (device_id filled in by the caller once identity has named the device).
 * `cost` may lower Argon2id's limits (tests); the default is libsodium's
 * INTERACTIVE level (2 passes, 64 MiB).
 */
export async function wrapDeviceKeys(keys, password, account, cost = {}) {
  const s = await sodiumReady();
  const opslimit = cost.opslimit || s.crypto_pwhash_OPSLIMIT_INTERACTIVE;
  const memlimit = cost.memlimit || s.crypto_pwhash_MEMLIMIT_INTERACTIVE;
  const salt = s.randombytes_buf(s.crypto_pwhash_SALTBYTES);
  const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const key = await deriveKey(s, password, salt, opslimit, memlimit);
  const plain = new Uint8Array(keys.sign.privateKey.length + keys.dh.privateKey.length);
  plain.set(keys.sign.privateKey, 0);
  plain.set(keys.dh.privateKey, keys.sign.privateKey.length);
  const wrapped = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, s.from_string(AD_PREFIX + account),
    null, nonce, key);
  s.memzero(plain);
  if (keys.wrapKey) s.memzero(keys.wrapKey);
  keys.wrapKey = key; // kept for the messaging records; wiped by forgetKeys
  return {
    account,
    version: RECORD_VERSION,
    device_id: null,
    sign_public: keys.sign.publicKey,
    dh_public: keys.dh.publicKey,
    kdf: { alg: 'argon2id13', opslimit, memlimit, salt },
    nonce,
    wrapped,
    created_ms: Date.now(),
  };
}

/** Unwrap a record's keys with `password`; throws Error('wrong key') when it cannot. */
export async function unwrapDeviceKeys(record, password) {
  const s = await sodiumReady();
  if (record.version !== RECORD_VERSION || record.kdf.alg !== 'argon2id13') {
    throw new Error('unsupported record');
  }
  const key = await deriveKey(s, password, record.kdf.salt, record.kdf.opslimit, record.kdf.memlimit);
  let plain;
  try {
    plain = s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, record.wrapped,
      s.from_string(AD_PREFIX + record.account), record.nonce, key);
  } catch {
    s.memzero(key);
    throw new Error('wrong key');
  }
  const signLen = s.crypto_sign_SECRETKEYBYTES;
  const keys = {
    sign: { publicKey: record.sign_public, privateKey: plain.slice(0, signLen) },
    dh: { publicKey: record.dh_public, privateKey: plain.slice(signLen) },
    wrapKey: key, // kept for the messaging records; wiped by forgetKeys
  };
  s.memzero(plain);
  return keys;
}

/** Wipe the private parts of `keys` in memory. */
export async function forgetKeys(keys) {
  if (!keys) return;
  const s = await sodiumReady();
  s.memzero(keys.sign.privateKey);
  s.memzero(keys.dh.privateKey);
  if (keys.wrapKey) s.memzero(keys.wrapKey);
}

// ---- IndexedDB ----

function openDb(idb = globalThis.indexedDB) {
  return new Promise((resolve, reject) => {
    const req = idb.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore(DB_STORE, { keyPath: 'account' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(DB_STORE, mode);
      const result = fn(tx.objectStore(DB_STORE));
      tx.oncomplete = () => resolve(result.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The stored record of `account`, or undefined. */
export function loadRecord(account) {
  return withStore('readonly', (store) => store.get(account));
}

/** Store (or replace) a record. */
export function saveRecord(record) {
  return withStore('readwrite', (store) => store.put(record));
}

/** Delete the record of `account`. */
export function deleteRecord(account) {
  return withStore('readwrite', (store) => store.delete(account));
}
