// Protocol tests of the websocket edge against a running edge_harness
// (broker + identity + edge on loopback). Run: node --test test/edge/
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';

import { Client, Code, deps, login, loadTypes, signUp, skip, startHarness } from './harness.mjs';

const T = deps && !skip ? loadTypes() : null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('edge (plain ws)', { skip }, () => {
  let h;
  let url;
  let base;
  before(async () => {
    h = await startHarness();
    url = `ws://127.0.0.1:${h.port}/`;
    base = `http://127.0.0.1:${h.port}`;
  });
  after(() => h.stopClean());

  it('answers GET /healthz', async () => {
    const r = await fetch(`${base}/healthz`);
    assert.equal(r.status, 200);
    assert.equal((await r.text()).trim(), 'ok');
  });

  it('serves / with the security headers', async () => {
    const r = await fetch(`${base}/`);
    assert.equal(r.status, 200);
    const csp = r.headers.get('content-security-policy');
    assert.ok(csp.includes("default-src 'self'"), csp);
    assert.ok(csp.includes("script-src 'self' 'wasm-unsafe-eval'"), csp);
    assert.ok(csp.includes("frame-ancestors 'none'"), csp);
    assert.ok(!csp.includes('unsafe-inline'), csp);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(r.headers.get('strict-transport-security'), null); // plain http: no HSTS
    assert.match(await r.text(), /espace/);
  });

  it('refuses a websocket without the espace.v1 subprotocol', async () => {
    const { WebSocket } = deps;
    const ws = new WebSocket(url);
    const outcome = await new Promise((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', () => resolve('error'));
      ws.once('unexpected-response', () => resolve('refused'));
    });
    assert.notEqual(outcome, 'open');
    ws.terminate();
  });

  it('answers UNAUTHENTICATED to a request before authentication', async () => {
    const c = await Client.open(url, T);
    const r = await c.call('identity', 'WhoAmI', T.WhoAmIRequest, {});
    assert.equal(r.code, Code.UNAUTHENTICATED);
    const r2 = await c.call('consent', 'ListGrants', null, null);
    assert.equal(r2.code, Code.UNAUTHENTICATED);
    await c.close();
  });

  it('answers garbage and malformed protobuf with INVALID_ARGUMENT and keeps serving', async () => {
    const c = await Client.open(url, T);
    const other = await Client.open(url, T);
    c.ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    let m = await c.next((x) => x.reply);
    assert.equal(Number(m.id), 0);
    assert.equal(m.reply.status.code, Code.INVALID_ARGUMENT);
    // a length-delimited field that runs past the end
    c.ws.send(Buffer.from([0x22, 0x40, 0x0a, 0x01]));
    m = await c.next((x) => x.reply);
    assert.equal(m.reply.status.code, Code.INVALID_ARGUMENT);
    // invalid UTF-8 in a string field (CallRequest.service)
    c.ws.send(Buffer.from([0x08, 0x07, 0x22, 0x03, 0x0a, 0x01, 0xc3]));
    m = await c.next((x) => x.reply);
    assert.equal(m.reply.status.code, Code.INVALID_ARGUMENT);
    // a text frame
    c.ws.send('hello');
    m = await c.next((x) => x.reply);
    assert.equal(m.reply.status.code, Code.INVALID_ARGUMENT);
    // the other connection is served meanwhile, and this one still is
    const r0 = await other.call('identity', 'WhoAmI', T.WhoAmIRequest, {});
    assert.equal(r0.code, Code.UNAUTHENTICATED);
    const r1 = await c.call('identity', 'WhoAmI', T.WhoAmIRequest, {});
    assert.equal(r1.code, Code.UNAUTHENTICATED);
    await c.close();
    await other.close();
  });

  it('closes with 1008 after too many bad messages', async () => {
    const c = await Client.open(url, T);
    for (let i = 0; i < 20; i++) c.ws.send(Buffer.from([0xff]));
    const closing = await c.next((x) => x.closing, 5000);
    assert.equal(closing.closing.code, Code.INVALID_ARGUMENT);
    const info = await c.closed;
    assert.equal(info.code, 1008);
  });

  it('decodes messages longer than its receive chunk (1 KiB), whole or fragmented', async () => {
    const c = await Client.open(url, T);
    const { ClientMessage } = T;
    const big = (id) => ClientMessage.encode(ClientMessage.create({
      id, call: { service: 'identity', method: 'WhoAmI', body: Buffer.alloc(5000, 7) },
    })).finish();
    c.ws.send(big(41));
    let m = await c.reply(41);
    assert.equal(m.reply.status.code, Code.UNAUTHENTICATED); // decoded: the allow-list answered
    const b = big(42);
    for (let i = 0; i < 5; i++) c.ws.send(b.subarray(i * 1100, (i + 1) * 1100), { fin: i === 4 });
    m = await c.reply(42);
    assert.equal(m.reply.status.code, Code.UNAUTHENTICATED);
    await c.close();
  });

  it('closes with 1009 on an oversize message, whole or fragmented', async () => {
    const c = await Client.open(url, T);
    c.ws.send(Buffer.alloc(300 * 1024, 1));
    assert.equal((await c.closed).code, 1009);
    const d = await Client.open(url, T);
    for (let i = 0; i < 4; i++) d.ws.send(Buffer.alloc(100 * 1024, 1), { fin: i === 3 });
    assert.equal((await d.closed).code, 1009);
    // the edge still serves
    const e = await Client.open(url, T);
    assert.equal((await e.call('identity', 'WhoAmI', T.WhoAmIRequest, {})).code, Code.UNAUTHENTICATED);
    await e.close();
  });

  let account;
  let token;
  it('signs up, logs in and calls identity.WhoAmI', async () => {
    const c = await Client.open(url, T);
    account = await signUp(c, h);
    const lr = await login(c, account.ins, account.password);
    assert.ok(lr.token.length > 20);
    assert.equal(lr.caller.principal, account.patientId);
    token = lr.token;
    const r = await c.call('identity', 'WhoAmI', T.WhoAmIRequest, {}, T.WhoAmIReply);
    assert.equal(r.code, Code.OK);
    assert.equal(r.reply.caller.principal, account.patientId);
    assert.equal(r.reply.caller.kind, 1);
    // a second login on a bound connection is refused
    const again = await c.request('login', { ins: account.ins, password: account.password });
    assert.equal(again.code, Code.FAILED_PRECONDITION);
    await c.close();
  });

  it('refuses a wrong password and a professional login', async () => {
    const c = await Client.open(url, T);
    const bad = await c.request('login', { ins: account.ins, password: 'wrong password!!' });
    assert.equal(bad.code, Code.UNAUTHENTICATED);
    const pro = await c.request('login', { rpps: '10000000007', password: 'whatever password' });
    assert.equal(pro.code, Code.PERMISSION_DENIED);
    await c.close();
  });

  it('resumes a session with its token on a new connection', async () => {
    const c = await Client.open(url, T);
    const r = await c.request('resume', { token });
    assert.equal(r.code, Code.OK);
    assert.equal(T.AuthenticateReply.decode(r.body).caller.principal, account.patientId);
    const w = await c.call('identity', 'WhoAmI', T.WhoAmIRequest, {}, T.WhoAmIReply);
    assert.equal(w.code, Code.OK);
    assert.equal(w.reply.caller.principal, account.patientId);
    await c.close();
  });

  it('refuses a tampered or garbage token', async () => {
    const c = await Client.open(url, T);
    const last = token[token.length - 2] === 'A' ? 'B' : 'A';
    const tampered = token.slice(0, -2) + last + token.slice(-1);
    assert.equal((await c.request('resume', { token: tampered })).code, Code.UNAUTHENTICATED);
    assert.equal((await c.request('resume', { token: 'not-a-token' })).code, Code.UNAUTHENTICATED);
    assert.equal((await c.request('resume', { token: '' })).code, Code.INVALID_ARGUMENT);
    assert.equal((await c.call('identity', 'WhoAmI', T.WhoAmIRequest, {})).code, Code.UNAUTHENTICATED);
    await c.close();
  });

  it('ignores a forged caller and unknown fields', async () => {
    const victim = await Client.open(url, T);
    const other = await signUp(victim, h);
    await victim.close();
    const c = await Client.open(url, T);
    await login(c, account.ins, account.password);
    // the WhoAmI body carries a Caller of another patient (unknown to WhoAmIRequest)
    const forged = T.Caller.encode({ kind: 1, principal: other.patientId }).finish();
    const body = Buffer.concat([Buffer.from([0x0a, forged.length]), forged,
      Buffer.from([0x2a, forged.length]), forged]);
    let r = await c.request('call', { service: 'identity', method: 'WhoAmI', body });
    assert.equal(r.code, Code.OK);
    assert.equal(T.WhoAmIReply.decode(r.body).caller.principal, account.patientId);
    // a ClientMessage with an unknown field 15 holding a Caller is served, the field ignored
    const id = 4242;
    const cm = T.ClientMessage.encode({ id, call: { service: 'identity', method: 'WhoAmI' } }).finish();
    c.ws.send(Buffer.concat([cm, Buffer.from([0x7a, forged.length]), forged]));
    const m = await c.reply(id);
    assert.equal(m.reply.status.code || 0, Code.OK);
    assert.equal(T.WhoAmIReply.decode(m.reply.body).caller.principal, account.patientId);
    await c.close();
  });

  it('closes the connections of a revoked session and refuses its token', async () => {
    const a = await Client.open(url, T);
    const la = await login(a, account.ins, account.password);
    const b = await Client.open(url, T);
    await login(b, account.ins, account.password);
    const r = await b.call('identity', 'RevokeSession', T.RevokeSessionRequest, { session_id: la.session_id });
    assert.equal(r.code, Code.OK);
    const closing = await a.next((x) => x.closing, 5000);
    assert.equal(closing.closing.code, Code.UNAUTHENTICATED);
    assert.equal((await a.closed).code, 1008);
    const c = await Client.open(url, T);
    assert.equal((await c.request('resume', { token: la.token })).code, Code.UNAUTHENTICATED);
    // b is still fine, then logs out: its own connection is closed too
    assert.equal((await b.call('identity', 'WhoAmI', T.WhoAmIRequest, {})).code, Code.OK);
    assert.equal((await b.call('identity', 'Logout', T.LogoutRequest, {})).code, Code.OK);
    const bc = await b.next((x) => x.closing, 5000);
    assert.equal(bc.closing.code, Code.UNAUTHENTICATED);
    await b.closed;
    await c.close();
  });

  it('delivers live events to the patient and to no one else', async () => {
    const a = await Client.open(url, T);
    await login(a, account.ins, account.password);
    const stranger = await Client.open(url, T);
    const s = await signUp(stranger, h);
    await login(stranger, s.ins, s.password);
    let got = null;
    const waiting = a.next((x) => x.event, 8000).then((m) => { got = m; });
    for (let i = 0; i < 40 && !got; i++) {
      assert.equal(await h.pub(`patient.${account.patientId}.agenda`, 'hello'), 'ok');
      await sleep(100);
    }
    await waiting;
    assert.equal(got.event.topic, `patient.${account.patientId}.agenda`);
    assert.equal(T.Status.decode(got.event.body).message, 'hello');
    assert.ok(Number(got.event.at_ms) > 0);
    await sleep(200);
    assert.equal(stranger.queue.filter((x) => x.event).length, 0);
    await a.close();
    await stranger.close();
  });

  it('delivers a device-addressed event only to that device\'s connections', async () => {
    // Two logins of one patient: two devices (a login without device_id makes a new one).
    const a = await Client.open(url, T);
    const la = await login(a, account.ins, account.password);
    const b = await Client.open(url, T);
    const lb = await login(b, account.ins, account.password);
    const hex = (u8) => Buffer.from(u8).toString('hex');
    assert.notEqual(hex(la.device_id), hex(lb.device_id));
    const topic = `patient.${account.patientId}.device.${hex(la.device_id)}.messaging`;
    let got = null;
    const waiting = a.next((x) => x.event && x.event.topic === topic, 8000).then((m) => { got = m; });
    for (let i = 0; i < 40 && !got; i++) {
      assert.equal(await h.pub(topic, 'for device a'), 'ok');
      await sleep(100);
    }
    await waiting;
    assert.equal(T.Status.decode(got.event.body).message, 'for device a');
    // A malformed device part reaches no one; the patient-wide topic reaches both.
    assert.equal(await h.pub(`patient.${account.patientId}.device.zz.messaging`, 'bad'), 'ok');
    const wide = `patient.${account.patientId}.agenda`;
    let both = 0;
    const wa = a.next((x) => x.event && x.event.topic === wide, 8000).then(() => { both++; });
    const wb = b.next((x) => x.event && x.event.topic === wide, 8000).then(() => { both++; });
    for (let i = 0; i < 40 && both < 2; i++) {
      assert.equal(await h.pub(wide, 'everyone'), 'ok');
      await sleep(100);
    }
    await Promise.all([wa, wb]);
    await sleep(200);
    assert.equal(b.queue.filter((x) => x.event && x.event.topic.includes('.device.')).length, 0);
    assert.equal(a.queue.filter((x) => x.event && x.event.topic.includes('.device.zz')).length, 0);
    await a.close();
    await b.close();
  });

  it('rate limits a connection with RESOURCE_EXHAUSTED', async () => {
    const c = await Client.open(url, T);
    const ids = [];
    for (let i = 0; i < 160; i++) {
      const id = 10000 + i;
      ids.push(id);
      c.send({ id, call: { service: 'identity', method: 'WhoAmI' } });
    }
    const codes = [];
    for (const id of ids) codes.push((await c.reply(id)).reply.status.code);
    assert.ok(codes.filter((x) => x === Code.UNAUTHENTICATED).length >= 100, String(codes));
    assert.ok(codes.filter((x) => x === Code.RESOURCE_EXHAUSTED).length >= 1, String(codes));
    await c.close();
  });

  it('exposes the counters on /metrics', async () => {
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.match(text, /^espace_edge_connections \d+$/m);
    assert.match(text, /^espace_edge_requests_total\{service="identity",status="OK"\} \d+$/m);
    assert.match(text, /^espace_edge_requests_total\{service="edge",status="UNAUTHENTICATED"\} \d+$/m);
    assert.match(text, /^espace_edge_requests_total\{service="edge",status="RESOURCE_EXHAUSTED"\} \d+$/m);
    assert.match(text, /^espace_edge_request_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    assert.match(text, /^espace_edge_request_seconds_count [1-9]\d*$/m);
    assert.match(text, /^espace_edge_queue_drops_total \d+$/m);
    assert.match(text, /^espace_edge_events_total [1-9]\d*$/m);
    assert.match(text, /^espace_edge_oversize_total [1-9]\d*$/m);
  });

  it('tells open connections it is stopping (Closing UNAVAILABLE, 1001)', async () => {
    const c = await Client.open(url, T);
    const r = await h.stop();
    assert.equal(r.code, 0, h.stderr());
    const m = await c.next((x) => x.closing, 5000);
    assert.equal(m.closing.code, Code.UNAVAILABLE);
    assert.equal((await c.closed).code, 1001);
  });
});

describe('edge limits', { skip }, () => {
  let h;
  before(async () => { h = await startHarness(['--max-conns', '2', '--inflight', '1']); });
  after(() => h.stopClean());

  it('refuses connections past max_conns with HTTP 503', async () => {
    const url = `ws://127.0.0.1:${h.port}/`;
    const a = await Client.open(url, T);
    const b = await Client.open(url, T);
    await assert.rejects(Client.open(url, T), (e) => e.status === 503);
    await a.close();
    const c = await Client.open(url, T);
    await b.close();
    await c.close();
  });

  it('answers RESOURCE_EXHAUSTED past max in-flight requests', async () => {
    const c = await Client.open(`ws://127.0.0.1:${h.port}/`, T);
    const body = T.SignUpPatientRequest.encode({ ins: 'x' }).finish();
    // written in one go: the edge reads them together, while the first waits for identity
    c.ws._socket.cork();
    for (let id = 1; id <= 20; id++) c.send({ id, call: { service: 'identity', method: 'SignUpPatient', body } });
    c.ws._socket.uncork();
    const codes = [];
    for (let id = 1; id <= 20; id++) codes.push((await c.reply(id)).reply.status.code);
    assert.equal(codes[0], Code.INVALID_ARGUMENT, String(codes)); // identity rejects the INS
    assert.ok(codes.includes(Code.RESOURCE_EXHAUSTED), String(codes));
    await c.close();
  });
});

describe('edge over TLS', { skip }, () => {
  let h;
  before(async () => { h = await startHarness(['--tls']); });
  after(() => h.stopClean());

  it('serves https with HSTS and wss', async () => {
    const res = await new Promise((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: h.port, path: '/healthz', rejectUnauthorized: false }, (r) => {
        let body = '';
        r.on('data', (d) => { body += d; });
        r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body }));
      }).on('error', reject);
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.trim(), 'ok');
    assert.match(res.headers['strict-transport-security'], /max-age=\d+/);
    const c = await Client.open(`wss://127.0.0.1:${h.port}/`, T, { rejectUnauthorized: false });
    const acct = await signUp(c, h);
    await login(c, acct.ins, acct.password);
    const w = await c.call('identity', 'WhoAmI', T.WhoAmIRequest, {}, T.WhoAmIReply);
    assert.equal(w.code, Code.OK);
    assert.equal(w.reply.caller.principal, acct.patientId);
    await c.close();
  });
});

