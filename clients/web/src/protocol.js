// The websocket client of the espace edge (subprotocol "espace.v1", see
// proto/espace/v1/edge.proto and docs/protocol.md): one binary frame holds
// one ClientMessage or ServerMessage.
//
// - Requests carry an id chosen here and are matched with the ServerMessage
//   that echoes it; each has a timeout (DEADLINE_EXCEEDED when it passes).
// - Requests made while the socket is down wait in a bounded queue and are
//   sent once the connection is back (and resumed, when there is a session).
//   Requests already sent when the socket drops fail with UNAVAILABLE: the
//   client cannot know whether they ran.
// - The connection comes back by itself with exponential back-off and jitter;
//   after a reconnect it first resumes the saved session token.
// - Pushed LiveEvent, Resync and Closing messages are dispatched to listeners.
//
// Events (conn.on(name, fn)): 'state' (one of STATE), 'event' (LiveEvent),
// 'resync' (Resync), 'closing' (Closing), 'session-ended' ({ code }) when the
// edge or a failed resume says the session is over.
import { Code, EspaceError } from './errors.js';

export const SUBPROTOCOL = 'espace.v1';

export const STATE = Object.freeze({
  CONNECTING: 'connecting',     // first connection attempt
  ONLINE: 'online',             // open (and resumed if there is a session)
  RECONNECTING: 'reconnecting', // lost, trying again
  OFFLINE: 'offline',           // the browser says there is no network
});

/** Defaults; every one can be overridden in the Connection options. */
export const DEFAULTS = Object.freeze({
  timeoutMs: 10000,      // per request, queue wait included
  backoffBaseMs: 500,    // first reconnect delay (before jitter)
  backoffMaxMs: 30000,   // longest reconnect delay
  maxQueue: 64,          // requests waiting for the connection
});

const WS_OPEN = 1;

