/* help.c - help texts of espace's command lines (cli.h): one usage text per
 * binary, the help of one command cut out of it, the usage-error pointer. */
#include <string.h>

#include "clients/cli/cli.h"
#include "proto/status.h"

#ifndef ESPACE_VERSION
#define ESPACE_VERSION "unknown"
#endif

#define S_WORD_MAX 64 /* longest command word compared */

/* The line at p: its length without the newline. */
static size_t s_line_len(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? (size_t)(nl - p) : strlen(p);
}

/* The next line after the one at p (NULL at the end). */
static const char *s_next(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl && nl[1] ? nl + 1 : NULL;
}

/* 1 if the line (len bytes) is a section header: not indented, not empty. */
static int s_is_header(const char *p, size_t len)
{
    return len > 0 && p[0] != ' ';
}

/* 1 if the line is the first line of a command entry: two spaces, then not
 * a space. */
static int s_is_entry(const char *p, size_t len)
{
    return len > 2 && p[0] == ' ' && p[1] == ' ' && p[2] != ' ';
}

/* The command word starting at *p (entry line end at `end`): its length, 0
 * when what follows is not a command word (an option, a placeholder, the
 * description after two spaces, the end). Moves *p past it and one space. */
static size_t s_word(const char **p, const char *end)
{
    const char *s = *p;
    if (s >= end || *s == ' ' || *s == '-' || *s == '[' || *s == '(' || *s == '<' ||
        (*s >= 'A' && *s <= 'Z'))
        return 0;
    const char *e = s;
    while (e < end && *e != ' ')
        e++;
    *p = e < end ? e + 1 : e;
    return (size_t)(e - s);
}

/* 1 if the entry line at p (len bytes) starts with the words. */
static int s_entry_matches(const char *p, size_t len, int nwords, char *const *words)
{
    const char *s = p + 2, *end = p + len;
    for (int k = 0; k < nwords; k++) {
        const char *w = s;
        size_t n = s_word(&s, end);
        if (!n || strlen(words[k]) != n || strncmp(w, words[k], n))
            return 0;
    }
    return 1;
}

/* The program of a usage text: the words of its first line after "usage: "
 * but "[options]" and the final upper-case placeholder ("espace admin"). */
static void s_program(const char *usage, char *out, size_t n)
{
    out[0] = '\0';
    if (!usage || strncmp(usage, "usage: ", 7))
        return;
    const char *p = usage + 7, *end = p + s_line_len(p);
    size_t used = 0;
    while (p < end) {
        const char *w = p;
        while (p < end && *p != ' ')
            p++;
        size_t wl = (size_t)(p - w);
        int skip = (wl == 9 && !strncmp(w, "[options]", 9)) || (*w >= 'A' && *w <= 'Z');
        if (!skip && used + wl + 2 < n) {
            if (used)
                out[used++] = ' ';
            memcpy(out + used, w, wl);
            used += wl;
            out[used] = '\0';
        }
        while (p < end && *p == ' ')
            p++;
    }
}

int cli_help(FILE *f, const char *usage, int nwords, char *const *words)
{
    int in_commands = 0, in_match = 0, found = 0;
    for (const char *p = usage; p; p = s_next(p)) {
        size_t len = s_line_len(p);
        if (s_is_header(p, len)) {
            in_commands = !strncmp(p, "commands:", 9);
            in_match = 0;
            continue;
        }
        if (!in_commands)
            continue;
        if (s_is_entry(p, len))
            in_match = s_entry_matches(p, len, nwords, words);
        if (!in_match)
            continue;
        if (!found++) { /* the usage line, its placeholder replaced by the words */
            size_t first = s_line_len(usage), cut = first;
            while (cut > 0 && usage[cut - 1] != ' ')
                cut--;
            fprintf(f, "%.*s", (int)(cut ? cut - 1 : first), usage);
            for (int k = 0; k < nwords; k++)
                fprintf(f, " %s", words[k]);
            fputc('\n', f);
        }
        fprintf(f, "%.*s\n", (int)len, p);
    }
    if (!found)
        return ES_NOT_FOUND;
    /* then every section but the usage line and the commands */
    in_commands = 1;
    for (const char *p = s_next(usage); p; p = s_next(p)) {
        size_t len = s_line_len(p);
        if (s_is_header(p, len))
            in_commands = !strncmp(p, "commands:", 9);
        if (!in_commands)
            fprintf(f, "%.*s\n", (int)len, p);
    }
    return 0;
}

void cli_help_commands(FILE *f, const char *prefix, const char *usage)
{
    int in_commands = 0;
    for (const char *p = usage; p; p = s_next(p)) {
        size_t len = s_line_len(p);
        if (s_is_header(p, len))
            in_commands = !strncmp(p, "commands:", 9);
        else if (in_commands && s_is_entry(p, len)) {
            const char *s = p + 2, *end = p + len, *w = s;
            size_t n;
            fputs(prefix ? prefix : "", f);
            for (int k = 0; (n = s_word(&s, end)) != 0; k++, w = s)
                fprintf(f, "%s%.*s", k || (prefix && *prefix) ? " " : "", (int)n, w);
            fputc('\n', f);
        }
    }
}

int cli_usage(const char *cmd, const char *why, const char *help)
{
    char prog[CLI_WHY_MAX];
    s_program(help, prog, sizeof prog);
    if (cmd && *cmd)
        fprintf(stderr, "error: %s: %s\n", cmd, why);
    else
        fprintf(stderr, "error: %s\n", why);
    if (prog[0])
        fprintf(stderr, "see: %s%s%s --help\n", prog, cmd && *cmd ? " " : "", cmd ? cmd : "");
    return 2;
}

int cli_version(const char *prog)
{
    printf("%s %s\n", prog, ESPACE_VERSION);
    return 0;
}

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}
