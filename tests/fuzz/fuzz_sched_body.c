/*
 * Fuzz target for the manager's reading of a client's create body (POST /containers/create,
 * untrusted): sched_request_from_body (manager/scheduler.h), then the placement over a fixed
 * three-node view under each strategy, an in-flight create, sched_request_add_expr and
 * sched_body_set_cpu_shares, as api_routes.c's create path does. Input: the body's JSON text,
 * optionally followed by a NUL and an expression for sched_request_add_expr ("affinity:X",
 * "whitelist:X", "constraint:X"; without a prefix, a constraint), and by another NUL and the
 * ?name= value ("fuzz" when absent). Must never crash, leak or over-read, and:
 *   - a refused body gives 400 or 500 and a message, and the same answer without a swarm id;
 *   - an accepted one keeps no scheduling Env entry, carries the swarm id and, in its
 *     com.docker.swarm.* labels, exactly the expressions the request holds;
 *   - a decision ranks distinct nodes of the view (or gives an error text and 500), want = 1
 *     picks what want = 0 ranks first, spread and binpack agree on success, and random
 *     succeeds whenever they do;
 *   - CpuShares is rewritten to ceil(N * 1024 / ncpu), and the body still dumps to JSON that
 *     re-parses to an equal value.
 */
#include "manager/scheduler.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY (256 * 1024) /* json_loadb's bound: bigger inputs are skipped */
#define MAX_TAIL 4096         /* the expression and the name, each */
#define GIB (1024LL * 1024 * 1024)
#define MIB (1024LL * 1024)

static const char swarm_id[] = "5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5";
static const char label_id[] = "com.docker.swarm.id";

/* ---- the fixed view: three nodes, a few containers with labels and ports each ------------- */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int add_ctr(struct sched_view *v, size_t node, const char *id, const char *name,
                   const char *alias, const char *sid, const char *image,
                   const struct sched_kv *labels, size_t nlabels, int64_t memory, int64_t mcpus,
                   const struct sched_port *ports, size_t nports, bool host,
                   const char *const *exposed, size_t nexposed)
{
    const char *names[2] = {name, alias};
    struct sched_container c = {
        .id = id,
        .names = names,
        .nnames = alias ? 2 : 1,
        .swarm_id = sid,
        .image = image,
        .image_id = "",
        .labels = labels,
        .nlabels = nlabels,
        .memory = memory,
        .mcpus = mcpus,
        .host_network = host,
        .ports = ports,
        .nports = nports,
        .exposed = exposed,
        .nexposed = nexposed,
    };
    return sched_node_add_container(v, node, &c);
}

static struct sched_view *build_view(void)
{
    static const struct sched_kv l1[] = {
        {"storagedriver", "overlay2"},
        {"kernelversion", "6.1.0-18-amd64"},
        {"operatingsystem", "Debian GNU/Linux 12 (bookworm)"},
        {"ostype", "linux"},
        {"zone", "a"},
        {"disk", "ssd"},
    };
    static const struct sched_kv l2[] = {
        {"storagedriver", "aufs"},
        {"kernelversion", "5.15.0-91-generic"},
        {"operatingsystem", "Ubuntu 22.04.3 LTS"},
        {"ostype", "linux"},
        {"zone", "b"},
        {"containerslots", "many"},
    };
    static const struct sched_kv l3[] = {
        {"storagedriver", "btrfs"},
        {"kernelversion", "4.19.0"},
        {"operatingsystem", "CentOS Linux 7"},
        {"ostype", "linux"},
        {"zone", "b"},
        {"containerslots", "3"},
        {"gpu", "true"},
    };
    static const struct sched_kv web[] = {
        {"com.docker.compose.project", "app"},
        {"com.docker.compose.service", "web"},
        {"com.docker.compose.container-number", "1"},
        {"tier", "front"},
    };
    static const struct sched_kv db[] = {
        {"role", "db"}, {"com.docker.swarm.reschedule-policies", "[\"on-node-failure\"]"}};
    static const struct sched_kv cache[] = {
        {"com.docker.compose.project", "app"},
        {"com.docker.compose.service", "cache"},
    };
    static const struct sched_kv worker[] = {
        {"com.docker.compose.project", "app"},
        {"com.docker.compose.service", "worker"},
        {"com.docker.compose.container-number", "2"},
        {"tier", "back"},
    };
    static const struct sched_kv mon[] = {{"role", "monitor"}};
    static const struct sched_kv x[] = {{"a", "b"}};
    static const struct sched_port p_web[] = {{"0.0.0.0", "8080", "tcp"}, {"", "8443", "tcp"}};
    static const struct sched_port p_db[] = {{"127.0.0.1", "6379", "tcp"}};
    static const struct sched_port p_cache[] = {{"10.0.0.2", "9000-9010", "udp"},
                                                {"::", "53", "udp"}};
    static const char *const e_mon[] = {"9100/tcp", "8125/udp"};

