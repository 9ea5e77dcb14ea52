// Screen "Mes sessions": the account's open sessions (identity ListSessions),
// revoke one (RevokeSession), log out (Logout).
import { h, hex, notice } from '../dom.js';
import { fr } from '../i18n/fr.js';
import { describeError } from '../errors.js';

export function render(ctx) {
  const body = h('div', { className: 'loading' }, fr.app.loading);
  const live = h('div', { className: 'live', role: 'status' });

  async function load() {
    try {
      const [ses, dev] = await Promise.all([
        ctx.conn.call('identity', 'ListSessions', {}),
        ctx.conn.call('identity', 'ListDevices', {}),
      ]);
      const names = new Map(dev.devices.map((d) => [hex(d.device_id), d.name]));
      const rows = [...ses.sessions].sort((a, b) => (b.current - a.current) || (b.created_ms - a.created_ms));
      body.className = '';
      if (rows.length === 0) {
        body.replaceChildren(h('p', {}, fr.sessions.empty));
        return;
      }
      body.replaceChildren(h('div', { className: 'table-wrap' }, h('table', { id: 'session-table' },
        h('caption', {}, fr.sessions.caption),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, fr.sessions.device),
          h('th', { scope: 'col' }, fr.sessions.created),
          h('th', { scope: 'col' }, fr.sessions.expires),
          h('th', { scope: 'col' }, fr.sessions.action))),
        h('tbody', {}, rows.map((s) => {
          const device = names.get(hex(s.device_id)) || fr.sessions.unknownDevice;
          const created = fr.time.dateTime(new Date(s.created_ms));
          return h('tr', { className: s.current ? 'current' : '' },
            h('th', { scope: 'row', 'data-label': fr.sessions.device }, device),
            h('td', { 'data-label': fr.sessions.created }, created),
            h('td', { 'data-label': fr.sessions.expires }, fr.time.dateTime(new Date(s.expires_ms))),
            h('td', { 'data-label': fr.sessions.action }, s.current
              ? h('span', { className: 'tag' }, fr.sessions.current)
              : h('button', {
                type: 'button',
                className: 'secondary',
                'aria-label': fr.sessions.revokeLabel(device, created),
                onclick: (e) => revoke(e.currentTarget, s.session_id),
              }, fr.sessions.revoke)));
        })))));
    } catch (err) {
      body.className = '';
      body.replaceChildren(notice('error', describeError(err)));
    }
  }

  async function revoke(button, sessionId) {
    button.disabled = true;
    live.replaceChildren();
    try {
      await ctx.conn.call('identity', 'RevokeSession', { session_id: sessionId });
      live.replaceChildren(notice('info', fr.sessions.revoked));
      await load();
      document.getElementById('sessions-title')?.focus();
    } catch (err) {
      button.disabled = false;
      live.replaceChildren(notice('error', describeError(err)));
    }
  }

  load();

  return {
    title: fr.sessions.title,
    el: h('section', { className: 'screen' },
      h('h1', { tabIndex: -1, id: 'sessions-title' }, fr.sessions.title),
      h('p', {}, fr.sessions.intro),
      live,
      h('section', { className: 'card', 'aria-label': fr.sessions.caption }, body,
        h('div', { className: 'actions' },
          h('button', { type: 'button', className: 'secondary', onclick: () => load() }, fr.sessions.refresh))),
      h('section', { className: 'card', 'aria-labelledby': 'logout-title' },
        h('h2', { id: 'logout-title' }, fr.sessions.logoutTitle),
        h('p', {}, fr.sessions.logoutIntro),
        h('div', { className: 'actions' },
          h('button', { type: 'button', className: 'primary', id: 'logout-button', onclick: () => ctx.logout() }, fr.nav.logout)))),
  };
}
