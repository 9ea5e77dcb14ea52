// The real system next to the browser, for the end-to-end browser tests
// (e2e, consent, dmp, messaging-start, messaging-live, readme .test.mjs):
// the real `espace up` (broker, identity, consent, agenda, messaging, dmp,
// edge serving clients/web/dist) on free ports in a temporary data folder,
// `espace admin` and a professional's `espace-pro` with its own home; and
// WebSystem, that system with a professional and Chromium, started and
// stopped the same way by every one of those tests.
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
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { repo, dist, chromiumPath, launchChromium, expectH1, signUpAndLogin } from './lib.mjs';

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
/** The professional of setUpProfessional as the patient's app names them. */
export const PRO_LABEL = `Dr Claire Martin (médecin, RPPS ${RPPS})`;
/** The passphrase of the professional's messaging device store (msg()). */
export const MSG_PASSPHRASE = 'phrase de passe du cabinet';
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

  /**
   * Start `espace up` on four free ports. A port found free may be taken by
   * another process before espace binds it (an outgoing connection's
   * ephemeral port, on a busy machine): espace then exits saying it is in
   * use, and this tries again with other ports (at most 3 times).
   */
  async start() {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce();
        return;
      } catch (e) {
        if (attempt >= 3 || !/in use/.test(e.message)) throw e;
      }
    }
  }

  async startOnce() {
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

  /** The activation code of the pending account of `ins` (`espace admin activation issue`). */
  async activationCode(ins) {
    const r = await this.admin('activation', 'issue', '--ins', ins);
    assert.equal(r.code, 0, `activation issue: ${r.out}${r.err}`);
    return r.out.trim();
  }

  /** signUpAndLogin of `patient` on `page` against this edge, with the code of activationCode. */
  signUp(page, patient) {
    return signUpAndLogin(page, this.edgeBase, patient, (ins) => this.activationCode(ins));
  }

  /** espace-pro msg <args> with the device store's passphrase (MSG_PASSPHRASE); asserts exit 0. */
  async msg(...args) {
    const r = await this.pro('msg', ...args, { env: { ESPACE_PRO_PASSPHRASE: MSG_PASSPHRASE } });
    assert.equal(r.code, 0, `msg ${args.join(' ')}: ${r.out}${r.err}`);
    return r;
  }

  /** `msg inbox --out <tmp>/received` until its output matches re (bounded): everything it printed. */
  async inboxUntil(re, what) {
    let all = '';
    for (let i = 0; i < 40; i++) {
      const r = await this.msg('inbox', '--out', path.join(this.tmp, 'received'));
      all += r.out;
      if (re.test(all)) return all;
      await new Promise((res) => setTimeout(res, 250));
    }
    throw new Error(`espace-pro msg inbox never printed ${what}:\n${all}`);
  }

  /**
   * The professional asks the patient `ins` for `scope` (espace-pro access
   * request, purpose soins, 30 days, reason Suivi) and the patient, on
   * `page`, accepts it in "Mes autorisations" and sees it accepted. Resolves
   * to the text of the pending request as it showed before the click.
   */
  async requestAccepted(page, ins, scope) {
    const rq = await this.pro('access', 'request', '--patient', ins, '--scope', scope,
      '--purpose', 'soins', '--days', '30', '--reason', 'Suivi');
    assert.equal(rq.code, 0, `access request: ${rq.out}${rq.err}`);
    await page.getByRole('link', { name: 'Mes autorisations' }).click();
    await expectH1(page, 'Mes autorisations');
    const item = page.locator('#grants-pending > li');
    await item.first().waitFor({ timeout: 15000 });
    const text = await item.innerText();
    await item.getByRole('button', { name: `Accepter la demande du ${PRO_LABEL}` }).click();
    await page.locator('#consent-live', { hasText: 'Vous avez accepté la demande' }).waitFor({ timeout: 10000 });
    return text;
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

/**
 * One browser test's world: an EspaceUp in a new temporary folder
 * espace-web-<name>-XXXXXX (tmp) and Chromium (Paris time, French) with a
 * fresh profile espace-web-<name>-chromium-XXXXXX (context, profileDir).
 * The fields are filled as start() goes, so that stop() after a failed
 * start() still removes what was made.
 */
export class WebSystem {
  constructor(name) {
    this.name = name;
    this.tmp = null;
    this.sys = null;
    this.context = null;
    this.profileDir = null;
  }

  /**
   * Asserts the app is built and Chromium is there, starts espace up, sets
   * up the professional (setUpProfessional) unless `professional` is false,
   * then launches Chromium with `chromium` added to its options.
   */
  async start({ professional = true, chromium = {} } = {}) {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), `no built app in ${dist}: run npm run build`);
    assert.ok(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath}`);
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `espace-web-${this.name}-`));
    this.sys = new EspaceUp(this.tmp);
    await this.sys.start();
    if (professional) await this.sys.setUpProfessional();
    ({ context: this.context, profileDir: this.profileDir } = await launchChromium(
      `espace-web-${this.name}-chromium-`, { timezoneId: 'Europe/Paris', ...chromium }));
  }

  /** Closes Chromium, stops espace up, removes both folders, then asserts espace up exited cleanly. */
  async stop() {
    const { sys } = this;
    try {
      if (this.context) await this.context.close();
    } finally {
      const r = sys ? await sys.stop() : null;
      if (this.profileDir) fs.rmSync(this.profileDir, { recursive: true, force: true });
      if (this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true });
      // a clean shutdown on SIGTERM is part of the contract
      if (r) assert.deepEqual(r, { code: 0, signal: null }, `espace up did not exit cleanly${sys.log()}`);
    }
  }
}
