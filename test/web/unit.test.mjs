// Unit tests of the web app's modules that run in Node (node:test):
// INS check, French error messages for every espace.v1.Code, the protobuf
// codec against protobufjs, the protocol client (reconnect, resume, timeouts)
// against a small websocket server, and the device-key wrapping.
// Run: cd clients/web && npm test
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = process.env.ES_WEB_DIR || path.resolve(here, '../../clients/web');
const src = (p) => path.join(webDir, 'src', p);
const requireWeb = createRequire(path.join(webDir, 'package.json'));

const { insCheck, insNormalize, insFormat, insMessage } = await import(src('ins.js'));
const { Code, codeName, errorMessage, EspaceError, describeError } = await import(src('errors.js'));
const { fr } = await import(src('i18n/fr.js'));
const { Codec, PbError } = await import(src('pb.js'));
const { Connection, STATE, backoffDelay, SUBPROTOCOL } = await import(src('protocol.js'));
const { loadRoot, buildSchema } = await import(path.join(webDir, 'scripts/schema.mjs'));
const { birthDateMessage, insTraitsMessages } = await import(src('screens/signup.js'));
const { codeCheck } = await import(src('activation.js'));
const { enumValues, enumValue, enumName, enumConstants } = await import(src('enums.js'));
const agendaEvent = await import(src('screens/agenda/event.js'));

const protobuf = requireWeb('protobufjs');
const root = loadRoot();
const schema = buildSchema(root);
const codec = new Codec(schema);

// ---- INS (shared/domain/REFERENCE.md section 5.1 vectors) ----

test('INS: the reference vectors', () => {
  for (const good of ['295109912611193', '253072B07300470', '253072A07300443',
    '255081416802538', '279035121518989']) {
    const r = insCheck(good);
    assert.equal(r.ok, true, good);
    assert.equal(r.value, good);
  }
  assert.deepEqual(insCheck('295109912611199'), { ok: false, reason: 'key' });
});

test('INS: normalisation (spaces, lower case, dots) and Corsica', () => {
  assert.equal(insNormalize(' 2 53 07 2b 073 004 70 '), '253072B07300470');
  assert.equal(insCheck('2 53 07 2b 073 004 70').ok, true);
  assert.equal(insCheck('2.95.10.99.126.111.93').ok, true);
  assert.equal(insFormat('295109912611193'), '2 95 10 99 126 111 93');
  // 2A and 2B swapped: the key no longer matches
  assert.deepEqual(insCheck('253072A07300470'), { ok: false, reason: 'key' });
  assert.deepEqual(insCheck('253072B07300443'), { ok: false, reason: 'key' });
});

test('INS: malformed input gives the right reason', () => {
  assert.deepEqual(insCheck(''), { ok: false, reason: 'empty' });
  assert.deepEqual(insCheck(undefined), { ok: false, reason: 'empty' });
  assert.deepEqual(insCheck('29510991261119'), { ok: false, reason: 'length' });
  assert.deepEqual(insCheck('2951099126111933'), { ok: false, reason: 'length' });
  assert.deepEqual(insCheck('29510991261119X'), { ok: false, reason: 'characters' });
  assert.deepEqual(insCheck('395109912611193'), { ok: false, reason: 'first' });
  // A or B elsewhere than the department
  assert.deepEqual(insCheck('2A5109912611193'), { ok: false, reason: 'characters' });
  assert.deepEqual(insCheck('2951099126111A3'), { ok: false, reason: 'characters' });
});