    struct sched_view *v = sched_view_new();
    if (v == NULL)
        return NULL;
    if (sched_view_add_node(v, "h1", "AAAA:BBBB:CCCC:DDDD:0001", 100, 2, 2 * GIB, l1, COUNT(l1),
                            NULL) != 0 ||
        sched_view_add_node(v, "h2", "AAAA:BBBB:CCCC:DDDD:0002", 100, 4, 4 * GIB, l2, COUNT(l2),
                            NULL) != 1 ||
        sched_view_add_node(v, "h3", "AAAA:BBBB:CCCC:DDDD:0003", 100, 8, 8 * GIB, l3, COUNT(l3),
                            NULL) != 2)
        goto fail;
    static const char *const t1[] = {"busybox:latest", "nginx:1.25"};
    static const char *const t2[] = {"redis:7", "<none>:<none>"};
    static const char *const t3[] = {"busybox:latest"};
    if (sched_node_add_image(v, 0, "sha256:b1", t1, COUNT(t1)) < 0 ||
        sched_node_add_image(v, 1, "sha256:e2", t2, COUNT(t2)) < 0 ||
        sched_node_add_image(v, 2, "sha256:b1", t3, COUNT(t3)) < 0)
        goto fail;
    if (add_ctr(v, 0, "c0ffee01", "web", "app_web_1", "", "nginx:1.25", web, COUNT(web), 64 * MIB,
                500, p_web, COUNT(p_web), false, NULL, 0) < 0 ||
        add_ctr(v, 0, "c0ffee02", "db", NULL,
                "1111111111111111111111111111111111111111111111111111111111111111", "redis:7", db,
                COUNT(db), 256 * MIB, 1000, p_db, COUNT(p_db), false, NULL, 0) < 0 ||
        add_ctr(v, 1, "c0ffee03", "cache", "app_cache_1", "", "redis:7", cache, COUNT(cache), 0, 0,
                p_cache, COUNT(p_cache), false, NULL, 0) < 0 ||
        add_ctr(v, 1, "c0ffee04", "worker", "web/worker", "", "busybox", worker, COUNT(worker), GIB,
                2000, NULL, 0, false, NULL, 0) < 0 ||
        add_ctr(v, 2, "c0ffee05", "monitor", NULL, "", "prom/node-exporter", mon, COUNT(mon), 0, 0,
                NULL, 0, true, e_mon, COUNT(e_mon)) < 0 ||
        add_ctr(v, 2, "c0ffee06", "x", NULL, "", "busybox:latest", x, COUNT(x), 32 * MIB, 0, NULL,
                0, false, NULL, 0) < 0)
        goto fail;
    return v;
fail:
    sched_view_free(v);
    return NULL;
}

/* ---- checks --------------------------------------------------------------------------------- */

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static bool is_sched_env(const char *s)
{
    static const char *const prefixes[] = {"constraint:", "affinity:", "reschedule:", "whitelist:"};
    for (size_t i = 0; i < COUNT(prefixes); i++)
        if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static const char *const *req_list(const struct sched_request *r, enum sched_filter kind, size_t *n)
{
    switch (kind) {
    case SCHED_F_CONSTRAINT:
        *n = r->nconstraints;
        return r->constraints;
    case SCHED_F_AFFINITY:
        *n = r->naffinities;
        return r->affinities;
    default:
        *n = r->nwhitelists;
        return r->whitelists;
    }
}

static const char *list_label(enum sched_filter kind)
{
    return kind == SCHED_F_CONSTRAINT ? "com.docker.swarm.constraints"
           : kind == SCHED_F_AFFINITY ? "com.docker.swarm.affinities"
                                      : "com.docker.swarm.whitelists";
}

static const enum sched_filter kinds[3] = {SCHED_F_CONSTRAINT, SCHED_F_AFFINITY, SCHED_F_WHITELIST};

static size_t count_strings(const json_t *arr)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(arr); i++)
        n += json_is_string(json_array_get(arr, i));
    return n;
}

