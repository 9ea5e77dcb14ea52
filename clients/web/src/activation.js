// The activation of a pending account, shared by the screens that lead to it
// (sign-up, log-in) and the screen "Activer mon compte": the INS and password
// handed over in memory only (never stored), and the check of a code.
import { fr } from './i18n/fr.js';

export const CODE_DIGITS = 10;

// What the sign-up or the log-in hands over: kept in memory only, the
// password forgotten once used.
export const pending = { ins: '', password: '' };

/** Hand the INS and password over to the activation screen. */
export function handOver(ins, password) {
  pending.ins = ins;
  pending.password = password;
}

/** The code's digits (spaces and dashes dropped), or '' with the French problem. */
export function codeCheck(value) {
  const v = (value || '').replace(/[\s-]/g, '');
  if (!v) return { value: '', message: fr.activation.codeEmpty };
  if (!new RegExp(`^\\d{${CODE_DIGITS}}$`).test(v)) return { value: '', message: fr.activation.codeFormat };
  return { value: v, message: '' };
}
