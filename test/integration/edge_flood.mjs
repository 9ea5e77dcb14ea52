// Driven by edge_flood.sh against a real `espace up` (see there): a patient
// logs in through the edge during a flood of sign-ups and wrong log-ins from
// ten websocket connections on 127.0.0.1 plus, over ipc, signup_load's own
// flood of sign-ups straight to identity (8 in flight); once both stop, a
// patient who has never logged in is served from the flooding address
// within seconds. Prints one "ok ..." line, or throws.
//
// Environment: ES_EDGE_PORT, ES_DATA (data folder), ESPACE (binary),
// ES_LOAD (signup_load), ES_FLOOD_MS (default 8000).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';

import { Client, Code, deps, flood, loadTypes, randomIns } from '../edge/harness.mjs';

if (!deps) throw new Error('ws and protobufjs missing in clients/web/node_modules: run scripts/web');
const T = loadTypes();
const url = `ws://127.0.0.1:${process.env.ES_EDGE_PORT}/`;
const FLOOD_MS = Number(process.env.ES_FLOOD_MS || 8000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = 'correct horse battery';

function activationCode(ins) {
  const out = execFileSync(process.env.ESPACE, ['--data', process.env.ES_DATA, 'admin', 'activation',
    'issue', '--ins', ins], { encoding: 'utf8' });
  const m = /\b(\d{10})\b/.exec(out);
  assert.ok(m, `no code in: ${out}`);
  return m[1];
}

// RESOURCE_EXHAUSTED answers (the edge's buckets, identity's "busy; retry")
// are retried, waiting as a "retry in N s" hint says (at most 2 s), until
// deadlineMs; anything else but OK throws.
async function retrying(what, deadlineMs, fn) {
  const t0 = Date.now();
  for (let tries = 1; ; tries++) {
    const r = await fn();
    if (r.code === Code.OK) return { r, tries, ms: Date.now() - t0 };
    assert.equal(r.code, Code.RESOURCE_EXHAUSTED, `${what}: ${r.code} ${r.message}`);
    assert.ok(Date.now() - t0 < deadlineMs, `${what}: still refused after ${tries} tries: ${r.message}`);
    const m = /retry in (\d+) s/.exec(r.message);
    await sleep(Math.min(2000, m ? Number(m[1]) * 1000 : 200));
  }
}

async function newPatient(localAddress) {
  const c = await Client.open(url, T, { localAddress });
  const ins = randomIns();
  const birth_date = `19${ins.slice(1, 3)}-${ins.slice(3, 5)}-17`;
  await retrying('sign-up', 20000, () => c.call('identity', 'SignUpPatient', T.SignUpPatientRequest, {
    ins, birth_names: 'Martin', first_names: ['Camille'], birth_date, sex: 1, password: PASSWORD,
  }));
  const code = activationCode(ins);
  await retrying('activation', 20000, () => c.call('identity', 'ActivateAccount', T.ActivateAccountRequest,
    { ins, code, password: PASSWORD }));
  await c.close();
  return ins;
}

const login = (c, ins, extra = {}) => c.request('login', { ins, password: PASSWORD, device_name: 'test', ...extra }, 15000);

// before: Alice logs in once from her address (her device), Bob only signs up
const alice = await newPatient('127.0.0.2');
const a0 = await Client.open(url, T, { localAddress: '127.0.0.2' });
const first = await retrying('first log-in', 20000, () => login(a0, alice));
const device = T.LoginReply.decode(first.r.body).device_id;
await a0.close();
const bob = await newPatient('127.0.0.3');

// the floods
const load = spawn(process.env.ES_LOAD, ['run', `ipc://${process.env.ES_DATA}/run/bus.ipc`,
  String(Math.ceil(FLOOD_MS / 1000)), `${process.env.ES_DATA}/../acked`], { stdio: ['ignore', 'pipe', 'inherit'] });
let loadOut = '';
load.stdout.on('data', (d) => { loadOut += d; });
const loadDone = new Promise((resolve) => load.on('exit', resolve));
const conns = [];
for (let i = 0; i < 10; i++) conns.push(await Client.open(url, T, { localAddress: '127.0.0.1' }));
const counts = {};
const stops = conns.map((c) => flood(c, T, counts, { inFlight: 8, paceMs: 40 }));
const t0 = Date.now();
await sleep(2000);

// during: Alice logs in again on her device
const a1 = await Client.open(url, T, { localAddress: '127.0.0.2' });
const during = await retrying('log-in during the flood', FLOOD_MS, () => login(a1, alice, { device_id: device }));
assert.equal((await a1.call('identity', 'WhoAmI', T.WhoAmIRequest, {})).code, Code.OK);
await a1.close();

await sleep(Math.max(0, FLOOD_MS - (Date.now() - t0)));
for (const stop of stops) stop();
await loadDone;
await sleep(300);
for (const c of conns) c.close();
const sent = Object.values(counts).reduce((x, y) => x + y, 0);
assert.ok(sent > 500, `a flood: ${sent}`);

// after: Bob, who never logged in (an unknown device), from the flooding address
const t1 = Date.now();
const b = await Client.open(url, T, { localAddress: '127.0.0.1' });
const after = await retrying('log-in after the flood', 5000, () => login(b, bob));
assert.equal(T.LoginReply.decode(after.r.body).caller.kind, 1);
await b.close();
console.log(`ok edge flood: ${sent} requests ${JSON.stringify(counts)}; signup_load ${loadOut.trim()}; `
  + `log-in during: ${during.tries} tries ${during.ms} ms; after: ${after.tries} tries ${Date.now() - t1} ms`);
