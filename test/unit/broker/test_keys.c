/*
 * test_keys.c - the registry of admitted CURVE keys (keys.h) on a real store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "espace/v1/common.pb-c.h"
#include "broker/keys.h"
#include "proto/status.h"
#include "storage/store.h"

typedef struct fx {
    char dir[64];
    store_t *s;
} fx_t;

static int s_setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/es_keys_XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    store_opts_t so;
    memset(&so, 0, sizeof(so));
    so.tables = keys_tables;
    so.no_sync = 1;
    if (store_open(f->dir, &so, &f->s) != 0)
        return -1;
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fx_t *f = *state;
    store_close(&f->s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static keys_entry_t s_entry(uint8_t fill, int role, const char *name)
{
    keys_entry_t e;
    memset(&e, 0, sizeof(e));
    memset(e.public_key, fill, 32);
    e.role = role;
    snprintf(e.name, sizeof(e.name), "%s", name);
    return e;
}

static void test_add_lookup_remove(void **state)
{
    fx_t *f = *state;
    keys_entry_t e = s_entry(1, ESPACE__V1__PEER_ROLE__PEER_SERVICE, "identity@host");
    e.created_ms = 1234;
    assert_int_equal(keys_add(f->s, &e), 0);
    keys_entry_t got;
    assert_int_equal(keys_lookup(f->s, e.public_key, &got), 0);
    assert_memory_equal(got.public_key, e.public_key, 32);
    assert_int_equal(got.role, ESPACE__V1__PEER_ROLE__PEER_SERVICE);
    assert_string_equal(got.name, "identity@host");
    assert_int_equal(got.created_ms, 1234);
    /* duplicate */
    keys_entry_t dup = s_entry(1, ESPACE__V1__PEER_ROLE__PEER_APP, "other");
    assert_int_equal(keys_add(f->s, &dup), ES_ALREADY_EXISTS);
    assert_int_equal(keys_lookup(f->s, e.public_key, &got), 0);
    assert_int_equal(got.role, ESPACE__V1__PEER_ROLE__PEER_SERVICE);
    /* remove */
    assert_int_equal(keys_remove(f->s, e.public_key), 0);
    assert_int_equal(keys_lookup(f->s, e.public_key, &got), ES_NOT_FOUND);
    assert_int_equal(keys_remove(f->s, e.public_key), ES_NOT_FOUND);
}

static void test_bad_input(void **state)
{
    fx_t *f = *state;
    keys_entry_t e = s_entry(2, ESPACE__V1__PEER_ROLE__PEER_LOCAL, "x");
    assert_int_equal(keys_add(f->s, &e), ES_INVALID_ARGUMENT); /* local is not registrable */
    e.role = 0;
    assert_int_equal(keys_add(f->s, &e), ES_INVALID_ARGUMENT);
    e.role = 99;
    assert_int_equal(keys_add(f->s, &e), ES_INVALID_ARGUMENT);
    e = s_entry(2, ESPACE__V1__PEER_ROLE__PEER_GATEWAY, "");
    assert_int_equal(keys_add(f->s, &e), ES_INVALID_ARGUMENT); /* empty name */
    e = s_entry(2, ESPACE__V1__PEER_ROLE__PEER_GATEWAY, "bad\xff");
    assert_int_equal(keys_add(f->s, &e), ES_INVALID_ARGUMENT); /* not UTF-8 */
    e = s_entry(2, ESPACE__V1__PEER_ROLE__PEER_GATEWAY, "edge");
    memset(e.name, 'a', sizeof(e.name)); /* not terminated within KEYS_MAX_NAME+1 */
    assert_int_equal(keys_add(f->s, &e), ES_INVALID_ARGUMENT);
    assert_int_equal(keys_add(NULL, &e), ES_INVALID_ARGUMENT);
    keys_entry_t got;
    assert_int_equal(keys_lookup(f->s, e.public_key, &got), ES_NOT_FOUND);
}

typedef struct collect {
    int n;
    int roles[8];
    uint8_t first[8];
    int stop_at;
} collect_t;

static int s_collect(const keys_entry_t *e, void *ctx)
{
    collect_t *c = ctx;
    if (c->n < 8) {
        c->roles[c->n] = e->role;
        c->first[c->n] = e->public_key[0];
    }
    c->n++;
    return c->stop_at > 0 && c->n >= c->stop_at;
}

static void test_list(void **state)
{
    fx_t *f = *state;
    const int roles[4] = {ESPACE__V1__PEER_ROLE__PEER_APP, ESPACE__V1__PEER_ROLE__PEER_SERVICE,
                          ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE,
                          ESPACE__V1__PEER_ROLE__PEER_GATEWAY};
    const uint8_t fills[4] = {9, 3, 7, 5};
    for (int i = 0; i < 4; i++) {
        keys_entry_t e = s_entry(fills[i], roles[i], "k");
        assert_int_equal(keys_add(f->s, &e), 0);
    }
    collect_t c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(keys_list(f->s, s_collect, &c), 0);
    assert_int_equal(c.n, 4);
    /* key order */
    assert_int_equal(c.first[0], 3);
    assert_int_equal(c.first[1], 5);
    assert_int_equal(c.first[2], 7);
    assert_int_equal(c.first[3], 9);
    assert_int_equal(c.roles[0], ESPACE__V1__PEER_ROLE__PEER_SERVICE);
    memset(&c, 0, sizeof(c));
    c.stop_at = 2;
    assert_int_equal(keys_list(f->s, s_collect, &c), 0);
    assert_int_equal(c.n, 2);
}

static void test_role_names(void **state)
{
    (void)state;
    const char *names[] = {"service", "gateway", "pro", "app"};
    for (int i = 0; i < 4; i++) {
        int r = keys_role_parse(names[i]);
        assert_true(r > 0);
        assert_string_equal(keys_role_name(r), names[i]);
    }
    assert_int_equal(keys_role_parse("local"), -1);
    assert_int_equal(keys_role_parse("admin"), -1);
    assert_int_equal(keys_role_parse(NULL), -1);
    assert_string_equal(keys_role_name(42), "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_lookup_remove, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_list, s_setup, s_teardown),
        cmocka_unit_test(test_role_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
