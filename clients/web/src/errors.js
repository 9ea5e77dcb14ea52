// French messages for every espace.v1.Code (proto/espace/v1/common.proto),
// and the error type the protocol module throws. The code values come from
// the schema (src/enums.js); test/web/unit.test.mjs checks that every code
// has its French message.
import { fr } from './i18n/fr.js';
import { enumConstants, enumName } from './enums.js';

/** espace.v1.Code values by name without "CODE_" (Code.NOT_FOUND), from the schema. */
export const Code = enumConstants('espace.v1.Code', 'CODE_');

/** The proto name ("CODE_NOT_FOUND") of a numeric code, or null when unknown. */
export function codeName(code) {
  return enumName('espace.v1.Code', code) || null;
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