/* An accepted body: what sched_request_from_body promises about the rewrite and the request. */
static void check_request(const json_t *body, const struct sched_request *r, const char *name,
                          const char *orig_id)
{
    const json_t *env = json_object_get(body, "Env");
    for (size_t i = 0; i < json_array_size(env); i++) {
        const char *s = json_string_value(json_array_get(env, i));
        if (s && is_sched_env(s))
            abort();
    }
    const json_t *labels = json_object_get(body, "Labels");
    const char *id = json_string_value(json_object_get(labels, label_id));
    if (!json_is_object(labels) || id == NULL || strcmp(id, orig_id ? orig_id : swarm_id) != 0 ||
        r->swarm_id == NULL || strcmp(r->swarm_id, id) != 0)
        abort();
    for (int k = 0; k < 3; k++) {
        size_t n;
        const char *const *l = req_list(r, kinds[k], &n);
        if (n == 0)
            continue;
        const char *text = json_string_value(json_object_get(labels, list_label(kinds[k])));
        json_t *arr = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
        if (l == NULL || !json_is_array(arr) || json_array_size(arr) != n)
            abort();
        for (size_t i = 0; i < n; i++) {
            const char *s = json_string_value(json_array_get(arr, i));
            if (s == NULL || l[i] == NULL || strcmp(s, l[i]) != 0)
                abort();
        }
        json_decref(arr);
    }
    size_t nstr = 0;
    const char *key;
    const json_t *x;
    json_object_foreach((json_t *)labels, key, x)
    {
        nstr += json_is_string(x);
    }
    if (r->nlabels != nstr || (nstr && r->labels == NULL))
        abort();
    for (size_t i = 0; i < r->nlabels; i++) {
        const char *val = json_string_value(json_object_get(labels, r->labels[i].key));
        if (val == NULL || r->labels[i].value == NULL || strcmp(val, r->labels[i].value) != 0)
            abort();
    }
    const char *want_name = name ? (name[0] == '/' ? name + 1 : name) : "";
    const json_t *hc = json_object_get(body, "HostConfig");
    if (r->name == NULL || strcmp(r->name, want_name) != 0 || r->image == NULL ||
        strcmp(r->image, str_or_empty(json_string_value(json_object_get(body, "Image")))) != 0 ||
        r->network_mode == NULL ||
        strcmp(r->network_mode,
               str_or_empty(json_string_value(json_object_get(hc, "NetworkMode")))) != 0)
        abort();
    if (r->memory < 0 || r->mcpus < 0 ||
        (r->reschedule != SCHED_RESCHEDULE_OFF &&
         r->reschedule != SCHED_RESCHEDULE_ON_NODE_FAILURE))
        abort();
    for (size_t i = 0; i < r->nports; i++)
        if (r->ports[i].host_ip == NULL || r->ports[i].host_port == NULL ||
            r->ports[i].proto == NULL)
            abort();
    if (r->nexposed != json_object_size(json_object_get(body, "ExposedPorts")) ||
        r->nvolumes_from != count_strings(json_object_get(hc, "VolumesFrom")) ||
        r->nlinks != count_strings(json_object_get(hc, "Links")))
        abort();
    for (size_t i = 0; i < r->nexposed; i++)
        if (r->exposed[i] == NULL)
            abort();
    for (size_t i = 0; i < r->nvolumes_from; i++)
        if (r->volumes_from[i] == NULL)
            abort();
    for (size_t i = 0; i < r->nlinks; i++)
        if (r->links[i] == NULL)
            abort();
}

/* The same expressions, whatever the name and swarm id. */
static void check_same_lists(const struct sched_request *a, const struct sched_request *b)
{
    for (int k = 0; k < 3; k++) {
        size_t na, nb;
        const char *const *la = req_list(a, kinds[k], &na), *const *lb = req_list(b, kinds[k], &nb);
        if (na != nb)
            abort();
        for (size_t i = 0; i < na; i++)
            if (strcmp(la[i], lb[i]) != 0)
                abort();
    }
    if (a->reschedule != b->reschedule || a->memory != b->memory || a->mcpus != b->mcpus ||
        a->nports != b->nports || a->nexposed != b->nexposed)
        abort();
}

