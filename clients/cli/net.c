/* net.c - why a broker does not answer (cli.h): nothing listens there, or
 * something does but the CURVE handshake never completes (key). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clients/cli/cli.h"
#include "proto/status.h"

#define S_PROBE_MS 1000 /* longest wait for a TCP connection */

int cli_tcp_probe(const char *endpoint)
{
    char host[256], port[16];
    if (!endpoint || strncmp(endpoint, "tcp://", 6))
        return ES_INVALID_ARGUMENT;
    const char *h = endpoint + 6, *colon = strrchr(h, ':');
    if (!colon || (size_t)(colon - h) >= sizeof host || strlen(colon + 1) >= sizeof port ||
        colon == h)
        return ES_INVALID_ARGUMENT;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    snprintf(port, sizeof port, "%s", colon + 1);
    if (host[0] == '[') { /* [::1] */
        size_t n = strlen(host);
        if (n < 3 || host[n - 1] != ']')
            return ES_INVALID_ARGUMENT;
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return ES_INVALID_ARGUMENT;
    int rc = ES_UNAVAILABLE;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto free_ai;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        rc = 0;
    } else if (errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (poll(&p, 1, S_PROBE_MS) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
            rc = 0;
    }
    close(fd);
free_ai:
    freeaddrinfo(ai);
    return rc;
}

int cli_fail_conn(const espace_error_t *err, const char *endpoint)
{
    if (err->status != ES_UNAVAILABLE || !endpoint || strncmp(endpoint, "tcp://", 6))
        return cli_fail_err(err);
    int probe = cli_tcp_probe(endpoint);
    if (probe == ES_INVALID_ARGUMENT)
        return cli_fail(ES_UNAVAILABLE, "no answer from %s: not a tcp://HOST:PORT address",
                        endpoint);
    if (probe < 0)
        return cli_fail(ES_UNAVAILABLE,
                        "no answer from %s: nothing listens there (is espace running? is the "
                        "port its req_port?)",
                        endpoint);
    return cli_fail(ES_UNAVAILABLE,
                    "no answer from %s: it listens but refuses this software's key (is the key "
                    "registered with espace admin keys add? is --broker-key the output of "
                    "espace admin keys show?)",
                    endpoint);
}
