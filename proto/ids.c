/*
 * ids.c - 128-bit identifiers and their hex text form (see ids.h).
 */
#include "proto/ids.h"

#include <string.h>

#include "proto/status.h"

static int s_nibble(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int id_hex_valid(const char *s)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < 2 * ID_BYTES; i++)
        if (s_nibble(s[i]) < 0)
            return 0; /* also stops at a NUL before the end */
    return s[2 * ID_BYTES] == '\0';
}

int id_parse(const char *hex, uint8_t out[ID_BYTES])
{
    if (!id_hex_valid(hex))
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < ID_BYTES; i++)
        out[i] = (uint8_t)(s_nibble(hex[2 * i]) << 4 | s_nibble(hex[2 * i + 1]));
    return ES_OK;
}

const char *id_hex(const uint8_t id[ID_BYTES], char out[ID_HEX])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < ID_BYTES; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 0xf];
    }
    out[2 * ID_BYTES] = '\0';
    return out;
}

const char *id_hex_bytes(const uint8_t *data, size_t len, char out[ID_HEX])
{
    if (!data || len != ID_BYTES) {
        out[0] = '\0';
        return out;
    }
    return id_hex(data, out);
}
