// The document codes of the DMP as data (shared/domain/REFERENCE.md §1):
// the tender's 34 document types with their group, code system and J07
// label, the patient-deposited DOCPAT types, the DMP class codes
// (JDV_J57), the visibility codes (TRE_A07) and the confidentiality codes
// (TRE_A08). Nothing here is free text: every code and label is the one the
// reference gives, and test/web/dmp-unit.test.mjs checks them against it.
// The French headings of the groups are the tender's own words.

/** Code systems by short name: OID and FHIR URI (REFERENCE.md §0). */
export const SYSTEMS = Object.freeze({
  LOINC: { oid: '2.16.840.1.113883.6.1', uri: 'http://loinc.org' },
  TRE_A05: {
    oid: '1.2.250.1.213.1.1.4.12',
    uri: 'https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire',
  },
  TRE_A03: {
    oid: '1.2.250.1.213.1.1.4.1',
    uri: 'https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument',
  },
  TRE_A07: {
    oid: '1.2.250.1.213.1.1.4.13',
    uri: 'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument',
  },
  TRE_A08: {
    oid: '2.16.840.1.113883.5.25',
    uri: 'https://mos.esante.gouv.fr/NOS/TRE_A08-HL7Confidentiality/FHIR/TRE-A08-HL7Confidentiality',
  },
});

/**
 * The tender's groups, in the order the patient sees them, keyed by the
 * espace.v1.DocCategory value name without DOC_CATEGORY_ (dmp.proto), with
 * their headings; OTHER gathers the patient's own documents that belong to
 * none of them (DOCPAT07-09), under the label of their class 90.
 */
export const GROUPS = Object.freeze([
  { key: 'SYNTHESES', label: 'Synthèses' },
  { key: 'TREATMENTS', label: 'Traitement et soins' },
  { key: 'REPORTS', label: 'Comptes-rendus' },
  { key: 'IMAGING', label: 'Imagerie' },
  { key: 'BIOLOGY', label: 'Biologie' },
  { key: 'PREVENTION', label: 'Prévention' },
  { key: 'OTHER', label: 'Autres documents déposés par le patient' },
]);

const t = (group, code, system, label, classCode) => Object.freeze({ group, code, system, label, classCode, patient: false });
const p = (group, code, label) => Object.freeze({ group, code, system: 'TRE_A05', label, classCode: '90', patient: true });

/**
 * Every document type: { group, code, system, label (the J07 display),
 * classCode (TRE_A03, INF in the reference), patient (a DOCPAT type) }.
 * "Synthèse du dossier médical" is SYNTH or 60591-5 (UNCONF): both are
 * listed so that either one a server sends is shown under Synthèses.
 */