static void check_result(const struct sched_view *v, int rc, const struct sched_result *res,
                         size_t want)
{
    if (rc == 0) {
        if (res->error != NULL || res->status != 0 || res->ranked == NULL || res->nranked == 0 ||
            res->nranked > v->nnodes || (want == 1 && res->nranked != 1))
            abort();
        for (size_t i = 0; i < res->nranked; i++) {
            if (res->ranked[i] >= v->nnodes || v->nodes[res->ranked[i]].health <= 0)
                abort();
            for (size_t j = 0; j < i; j++)
                if (res->ranked[j] == res->ranked[i])
                    abort();
        }
    } else if (rc == -1) {
        if (res->error == NULL || res->error[0] == '\0' || res->status != 500 || res->nranked != 0)
            abort();
    } else {
        abort();
    }
}

/* An integer field as jint reads it, or false when the library's own reading is not defined
 * (a real outside int64_t) or the value is not a positive count. */
static bool positive_int(const json_t *o, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(o, key);
    int64_t n = 0;
    if (json_is_integer(v)) {
        n = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d > -9.2e18 && d < 9.2e18))
            return false;
        n = (int64_t)d;
    }
    *out = n;
    return n > 0;
}

static void check_cpu_shares(const json_t *o, const char *key, bool had, int64_t n, int64_t ncpu)
{
    if (!had || n > INT64_MAX / 1024)
        return;
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) != (n * 1024 + ncpu - 1) / ncpu)
        abort();
}

/* ---- the target ----------------------------------------------------------------------------- */

/* The next NUL-terminated piece of the tail (at most MAX_TAIL bytes kept); *more: a NUL ended
 * it, so another piece (maybe empty) follows. */
static char *segment(const uint8_t **p, size_t *left, bool *more)
{
    const uint8_t *nul = memchr(*p, 0, *left);
    size_t n = nul ? (size_t)(nul - *p) : *left;
    size_t keep = n < MAX_TAIL ? n : MAX_TAIL;
    char *s = malloc(keep + 1);
    if (s) {
        memcpy(s, *p, keep);
        s[keep] = '\0';
    }
    *more = nul != NULL;
    *p += nul ? n + 1 : n;
    *left -= nul ? n + 1 : n;
    return s;
}

