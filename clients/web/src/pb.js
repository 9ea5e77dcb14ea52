// A small protobuf (proto3) codec driven by the JSON schema that
// scripts/schema.mjs makes from the .proto files with protobufjs at build
// time. It interprets the schema instead of generating code, because the
// app's Content-Security-Policy forbids eval and `new Function`, which the
// protobufjs runtime needs.
//
// Representation in JavaScript (field names as in the .proto files):
// - 32-bit integers, float, double: Number; bool: Boolean; string: String;
// - 64-bit integers: Number when decoded (espace uses them for millisecond
//   timestamps and request ids, far below 2^53); Number or BigInt to encode;
// - bytes: Uint8Array; enums: Number; messages: plain objects (null when
//   absent after decoding); repeated fields: arrays;
// - a oneof: the chosen member is a field as usual, and the decoder also
//   sets obj[<oneof name>] to the chosen member's name (e.g. kind: 'reply').
// Unknown fields are skipped. Decoding throws PbError on malformed input.

export class PbError extends Error {}

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

const WIRE = {
  int32: VARINT, int64: VARINT, uint32: VARINT, uint64: VARINT, sint32: VARINT, sint64: VARINT,
  bool: VARINT, enum: VARINT,
  fixed64: FIXED64, sfixed64: FIXED64, double: FIXED64,
  fixed32: FIXED32, sfixed32: FIXED32, float: FIXED32,
  string: LEN, bytes: LEN, message: LEN,
};

const utf8enc = new TextEncoder();
const utf8dec = new TextDecoder('utf-8', { fatal: true });

