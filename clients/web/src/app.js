// The shell of the patient app: header (name from WhoAmI, connection
// indicator, navigation), hash router and screen switching.
import schema from './schema.js'; // the .proto files as JSON, made at build time
import { Codec } from './pb.js';
import { Connection, STATE, edgeUrl } from './protocol.js';
import { Session } from './session.js';
import { h } from './dom.js';
import { fr } from './i18n/fr.js';
import { Code, EspaceError } from './errors.js';
import * as signup from './screens/signup.js';
import * as login from './screens/login.js';
import * as activation from './screens/activation.js';
import * as home from './screens/home.js';
import * as sessions from './screens/sessions.js';
import * as agenda from './screens/agenda/index.js';
import * as consent from './screens/consent.js';
import * as messaging from './screens/messaging/index.js';
import * as documents from './screens/documents/index.js';
import * as measures from './screens/measures/index.js';
import { Messenger } from './messaging/messenger.js';
import { SealedStore, idbBackend, memoryBackend } from './messaging/store.js';
import { reminderText } from './screens/agenda/index.js';
import { shellText as consentText } from './screens/consent/live.js';

const ROUTES = {
  '/connexion': { screen: login, auth: false },
  '/inscription': { screen: signup, auth: false },
  '/activation': { screen: activation, auth: false },
  '/accueil': { screen: home, auth: true },
  '/agenda': { screen: agenda, auth: true },
  '/autorisations': { screen: consent, auth: true },
  '/messagerie': { screen: messaging, auth: true },
  '/documents': { screen: documents, auth: true },
  '/mesures': { screen: measures, auth: true },
  '/sessions': { screen: sessions, auth: true },
};

const CONN_TEXT = {
  [STATE.CONNECTING]: fr.conn.connecting,
  [STATE.ONLINE]: fr.conn.online,
  [STATE.RECONNECTING]: fr.conn.reconnecting,
  [STATE.OFFLINE]: fr.conn.offline,
};

class App {
  constructor() {
    this.conn = new Connection({ url: edgeUrl(), codec: new Codec(schema) });
    this.session = new Session(this.conn);
    this.main = document.getElementById('main');
    this.connEl = document.getElementById('conn');
    this.whoEl = document.getElementById('who');
    this.navEl = document.getElementById('nav');
    this.flash = '';
    this.booting = true;
    this.renderSeq = 0;
  }

  async start() {
    document.title = `${fr.app.name} · ${fr.app.tagline}`;
    document.documentElement.lang = 'fr';
    const skip = document.getElementById('skip');
    skip.textContent = fr.app.skip;
    skip.addEventListener('click', (e) => {
      e.preventDefault();
      this.focusMain();
    });
    document.getElementById('brand-name').textContent = fr.app.name;
    document.getElementById('brand-tagline').textContent = fr.app.tagline;
    this.navEl.setAttribute('aria-label', fr.app.navLabel);

    this.conn.on('state', (s) => this.showConn(s));
    this.conn.on('session-ended', () => this.sessionEnded());
    this.conn.on('event', (ev) => this.liveEvent(ev));
    // Reminders show on every screen, in a live region above the page.
    this.remindersEl = h('div', { id: 'reminders', className: 'reminders', role: 'status', 'aria-live': 'polite' });
    this.main.before(this.remindersEl);
    this.showConn(this.conn.state);
    window.addEventListener('hashchange', () => this.route());

    this.main.replaceChildren(h('p', { className: 'loading' }, fr.app.loading));
    this.conn.start();
    try {
      await this.session.resume();
    } catch (err) {
      if (!(err instanceof EspaceError && err.code === Code.UNAUTHENTICATED)) {
        this.flash = err instanceof EspaceError ? err.french : fr.errors.CODE_INTERNAL;
      } else {
        this.flash = fr.login.sessionEnded;
      }
    }
    this.booting = false;
    this.route();
  }

  /** The connection badge: one state, the true one. "Connecté" only when
   *  logged in; logged out and online it is hidden (the page says whether you
   *  are logged in); connecting, reconnecting and offline always show. */
  showConn(state = this.conn.state) {
    this.connEl.replaceChildren(h('span', { className: 'sr-only' }, `${fr.conn.label} : `),
      CONN_TEXT[state] || state);
    this.connEl.dataset.state = state;
    this.connEl.hidden = state === STATE.ONLINE && (this.booting || !this.session.loggedIn);
  }

  /** A pushed LiveEvent: agenda reminders, and elsewhere than on "Mes
   *  autorisations" access requests and emergencies, become a notice (the
   *  screens handle the rest). */
  liveEvent(ev) {
    if (!this.session.loggedIn) return;
    const consent = location.hash === '#/autorisations' ? '' : consentText(this.conn.codec, ev);
    if (consent) this.notify(consent, h('a', { href: '#/autorisations' }, fr.consent.liveOpen));
    if (!ev.topic.endsWith('.agenda.reminder')) return;
    let text;
    try {
      text = reminderText(this.conn.codec.decode('espace.v1.AgendaReminder', ev.body));
    } catch (err) {
      console.warn('espace: undecodable reminder', err.message);
      return;
    }
    if (text) this.notify(text);
  }

