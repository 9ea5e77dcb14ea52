/* text.c - free text shown to people (see text.h). */
#include "proto/text.h"

/* 1 if p starts a C1 control, a line or paragraph separator or a bidi
 * embedding, override or isolate. Reads past p[0] only within the string
 * (valid UTF-8: the bytes after a lead byte are continuation bytes). */
static int s_deceptive(const unsigned char *p)
{
    if (p[0] == 0xc2)
        return p[1] >= 0x80 && p[1] <= 0x9f;
    if (p[0] != 0xe2)
        return 0;
    if (p[1] == 0x80)
        return p[2] >= 0xa8 && p[2] <= 0xae;
    return p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9;
}

int text_display_ok(const char *s, int multiline, size_t *chars)
{
    size_t n = 0;
    int ok = 1;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t'))) || *p == 0x7f ||
            s_deceptive(p)) {
            ok = 0;
            break;
        }
        if ((*p & 0xc0) != 0x80)
            n++;
    }
    if (chars)
        *chars = n;
    return ok;
}