describe('edge session revalidation', { skip }, () => {
  let h;
  // no events endpoint: the revocation event never reaches the edge, so only
  // the periodic Authenticate (every second here) can close the connections
  before(async () => { h = await startHarness(['--no-events', '--revalidate-s', '1']); });
  after(() => h.stopClean());

  it('closes the connections of a session revoked without an event', async () => {
    const url = `ws://127.0.0.1:${h.port}/`;
    const a = await Client.open(url, T);
    const account = await signUp(a, h);
    const la = await login(a, account.ins, account.password);
    // a second connection of the same session, bound by resume
    const a2 = await Client.open(url, T);
    assert.equal((await a2.request('resume', { token: la.token })).code, Code.OK);
    const b = await Client.open(url, T);
    await login(b, account.ins, account.password);
    const r = await b.call('identity', 'RevokeSession', T.RevokeSessionRequest, { session_id: la.session_id });
    assert.equal(r.code, Code.OK);
    const t0 = Date.now();
    for (const c of [a, a2]) {
      const closing = await c.next((x) => x.closing, 4000);
      assert.equal(closing.closing.code, Code.UNAUTHENTICATED);
      assert.equal((await c.closed).code, 1008);
    }
    assert.ok(Date.now() - t0 < 4000);
    // b's session is still good: revalidated several times, it stays bound
    await new Promise((res) => setTimeout(res, 2500));
    assert.equal(b.closeInfo, undefined);
    assert.equal((await b.call('identity', 'WhoAmI', T.WhoAmIRequest, {})).code, Code.OK);
    await b.close();
  });
});
