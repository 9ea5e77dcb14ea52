// The values of the espace protobuf enums, read from the schema
// (src/schema.js, made from the .proto files): the app never copies an
// enum's numbers by hand. Values are looked up by their .proto name, and a
// name the schema does not have throws at once (a typo, or a value renamed
// in the .proto file) instead of quietly comparing with undefined. French
// labels are keyed by the same names in src/i18n/fr.js.
import schema from './schema.js';

const VALUE_NAME = /^[A-Z][A-Z0-9_]*$/;

/** `obj` (frozen), where reading a missing value name throws. */
function strict(obj, what) {
  return new Proxy(Object.freeze(obj), {
    get(target, key) {
      if (typeof key === 'string' && VALUE_NAME.test(key) && !Object.hasOwn(target, key)) {
        throw new Error(`espace: ${what} has no value ${key} in the schema`);
      }
      return target[key];
    },
  });
}

const cache = new Map();

/** Enum `name` ("espace.v1.AgendaStatus") as { VALUE_NAME: number }, e.g. .AGENDA_STATUS_CANCELLED. */
export function enumValues(name) {
  let e = cache.get(name);
  if (!e) {
    const values = schema.enums[name];
    if (!values) throw new Error(`espace: no enum ${name} in the schema`);
    e = strict({ ...values }, name);
    cache.set(name, e);
  }
  return e;
}

/** The number of value `value` ("AGENDA_STATUS_CANCELLED") of enum `name`. */
export function enumValue(name, value) {
  return enumValues(name)[value];
}

/** The name of number `n` in enum `name`, or '' when the schema has none (e.g. a newer server's value). */
export function enumName(name, n) {
  for (const [k, v] of Object.entries(enumValues(name))) if (v === n) return k;
  return '';
}

/**
 * Enum `name` as { SHORT: number } with `prefix` cut from every value name:
 * enumConstants('espace.v1.AgendaStatus', 'AGENDA_STATUS_').CANCELLED.
 */
export function enumConstants(name, prefix) {
  const out = {};
  for (const [k, v] of Object.entries(enumValues(name))) {
    if (!k.startsWith(prefix)) throw new Error(`espace: ${name}.${k} does not start with ${prefix}`);
    out[k.slice(prefix.length)] = v;
  }
  return strict(out, name);
}