test('INS: French messages for the form', () => {
  assert.equal(insMessage('295109912611193'), '');
  assert.equal(insMessage('295109912611199'), fr.ins.key);
  assert.match(insMessage('2951'), /15 caractères ; vous en avez saisi 4/);
  assert.equal(birthDateMessage('2999-01-01', new Date('2025-01-01')), fr.signup.birthDateFuture);
  assert.equal(birthDateMessage('1889-12-31'), fr.signup.birthDateOld);
  assert.equal(birthDateMessage('1980-05-17'), '');
  assert.equal(birthDateMessage(''), fr.signup.birthDateEmpty);
});
test('sign-up: birth date and sex against the INS digits; activation code check', () => {
  const ok = { sex: '', birthDate: '' };
  assert.deepEqual(insTraitsMessages('253072B07300470', '2', '1953-07-17'), ok);
  assert.equal(insTraitsMessages('253072B07300470', '1', '1953-07-17').sex, fr.signup.sexMismatch);
  assert.equal(insTraitsMessages('253072B07300470', '2', '1954-07-17').birthDate, fr.signup.birthYearMismatch);
  assert.equal(insTraitsMessages('253072B07300470', '2', '1953-08-17').birthDate, fr.signup.birthMonthMismatch);
  // a month outside 01..12 in the INS stands for an unknown month
  assert.deepEqual(insTraitsMessages('180207500000147', '1', '1980-03-02'), ok);
  assert.deepEqual(insTraitsMessages('180207500000147', '', ''), ok);
  assert.deepEqual(codeCheck('01234 56789'), { value: '0123456789', message: '' });
  assert.equal(codeCheck('').message, fr.activation.codeEmpty);
  assert.equal(codeCheck('012345678').message, fr.activation.codeFormat);
  assert.equal(codeCheck('01234567890').message, fr.activation.codeFormat);
  assert.equal(codeCheck('012345678a').message, fr.activation.codeFormat);
});


// ---- errors ----

test('errors: every espace.v1.Code of common.proto has a French message', () => {
  const values = root.lookupEnum('espace.v1.Code').values;
  const names = Object.keys(values);
  assert.ok(names.length >= 14);
  for (const [name, value] of Object.entries(values)) {
    assert.equal(codeName(value), name, `Code value ${value}`);
    assert.equal(Code[name.replace(/^CODE_/, '')], value, name);
    const msg = errorMessage(value);
    assert.equal(typeof msg, 'string');
    assert.ok(msg.length > 5, name);
    assert.equal(msg, fr.errors[name]);
    assert.doesNotMatch(msg, /undefined|\bcode\b/i, name);
  }
  // and no stale entry for a code that does not exist any more
  assert.deepEqual(Object.keys(Code).map((k) => `CODE_${k}`).sort(), [...names].sort());
  const messages = new Set(names.map((n) => errorMessage(values[n])));
  assert.equal(messages.size, names.length, 'each code has its own message');
});

test('errors: unknown codes, fields and EspaceError', () => {
  assert.equal(codeName(99), null);
  assert.equal(errorMessage(99), fr.errors.unknown(99));
  assert.equal(errorMessage(Code.INVALID_ARGUMENT, 'birth_date'),
    `Date de naissance : ${fr.errors.CODE_INVALID_ARGUMENT}`);
  assert.equal(errorMessage(Code.INVALID_ARGUMENT, 'first_names[2]'),
    `Prénom(s) de naissance : ${fr.errors.CODE_INVALID_ARGUMENT}`);
  assert.equal(errorMessage(Code.INVALID_ARGUMENT, 'nope'), fr.errors.CODE_INVALID_ARGUMENT);
  const e = new EspaceError(Code.NOT_FOUND, 'no such session');
  assert.equal(e.french, fr.errors.CODE_NOT_FOUND);
  assert.equal(describeError(e), fr.errors.CODE_NOT_FOUND);
  assert.equal(describeError(new Error('x')), fr.errors.CODE_INTERNAL);
});

// ---- enums: read from the schema by name, French labels keyed by name ----

test('enums: a value name gives the number of the .proto file, through the schema', () => {
  const proto = (e) => root.lookupEnum(e).values;
  for (const [e, name] of [
    ['espace.v1.AgendaStatus', 'AGENDA_STATUS_CANCELLED'], ['espace.v1.AgendaKind', 'AGENDA_KIND_TACHE_SANTE'],
    ['espace.v1.AgendaChangeKind', 'AGENDA_CHANGE_DELETED'], ['espace.v1.GrantStatus', 'GRANT_ACTIVE'],
    ['espace.v1.AuditKind', 'AUDIT_EMERGENCY'], ['espace.v1.Code', 'CODE_ABORTED'],
  ]) {
    assert.equal(enumValue(e, name), proto(e)[name], `${e}.${name}`);
  }
  assert.equal(enumValue('espace.v1.AgendaStatus', 'AGENDA_STATUS_CANCELLED'), 6);
  assert.equal(Code.ABORTED, proto('espace.v1.Code').CODE_ABORTED);
  assert.equal(enumConstants('espace.v1.GrantStatus', 'GRANT_').REJECTED, proto('espace.v1.GrantStatus').GRANT_REJECTED);
  // every enum of the schema is the .proto file's, whole
  assert.ok(Object.keys(schema.enums).length >= 15);
  for (const e of Object.keys(schema.enums)) assert.deepEqual({ ...enumValues(e) }, { ...proto(e) }, e);
  assert.equal(enumName('espace.v1.AgendaKind', 2), 'AGENDA_KIND_HOSPITALISATION');
  assert.equal(enumName('espace.v1.AgendaKind', 99), '');
});

