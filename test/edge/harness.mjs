// Helpers of the edge protocol tests: start test/edge/edge_harness, load the
// .proto files with protobufjs, and a small websocket client (package `ws`).
// Node 18 compatible: no global WebSocket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SRC = process.env.ES_SRC || path.resolve(here, '../..');
const WEB = process.env.ES_WEB_DIR || path.join(SRC, 'clients/web');

// { WebSocket, protobuf } from ES_WEB_DIR/node_modules, or null when absent.
export function loadDeps() {
  try {
    const req = createRequire(path.join(WEB, 'package.json'));
    return { WebSocket: req('ws'), protobuf: req('protobufjs') };
  } catch (e) {
    return null;
  }
}

export const deps = loadDeps();
// Under ctest (ES_EDGE_HARNESS set) missing dependencies are an error, not a skip.
if (process.env.ES_EDGE_HARNESS && !deps)
  throw new Error(`ws and protobufjs missing in ${WEB}/node_modules: run scripts/web first`);
export const skip = deps && process.env.ES_EDGE_HARNESS ? false
  : `needs ES_EDGE_HARNESS and ws + protobufjs in ${WEB}/node_modules`;

export const Code = {
  OK: 0, INVALID_ARGUMENT: 1, UNAUTHENTICATED: 2, PERMISSION_DENIED: 3, NOT_FOUND: 4, UNIMPLEMENTED: 12,
  RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 9, DEADLINE_EXCEEDED: 10, FAILED_PRECONDITION: 13,
};

// The espace.v1 types, loaded from proto/ with field names as written.
export function loadTypes() {
  const { protobuf } = deps;
  const dir = path.join(SRC, 'proto');
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => (path.isAbsolute(target) ? target : path.join(dir, target));
  root.loadSync(path.join(dir, 'espace/v1/edge.proto'), { keepCase: true });
  root.resolveAll();
  const t = (n) => root.lookupType(`espace.v1.${n}`);
  const names = ['ClientMessage', 'ServerMessage', 'LoginRequest', 'LoginReply', 'SignUpPatientRequest',
    'SignUpPatientReply', 'WhoAmIRequest', 'WhoAmIReply', 'AuthenticateReply', 'RevokeSessionRequest',
    'LogoutRequest', 'Caller', 'Status', 'ListSessionsRequest', 'ActivateAccountRequest',
    'ActivateAccountReply', 'CreateProfessionalRequest', 'CreateProfessionalReply'];
  const out = {};
  for (const n of names) out[n] = t(n);
  return out;
}

// A valid INS (13 characters + key 97 - n mod 97), random enough for a test run.
export function randomIns() {
  const r = (n) => String(Math.floor(Math.random() * 10 ** n)).padStart(n, '0');
  const body = `1${r(2)}0${1 + Math.floor(Math.random() * 9)}75${r(3)}${r(3)}`;
  const key = 97n - (BigInt(body) % 97n);
  return body + String(key).padStart(2, '0');
}

// Start the harness; resolves { port, pub(topic, text), stop() }.
export async function startHarness(args = []) {
  const bin = process.env.ES_EDGE_HARNESS;
  const child = spawn(bin, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ESPACE_LOG: process.env.ESPACE_LOG || 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d.toString(); });
  const lines = [];
  const waiters = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (waiters.length) waiters.shift()(line); else lines.push(line);
    }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
  const nextLine = (ms = 20000) => new Promise((resolve, reject) => {
    if (lines.length) return resolve(lines.shift());
    const timer = setTimeout(() => reject(new Error(`harness: no output (stderr: ${stderr})`)), ms);
    waiters.push((l) => { clearTimeout(timer); resolve(l); });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`harness exited ${code}: ${stderr}`)); });
  });
  const first = await nextLine();
  const m = /^port=(\d+)$/.exec(first);
  if (!m) throw new Error(`harness said ${first}`);
  if (args.includes('--tls')) await nextLine();
  return {
    port: Number(m[1]),
    stderr: () => stderr,
    async pub(topic, text) {
      child.stdin.write(`pub ${topic} ${text}\n`);
      return nextLine();
    },
    // Send one command line (edge_harness.c) and resolve its answer line.
    async command(line) {
      child.stdin.write(`${line}\n`);
      return nextLine();
    },
    // The operator's activation code for the pending account of ins.
    async activationCode(ins) {
      child.stdin.write(`activation ${ins}\n`);
      const line = await nextLine();
      const m = /^ok (\d+)$/.exec(line);
      if (!m) throw new Error(`activation: ${line}`);
      return m[1];
    },
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
    // stop(), then assert the harness exited 0 (its stderr otherwise).
    async stopClean() {
      const r = await this.stop();
      assert.equal(r.code, 0, `harness exit: ${stderr}`);
    },
    kill(sig) { child.kill(sig); return exited; },
  };
}