/** Delay before reconnect attempt `attempt` (0-based): "equal jitter" back-off. */
export function backoffDelay(attempt, baseMs, maxMs, random = Math.random) {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** The edge's URL for the page's own origin: ws(s)://<same host>/. */
export function edgeUrl(location = globalThis.location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/`;
}

export class Connection {
  /**
   * @param {object} opts
   * @param {string} opts.url        websocket URL of the edge
   * @param {import('./pb.js').Codec} opts.codec codec over the espace schema
   * @param {Function} [opts.WebSocket] WebSocket constructor (the browser's by default)
   * @param {EventTarget} [opts.window] source of 'online' / 'offline' events
   */
  constructor(opts) {
    this.url = opts.url;
    this.codec = opts.codec;
    this.WebSocket = opts.WebSocket || globalThis.WebSocket;
    this.opts = { ...DEFAULTS, ...opts };
    this.random = opts.random || Math.random;
    this.win = opts.window === undefined ? globalThis.window : opts.window;

    this.ws = null;
    this.state = STATE.CONNECTING;
    this.token = null;      // session token to resume after reconnects
    this.bound = false;     // the current socket is bound to the token's session
    this.resuming = false;
    this.nextId = 1;
    this.pending = new Map(); // id -> { resolve, reject, timer, sent, bytes, expect }
    this.queue = [];          // ids waiting to be sent, in order
    this.attempt = 0;
    this.retryTimer = null;
    this.stopped = true;
    this.listeners = new Map();

    this.onOnline = () => {
      if (this.ws && this.ws.readyState === WS_OPEN) {
        if (this.ready()) this.setState(STATE.ONLINE);
      } else {
        this.reconnectNow();
      }
    };
    this.onOffline = () => this.setState(STATE.OFFLINE);
  }

  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  emit(name, value) {
    for (const fn of this.listeners.get(name) || []) {
      try {
        fn(value);
      } catch (err) {
        console.error(err);
      }
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  /** Open the connection (and keep reopening it until stop()). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.win && this.win.addEventListener) {
      this.win.addEventListener('online', this.onOnline);
      this.win.addEventListener('offline', this.onOffline);
    }
    this.open();
  }

  /** Close for good; every waiting request fails with UNAVAILABLE. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.win && this.win.removeEventListener) {
      this.win.removeEventListener('online', this.onOnline);
      this.win.removeEventListener('offline', this.onOffline);
    }
    this.dropSocket();
    for (const id of [...this.pending.keys()]) this.fail(id, Code.UNAVAILABLE, 'connection stopped');
  }

  /** Forget the session and start over on a fresh, unbound socket (after log-out). */
  restart() {
    this.token = null;
    this.bound = false;
    this.dropSocket();
    this.failSent(Code.UNAVAILABLE, 'connection restarted');
    if (!this.stopped) this.open();
  }

  /** Retry now instead of waiting for the back-off (the network came back). */
  reconnectNow() {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState <= WS_OPEN) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempt = 0;
    this.open();
  }

  open() {
    this.retryTimer = null;
    let ws;
    try {
      ws = new this.WebSocket(this.url, SUBPROTOCOL);
    } catch (err) {
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.bound = false;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      if (this.token) this.sendResume();
      else this.becomeReady();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.receive(ev.data);
    };
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.bound = false;
      this.resuming = false;
      this.failSent(Code.UNAVAILABLE, 'connection lost');
      this.scheduleReconnect();
    };
    ws.onerror = () => {}; // a close event always follows
  }

  dropSocket() {
    const ws = this.ws;
    this.ws = null;
    this.bound = false;
    this.resuming = false;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const offline = this.win && this.win.navigator && this.win.navigator.onLine === false;
    this.setState(offline ? STATE.OFFLINE : STATE.RECONNECTING);
    const delay = backoffDelay(this.attempt, this.opts.backoffBaseMs, this.opts.backoffMaxMs,
      this.random);
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  sendResume() {
    this.resuming = true;
    const token = this.token;
    const p = this.request({ resume: { token } }, { front: true, force: true });
    p.then(() => {
      this.resuming = false;
      this.bound = true;
      this.becomeReady();
    }, (err) => {
      this.resuming = false;
      if (err.code === Code.UNAUTHENTICATED && this.token === token) {
        // The session is over (revoked or expired): carry on unbound.
        this.token = null;
        this.emit('session-ended', { code: err.code });
        this.becomeReady();
      } else if (this.ws) {
        // The edge could not check the token now (identity unavailable...): retry later.
        this.dropSocket();
        this.failSent(Code.UNAVAILABLE, 'resume failed');
        this.scheduleReconnect();
      }
    });
  }

  becomeReady() {
    this.setState(STATE.ONLINE);
    this.flush();
  }

  ready() {
    return this.ws && this.ws.readyState === WS_OPEN && !this.resuming &&
      (!this.token || this.bound);
  }

  flush() {
    while (this.queue.length && this.ready()) {
      const id = this.queue.shift();
      const p = this.pending.get(id);
      if (p) this.transmit(id, p);
    }
  }

  transmit(id, p) {
    p.sent = true;
    try {
      this.ws.send(p.bytes);
    } catch (err) {
      this.fail(id, Code.UNAVAILABLE, 'send failed');
    }
  }

  /**
   * Send one ClientMessage body (login, resume or call) and wait for its
   * CallReply. Resolves with the reply body (Uint8Array) when the status is
   * OK; rejects with an EspaceError otherwise.
   */
  request(kind, { timeoutMs = this.opts.timeoutMs, front = false, force = false } = {}) {
    const id = this.nextId++;
    const bytes = this.codec.encode('espace.v1.ClientMessage', { id, ...kind });
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject(new EspaceError(Code.UNAVAILABLE, 'connection stopped'));
        return;
      }
      if (!force && this.queue.length >= this.opts.maxQueue) {
        reject(new EspaceError(Code.RESOURCE_EXHAUSTED, 'too many waiting requests'));
        return;
      }
      const timer = setTimeout(() => this.fail(id, Code.DEADLINE_EXCEEDED, 'no reply in time'),
        timeoutMs);
      const p = { resolve, reject, timer, sent: false, bytes };
      this.pending.set(id, p);
      if (force && this.ws && this.ws.readyState === WS_OPEN) {
        this.transmit(id, p);
      } else if (front) {
        this.queue.unshift(id);
      } else {
        this.queue.push(id);
        this.flush();
      }
    });
  }

  fail(id, code, detail) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    const i = this.queue.indexOf(id);
    if (i >= 0) this.queue.splice(i, 1);
    p.reject(new EspaceError(code, detail));
  }

  failSent(code, detail) {
    for (const [id, p] of [...this.pending]) {
      if (p.sent) this.fail(id, code, detail);
    }
  }

  receive(data) {
    let msg;
    try {
      msg = this.codec.decode('espace.v1.ServerMessage', new Uint8Array(data));
    } catch (err) {
      console.warn('espace: undecodable server message', err.message);
      return;
    }
    switch (msg.kind) {
      case 'reply': {
        const p = this.pending.get(msg.id);
        if (!p) return; // late reply after a timeout
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        const st = msg.reply.status || { code: Code.OK, message: '', field: '' };
        if (st.code === Code.OK) p.resolve(msg.reply.body);
        else p.reject(new EspaceError(st.code, st.message, st.field));
        break;
      }
      case 'event':
        this.emit('event', msg.event);
        break;
      case 'resync':
        this.emit('resync', msg.resync);
        break;
      case 'closing':
        this.emit('closing', msg.closing);
        if (msg.closing.code === Code.UNAUTHENTICATED && this.token) {
          this.token = null;
          this.emit('session-ended', { code: msg.closing.code });
        }
        break;
      default:
        break;
    }
  }

  /** Log in (identity Login through the edge); binds this connection. Returns the LoginReply. */
  async login(loginRequest, opts) {
    const body = await this.request({ login: loginRequest }, opts);
    const reply = this.codec.decode('espace.v1.LoginReply', body);
    this.token = reply.token;
    this.bound = true;
    return reply;
  }

  /**
   * Use a saved session token: set it before start() (or call restart()
   * after), and the connection resumes it before sending anything else.
   */
  setToken(token) {
    this.token = token || null;
  }

  /**
   * Call `service`.`method` with request message `req` of type
   * espace.v1.<type><method>Request; resolves with the decoded
   * <type><method>Reply. `opts.type` is the message-name prefix of services
   * whose messages carry one (agenda: 'Agenda' for AgendaCreateRequest...);
   * the other options are those of request().
   */
  async call(service, method, req = {}, opts = {}) {
    const { type = '', ...ropts } = opts;
    const body = this.codec.encode(`espace.v1.${type}${method}Request`, req);
    const reply = await this.request({ call: { service, method, body, timeout_ms: 0 } }, ropts);
    return this.codec.decode(`espace.v1.${type}${method}Reply`, reply);
  }
}
