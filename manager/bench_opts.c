/* bench_opts — endpoint, workload, number parsing for `swarm bench`. See bench_opts.h. */
#include "manager/bench_opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_endpoint_parse(const char *url, struct bench_endpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (strlen(url) >= sizeof(out->url)) {
        snprintf(err, errlen, "-H: URL too long");
        return -1;
    }
    memcpy(out->url, url, strlen(url) + 1);
    const char *path = NULL;
    if (strncmp(url, "unix://", 7) == 0)
        path = url + 7;
    else if (url[0] == '/')
        path = url;
    if (path != NULL) {
        if (path[0] != '/') {
            snprintf(err, errlen, "-H %.200s: the socket path must be absolute", url);
            return -1;
        }
        if (strlen(path) >= sizeof(out->unix_path)) {
            snprintf(err, errlen, "-H %.200s: socket path longer than %zu bytes", url,
                     sizeof(out->unix_path) - 1);
            return -1;
        }
        memcpy(out->unix_path, path, strlen(path) + 1);
        snprintf(out->base, sizeof(out->base), "http://localhost");
        return 0;
    }
    if (strncmp(url, "tcp://", 6) == 0) {
        const char *hp = url + 6;
        const char *colon = strrchr(hp, ':');
        long port;
        if (colon == NULL || colon == hp || strchr(hp, '/') != NULL ||
            bench_parse_long(colon + 1, 1, 65535, &port) < 0) {
            snprintf(err, errlen, "-H %.200s: expected tcp://HOST:PORT", url);
            return -1;
        }
        snprintf(out->base, sizeof(out->base), "http://%s", hp);
        return 0;
    }
    snprintf(err, errlen, "-H %.200s: expected unix:///PATH or tcp://HOST:PORT", url);
    return -1;
}

static const char *const workload_names[BENCH_NWORKLOADS] = {
    [BENCH_API] = "api",   [BENCH_CHURN] = "churn",     [BENCH_RUN_LATENCY] = "run-latency",
    [BENCH_LOGS] = "logs", [BENCH_INSPECT] = "inspect", [BENCH_PS] = "ps",
};

int bench_workload_parse(const char *name)
{
    for (int i = 0; i < BENCH_NWORKLOADS; i++) {
        if (strcmp(name, workload_names[i]) == 0)
            return i;
    }
    return -1;
}

const char *bench_workload_name(enum bench_workload w)
{
    return (unsigned)w < BENCH_NWORKLOADS ? workload_names[w] : "?";
}

int bench_parse_long(const char *s, long min, long max, long *out)
{
    if (s[0] < '0' || s[0] > '9')
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
    }
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int bench_parse_seconds(const char *s, double *out)
{
    if ((s[0] < '0' || s[0] > '9') && s[0] != '.')
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    /* Plain decimal only: strtod would also take hex, exponents, "inf". */
    if (errno != 0 || end == s || end != s + strspn(s, "0123456789.") || !isfinite(v))
        return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1000;
    else if (strcmp(end, "m") == 0)
        v *= 60;
    else if (*end != '\0' && strcmp(end, "s") != 0)
        return -1;
    if (!(v > 0) || v > 86400)
        return -1;
    *out = v;
    return 0;
}