// A websocket client of the edge.
export class Client {
  constructor(ws, T) {
    this.ws = ws;
    this.T = T;
    this.queue = [];
    this.waiters = [];
    this.nextId = 1;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        for (const w of this.waiters.splice(0)) w.reject(new Error(`closed ${code}`));
      });
    });
    ws.on('message', (data, isBinary) => {
      const msg = isBinary ? T.ServerMessage.decode(data) : { text: data.toString() };
      const i = this.waiters.findIndex((w) => w.pred(msg));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(msg);
      } else {
        this.queue.push(msg);
      }
    });
  }

  static open(url, T, opts = {}) {
    const { WebSocket } = deps;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'espace.v1', opts);
      ws.once('open', () => resolve(new Client(ws, T)));
      ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`http ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  // The next message matching pred (already received or to come).
  next(pred = () => true, ms = 5000) {
    const i = this.queue.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]);
    if (this.closeInfo) return Promise.reject(new Error(`closed ${this.closeInfo.code}`));
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error('timeout waiting for a message'));
      }, ms);
      this.waiters.push(w);
    });
  }

  reply(id, ms) {
    return this.next((m) => m.reply && Number(m.id) === id, ms);
  }

  send(obj) {
    const { ClientMessage } = this.T;
    this.ws.send(ClientMessage.encode(ClientMessage.create(obj)).finish());
  }

  // Send a request and wait for its answer: { code, message, field, body }.
  async request(kind, payload, ms) {
    const id = this.nextId++;
    this.send({ id, [kind]: payload });
    const m = await this.reply(id, ms);
    const st = m.reply.status || {};
    return { code: st.code || 0, message: st.message || '', field: st.field || '', body: m.reply.body };
  }

  async call(service, method, reqType, req, replyType) {
    const body = reqType ? reqType.encode(reqType.create(req || {})).finish() : new Uint8Array(0);
    const r = await this.request('call', { service, method, body });
    if (r.code === 0 && replyType) r.reply = replyType.decode(r.body);
    return r;
  }

  close() { this.ws.close(); return this.closed; }
}

// Sign up a new patient on c, activate the account with the operator's code
// from harness h, and return { ins, password, patientId }. The birth date and
// sex are those the INS says (a man, the 17th of its month).
export async function signUp(c, h) {
  const T = c.T;
  const ins = randomIns();
  const password = 'correct horse battery';
  const birth_date = `19${ins.slice(1, 3)}-${ins.slice(3, 5)}-17`;
  const r = await c.call('identity', 'SignUpPatient', T.SignUpPatientRequest, {
    ins, birth_names: 'Martin', first_names: ['Camille'], birth_date, sex: 1, password,
  }, T.SignUpPatientReply);
  if (r.code !== 0) throw new Error(`sign-up failed: ${r.code} ${r.message} ${r.field}`);
  const code = await h.activationCode(ins);
  const a = await c.call('identity', 'ActivateAccount', T.ActivateAccountRequest, {
    ins, code, password,
  }, T.ActivateAccountReply);
  if (a.code !== 0) throw new Error(`activation failed: ${a.code} ${a.message} ${a.field}`);
  return { ins, password, patientId: a.reply.patient_id };
}

// Wait until the edge reaches identity through the broker (a resume with a
// bad token answers UNAUTHENTICATED, not UNAVAILABLE); a slow (sanitizer)
// build may print its port before its bus connection is up. Resuming is not
// counted in the buckets of unauthenticated calls.
export async function waitServing(url, T, ms = 10000) {
  const c = await Client.open(url, T);
  const t0 = Date.now();
  try {
    for (;;) {
      const r = await c.request('resume', { token: 'not-a-token' });
      if (r.code !== Code.UNAVAILABLE) return;
      if (Date.now() - t0 > ms) throw new Error('the edge does not reach identity');
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    await c.close();
  }
}

// startHarness(args), then waitServing: resolves { h, url } (url: ws://127.0.0.1:<port>/).
export async function servingHarness(T, args = []) {
  const h = await startHarness(args);
  const url = `ws://127.0.0.1:${h.port}/`;
  await waitServing(url, T);
  return { h, url };
}

// One flooding connection c: alternately a sign-up of a fresh INS and a
// log-in with a wrong password, one every paceMs with at most inFlight
// unanswered, until the returned stop() is called; counts the answers by
// code in counts (counts.lost: no answer).
export function flood(c, T, counts, { inFlight: most, paceMs }) {
  let inFlight = 0;
  let n = 0;
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped || inFlight >= most || c.closeInfo) return;
    inFlight++;
    const ins = randomIns();
    const p = (n++ % 2 === 0)
      ? c.call('identity', 'SignUpPatient', T.SignUpPatientRequest, {
        ins, birth_names: 'Flood', first_names: ['Eve'], birth_date: `19${ins.slice(1, 3)}-${ins.slice(3, 5)}-17`,
        sex: 1, password: 'flood flood flood',
      })
      : c.request('login', { ins, password: 'wrong wrong wrong' });
    p.then((r) => { counts[r.code] = (counts[r.code] || 0) + 1; }, () => { counts.lost = (counts.lost || 0) + 1; })
      .finally(() => { inFlight--; });
  }, paceMs);
  return () => { stopped = true; clearInterval(timer); };
}

// A well-formed RPPS (11 digits), random enough for a test run.
export function randomRpps() {
  return `1${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
}

// The text of GET /metrics of the edge on port.
export async function metrics(port) {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  return r.text();
}

// The value of one metric line (name with its labels, as written), or 0.
export function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

// Log in; returns the LoginReply.
export async function login(c, ins, password, extra = {}) {
  const r = await c.request('login', { ins, password, device_name: 'test', ...extra });
  if (r.code !== 0) throw new Error(`login failed: ${r.code} ${r.message}`);
  return c.T.LoginReply.decode(r.body);
}
