// The plaintext inside an end-to-end message (what the ratchet encrypts): an
// espace.v1.MessageContent (proto/espace/v1/content.proto), the format every
// espace client writes and reads (docs/messaging.md "Message content";
// espace-pro encodes it with protobuf-c, test/vectors/messaging/ pins the
// bytes). The server never sees it: texts, attachment ids and keys and who
// read what travel only here.
//
// In the app a content is a plain object (what the conversation log keeps):
//   { v: 1, type: 'text', text: '...', attachments: [ { id: hex 16 bytes,
//       key: base64 32 bytes, hash: hex 32 bytes, size: ciphertext bytes,
//       name: '...', mime: '...', plainSize: bytes } ] }
//   { v: 1, type: 'read', ids: [ hex 16 bytes, ... ] }   read receipt
//   { v: 1, type: 'unknown' }   (decoded only) a kind from a newer client: skip it
// contentEncode / contentDecode turn it into / from the protobuf bytes.
import { MAX_PLAINTEXT } from '../e2e/header.js';
import { Codec, PbError } from '../pb.js';
import schema from '../schema.js';

export const CONTENT_VERSION = 1; // of the object form (the wire form is the protobuf)
export const TEXT_MAX = 10000; // characters the compose box takes (the rest as an attachment)
export const TEXT_BYTES_MAX = 40000; // UTF-8 bytes of a text (ESPACE_MSG_TEXT_MAX)
export const ATTACHMENTS_MAX = 10; // per message (ESPACE_MSG_ATTACH_PER_MSG)
export const READ_IDS_MAX = 500; // per read receipt (ESPACE_MSG_READ_MAX)
export const NAME_BYTES_MAX = 255; // a file name or media type, UTF-8 bytes
const ATTACH_MAX = 20 * 1024 * 1024; // ciphertext bytes (MSG_ATTACH_MAX)
const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const B64KEY = /^[A-Za-z0-9+/]{43}=$/;
const TYPE = 'espace.v1.MessageContent';

const utf8 = new TextEncoder();
const codec = new Codec(schema);

export class ContentError extends Error {}

const bytesOf = (s) => utf8.encode(s).length;
const fromHex = (h) => Uint8Array.from(h.match(/../g) || [], (b) => parseInt(b, 16));
const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toB64 = (b) => btoa(String.fromCharCode(...b));

function fit(s) {
  let out = '';
  for (const ch of s) {
    if (bytesOf(out + ch) > NAME_BYTES_MAX) break;
    out += ch;
  }
  return out;
}

/** s as a file name a content may carry: no '/' nor NUL, at most NAME_BYTES_MAX bytes of UTF-8. */
export const fitName = (s) => fit(String(s || '').replace(/[/\0]/g, '_'));
/** s as a media type a content may carry: at most NAME_BYTES_MAX bytes of UTF-8. */
export const fitMime = (s) => fit(String(s || '').replace(/\0/g, ''));

function checkAttachment(a) {
  const ok = a && typeof a === 'object' && HEX32.test(a.id) && B64KEY.test(a.key) && HEX64.test(a.hash)
    && Number.isSafeInteger(a.size) && a.size > 0 && a.size <= ATTACH_MAX
    && typeof a.name === 'string' && bytesOf(a.name) <= NAME_BYTES_MAX && !/[/\0]/.test(a.name)
    && typeof a.mime === 'string' && bytesOf(a.mime) <= NAME_BYTES_MAX
    && Number.isSafeInteger(a.plainSize) && a.plainSize >= 0;
  if (!ok) throw new ContentError('bad attachment');
  return { id: a.id, key: a.key, hash: a.hash, size: a.size, name: a.name, mime: a.mime, plainSize: a.plainSize };
}

/** Check a content object; returns a clean copy (known fields only) or throws ContentError. */
export function contentCheck(c) {
  if (!c || typeof c !== 'object' || c.v !== CONTENT_VERSION) throw new ContentError('bad version');
  if (c.type === 'text') {
    if (typeof c.text !== 'string' || bytesOf(c.text) > TEXT_BYTES_MAX) throw new ContentError('bad text');
    const atts = c.attachments === undefined ? [] : c.attachments;
    if (!Array.isArray(atts) || atts.length > ATTACHMENTS_MAX) throw new ContentError('bad attachments');
    const attachments = atts.map(checkAttachment);
    if (!c.text && attachments.length === 0) throw new ContentError('empty message');
    return { v: CONTENT_VERSION, type: 'text', text: c.text, attachments };
  }
  if (c.type === 'read') {
    if (!Array.isArray(c.ids) || c.ids.length === 0 || c.ids.length > READ_IDS_MAX
      || !c.ids.every((id) => typeof id === 'string' && HEX32.test(id))) throw new ContentError('bad ids');
    return { v: CONTENT_VERSION, type: 'read', ids: [...c.ids] };
  }
  throw new ContentError('unknown type');
}

/** A text message to send (a text of blanks only is no message). */
export function textContent(text, attachments = []) {
  if (typeof text === 'string' && !text.trim() && attachments.length === 0) throw new ContentError('empty message');
  return contentCheck({ v: CONTENT_VERSION, type: 'text', text, attachments });
}
export const readContent = (ids) => contentCheck({ v: CONTENT_VERSION, type: 'read', ids });

/** The plaintext bytes (a MessageContent) of a content (checked). */
export function contentEncode(c) {
  const k = contentCheck(c);
  const msg = k.type === 'read'
    ? { read: { message_ids: k.ids.map(fromHex) } }
    : {
      text: {
        text: k.text,
        attachments: k.attachments.map((a) => ({
          id: fromHex(a.id), key: fromB64(a.key), hash: fromHex(a.hash), size: a.size, name: a.name,
          mime: a.mime, plain_size: a.plainSize,
        })),
      },
    };
  const bytes = codec.encode(TYPE, msg);
  if (bytes.length > MAX_PLAINTEXT) throw new ContentError('too large');
  return bytes;
}

function attachmentIn(r) {
  if (r.id.length !== 16 || r.key.length !== 32 || r.hash.length !== 32) throw new ContentError('bad attachment');
  return {
    id: toHex(r.id), key: toB64(r.key), hash: toHex(r.hash), size: r.size, name: r.name, mime: r.mime,
    plainSize: r.plain_size,
  };
}

/** The content of decrypted plaintext bytes; throws ContentError when they are not one. */
export function contentDecode(bytes) {
  if (bytes.length > MAX_PLAINTEXT) throw new ContentError('too large');
  let m;
  try {
    m = codec.decode(TYPE, bytes);
  } catch (err) { // PbError, or a TypeError for a string that is not UTF-8
    throw new ContentError(`not a MessageContent (${err instanceof PbError ? err.message : 'bad UTF-8'})`);
  }
  if (m.kind === 'text') {
    return contentCheck({
      v: CONTENT_VERSION, type: 'text', text: m.text.text, attachments: m.text.attachments.map(attachmentIn),
    });
  }
  if (m.kind === 'read') {
    if (!m.read.message_ids.every((id) => id.length === 16)) throw new ContentError('bad ids');
    return contentCheck({ v: CONTENT_VERSION, type: 'read', ids: m.read.message_ids.map(toHex) });
  }
  return { v: CONTENT_VERSION, type: 'unknown' };
}