test('enums: a name the schema does not have throws, not undefined', () => {
  assert.throws(() => enumValue('espace.v1.AgendaStatus', 'AGENDA_STATUS_CANCELED'), /no value AGENDA_STATUS_CANCELED/);
  assert.throws(() => enumConstants('espace.v1.AgendaStatus', 'AGENDA_STATUS_').CANCELED, /no value CANCELED/);
  assert.throws(() => Code.NOPE, /no value NOPE/);
  assert.throws(() => enumValues('espace.v1.Nope'), /no enum espace.v1.Nope/);
  assert.throws(() => enumConstants('espace.v1.Code', 'AGENDA_'), /does not start with AGENDA_/);
  assert.throws(() => { Code.OK = 5; }, TypeError);
  assert.equal(Code.toString, Object.prototype.toString); // other properties behave as usual
});

test('enums: every French label table is keyed by value names of its enum, and covers it', () => {
  const tables = [
    ['agenda.kinds', fr.agenda.kinds, 'espace.v1.AgendaKind'],
    ['agenda.statuses', fr.agenda.statuses, 'espace.v1.AgendaStatus'],
    ['agenda.bySource', fr.agenda.bySource, 'espace.v1.AgendaSource'],
    ['agenda.actor', fr.agenda.actor, 'espace.v1.AgendaActor'],
    ['consent.categories', fr.consent.categories, 'espace.v1.Category'],
    ['consent.actions', fr.consent.actions, 'espace.v1.Action'],
    ['consent.purposes', fr.consent.purposes, 'espace.v1.Purpose'],
  ];
  for (const [what, table, e] of tables) {
    const values = root.lookupEnum(e).values;
    for (const k of Object.keys(table)) assert.ok(Object.hasOwn(values, k), `fr.${what}: ${k} is not a value of ${e}`);
    for (const [name, n] of Object.entries(values)) {
      if (n !== 0) assert.ok(Object.hasOwn(table, name), `fr.${what} has no label for ${name}`);
    }
  }
});

test('enums: the agenda screen labels and styles events by value name', () => {
  const v = (e, name) => root.lookupEnum(`espace.v1.${e}`).values[name];
  const ev = {
    kind: v('AgendaKind', 'AGENDA_KIND_HOSPITALISATION'),
    status: v('AgendaStatus', 'AGENDA_STATUS_CANCELLED'),
    source: v('AgendaSource', 'AGENDA_SOURCE_PRO_SOFTWARE'),
  };
  assert.equal(agendaEvent.kindLabel(ev), 'Hospitalisation');
  assert.equal(agendaEvent.statusLabel(ev), 'Annulé');
  assert.equal(agendaEvent.kindClass(ev), 'kind-hospitalisation');
  assert.equal(agendaEvent.statusClass(ev), 'status-cancelled');
  assert.equal(agendaEvent.sourceLabel(ev), fr.agenda.bySource.AGENDA_SOURCE_PRO_SOFTWARE);
  assert.equal(agendaEvent.isCancelled(ev), true);
  assert.equal(agendaEvent.isFinal(ev), true);
  assert.equal(agendaEvent.isOwn(ev), false);
  const own = { kind: v('AgendaKind', 'AGENDA_KIND_TACHE_SANTE'), status: v('AgendaStatus', 'AGENDA_STATUS_BOOKED'), source: v('AgendaSource', 'AGENDA_SOURCE_PATIENT') };
  assert.equal(agendaEvent.kindClass(own), 'kind-tache-sante');
  assert.equal(agendaEvent.isOwn(own), true);
  assert.equal(agendaEvent.isFinal(own), false);
  assert.equal(agendaEvent.sourceLabel(own), '');
  // a value this app does not know yet (a newer server): no label, no crash
  assert.equal(agendaEvent.statusLabel({ status: 99 }), '');
  assert.equal(agendaEvent.statusClass({ status: 99 }), 'status-unknown');
  assert.equal(agendaEvent.participantLabel({ actor_type: v('AgendaActor', 'AGENDA_ACTOR_PROFESSIONAL'), actor_id: '10000000001', display: '' }),
    'Professionnel de santé (RPPS 10000000001)');
  assert.equal(agendaEvent.participantLabel({ actor_type: 99, actor_id: 'x', display: '' }), 'x');
  assert.deepEqual(agendaEvent.kindChoices(), [
    ['AGENDA_KIND_RDV', 'Rendez-vous'], ['AGENDA_KIND_HOSPITALISATION', 'Hospitalisation'],
    ['AGENDA_KIND_RAPPEL', 'Rappel'], ['AGENDA_KIND_TACHE_SANTE', 'Tâche de santé'],
  ].map(([name, label]) => ({ value: v('AgendaKind', name), label })));
  assert.equal(agendaEvent.DEFAULT_KIND, v('AgendaKind', 'AGENDA_KIND_RDV'));
});