class Writer {
  constructor() {
    this.buf = new Uint8Array(64);
    this.len = 0;
  }

  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b) {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  // v: BigInt in [0, 2^64)
  varintBig(v) {
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      this.byte(b);
    } while (v !== 0n);
  }

  varint32(n) {
    // n: unsigned 32-bit Number
    n >>>= 0;
    while (n > 0x7f) {
      this.byte((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    this.byte(n);
  }

  raw(bytes) {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  tag(id, wire) {
    this.varint32(((id << 3) | wire) >>> 0);
  }

  finish() {
    return this.buf.slice(0, this.len);
  }
}

function toBig(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new PbError(`not an integer: ${v}`);
}

function isDefault(f, v) {
  if (v === undefined || v === null) return true;
  switch (f.type) {
    case 'message': return false;
    case 'string': return v === '';
    case 'bytes': return v.length === 0;
    case 'bool': return v === false;
    default: return typeof v === 'bigint' ? v === 0n : Number(v) === 0;
  }
}

function writeScalar(w, type, v) {
  switch (type) {
    case 'int32':
    case 'enum':
      if (v < 0) w.varintBig(BigInt.asUintN(64, BigInt(v | 0)));
      else w.varint32(v);
      break;
    case 'uint32': w.varint32(v); break;
    case 'sint32': w.varint32(((v << 1) ^ (v >> 31)) >>> 0); break;
    case 'int64':
    case 'uint64': w.varintBig(BigInt.asUintN(64, toBig(v))); break;
    case 'sint64': {
      const b = BigInt.asIntN(64, toBig(v));
      w.varintBig(BigInt.asUintN(64, (b << 1n) ^ (b >> 63n)));
      break;
    }
    case 'bool': w.byte(v ? 1 : 0); break;
    case 'fixed32':
    case 'sfixed32':
    case 'float': {
      const d = new DataView(new ArrayBuffer(4));
      if (type === 'float') d.setFloat32(0, v, true);
      else if (type === 'fixed32') d.setUint32(0, v >>> 0, true);
      else d.setInt32(0, v | 0, true);
      w.raw(new Uint8Array(d.buffer));
      break;
    }
    case 'fixed64':
    case 'sfixed64':
    case 'double': {
      const d = new DataView(new ArrayBuffer(8));
      if (type === 'double') d.setFloat64(0, v, true);
      else d.setBigUint64(0, BigInt.asUintN(64, toBig(v)), true);
      w.raw(new Uint8Array(d.buffer));
      break;
    }
    default:
      throw new PbError(`unknown scalar type ${type}`);
  }
}

function packable(type) {
  return type !== 'string' && type !== 'bytes' && type !== 'message';
}

/** A codec bound to one schema (see scripts/schema.mjs). */
export class Codec {
  constructor(schema) {
    this.schema = schema;
  }

  message(name) {
    const m = this.schema.messages[name];
    if (!m) throw new PbError(`unknown message type ${name}`);
    return m;
  }

  enumValues(name) {
    const e = this.schema.enums[name];
    if (!e) throw new PbError(`unknown enum ${name}`);
    return e;
  }

  /** Encode `obj` as message `name`; returns a Uint8Array. */
  encode(name, obj) {
    const w = new Writer();
    this.encodeInto(w, name, obj || {});
    return w.finish();
  }

  encodeInto(w, name, obj) {
    const m = this.message(name);
    for (const f of m.fields) {
      const v = obj[f.name];
      if (f.oneof && obj[f.oneof] !== undefined && obj[f.oneof] !== f.name) continue;
      if (f.repeated) {
        if (!v || v.length === 0) continue;
        if (packable(f.type)) {
          const inner = new Writer();
          for (const x of v) writeScalar(inner, f.type, x);
          w.tag(f.id, LEN);
          w.varint32(inner.len);
          w.raw(inner.buf.subarray(0, inner.len));
        } else {
          for (const x of v) this.writeField(w, f, x);
        }
        continue;
      }
      // A oneof member that is set is written even when it holds a default value.
      if (f.oneof ? v === undefined || v === null : isDefault(f, v)) continue;
      this.writeField(w, f, v);
    }
  }

  writeField(w, f, v) {
    const wire = WIRE[f.type];
    w.tag(f.id, wire);
    if (f.type === 'message') {
      const inner = new Writer();
      this.encodeInto(inner, f.ref, v || {});
      w.varint32(inner.len);
      w.raw(inner.buf.subarray(0, inner.len));
    } else if (f.type === 'string') {
      const b = utf8enc.encode(String(v));
      w.varint32(b.length);
      w.raw(b);
    } else if (f.type === 'bytes') {
      const b = v instanceof Uint8Array ? v : new Uint8Array(v);
      w.varint32(b.length);
      w.raw(b);
    } else {
      writeScalar(w, f.type, v);
    }
  }

  /** A message `name` with every field at its default value. */
  empty(name) {
    const m = this.message(name);
    const obj = {};
    for (const f of m.fields) {
      if (f.oneof) continue;
      if (f.repeated) obj[f.name] = [];
      else obj[f.name] = defaultValue(f);
    }
    return obj;
  }

  /** Decode `bytes` (Uint8Array or ArrayBuffer) as message `name`. */
  decode(name, bytes) {
    const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    return this.decodeRange(name, buf, 0, buf.length, 0);
  }

  decodeRange(name, buf, start, end, depth) {
    if (depth > 32) throw new PbError('message nested too deep');
    const m = this.message(name);
    const byId = m.byId || (m.byId = new Map(m.fields.map((f) => [f.id, f])));
    const obj = this.empty(name);
    const r = new Reader(buf, start, end);
    while (r.pos < r.end) {
      const tag = r.varint();
      const id = Number(tag >> 3n);
      const wire = Number(tag & 7n);
      if (id === 0) throw new PbError('field number 0');
      const f = byId.get(id);
      if (!f) {
        r.skip(wire);
        continue;
      }
      if (f.repeated && wire === LEN && packable(f.type)) {
        const len = r.length();
        const sub = new Reader(buf, r.pos, r.pos + len);
        while (sub.pos < sub.end) obj[f.name].push(sub.scalar(f.type));
        r.pos += len;
        continue;
      }
      if (wire !== WIRE[f.type]) throw new PbError(`wrong wire type for ${name}.${f.name}`);
      let v;
      if (f.type === 'message') {
        const len = r.length();
        v = this.decodeRange(f.ref, buf, r.pos, r.pos + len, depth + 1);
        r.pos += len;
      } else if (f.type === 'string') {
        const len = r.length();
        try {
          v = utf8dec.decode(buf.subarray(r.pos, r.pos + len));
        } catch {
          throw new PbError(`invalid UTF-8 in ${name}.${f.name}`);
        }
        r.pos += len;
      } else if (f.type === 'bytes') {
        const len = r.length();
        v = buf.slice(r.pos, r.pos + len);
        r.pos += len;
      } else {
        v = r.scalar(f.type);
      }
      if (f.repeated) {
        obj[f.name].push(v);
      } else {
        if (f.oneof) {
          const prev = obj[f.oneof];
          if (prev && prev !== f.name) delete obj[prev];
          obj[f.oneof] = f.name;
        }
        obj[f.name] = v;
      }
    }
    return obj;
  }
}

function defaultValue(f) {
  switch (f.type) {
    case 'message': return null;
    case 'string': return '';
    case 'bytes': return new Uint8Array(0);
    case 'bool': return false;
    default: return 0;
  }
}

function safeNumber(b) {
  const n = Number(b);
  if (!Number.isSafeInteger(n)) throw new PbError('64-bit integer beyond 2^53');
  return n;
}

class Reader {
  constructor(buf, start, end) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  need(n) {
    if (n < 0 || this.pos + n > this.end) throw new PbError('truncated message');
  }

  varint() {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new PbError('varint too long');
  }

  length() {
    const n = this.varint();
    if (n > BigInt(this.end - this.pos)) throw new PbError('truncated message');
    return Number(n);
  }

  fixed(n) {
    this.need(n);
    const d = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return d;
  }

  scalar(type) {
    switch (type) {
      case 'int32':
      case 'enum': return Number(BigInt.asIntN(32, this.varint()));
      case 'uint32': return Number(BigInt.asUintN(32, this.varint()));
      case 'sint32': {
        const u = Number(BigInt.asUintN(32, this.varint()));
        return (u >>> 1) ^ -(u & 1);
      }
      case 'int64': return safeNumber(BigInt.asIntN(64, this.varint()));
      case 'uint64': return safeNumber(this.varint());
      case 'sint64': {
        const u = this.varint();
        return safeNumber((u >> 1n) ^ -(u & 1n));
      }
      case 'bool': return this.varint() !== 0n;
      case 'fixed32': return this.fixed(4).getUint32(0, true);
      case 'sfixed32': return this.fixed(4).getInt32(0, true);
      case 'float': return this.fixed(4).getFloat32(0, true);
      case 'fixed64': return safeNumber(this.fixed(8).getBigUint64(0, true));
      case 'sfixed64': return safeNumber(this.fixed(8).getBigInt64(0, true));
      case 'double': return this.fixed(8).getFloat64(0, true);
      default: throw new PbError(`unknown scalar type ${type}`);
    }
  }

  skip(wire) {
    switch (wire) {
      case VARINT: this.varint(); break;
      case FIXED64: this.need(8); this.pos += 8; break;
      case LEN: { const n = this.length(); this.pos += n; break; }
      case FIXED32: this.need(4); this.pos += 4; break;
      default: throw new PbError(`unsupported wire type ${wire}`);
    }
  }
}