export const DOC_TYPES = Object.freeze([
  t('SYNTHESES', '18761-7', 'LOINC', 'Note de transfert (dont lettre de liaison à l\'entrée en établissement de soins)', '11'),
  t('SYNTHESES', '34133-9', 'LOINC', 'Synthèse d\'épisode de soins', '11'),
  t('SYNTHESES', 'SYNTH', 'TRE_A05', 'Synthèse', '11'),
  t('SYNTHESES', '60591-5', 'LOINC', 'Synthèse médicale', '11'),
  t('TREATMENTS', '80565-5', 'LOINC', 'CR d\'administration de médicaments', '45'),
  t('TREATMENTS', '11506-3', 'LOINC', 'CR ou fiche de suivi de soins par auxiliaire médical', '10'),
  t('TREATMENTS', '60593-1', 'LOINC', 'Dispensation médicamenteuse', '43'),
  t('TREATMENTS', 'DISP_AUT', 'TRE_A05', 'Dispensation (autre)', '43'),
  t('TREATMENTS', '18776-5', 'LOINC', 'Plan personnalisé de soins', '44'),
  t('TREATMENTS', '57833-6', 'LOINC', 'Prescription de produits de santé', '42'),
  t('TREATMENTS', '57832-8', 'LOINC', 'Prescription de soins', '42'),
  t('TREATMENTS', '57828-6', 'LOINC', 'Prescription (autre)', '42'),
  t('TREATMENTS', 'PROT_ALD', 'TRE_A05', 'Protocole de soins ALD', '44'),
  t('REPORTS', '15508-5', 'LOINC', 'CR d\'accouchement', '10'),
  t('REPORTS', '70004-7', 'LOINC', 'CR d\'acte diagnostique (autre)', '10'),
  t('REPORTS', '11505-5', 'LOINC', 'CR d\'acte thérapeutique (autre)', '10'),
  t('REPORTS', '67851-6', 'LOINC', 'CR d\'admission', '10'),
  t('REPORTS', '77436-4', 'LOINC', 'CR d\'anesthésie', '10'),
  t('REPORTS', 'BIL_AUTO', 'TRE_A05', 'CR de bilan d\'évaluation de la perte d\'autonomie', '10'),
  t('REPORTS', '47420-5', 'LOINC', 'CR de bilan fonctionnel', '10'),
  t('REPORTS', '34749-2', 'LOINC', 'CR de consultation pré-anesthésique', '10'),
  t('REPORTS', '51969-4', 'LOINC', 'CR de génétique moléculaire', '10'),
  t('REPORTS', '15507-7', 'LOINC', 'CR de passage aux urgences', '10'),
  t('REPORTS', '34794-8', 'LOINC', 'CR de réunion de concertation pluridisciplinaire', '10'),
  t('REPORTS', '85208-7', 'LOINC', 'CR de télémédecine', '10'),
  t('REPORTS', '34112-3', 'LOINC', 'CR hospitalier (séjour)', '10'),
  t('REPORTS', '34874-8', 'LOINC', 'CR opératoire', '10'),
  t('REPORTS', '11488-4', 'LOINC', 'CR ou fiche de consultation ou de visite', '10'),
  t('REPORTS', '11490-0', 'LOINC', 'Lettre de liaison à la sortie d\'un établissement de soins', '10'),
  t('IMAGING', '18748-4', 'LOINC', 'CR d\'imagerie médicale', '10'),
  t('IMAGING', '52040-3', 'LOINC', 'Document encapsulant une image d\'illustration non DICOM', '31'),
  t('BIOLOGY', '60568-3', 'LOINC', 'CR d\'anatomie et de cytologie pathologiques', '10'),
  t('BIOLOGY', '11502-2', 'LOINC', 'CR d\'examens biologiques', '10'),
  t('PREVENTION', '75492-9', 'LOINC', 'CR d\'acte diagnostique à visée préventive ou de dépistage', '10'),
  t('PREVENTION', '75482-0', 'LOINC', 'CR d\'acte thérapeutique à visée préventive', '10'),
  p('SYNTHESES', 'DOCPAT01', 'Synthèse déposée par le patient'),
  p('TREATMENTS', 'DOCPAT02', 'Traitement ou document de soins déposé par le patient'),
  p('REPORTS', 'DOCPAT03', 'CR déposé par le patient'),
  p('IMAGING', 'DOCPAT04', 'Imagerie déposée par le patient'),
  p('BIOLOGY', 'DOCPAT05', 'CR de biologie déposé par le patient'),
  p('PREVENTION', 'DOCPAT06', 'CR de prévention déposé par le patient'),
  p('OTHER', 'DOCPAT07', 'Certificat déposé par le patient'),
  p('OTHER', 'DOCPAT08', 'Profil médical Mon espace santé'),
  p('OTHER', 'DOCPAT09', 'Document administratif déposé par le patient'),
]);

/** JDV_J57-ClassCode-DMP (TRE_A03 labels). */
export const CLASS_CODES = Object.freeze({
  '10': 'Compte rendu',
  '11': 'Synthèse',
  '31': 'Imagerie médicale',
  '42': 'Prescription',
  '43': 'Dispensation',
  '44': 'Plan de soins/protocole de soins',
  '45': 'Traitement administré',
  '52': 'Certificat/déclaration',
  '60': 'Données de remboursement',
  '90': 'Autres documents déposés par le patient',
  '95': 'Document de gestion',
});

/** TRE_A07 visibility codes. */
export const VISIBILITY = Object.freeze({
  INVISIBLE_PATIENT: 'INVISIBLE_PATIENT',
  INVISIBLE_REPRESENTANTS_LEGAUX: 'INVISIBLE_REPRESENTANTS_LEGAUX',
  MASQUE_PS: 'MASQUE_PS',
  MASQUE_PSOCIAL: 'MASQUE_PSOCIAL',
  MASQUE_PT: 'MASQUE_PT',
});

/** TRE_A08 confidentiality: N Normal, R Restreint, V Très restreint. */
export const CONFIDENTIALITY = Object.freeze({ N: 'Normal', R: 'Restreint', V: 'Très restreint' });

const byCode = new Map(DOC_TYPES.map((d) => [d.code, d]));

/** The type of code `code`, or null when the table has none (a newer server's type). */
export function docType(code) {
  return byCode.get(code) || null;
}

/** The group key of type code `code`, or null when the table has none. */
export function groupOf(code) {
  const d = byCode.get(code);
  return d ? d.group : null;
}

/** The label of group `key` ('' when unknown). */
export function groupLabel(key) {
  const g = GROUPS.find((x) => x.key === key);
  return g ? g.label : '';
}

/** The types a patient may deposit (DOCPAT01-09), in order. */
export const PATIENT_TYPES = Object.freeze(DOC_TYPES.filter((d) => d.patient));

/** The types of group `key` (all of them when key is empty). */
export function typesOf(key) {
  return key ? DOC_TYPES.filter((d) => d.group === key) : DOC_TYPES.slice();
}
