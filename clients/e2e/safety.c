/* safety.c - safety numbers: 60 digits two users compare to check that
 * each one's device holds the other's identity key (docs/e2e.md "Safety
 * number"). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "clients/e2e/e2e_int.h"

#define S_HALF 30 /* digits per device */

/* The 30 digits of one device: iterated keyed BLAKE2b-512 of its identity
 * key and stable id, 6 chunks of 5 bytes, each mod 100000. */
static void s_half(char digits[S_HALF + 1], const uint8_t ik[E2E_KEY_BYTES], const char *id)
{
    const uint8_t *key = (const uint8_t *)E2E_LABEL_SAFETY;
    size_t klen = sizeof E2E_LABEL_SAFETY - 1;
    static const uint8_t version[2] = {0, 0};
    uint8_t h[64];
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, klen, sizeof h);
    crypto_generichash_update(&st, version, sizeof version);
    crypto_generichash_update(&st, ik, E2E_KEY_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)id, strlen(id));
    crypto_generichash_final(&st, h, sizeof h);
    for (int i = 1; i < E2E_SAFETY_ITERATIONS; i++) {
        crypto_generichash_init(&st, key, klen, sizeof h);
        crypto_generichash_update(&st, h, sizeof h);
        crypto_generichash_update(&st, ik, E2E_KEY_BYTES);
        crypto_generichash_final(&st, h, sizeof h);
    }
    for (int c = 0; c < 6; c++) {
        uint64_t v = 0;
        for (int j = 0; j < 5; j++)
            v = v << 8 | h[5 * c + j];
        snprintf(digits + 5 * c, 6, "%05u", (unsigned)(v % 100000));
    }
}

int e2e_safety_number(char out[E2E_SAFETY_TEXT], const uint8_t ik_a[E2E_KEY_BYTES],
                      const char *id_a, const uint8_t ik_b[E2E_KEY_BYTES], const char *id_b)
{
    if (!out || !ik_a || !id_a || !ik_b || !id_b || strlen(id_a) > E2E_SAFETY_ID_MAX ||
        strlen(id_b) > E2E_SAFETY_ID_MAX)
        return ES_INVALID_ARGUMENT;
    char a[S_HALF + 1], b[S_HALF + 1], all[E2E_SAFETY_DIGITS + 1];
    s_half(a, ik_a, id_a);
    s_half(b, ik_b, id_b);
    int a_first = strcmp(a, b) <= 0;
    memcpy(all, a_first ? a : b, S_HALF);
    memcpy(all + S_HALF, a_first ? b : a, S_HALF);
    char *p = out;
    for (int g = 0; g < E2E_SAFETY_DIGITS / 5; g++) {
        if (g)
            *p++ = ' ';
        memcpy(p, all + 5 * g, 5);
        p += 5;
    }
    *p = '\0';
    return ES_OK;
}
