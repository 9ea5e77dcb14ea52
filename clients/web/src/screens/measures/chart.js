// One card of the "Mesures" screen: a kind's series over the period drawn
// with uPlot (canvas; two lines for blood pressure; daily means beyond 31
// days), its latest value, and the same values in a table under "Voir les
// valeurs" (what a screen reader reads: the canvas is hidden from it).
// Dates in French, Europe/Paris.
import uPlot from 'uplot';
import { h } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { formatNumber } from '../../dmp/check.js';
import { plotData, valueText } from '../../dmp/series.js';

const T = fr.measures;
const HEIGHT = 220;
const COLORS = ['#0b5fa5', '#b3261e'];
const MONTHS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];
const DAYS = ['dimanche', 'lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi'];
const NAMES = {
  MMMM: MONTHS,
  MMM: MONTHS.map((m) => (m.length > 4 ? `${m.slice(0, 4)}.` : m)),
  WWWW: DAYS,
  WWW: DAYS.map((d) => `${d.slice(0, 3)}.`),
};
const F = {
  day: new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'short', timeZone: 'Europe/Paris' }),
  dayLong: new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' }),
  dateTime: new Intl.DateTimeFormat('fr-FR', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Paris' }),
};

/** The card of chart spec `spec` (src/dmp/series.js chartSpecs). */
export function createChart(spec) {
  const latestEl = h('p', { className: 'aside measure-latest' });
  const plotEl = h('div', { className: 'measure-plot', 'aria-hidden': 'true' });
  const emptyEl = h('p', { className: 'measure-empty', hidden: true }, T.noData);
  const tableSlot = h('div', {});
  const el = h('section', { className: 'card measure-chart', id: `chart-${spec.id}`, 'data-chart': spec.id, 'aria-labelledby': `chart-${spec.id}-title` },
    h('h3', { id: `chart-${spec.id}-title` }, T.chartLabel(spec.label, spec.unit)),
    latestEl, emptyEl, plotEl, tableSlot);
  let plot = null;

  function destroyPlot() {
    if (plot) plot.destroy();
    plot = null;
  }

  /** The chart's width: the card's content box, within bounds. */
  const plotWidth = () => Math.max(240, Math.min(860, plotEl.clientWidth || 600));

  function options(data, period) {
    const width = plotWidth();
    const series = [{ label: T.colDate, value: (u, v) => (v == null ? '–' : F.dateTime.format(new Date(v * 1000))) }];
    data.series.forEach((s, i) => series.push({
      label: T.series[s.key],
      stroke: COLORS[i % COLORS.length],
      width: 2,
      points: { show: true, size: 6 },
      spanGaps: true,
      value: (u, v) => (v == null ? '–' : formatNumber(v)),
    }));
    return {
      width,
      height: HEIGHT,
      fmtDate: (tpl) => uPlot.fmtDate(tpl, NAMES),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Europe/Paris'),
      scales: {
        // the period, with a little room on the right so that today's points are not on the edge
        x: { time: true, range: () => [period.start_ms / 1000, (period.end_ms + (period.end_ms - period.start_ms) * 0.03) / 1000] },
        y: { range: (u, min, max) => (min === max ? [min - 1, max + 1] : [min - (max - min) * 0.1, max + (max - min) * 0.1]) },
      },
      axes: [
        { space: 70, values: (u, splits) => splits.map((ts) => F.day.format(new Date(ts * 1000))) },
        { values: (u, splits) => splits.map((v) => formatNumber(v)) },
      ],
      series,
      cursor: { drag: { x: false, y: false } },
    };
  }

  function table(reply, data) {
    if (data.daily) {
      return h('table', { className: 'measure-values' },
        h('thead', {}, h('tr', {}, [T.colDay, T.colMean, T.colRange, T.colCount].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, reply.daily.filter((d) => d.count > 0).map((d) => {
          const two = data.series.length === 2;
          const mean = two ? T.bpValue(formatNumber(d.mean), formatNumber(d.mean2)) : formatNumber(d.mean);
          const range = two ? `${T.bpValue(formatNumber(d.min), formatNumber(d.min2))} – ${T.bpValue(formatNumber(d.max), formatNumber(d.max2))}`
            : `${formatNumber(d.min)} – ${formatNumber(d.max)}`;
          return h('tr', {}, h('td', {}, F.dayLong.format(new Date(d.day_start_ms + 12 * 3600 * 1000))),
            h('td', {}, mean), h('td', {}, range), h('td', {}, String(d.count)));
        })));
    }
    return h('table', { className: 'measure-values' },
      h('thead', {}, h('tr', {}, [T.colDate, T.colValue].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, reply.measures.slice().reverse().map((ms) => h('tr', {},
        h('td', {}, F.dateTime.format(new Date(ms.effective_ms))), h('td', {}, valueText(ms))))));
  }

  return {
    el,
    spec,

    /** Show the latest Measure of this chart (null: none). */
    setLatest(ms) {
      latestEl.textContent = ms ? T.latest(valueText(ms), fr.time.dateTime(new Date(ms.effective_ms))) : '';
    },

    /** Draw ListMeasuresReply `reply` (measures sorted by time) over `period` ({ start_ms, end_ms }). */
    draw(reply, period) {
      destroyPlot();
      const data = plotData(reply, spec.key);
      const empty = data.x.length === 0;
      emptyEl.hidden = !empty;
      plotEl.hidden = empty;
      el.dataset.points = String(data.x.length);
      el.dataset.mode = data.daily ? 'daily' : 'raw';
      if (empty) {
        tableSlot.replaceChildren();
        return;
      }
      plot = new uPlot(options(data, period), [data.x, ...data.series.map((s) => s.values)], plotEl);
      tableSlot.replaceChildren(h('details', { className: 'measure-details' },
        h('summary', {}, T.valuesTitle),
        data.daily ? h('p', { className: 'aside' }, T.daily) : null,
        table(reply, data)));
    },

    /** Fit the chart to the card's width again. */
    resize() {
      if (plot) plot.setSize({ width: plotWidth(), height: HEIGHT });
    },

    destroy: destroyPlot,
  };
}
