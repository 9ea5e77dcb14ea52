// The matricule INS (NIR or NIA): normalisation and key check, as in
// shared/domain/REFERENCE.md section 5.1 and services/identity/ins.c.
// 13 characters + a 2-digit key; Corsica departments 2A and 2B count as 19
// and 18 for the arithmetic; key = 97 - (body mod 97). Also the French
// message the sign-up and log-in forms show when the check fails.
import { fr } from './i18n/fr.js';

/** Remove spaces (and the dots or dashes people type), upper-case. */
export function insNormalize(input) {
  return String(input ?? '').replace(/[\s.\-]/g, '').toUpperCase();
}

/**
 * Check a matricule INS. Returns { ok: true, value } with the normalised
 * 15 characters, or { ok: false, reason } where reason is one of
 * 'empty', 'characters', 'length', 'first', 'key'.
 */
export function insCheck(input) {
  const s = insNormalize(input);
  if (s.length === 0) return { ok: false, reason: 'empty' };
  if (!/^[0-9AB]*$/.test(s)) return { ok: false, reason: 'characters' };
  if (s.length !== 15) return { ok: false, reason: 'length' };
  // Position 1 is the sex digit; identity accepts 1 or 2 only (ins.c).
  if (s[0] !== '1' && s[0] !== '2') return { ok: false, reason: 'first' };
  let body = s.slice(0, 13);
  const dept = body.slice(5, 7);
  if (dept === '2A') body = body.slice(0, 5) + '19' + body.slice(7);
  else if (dept === '2B') body = body.slice(0, 5) + '18' + body.slice(7);
  if (!/^\d{13}$/.test(body) || !/^\d{2}$/.test(s.slice(13))) {
    return { ok: false, reason: 'characters' };
  }
  const expected = 97n - (BigInt(body) % 97n);
  if (expected !== BigInt(s.slice(13))) return { ok: false, reason: 'key' };
  return { ok: true, value: s };
}

/** Group the 15 characters as printed on a carte Vitale: 1 23 45 67 890 123 45. */
export function insFormat(input) {
  const s = insNormalize(input);
  if (s.length !== 15) return s;
  return [s.slice(0, 1), s.slice(1, 3), s.slice(3, 5), s.slice(5, 7), s.slice(7, 10),
    s.slice(10, 13), s.slice(13, 15)].join(' ');
}

/** The French message for an insCheck() failure, or '' when valid. */
export function insMessage(value) {
  const r = insCheck(value);
  if (r.ok) return '';
  if (r.reason === 'length') return fr.ins.length(insNormalize(value).length);
  return fr.ins[r.reason];
}
