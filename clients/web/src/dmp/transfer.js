// Document content to and from the dmp service (proto/espace/v1/dmp.proto):
// upload in pieces of 128 KiB under a random upload id with the BLAKE2b-256
// of the whole content (BeginUpload, UploadDocumentChunk; after a lost
// connection BeginUpload with the same id says where to go on), and
// download in pieces with the ticket of GetDocument, the size and hash
// checked against the metadata before the bytes are handed over. The
// content is not encrypted here: the service keeps it encrypted at rest.
import { STATE } from '../protocol.js';
import { Code } from '../errors.js';
import { hash32 } from '../messaging/attach.js';
import { retryable } from '../messaging/messenger.js';

export const PIECE = 128 * 1024;            // dmp.proto: a piece is 1..128 KiB
export const DOC_MAX = 20 * 1024 * 1024;    // dmp.proto: content is at most 20 MiB
export const TIMEOUT_MS = 30000;

/** The media types the service accepts (DocumentMeta.mime_type), by file extension. */
export const MIME_BY_EXT = Object.freeze({
  pdf: 'application/pdf',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  txt: 'text/plain',
  xml: 'text/xml',
});
const ACCEPTED = new Set(Object.values(MIME_BY_EXT));

/** The accepted media type of a file { name, type }, or '' when it has none. */
export function mimeOf(file) {
  const t = String(file.type || '').toLowerCase();
  if (ACCEPTED.has(t)) return t;
  if (t === 'application/xml') return 'text/xml';
  const ext = /\.([a-z0-9]+)$/i.exec(file.name || '');
  return (ext && MIME_BY_EXT[ext[1].toLowerCase()]) || '';
}

/** Resolves when `conn` is online (after a short pause when it already is). */
export function waitOnline(conn) {
  if (conn.state === STATE.ONLINE) return new Promise((r) => setTimeout(r, 200));
  return new Promise((resolve) => {
    const off = conn.on('state', (s) => {
      if (s === STATE.ONLINE) {
        off();
        resolve();
      }
    });
  });
}

const call = (conn, method, req) => conn.call('dmp', method, req, { timeoutMs: TIMEOUT_MS });

/**
 * File `bytes` (Uint8Array, 1..DOC_MAX) into the calling patient's record
 * with the "(input)" metadata `document`. `onProgress(done, total)`. A lost
 * connection resumes where the service says, at most `retries` times in a
 * row. Resolves to the filed DocumentMeta.
 */
export async function uploadDocument(conn, { bytes, document, onProgress = () => {}, retries = 20 }) {
  const hash = await hash32(bytes);
  const uploadId = crypto.getRandomValues(new Uint8Array(16));
  let failures = 0;
  for (;;) {
    try {
      const begin = await call(conn, 'BeginUpload', { upload_id: uploadId, size: bytes.length, hash, document });
      if (begin.complete) {
        onProgress(bytes.length, bytes.length);
        return begin.document;
      }
      let off = Number(begin.next_offset) || 0;
      onProgress(off, bytes.length);
      for (;;) {
        const end = Math.min(off + PIECE, bytes.length);
        const r = await call(conn, 'UploadDocumentChunk', { upload_id: uploadId, offset: off, data: bytes.subarray(off, end) });
        failures = 0;
        off = Number(r.next_offset);
        onProgress(r.complete ? bytes.length : off, bytes.length);
        if (r.complete) return r.document;
        if (off >= bytes.length) throw new Error('upload not filed');
      }
    } catch (err) {
      failures++;
      if (!retryable(err) || failures > retries) throw err;
      await waitOnline(conn);
    }
  }
}

/** Thrown when downloaded bytes do not match the size or hash of the metadata. */
export class CorruptError extends Error {
  constructor() {
    super('corrupt');
    this.name = 'CorruptError';
  }
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The content of document version `doc` (a DocumentMeta): GetDocument for a
 * ticket, then the pieces; the size and the BLAKE2b-256 must be those of
 * `doc` (else CorruptError). A lost connection or an expired ticket asks
 * for a new ticket and goes on from where it was. Resolves to a Uint8Array.
 */
export async function downloadDocument(conn, doc, { onProgress = () => {}, retries = 20 } = {}) {
  const size = Number(doc.size);
  const out = new Uint8Array(size);
  let off = 0;
  let ticket = null;
  let failures = 0;
  let renewed = false; // a new ticket after a refusal, once in a row
  while (off < size) {
    try {
      if (!ticket) ticket = (await call(conn, 'GetDocument', { document_id: doc.id })).download_ticket;
      const r = await call(conn, 'DownloadDocumentChunk', { document_id: doc.id, ticket, offset: off, max_bytes: PIECE });
      if (Number(r.size) !== size || r.data.length === 0 || off + r.data.length > size) throw new CorruptError();
      out.set(r.data, off);
      off += r.data.length;
      failures = 0;
      renewed = false;
      onProgress(off, size);
    } catch (err) {
      // an expired ticket answers CODE_PERMISSION_DENIED (dmp.proto): ask for a new one
      if (err.code === Code.PERMISSION_DENIED && ticket && !renewed) {
        ticket = null;
        renewed = true;
        continue;
      }
      failures++;
      if (!retryable(err) || failures > retries) throw err;
      ticket = null;
      await waitOnline(conn);
    }
  }
  if (!same(await hash32(out), doc.hash)) throw new CorruptError();
  return out;
}
