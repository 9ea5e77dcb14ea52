// The edge's allow-list (services/edge/allow.c) and identity's refusal of a
// professional's log-in through a gateway (issue 11, section 2), against a
// running edge_harness. Run: node --test test/edge/
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  Client, Code, deps, loadTypes, login, metric, metrics, randomRpps, servingHarness, signUp, skip,
} from './harness.mjs';

const T = deps && !skip ? loadTypes() : null;

describe('edge allow-list', { skip }, () => {
  let h;
  let url;
  before(async () => { ({ h, url } = await servingHarness(T)); });
  after(() => h.stopClean());

  it('refuses a professional\'s log-in through the edge, and locks nobody out', async () => {
    const rpps = randomRpps();
    const password = 'professional-password-1';
    assert.equal(await h.command(`create-pro ${rpps} ${password}`), 'ok');
    // a patient's bound connection tries identity.Login with the RPPS, right and wrong passwords
    const c = await Client.open(url, T);
    const acct = await signUp(c, h);
    await login(c, acct.ins, acct.password);
    for (let i = 0; i < 25; i++) {
      const r = await c.call('identity', 'Login', T.LoginRequest,
        { rpps, password: i === 0 ? password : `wrong-password-${i}` });
      assert.equal(r.code, Code.PERMISSION_DENIED, r.message);
      assert.equal((r.body || []).length, 0);
    }
    // ... and so does a connection not bound yet, as a call and as the login message
    const d = await Client.open(url, T);
    assert.equal((await d.call('identity', 'Login', T.LoginRequest, { rpps, password })).code,
      Code.PERMISSION_DENIED);
    assert.equal((await d.request('login', { rpps, password })).code, Code.PERMISSION_DENIED);
    // identity itself refuses a professional's log-in stamped with a client
    // address (as the edge stamps every call), whatever the password, and
    // counts no failure: 25 wrong ones would empty the account's bucket (20)
    for (let i = 0; i < 25; i++)
      assert.equal(await h.command(`pro-login ${rpps} wrong-password-${i} 127.0.0.1`), 'error CODE_PERMISSION_DENIED');
    assert.equal(await h.command(`pro-login ${rpps} ${password} 127.0.0.1`), 'error CODE_PERMISSION_DENIED');
    // the professional still logs in over the API (their software)
    assert.equal(await h.command(`pro-login ${rpps} ${password}`), `ok ${rpps}`);
    await c.close();
    await d.close();
  });

  it('refuses methods outside the list without reaching a service', async () => {
    const before = await metrics(h.port);
    const anon = await Client.open(url, T);
    // before log-in: a patient's method asks to log in first; others are denied
    assert.equal((await anon.call('identity', 'WhoAmI', T.WhoAmIRequest, {})).code, Code.UNAUTHENTICATED);
    assert.equal((await anon.call('consent', 'Decide', null, null)).code, Code.PERMISSION_DENIED);
    assert.equal((await anon.call('identity', 'CreateProfessional', T.CreateProfessionalRequest, {
      rpps: randomRpps(), last_name: 'X', first_name: 'Y', profession: 'Médecin', password: 'password-123456',
    })).code, Code.PERMISSION_DENIED);
    // bound to a patient
    const c = await Client.open(url, T);
    const acct = await signUp(c, h);
    await login(c, acct.ins, acct.password);
    const denied = [
      ['identity', 'CreateProfessional'], ['identity', 'IssueActivationCode'], ['identity', 'ResolvePatient'],
      ['identity', 'Authenticate'], ['identity', 'SignUpPatient'], ['consent', 'Decide'], ['consent', 'Grant'],
      ['consent', 'DeclareEmergency'], ['consent', 'AddApp'], ['agenda', 'Delete'], ['agenda', 'Upsert'],
      ['messaging', 'CloseConversation'], ['dmp', 'Get'], ['nosuch', 'Thing'], ['identity', 'NoSuchMethod'],
    ];
    for (const [service, method] of denied) {
      const r = await c.request('call', { service, method, body: new Uint8Array(0) });
      assert.equal(r.code, Code.PERMISSION_DENIED, `${service}.${method}: ${r.code} ${r.message}`);
    }
    const w = await c.call('identity', 'WhoAmI', T.WhoAmIRequest, {});
    assert.equal(w.code, Code.OK);
    const after = await metrics(h.port);
    assert.equal(metric(after, 'espace_edge_denied_total') - metric(before, 'espace_edge_denied_total'),
      denied.length + 2);
    // nothing reached consent, agenda, messaging or a made-up service
    assert.doesNotMatch(after, /espace_edge_requests_total\{service="(consent|agenda|messaging|dmp|nosuch)"/);
    await anon.close();
    await c.close();
  });
});
