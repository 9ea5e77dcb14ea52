// Screen "Mes autorisations": the patient's grants (consent service,
// docs/consent.md) — emergency accesses running on their data, which they
// may end (ListEmergencies, EndEmergency), professionals' pending requests
// to accept or refuse (AnswerRequest), grants in force to revoke after a
// confirmation (RevokeGrant, whose reply says what still applies), past ones
// (refused, revoked, expired) greyed — and "Qui a consulté mon dossier", the
// patient's audit trail (ReadAudit, newest first, paged with "Voir plus").
// New requests and emergencies show live (consent/live.js).
//
// Professionals are named as their software declared it, with the RPPS
// (src/people.js, shared with Messagerie and Documents); apps from the
// catalogue (ListApps).
import { h, hex, notice } from '../dom.js';
import { fr } from '../i18n/fr.js';
import { describeError } from '../errors.js';
import { STATE } from '../protocol.js';
import { enumConstants, enumName, enumValue } from '../enums.js';
import { People, loadPeople } from '../people.js';
import { decodeNotice, noticeText } from './consent/live.js';
import { fillEmergencies } from './consent/emergencies.js';

const T = fr.consent;
const STATUS = enumConstants('espace.v1.GrantStatus', 'GRANT_');
const AUDIT_EMERGENCY = enumValue('espace.v1.AuditKind', 'AUDIT_EMERGENCY');
const AUDIT_RESOLVE = enumValue('espace.v1.AuditKind', 'AUDIT_RESOLVE');
const AUDIT_EMERGENCY_ENDED = enumValue('espace.v1.AuditKind', 'AUDIT_EMERGENCY_ENDED');

// French labels are keyed by enum value name (src/i18n/fr.js)
const categoryLabel = (n) => T.categories[enumName('espace.v1.Category', n)];
const actionLabel = (n) => T.actions[enumName('espace.v1.Action', n)];
const purposeLabel = (n) => T.purposes[enumName('espace.v1.Purpose', n)];
const AUDIT_PAGE = 20;

/** "Agenda : lecture et écriture", one entry per category (and code list). */
export function scopesText(scopes) {
  const groups = new Map(); // category|codes -> { category, codes, actions: Set }
  for (const s of scopes || []) {
    const codes = (s.codes || []).join(', ');
    const key = `${s.category}|${codes}`;
    if (!groups.has(key)) groups.set(key, { category: s.category, codes, actions: new Set() });
    groups.get(key).actions.add(s.action);
  }
  return [...groups.values()].map((g) => {
    const cat = categoryLabel(g.category) || T.unknown;
    const name = g.codes ? T.codes(cat, g.codes) : cat;
    const actions = [...g.actions].sort().map((a) => actionLabel(a) || T.unknown).join(T.and);
    return T.scope(name, actions);
  });
}

function periodText(g) {
  const p = g.period || {};
  const start = fr.time.date(new Date(p.start_ms || g.created_ms));
  return p.end_ms ? T.periodRange(start, fr.time.date(new Date(p.end_ms))) : T.periodFrom(start);
}

function statusText(g) {
  if (g.status === STATUS.PROPOSED) return T.statusText.proposed;
  if (g.status === STATUS.ACTIVE) return T.statusText.active;
  if (g.status === STATUS.REJECTED) return T.endedOn(T.statusText.rejected, fr.time.date(new Date(g.updated_ms)));
  if (g.inactive_reason === 'revoked') return T.endedOn(T.statusText.revoked, fr.time.date(new Date(g.updated_ms)));
  if (g.inactive_reason === 'expired') {
    const end = g.period && g.period.end_ms;
    return end ? T.endedOn(T.statusText.expired, fr.time.date(new Date(end))) : T.statusText.expired;
  }
  return T.statusText.inactive;
}

