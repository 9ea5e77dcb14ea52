// The messaging records of one account on this browser (prekey secrets,
// ratchet sessions, conversations and their messages), sealed before they
// reach storage.
//
// - Every value is encoded (JSON, byte arrays as base64) and sealed with
//   XChaCha20-Poly1305 under the device keys' wrapping key (src/crypto.js,
//   keys.wrapKey: Argon2id of the password), with a random nonce; the
//   associated data names the account and the record, so a sealed value
//   cannot be moved to another record or account.
// - The storage key of a record is a keyed BLAKE2b-128 hash of its name
//   under the same key, so the store shows neither conversation nor device
//   ids: only "<account>/<32 hex>".
// - Nothing is kept in clear and nothing here is ever sent to the server.
//
// Backends: idbBackend() (IndexedDB database "espace-messaging", the
// browser) and memoryBackend() (a Map: Node tests). A backend maps a string
// key to a record { k, nonce, sealed } and has get, put, delete.
import { sodiumReady } from '../crypto.js';

export const IDB_NAME = 'espace-messaging';
export const IDB_STORE = 'records';
const AD_PREFIX = 'espace.web.messaging.v1:';

/** A Map in memory with the backend interface (tests, or no IndexedDB). */
export function memoryBackend() {
  const map = new Map();
  return {
    map,
    async get(k) { return map.get(k); },
    async put(rec) { map.set(rec.k, rec); },
    async delete(k) { map.delete(k); },
  };
}

function idbOpen(idb) {
  return new Promise((resolve, reject) => {
    const req = idb.open(IDB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(IDB_STORE, { keyPath: 'k' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** The IndexedDB backend (one connection kept open). */
export function idbBackend(idb = globalThis.indexedDB) {
  let dbp = null;
  const run = async (mode, fn) => {
    if (!dbp) dbp = idbOpen(idb);
    const db = await dbp;
    return new Promise((resolve, reject) => {
      const tx = db.transaction(IDB_STORE, mode);
      const r = fn(tx.objectStore(IDB_STORE));
      tx.oncomplete = () => resolve(r.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  };
  return {
    get: (k) => run('readonly', (s) => s.get(k)),
    put: (rec) => run('readwrite', (s) => s.put(rec)),
    delete: (k) => run('readwrite', (s) => s.delete(k)),
    async close() { if (dbp) (await dbp).close(); dbp = null; },
  };
}

// ---- value encoding: JSON where byte arrays become { $b: base64 } ----

export function encodeValue(s, value) {
  return s.from_string(JSON.stringify(value, (k, v) => (v instanceof Uint8Array
    ? { $b: s.to_base64(v, s.base64_variants.ORIGINAL) } : v)));
}

export function decodeValue(s, bytes) {
  return JSON.parse(s.to_string(bytes), (k, v) => (v && typeof v === 'object' && typeof v.$b === 'string'
    && Object.keys(v).length === 1 ? s.from_base64(v.$b, s.base64_variants.ORIGINAL) : v));
}

export class SealedStore {
  /**
   * @param {object} backend  idbBackend() or memoryBackend()
   * @param {Uint8Array} key  the wrapping key (32 bytes); the store keeps a reference, the
   *                          session wipes it at log-out
   * @param {string} account  crypto.js accountKey of the patient
   */
  constructor(backend, key, account) {
    this.backend = backend;
    this.key = key;
    this.account = account;
  }

  async storageKey(name) {
    const s = await sodiumReady();
    return `${this.account}/${s.to_hex(s.crypto_generichash(16, s.from_string(`name:${name}`), this.key))}`;
  }

  ad(s, name) {
    return s.from_string(`${AD_PREFIX}${this.account}:${name}`);
  }

  /** The value of record `name`, or undefined; throws when a stored value does not open. */
  async get(name) {
    const s = await sodiumReady();
    const rec = await this.backend.get(await this.storageKey(name));
    if (!rec) return undefined;
    let plain;
    try {
      plain = s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, rec.sealed, this.ad(s, name), rec.nonce, this.key);
    } catch {
      throw new Error(`messaging record ${name} does not open`);
    }
    const value = decodeValue(s, plain);
    s.memzero(plain);
    return value;
  }

  /** Seal and store `value` as record `name` (replacing it). */
  async put(name, value) {
    const s = await sodiumReady();
    const plain = encodeValue(s, value);
    const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    const sealed = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, this.ad(s, name), null, nonce, this.key);
    s.memzero(plain);
    await this.backend.put({ k: await this.storageKey(name), nonce, sealed });
  }

  async delete(name) {
    await this.backend.delete(await this.storageKey(name));
  }
}
