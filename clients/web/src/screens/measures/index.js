// Screen "Mesures": the patient's health measures (dmp service,
// docs/dmp.md): one chart per kind over the chosen period (glucose one per
// concept), each with its latest value and a table of its values; the form
// that adds a measure. A measure recorded elsewhere (a device, a
// professional, another tab) and the BMI the service derives appear
// without reload: DmpEvents on "patient.<id>.dmp" (src/dmp/live.js).
//
//   chart.js  one kind's card: uPlot chart, latest value, table
//   form.js   "Ajouter une mesure"
import { h, hex, labelled, nextId, notice } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { describeError } from '../../errors.js';
import { DAY_MS } from '../../agenda-time.js';
import { watchDmp, EventKind } from '../../dmp/live.js';
import { chartIdOf, chartSpecs, glucoseName, glucoseValue, kindKey, kindLabel, kindValue, valueText } from '../../dmp/series.js';
import { createChart } from './chart.js';
import { createForm } from './form.js';

const T = fr.measures;
const DEFAULT_DAYS = 30;
const PAGE = 2000;
const MAX_PAGES = 5;

export function render(ctx) {
  const conn = ctx.conn;
  const patientId = ctx.session.me.caller.principal;
  let alive = true;
  let days = DEFAULT_DAYS;
  let charts = new Map(); // chart id -> createChart()
  let latest = new Map(); // chart id -> Measure
  const own = new Set(); // ids of measures saved from this page (no live notice for them)

  const live = h('div', { className: 'live', role: 'status', id: 'measure-live' });
  const alert = h('div', { className: 'live', role: 'alert', id: 'measure-alert' });
  const fail = (err) => { if (alive) alert.replaceChildren(notice('error', describeError(err))); };
  const chartsEl = h('div', { id: 'measure-charts', className: 'measure-charts' });

  const periodSel = labelled(T.period, h('select', { id: nextId('m-period'), name: 'period' },
    T.periods.map(([n, label]) => h('option', { value: String(n), selected: n === DEFAULT_DAYS }, label))));
  periodSel.input.addEventListener('change', () => {
    days = Number(periodSel.input.value);
    for (const c of charts.values()) load(c);
  });

  const period = () => {
    const end = Date.now() + 5 * 60 * 1000;
    return { start_ms: end - days * DAY_MS, end_ms: end };
  };

  /** Read chart `c`'s series over the period and draw it. */
  async function load(c) {
    const p = period();
    const req = { kind: kindValue(c.spec.key), period: p, limit: PAGE };
    if (c.spec.glucose) req.glucose_type = glucoseValue(c.spec.glucose);
    try {
      let reply = await conn.call('dmp', 'ListMeasures', req);
      for (let page = 1; page < MAX_PAGES && reply.next_cursor.length; page++) {
        const more = await conn.call('dmp', 'ListMeasures', { ...req, cursor: reply.next_cursor });
        reply = { ...more, measures: [...reply.measures, ...more.measures] };
      }
      if (alive && charts.get(c.spec.id) === c) c.draw(reply, p);
    } catch (err) {
      fail(err);
    }
  }

  /** (Re)build the cards: one per kind, glucose one per concept held. */
  function build() {
    const names = [...latest.values()].map((ms) => glucoseName(ms.glucose_type)).filter(Boolean);
    const specs = chartSpecs(names);
    if (specs.length === charts.size && specs.every((s) => charts.has(s.id))) return false;
    for (const c of charts.values()) c.destroy();
    charts = new Map(specs.map((s) => [s.id, createChart(s)]));
    chartsEl.replaceChildren(...[...charts.values()].map((c) => c.el));
    return true;
  }

  function showLatest() {
    for (const [id, c] of charts) c.setLatest(latest.get(id) || null);
  }

  async function start() {
    try {
      const r = await conn.call('dmp', 'LatestMeasures', {});
      latest = new Map(r.measures.map((ms) => [chartIdOf(ms), ms]));
    } catch (err) {
      fail(err);
    }
    if (!alive) return;
    build();
    showLatest();
    await Promise.all([...charts.values()].map(load));
  }

  /** A new stored measure (saved here, or a live event): latest value and its chart. */
  function added(ms) {
    const id = chartIdOf(ms);
    const cur = latest.get(id);
    if (!cur || cur.effective_ms <= ms.effective_ms) latest.set(id, ms);
    if (build()) {
      showLatest();
      for (const c of charts.values()) load(c);
      return;
    }
    showLatest();
    const c = charts.get(id);
    if (c) load(c);
  }

  const form = createForm({
    conn,
    onSaved: (reply) => {
      for (const ms of [reply.measure, reply.bmi]) {
        if (!ms) continue;
        own.add(hex(ms.id));
        added(ms);
      }
    },
  });

  const stopLive = watchDmp({
    conn,
    patientId,
    onEvent: (e) => {
      if (e.kind !== EventKind.MEASURE_ADDED || !e.measure || !kindKey(e.measure.kind)) return;
      const ms = e.measure;
      if (own.has(hex(ms.id))) return;
      added(ms);
      // a weight may bring its derived BMI right after it: keep the last few notices
      live.append(notice('info', T.liveNew(kindLabel(ms), valueText(ms))));
      while (live.children.length > 3) live.firstElementChild.remove();
    },
    onGap: () => { start(); },
  });

  // the charts follow the width of the page (a phone turned, a window resized)
  let resizeTimer = null;
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { for (const c of charts.values()) c.resize(); }, 150);
  };
  window.addEventListener('resize', onResize);

  start();

  return {
    title: T.title,
    destroy() {
      alive = false;
      stopLive();
      window.removeEventListener('resize', onResize);
      clearTimeout(resizeTimer);
      for (const c of charts.values()) c.destroy();
    },
    el: h('section', { className: 'screen measures' },
      h('h1', { tabIndex: -1, id: 'measures-title' }, T.title),
      ctx.flash ? notice('info', ctx.flash) : null,
      h('p', {}, T.intro),
      live, alert,
      form.el,
      h('section', { className: 'measure-board', 'aria-labelledby': 'measure-board-title' },
        h('h2', { id: 'measure-board-title' }, T.boardTitle),
        h('div', { className: 'measure-toolbar' }, periodSel.wrap),
        h('p', { className: 'aside' }, T.daily),
        chartsEl)),
  };
}
