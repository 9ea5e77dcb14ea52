// The patient's session in this tab: log-in (with the device-key dance),
// resume after a reload, log-out, and where the session token is kept.
//
// The token lives in sessionStorage (see docs/web.md for the trade-off): it
// survives a reload of the tab, not the closing of the tab, and is not shared
// with other tabs.
import {
  accountKey, generateDeviceKeys, publicKeys, wrapDeviceKeys, unwrapDeviceKeys,
  loadRecord, saveRecord, forgetKeys,
} from './crypto.js';
import { fr } from './i18n/fr.js';

export const TOKEN_KEY = 'espace.session';

export function savedToken(storage = globalThis.sessionStorage) {
  try {
    return storage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token, storage = globalThis.sessionStorage) {
  try {
    if (token) storage.setItem(TOKEN_KEY, token);
    else storage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the session just won't survive a reload
  }
}

/** A label for a new device, from the user agent (no personal data). */
export function deviceName(ua = globalThis.navigator ? globalThis.navigator.userAgent : '') {
  const browser = /Edg\//.test(ua) ? 'Edge'
    : /Firefox\//.test(ua) ? 'Firefox'
      : /Chrom(e|ium)\//.test(ua) ? 'Chromium'
        : /Safari\//.test(ua) ? 'Safari' : fr.device.unknownBrowser;
  const system = /Android/.test(ua) ? 'Android'
    : /iPhone|iPad/.test(ua) ? 'iOS'
      : /Windows/.test(ua) ? 'Windows'
        : /Mac OS X/.test(ua) ? 'macOS'
          : /Linux/.test(ua) ? 'Linux' : fr.device.unknownSystem;
  return fr.device.name(browser, system).slice(0, 64);
}

function sameBytes(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Session {
  constructor(conn) {
    this.conn = conn;
    this.me = null;         // WhoAmIReply once known
    this.keys = null;       // unwrapped device keys (memory only; gone after a reload)
    this.keysError = null;  // why the device keys could not be prepared, if so
    this.account = null;    // crypto.js accountKey of the logged-in patient (with the keys)
  }

  get loggedIn() {
    return Boolean(this.me);
  }

  /** After a reload: resume the saved token, if any. Resolves true when logged in. */
  async resume() {
    const token = savedToken();
    if (!token) return false;
    this.conn.setToken(token);
    try {
      this.me = await this.conn.call('identity', 'WhoAmI', {});
      return true;
    } catch (err) {
      saveToken(null);
      this.conn.setToken(null);
      throw err;
    }
  }

  /**
   * Log in with INS and password. On this browser's first log-in of the
   * account, new device keys are made and sent with the LoginRequest; later
   * log-ins reuse the stored device. Throws EspaceError on refusal.
   */
  async login(ins, password) {
    const account = await accountKey(ins);
    let record = null;
    try {
      record = (await loadRecord(account)) || null;
    } catch {
      record = null; // IndexedDB unavailable (private mode): a new device each time
    }
    let keys = null;
    const req = { ins, password, device_name: deviceName() };
    if (record && record.device_id) {
      req.device_id = record.device_id;
    } else {
      keys = await generateDeviceKeys();
      req.device_keys = publicKeys(keys);
    }
    const reply = await this.conn.login(req);
    saveToken(reply.token);
    this.keysError = null;
    try {
      if (keys) {
        // A new device, registered with its keys by the log-in itself.
        await this.storeKeys(keys, password, account, reply.device_id);
      } else if (!sameBytes(reply.device_id, record.device_id)) {
        // The stored device was revoked: identity made a new one, without keys.
        keys = await generateDeviceKeys();
        await this.conn.call('identity', 'RegisterDeviceKeys', { keys: publicKeys(keys) });
        await this.storeKeys(keys, password, account, reply.device_id);
      } else {
        keys = await unwrapDeviceKeys(record, password);
      }
      this.keys = keys;
      this.account = account;
    } catch (err) {
      // The session is fine; only end-to-end features would miss the keys.
      this.keysError = err;
      console.warn('espace: device keys not ready:', err.message);
    }
    this.me = await this.conn.call('identity', 'WhoAmI', {});
    return reply;
  }

  async storeKeys(keys, password, account, deviceId) {
    const record = await wrapDeviceKeys(keys, password, account);
    record.device_id = deviceId;
    await saveRecord(record);
  }

  /** End the session on the server (best effort) and forget it here. */
  async logout() {
    try {
      await this.conn.call('identity', 'Logout', {});
    } finally {
      this.forget();
    }
  }

  /** Forget the session locally (after log-out, revocation or expiry). */
  forget() {
    saveToken(null);
    this.me = null;
    forgetKeys(this.keys);
    this.keys = null;
    this.account = null;
    this.conn.restart();
  }
}