  /** A notice above every screen (the newest five), with `extra` (a link) if given. */
  notify(text, extra = null) {
    const close = h('button', { type: 'button', className: 'link', onclick: () => item.remove() }, fr.agenda.close);
    const item = h('div', { className: 'notice reminder' }, h('span', {}, text), ' ', extra, extra ? ' ' : null, close);
    this.remindersEl.append(item);
    while (this.remindersEl.children.length > 5) this.remindersEl.firstElementChild.remove();
  }

  sessionEnded() {
    if (this.booting || this.loggingOut || !this.session.loggedIn) return;
    this.stopMessenger();
    this.session.forget();
    this.navigate('/connexion', fr.login.sessionEnded);
  }

  async logout() {
    this.stopMessenger();
    this.loggingOut = true; // our own Logout also makes the edge send Closing
    try {
      await this.session.logout();
    } catch {
      // forgotten locally anyway; the token expires on its own
    } finally {
      this.loggingOut = false;
    }
    this.navigate('/connexion', fr.login.loggedOut);
  }

  navigate(path, flash = '') {
    this.flash = flash;
    if (location.hash === `#${path}`) this.route();
    else location.hash = `#${path}`;
  }

  currentPath() {
    const p = location.hash.replace(/^#/, '');
    if (/^\/messagerie\/[0-9a-f]{32}$/.test(p)) return p;
    return ROUTES[p] ? p : null;
  }

  /** The messaging engine once logged in with unlocked device keys (null otherwise). */
  messengerFor() {
    const s = this.session;
    if (!s.loggedIn || !s.keys || !s.keys.wrapKey || !s.account) {
      this.stopMessenger();
      return null;
    }
    if (this.messenger && this.messengerKeys === s.keys) return this.messenger;
    this.stopMessenger();
    let backend;
    try {
      backend = globalThis.indexedDB ? idbBackend() : memoryBackend();
    } catch {
      backend = memoryBackend(); // no IndexedDB (private mode): this tab only
    }
    const m = new Messenger({ conn: this.conn, store: new SealedStore(backend, s.keys.wrapKey, s.account), keys: s.keys, me: s.me });
    this.messenger = m;
    this.messengerKeys = s.keys;
    m.on(() => this.showUnread());
    m.start().catch((err) => {
      m.error = err;
      console.warn('espace: messaging not ready:', err.message);
      m.emit();
    });
    return m;
  }

  stopMessenger() {
    if (this.messenger) this.messenger.stop();
    this.messenger = null;
    this.messengerKeys = null;
  }

  showUnread() {
    const el = document.getElementById('nav-unread');
    if (!el || !this.messenger) return;
    const n = this.messenger.totalUnread();
    el.textContent = n ? ` (${n})` : '';
    el.title = n ? fr.nav.unread(n) : '';
    el.hidden = !n;
  }

  route() {
    if (this.booting) return;
    const logged = this.session.loggedIn;
    let path = this.currentPath();
    if (!path || ROUTES[path.startsWith('/messagerie/') ? '/messagerie' : path].auth !== logged) {
      path = logged ? '/accueil' : '/connexion';
      if (location.hash !== `#${path}`) {
        history.replaceState(null, '', `#${path}`);
      }
    }
    const base = path.startsWith('/messagerie/') ? '/messagerie' : path;
    const param = base === path ? null : path.slice(base.length + 1);
    this.renderHeader(base);
    this.showConn();
    if (this.current && this.current.destroy) this.current.destroy();
    this.current = null;
    if (!logged) this.remindersEl.replaceChildren();
    const ctx = {
      conn: this.conn,
      session: this.session,
      flash: this.flash,
      param,
      messenger: this.messengerFor(),
      navigate: (p, f) => this.navigate(p, f),
      logout: () => this.logout(),
    };
    this.flash = '';
    this.showUnread();
    this.current = ROUTES[base].screen.render(ctx);
    const { el, title } = this.current;
    document.title = `${title} · ${fr.app.name}`;
    this.main.replaceChildren(el);
    // Move focus to the new screen's heading after a navigation, not on the
    // first screen, so that Tab starts with the skip link.
    if (this.shown) this.focusMain();
    this.shown = true;
  }

  focusMain() {
    const h1 = this.main.querySelector('h1');
    (h1 || this.main).focus();
  }

  renderHeader(path) {
    const me = this.session.me;
    this.whoEl.replaceChildren(...(me
      ? [h('span', { className: 'sr-only' }, `${fr.app.signedInAs} `), me.display_name] : []));
    this.whoEl.hidden = !me;
    const link = (p, text) => h('li', {}, h('a', {
      href: `#${p}`, 'aria-current': p === path ? 'page' : null,
    }, text));
    const items = me
      ? [link('/accueil', fr.nav.home), link('/agenda', fr.nav.agenda),
        link('/messagerie', [fr.nav.messaging, h('span', { id: 'nav-unread', className: 'unread', hidden: true })]),
        link('/documents', fr.nav.documents), link('/mesures', fr.nav.measures),
        link('/autorisations', fr.nav.consent), link('/sessions', fr.nav.sessions),
        h('li', {}, h('button', { type: 'button', className: 'link', id: 'nav-logout', onclick: () => this.logout() }, fr.nav.logout))]
      : [link('/connexion', fr.nav.login), link('/inscription', fr.nav.signup)];
    this.navEl.replaceChildren(h('ul', {}, items));
  }
}

function boot() {
  new App().start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
