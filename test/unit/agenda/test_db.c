/*
 * test_db.c - services/agenda/db.c, the store layout: range queries across
 * month and year boundaries and DST changes, all-day events, and paging
 * (a real store in a temporary folder, no bus).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ids.h"
#include "services/agenda/agenda_int.h"
#include "storage/store.h"
#include "test/harness/tmpdir.h"
#include "test/unit/agenda/event_fixture.h"

typedef struct dbfix {
    char dir[64];
    store_t *s;
    uint8_t pid[16];
    uint8_t next_id;
} dbfix_t;

static dbfix_t D;

static int s_db_setup(void **state)
{
    (void)state;
    memset(&D, 0, sizeof D);
    if (h_mkdtemp(D.dir, "es_agenda_db_") != 0)
        return -1;
    static const char *tables[] = {AGENDA_T_EVENTS,  AGENDA_T_BY_TIME, AGENDA_T_BY_SOURCE,
                                   AGENDA_T_CHANGES, AGENDA_T_HEADS,   AGENDA_T_REMINDERS,
                                   NULL};
    store_opts_t so;
    memset(&so, 0, sizeof so);
    so.tables = tables;
    so.no_sync = 1;
    if (store_open(D.dir, &so, &D.s) != 0)
        return -1;
    id_parse(PAT, D.pid);
    return 0;
}

static int s_db_teardown(void **state)
{
    (void)state;
    store_close(&D.s);
    return h_rmtree(D.dir);
}

typedef struct put_item {
    int64_t start, end;
    int all_day;
    uint8_t id[16];
} put_item_t;

static int s_put_apply(store_txn_t *t, void *item, void *ctx)
{
    (void)ctx;
    put_item_t *it = item;
    Espace__V1__AgendaEvent e = ESPACE__V1__AGENDA_EVENT__INIT;
    e.id.data = it->id;
    e.id.len = 16;
    e.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV;
    e.status = ST(BOOKED);
    e.patient_id = PAT;
    e.title = "x";
    e.start_ms = it->start;
    e.end_ms = it->end;
    e.all_day = it->all_day;
    e.version = 1;
    return agenda_db_write(t, NULL, &e, ESPACE__V1__AGENDA_CHANGE_KIND__AGENDA_CHANGE_CREATED,
                           0);
}

/* Store an event; returns its id's last byte (ids are 0..0,n). */
static uint8_t s_put(int64_t start, int64_t end, int all_day)
{
    put_item_t it = {start, end, all_day, {0}};
    it.id[15] = ++D.next_id;
    void *items[1] = {&it};
    int res[1];
    assert_int_equal(store_write_group(D.s, s_put_apply, items, 1, res, NULL), 0);
    assert_int_equal(res[0], 0);
    return it.id[15];
}

/* The ids (last bytes) of the events overlapping [from, to), as a string
 * of letters 'a' + id - 1, in list order. */
static void s_range(int64_t from, int64_t to, char *out)
{
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(D.s, &t), 0);
    agenda_page_t p;
    assert_int_equal(agenda_db_list(t, D.pid, from, to, NULL, 100, 1 << 20, &p), 0);
    size_t i;
    for (i = 0; i < p.n; i++)
        out[i] = (char)('a' + p.events[i]->id.data[15] - 1);
    out[i] = '\0';
    assert_false(p.more);
    agenda_page_free(&p);
    store_txn_end(&t);
}

