/*
 * ins.c - INS normalisation and key check (see ins.h).
 */
#include "proto/ins.h"

#include <stdint.h>
#include <string.h>

#include "proto/status.h"

static int s_digit(char c)
{
    return c >= '0' && c <= '9';
}

int ins_normalise(const char *in, char out[INS_LEN + 1])
{
    char buf[INS_LEN + 1];
    size_t n = 0;

    if (!in)
        return ES_INVALID_ARGUMENT;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!s_digit(c) && !(c >= 'A' && c <= 'Z'))
            return ES_INVALID_ARGUMENT;
        if (n == INS_LEN)
            return ES_INVALID_ARGUMENT;
        buf[n++] = c;
    }
    if (n != INS_LEN)
        return ES_INVALID_ARGUMENT;
    buf[n] = '\0';
    if (out)
        memcpy(out, buf, sizeof buf);
    return 0;
}

int ins_validate(const char *in, char out[INS_LEN + 1])
{
    char s[INS_LEN + 1];
    uint64_t body = 0;

    if (ins_normalise(in, s) != 0)
        return ES_INVALID_ARGUMENT;
    if (s[0] != '1' && s[0] != '2')
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < 13; i++) {
        unsigned d;
        if (i == 5 && s[5] == '2' && (s[6] == 'A' || s[6] == 'B')) {
            /* Corsica: 2A -> 19, 2B -> 18 before the arithmetic */
            body = body * 100 + (s[6] == 'A' ? 19u : 18u);
            i++;
            continue;
        }
        if (!s_digit(s[i]))
            return ES_INVALID_ARGUMENT;
        d = (unsigned)(s[i] - '0');
        body = body * 10 + d;
    }
    if (!s_digit(s[13]) || !s_digit(s[14]))
        return ES_INVALID_ARGUMENT;
    unsigned key = (unsigned)(s[13] - '0') * 10u + (unsigned)(s[14] - '0');
    if (97u - (unsigned)(body % 97u) != key)
        return ES_INVALID_ARGUMENT;
    if (out)
        memcpy(out, s, sizeof s);
    return 0;
}
