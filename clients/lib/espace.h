/*
 * espace.h - libespace, the C API of espace: the one client API, for
 * professionals' software and the operator's commands. Include this file;
 * the manual is in the headers it includes, one per part:
 *
 *   conn.h      connection, session binding, errors, the generic call,
 *               live events, keypair files                  (conn.c)
 *   identity.h  identity service: login, whoami, logout, resolve a
 *               patient, create a professional (operator)   (identity.c)
 *   consent.h   consent service: catalogue, grants, access requests,
 *               emergency, audit; scopes and purposes as text (consent.c)
 *   agenda.h    agenda service: create, get, update, cancel, list,
 *               changes, live changes                       (agenda.c)
 *   messaging.h messaging service: key directory, conversations, send,
 *               fetch, ack, attachments; payload layout, sealed
 *               attachments, live notices                   (messaging.c)
 *   dmp.h       DMP service: documents (upload, search, get, download in
 *               pieces, mask, release), measures, FHIR exports (dmp.c)
 *
 * Each service has its pair <service>.h/.c: typed calls named
 * espace_<service>_<method in snake case> (e.g. espace_agenda_list_changes
 * for the agenda's ListChanges), whose method names, request and reply types
 * come from the service block of proto/espace/v1/<service>.proto (rpc.h).
 * The messaging and DMP services will add messaging.h/.c and dmp.h/.c the
 * same way, and one include line here. Replies are the schema's messages
 * (Espace__V1__<Method>Reply), freed with espace_free.
 *
 * Over tcp the connection is a CurveZMQ client: the software has its own
 * keypair (a file made once, espace_keypair, whose public key the espace
 * operator registers with `espace admin keys add --role pro ...`) and knows
 * the broker's public key (`espace admin keys show`). Over ipc (same host)
 * no keys are needed, and the operator's tools name their caller (as_kind).
 *
 * Example (errors checked, as they must be):
 *
 *     espace_opts_t o = {
 *         .endpoint = "tcp://espace.example.org:5570",
 *         .broker_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
 *         .keypair_path = "/home/dr/.config/espace-pro/curve.key",
 *         .timeout_ms = 5000,
 *     };
 *     espace_t *e = NULL;
 *     espace_session_t s;
 *     espace_error_t err;
 *     char pid[ESPACE_PATIENT_ID_MAX];
 *     espace_cursor_t cur = {0};
 *     Espace__V1__AgendaListReply *page = NULL;
 *     if (espace_open(&o, &e) < 0) return 1;
 *     if (espace_login_pro(e, "10001234567", password, "cabinet-pc", &s, &err) < 0 ||
 *         espace_patient_id(e, "185067500000042", pid, &err) < 0) {
 *         fprintf(stderr, "%s: %s\n", espace_status_name(err.status), err.message);
 *         espace_close(&e);
 *         return 1;
 *     }
 *     // keep s.token (a secret!) to resume later with espace_resume
 *     do {
 *         if (espace_agenda_list(e, pid, from, to, 500, &cur, &page, &err) < 0) break;
 *         for (size_t i = 0; i < page->n_events; i++) puts(page->events[i]->title);
 *         espace_free(&page->base);
 *     } while (cur.more);
 *     espace_logout(e, &err);
 *     sodium_memzero(&s, sizeof s);   // or any secure wipe
 *     espace_close(&e);
 *
 * Memory: structs the API fills are caller-provided; replies and events are
 * freed with espace_free. Session tokens are secrets: wipe them after use
 * and keep them in files of mode 0600.
 *
 * THREAD SAFETY: an espace_t belongs to the thread that opened it (conn.h).
 */
#ifndef ESPACE_H
#define ESPACE_H

#include "clients/lib/conn.h"
#include "clients/lib/identity.h"
#include "clients/lib/consent.h"
#include "clients/lib/agenda.h"
#include "clients/lib/messaging.h"
#include "clients/lib/dmp.h"

#endif
