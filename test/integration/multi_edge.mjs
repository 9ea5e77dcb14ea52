// Driven by multi_edge.sh (see there): live events across two edge processes
// of one broker, and edge B stopped under edge A's connections. Prints one
// "ok ..." line, or throws.
//
// Environment: ES_EDGE_A, ES_EDGE_B (ports), ES_EDGE_B_PID, ES_ACCOUNTS (the
// accounts file of `espace admin seed --patients 2 --devices 2 --pros 1`),
// ESPACE_PRO (binary), ES_PRO_HOME (its home, logged in as the seeded pro).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { Client, Code, SRC, deps, loadTypes } from '../edge/harness.mjs';

if (!deps) throw new Error('ws and protobufjs missing in clients/web/node_modules: run scripts/web');
const T = loadTypes();
const agenda = new deps.protobuf.Root();
agenda.resolvePath = (origin, target) => (path.isAbsolute(target) ? target : path.join(SRC, 'proto', target));
agenda.loadSync(path.join(SRC, 'proto/espace/v1/agenda.proto'), { keepCase: true });
agenda.resolveAll();
const CreateRequest = agenda.lookupType('espace.v1.AgendaCreateRequest');
const AgendaChange = agenda.lookupType('espace.v1.AgendaChange');
const urlA = `ws://127.0.0.1:${process.env.ES_EDGE_A}/`;
const urlB = `ws://127.0.0.1:${process.env.ES_EDGE_B}/`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The seeded patients: [{ id, tokens }], and the professional's RPPS.
const lines = readFileSync(process.env.ES_ACCOUNTS, 'utf8').split('\n');
const patients = lines.filter((l) => l.startsWith('patient ')).map((l) => {
  const f = l.split(' ');
  return { id: f[1], tokens: f.slice(4) };
});
const rpps = lines.find((l) => l.startsWith('pro ')).split(' ')[1];
assert.equal(patients.length, 2, 'two seeded patients');
assert.ok(patients.every((p) => p.tokens.length === 2), 'two devices each');
const [alice, bob] = patients;

async function device(url, token) {
  const c = await Client.open(url, T);
  const r = await c.request('resume', { token }, 10000);
  assert.equal(r.code, Code.OK, `resume on ${url}: ${r.code} ${r.message}`);
  return c;
}

// The live agenda event titled `title` on c, within ms.
function agendaEvent(c, title, ms = 5000) {
  return c.next((m) => m.event && m.event.topic.endsWith('.agenda')
    && AgendaChange.decode(m.event.body).event?.title === title, ms);
}

let n = 0;
async function write(c) {
  const title = `multi-edge ${process.pid} ${++n}`;
  const start_ms = Date.UTC(2027, 0, 15, 8, 30) + n * 3600000;
  const r = await c.call('agenda', 'Create', CreateRequest, {
    event: { kind: 1, title, start_ms, end_ms: start_ms + 1800000 },
  });
  assert.equal(r.code, Code.OK, `Create: ${r.code} ${r.message} ${r.field}`);
  return title;
}

// Alice's first device on edge A, her second on edge B; Bob's on edge B.
const a1 = await device(urlA, alice.tokens[0]);
const a2 = await device(urlB, alice.tokens[1]);
const b2 = await device(urlB, bob.tokens[0]);

// 1. a write through edge A reaches Alice's device on edge B, not Bob's
const t1 = await write(a1);
const ev = await agendaEvent(a2, t1);
assert.equal(ev.event.topic, `patient.${alice.id}.agenda`);
await agendaEvent(a1, t1); // and the writer's own device, on A
await sleep(300);
assert.ok(!b2.queue.some((m) => m.event), 'Bob got an event of Alice');

// 2. a professional's write (tcp + CURVE, through the broker) reaches edge B
const t2 = `multi-edge pro ${process.pid}`;
const out = execFileSync(process.env.ESPACE_PRO, ['--home', process.env.ES_PRO_HOME, 'agenda',
  'create', '--patient', alice.id, '--kind', 'rdv', '--title', t2, '--start', '2027-02-01T09:30',
  '--end', '2027-02-01T10:00'], { encoding: 'utf8', timeout: 20000 });
assert.match(out, /^created [0-9a-f]+ version 1/, `espace-pro: ${out}`);
await agendaEvent(a2, t2);
await agendaEvent(a1, t2);

// 3. edge B stops: its connections close, edge A's live on
process.kill(Number(process.env.ES_EDGE_B_PID), 'SIGTERM');
const closed = await Promise.race([Promise.all([a2.closed, b2.closed]), sleep(10000).then(() => null)]);
assert.ok(closed, 'edge B connections still open 10 s after its SIGTERM');
assert.equal(a1.closeInfo, undefined, 'edge A connection closed with edge B');
const t3 = await write(a1);
await agendaEvent(a1, t3);
const a1b = await device(urlA, alice.tokens[1]); // the device that was on B moves to A
const t4 = await write(a1b);
await agendaEvent(a1, t4);
await agendaEvent(a1b, t4);
await Promise.all([a1.close(), a1b.close()]);
console.log(`ok: events across edges A (${process.env.ES_EDGE_A}) and B (${process.env.ES_EDGE_B}); A serves on after B stopped`);
