// Screen "Accueil": welcome with the patient's name, this account's devices
// and open sessions (identity ListDevices, ListSessions).
import { h, hex, notice } from '../dom.js';
import { fr } from '../i18n/fr.js';
import { describeError } from '../errors.js';

export function render(ctx) {
  const me = ctx.session.me;
  const devices = h('div', { className: 'loading' }, fr.app.loading);
  const sessions = h('div', { className: 'loading' }, fr.app.loading);
  const currentDevice = hex(me.caller && me.caller.device_id);

  async function load() {
    try {
      const [dev, ses] = await Promise.all([
        ctx.conn.call('identity', 'ListDevices', {}),
        ctx.conn.call('identity', 'ListSessions', {}),
      ]);
      const list = dev.devices.filter((d) => !d.revoked);
      devices.className = '';
      devices.replaceChildren(list.length === 0 ? h('p', {}, fr.home.devicesEmpty)
        : h('ul', { className: 'items', id: 'device-list' }, list.map((d) => h('li', {},
          h('span', { className: 'item-title' }, d.name),
          hex(d.device_id) === currentDevice ? h('span', { className: 'tag' }, fr.home.thisDevice) : null,
          h('span', { className: 'item-meta' }, [
            fr.home.deviceAdded(fr.time.date(new Date(d.created_ms))),
            d.keys && d.keys.sign_public.length ? fr.home.keysOk : fr.home.keysNone,
          ].join(' · '))))));
      sessions.className = '';
      sessions.replaceChildren(
        h('p', { id: 'session-count' }, fr.home.sessionsCount(ses.sessions.length)),
        h('p', {}, h('a', { href: '#/sessions' }, fr.home.sessionsLink)));
    } catch (err) {
      devices.className = '';
      devices.replaceChildren(notice('error', describeError(err)));
      sessions.replaceChildren();
    }
  }
  load();

  const expires = me.caller && me.caller.session_expires_ms
    ? h('p', { className: 'aside' }, fr.home.expires(fr.time.dateTime(new Date(me.caller.session_expires_ms))))
    : null;

  return {
    title: fr.nav.home,
    el: h('section', { className: 'screen' },
      h('h1', { tabIndex: -1, id: 'home-title' }, fr.home.hello(me.display_name)),
      ctx.flash ? notice('info', ctx.flash) : null,
      h('p', {}, fr.home.intro),
      h('div', { className: 'grid' },
        h('section', { className: 'card', 'aria-labelledby': 'devices-title' },
          h('h2', { id: 'devices-title' }, fr.home.devicesTitle), devices),
        h('section', { className: 'card', 'aria-labelledby': 'sessions-title' },
          h('h2', { id: 'sessions-title' }, fr.home.sessionsTitle), sessions, expires))),
  };
}
