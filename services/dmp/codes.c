/*
 * codes.c - the code tables of the DMP (pure data, no logic beyond lookups).
 * Every code, display and range comes from ../shared/domain/REFERENCE.md
 * (section 1 documents, section 2 measures); where REFERENCE.md marks a
 * value INF or UNCONF, the row says so. Never add a code from memory.
 */
#include <string.h>

#include "services/dmp/dmp_int.h"

#define CAT(x) ESPACE__V1__DOC_CATEGORY__DOC_CATEGORY_##x
#define L DMP_SYS_LOINC
#define A05 DMP_SYS_TRE_A05

/* Code systems (REFERENCE.md section 0). */
const char *const dmp_system_uri[DMP_SYS_COUNT] = {
    [DMP_SYS_LOINC] = "http://loinc.org",
    [DMP_SYS_TRE_A05] = "https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/"
                        "TRE-A05-TypeDocComplementaire",
    [DMP_SYS_TRE_A03] = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/"
                        "TRE-A03-ClasseDocument",
    [DMP_SYS_TRE_A08] = "https://mos.esante.gouv.fr/NOS/TRE_A08-HL7Confidentiality/FHIR/"
                        "TRE-A08-HL7Confidentiality",
    [DMP_SYS_TRE_A07] = "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/"
                        "TRE-A07-StatutVisibiliteDocument",
    [DMP_SYS_TRE_R308] = "https://mos.esante.gouv.fr/NOS/TRE_R308-TAASIP/FHIR/TRE-R308-TAASIP",
    [DMP_SYS_UCUM] = "http://unitsofmeasure.org",
    [DMP_SYS_CISP2] = "urn:oid:2.16.840.1.113883.6.139",
};

/* Document types: the tender's 34 types and the patient's DOCPAT codes.
 * Source: JDV_J07-XdsTypeCode-CISIS v20260629 (OID 1.2.250.1.213.1.1.5.471)
 * and CodeSystem TRE_A05 (1.2.250.1.213.1.1.4.12), Terminologies de Santé
 * v1.12.0 (REFERENCE.md section 1). Display = the J07 label. The default
 * class (TRE_A03) is INF in REFERENCE.md: where it offers two ("10 or 44",
 * "10 or 31") the first is the default and the other is accepted. "Synthèse
 * du dossier médical" is UNCONF between SYNTH and 60591-5: both accepted.
 * DOCPAT classes: 90 (INF). The "Autres" group for DOCPAT07..09 is INF. */
