// The thread of one conversation (#/messagerie/<id>): messages decrypted on
// this device in order, read state (a read receipt goes out encrypted when
// the patient sees new messages), compose and send with attachments
// (encrypted here, uploaded with a progress bar, resumed after a
// reconnect), downloads, and the safety numbers of the other devices.
import { h, notice, nextId } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { describeError, EspaceError, Code } from '../../errors.js';
import { enumConstants } from '../../enums.js';
import { TEXT_MAX } from '../../messaging/content.js';
import { FILE_MAX } from '../../messaging/attach.js';
import { members, messagingPeople } from './index.js';
import { progressBar } from '../../progress.js';

const T = fr.messaging;
const Principal = enumConstants('espace.v1.PrincipalKind', 'PRINCIPAL_');

function author(m, myDevice, people) {
  if (m.from.kind === Principal.PATIENT) return m.device === myDevice ? T.you : T.youOtherDevice;
  return people.pro(m.from.principal).label;
}

export function render(ctx, convId) {
  const m = ctx.messenger;
  const conv0 = m.conv(convId);
  let alive = true;
  const { people, learn } = messagingPeople(ctx, () => { if (alive) renderThread(); });
  const heading = h('h1', { tabIndex: -1 }, conv0 ? T.threadTitle(members(conv0, people).object) : T.title);
  const meta = h('p', { className: 'aside' });
  const status = h('p', { id: 'msg-status', className: 'aside', role: 'status' });
  const log = h('ol', { id: 'thread', className: 'thread', role: 'log', 'aria-label': T.logLabel, 'aria-live': 'polite' });
  const alert = h('div', { id: 'thread-alert' });
  const composeBox = h('div', { id: 'compose-box' });
  const safetyBox = h('div', { id: 'safety-box' });
  let marking = false;

  function attachmentItem(att) {
    const out = h('span', { className: 'att-status', role: 'status' });
    const btn = h('button', {
      type: 'button', className: 'link attachment',
      onclick: async () => {
        btn.disabled = true;
        const bar = progressBar(att.name, T.downloadProgress);
        out.replaceChildren(bar.wrap);
        try {
          const bytes = await m.downloadFile(att, (d, t) => bar.set(d, t));
          const url = URL.createObjectURL(new Blob([bytes], { type: att.mime || 'application/octet-stream' }));
          const a = h('a', { href: url, download: att.name || 'piece-jointe' });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60000);
          out.replaceChildren(T.downloadDone(att.name));
        } catch (err) {
          out.replaceChildren(notice('error', err instanceof EspaceError ? describeError(err) : T.downloadFailed));
        } finally {
          btn.disabled = false;
        }
      },
    }, T.downloadLabel(att.name, T.size(att.plainSize)));
    return h('li', {}, btn, ' ', out);
  }

  function messageItem(msg) {
    const who = author(msg, m.myDevice, people);
    const state = msg.mine && msg.device === m.myDevice
      ? (msg.readBy.length ? T.read : msg.deliveredTo.length ? T.delivered : '') : '';
    return h('li', { className: `msg ${msg.mine ? 'mine' : 'theirs'}${msg.unreadable ? ' unreadable' : ''}`, 'data-id': msg.id },
      h('p', { className: 'msg-head' },
        h('span', { className: 'msg-who' }, who), ' ',
        h('time', { dateTime: new Date(msg.sentMs).toISOString() }, T.sentAt(fr.time.dateTime(new Date(msg.sentMs))))),
      msg.unreadable ? h('p', { className: 'msg-text' }, T.unreadable)
        : msg.text ? h('p', { className: 'msg-text' }, msg.text) : null,
      msg.attachments && msg.attachments.length
        ? h('ul', { className: 'attachments' }, msg.attachments.map(attachmentItem)) : null,
      state ? h('p', { className: 'msg-state' }, state) : null);
  }

  function renderThread() {
    const conv = m.conv(convId);
    status.textContent = !m.ready ? T.starting : m.error ? T.syncFailed
      : m.caughtUp && !m.syncing ? T.caughtUp : T.syncing;
    if (!conv) return;
    learn(conv.professionals);
    heading.textContent = T.threadTitle(members(conv, people).object);
    meta.textContent = conv.startedMs ? T.startedOn(fr.time.date(new Date(conv.startedMs))) : '';
    // keep rendered items (their download state); add new ones, refresh states
    const have = new Map([...log.children].map((li) => [li.dataset.id, li]));
    const items = conv.messages.map((msg) => {
      const old = have.get(msg.id);
      const fresh = messageItem(msg);
      if (old && old.querySelector('.att-status:not(:empty)')) return old;
      return fresh;
    });
    log.replaceChildren(...items);
    renderCompose(conv);
    if (document.visibilityState !== 'hidden' && conv.messages.some((x) => !x.mine && !x.read) && !marking) {
      marking = true;
      m.markRead(convId).finally(() => { marking = false; });
    }
  }

  let composeFor = null;
  function renderCompose(conv) {
    const key = conv.closed ? 'closed' : 'open';
    if (composeFor === key) return;
    composeFor = key;
    if (conv.closed) {
      composeBox.replaceChildren(notice('info', T.closed(conv.closedMs ? fr.time.dateTime(new Date(conv.closedMs)) : '')));
      return;
    }
    const textId = nextId('compose');
    const hintId = `${textId}-hint`;
    const text = h('textarea', { id: textId, name: 'text', rows: 4, maxLength: TEXT_MAX, 'aria-describedby': hintId });
    const fileId = nextId('attach');
    const file = h('input', { id: fileId, type: 'file', name: 'file', multiple: true });
    const progress = h('div', { id: 'upload-progress' });
    const msgEl = h('div', { id: 'compose-msg' });
    const sendBtn = h('button', { type: 'submit', className: 'primary' }, T.send);
    const form = h('form', {
      id: 'compose', className: 'compose',
      onsubmit: async (e) => {
        e.preventDefault();
        msgEl.replaceChildren();
        const files = [...file.files];
        const body = text.value;
        if (!body.trim() && files.length === 0) {
          msgEl.replaceChildren(notice('error', T.empty));
          return;
        }
        const big = files.find((f) => f.size > FILE_MAX);
        if (big) {
          msgEl.replaceChildren(notice('error', T.fileTooLarge(big.name)));
          return;
        }
        sendBtn.disabled = true;
        try {
          const atts = [];
          for (const f of files) {
            const bar = progressBar(T.uploadLabel(f.name), T.uploadProgress);
            progress.append(bar.wrap);
            const bytes = new Uint8Array(await f.arrayBuffer());
            atts.push(await m.uploadFile(convId, { name: f.name, mime: f.type, bytes }, (d, t) => bar.set(d, t)));
          }
          await m.sendText(convId, body, atts);
          text.value = '';
          file.value = '';
          progress.replaceChildren();
          msgEl.replaceChildren(notice('ok', T.sent));
          text.focus();
        } catch (err) {
          const t = err.devicesChanged ? T.devicesChanged
            : err instanceof EspaceError ? describeError(err) : err.message === 'no recipient device' ? T.noDevice
              : fr.errors.CODE_INTERNAL;
          msgEl.replaceChildren(notice('error', t));
        } finally {
          sendBtn.disabled = false;
        }
      },
    },
    h('div', { className: 'field' },
      h('label', { for: textId }, T.compose),
      h('p', { id: hintId, className: 'hint' }, T.composeHint),
      text),
    h('div', { className: 'field' }, h('label', { for: fileId }, T.attach), file),
    progress,
    h('div', { className: 'actions' }, sendBtn),
    msgEl);
    composeBox.replaceChildren(form);
  }

  function renderSafety() {
    const show = h('button', {
      type: 'button', className: 'secondary', id: 'safety-show',
      onclick: async () => {
        show.disabled = true;
        try {
          const list = await m.safetyNumbers(convId);
          if (list.length === 0) {
            out.replaceChildren(h('p', {}, T.safetyNone));
            return;
          }
          const count = new Map();
          out.replaceChildren(h('ul', { className: 'items safety', id: 'safety-list' }, list.map((x) => {
            const who = x.member.kind === Principal.PATIENT ? T.youOtherDevice : people.pro(x.member.principal).label;
            const n = (count.get(who) || 0) + 1;
            count.set(who, n);
            return h('li', {},
              h('span', { className: 'item-title' }, T.safetyDevice(who, n)),
              h('p', { className: 'safety-number', 'aria-label': `${T.safetyLabel} : ${x.number}` },
                x.number.split(' ').map((g) => h('span', { className: 'digits' }, g))));
          })));
        } catch (err) {
          out.replaceChildren(notice('error', describeError(err)));
        } finally {
          show.disabled = false;
        }
      },
    }, T.safetyShow);
    const out = h('div', {});
    safetyBox.replaceChildren(h('details', { className: 'safety' },
      h('summary', {}, T.safetyTitle),
      h('p', {}, T.safetyIntro), show, out));
  }

  const onVisible = () => renderThread();
  document.addEventListener('visibilitychange', onVisible);
  const off = m.on(renderThread);
  if (conv0) {
    renderThread();
  } else {
    m.fetchConversation(convId).then(() => renderThread(), (err) => {
      alert.replaceChildren(notice('error', err instanceof EspaceError && err.code === Code.NOT_FOUND
        ? T.notFound : describeError(err)));
    });
  }
  renderSafety();
  m.sync();

  return {
    title: T.title,
    destroy: () => {
      alive = false;
      off();
      document.removeEventListener('visibilitychange', onVisible);
    },
    el: h('section', { className: 'screen messaging thread-screen' },
      h('p', {}, h('a', { href: '#/messagerie', id: 'thread-back' }, T.back)),
      heading, meta, status, alert,
      log, composeBox, safetyBox),
  };
}
