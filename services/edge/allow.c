/*
 * allow.c - what a web client may call through the edge (edge_int.h): one
 * table, one line per service method, naming the kinds of caller that may
 * call it. Everything else is answered PERMISSION_DENIED by the edge itself
 * and never reaches a service (deny by default: a method added to a service
 * is not reachable from the web until a line is added here).
 *
 * The list is what the web app calls (clients/web/src), no more: a patient's
 * websocket must never reach an operator's, a professional's or a service's
 * method, even one the service would refuse on its own (identity.Login with
 * an RPPS answered a professional session through a patient's websocket,
 * issue 11 section 2). Logging in and resuming a session are not calls: the
 * edge does them itself (ClientMessage.login / .resume, conn.c).
 *
 * edge_allow_verify checks each line against the generated service
 * descriptors, so a misspelt or removed method stops the edge at start (and
 * fails test_edge), never silently denies.
 */
#include <string.h>

#include "espace/v1/agenda.pb-c.h"
#include "espace/v1/consent.pb-c.h"
#include "espace/v1/dmp.pb-c.h"
#include "espace/v1/identity.pb-c.h"
#include "espace/v1/messaging.pb-c.h"
#include "proto/names.h"
#include "proto/status.h"
#include "services/edge/edge_int.h"

#define ANON EDGE_WHO_ANONYMOUS
#define PATIENT EDGE_WHO_PATIENT
#define UNAUTH EDGE_ALLOW_UNAUTH

static const edge_allow_t s_allow[] = {
    /* ---- identity: before log-in (counted in the unauthenticated buckets) ---- */
    {SERVICE_IDENTITY, "SignUpPatient", ANON, UNAUTH},   /* sign-up screen: a pending account */
    {SERVICE_IDENTITY, "ActivateAccount", ANON, UNAUTH}, /* activation screen: the operator's code */
    /* ---- identity: the patient's own account and sessions ---- */
    {SERVICE_IDENTITY, "WhoAmI", PATIENT, 0},             /* the session's caller, after resume */
    {SERVICE_IDENTITY, "Logout", PATIENT, 0},             /* end this session */
    {SERVICE_IDENTITY, "ListSessions", PATIENT, 0},       /* "Mes connexions" */
    {SERVICE_IDENTITY, "RevokeSession", PATIENT, 0},      /* end another session of one's own */
    {SERVICE_IDENTITY, "ListDevices", PATIENT, 0},        /* "Mes appareils" */
    {SERVICE_IDENTITY, "RegisterDeviceKeys", PATIENT, 0}, /* this browser's messaging keys */
    /* ---- consent: the patient's grants, requests and access trail ---- */
    {SERVICE_CONSENT, "ListApps", PATIENT, 0},      /* the catalogue shown with grants */
    {SERVICE_CONSENT, "ListGrants", PATIENT, 0},    /* "Mes autorisations", messaging contacts */
    {SERVICE_CONSENT, "ReadAudit", PATIENT, 0},     /* who accessed what (own trail) */
    {SERVICE_CONSENT, "AnswerRequest", PATIENT, 0}, /* accept or refuse a pro's request */
    {SERVICE_CONSENT, "RevokeGrant", PATIENT, 0},   /* withdraw a grant */
    /* ---- agenda: the patient's own agenda ---- */
    {SERVICE_AGENDA, "Create", PATIENT, 0},      /* a personal event */
    {SERVICE_AGENDA, "Update", PATIENT, 0},      /* edit it */
    {SERVICE_AGENDA, "Cancel", PATIENT, 0},      /* cancel an event */
    {SERVICE_AGENDA, "Get", PATIENT, 0},         /* one event (conflict reload) */
    {SERVICE_AGENDA, "List", PATIENT, 0},        /* a time range */
    {SERVICE_AGENDA, "ListChanges", PATIENT, 0}, /* catch up after a live event or Resync */
    {SERVICE_AGENDA, "ExportIcs", PATIENT, 0},   /* download as .ics */
    /* ---- messaging: end-to-end encrypted conversations ---- */
    {SERVICE_MESSAGING, "PublishKeys", PATIENT, 0},        /* this device's prekey bundles */
    {SERVICE_MESSAGING, "Unpublish", PATIENT, 0},          /* withdraw them (key reset) */
    {SERVICE_MESSAGING, "KeyStatus", PATIENT, 0},          /* how many bundles are left */
    {SERVICE_MESSAGING, "ClaimBundles", PATIENT, 0},       /* the other side's devices' bundles */
    {SERVICE_MESSAGING, "StartConversation", PATIENT, 0},  /* "Nouveau message" (grant checked) */
    {SERVICE_MESSAGING, "GetConversation", PATIENT, 0},    /* one conversation */
    {SERVICE_MESSAGING, "ListConversations", PATIENT, 0},  /* the inbox */
    {SERVICE_MESSAGING, "Send", PATIENT, 0},               /* a message (ciphertexts) */
    {SERVICE_MESSAGING, "Fetch", PATIENT, 0},              /* this device's copies */
    {SERVICE_MESSAGING, "Ack", PATIENT, 0},                /* ... acknowledged (deleted) */
    {SERVICE_MESSAGING, "BeginAttachment", PATIENT, 0},    /* upload an attachment ... */
    {SERVICE_MESSAGING, "UploadChunk", PATIENT, 0},        /* ... piece by piece */
    {SERVICE_MESSAGING, "DownloadAttachment", PATIENT, 0}, /* read one */
    {SERVICE_CONSENT, "ListEmergencies", PATIENT, 0}, /* emergency accesses to one's data */
    {SERVICE_CONSENT, "EndEmergency", PATIENT, 0},    /* end one ("Mettre fin à cet accès") */
    /* ---- dmp: the patient's documents and measures ("Documents", "Mesures") ---- */
    {SERVICE_DMP, "BeginUpload", PATIENT, 0},           /* upload a document ... */
    {SERVICE_DMP, "UploadDocumentChunk", PATIENT, 0},   /* ... piece by piece */
    {SERVICE_DMP, "SearchDocuments", PATIENT, 0},       /* the list, by category and filters */
    {SERVICE_DMP, "GetDocument", PATIENT, 0},           /* one document (download ticket) */
    {SERVICE_DMP, "DownloadDocumentChunk", PATIENT, 0}, /* read it */
    {SERVICE_DMP, "SetMasked", PATIENT, 0},             /* hide it from professionals, or not */
    {SERVICE_DMP, "AddMeasure", PATIENT, 0},            /* add a measure */
    {SERVICE_DMP, "ListMeasures", PATIENT, 0},          /* a series (chart) */
    {SERVICE_DMP, "LatestMeasures", PATIENT, 0},        /* the latest of each kind */
};

