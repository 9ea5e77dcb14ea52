/* when.c - espace-pro's agenda times (pro.h): the command lines' own
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