test('enums: the kind and status classes in style.css are ones the app makes from value names', () => {
  const css = fs.readFileSync(path.join(webDir, 'public/style.css'), 'utf8');
  const made = new Set();
  for (const n of Object.values(root.lookupEnum('espace.v1.AgendaKind').values)) made.add(agendaEvent.kindClass({ kind: n }));
  for (const n of Object.values(root.lookupEnum('espace.v1.AgendaStatus').values)) made.add(agendaEvent.statusClass({ status: n }));
  const used = [...css.matchAll(/\.((?:kind|status)-[a-z0-9-]+)/g)].map((m) => m[1]);
  assert.ok(used.length >= 5);
  for (const c of used) assert.ok(made.has(c), `style.css: .${c} matches no enum value`);
});

// ---- protobuf codec, cross-checked with protobufjs ----

const bytes = (...a) => new Uint8Array(a);

test('pb: our encoding decodes with protobufjs, and back', () => {
  const samples = [
    ['espace.v1.ClientMessage', { id: 7, login: { ins: '295109912611193', password: 'p'.repeat(12), device_id: bytes(1, 2, 3), device_name: 'Navigateur', device_keys: { sign_public: new Uint8Array(32).fill(9), dh_public: new Uint8Array(32).fill(4) } } }],
    ['espace.v1.ClientMessage', { id: 2 ** 40 + 3, call: { service: 'identity', method: 'WhoAmI', body: bytes(), timeout_ms: 5000 } }],
    ['espace.v1.ClientMessage', { id: 1, resume: { token: 'tok' } }],
    ['espace.v1.LoginReply', { token: 'abc', session_id: new Uint8Array(16).fill(1), device_id: new Uint8Array(16).fill(2), expires_ms: 1767225600000, caller: { kind: 1, principal: 'ab'.repeat(16), session_expires_ms: 1767225600000, peer_role: 2 } }],
    ['espace.v1.ListSessionsReply', { sessions: [{ session_id: bytes(1), device_id: bytes(2), created_ms: 1, expires_ms: 2, current: true }, { session_id: bytes(3), device_id: bytes(4), created_ms: 5, expires_ms: 6, current: false }] }],
    ['espace.v1.SignUpPatientRequest', { ins: '253072B07300470', birth_names: 'MARTIN DUPONT', first_names: ['Élodie', 'Marie'], birth_date: '1980-05-17', password: 'é'.repeat(12) }],
  ];
  for (const [type, obj] of samples) {
    const T = root.lookupType(type);
    const ours = codec.encode(type, obj);
    const theirs = T.toObject(T.decode(ours), { longs: Number, bytes: Array, defaults: false, oneofs: true });
    const again = codec.decode(type, T.encode(T.fromObject(theirs)).finish());
    for (const [k, v] of Object.entries(obj)) {
      assert.deepEqual(pick(normalise(again[k]), normalise(v)), normalise(v), `${type}.${k}`);
    }
    assert.deepEqual(codec.encode(type, again), ours, `${type} re-encodes identically`);
  }
});

// `actual` reduced to the keys `expected` has (decoded oneofs add their discriminator).
function pick(actual, expected) {
  if (Array.isArray(expected) && Array.isArray(actual)) return actual.map((a, i) => pick(a, expected[i]));
  if (expected && typeof expected === 'object' && actual && typeof actual === 'object' && !Array.isArray(expected)) {
    const out = {};
    for (const k of Object.keys(expected)) out[k] = pick(actual[k], expected[k]);
    return out;
  }
  return actual;
}

