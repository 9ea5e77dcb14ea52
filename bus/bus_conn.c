/*
 * bus_conn.c - CURVE keypairs, Z85, socket options and clocks shared by
 * every socket of the bus library (bus.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bus/bus.h"
#include "proto/status.h"

#define S_PUB_SUFFIX ".pub"

static int s_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int s_read_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* Write the public key text to path (replacing it). */
static int s_write_pub(const char *path, const uint8_t public_key[32])
{
    char z85[BUS_KEY_Z85 + 1];
    bus_key_z85(public_key, z85);
    size_t len = strlen(z85);
    z85[len] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return ES_INTERNAL;
    int rc = s_write_all(fd, z85, len + 1) == 0 && fsync(fd) == 0 ? 0 : ES_INTERNAL;
    close(fd);
    return rc;
}

/* Read and check the public key file; ES_NOT_FOUND if absent. */
static int s_read_pub(const char *path, uint8_t public_key[32])
{
    char buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? ES_NOT_FOUND : ES_INTERNAL;
    ssize_t r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (r < 40)
        return ES_INTERNAL;
    buf[40] = '\0';
    return bus_key_parse(buf, public_key) == 0 ? 0 : ES_INTERNAL;
}

static int s_create(const char *path, uint8_t public_key[32], uint8_t secret_key[32])
{
    int rc = ES_INTERNAL;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == EEXIST ? ES_ALREADY_EXISTS : ES_INTERNAL;
    crypto_box_keypair(public_key, secret_key);
    if (s_write_all(fd, secret_key, 32) != 0 || fsync(fd) != 0)
        goto fail_unlink;
    close(fd);
    fd = -1;
    return 0;
fail_unlink:
    close(fd);
    unlink(path);
    sodium_memzero(secret_key, 32);
    return rc;
}

int bus_keypair_load(const char *path, int create, uint8_t public_key[32],
                     uint8_t secret_key[32])
{
    if (path == NULL || public_key == NULL || secret_key == NULL)
        return ES_INVALID_ARGUMENT;
    size_t plen = strlen(path);
    char *pub_path = malloc(plen + sizeof(S_PUB_SUFFIX));
    if (pub_path == NULL)
        return ES_RESOURCE_EXHAUSTED;
    memcpy(pub_path, path, plen);
    memcpy(pub_path + plen, S_PUB_SUFFIX, sizeof(S_PUB_SUFFIX));

    int rc = ES_INTERNAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno != ENOENT) {
            rc = ES_INTERNAL;
            goto done;
        }
        if (!create) {
            rc = ES_NOT_FOUND;
            goto done;
        }
        rc = s_create(path, public_key, secret_key);
        if (rc == ES_ALREADY_EXISTS) { /* lost a race: load the winner's */
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0) {
                rc = ES_INTERNAL;
                goto done;
            }
        } else {
            if (rc == 0 && (rc = s_write_pub(pub_path, public_key)) != 0)
                sodium_memzero(secret_key, 32);
            goto done;
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
        st.st_size != 32 || s_read_all(fd, secret_key, 32) != 0) {
        rc = ES_INTERNAL;
        sodium_memzero(secret_key, 32);
        goto done;
    }
    crypto_scalarmult_base(public_key, secret_key);
    uint8_t stored[32];
    rc = s_read_pub(pub_path, stored);
    if (rc == ES_NOT_FOUND) {
        rc = create ? s_write_pub(pub_path, public_key) : 0;
    } else if (rc == 0 && sodium_memcmp(stored, public_key, 32) != 0) {
        rc = ES_INTERNAL; /* .pub does not belong to this secret */
    }
    if (rc != 0)
        sodium_memzero(secret_key, 32);
done:
    if (fd >= 0)
        close(fd);
    free(pub_path);
    return rc;
}

void bus_key_z85(const uint8_t key[32], char out[BUS_KEY_Z85])
{
    if (zmq_z85_encode(out, key, 32) == NULL)
        out[0] = '\0';
}

int bus_key_parse(const char *z85, uint8_t key[32])
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";
    if (z85 == NULL || key == NULL || strlen(z85) != BUS_KEY_Z85 - 1)
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < BUS_KEY_Z85 - 1; i++)
        if (strchr(alphabet, z85[i]) == NULL)
            return ES_INVALID_ARGUMENT;
    uint8_t tmp[32];
    if (zmq_z85_decode(tmp, z85) == NULL)
        return ES_INVALID_ARGUMENT;
    memcpy(key, tmp, 32);
    return 0;
}

int bus_socket_setup(void *sock, const bus_conn_t *conn)
{
    if (sock == NULL || conn == NULL || conn->endpoint == NULL)
        return ES_INVALID_ARGUMENT;
    int linger = 0;
    int64_t maxmsg = (int64_t)BUS_MAX_MSG;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0)
        return ES_INTERNAL;
    if (strncmp(conn->endpoint, "tcp://", 6) == 0) {
        uint8_t server[32];
        if (conn->server_key == NULL || conn->public_key == NULL || conn->secret_key == NULL ||
            bus_key_parse(conn->server_key, server) != 0)
            return ES_INVALID_ARGUMENT;
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, 32) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, conn->public_key, 32) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, conn->secret_key, 32) != 0)
            return ES_INTERNAL;
        return 0;
    }
    if (strncmp(conn->endpoint, "ipc://", 6) == 0 || strncmp(conn->endpoint, "inproc://", 9) == 0)
        return 0;
    return ES_INVALID_ARGUMENT;
}

int64_t bus_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bus_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
