// Order of the frames of one connection (services/edge/send.c): a frame is
// written at once when nothing waits before it, else it waits in the
// connection's queue behind the rest of a frame lws kept. Live events go
// through every case in one run: written at once (a reader that keeps up),
// piling up while the client reads nothing (the kernel buffers fill, lws
// keeps part of a frame, the queue grows), drained when it reads again,
// and written at once again. Every event must arrive exactly once, in the
// order published, with no Resync (nothing was dropped).
// Run: node --test test/edge/
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Client, deps, loadTypes, login, metric, metrics, signUp, skip, startHarness, waitServing } from './harness.mjs';

const T = deps && !skip ? loadTypes() : null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const SMALL = 100;        // events written while the client reads
const BIG = 200;          // events published while it reads nothing ...
const BIG_TEXT = 40000;   // ... of this many bytes: 8 MB, past the kernel buffers

describe('edge frame order', { skip }, () => {
  let h;
  let url;
  before(async () => {
    // a queue large enough for the backlog: nothing may be dropped here
    h = await startHarness(['--queue', '1024', '--queue-bytes', String(16 * 1024 * 1024)]);
    url = `ws://127.0.0.1:${h.port}/`;
    await waitServing(url, T);
  });
  after(async () => {
    const r = await h.stop();
    assert.equal(r.code, 0, `harness exit: ${h.stderr()}`);
  });

  it('delivers every event once and in order, written at once, queued, then at once again', async () => {
    const c = await Client.open(url, T);
    const acct = await signUp(c, h);
    await login(c, acct.ins, acct.password);
    const topic = `patient.${acct.patientId}.agenda`;
    // the subscription is made asynchronously after the login: wait for it
    let ready = false;
    const first = c.next((x) => x.event, 8000).then(() => { ready = true; });
    for (let i = 0; i < 40 && !ready; i++) {
      assert.equal(await h.pub(topic, 'warm'), 'ok');
      await sleep(100);
    }
    await first;
    await sleep(300);
    c.queue.length = 0; // later warm-up copies

    const got = [];
    let resyncs = 0;
    c.ws.on('message', (data) => {
      const m = T.ServerMessage.decode(data);
      if (m.resync) resyncs++;
      if (m.event) {
        const text = T.Status.decode(m.event.body).message;
        if (text !== 'warm') got.push(text.split(' ')[0]); // the name, without the padding
      }
    });
    const want = [];
    const publish = async (name, pad) => {
      want.push(name);
      assert.equal(await h.pub(topic, pad ? `${name} ${'x'.repeat(pad)}` : name), 'ok');
    };
    const AT_ONCE = 'espace_edge_frames_total{path="at_once"}';
    const m0 = await metrics(h.port);
    for (let i = 0; i < SMALL; i++) await publish(`a${i}`, 0);
    for (let i = 0; i < 50 && got.length < SMALL; i++) await sleep(100);
    // a reader that keeps up gets its events written at once, never from
    // lws's WRITEABLE callback (4 epoll_ctl per frame on libuv; send.c)
    const m1 = await metrics(h.port);
    assert.ok(metric(m1, AT_ONCE) - metric(m0, AT_ONCE) >= SMALL,
      `events written at once: ${metric(m1, AT_ONCE) - metric(m0, AT_ONCE)} of ${SMALL}`);
    c.ws._socket.pause();
    for (let i = 0; i < BIG; i++) await publish(`b${i}`, BIG_TEXT);
    for (let i = 0; i < SMALL; i++) await publish(`c${i}`, 0);
    const m = await metrics(h.port);
    assert.ok(metric(m, 'espace_edge_queued_bytes') > 0, `a backlog in the edge's queue: ${m}`);
    c.ws._socket.resume();
    for (let i = 0; i < 300 && got.length < want.length; i++) await sleep(100);
    for (let i = 0; i < SMALL; i++) await publish(`d${i}`, 0);
    for (let i = 0; i < 100 && got.length < want.length; i++) await sleep(100);
    assert.equal(resyncs, 0, 'nothing dropped');
    assert.equal(got.length, want.length, `got ${got.length} of ${want.length} events`);
    assert.deepEqual(got, want);
    await c.close();
  });
});
