// The professionals (and apps) the patient meets, named the same way on
// every screen — "Mes autorisations", Messagerie, Documents: by the name and
// profession their software declared when they requested access or declared
// an emergency (consent.proto grantee_name/display_name, profession), the
// RPPS always beside it since that is what espace authenticated (names are
// declared, not verified: docs/consent.md "Names"), "Professionnel de santé
// (RPPS …)" when no name is known. Apps by their catalogue name (ListApps).
//
// The directory is fed from the patient's own consent records, with the
// methods the edge already allows them: loadPeople() lists their grants
// (ListGrants, every page) and emergencies (ListEmergencies). A professional
// known only by a grant the patient gave or an audit line borrows the name
// from their other records (the newest declaration wins).
//
// A person, as every screen uses it (French forms from fr.consent.pro):
//   label    "Dr Claire Martin (médecin, RPPS …)"      a heading, a list item
//   of       "du Dr … (…)", "de Paul Durand (…)", "d’Anne Petit (…)"
//   subject  "Le Dr Claire Martin"                      starts a sentence
//   object   "le Dr Claire Martin (médecin, RPPS …)"   after "avec", "par"
import { fr } from './i18n/fr.js';
import { enumConstants } from './enums.js';

const T = fr.consent;
const GRANTEE = enumConstants('espace.v1.GranteeKind', 'GRANTEE_');
const PRINCIPAL = enumConstants('espace.v1.PrincipalKind', 'PRINCIPAL_');
const GRANT_PAGE = 200;
const GRANT_MAX_PAGES = 10;

const proPerson = (p) => ({
  label: T.pro.label(p), of: T.pro.of(p), subject: T.pro.subject(p), object: T.pro.object(p),
});
const appPerson = (name) => ({
  label: T.appNamed(name), of: T.appOf(name), subject: T.appSubject(name), object: T.appObject(name),
});

/** "A", "A et B", "A, B et C". */
export const frList = (items) => new Intl.ListFormat('fr', { type: 'conjunction' }).format(items);

export class People {
  constructor() {
    this.pros = new Map(); // rpps -> { name, profession, at }
    this.apps = new Map(); // app id -> name
  }

  /** Remember a name declared at `at` (ms), the newest one winning. */
  learn(rpps, name, profession, at) {
    if (!rpps || !name) return;
    const known = this.pros.get(rpps);
    if (!known || known.at <= at) this.pros.set(rpps, { name, profession: profession || '', at });
  }

  learnGrant(g) {
    if (g.grantee_kind === GRANTEE.PROFESSIONAL) this.learn(g.grantee_id, g.grantee_name, g.grantee_profession, g.created_ms);
  }

  learnEmergency(e) {
    this.learn(e.rpps, e.display_name, e.profession, e.start_ms);
  }

  /** Whether a name is known for RPPS `rpps`. */
  knows(rpps) {
    return this.pros.has(rpps);
  }

  /** The professional of RPPS `rpps`. */
  pro(rpps) {
    const known = this.pros.get(rpps);
    return proPerson({ rpps, name: known ? known.name : '', profession: known ? known.profession : '' });
  }

  /** Who a grant is for. */
  grantee(g) {
    if (g.grantee_kind === GRANTEE.PROFESSIONAL) return this.pro(g.grantee_id);
    const name = this.apps.get(g.grantee_id) || g.grantee_id;
    return appPerson(name);
  }

  /** Who did an audited access (a heading-like label). */
  actor(e) {
    switch (e.actor_kind) {
      case PRINCIPAL.PROFESSIONAL: return this.pro(e.actor).label;
      case PRINCIPAL.APP: return this.apps.get(e.actor) ? T.appNamed(this.apps.get(e.actor)) : T.app(e.actor);
      case PRINCIPAL.PATIENT: return T.patient;
      case PRINCIPAL.OPERATOR: return T.operator;
      case PRINCIPAL.SERVICE: return T.service(e.actor);
      default: return e.actor || T.unknownActor;
    }
  }
}

/** Every grant of the patient (ListGrants, all pages up to 2000), newest change first. */
export async function listGrants(conn) {
  const all = [];
  let cursor = new Uint8Array(0);
  for (let i = 0; i < GRANT_MAX_PAGES; i++) {
    const r = await conn.call('consent', 'ListGrants', { cursor, limit: GRANT_PAGE });
    all.push(...r.grants);
    if (!r.next_cursor || r.next_cursor.length === 0) break;
    cursor = r.next_cursor;
  }
  return all.sort((a, b) => (b.updated_ms - a.updated_ms) || (b.created_ms - a.created_ms));
}

/** Every emergency access declared on the patient's data, ended ones too (ListEmergencies). */
export async function listEmergencies(conn) {
  const r = await conn.call('consent', 'ListEmergencies', { include_ended: true });
  return r.emergencies;
}

/**
 * Learn the names of the patient's records into `people` (a new People by
 * default): their grants and emergencies, fetched in parallel. Resolves
 * { people, grants, emergencies }; rejects with the call's EspaceError
 * (the screens then show RPPS only, or the error).
 */
export async function loadPeople(conn, people = new People()) {
  const [grants, emergencies] = await Promise.all([listGrants(conn), listEmergencies(conn)]);
  for (const g of grants) people.learnGrant(g);
  for (const e of emergencies) people.learnEmergency(e);
  return { people, grants, emergencies };
}
