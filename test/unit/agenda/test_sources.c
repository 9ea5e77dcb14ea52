/*
 * test_sources.c - services/agenda/sources.c, the source index: the
 * source id is found through its keyed hash and never written in clear in
 * the LMDB file (issue 11 section 5), an entry leaves with its event, and
 * a store written before the hash is migrated (a real store in a temporary
 * folder, no bus).
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ids.h"
#include "proto/status.h"
#include "services/agenda/agenda_int.h"
#include "storage/store.h"
#include "test/harness/tmpdir.h"
#include "test/unit/agenda/event_fixture.h"

#define SRC_ID "RDV-HOSP-4242-ZQXW" /* a source id: bytes easy to look for */
#define OLD_SRC_ID "OLD-CLEAR-7731-KPLM"

static char s_dir[64];
static store_t *s_store;

static int s_setup(void **state)
{
    (void)state;
    if (h_mkdtemp(s_dir, "es_agenda_src_") != 0)
        return -1;
    static const char *tables[] = {AGENDA_T_BY_SOURCE, AGENDA_T_BY_SOURCE_CLEAR, NULL};
    store_opts_t so;
    memset(&so, 0, sizeof so);
    so.tables = tables;
    so.no_sync = 1;
    return store_open(s_dir, &so, &s_store) == 0 ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    store_close(&s_store);
    return h_rmtree(s_dir);
}

/* An event of PAT with id ...0x<last> and a source id. */
static Espace__V1__AgendaEvent s_event(uint8_t id[ID_BYTES], uint8_t last, const char *sid)
{
    Espace__V1__AgendaEvent e = ESPACE__V1__AGENDA_EVENT__INIT;
    memset(id, 0, ID_BYTES);
    id[ID_BYTES - 1] = last;
    e.id.data = id;
    e.id.len = ID_BYTES;
    e.patient_id = PAT;
    e.source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_HOSPITAL_PORTAL;
    e.source_id = (char *)sid;
    return e;
}

/* Write group items: one function per step. */
static int s_claim(store_txn_t *t, void *item, void *ctx)
{
    (void)ctx;
    return agenda_db_source_claim(s_store, t, item);
}

static int s_release(store_txn_t *t, void *item, void *ctx)
{
    (void)ctx;
    return agenda_db_source_release(s_store, t, item);
}

static int s_put_clear(store_txn_t *t, void *item, void *ctx)
{
    (void)ctx;
    const uint8_t *id = item;
    uint8_t k[ID_BYTES + 1 + sizeof OLD_SRC_ID];
    assert_int_equal(id_parse(PAT, k), 0);
    k[ID_BYTES] = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_HOSPITAL_PORTAL;
    memcpy(k + ID_BYTES + 1, OLD_SRC_ID, strlen(OLD_SRC_ID));
    return store_put(t, AGENDA_T_BY_SOURCE_CLEAR, k, ID_BYTES + 1 + strlen(OLD_SRC_ID), id,
                     ID_BYTES);
}

static int s_migrate(store_txn_t *t, void *item, void *ctx)
{
    (void)ctx;
    return agenda_sources_migrate(s_store, t, item);
}

static void s_group(store_apply_fn fn, void *item)
{
    void *items[1] = {item};
    int res[1] = {0};
    assert_int_equal(store_write_group(s_store, fn, items, 1, res, NULL), 0);
    assert_int_equal(res[0], 0);
}

/* agenda_db_source_find of (PAT, HOSPITAL, sid): its status, id in out. */
static int s_find(const char *sid, uint8_t out[ID_BYTES])
{
    uint8_t pid[ID_BYTES];
    assert_int_equal(id_parse(PAT, pid), 0);
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(s_store, &t), 0);
    int rc = agenda_db_source_find(s_store, t, pid,
                                   ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_HOSPITAL_PORTAL, sid, out);
    store_txn_end(&t);
    return rc;
}

/* 1 if the store's LMDB file holds these bytes anywhere. */
static int s_file_has(const char *bytes)
{
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", s_dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    int found = memmem(buf, (size_t)n, bytes, strlen(bytes)) != NULL;
    free(buf);
    return found;
}

static void test_source_id_not_in_clear(void **state)
{
    (void)state;
    uint8_t id[ID_BYTES], got[ID_BYTES];
    Espace__V1__AgendaEvent e = s_event(id, 1, SRC_ID);
    s_group(s_claim, &e);
    assert_int_equal(s_find(SRC_ID, got), 0);
    assert_memory_equal(got, id, ID_BYTES);
    assert_int_equal(s_find("RDV-HOSP-4242-ZQXX", got), ES_NOT_FOUND);
    /* the index key is there, its source id is not (nor any prefix of it) */
    assert_false(s_file_has(SRC_ID));
    assert_false(s_file_has("RDV-HOSP"));

    /* another event takes the key (a reschedule); releasing the first one
     * then leaves it to the second */
    uint8_t id2[ID_BYTES];
    Espace__V1__AgendaEvent e2 = s_event(id2, 2, SRC_ID);
    s_group(s_claim, &e2);
    s_group(s_release, &e);
    assert_int_equal(s_find(SRC_ID, got), 0);
    assert_memory_equal(got, id2, ID_BYTES);
    s_group(s_release, &e2);
    assert_int_equal(s_find(SRC_ID, got), ES_NOT_FOUND);
}

static void test_clear_index_migrated(void **state)
{
    (void)state;
    uint8_t id[ID_BYTES], got[ID_BYTES];
    memset(id, 0, sizeof id);
    id[ID_BYTES - 1] = 7;
    s_group(s_put_clear, id); /* as an older agenda wrote it */
    assert_true(s_file_has(OLD_SRC_ID));
    assert_int_equal(s_find(OLD_SRC_ID, got), ES_NOT_FOUND);
    size_t moved = 0;
    s_group(s_migrate, &moved);
    assert_int_equal(moved, 1);
    assert_int_equal(s_find(OLD_SRC_ID, got), 0);
    assert_memory_equal(got, id, ID_BYTES);
    store_txn_t *t = NULL;
    uint64_t left = 1;
    assert_int_equal(store_read_begin(s_store, &t), 0);
    assert_int_equal(store_count(t, AGENDA_T_BY_SOURCE_CLEAR, &left), 0);
    store_txn_end(&t);
    assert_int_equal(left, 0);
    /* again: nothing to move */
    s_group(s_migrate, &moved);
    assert_int_equal(moved, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_source_id_not_in_clear, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_clear_index_migrated, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
