// French messages for every espace.v1.Code (proto/espace/v1/common.proto),
// and the error type the protocol module throws. The numeric values mirror
// the enum; test/web/unit.test.mjs checks both against common.proto.
import { fr } from './i18n/fr.js';

/** espace.v1.Code values by name. */
export const Code = Object.freeze({
  OK: 0,
  INVALID_ARGUMENT: 1,
  UNAUTHENTICATED: 2,
  PERMISSION_DENIED: 3,
  NOT_FOUND: 4,
  ALREADY_EXISTS: 5,
  ABORTED: 6,
  TOO_LARGE: 7,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 9,
  DEADLINE_EXCEEDED: 10,
  INTERNAL: 11,
  UNIMPLEMENTED: 12,
  FAILED_PRECONDITION: 13,
});

/** The proto name ("CODE_NOT_FOUND") of a numeric code, or null when unknown. */
export function codeName(code) {
  for (const [name, value] of Object.entries(Code)) {
    if (value === code) return `CODE_${name}`;
  }
  return null;
}

/** The French message for a code (and, when given, the field at fault). */
export function errorMessage(code, field = '') {
  const name = codeName(code);
  const base = name ? fr.errors[name] : fr.errors.unknown(code);
  if (code === Code.INVALID_ARGUMENT && field) {
    const top = field.replace(/[.[].*$/, '');
    const label = fr.errors.fields[top];
    if (label) return fr.errors.field(label, base);
  }
  return base;
}

/** A failed request: an espace.v1.Status turned into an exception. */
export class EspaceError extends Error {
  constructor(code, detail = '', field = '') {
    super(`${codeName(code) || code}: ${detail}`);
    this.name = 'EspaceError';
    this.code = code;
    this.detail = detail; // English, from the server, for logs only
    this.field = field;
  }

  /** The message to show to the patient. */
  get french() {
    return errorMessage(this.code, this.field);
  }
}

/** French text for any error thrown while talking to espace. */
export function describeError(err) {
  if (err instanceof EspaceError) return err.french;
  return fr.errors.CODE_INTERNAL;
}
