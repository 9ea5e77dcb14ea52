// The plaintext inside an end-to-end message (what the ratchet encrypts):
// UTF-8 JSON, at most E2E_MAX_PLAINTEXT bytes, one of
//   { "v": 1, "type": "text", "text": "...", "attachments": [ { "id": hex 16 bytes,
//       "key": base64 32 bytes, "hash": hex 32 bytes, "size": ciphertext bytes,
//       "name": "...", "mime": "...", "plainSize": bytes } ] }
//   { "v": 1, "type": "read", "ids": [ hex 16 bytes, ... ] }   read receipt
// The server never sees it: subjects, texts, attachment keys and ids and who
// read what travel only here (docs/messaging.md). docs/web.md describes it
// for other clients (a professional's software speaks the same).
import { MAX_PLAINTEXT } from '../e2e/header.js';

export const CONTENT_VERSION = 1;
export const TEXT_MAX = 10000; // characters of a text message (the rest as an attachment)
export const READ_IDS_MAX = 500;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const B64KEY = /^[A-Za-z0-9+/]{43}=$/;

const utf8 = new TextEncoder();
const utf8dec = new TextDecoder('utf-8', { fatal: true });

export class ContentError extends Error {}

function checkAttachment(a) {
  const ok = a && typeof a === 'object' && HEX32.test(a.id) && B64KEY.test(a.key) && HEX64.test(a.hash)
    && Number.isSafeInteger(a.size) && a.size > 0 && typeof a.name === 'string' && a.name.length <= 255
    && typeof a.mime === 'string' && a.mime.length <= 255
    && Number.isSafeInteger(a.plainSize) && a.plainSize >= 0;
  if (!ok) throw new ContentError('bad attachment');
  return { id: a.id, key: a.key, hash: a.hash, size: a.size, name: a.name, mime: a.mime, plainSize: a.plainSize };
}

/** Check a content object; returns a clean copy (known fields only) or throws ContentError. */
export function contentCheck(c) {
  if (!c || typeof c !== 'object' || c.v !== CONTENT_VERSION) throw new ContentError('bad version');
  if (c.type === 'text') {
    if (typeof c.text !== 'string' || c.text.length > TEXT_MAX) throw new ContentError('bad text');
    const atts = c.attachments === undefined ? [] : c.attachments;
    if (!Array.isArray(atts) || atts.length > 10) throw new ContentError('bad attachments');
    const attachments = atts.map(checkAttachment);
    if (!c.text.trim() && attachments.length === 0) throw new ContentError('empty message');
    return { v: CONTENT_VERSION, type: 'text', text: c.text, attachments };
  }
  if (c.type === 'read') {
    if (!Array.isArray(c.ids) || c.ids.length === 0 || c.ids.length > READ_IDS_MAX
      || !c.ids.every((id) => typeof id === 'string' && HEX32.test(id))) throw new ContentError('bad ids');
    return { v: CONTENT_VERSION, type: 'read', ids: [...c.ids] };
  }
  throw new ContentError('unknown type');
}

export const textContent = (text, attachments = []) => contentCheck({ v: CONTENT_VERSION, type: 'text', text, attachments });
export const readContent = (ids) => contentCheck({ v: CONTENT_VERSION, type: 'read', ids });

/** The plaintext bytes of a content (checked). */
export function contentEncode(c) {
  const bytes = utf8.encode(JSON.stringify(contentCheck(c)));
  if (bytes.length > MAX_PLAINTEXT) throw new ContentError('too large');
  return bytes;
}

/** The content of decrypted plaintext bytes; throws ContentError when they are not one. */
export function contentDecode(bytes) {
  let c;
  try {
    c = JSON.parse(utf8dec.decode(bytes));
  } catch {
    throw new ContentError('not JSON');
  }
  return contentCheck(c);
}