function normalise(v) {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalise(x);
    return out;
  }
  return v;
}

test('pb: decoding protobufjs output, oneofs, defaults, unknown fields', () => {
  const SM = root.lookupType('espace.v1.ServerMessage');
  const wire = SM.encode(SM.fromObject({ id: 12, reply: { status: { code: 2, message: 'invalid credentials' } } })).finish();
  const m = codec.decode('espace.v1.ServerMessage', wire);
  assert.equal(m.id, 12);
  assert.equal(m.kind, 'reply');
  assert.equal(m.reply.status.code, 2);
  assert.equal(m.reply.status.field, '');
  assert.equal(m.reply.body.length, 0);
  assert.equal(m.event, undefined);

  const ev = codec.decode('espace.v1.ServerMessage',
    SM.encode(SM.fromObject({ closing: { code: 2, message: 'revoked' } })).finish());
  assert.equal(ev.id, 0);
  assert.equal(ev.kind, 'closing');
  assert.equal(ev.closing.code, Code.UNAUTHENTICATED);

  // a oneof member holding only defaults is still sent, and still chosen
  const empty = codec.decode('espace.v1.ServerMessage', codec.encode('espace.v1.ServerMessage', { id: 3, resync: {} }));
  assert.equal(empty.kind, 'resync');
  assert.equal(empty.resync.dropped, 0);

  // unknown fields (number 99 of each wire type) are skipped
  const extra = new Uint8Array([...codec.encode('espace.v1.Status', { code: 4 }),
    0x98, 0x06, 0x01, 0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x9a, 0x06, 0x02, 0x41, 0x42, 0x9d, 0x06, 1, 2, 3, 4]);
  assert.equal(codec.decode('espace.v1.Status', extra).code, 4);

  // negative int32 enum values and int64 survive
  const neg = codec.encode('espace.v1.Status', { code: -1 });
  assert.equal(root.lookupType('espace.v1.Status').decode(neg).code, -1);
  assert.equal(codec.decode('espace.v1.Status', neg).code, -1);
  const caller = codec.decode('espace.v1.Caller', codec.encode('espace.v1.Caller', { session_expires_ms: -5 }));
  assert.equal(caller.session_expires_ms, -5);
});

test('pb: malformed input throws PbError, never anything else', () => {
  const bad = [
    bytes(0x0a, 0x05, 0x41),           // string longer than the buffer
    bytes(0x08),                       // truncated varint
    bytes(0x08, ...new Array(11).fill(0xff)), // varint too long
    bytes(0x0a, 0x02, 0xc3, 0x28),     // invalid UTF-8
    bytes(0x0b),                       // group start (wire type 3)
    bytes(0x00),                       // field number 0
    bytes(0x0d, 1, 2),                 // fixed32 truncated
    bytes(0x09, 1, 2, 3),              // status.code (varint) with wire type 1
  ];
  for (const b of bad) {
    assert.throws(() => codec.decode('espace.v1.Status', b), PbError, Array.from(b).join(','));
  }
  assert.throws(() => codec.encode('espace.v1.Nope', {}), PbError);
  // a uint64 beyond 2^53 cannot become a Number safely
  assert.throws(() => codec.decode('espace.v1.ServerMessage', codec.encode('espace.v1.ServerMessage', { id: 2n ** 60n })), PbError);
  // random garbage: PbError or a valid decode, nothing else
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(1 + (i % 40)).map(rnd);
    try {
      codec.decode('espace.v1.ServerMessage', b);
    } catch (err) {
      assert.ok(err instanceof PbError, err.stack);
    }
  }
});

// ---- protocol client against a small websocket server ----

const { WebSocketServer, WebSocket } = requireWeb('ws');
const SM = 'espace.v1.ServerMessage';
const CM = 'espace.v1.ClientMessage';

function reply(id, code = 0, body = new Uint8Array(0)) {
  return codec.encode(SM, { id, reply: { status: { code }, body } });
}

async function startServer(onMessage) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => (p.has(SUBPROTOCOL) ? SUBPROTOCOL : false) });
  await new Promise((r) => wss.once('listening', r));
  const log = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const msg = codec.decode(CM, new Uint8Array(data));
      log.push(msg);
      onMessage(ws, msg);
    });
  });
  return { wss, log, url: `ws://127.0.0.1:${wss.address().port}/` };
}