const dmp_doc_type_t dmp_doc_types[] = {
    /* Synthèses */
    {"18761-7", L, "Note de transfert (dont lettre de liaison à l'entrée en établissement de soins)", CAT(SYNTHESES), "11", NULL, 0},
    {"34133-9", L, "Synthèse d'épisode de soins", CAT(SYNTHESES), "11", "10", 0},
    {"SYNTH", A05, "Synthèse", CAT(SYNTHESES), "11", NULL, 0},
    {"60591-5", L, "Synthèse médicale", CAT(SYNTHESES), "11", NULL, 0},
    /* Traitement et soins */
    {"80565-5", L, "CR d'administration de médicaments", CAT(TREATMENTS), "45", NULL, 0},
    {"11506-3", L, "CR ou fiche de suivi de soins par auxiliaire médical", CAT(TREATMENTS), "10", "44", 0},
    {"60593-1", L, "Dispensation médicamenteuse", CAT(TREATMENTS), "43", NULL, 0},
    {"DISP_AUT", A05, "Dispensation (autre)", CAT(TREATMENTS), "43", NULL, 0},
    {"18776-5", L, "Plan personnalisé de soins", CAT(TREATMENTS), "44", NULL, 0},
    {"57833-6", L, "Prescription de produits de santé", CAT(TREATMENTS), "42", NULL, 0},
    {"57832-8", L, "Prescription de soins", CAT(TREATMENTS), "42", NULL, 0},
    {"57828-6", L, "Prescription (autre)", CAT(TREATMENTS), "42", NULL, 0},
    {"PROT_ALD", A05, "Protocole de soins ALD", CAT(TREATMENTS), "44", NULL, 0},
    /* Comptes-rendus */
    {"15508-5", L, "CR d'accouchement", CAT(REPORTS), "10", NULL, 0},
    {"70004-7", L, "CR d'acte diagnostique (autre)", CAT(REPORTS), "10", NULL, 0},
    {"11505-5", L, "CR d'acte thérapeutique (autre)", CAT(REPORTS), "10", NULL, 0},
    {"67851-6", L, "CR d'admission", CAT(REPORTS), "10", NULL, 0},
    {"77436-4", L, "CR d'anesthésie", CAT(REPORTS), "10", NULL, 0},
    {"BIL_AUTO", A05, "CR de bilan d'évaluation de la perte d'autonomie", CAT(REPORTS), "10", NULL, 0},
    {"47420-5", L, "CR de bilan fonctionnel", CAT(REPORTS), "10", NULL, 0},
    {"34749-2", L, "CR de consultation pré-anesthésique", CAT(REPORTS), "10", NULL, 0},
    {"51969-4", L, "CR de génétique moléculaire", CAT(REPORTS), "10", NULL, 0},
    {"15507-7", L, "CR de passage aux urgences", CAT(REPORTS), "10", NULL, 0},
    {"34794-8", L, "CR de réunion de concertation pluridisciplinaire", CAT(REPORTS), "10", NULL, 0},
    {"85208-7", L, "CR de télémédecine", CAT(REPORTS), "10", NULL, 0},
    {"34112-3", L, "CR hospitalier (séjour)", CAT(REPORTS), "10", NULL, 0},
    {"34874-8", L, "CR opératoire", CAT(REPORTS), "10", NULL, 0},
    {"11488-4", L, "CR ou fiche de consultation ou de visite", CAT(REPORTS), "10", NULL, 0},
    {"11490-0", L, "Lettre de liaison à la sortie d'un établissement de soins", CAT(REPORTS), "10", NULL, 0},
    /* Imagerie */
    {"18748-4", L, "CR d'imagerie médicale", CAT(IMAGING), "10", "31", 0},
    {"52040-3", L, "Document encapsulant une image d'illustration non DICOM", CAT(IMAGING), "31", NULL, 0},
    /* Biologie */
    {"60568-3", L, "CR d'anatomie et de cytologie pathologiques", CAT(BIOLOGY), "10", NULL, 0},
    {"11502-2", L, "CR d'examens biologiques", CAT(BIOLOGY), "10", NULL, 0},
    /* Prévention */
    {"75492-9", L, "CR d'acte diagnostique à visée préventive ou de dépistage", CAT(PREVENTION), "10", NULL, 0},
    {"75482-0", L, "CR d'acte thérapeutique à visée préventive", CAT(PREVENTION), "10", NULL, 0},
    /* Deposited by the patient (TRE_A05, all OK; class 90 INF) */
    {"DOCPAT01", A05, "Synthèse déposée par le patient", CAT(SYNTHESES), "90", NULL, 1},
    {"DOCPAT02", A05, "Traitement ou document de soins déposé par le patient", CAT(TREATMENTS), "90", NULL, 1},
    {"DOCPAT03", A05, "CR déposé par le patient", CAT(REPORTS), "90", NULL, 1},
    {"DOCPAT04", A05, "Imagerie déposée par le patient", CAT(IMAGING), "90", NULL, 1},
    {"DOCPAT05", A05, "CR de biologie déposé par le patient", CAT(BIOLOGY), "90", NULL, 1},
    {"DOCPAT06", A05, "CR de prévention déposé par le patient", CAT(PREVENTION), "90", NULL, 1},
    {"DOCPAT07", A05, "Certificat déposé par le patient", CAT(OTHER), "90", NULL, 1},
    {"DOCPAT08", A05, "Profil médical Mon espace santé", CAT(OTHER), "90", NULL, 1},
    {"DOCPAT09", A05, "Document administratif déposé par le patient", CAT(OTHER), "90", NULL, 1},
};
const size_t dmp_n_doc_types = sizeof dmp_doc_types / sizeof dmp_doc_types[0];

/* Class codes: JDV_J57-ClassCode-DMP (OID 1.2.250.1.213.1.1.5.6), values
 * confirmed in TRE_A03 (1.2.250.1.213.1.1.4.1), REFERENCE.md section 1
 * notes. (99 "Document technique" is in TRE_A03 but not in J57; the TRE_A10
 * "Digital Signature" entry of J57 is not a document class here.) */
const dmp_code_t dmp_classes[] = {
    {"10", "Compte rendu"},
    {"11", "Synthèse"},
    {"31", "Imagerie médicale"},
    {"42", "Prescription"},
    {"43", "Dispensation"},
    {"44", "Plan de soins/protocole de soins"},
    {"45", "Traitement administré"},
    {"52", "Certificat/déclaration"},
    {"60", "Données de remboursement"},
    {"90", "Autres documents déposés par le patient"},
    {"95", "Document de gestion"},
};
const size_t dmp_n_classes = sizeof dmp_classes / sizeof dmp_classes[0];