static void decide(const struct sched_view *v, const struct sched_request *r, uint64_t seed,
                   long *chosen)
{
    static const char *const strategies[3] = {"spread", "binpack", "random"};
    int rcs[3];
    *chosen = -1;
    for (int s = 0; s < 3; s++) {
        struct sched_config c;
        char err[256];
        if (sched_config_init(&c, strategies[s], NULL, 0.05, err, sizeof(err)) < 0)
            abort();
        struct sched_rng rng;
        if (s == 2) {
            c.random = sched_rng_next;
            c.random_arg = &rng;
        }
        struct sched_result all, one;
        sched_rng_seed(&rng, seed);
        int ra = sched_select(&c, v, r, 0, &all);
        check_result(v, ra, &all, 0);
        sched_rng_seed(&rng, seed);
        int r1 = sched_select(&c, v, r, 1, &one);
        check_result(v, r1, &one, 1);
        bool oom = (all.error && strcmp(all.error, "out of memory") == 0) ||
                   (one.error && strcmp(one.error, "out of memory") == 0);
        if (!oom && (ra != r1 || (ra == 0 && all.ranked[0] != one.ranked[0])))
            abort();
        if (!oom && ra == -1 && strcmp(all.error, one.error) != 0)
            abort();
        rcs[s] = oom ? -2 : r1;
        if (s == 0 && r1 == 0)
            *chosen = (long)one.ranked[0];
        sched_result_clear(&all);
        sched_result_clear(&one);
    }
    if (rcs[0] != -2 && rcs[1] != -2 && rcs[0] != rcs[1])
        abort();
    if (rcs[0] == 0 && rcs[2] == -1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t blen = nul ? (size_t)(nul - data) : size;
    if (blen > MAX_BODY)
        return 0;
    json_t *body = json_loadb((const char *)data, blen, 0, NULL);
    if (body == NULL)
        return 0;
    const uint8_t *p = data + blen;
    size_t left = size - blen;
    char *expr = NULL, *name = NULL;
    if (nul) {
        bool more = false;
        p++;
        left--;
        expr = segment(&p, &left, &more);
        if (more)
            name = segment(&p, &left, &more);
    }
    const char *use_name = name ? name : "fuzz";

    /* The same body without a swarm id or a name (api_routes_place's call) must get the same
     * answer. */
    json_t *copy = json_deep_copy(body);
    const json_t *labels = json_object_get(body, "Labels");
    const char *id0 = json_string_value(json_object_get(labels, label_id));
    char *orig_id = id0 ? strdup(id0) : NULL;

    struct sched_request *r = NULL, *r2 = NULL;
    int status = 0, status2 = 0;
    char err[512] = "", err2[512] = "";
    int rc = sched_request_from_body(body, use_name, swarm_id, &r, &status, err, sizeof(err));
    if (rc == 0) {
        if (r == NULL || status != 0)
            abort();
        check_request(body, r, use_name, orig_id);
    } else if (rc != -1 || r != NULL || (status != 400 && status != 500) || err[0] == '\0') {
        abort();
    }
    if (copy && (!id0 || orig_id)) {
        int rc2 = sched_request_from_body(copy, NULL, NULL, &r2, &status2, err2, sizeof(err2));
        bool oom =
            strcmp(err, "swarm: out of memory") == 0 || strcmp(err2, "swarm: out of memory") == 0;
        if (!oom && (rc2 != rc || status2 != status || strcmp(err, err2) != 0))
            abort();
        if (rc2 == 0) {
            if (r2 == NULL || r2->name == NULL || r2->name[0] != '\0' || r2->swarm_id == NULL ||
                strcmp(r2->swarm_id, str_or_empty(orig_id)) != 0)
                abort();
            if (r)
                check_same_lists(r, r2);
        }
    }
    sched_request_free(r2);
    json_decref(copy);
    free(orig_id);

    if (rc == 0) {
        /* What sched_request_add_expr must refuse, and the input's expression. */
        struct sched_request hand = {0};
        if (sched_request_add_expr(&hand, SCHED_F_CONSTRAINT, "node==h1") != -1 ||
            sched_request_add_expr(r, SCHED_F_PORT, "node==h1") != -1 ||
            sched_request_add_expr(r, SCHED_F_CONSTRAINT, NULL) != -1)
            abort();
        struct sched_view *v = build_view();
        long chosen = -1;
        if (v) {
            decide(v, r, size, &chosen);
            const char *e = expr ? expr : "image==busybox";
            enum sched_filter kind = SCHED_F_AFFINITY;
            if (expr && strncmp(expr, "constraint:", 11) == 0)
                kind = SCHED_F_CONSTRAINT, e = expr + 11;
            else if (expr && strncmp(expr, "affinity:", 9) == 0)
                e = expr + 9;
            else if (expr && strncmp(expr, "whitelist:", 10) == 0)
                kind = SCHED_F_WHITELIST, e = expr + 10;
            else if (expr)
                kind = SCHED_F_CONSTRAINT;
            size_t before, after;
            long chosen2;
            req_list(r, kind, &before);
            if (sched_request_add_expr(r, kind, e) == 0) {
                const char *const *l = req_list(r, kind, &after);
                if (after != before + 1 || strcmp(l[before], e) != 0)
                    abort();
                decide(v, r, size + 1, &chosen2);
                if (chosen2 >= 0)
                    chosen = chosen2;
            }
            /* A create sent to the chosen node and not answered yet, then the next decision. */
            if (chosen >= 0) {
                size_t n0 = v->nodes[chosen].ncontainers;
                if (sched_view_add_inflight(v, (size_t)chosen, r) == 0) {
                    bool dup = false;
                    for (size_t i = 0; i < n0; i++)
                        dup |= strcmp(v->nodes[chosen].containers[i].swarm_id, r->swarm_id) == 0;
                    if (v->nodes[chosen].ncontainers != n0 + !dup)
                        abort();
                    decide(v, r, size + 2, &chosen2);
                }
            }
        }
        int64_t ncpu = v && chosen >= 0 ? v->nodes[chosen].cpus : 3;
        sched_view_free(v);
        sched_request_free(r);

        json_t *hc = json_object_get(body, "HostConfig");
        int64_t n_hc = 0, n_top = 0;
        bool had_hc = json_is_object(hc) && positive_int(hc, "CpuShares", &n_hc);
        bool had_top = positive_int(body, "CpuShares", &n_top);
        sched_body_set_cpu_shares(body, ncpu);
        check_cpu_shares(hc, "CpuShares", had_hc, n_hc, ncpu);
        check_cpu_shares(body, "CpuShares", had_top, n_top, ncpu);

        char *text = json_dumps(body, JSON_COMPACT);
        if (text == NULL)
            abort();
        json_t *back = json_loads(text, 0, NULL);
        if (!json_is_object(back) || !json_equal(back, body))
            abort();
        json_decref(back);
        free(text);
    }
    free(expr);
    free(name);
    json_decref(body);
    return 0;
}