static void test_range_queries(void **state)
{
    (void)state;
    char got[64];
    /* a: 31 Jan 23:30 -> 1 Feb 00:30 Paris (across the month) */
    s_put(PM(2024, 1, 31) + 23 * 3600000LL + 1800000, PM(2024, 2, 1) + 1800000, 0);
    /* b: 31 Dec 2024 23:00 -> 1 Jan 2025 01:00 Paris (across the year) */
    s_put(PM(2024, 12, 31) + 23 * 3600000LL, PM(2025, 1, 1) + 3600000, 0);
    /* c: all day on 31 March 2024 (23 h) */
    s_put(PM(2024, 3, 31), PM(2024, 4, 1), 1);
    /* d: all day on 27 October 2024 (25 h) */
    s_put(PM(2024, 10, 27), PM(2024, 10, 28), 1);
    /* e: 31 March 03:30 CEST (01:30Z), just after the change */
    s_put(ev_utc(2024, 3, 31, 1, 30), ev_utc(2024, 3, 31, 2, 0), 0);
    /* f: a stay from 25 March to 5 April */
    s_put(PM(2024, 3, 25) + 9 * 3600000LL, PM(2024, 4, 5) + 12 * 3600000LL, 0);
    /* g: 27 October 02:30 the second time (CET, 01:30Z) */
    s_put(ev_utc(2024, 10, 27, 1, 30), ev_utc(2024, 10, 27, 2, 0), 0);
    /* h: 30 March 23:30 -> 23:59 Paris (day before the change) */
    s_put(PM(2024, 3, 30) + 23 * 3600000LL + 1800000, PM(2024, 3, 31) - 60000, 0);

    s_range(PM(2024, 1, 1), PM(2024, 2, 1), got);
    assert_string_equal(got, "a");
    s_range(PM(2024, 2, 1), PM(2024, 3, 1), got);
    assert_string_equal(got, "a");
    s_range(PM(2024, 12, 1), PM(2025, 1, 1), got);
    assert_string_equal(got, "b");
    s_range(PM(2025, 1, 1), PM(2025, 2, 1), got);
    assert_string_equal(got, "b");
    s_range(PM(2024, 1, 1), PM(2025, 1, 1), got); /* the year 2024 */
    assert_string_equal(got, "afhcedgb");
    /* the DST days, by Paris day */
    s_range(PM(2024, 3, 31), PM(2024, 4, 1), got);
    assert_string_equal(got, "fce");
    s_range(PM(2024, 3, 30), PM(2024, 3, 31), got);
    assert_string_equal(got, "fh");
    s_range(PM(2024, 4, 1), PM(2024, 4, 8), got); /* the long stay only */
    assert_string_equal(got, "f");
    s_range(PM(2024, 10, 27), PM(2024, 10, 28), got);
    assert_string_equal(got, "dg");
    s_range(PM(2024, 10, 28), PM(2024, 10, 29), got); /* all-day end is exclusive */
    assert_string_equal(got, "");
    s_range(PM(2024, 10, 26), PM(2024, 10, 27), got);
    assert_string_equal(got, "");
    /* the week of the spring change, Monday 25 March to Monday 1 April */
    s_range(PM(2024, 3, 25), PM(2024, 4, 1), got);
    assert_string_equal(got, "fhce");
}

static void test_list_paging(void **state)
{
    (void)state;
    int64_t base = PM(2024, 6, 3) + 8 * 3600000LL;
    for (int i = 0; i < 25; i++) /* two events share each start */
        s_put(base + (i / 2) * 3600000LL, base + (i / 2) * 3600000LL + 1800000, 0);
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(D.s, &t), 0);
    uint8_t cursor[AGENDA_CURSOR_BYTES];
    int have = 0, total = 0, pages = 0;
    int seen[32] = {0};
    int64_t last = 0;
    for (;;) {
        agenda_page_t p;
        assert_int_equal(agenda_db_list(t, D.pid, PM(2024, 6, 3), PM(2024, 6, 10),
                                        have ? cursor : NULL, 10, 1 << 20, &p),
                         0);
        pages++;
        for (size_t i = 0; i < p.n; i++) {
            int id = p.events[i]->id.data[15];
            assert_in_range(id, 1, 25);
            assert_int_equal(seen[id], 0);
            seen[id] = 1;
            assert_true(p.events[i]->start_ms >= last);
            last = p.events[i]->start_ms;
            total++;
        }
        int more = p.more;
        if (more)
            memcpy(cursor, p.next, sizeof cursor);
        assert_int_equal(p.n, more ? 10u : 5u);
        agenda_page_free(&p);
        if (!more)
            break;
        have = 1;
    }
    assert_int_equal(total, 25);
    assert_int_equal(pages, 3);
    /* a byte budget cuts pages too */
    agenda_page_t p;
    assert_int_equal(agenda_db_list(t, D.pid, PM(2024, 6, 3), PM(2024, 6, 10), NULL, 100, 1, &p),
                     0);
    assert_int_equal(p.n, 1);
    assert_true(p.more);
    agenda_page_free(&p);
    /* another patient sees nothing */
    uint8_t other[16];
    memset(other, 0x99, sizeof other);
    assert_int_equal(agenda_db_list(t, other, 0, INT64_MAX, NULL, 100, 1 << 20, &p), 0);
    assert_int_equal(p.n, 0);
    agenda_page_free(&p);
    store_txn_end(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_range_queries, s_db_setup, s_db_teardown),
        cmocka_unit_test_setup_teardown(test_list_paging, s_db_setup, s_db_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
