/*
 * text.h - free text shown to people (names, professions, titles, reasons).
 *
 * A text a patient or a professional reads must read as it is stored. The
 * codec already refuses invalid UTF-8 and NUL (bus/codec.h); text_display_ok
 * refuses, besides, what displays otherwise than it is:
 *   - control characters: below 0x20 (except newline and tab when multiline),
 *     DEL, and the C1 controls U+0080..U+009F (terminal escapes, NEL);
 *   - the line and paragraph separators U+2028, U+2029;
 *   - bidi embeddings, overrides and isolates U+202A..U+202E, U+2066..U+2069
 *     (a name shown reversed).
 *
 * THREAD SAFETY: a pure function.
 */
#ifndef ES_PROTO_TEXT_H
#define ES_PROTO_TEXT_H

#include <stddef.h>

/* 1 if s (valid UTF-8; NULL is the empty text) holds none of the above, else
 * 0; *chars (may be NULL) its code points counted up to where it stopped. */
int text_display_ok(const char *s, int multiline, size_t *chars);

#endif
