// Attachments (docs/messaging.md "Attachments"): a file is encrypted in the
// browser with libsodium's secretstream (XChaCha20-Poly1305, 64 KiB
// plaintext chunks, the last one tagged FINAL) under a fresh key; the
// ciphertext is header (24 bytes) || chunks (each plaintext + 17 bytes); its
// BLAKE2b-256 is what the server checks. The key, id and hash travel inside
// the message (content.js). Upload in pieces of 128 KiB, resumable (the
// server says where to go on); download in pieces, hash checked, decrypted.
import { sodiumReady } from '../crypto.js';

export const CHUNK_PLAIN = 64 * 1024;
export const PIECE = 128 * 1024;
export const ATTACH_MAX = 20 * 1024 * 1024; // ciphertext bytes (MSG_ATTACH_MAX)

/** Largest file (plaintext) that fits in an attachment. */
export const FILE_MAX = ATTACH_MAX - 24 - 17 * Math.ceil(ATTACH_MAX / CHUNK_PLAIN);

/** Ciphertext size of a plaintext of n bytes. */
export const sealedSize = (n) => 24 + n + 17 * Math.max(1, Math.ceil(n / CHUNK_PLAIN));

/** Encrypt file bytes: { ciphertext, key, hash } (hash: BLAKE2b-256 of the ciphertext). */
export async function encryptFile(plain) {
  const s = await sodiumReady();
  const key = s.crypto_secretstream_xchacha20poly1305_keygen();
  const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
  const out = new Uint8Array(sealedSize(plain.length));
  out.set(header, 0);
  let at = header.length;
  let off = 0;
  do {
    const end = Math.min(off + CHUNK_PLAIN, plain.length);
    const tag = end === plain.length ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const c = s.crypto_secretstream_xchacha20poly1305_push(state, plain.subarray(off, end), null, tag);
    out.set(c, at);
    at += c.length;
    off = end;
  } while (off < plain.length);
  return { ciphertext: out, key, hash: s.crypto_generichash(32, out, null) };
}

/** BLAKE2b-256 of bytes. */
export async function hash32(bytes) {
  const s = await sodiumReady();
  return s.crypto_generichash(32, bytes, null);
}

/** Decrypt an attachment's ciphertext with its key; throws Error('corrupt') unless whole and authentic. */
export async function decryptFile(ciphertext, key) {
  const s = await sodiumReady();
  const A = s.crypto_secretstream_xchacha20poly1305_ABYTES;
  if (ciphertext.length < 24 + A) throw new Error('corrupt');
  const state = s.crypto_secretstream_xchacha20poly1305_init_pull(ciphertext.subarray(0, 24), key);
  const parts = [];
  let total = 0;
  let at = 24;
  let final = false;
  while (at < ciphertext.length) {
    if (final) throw new Error('corrupt');
    const end = Math.min(at + CHUNK_PLAIN + A, ciphertext.length);
    const r = s.crypto_secretstream_xchacha20poly1305_pull(state, ciphertext.subarray(at, end), null);
    if (!r) throw new Error('corrupt');
    parts.push(r.message);
    total += r.message.length;
    final = r.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    at = end;
  }
  if (!final) throw new Error('corrupt'); // truncated
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Upload `ciphertext` as attachment `attId` of conversation `convId`
 * (Uint8Arrays). `call(method, req)` calls messaging; `onProgress(done,
 * total)`; `waitOnline()` resolves when the connection is back. A lost
 * connection (UNAVAILABLE, DEADLINE_EXCEEDED) or a refused offset makes it
 * ask BeginAttachment where to go on, at most `retries` times in a row.
 */
export async function upload({ call, convId, attId, ciphertext, hash, onProgress = () => {}, waitOnline, isRetryable, retries = 20 }) {
  let failures = 0;
  for (;;) {
    try {
      const begin = await call('BeginAttachment', {
        conversation_id: convId, attachment_id: attId, size: ciphertext.length, hash,
      });
      let off = Number(begin.next_offset) || 0;
      onProgress(begin.complete ? ciphertext.length : off, ciphertext.length);
      if (begin.complete) return;
      while (off < ciphertext.length) {
        const end = Math.min(off + PIECE, ciphertext.length);
        const r = await call('UploadChunk', { attachment_id: attId, offset: off, data: ciphertext.subarray(off, end) });
        off = Number(r.next_offset);
        failures = 0;
        onProgress(off, ciphertext.length);
        if (r.complete) return;
      }
      return;
    } catch (err) {
      failures++;
      if (!isRetryable(err) || failures > retries) throw err;
      await waitOnline();
    }
  }
}

/** Download attachment `attId` (all of it); checks the size and hash announced in the message. */
export async function download({ call, attId, size, hash, onProgress = () => {}, waitOnline, isRetryable, retries = 20 }) {
  const out = new Uint8Array(size);
  let off = 0;
  let failures = 0;
  while (off < size) {
    try {
      const r = await call('DownloadAttachment', { attachment_id: attId, offset: off, max_bytes: PIECE });
      if (Number(r.size) !== size || r.data.length === 0 || off + r.data.length > size) throw new Error('corrupt');
      out.set(r.data, off);
      off += r.data.length;
      failures = 0;
      onProgress(off, size);
    } catch (err) {
      failures++;
      if (!isRetryable(err) || failures > retries) throw err;
      await waitOnline();
    }
  }
  const s = await sodiumReady();
  if (!s.memcmp(s.crypto_generichash(32, out, null), hash)) throw new Error('corrupt');
  return out;
}