function until(cond, ms = 5000) {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() - start > ms) reject(new Error('timed out'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

test('protocol: back-off grows, is capped and jittered', () => {
  assert.equal(backoffDelay(0, 500, 30000, () => 0), 250);
  assert.equal(backoffDelay(0, 500, 30000, () => 1), 500);
  assert.equal(backoffDelay(3, 500, 30000, () => 1), 4000);
  assert.equal(backoffDelay(20, 500, 30000, () => 1), 30000);
  assert.equal(backoffDelay(20, 500, 30000, () => 0), 15000);
  assert.equal(backoffDelay(1000, 500, 30000, () => 0.5), 22500);
});

test('protocol: requests matched by id, errors become EspaceError, timeouts', async () => {
  const { wss, url } = await startServer((ws, msg) => {
    if (msg.call.method === 'WhoAmI') {
      // answer out of order: the later request first
      setTimeout(() => ws.send(reply(msg.id, 0, codec.encode('espace.v1.WhoAmIReply', { display_name: `Marie ${msg.id}` }))), msg.id === 1 ? 50 : 0);
    } else if (msg.call.method === 'Logout') {
      ws.send(reply(msg.id, Code.UNAUTHENTICATED));
    } // 'ListSessions': never answered
  });
  const conn = new Connection({ url, codec, WebSocket, window: null });
  conn.start();
  try {
    const [a, b] = await Promise.all([conn.call('identity', 'WhoAmI'), conn.call('identity', 'WhoAmI')]);
    assert.equal(a.display_name, 'Marie 1');
    assert.equal(b.display_name, 'Marie 2');
    assert.equal(conn.state, STATE.ONLINE);
    await assert.rejects(conn.call('identity', 'Logout'), (e) => e instanceof EspaceError && e.code === Code.UNAUTHENTICATED);
    await assert.rejects(conn.call('identity', 'ListSessions', {}, { timeoutMs: 100 }),
      (e) => e.code === Code.DEADLINE_EXCEEDED);
    assert.equal(conn.pending.size, 0);
  } finally {
    conn.stop();
    wss.close();
  }
});

test('protocol: reconnects with back-off, resumes the token first, then sends queued requests', async () => {
  let sockets = 0;
  const { wss, log, url } = await startServer((ws, msg) => {
    if (msg.kind === 'resume') {
      ws.send(reply(msg.id, msg.resume.token === 'good' ? 0 : Code.UNAUTHENTICATED,
        codec.encode('espace.v1.AuthenticateReply', { caller: { kind: 1, principal: 'p' } })));
    } else if (msg.kind === 'call') {
      ws.send(reply(msg.id, 0, codec.encode('espace.v1.WhoAmIReply', { display_name: 'Marie' })));
    }
  });
  wss.on('connection', () => { sockets++; });
  const states = [];
  const conn = new Connection({ url, codec, WebSocket, window: null, backoffBaseMs: 20, backoffMaxMs: 100 });
  conn.on('state', (s) => states.push(s));
  conn.setToken('good');
  conn.start();
  try {
    assert.equal((await conn.call('identity', 'WhoAmI')).display_name, 'Marie');
    assert.deepEqual(log.map((m) => m.kind), ['resume', 'call']);
    // the server drops every connection: the client comes back by itself
    for (const c of wss.clients) c.terminate();
    await until(() => states.includes(STATE.RECONNECTING));
    const again = await conn.call('identity', 'WhoAmI');
    assert.equal(again.display_name, 'Marie');
    assert.equal(sockets, 2);
    assert.deepEqual(log.map((m) => m.kind), ['resume', 'call', 'resume', 'call']);
    assert.equal(log[2].resume.token, 'good');
    assert.equal(conn.state, STATE.ONLINE);

    // a refused token ends the session: 'session-ended', then calls go unbound
    let ended = 0;
    conn.on('session-ended', () => { ended++; });
    conn.setToken('revoked');
    for (const c of wss.clients) c.terminate();
    await until(() => ended === 1);
    assert.equal(conn.token, null);
    await conn.call('identity', 'WhoAmI');
    assert.equal(log.at(-1).kind, 'call');
  } finally {
    conn.stop();
    wss.close();
  }
});

test('protocol: a request in flight when the socket drops fails with UNAVAILABLE', async () => {
  const { wss, url } = await startServer((ws) => ws.terminate());
  const conn = new Connection({ url, codec, WebSocket, window: null, backoffBaseMs: 20 });
  conn.start();
  try {
    await assert.rejects(conn.call('identity', 'WhoAmI'), (e) => e.code === Code.UNAVAILABLE);
  } finally {
    conn.stop();
    wss.close();
  }
  await assert.rejects(conn.call('identity', 'WhoAmI'), (e) => e.code === Code.UNAVAILABLE);
});

test('protocol: Closing UNAUTHENTICATED ends the session; LiveEvent and Resync reach listeners', async () => {
  const { wss, url } = await startServer((ws, msg) => {
    ws.send(reply(msg.id, 0));
    ws.send(codec.encode(SM, { event: { topic: 'patient.x.agenda', at_ms: 5, body: bytes(1) } }));
    ws.send(codec.encode(SM, { resync: { dropped: 3 } }));
    ws.send(codec.encode(SM, { closing: { code: Code.UNAUTHENTICATED, message: 'revoked' } }));
  });
  const conn = new Connection({ url, codec, WebSocket, window: null });
  const seen = [];
  conn.on('event', (e) => seen.push(['event', e.topic]));
  conn.on('resync', (r) => seen.push(['resync', r.dropped]));
  conn.on('session-ended', (s) => seen.push(['ended', s.code]));
  conn.setToken('t');
  conn.start();
  try {
    await until(() => seen.length === 3);
    assert.deepEqual(seen, [['event', 'patient.x.agenda'], ['resync', 3], ['ended', Code.UNAUTHENTICATED]]);
    assert.equal(conn.token, null);
  } finally {
    conn.stop();
    wss.close();
  }
});

// ---- device keys ----

test('crypto: device keys wrap under the password and unwrap only with it', async () => {
  const c = await import(src('crypto.js'));
  const s = await c.sodiumReady();
  const keys = await c.generateDeviceKeys();
  assert.equal(keys.sign.publicKey.length, 32);
  assert.equal(keys.dh.publicKey.length, 32);
  const account = await c.accountKey('295109912611193');
  assert.match(account, /^[0-9a-f]{32}$/);
  assert.notEqual(account, await c.accountKey('253072B07300470'));
  const cost = { opslimit: s.crypto_pwhash_OPSLIMIT_MIN, memlimit: s.crypto_pwhash_MEMLIMIT_MIN };
  const rec = await c.wrapDeviceKeys(keys, 'correct horse battery', account, cost);
  const plainSecrets = Buffer.concat([keys.sign.privateKey, keys.dh.privateKey]);
  assert.equal(Buffer.from(rec.wrapped).includes(plainSecrets.subarray(0, 16)), false);
  assert.equal(rec.kdf.salt.length, s.crypto_pwhash_SALTBYTES);
  const back = await c.unwrapDeviceKeys(rec, 'correct horse battery');
  assert.deepEqual(back.sign.privateKey, keys.sign.privateKey);
  assert.deepEqual(back.dh.privateKey, keys.dh.privateKey);
  // the signing key works with the registered public key
  const sig = s.crypto_sign_detached(s.from_string('x'), back.sign.privateKey);
  assert.equal(s.crypto_sign_verify_detached(sig, s.from_string('x'), rec.sign_public), true);
  await assert.rejects(c.unwrapDeviceKeys(rec, 'wrong horse battery'), /wrong key/);
  // a record moved to another account does not open
  await assert.rejects(c.unwrapDeviceKeys({ ...rec, account: 'f'.repeat(32) }, 'correct horse battery'), /wrong key/);
  // two wraps of the same keys use fresh salt and nonce
  const rec2 = await c.wrapDeviceKeys(keys, 'correct horse battery', account, cost);
  assert.notDeepEqual(Array.from(rec2.kdf.salt), Array.from(rec.kdf.salt));
  assert.notDeepEqual(Array.from(rec2.nonce), Array.from(rec.nonce));
});

// ---- the directory of professionals (src/people.js), shared by every screen ----

test('people: a professional by declared name, profession and RPPS; the fallback; the newest name wins', async () => {
  const { People, frList } = await import(src('people.js'));
  const GRANTEE_PRO = enumValue('espace.v1.GranteeKind', 'GRANTEE_PROFESSIONAL');
  const GRANTEE_APP = enumValue('espace.v1.GranteeKind', 'GRANTEE_APP');
  const RPPS = '10001234567';
  const people = new People();
  // unknown: "Professionnel de santé (RPPS …)" in every form
  assert.equal(people.knows(RPPS), false);
  assert.deepEqual(people.pro(RPPS), {
    label: `Professionnel de santé (RPPS ${RPPS})`,
    of: `d’un professionnel de santé (RPPS ${RPPS})`,
    subject: `Ce professionnel de santé (RPPS ${RPPS})`,
    object: `un professionnel de santé (RPPS ${RPPS})`,
  });
  // a request names them; an app's grant or a nameless record teaches nothing
  people.learnGrant({ grantee_kind: GRANTEE_PRO, grantee_id: RPPS, grantee_name: 'Claire Martin', grantee_profession: 'Médecin', created_ms: 10 });
  people.learnGrant({ grantee_kind: GRANTEE_APP, grantee_id: RPPS, grantee_name: 'App', created_ms: 50 });
  people.learnEmergency({ rpps: RPPS, display_name: '', profession: 'Infirmier', start_ms: 60 });
  assert.equal(people.knows(RPPS), true);
  assert.deepEqual(people.pro(RPPS), {
    label: `Dr Claire Martin (médecin, RPPS ${RPPS})`,
    of: `du Dr Claire Martin (médecin, RPPS ${RPPS})`,
    subject: 'Le Dr Claire Martin',
    object: `le Dr Claire Martin (médecin, RPPS ${RPPS})`,
  });
  // an older declaration does not replace a newer one; a newer one does
  people.learnEmergency({ rpps: RPPS, display_name: 'C. Martin', profession: 'Médecin', start_ms: 5 });
  assert.equal(people.pro(RPPS).label, `Dr Claire Martin (médecin, RPPS ${RPPS})`);
  people.learnEmergency({ rpps: RPPS, display_name: 'Claire Martin-Durand', profession: 'Chirurgien', start_ms: 20 });
  assert.equal(people.pro(RPPS).label, `Dr Claire Martin-Durand (chirurgien, RPPS ${RPPS})`);
  // "de" elided before a vowel, "de" before a consonant, no "Dr" but for médecins, chirurgiens, dentistes
  people.learn('10001234568', 'Anne Petit', 'Infirmière', 1);
  people.learn('10001234569', 'Paul Durand', 'Masseur-kinésithérapeute', 1);
  people.learn('10001234570', 'Élise Roy', '', 1);
  assert.equal(people.pro('10001234568').of, 'd’Anne Petit (infirmière, RPPS 10001234568)');
  assert.equal(people.pro('10001234568').object, 'Anne Petit (infirmière, RPPS 10001234568)');
  assert.equal(people.pro('10001234569').of, 'de Paul Durand (masseur-kinésithérapeute, RPPS 10001234569)');
  assert.equal(people.pro('10001234569').subject, 'Paul Durand');
  assert.equal(people.pro('10001234570').of, 'd’Élise Roy (RPPS 10001234570)');
  // an app by its catalogue name
  people.apps.set('app1', 'Mon Suivi');
  assert.equal(people.grantee({ grantee_kind: GRANTEE_APP, grantee_id: 'app1' }).object, 'le service « Mon Suivi »');
  assert.equal(frList(['A', 'B', 'C']), 'A, B et C');
});

test('people: Messagerie and Documents name professionals from the same directory', async () => {
  const { People } = await import(src('people.js'));
  const { members } = await import(src('screens/messaging/index.js'));
  const { authorText } = await import(src('screens/documents/list.js'));
  const PRO = enumValue('espace.v1.PrincipalKind', 'PRINCIPAL_PROFESSIONAL');
  const people = new People();
  people.learn('10001234567', 'Claire Martin', 'Médecin', 1);
  const conv = { professionals: ['10001234567', '10001234599'] };
  const who = members(conv, people);
  assert.equal(who.label, 'Dr Claire Martin (médecin, RPPS 10001234567) et Professionnel de santé (RPPS 10001234599)');
  assert.equal(fr.messaging.threadTitle(who.object),
    'Conversation avec le Dr Claire Martin (médecin, RPPS 10001234567) et un professionnel de santé (RPPS 10001234599)');
  assert.equal(authorText({ kind: PRO, principal: '10001234567' }, people),
    'Déposé par le Dr Claire Martin (médecin, RPPS 10001234567)');
  assert.equal(authorText({ kind: PRO, principal: '10001234599' }, people),
    'Déposé par un professionnel de santé (RPPS 10001234599)');
});
