// Screen "Messagerie": the conversations (with unread counts), "Nouveau
// message" to a professional holding a MESSAGING grant (opens the open
// conversation with them, or starts one), and the thread of
// one conversation (#/messagerie/<id>, thread.js). The engine is
// ctx.messenger (src/messaging/messenger.js), made by the app after log-in;
// without the unlocked device keys (after a reload) the screen asks to log
// in again.
//
// Professionals appear by name, profession and RPPS (src/people.js, fed from
// the patient's grants and emergencies, the same directory as "Mes
// autorisations"), "Professionnel de santé (RPPS …)" when no name is known.
import { h, notice } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { describeError } from '../../errors.js';
import { enumConstants } from '../../enums.js';
import { People, loadPeople, frList } from '../../people.js';
import { unreadCount, lastMessage } from '../../messaging/thread.js';
import * as thread from './thread.js';

const T = fr.messaging;
const Category = enumConstants('espace.v1.Category', 'CATEGORY_');
const Action = enumConstants('espace.v1.Action', 'ACTION_');
const GranteeKind = enumConstants('espace.v1.GranteeKind', 'GRANTEE_');
const GrantStatus = enumConstants('espace.v1.GrantStatus', 'GRANT_');

/**
 * The professionals of a conversation, known to `people`: `label` lists them
 * as headings ("Dr Claire Martin (médecin, RPPS …) et Paul Durand (…)"),
 * `object` after "avec" ("le Dr Claire Martin (…) et …").
 */
export function members(conv, people) {
  const ps = conv.professionals.map((rpps) => people.pro(rpps));
  return { label: frList(ps.map((p) => p.label)), object: frList(ps.map((p) => p.object)) };
}

/**
 * The patient's professionals for a messaging screen: `people`, `loaded`
 * (loadPeople's first answer: the grants too), `onLoad` called each time it
 * learned names; `learn(rppsList)` loads again, once per RPPS, when some are
 * still unknown (a request accepted in another tab after the screen opened).
 */
export function messagingPeople(ctx, onLoad) {
  const people = new People();
  const warn = (err) => console.warn('espace: professional names unavailable', err.message); // RPPS shown instead
  const loaded = loadPeople(ctx.conn, people);
  let last = loaded.then(onLoad, warn); // never rejects
  const tried = new Set();
  function learn(rppsList) {
    const fresh = rppsList.filter((r) => !people.knows(r) && !tried.has(r));
    if (fresh.length === 0) return;
    for (const r of fresh) tried.add(r);
    last = last.then(() => (fresh.some((r) => !people.knows(r))
      ? loadPeople(ctx.conn, people).then(onLoad, warn) : null));
  }
  return { people, loaded, learn };
}

/** The status line: starting, syncing, caught up or failed. */
export function statusText(m) {
  if (!m.ready) return T.starting;
  if (m.error) return T.syncFailed;
  return m.caughtUp && !m.syncing ? T.caughtUp : T.syncing;
}

/** The screen without a messenger: the keys are locked (reload) or not usable. */
function lockedScreen(ctx) {
  return {
    title: T.title,
    el: h('section', { className: 'screen' },
      h('h1', { tabIndex: -1 }, T.title),
      notice('info', T.locked),
      h('p', {}, h('button', { type: 'button', className: 'primary', onclick: () => ctx.logout() }, T.relogin))),
  };
}

function preview(conv) {
  const m = lastMessage(conv);
  if (!m) return T.noMessage;
  if (m.unreadable) return T.unreadable;
  const text = (m.text || '').trim() ? m.text.trim().replace(/\s+/g, ' ').slice(0, 80) : T.attachmentOnly;
  return m.mine ? T.lastFromMe(text) : text;
}