/* Confidentiality: TRE_A08-HL7Confidentiality (2.16.840.1.113883.5.25),
 * indexed by the Confidentiality enum. */
const dmp_code_t dmp_confidentiality[4] = {
    {"", ""}, {"N", "Normal"}, {"R", "Restreint"}, {"V", "Très restreint"}};

/* Masking: TRE_A07-StatutVisibiliteDocument (1.2.250.1.213.1.1.4.13). */
const dmp_code_t dmp_mask_ps = {"MASQUE_PS", "masqué aux professionnels de santé"};
const dmp_code_t dmp_invisible_patient = {"INVISIBLE_PATIENT", "non visible par le patient"};

#define K(x) ESPACE__V1__MEASURE_KIND__MEASURE_KIND_##x
#define NONE_LO (-1e300)
#define NONE_HI (1e300)

/* Plausibility ranges: REFERENCE.md section 2, "Validation" column (INF
 * there). lo_excl: the low bound itself is refused (weight "reject <= 0"). */
const dmp_range_t dmp_range_weight = {0, 650, 1, 0.5, 300};
const dmp_range_t dmp_range_height = {20, 272, 0, 40, 220};
const dmp_range_t dmp_range_bmi = {8, 80, 0, NONE_LO, NONE_HI}; /* sanity check of a derived BMI */
const dmp_range_t dmp_range_steps = {0, 200000, 0, NONE_LO, 60000};
const dmp_range_t dmp_range_temperature = {25, 46, 0, 34, 42};
const dmp_range_t dmp_range_waist = {20, 300, 0, 40, 200};
const dmp_range_t dmp_range_heart_rate = {10, 350, 0, 30, 220};
const dmp_range_t dmp_range_systolic = {30, 320, 0, 70, 250};
const dmp_range_t dmp_range_diastolic = {10, 220, 0, 35, 150};
const dmp_range_t dmp_range_pain = {0, 10, 0, NONE_LO, NONE_HI};
const dmp_range_t dmp_range_glucose_mgdl = {5, 2000, 0, 40, 600};
const dmp_range_t dmp_range_glucose_pct = {2, 25, 0, 4, 15};

/* The ten measures: LOINC code, display (ANS FR), UCUM unit. Source: ANS
 * "Mesures de santé" IG v3.1.0 and FHIR R4 observation-vitalsignresult /
 * ucum-vitals-common (REFERENCE.md section 2 table). Indexed by MeasureKind.
 * GLUCOSE's code and unit depend on its type (dmp_glucose_types). */
const dmp_measure_def_t dmp_measures[DMP_KINDS] = {
    [K(WEIGHT)] = {"weight", "29463-7", "Poids corporel", "kg", "kg", &dmp_range_weight, 0},
    [K(HEIGHT)] = {"height", "8302-2", "Taille", "cm", "cm", &dmp_range_height, 0},
    [K(BMI)] = {"BMI", "39156-5", "Indice de masse corporelle (IMC)", "kg/m2", "kg/m2",
                &dmp_range_bmi, 0},
    [K(STEPS)] = {"steps", "41950-7", "Nombre de pas quotidien", "1/(24.h)", "1/(24.h)",
                  &dmp_range_steps, 1},
    [K(TEMPERATURE)] = {"temperature", "8310-5", "Température corporelle", "Cel", "Cel",
                        &dmp_range_temperature, 0},
    [K(WAIST)] = {"waist circumference", "8280-0", "Tour de taille", "cm", "cm", &dmp_range_waist, 0},
    [K(HEART_RATE)] = {"heart rate", "8867-4", "Fréquence cardiaque", "/min", "/min",
                       &dmp_range_heart_rate, 0},
    [K(BLOOD_PRESSURE)] = {"blood pressure", "85354-9", "Pression artérielle", "mm[Hg]",
                           "mm[Hg]", NULL, 0},
    [K(PAIN)] = {"pain", "72514-3", "Niveau de douleur", "1", "Level", &dmp_range_pain, 1},
    [K(GLUCOSE)] = {"glucose", "", "Glycémie", "", "", NULL, 0},
};

/* Blood pressure components (LOINC), REFERENCE.md rows 8b and 8c. */
const dmp_code_t dmp_bp_systolic = {"8480-6", "Systolic blood pressure"};
const dmp_code_t dmp_bp_diastolic = {"8462-4", "Diastolic blood pressure"};

