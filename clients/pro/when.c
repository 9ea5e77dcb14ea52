/* when.c - espace-pro's times (pro.h): the command lines' own
 * (clients/cli time.c), Paris with the offset. */
#include "clients/pro/pro.h"

const char *pro_paris_format(int64_t ms, char out[CLI_TIME_MAX])
{
    return cli_time_format(ms, out);
}

int pro_parse_time(const char *s, int64_t *ms)
{
    return cli_time_parse(s, ms);
}

int pro_opt_time(const cli_opt_t *o, size_t n, const char *name, int64_t *ms)
{
    const char *v = cli_value(o, n, name);
    if (!v || pro_parse_time(v, ms) == 0)
        return 0;
    return cli_fail_field(ES_INVALID_ARGUMENT, name + 2,
                          "%s: '%.40s' is not a time: 2026-12-01 (midnight), 2026-12-01T09:30 "
                          "(Paris), 2026-12-01T09:30+01:00 or 2026-12-01T08:30Z",
                          name, v);
}
