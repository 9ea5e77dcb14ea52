// A conversation's local log (pure functions, no I/O): the messages this
// device decrypted or sent, de-duplicated by message id, in the order the
// server stored them, with read state kept here (never on the server).
//
// A conversation record: { id (hex), patientId, professionals [RPPS],
// startedBy, startedMs, closed, messages: [message] }; a message: { id
// (hex), from: { kind, principal }, device (hex), sentMs, mine (sent by this
// patient, from any of their devices), text, attachments, read (mine: always;
// others': the patient saw it), readBy [principals], deliveredTo
// [principals], unreadable (could not be decrypted) }.

/** A new local record from a server Conversation (id as hex). */
export function convFromServer(c, idHex) {
  return {
    id: idHex,
    patientId: c.patient_id,
    professionals: [...(c.professionals || [])],
    startedBy: c.started_by,
    startedMs: Number(c.started_ms) || 0,
    closed: Boolean(c.closed),
    closedMs: Number(c.closed_ms) || 0,
    messages: [],
  };
}

/** Update the members and state of `conv` from a server Conversation. */
export function convUpdate(conv, c) {
  conv.professionals = [...(c.professionals || [])];
  conv.closed = Boolean(c.closed);
  conv.closedMs = Number(c.closed_ms) || 0;
  conv.startedBy = c.started_by;
  conv.startedMs = Number(c.started_ms) || conv.startedMs;
}

/** Is message id `id` already in the log? */
export const hasMessage = (conv, id) => conv.messages.some((m) => m.id === id);

/**
 * Add message `m` unless its id is known: returns false for a duplicate.
 * Keeps the log sorted by sentMs (stable: equal times stay in arrival order).
 */
export function addMessage(conv, m) {
  if (hasMessage(conv, m.id)) return false;
  const msg = { readBy: [], deliveredTo: [], attachments: [], read: Boolean(m.mine), ...m };
  let i = conv.messages.length;
  while (i > 0 && conv.messages[i - 1].sentMs > msg.sentMs) i--;
  conv.messages.splice(i, 0, msg);
  return true;
}

/** Messages of others the patient has not seen. */
export const unreadCount = (conv) => conv.messages.filter((m) => !m.mine && !m.read).length;

/** Mark every message of others read; returns the ids that were unread (for a read receipt). */
export function markAllRead(conv) {
  const ids = [];
  for (const m of conv.messages) {
    if (!m.mine && !m.read) {
      m.read = true;
      if (!m.unreadable) ids.push(m.id);
    }
  }
  return ids;
}

/**
 * A read receipt `ids` from `principal`: when it is the patient (another of
 * their devices read them), those messages are read here too; otherwise the
 * patient's own messages gain that reader. Returns true if anything changed.
 */
export function applyRead(conv, ids, principal, bySelf) {
  let changed = false;
  const set = new Set(ids);
  for (const m of conv.messages) {
    if (!set.has(m.id)) continue;
    if (bySelf && !m.mine && !m.read) {
      m.read = true;
      changed = true;
    } else if (!bySelf && m.mine && !m.readBy.includes(principal)) {
      m.readBy.push(principal);
      changed = true;
    }
  }
  return changed;
}

/** A delivery receipt (the service's RECEIPT entry) of message `id` by `principal`. */
export function applyDelivered(conv, id, principal) {
  const m = conv.messages.find((x) => x.id === id);
  if (!m || !m.mine || m.deliveredTo.includes(principal)) return false;
  m.deliveredTo.push(principal);
  return true;
}

/** The newest message (or null). */
export const lastMessage = (conv) => conv.messages[conv.messages.length - 1] || null;