#define G(x) ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_##x
/* Glucose concepts: JDV_J154-TypeGlucose (OID 1.2.250.1.213.1.1.5.609),
 * units from JDV_J163 (1.2.250.1.213.1.1.5.639); REFERENCE.md glucose
 * sub-table. 2339-0 is accepted as input for blood glucose and 2345-7
 * emitted (INF). MesNumberOfDays is required for MED-969 and MED-972. */
const dmp_glucose_def_t dmp_glucose_types[DMP_GLUCOSE_TYPES] = {
    [G(BLOOD)] = {"2345-7", "2339-0", DMP_SYS_LOINC, "Glucose sanguin", "mg/dL",
                  &dmp_range_glucose_mgdl, 0},
    [G(INTERSTITIAL)] = {"MED-969", NULL, DMP_SYS_TRE_R308, "Glucose interstitiel", "mg/dL",
                         &dmp_range_glucose_mgdl, 1},
    [G(GMI)] = {"MED-972", NULL, DMP_SYS_TRE_R308, "Index de gestion de glycémie (IGG)", "%",
                &dmp_range_glucose_pct, 1},
    [G(HBA1C)] = {"4548-4", NULL, DMP_SYS_LOINC, "HbA1c", "%", &dmp_range_glucose_pct, 0},
};

#define MO(x) ESPACE__V1__GLUCOSE_MOMENT__GLUCOSE_MOMENT_##x
/* Moment of measurement: JDV_J157 (OID 1.2.250.1.213.1.1.5.612), REFERENCE.md
 * section 2 ("MesMomentOfMeasurement"). */
const dmp_coding_t dmp_moments[DMP_MOMENTS] = {
    [MO(POST_PRANDIAL)] = {"16915-1", DMP_SYS_LOINC, "post-prandial"},
    [MO(FASTING)] = {"53049-3", DMP_SYS_LOINC, "à jeun"},
    [MO(BEFORE_MEAL)] = {"88365-2", DMP_SYS_LOINC, "avant repas"},
    [MO(AFTER_EXERCISE)] = {"LA11865-5", DMP_SYS_LOINC, "après exercice"},
    [MO(OTHER)] = {"LA46-8", DMP_SYS_LOINC, "autre"},
    [MO(MALAISE)] = {"A05", DMP_SYS_CISP2, "Lors d'un malaise"},
};

const dmp_doc_type_t *dmp_doc_type_find(const char *code)
{
    for (size_t i = 0; code && i < dmp_n_doc_types; i++)
        if (strcmp(dmp_doc_types[i].code, code) == 0)
            return &dmp_doc_types[i];
    return NULL;
}

const dmp_code_t *dmp_class_find(const char *code)
{
    for (size_t i = 0; code && i < dmp_n_classes; i++)
        if (strcmp(dmp_classes[i].code, code) == 0)
            return &dmp_classes[i];
    return NULL;
}

const dmp_measure_def_t *dmp_measure_def(int kind)
{
    if (kind <= 0 || kind >= DMP_KINDS || !dmp_measures[kind].name)
        return NULL;
    return &dmp_measures[kind];
}

const dmp_glucose_def_t *dmp_glucose_def(int type)
{
    if (type <= 0 || type >= DMP_GLUCOSE_TYPES)
        return NULL;
    return &dmp_glucose_types[type];
}

int dmp_glucose_type_of_code(const char *code)
{
    for (int t = 1; code && t < DMP_GLUCOSE_TYPES; t++)
        if (strcmp(dmp_glucose_types[t].code, code) == 0 ||
            (dmp_glucose_types[t].alt_code && strcmp(dmp_glucose_types[t].alt_code, code) == 0))
            return t;
    return 0;
}

const char *dmp_measure_code(int kind, int glucose_type)
{
    if (kind == K(GLUCOSE)) {
        const dmp_glucose_def_t *g = dmp_glucose_def(glucose_type);
        return g ? g->code : NULL;
    }
    const dmp_measure_def_t *d = dmp_measure_def(kind);
    return d ? d->code : NULL;
}

const char *dmp_measure_unit(int kind, int glucose_type)
{
    if (kind == K(GLUCOSE)) {
        const dmp_glucose_def_t *g = dmp_glucose_def(glucose_type);
        return g ? g->unit : NULL;
    }
    const dmp_measure_def_t *d = dmp_measure_def(kind);
    return d ? d->unit : NULL;
}
