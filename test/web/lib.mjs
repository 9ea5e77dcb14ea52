// Shared steps of the browser tests (browser.test.mjs, agenda.test.mjs,
// e2e.test.mjs): paths from the environment, the edge harness, Chromium
// (playwright-core) with a fresh profile, pages that record their errors,
// screenshots, and the patient's sign-up and login.
//
// Environment: ES_WEB_DIR, ES_EDGE_HARNESS, ES_CHROMIUM, ES_WEB_DIST,
// ES_ARTIFACTS (see browser.test.mjs).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const webDir = process.env.ES_WEB_DIR || path.join(repo, 'clients/web');
export const chromiumPath = process.env.ES_CHROMIUM || '/usr/bin/chromium';
export const dist = process.env.ES_WEB_DIST || path.join(webDir, 'dist');
export const artifacts = process.env.ES_ARTIFACTS || path.join(repo, 'test-artifacts/web');
/** require() resolving from clients/web (its node_modules). */
export const req = createRequire(path.join(webDir, 'package.json'));

export const PASSWORD = 'une phrase de passe assez longue';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--lang=fr-FR'];

export const harness = process.env.ES_EDGE_HARNESS || path.join(repo, 'build/test/edge/edge_harness');

/** Skip reason when the harness is missing (false when present); throws when
 *  ES_EDGE_HARNESS is set but wrong. */
export function harnessSkip() {
  const missing = !fs.existsSync(harness)
    ? `edge harness not found at ${harness} (build target edge_harness or set ES_EDGE_HARNESS)` : '';
  if (missing && process.env.ES_EDGE_HARNESS) throw new Error(missing);
  return missing || false;
}

/**
 * Start the edge harness serving `dist`, with `env` added to the environment.
 * Resolves to { proc, port, base, command(line) } once it printed `port=<n>`;
 * command() writes one line to its stdin and resolves to its next stdout line.
 */
export function startHarness(env = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(harness, ['--web-root', dist], {
      env: { ...process.env, ESPACE_PWHASH: 'min', ...env },
      stdio: ['pipe', 'pipe', 'pipe'], // stdin stays open: EOF stops the harness
    });
    let buf = '';
    let err = '';
    const lines = [];
    const waiters = [];
    const timer = setTimeout(() => reject(new Error(`harness not ready in 20 s: ${err}`)), 20000);
    const take = () => new Promise((res, rej) => {
      if (lines.length) res(lines.shift());
      else {
        const t = setTimeout(() => rej(new Error(`harness: no answer (stderr: ${err})`)), 20000);
        waiters.push((l) => { clearTimeout(t); res(l); });
      }
    });
    proc.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (waiters.length) waiters.shift()(line); else lines.push(line);
      }
    });
    proc.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`harness exited with ${code}: ${err}`)); });
    take().then((first) => {
      clearTimeout(timer);
      const m = /^port=(\d+)$/.exec(first);
      if (!m) { reject(new Error(`harness said ${first}`)); return; }
      const port = Number(m[1]);
      resolve({
        proc,
        port,
        base: `http://127.0.0.1:${port}/`,
        command(line) { proc.stdin.write(`${line}\n`); return take(); },
      });
    }, reject);
  });
}

/** Stop a harness from startHarness (none: nothing): EOF + SIGTERM, SIGKILL after 5 s. */
export function stopHarness(edge) {
  if (!edge) return Promise.resolve();
  const { proc } = edge;
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => { clearTimeout(t); resolve(); });
    proc.stdin.end();
    proc.kill('SIGTERM');
  });
}

/**
 * Chromium with a fresh profile in a new temporary folder named `prefix`XXXXXX.
 * `options` are added to the launch options (timezoneId, acceptDownloads...).
 * Returns { context, profileDir }; the caller closes the context and removes
 * the folder.
 */
export async function launchChromium(prefix, options = {}) {
  const { chromium } = req('playwright-core');
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_ARGS,
    locale: 'fr-FR',
    ...options,
  });
  return { context, profileDir };
}

/** A new page of `context` whose console errors and page errors go to `problems`. */
export async function newPage(context, problems, viewport) {
  const p = await context.newPage();
  await p.setViewportSize(viewport);
  p.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return p;
}

/** Every regular file under dir (for the no-plaintext-at-rest checks). */
export function filesUnder(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Full-page screenshot `name`.png in the artifacts folder. */
export async function shot(p, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await p.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

/**
 * On a phone (390x844): screenshot `name`, assert the page does not scroll
 * sideways, then back to the desktop size (1280x900).
 */
export async function shotPhone(p, name) {
  await p.setViewportSize({ width: 390, height: 844 });
  await shot(p, name);
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal scrolling on a phone: ${overflow} px`);
  await p.setViewportSize({ width: 1280, height: 900 });
}

export const expectH1 = (p, text) => p.locator('h1', { hasText: text }).waitFor({ timeout: 15000 });

/** From the login screen: log in with `ins` and `password` (does not wait for the result). */
export async function login(p, ins, password) {
  await expectH1(p, 'Se connecter');
  await p.getByLabel('Matricule INS').fill(ins);
  await p.getByLabel('Mot de passe', { exact: true }).fill(password);
  await p.getByRole('button', { name: 'Se connecter' }).click();
}

/**
 * The activation code of the pending account of `ins`, from an edge harness
 * of startHarness (its `activation` command, as the operator).
 */
export async function harnessCode(edge, ins) {
  const line = await edge.command(`activation ${ins}`);
  const m = /^ok (\d+)$/.exec(line);
  if (!m) throw new Error(`activation: ${line}`);
  return m[1];
}

/**
 * Open `base`, create the account { ins, lastName, firstName, birthDate }
 * with PASSWORD (the sex the INS says; birthDate must agree with the INS),
 * activate it with the code `issueCode(ins)` resolves to, log out, and log
 * in again: ends on the home page ("Bonjour").
 */
export async function signUpAndLogin(p, base, { ins, lastName, firstName, birthDate }, issueCode) {
  await p.goto(base);
  await expectH1(p, 'Se connecter');
  await p.getByRole('link', { name: 'Créer un compte' }).click();
  await expectH1(p, 'Créer mon compte');
  await p.getByLabel('Matricule INS').fill(ins);
  await p.getByLabel('Nom(s) de naissance', { exact: true }).fill(lastName);
  await p.getByLabel('Prénom(s) de naissance', { exact: true }).fill(firstName);
  await p.getByLabel('Date de naissance').fill(birthDate);
  await p.getByLabel('Sexe').selectOption(ins.replace(/\s/g, '')[0]);
  await p.getByLabel('Mot de passe', { exact: true }).fill(PASSWORD);
  await p.getByLabel('Confirmer le mot de passe').fill(PASSWORD);
  await p.getByRole('button', { name: 'Créer mon compte' }).click();
  await expectH1(p, 'Activer mon compte');
  await p.getByLabel('Code d’activation').fill(await issueCode(ins));
  await p.getByRole('button', { name: 'Activer mon compte' }).click();
  await expectH1(p, 'Bonjour');
  // log out and in again: what follows is the account's, not the tab's
  await p.locator('#nav-logout').click();
  await login(p, ins, PASSWORD);
  await expectH1(p, 'Bonjour');
}