/* The services whose methods the table may name, with their descriptors. */
static const struct {
    const char *service;
    const ProtobufCServiceDescriptor *desc;
} s_services[] = {
    {SERVICE_IDENTITY, &espace__v1__identity__descriptor},
    {SERVICE_CONSENT, &espace__v1__consent__descriptor},
    {SERVICE_AGENDA, &espace__v1__agenda__descriptor},
    {SERVICE_MESSAGING, &espace__v1__messaging__descriptor},
    {SERVICE_DMP, &espace__v1__dmp__descriptor},
};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

const edge_allow_t *edge_allow_table(size_t *n)
{
    *n = S_COUNT(s_allow);
    return s_allow;
}

int edge_allow_check(const char *service, const char *method, unsigned who,
                     const edge_allow_t **out)
{
    int rc = ES_PERMISSION_DENIED;
    for (size_t i = 0; i < S_COUNT(s_allow); i++) {
        const edge_allow_t *a = &s_allow[i];
        if (strcmp(a->service, service) != 0 || strcmp(a->method, method) != 0)
            continue;
        if (a->who & who) {
            if (out != NULL)
                *out = a;
            return 0;
        }
        if (who == EDGE_WHO_ANONYMOUS && (a->who & EDGE_WHO_PATIENT))
            rc = ES_UNAUTHENTICATED; /* a patient's method: log in first */
    }
    return rc;
}

static const ProtobufCServiceDescriptor *s_descriptor(const char *service)
{
    for (size_t i = 0; i < S_COUNT(s_services); i++)
        if (strcmp(s_services[i].service, service) == 0)
            return s_services[i].desc;
    return NULL;
}

int edge_allow_verify(const edge_allow_t **bad)
{
    for (size_t i = 0; i < S_COUNT(s_allow); i++) {
        const edge_allow_t *a = &s_allow[i];
        const ProtobufCServiceDescriptor *d = s_descriptor(a->service);
        int ok = d != NULL && protobuf_c_service_descriptor_get_method_by_name(d, a->method) != NULL &&
                 a->who != 0 && (a->who & ~(EDGE_WHO_ANONYMOUS | EDGE_WHO_PATIENT)) == 0;
        for (size_t j = 0; ok && j < i; j++)
            ok = strcmp(s_allow[j].service, a->service) != 0 ||
                 strcmp(s_allow[j].method, a->method) != 0;
        if (!ok) {
            if (bad != NULL)
                *bad = a;
            return ES_INTERNAL;
        }
    }
    return 0;
}
