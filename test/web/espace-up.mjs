// The real system next to the browser, for the end-to-end browser tests
// (e2e.test.mjs, messaging-live.test.mjs): the real `espace up` (broker,
// identity, consent, agenda, messaging, edge serving clients/web/dist) on
// free ports in a temporary data folder, `espace admin` and a professional's
// `espace-pro` with its own home.
//
// Environment:
//   ES_BIN   build folder (espace/espace, clients/pro/espace-pro). Default:
//            three levels above ES_EDGE_HARNESS (<build>/test/edge/edge_harness)
//            when that is set, else <repo>/build. When neither ES_BIN nor
//            ES_EDGE_HARNESS is set and the binaries are missing, `skip` says
//            why; when either is set and they are missing, importing throws.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { repo, dist } from './lib.mjs';

const bin = process.env.ES_BIN
  || (process.env.ES_EDGE_HARNESS ? path.resolve(process.env.ES_EDGE_HARNESS, '../../..') : path.join(repo, 'build'));
export const ESPACE = path.join(bin, 'espace/espace');
export const ESPACE_PRO = path.join(bin, 'clients/pro/espace-pro');

const missing = [ESPACE, ESPACE_PRO].filter((f) => !fs.existsSync(f));
const missingText = missing.length ? `not built: ${missing.join(', ')} (ES_BIN=${bin})` : '';
if (missingText && (process.env.ES_BIN || process.env.ES_EDGE_HARNESS)) throw new Error(missingText);
/** false, or why the tests that need the binaries are skipped. */
export const skip = missingText || false;

export const PRO_PASSWORD = 'correct horse battery staple';
export const RPPS = '10001234567';
const CMD_TIMEOUT_MS = 15000;

/** `count` distinct free TCP ports on 127.0.0.1 (held open together, then released). */
async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = net.createServer();
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', resolve);
      });
      servers.push(s);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** Run a command to its end (bounded): { code, out, err }. */
export function run(cmd, args, { env = {}, input = null, timeout = CMD_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${path.basename(cmd)} ${args.join(' ')}: no answer within ${timeout} ms`));
    }, timeout);
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('error', (e) => { clearTimeout(t); reject(e); });
    proc.on('close', (code) => { clearTimeout(t); resolve({ code, out, err }); });
    if (input !== null) proc.stdin.end(input);
    else proc.stdin.end();
  });
}

/**
 * One `espace up` in folder `tmp` (data in <tmp>/data, the professional's
 * home in <tmp>/pro): start(), stop(), admin(...args), pro(...args, opts),
 * setUpProfessional(), log(); edgeBase once started.
 */
export class EspaceUp {
  constructor(tmp) {
    this.tmp = tmp;
    this.dataDir = path.join(tmp, 'data');
    this.proHome = path.join(tmp, 'pro');
    this.up = null;
  }

  admin(...args) {
    return run(ESPACE, ['--config', this.conf, 'admin', ...args]);
  }

  /** espace-pro with this home; a last argument { env, timeout } is run()'s options. */
  pro(...args) {
    const opts = typeof args[args.length - 1] === 'object' ? args.pop() : {};
    return run(ESPACE_PRO, ['--home', this.proHome, ...args], opts);
  }

  log() {
    const up = this.up;
    return up ? `\n---- espace up stdout ----\n${up.out.slice(-2000)}\n---- stderr ----\n${up.err.slice(-4000)}` : '';
  }

  async start() {
    const [req, pub, sub, edge] = await freePorts(4);
    this.reqPort = req;
    this.conf = path.join(this.tmp, 'espace.conf');
    fs.writeFileSync(this.conf, [
      '# web e2e test',
      `data_dir = ${this.dataDir}`,
      `req_port = ${req}`,
      `pub_port = ${pub}`,
      `sub_port = ${sub}`,
      `edge_port = ${edge}`,
      `web_root = ${dist}`,
      'heartbeat_ms = 200',
      'no_sync = true',
      '',
    ].join('\n'));
    const proc = spawn(ESPACE, ['--config', this.conf, 'up'], {
      env: { ...process.env, ESPACE_PWHASH: 'min', ESPACE_LOG: process.env.ESPACE_LOG || 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const up = { proc, out: '', err: '' };
    this.up = up;
    up.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    proc.stdout.on('data', (d) => { up.out += d; });
    proc.stderr.on('data', (d) => { up.err = (up.err + d).slice(-20000); });
    // Ready when it logs `event=up` (ESPACE_LOG info) or prints its summary
    // (always, on stdout, after every part reported ready).
    const deadline = Date.now() + 20000;
    while (!/espace is up/.test(up.out) && !/event=up/.test(up.err)) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`espace up exited early${this.log()}`);
      if (Date.now() > deadline) throw new Error(`espace up not ready within 20 s${this.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    this.edgeBase = `http://127.0.0.1:${edge}/`;
  }

  /** SIGTERM, then the exit status (SIGKILL after 10 s). */
  async stop() {
    const up = this.up;
    if (!up || up.proc.exitCode !== null || up.proc.signalCode !== null) return up ? up.exited : null;
    up.proc.kill('SIGTERM');
    const t = setTimeout(() => up.proc.kill('SIGKILL'), 10000);
    const r = await up.exited;
    clearTimeout(t);
    return r;
  }

  /** A professional (RPPS) with a software key and a session: keygen, keys add, create-pro, login. */
  async setUpProfessional() {
    const key = await this.admin('keys', 'show');
    assert.equal(key.code, 0, `keys show: ${key.err}`);
    const brokerKey = key.out.trim();
    assert.equal(brokerKey.length, 40, `broker key '${brokerKey}'`);
    const kg = await this.pro('keygen');
    assert.equal(kg.code, 0, `keygen: ${kg.err}`);
    const add = await this.admin('keys', 'add', '--role', 'pro', '--name', 'cabinet-e2e', '--public', kg.out.trim());
    assert.equal(add.code, 0, `keys add: ${add.out}${add.err}`);
    const cp = await run(ESPACE, ['--config', this.conf, 'admin', 'create-pro', '--rpps', RPPS,
      '--last-name', 'Martin', '--first-name', 'Claire', '--profession', 'Médecin'],
    { env: { ESPACE_PASSWORD: PRO_PASSWORD } });
    assert.equal(cp.code, 0, `create-pro: ${cp.out}${cp.err}`);
    const lg = await this.pro('--broker', `tcp://127.0.0.1:${this.reqPort}`, '--broker-key', brokerKey,
      'login', '--rpps', RPPS, { env: { ESPACE_PASSWORD: PRO_PASSWORD } });
    assert.equal(lg.code, 0, `login: ${lg.out}${lg.err}`);
    assert.match(lg.out, new RegExp(`logged in as ${RPPS}`));
  }
}
