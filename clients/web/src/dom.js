// Tiny DOM helpers: elements are built with properties and text nodes only
// (never innerHTML), so data from the server cannot inject markup.

/**
 * h('p', { className: 'x', 'aria-live': 'polite' }, 'text', child, ...)
 * Attributes with a dash or starting with "aria"/"data" are set with
 * setAttribute, "on*" functions become listeners, the rest are properties.
 * null, undefined and false children are skipped; arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k.includes('-') || k === 'for' || k === 'role') el.setAttribute(k, v === true ? '' : String(v));
    else el[k] = v;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Lower-case hex of bytes (ids in logs and keys of maps). */
export function hex(bytes) {
  return Array.from(bytes || [], (b) => b.toString(16).padStart(2, '0')).join('');
}

let uid = 0;
/** A unique element id with a readable prefix. */
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A labelled form control (input, select, textarea with an id): label,
 * optional hint, the control, an error slot, wired with aria-describedby.
 * Returns { wrap, input, setError(msg), setOk(msg) }.
 */
export function labelled(label, input, hint) {
  const hintId = hint ? `${input.id}-hint` : null;
  const msg = h('p', { id: `${input.id}-msg`, className: 'field-msg' });
  input.setAttribute('aria-describedby', [hintId, msg.id].filter(Boolean).join(' '));
  const wrap = h('div', { className: 'field' },
    h('label', { for: input.id }, label),
    hint ? h('p', { id: hintId, className: 'hint' }, hint) : null,
    input, msg);
  return {
    wrap,
    input,
    setError(text) {
      msg.textContent = text || '';
      msg.className = text ? 'field-msg error' : 'field-msg';
      if (text) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
    setOk(text) {
      msg.textContent = text || '';
      msg.className = text ? 'field-msg ok' : 'field-msg';
      input.removeAttribute('aria-invalid');
    },
  };
}

/** A labelled text input (labelled): { wrap, input, setError, setOk }. */
export function field({ label, name, type = 'text', hint, autocomplete, required = true, inputmode, maxLength }) {
  const input = h('input', {
    id: nextId(name), name, type, autocomplete, inputMode: inputmode, maxLength, required,
  });
  return labelled(label, input, hint);
}

/** A message box; role "alert" for errors, "status" otherwise. */
export function notice(kind, text) {
  return h('div', { className: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}
