// The edge's cap on the memory of replies and events waiting for
// connections that do not read, all connections together (issue 11,
// section 5): three connections of a patient stop reading while big live
// events arrive; past the cap (--queue-total) the slowest are closed with
// 1008 "too slow: edge reply memory full", the queued bytes fall back under
// the cap, and a connection that reads is served throughout.
// Run: node --test test/edge/
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  Client, Code, deps, loadTypes, login, metric, metrics, servingHarness, signUp, skip,
} from './harness.mjs';

const T = deps && !skip ? loadTypes() : null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const CAP = 1000000;     // bytes, for every queue together
const EVENT = 50000;     // bytes of text per event
const EVENTS = 80;       // 4 MB to each connection of the patient

describe('edge reply memory cap', { skip }, () => {
  let h;
  let url;
  before(async () => { ({ h, url } = await servingHarness(T, ['--queue-total', String(CAP)])); });
  after(() => h.stopClean());

  it('closes the slowest readers when every queue together is over the cap', async () => {
    const reader = await Client.open(url, T);
    const acct = await signUp(reader, h);
    const lr = await login(reader, acct.ins, acct.password);
    const slow = [];
    for (let i = 0; i < 3; i++) {
      const c = await Client.open(url, T);
      assert.equal((await c.request('resume', { token: lr.token })).code, Code.OK);
      c.ws._socket.pause(); // reads nothing more: the kernel buffers fill, then the edge's queue
      slow.push(c);
    }
    let received = 0;
    reader.ws.on('message', () => { received++; });
    const topic = `patient.${acct.patientId}.agenda`;
    const text = 'x'.repeat(EVENT);
    // paced by the reader (at most 4 events ahead of it), so that only the
    // connections that read nothing build up a backlog, even on a busy machine
    for (let i = 0; i < EVENTS; i++) {
      for (let j = 0; j < 100 && received < i - 4; j++) await sleep(50);
      assert.equal(await h.pub(topic, text), 'ok');
    }
    let m = '';
    for (let i = 0; i < 100 && metric(m, 'espace_edge_shed_total') < 1; i++) {
      await sleep(100);
      m = await metrics(h.port);
    }
    assert.ok(metric(m, 'espace_edge_shed_total') >= 1, m);
    assert.ok(metric(m, 'espace_edge_queued_bytes') <= CAP, m);
    // the reader got (nearly) everything and is still served
    for (let i = 0; i < 50 && received < EVENTS - 5; i++) await sleep(100);
    assert.ok(received >= EVENTS - 5, `reader got ${received} events, close ${JSON.stringify(reader.closeInfo)}`);
    assert.equal((await reader.call('identity', 'WhoAmI', T.WhoAmIRequest, {})).code, Code.OK);
    // the shed connections were closed with a clear reason
    for (const c of slow) c.ws._socket.resume();
    const closes = (await Promise.all(slow.map((c) => Promise.race([c.closed, sleep(3000).then(() => null)]))))
      .filter((x) => x);
    console.log(`closes: ${JSON.stringify(closes)}`);
    const shed = closes.filter((x) => x.code === 1008 && x.reason === 'too slow: edge reply memory full');
    assert.ok(shed.length >= 1, JSON.stringify(closes));
    assert.equal(shed.length, metric(await metrics(h.port), 'espace_edge_shed_total'));
    for (const c of slow) if (!c.closeInfo) await c.close();
    await reader.close();
  });
});