function listScreen(ctx) {
  const m = ctx.messenger;
  const status = h('p', { id: 'msg-status', className: 'aside', role: 'status' });
  const list = h('div', { id: 'conv-list' });
  const newBox = h('div', { id: 'new-message' }, h('p', { className: 'loading' }, fr.app.loading));
  const newMsg = h('div', { id: 'new-message-msg', role: 'status' });
  let alive = true;
  const { people, loaded, learn } = messagingPeople(ctx, () => { if (alive) renderList(); });

  function renderList() {
    status.textContent = statusText(m);
    const convs = m.list();
    learn(convs.flatMap((c) => c.professionals));
    if (convs.length === 0) {
      list.replaceChildren(h('p', {}, T.listEmpty));
      return;
    }
    list.replaceChildren(h('ul', { className: 'items conversations' }, convs.map((c) => {
      const n = unreadCount(c);
      const who = members(c, people);
      const last = lastMessage(c);
      const when = last ? last.sentMs : c.startedMs;
      return h('li', { className: n ? 'conv unread' : 'conv', 'data-id': c.id },
        h('a', { href: `#/messagerie/${c.id}`, 'aria-label': T.openLabel(who.object, n ? T.unread(n) : '') },
          h('span', { className: 'item-title' }, who.label),
          n ? h('span', { className: 'badge', 'aria-hidden': 'true' }, T.unread(n)) : null,
          c.closed ? h('span', { className: 'tag' }, T.closedTag) : null,
          h('span', { className: 'item-meta' }, preview(c)),
          when ? h('span', { className: 'item-meta' }, fr.time.short(new Date(when))) : null));
    })));
  }

  async function loadGrants() {
    try {
      const { grants } = await loaded;
      if (!alive) return;
      const rpps = new Set();
      for (const g of grants) {
        if (g.grantee_kind === GranteeKind.PROFESSIONAL && g.status === GrantStatus.ACTIVE
          && g.scopes.some((s) => s.category === Category.MESSAGING && s.action === Action.WRITE)) rpps.add(g.grantee_id);
      }
      // the professionals of an open conversation can be answered too
      for (const c of m.list()) if (!c.closed) for (const p of c.professionals) rpps.add(p);
      renderNew([...rpps].sort());
    } catch (err) {
      if (alive) newBox.replaceChildren(notice('error', describeError(err)));
    }
  }

  function renderNew(rppsList) {
    if (rppsList.length === 0) {
      newBox.replaceChildren(h('p', {}, T.newPickNone));
      return;
    }
    const select = h('select', { id: 'new-pro', name: 'pro' },
      rppsList.map((r) => h('option', { value: r }, people.pro(r).label)));
    const go = h('button', { type: 'submit', className: 'primary' }, T.newGo);
    const form = h('form', {
      className: 'inline-form',
      onsubmit: async (e) => {
        e.preventDefault();
        const rpps = select.value;
        // an open conversation with them first; else a new one (the service
        // checks that they hold the MESSAGING grant)
        const open = m.list().find((c) => !c.closed && c.professionals.includes(rpps));
        if (open) {
          ctx.navigate(`/messagerie/${open.id}`);
          return;
        }
        go.disabled = true;
        newMsg.replaceChildren(notice('info', T.newStarting(people.pro(rpps).object)));
        try {
          const id = await m.startConversation(rpps);
          ctx.navigate(`/messagerie/${id}`);
        } catch (err) {
          newMsg.replaceChildren(notice('error', T.newFailed(describeError(err))));
        } finally {
          go.disabled = false;
        }
      },
    },
    h('div', { className: 'field' }, h('label', { for: 'new-pro' }, T.newPick), select),
    go);
    newBox.replaceChildren(form);
  }

  const off = m.on(renderList);
  renderList();
  m.refreshConversations().catch((err) => { status.textContent = describeError(err); });
  loadGrants();

  return {
    title: T.title,
    destroy: () => {
      alive = false;
      off();
    },
    el: h('section', { className: 'screen messaging' },
      h('h1', { tabIndex: -1 }, T.title),
      ctx.flash ? notice('info', ctx.flash) : null,
      h('p', {}, T.intro),
      status,
      h('section', { className: 'card', 'aria-labelledby': 'conv-title' },
        h('h2', { id: 'conv-title' }, T.listTitle), list),
      h('section', { className: 'card', 'aria-labelledby': 'new-title' },
        h('h2', { id: 'new-title' }, T.newTitle), h('p', { className: 'hint' }, T.newIntro), newBox, newMsg)),
  };
}

export function render(ctx) {
  if (!ctx.messenger) return lockedScreen(ctx);
  if (ctx.param) return thread.render(ctx, ctx.param);
  return listScreen(ctx);
}