/** A definition list of a grant's details. */
function details(g, { reason = true, status = false } = {}) {
  const rows = [
    [T.access, h('ul', { className: 'scopes' }, scopesText(g.scopes).map((s) => h('li', {}, s)))],
    [T.purpose, purposeLabel(g.purpose) || T.unknown],
    [T.period, periodText(g)],
  ];
  if (reason && g.request_reason) rows.push([T.reason, g.request_reason]);
  if (status) rows.push([T.status, statusText(g)]);
  return h('dl', { className: 'details' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** What still applies once a grant of `who` is revoked (RevokeGrantReply), in French sentences. */
export function stillApplies(reply, who) {
  const lines = [];
  const granted = reply.still_granted || [];
  const emergencies = reply.still_emergency || [];
  if (granted.length) lines.push(T.stillGranted(who.subject, granted.flatMap((g) => scopesText(g.scopes)).join(' ; ')));
  for (const e of emergencies) lines.push(T.stillEmergency(who.subject, fr.time.dateTime(new Date(e.until_ms))));
  if (!granted.length && !emergencies.length) lines.push(T.stillNothing(who.subject));
  lines.push(T.alreadyRead);
  return lines;
}

export function render(ctx) {
  const people = new People();
  const live = h('div', { className: 'live', role: 'status', id: 'consent-live' });
  const alert = h('div', { className: 'live', role: 'alert', id: 'consent-alert' });
  const pendingBody = h('div', { className: 'loading', id: 'consent-pending' }, fr.app.loading);
  const activeBody = h('div', { className: 'loading', id: 'consent-active' }, fr.app.loading);
  const pastBody = h('div', { className: 'loading', id: 'consent-past' }, fr.app.loading);
  const emergencyBody = h('div', { className: 'loading', id: 'consent-emergencies' }, fr.app.loading);
  const auditList = h('ol', { className: 'items audit', id: 'audit-list' });
  const auditStatus = h('div', { className: 'loading', id: 'audit-status' }, fr.app.loading);
  const moreBtn = h('button', {
    type: 'button', className: 'secondary', id: 'audit-more', hidden: true, onclick: () => loadAudit(false),
  }, T.auditMore);
  let nextBefore = 0;
  let alive = true;

  /** Say `text` (or several sentences, one paragraph each) in the live region. */
  function say(text) {
    alert.replaceChildren();
    const lines = Array.isArray(text) ? text : [text];
    live.replaceChildren(notice('info', lines.length === 1 ? lines[0] : lines.map((l) => h('p', {}, l))));
  }

  function fail(err) {
    live.replaceChildren();
    alert.replaceChildren(notice('error', describeError(err)));
  }

  async function loadApps() {
    try {
      const r = await ctx.conn.call('consent', 'ListApps', { include_withdrawn: true });
      for (const a of r.apps) people.apps.set(a.id, a.name);
    } catch (err) {
      console.warn('espace: app names unavailable', err.message); // ids are shown instead
    }
  }

  /** Revoking asks first: the actions of the item become a confirmation. */
  function confirmRevoke(actions, g, who) {
    const qid = `revoke-q-${hex(g.id)}`;
    const no = h('button', { type: 'button', className: 'secondary', onclick: () => { box.replaceWith(actions); actions.querySelector('button').focus(); } }, T.revokeNo);
    const yes = h('button', {
      type: 'button', className: 'primary danger', // named by the group's question
      onclick: (e) => revoke(e.currentTarget, g, who),
    }, T.revokeYes);
    const box = h('div', { className: 'confirm', role: 'group', 'aria-labelledby': qid },
      h('p', { id: qid, className: 'confirm-question' }, T.revokeConfirm(who.of)),
      h('p', { className: 'aside' }, T.revokeConfirmText),
      h('div', { className: 'actions' }, yes, no));
    actions.replaceWith(box);
    yes.focus();
  }

  function grantItem(g, kind) {
    const who = people.grantee(g);
    const id = hex(g.id);
    const head = h('h3', { className: 'grant-who' }, who.label);
    let actions = null;
    if (kind === 'pending') {
      actions = h('div', { className: 'actions' },
        h('button', {
          type: 'button', className: 'primary', 'aria-label': T.acceptLabel(who.of),
          onclick: (e) => answer(e.currentTarget, g, who, true),
        }, T.accept),
        h('button', {
          type: 'button', className: 'secondary', 'aria-label': T.refuseLabel(who.of),
          onclick: (e) => answer(e.currentTarget, g, who, false),
        }, T.refuse));
    } else if (kind === 'active') {
      actions = h('div', { className: 'actions' },
        h('button', {
          type: 'button', className: 'secondary danger-outline', 'aria-label': T.revokeLabel(who.of),
          onclick: () => confirmRevoke(actions, g, who),
        }, T.revoke));
    }
    return h('li', { className: `grant grant-${kind}`, 'data-grant': id },
      head,
      kind === 'pending' ? h('p', { className: 'item-meta' }, `${T.requested} ${fr.time.dateTime(new Date(g.created_ms))}`) : null,
      details(g, { status: kind === 'past' }),
      actions);
  }

  function fill(body, grants, kind, empty) {
    body.className = '';
    body.replaceChildren(grants.length === 0 ? h('p', { className: 'aside' }, empty)
      : h('ul', { className: 'items grants', id: `grants-${kind}` }, grants.map((g) => grantItem(g, kind))));
  }

  async function loadGrants() {
    try {
      const { grants, emergencies } = await loadPeople(ctx.conn, people);
      if (!alive) return;
      const now = Date.now();
      fillEmergencies(emergencyBody, emergencies.filter((e) => !e.ended_ms && e.until_ms > now), people, endEmergency);
      fill(pendingBody, grants.filter((g) => g.status === STATUS.PROPOSED), 'pending', T.pendingEmpty);
      fill(activeBody, grants.filter((g) => g.status === STATUS.ACTIVE), 'active', T.activeEmpty);
      fill(pastBody, grants.filter((g) => g.status === STATUS.REJECTED || g.status === STATUS.INACTIVE),
        'past', T.pastEmpty);
    } catch (err) {
      if (!alive) return;
      for (const b of [emergencyBody, pendingBody, activeBody, pastBody]) {
        b.className = '';
        b.replaceChildren();
      }
      fail(err);
    }
  }

  function auditItem(e) {
    const ended = e.kind === AUDIT_EMERGENCY_ENDED;
    const emergency = e.kind === AUDIT_EMERGENCY || e.purpose_of_use === 'ETREAT' || ended;
    const cat = categoryLabel(e.category);
    let what = e.kind === AUDIT_EMERGENCY ? T.emergencyDeclared
      : e.kind === AUDIT_RESOLVE ? T.insResolved
        : ended ? T.emergencyEndedWhat(people.pro(e.detail).of)
        : cat ? T.scope(cat, actionLabel(e.action) || T.unknown) : T.unknown;
    if (e.kind !== AUDIT_EMERGENCY && !ended && e.detail) what += ` (${T.detail(e.detail)})`;
    let who = people.actor(e);
    if (e.on_behalf_of) who += `, ${T.onBehalfOf(e.on_behalf_of)}`;
    const date = fr.time.dateTime(new Date(e.at_ms));
    return h('li', {
      className: `audit-entry ${e.allowed ? 'allowed' : 'denied'}${emergency ? ' emergency' : ''}`,
      'data-seq': String(e.seq),
    },
    h('p', { className: 'audit-head' },
      h('time', { dateTime: new Date(e.at_ms).toISOString(), className: 'audit-when' }, date),
      ' ',
      h('span', { className: `tag ${e.allowed ? 'ok' : 'ko'}` },
        h('span', { className: 'sr-only' }, `${T.outcome} : `), e.allowed ? T.allowed : T.denied),
      emergency ? [' ', h('span', { className: 'tag urgent' }, T.emergency)] : null),
    h('dl', { className: 'details compact' },
      h('dt', {}, T.who), h('dd', { className: 'audit-who' }, who),
      h('dt', {}, T.what), h('dd', { className: 'audit-what' }, what),
      e.service ? [h('dt', {}, T.serviceLabel), h('dd', { className: 'audit-via' }, e.service)] : null));
  }

  async function loadAudit(first) {
    moreBtn.disabled = true;
    try {
      const r = await ctx.conn.call('consent', 'ReadAudit', { before_seq: first ? 0 : nextBefore, limit: AUDIT_PAGE });
      if (!alive) return;
      if (first) auditList.replaceChildren();
      const firstNew = r.entries.length ? auditItem(r.entries[0]) : null;
      r.entries.forEach((e, i) => auditList.append(i === 0 ? firstNew : auditItem(e)));
      nextBefore = r.next_before_seq || 0;
      auditStatus.className = '';
      auditStatus.replaceChildren(auditList.children.length === 0 ? h('p', { className: 'aside' }, T.auditEmpty)
        : !nextBefore && !first ? h('p', { className: 'aside' }, T.auditEnd) : '');
      moreBtn.hidden = !nextBefore;
      // after "Voir plus", move focus to the first new line so the keyboard user continues there
      if (!first && firstNew) {
        firstNew.tabIndex = -1;
        firstNew.focus();
      }
    } catch (err) {
      if (!alive) return;
      auditStatus.className = '';
      auditStatus.replaceChildren(notice('error', describeError(err)));
    } finally {
      moreBtn.disabled = false;
    }
  }

  async function answer(button, g, who, accept) {
    button.disabled = true;
    try {
      await ctx.conn.call('consent', 'AnswerRequest', { grant_id: g.id, accept });
      say(accept ? T.accepted(who.of) : T.refused(who.of));
      await loadGrants();
      document.getElementById(accept ? 'consent-active-title' : 'consent-pending-title')?.focus();
    } catch (err) {
      button.disabled = false;
      fail(err);
    }
  }

  async function revoke(button, g, who) {
    button.disabled = true;
    try {
      const r = await ctx.conn.call('consent', 'RevokeGrant', { grant_id: g.id });
      say([T.revoked(who.of), ...stillApplies(r, who)]);
      await loadGrants();
      document.getElementById('consent-past-title')?.focus();
    } catch (err) {
      button.disabled = false;
      fail(err);
    }
  }

  async function endEmergency(button, e, who) {
    button.disabled = true;
    try {
      await ctx.conn.call('consent', 'EndEmergency', { emergency_id: e.id });
      say(T.emergencyEnded(who.of));
      await Promise.all([loadGrants(), loadAudit(true)]);
      document.getElementById('consent-emergency-title')?.focus();
    } catch (err) {
      button.disabled = false;
      fail(err);
    }
  }

  // Live: a notice says what happened, then the lists reload (one reload at
  // a time; notices arriving meanwhile make one more).
  let reloading = null;
  let again = false;
  function reload() {
    if (reloading) { again = true; return; }
    reloading = loadAll(false).finally(() => {
      reloading = null;
      if (again && alive) { again = false; reload(); }
    });
  }
  const offs = [
    ctx.conn.on('event', (ev) => {
      const n = decodeNotice(ctx.conn.codec, ev);
      if (!n || !alive) return;
      const text = noticeText(n, people);
      if (text) say(text);
      reload();
    }),
    ctx.conn.on('state', (st) => { if (st === STATE.ONLINE && alive) reload(); }), // notices missed while away
  ];

  async function loadAll(clearAlert = true) {
    if (clearAlert) alert.replaceChildren();
    if (people.apps.size === 0) await loadApps();
    if (!alive) return;
    await loadGrants(); // first: names for the trail
    if (alive) await loadAudit(true);
  }
  loadAll();

  const card = (id, title, intro, ...body) => h('section', { className: 'card', 'aria-labelledby': id },
    h('h2', { id, tabIndex: -1 }, title), intro ? h('p', { className: 'aside' }, intro) : null, ...body);

  return {
    title: T.title,
    destroy() {
      alive = false;
      for (const off of offs) off();
    },
    el: h('section', { className: 'screen consent' },
      h('h1', { tabIndex: -1, id: 'consent-title' }, T.title),
      ctx.flash ? notice('info', ctx.flash) : null,
      h('p', {}, T.intro),
      live, alert,
      h('div', { className: 'actions page-actions' },
        h('button', {
          type: 'button', className: 'secondary', id: 'consent-refresh',
          onclick: () => { live.replaceChildren(); loadAll(); },
        }, T.refresh)),
      card('consent-emergency-title', T.emergencyTitle, T.emergencyIntro, emergencyBody),
      card('consent-pending-title', T.pendingTitle, T.pendingIntro, pendingBody),
      card('consent-active-title', T.activeTitle, null, activeBody),
      card('consent-past-title', T.pastTitle, null, h('div', { className: 'past' }, pastBody)),
      card('consent-audit-title', T.auditTitle, T.auditIntro, auditList, auditStatus,
        h('div', { className: 'actions' }, moreBtn))),
  };
}
