// Who the patient meets in "Mes autorisations", in French: professionals by
// name and profession — as their software declared them when they requested
// access or declared an emergency (consent.proto display_name, profession),
// the RPPS always beside it since that is what espace authenticated — and
// apps by their catalogue name. A professional known only by a grant the
// patient gave or an audit line borrows the name from their other records.
import { fr } from '../../i18n/fr.js';
import { enumConstants } from '../../enums.js';

const T = fr.consent;
const GRANTEE = enumConstants('espace.v1.GranteeKind', 'GRANTEE_');
const PRINCIPAL = enumConstants('espace.v1.PrincipalKind', 'PRINCIPAL_');

/** A person: { label (a heading), of ("de …"), subject (starts a sentence) }. */
const proPerson = (p) => ({ label: T.pro.label(p), of: T.pro.of(p), subject: T.pro.subject(p) });
const appPerson = (name) => ({ label: T.appNamed(name), of: T.appOf(name), subject: T.appSubject(name) });

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
