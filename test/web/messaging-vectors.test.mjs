// The shared messaging vectors of test/vectors/messaging, written by the C
// library's generator (test/vectors/messaging/gen.c, checked against
// libespace by ctest unit.messaging.vectors), read here by the web app's
// modules: one content format and one attachment sealing for both clients.
// - content.json: every valid content encodes (contentEncode) to exactly the
//   bytes libespace makes and decodes back to it; every invalid byte string
//   is refused (ContentError) as libespace refuses it; an unknown kind
//   decodes to { type: 'unknown' } (libespace: ES_UNIMPLEMENTED, skipped).
// - attachment.json: the attachments libespace sealed open here to the same
//   file, their BLAKE2b-256 is the hash they carry, their chunks have the
//   layout of the rule (64 KiB plaintext chunks, all full but the last,
//   tag MESSAGE but the last, FINAL), and encryptFile seals the same
//   layout (same size, same chunk lengths and tags).
// Run: cd clients/web && npm test
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = process.env.ES_WEB_DIR || path.resolve(here, '../../clients/web');
const src = (p) => path.join(webDir, 'src', p);
const vectorsDir = path.resolve(here, '../vectors/messaging');
const vec = (name) => JSON.parse(fs.readFileSync(path.join(vectorsDir, name), 'utf8'));

const { sodiumReady } = await import(src('crypto.js'));
const content = await import(src('messaging/content.js'));
const attach = await import(src('messaging/attach.js'));

const s = await sodiumReady();
const fromHex = (h) => s.from_hex(h);
const b64 = (h) => s.to_base64(s.from_hex(h), s.base64_variants.ORIGINAL);

/** The app's object form of a vector's neutral content. */
function appContent(c) {
  if (c.kind === 'read') return { v: 1, type: 'read', ids: c.message_ids };
  return {
    v: 1,
    type: 'text',
    text: c.text,
    attachments: c.attachments.map((a) => ({
      id: a.id, key: b64(a.key), hash: a.hash, size: a.size, name: a.name, mime: a.mime, plainSize: a.plain_size,
    })),
  };
}

test('content vectors: the same bytes as libespace, both ways', () => {
  const v = vec('content.json');
  assert.ok(v.valid.length >= 4 && v.invalid.length >= 8 && v.unknown.length >= 2);
  for (const c of v.valid) {
    const obj = appContent(c.content);
    assert.equal(s.to_hex(content.contentEncode(obj)), c.bytes, c.name);
    assert.deepEqual(content.contentDecode(fromHex(c.bytes)), obj, c.name);
  }
  for (const c of v.invalid) {
    assert.throws(() => content.contentDecode(fromHex(c.bytes)), content.ContentError, c.name);
  }
  for (const c of v.unknown) {
    assert.deepEqual(content.contentDecode(fromHex(c.bytes)), { v: 1, type: 'unknown' }, c.name);
  }
});

/** [{ len, tag }] of the chunks of a sealed attachment (opened with its key). */
function chunks(ct, key) {
  const A = s.crypto_secretstream_xchacha20poly1305_ABYTES;
  const st = s.crypto_secretstream_xchacha20poly1305_init_pull(ct.subarray(0, 24), key);
  const out = [];
  for (let at = 24; at < ct.length;) {
    const end = Math.min(at + 65536 + A, ct.length);
    const r = s.crypto_secretstream_xchacha20poly1305_pull(st, ct.subarray(at, end), null);
    assert.ok(r, 'a chunk opens');
    out.push({ len: end - at, tag: r.tag });
    at = end;
  }
  return out;
}

test('attachment vectors: sealed by libespace, opened here; encryptFile seals the same layout', async () => {
  const v = vec('attachment.json');
  assert.equal(v.chunk_plain, attach.CHUNK_PLAIN);
  const FINAL = s.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  const MESSAGE = s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  assert.ok(v.sealed.some((a) => a.plain_size === 65536), 'the one-full-chunk case');
  for (const a of v.sealed) {
    const ct = fromHex(a.ciphertext);
    const key = fromHex(a.key);
    assert.equal(ct.length, a.size);
    assert.equal(attach.sealedSize(a.plain_size), a.size, `size of ${a.plain_size} bytes`);
    assert.equal(s.to_hex(await attach.hash32(ct)), a.hash);
    const plain = await attach.decryptFile(ct, key);
    assert.equal(plain.length, a.plain_size);
    assert.equal(s.to_hex(s.crypto_generichash(32, plain, null)), a.plain_blake2b);
    const layout = chunks(ct, key);
    layout.forEach((c, i) => {
      assert.equal(c.tag, i === layout.length - 1 ? FINAL : MESSAGE, `tag of chunk ${i}`);
      if (i < layout.length - 1) assert.equal(c.len, 65536 + 17);
    });
    const mine = await attach.encryptFile(plain);
    assert.equal(mine.ciphertext.length, a.size);
    assert.deepEqual(chunks(mine.ciphertext, mine.key), layout);
    assert.deepEqual(mine.hash, await attach.hash32(mine.ciphertext));
  }
});
