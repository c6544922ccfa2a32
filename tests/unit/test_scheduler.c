/*
 * test_scheduler — manager/scheduler: every filter and operator with the edge cases of
 * ../shared/reference/classic-swarm.md §2 (many ported from classic Swarm's own
 * the _test.go files of scheduler/filter and scheduler/strategy), both strategies' order with and
 * without reservations, overcommit, the random strategy's determinism, soft fallback, the
 * exact error texts, in-flight accounting, the create body's rewriting and the jansson view.
 */
#include "manager/engines.h"
#include "manager/scheduler.h"
#include "tests/unit/check.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024LL * 1024 * 1024)
#define PREFIX "Unable to find a node that satisfies the following conditions "

/* ---- helpers ---------------------------------------------------------------------------- */

/* "k=v,k=v" into kv (strings kept in buf). */
static size_t parse_kvs(const char *text, struct sched_kv *kv, size_t max, char *buf, size_t cap)
{
    if (text == NULL || text[0] == '\0')
        return 0;
    snprintf(buf, cap, "%s", text);
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && n < max;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        kv[n].key = tok;
        kv[n].value = eq + 1;
        n++;
    }
    return n;
}

static long add_node(struct sched_view *v, const char *name, const char *id, int64_t cpus,
                     int64_t memory, const char *labels)
{
    struct sched_kv kv[16];
    char buf[512];
    size_t n = parse_kvs(labels, kv, 16, buf, sizeof(buf));
    return sched_view_add_node(v, name, id, 100, cpus, memory, kv, n, NULL);
}

struct cspec {
    const char *id, *name, *labels, *swarm_id, *image;
    int64_t memory, mcpus;
    const struct sched_port *ports;
    size_t nports;
    bool host;
    const char *const *exposed;
    size_t nexposed;
};

static void add_ctr(struct sched_view *v, long node, struct cspec s)
{
    struct sched_kv kv[16];
    char buf[512];
    size_t n = parse_kvs(s.labels, kv, 16, buf, sizeof(buf));
    const char *names[1] = {s.name};
    struct sched_container c = {
        .id = s.id ? s.id : "",
        .names = names,
        .nnames = s.name ? 1 : 0,
        .swarm_id = s.swarm_id,
        .image = s.image,
        .labels = kv,
        .nlabels = n,
        .memory = s.memory,
        .mcpus = s.mcpus,
        .host_network = s.host,
        .ports = s.ports,
        .nports = s.nports,
        .exposed = s.exposed,
        .nexposed = s.nexposed,
    };
    CHECK_INT(sched_node_add_container(v, (size_t)node, &c), 0);
}

static struct sched_config config(const char *strategy, const char *filters, double overcommit)
{
    struct sched_config c;
    char err[128];
    if (sched_config_init(&c, strategy, filters, overcommit, err, sizeof(err)) != 0) {
        printf("# config: %s\n", err);
        abort();
    }
    return c;
}

/* The decision as text: the ranked node names joined by ',' or "error: <text>". */
static char outcome[4096];

static const char *decide(const struct sched_config *c, const struct sched_view *v,
                          const struct sched_request *r, size_t want)
{
    struct sched_result res;
    int rc = sched_select(c, v, r, want, &res);
    outcome[0] = '\0';
    if (rc != 0) {
        snprintf(outcome, sizeof(outcome), "error: %s", res.error ? res.error : "(null)");
        if (res.status != 500)
            snprintf(outcome, sizeof(outcome), "bad status %d", res.status);
    } else {
        size_t len = 0;
        for (size_t i = 0; i < res.nranked; i++)
            len += (size_t)snprintf(outcome + len, sizeof(outcome) - len, "%s%s", i ? "," : "",
                                    v->nodes[res.ranked[i]].name);
        if (res.error != NULL)
            snprintf(outcome, sizeof(outcome), "error set on success");
    }
    sched_result_clear(&res);
    return outcome;
}

/* A request with only constraints / affinities / whitelists (NULL-terminated lists). */
static struct sched_request exprs_req(const char *const *cons, const char *const *aff,
                                      const char *const *wl)
{
    struct sched_request r = {.name = "", .image = "", .swarm_id = ""};
    size_t n;
    for (n = 0; cons && cons[n]; n++)
        ;
    r.constraints = cons;
    r.nconstraints = n;
    for (n = 0; aff && aff[n]; n++)
        ;
    r.affinities = aff;
    r.naffinities = n;
    for (n = 0; wl && wl[n]; n++)
        ;
    r.whitelists = wl;
    r.nwhitelists = n;
    return r;
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *cons1(const struct sched_config *c, const struct sched_view *v, const char *e)
{
    struct sched_request r = exprs_req(L(e), NULL, NULL);
    return decide(c, v, &r, 0);
}

static const char *aff1(const struct sched_config *c, const struct sched_view *v, const char *e)
{
    struct sched_request r = exprs_req(NULL, L(e), NULL);
    return decide(c, v, &r, 0);
}

/* classic's constraint_test.go testFixtures() */
static struct sched_view *fixtures(void)
{
    struct sched_view *v = sched_view_new();
    add_node(v, "node-0-name", "node-0-id", 1, GIB, "name=node0,group=1,region=us-west");
    add_node(v, "node-1-name", "node-1-id", 1, GIB, "name=node1,group=1,region=us-east");
    add_node(v, "node-2-name", "node-2-id", 1, GIB, "name=node2,group=2,region=eu");
    add_node(v, "node-3-name", "node-3-id", 1, GIB, "");
    return v;
}

/* ---- configuration -------------------------------------------------------------------------- */

static void test_config(void)
{
    struct sched_config c;
    char err[128];
    CHECK_INT(sched_config_init(&c, NULL, NULL, 0.05, err, sizeof(err)), 0);
    CHECK_INT(c.strategy, SCHED_SPREAD);
    CHECK_INT(c.nfilters, 7);
    for (int i = 0; i < 7; i++)
        CHECK_INT(c.filters[i], i);
    CHECK_STR(sched_filter_name(c.filters[2]), "containerslots");
    CHECK_INT(sched_config_init(&c, "binpacking", "", 0.05, err, sizeof(err)), 0);
    CHECK_INT(c.strategy, SCHED_BINPACK);
    CHECK_INT(sched_config_init(&c, "random", "constraint, health,port", 0, err, sizeof(err)), 0);
    CHECK_INT(c.strategy, SCHED_RANDOM);
    CHECK_INT(c.nfilters, 3);
    CHECK_INT(c.filters[0], SCHED_F_CONSTRAINT);
    CHECK_INT(c.filters[1], SCHED_F_HEALTH);
    CHECK_INT(c.filters[2], SCHED_F_PORT);
    CHECK_INT(sched_config_init(&c, "roundrobin", NULL, 0, err, sizeof(err)), -1);
    CHECK(strstr(err, "roundrobin") != NULL);
    CHECK_INT(sched_config_init(&c, "spread", "health,volume", 0, err, sizeof(err)), -1);
    CHECK_STR(err, "unknown filter \"volume\"");
}

/* ---- expressions ---------------------------------------------------------------------------- */

static void test_expr_syntax(void)
{
    struct sched_view *v = fixtures();
    struct sched_config c = config("spread", "constraint", 0.05);
    /* classic expr_test.go TestParseExprs */
    CHECK_STR(cons1(&c, v, "1node==x"), "error: " PREFIX "\nerror from constraint filter: Key "
                                        "'1node' is invalid");
    CHECK_STR(cons1(&c, v, "node ==node1"),
              "error: " PREFIX "\nerror from constraint filter: Key 'node ' is invalid");
    CHECK_STR(cons1(&c, v, "no*de==node1"),
              "error: " PREFIX "\nerror from constraint filter: Key 'no*de' is invalid");
    CHECK_STR(cons1(&c, v, "no$de==node1"),
              "error: " PREFIX "\nerror from constraint filter: Key 'no$de' is invalid");
    CHECK_STR(cons1(&c, v, "a==b"), /* keys have two characters at least */
              "error: " PREFIX "\nerror from constraint filter: Key 'a' is invalid");
    CHECK_STR(cons1(&c, v, "NoDe==node-1-name"), "error: " PREFIX "\n[NoDe==node-1-name]");
    CHECK_STR(cons1(&c, v, "_name==node0"), "error: " PREFIX "\n[_name==node0]");
    CHECK_STR(cons1(&c, v, "node=="),
              "error: " PREFIX "\nerror from constraint filter: Value '' is invalid");
    CHECK_STR(cons1(&c, v, "node==a,b"),
              "error: " PREFIX "\nerror from constraint filter: Value 'a,b' is invalid");
    CHECK_STR(cons1(&c, v, "node==a{2}"),
              "error: " PREFIX "\nerror from constraint filter: Value 'a{2}' is invalid");
    /* classic constraint_test.go TestUnsupportedOperators */
    CHECK_STR(cons1(&c, v, "name=node0"), "error: " PREFIX "\nerror from constraint filter: One "
                                          "of operator ==, != is expected");
    CHECK_STR(cons1(&c, v, "name=!node0"), "error: " PREFIX "\nerror from constraint filter: One "
                                           "of operator ==, != is expected");
    /* "==" is looked for before "!=": the key is everything before it */
    CHECK_STR(cons1(&c, v, "name!=a==b"),
              "error: " PREFIX "\nerror from constraint filter: Key 'name!=a' is invalid");
    /* a space in a value is fine; "~" twice is not */
    CHECK_STR(cons1(&c, v, "name==node 1"), "error: " PREFIX "\n[name==node 1]");
    CHECK_STR(cons1(&c, v, "region==~us~"),
              "error: " PREFIX "\nerror from constraint filter: Value '~us~' is invalid");
    /* The first bad expression fails the filter even when others are fine. */
    struct sched_request r = exprs_req(L("name==node0", "bad"), NULL, NULL);
    CHECK_STR(decide(&c, v, &r, 0),
              "error: " PREFIX "\nerror from constraint filter: One of operator ==, != is "
              "expected");
    /* The error list stops at a filter whose expressions do not parse. */
    struct sched_config all = config("spread", NULL, 0.05);
    r = exprs_req(L("node==x"), L("container"), NULL);
    CHECK_STR(decide(&all, v, &r, 0), "error: " PREFIX "\n[available container slots]\nerror "
                                      "from affinity filter: One of operator ==, != is expected");
    sched_view_free(v);
}

/* classic constraint_test.go, all of it */
static void test_constraint(void)
{
    struct sched_view *v = fixtures();
    struct sched_config c = config("spread", "constraint", 0.05);
    struct sched_request none = exprs_req(NULL, NULL, NULL);
    CHECK_STR(decide(&c, v, &none, 0), "node-0-name,node-1-name,node-2-name,node-3-name");
    CHECK_STR(cons1(&c, v, "does_not_exist==true"), "error: " PREFIX "\n[does_not_exist==true]");
    CHECK_STR(cons1(&c, v, "name==node1"), "node-1-name");
    CHECK_STR(cons1(&c, v, "group==1"), "node-0-name,node-1-name");
    CHECK_STR(cons1(&c, v, "node==node-2-id"), "node-2-name");
    CHECK_STR(cons1(&c, v, "node==node-1-name"), "node-1-name");
    struct sched_request and = exprs_req(L("name==node0", "group==1"), NULL, NULL);
    CHECK_STR(decide(&c, v, &and, 0), "node-0-name");
    CHECK_STR(cons1(&c, v, "region==us"), "error: " PREFIX "\n[region==us]");
    CHECK_STR(cons1(&c, v, "region==us*"), "node-0-name,node-1-name");
    CHECK_STR(cons1(&c, v, "region==*us*"), "node-0-name,node-1-name");
    /* TestConstraintNotExpr */
    CHECK_STR(cons1(&c, v, "name!=node0"), "node-1-name,node-2-name,node-3-name");
    CHECK_STR(cons1(&c, v, "name!=does_not_exist"),
              "node-0-name,node-1-name,node-2-name,node-3-name");
    CHECK_STR(cons1(&c, v, "name!=n*"), "node-3-name"); /* a missing label is "" */
    CHECK_STR(cons1(&c, v, "region!=us*"), "node-2-name,node-3-name");
    /* TestConstraintRegExp */
    CHECK_STR(cons1(&c, v, "name==/node\\d/"), "node-0-name,node-1-name,node-2-name");
    CHECK_STR(cons1(&c, v, "name==/node[12]/"), "node-1-name,node-2-name");
    CHECK_STR(cons1(&c, v, "name!=/node[12]/"), "node-0-name,node-3-name");
    CHECK_STR(cons1(&c, v, "node!=/node-[01]-id/"), "node-2-name,node-3-name");
    /* a regular expression is unanchored unless anchored */
    CHECK_STR(cons1(&c, v, "region==/east/"), "node-1-name");
    CHECK_STR(cons1(&c, v, "region==/^east/"), "error: " PREFIX "\n[region==/^east/]");
    /* TestFilterEquals / globs are anchored and case-sensitive */
    CHECK_STR(cons1(&c, v, "name==Node0"), "error: " PREFIX "\n[name==Node0]");
    CHECK_STR(cons1(&c, v, "name==*1"), "node-1-name");
    CHECK_STR(cons1(&c, v, "region==u*t"), "node-0-name,node-1-name");
    /* a glob is compiled as a regular expression: '.', '?', '+' keep their meaning */
    CHECK_STR(cons1(&c, v, "region==us.east"), "node-1-name");
    CHECK_STR(cons1(&c, v, "name==node?"), "error: " PREFIX "\n[name==node?]");
    CHECK_STR(cons1(&c, v, "name==node0?"), "node-0-name");
    CHECK_STR(cons1(&c, v, "group==1+"), "node-0-name,node-1-name");
    CHECK_STR(cons1(&c, v, "name==node(0|2)"), "node-0-name,node-2-name");
    /* "/" alone or "//": the empty pattern matches everything */
    CHECK_STR(cons1(&c, v, "name==//"), "node-0-name,node-1-name,node-2-name,node-3-name");
    CHECK_STR(cons1(&c, v, "name!=/"), "error: " PREFIX "\n[name!=/]");
    /* a pattern that does not compile matches nothing (so != keeps every node) */
    CHECK_STR(cons1(&c, v, "name==/(node/"), "error: " PREFIX "\n[name==/(node/]");
    CHECK_STR(cons1(&c, v, "name!=/(node/"), "node-0-name,node-1-name,node-2-name,node-3-name");
    sched_view_free(v);

    /* TestFilterRegExpCaseInsensitive */
    v = sched_view_new();
    add_node(v, "node-0-name", "node-0-id", 1, GIB, "name=node0,group=1,region=us-west");
    add_node(v, "node-1-name", "node-1-id", 1, GIB, "name=node1,group=1,region=us-east");
    add_node(v, "node-2-name", "node-2-id", 1, GIB, "name=node2,group=2,region=eu");
    add_node(v, "node-3-name", "node-3-id", 1, GIB, "name=aBcDeF,group=2,region=eu");
    CHECK_STR(cons1(&c, v, "name==/abcdef/"), "error: " PREFIX "\n[name==/abcdef/]");
    CHECK_STR(cons1(&c, v, "name==/(?i)abcdef/"), "node-3-name");
    CHECK_STR(cons1(&c, v, "name!=/(?i)abc*/"), "node-0-name,node-1-name,node-2-name");
    sched_view_free(v);
}

static void test_soft(void)
{
    struct sched_view *v = fixtures();
    struct sched_config c = config("spread", "constraint", 0.05);
    /* TestFilterSoftConstraint, at the level of the whole decision */
    CHECK_STR(cons1(&c, v, "node==~node-1-name"), "node-1-name");
    CHECK_STR(cons1(&c, v, "name!=~/(?i)abc*/"), "node-0-name,node-1-name,node-2-name,node-3-name");
    CHECK_STR(cons1(&c, v, "region!=~us*"), "node-2-name,node-3-name");
    CHECK_STR(cons1(&c, v, "region!=~can*"), "node-0-name,node-1-name,node-2-name,node-3-name");
    /* nothing satisfies the soft one: the second pass drops it, the hard one stays */
    struct sched_request r = exprs_req(L("region==~mars", "group==2"), NULL, NULL);
    CHECK_STR(decide(&c, v, &r, 0), "node-2-name");
    /* a hard one that fails still fails, with the soft one listed without its '~' */
    r = exprs_req(L("region==~mars", "group==3"), NULL, NULL);
    CHECK_STR(decide(&c, v, &r, 0), "error: " PREFIX "\n[region==mars group==3]");
    /* soft affinities and whitelists say so in the list */
    struct sched_config all = config("spread", NULL, 0.05);
    r = exprs_req(L("group==3"), L("container==~web"), L("node==~node-0-name"));
    CHECK_STR(decide(&all, v, &r, 0), "error: " PREFIX "\n[available container slots]\n"
                                      "[container==web (soft=true)]\n[group==3]");
    r = exprs_req(L("group==1"), L("container==~web"), L("node==~node-0-name|node-3-name"));
    CHECK_STR(decide(&all, v, &r, 0), "node-0-name,node-1-name");
    sched_view_free(v);
}

static void test_regex_translation(void)
{
    struct sched_view *v = sched_view_new();
    add_node(v, "n-bracket", "", 1, GIB, "xx=]");
    add_node(v, "n-dash", "", 1, GIB, "xx=-");
    add_node(v, "n-caret", "", 1, GIB, "xx=^");
    add_node(v, "n-word", "", 1, GIB, "xx=a_1");
    add_node(v, "n-dot", "", 1, GIB, "xx=a.b");
    add_node(v, "n-space", "", 1, GIB, "xx=a b");
    struct sched_config c = config("spread", "constraint", 0);
    CHECK_STR(cons1(&c, v, "xx==/^[]a]$/"), "n-bracket");
    CHECK_STR(cons1(&c, v, "xx==/^[a-]$/"), "n-dash");
    CHECK_STR(cons1(&c, v, "xx==/^[\\^]$/"), "n-caret");
    CHECK_STR(cons1(&c, v, "xx==/^\\^$/"), "n-caret");
    CHECK_STR(cons1(&c, v, "xx==/^[^^]$/"), "n-bracket,n-dash");
    CHECK_STR(cons1(&c, v, "xx==/^[-^]$/"), "n-dash,n-caret");
    CHECK_STR(cons1(&c, v, "xx==/^\\w+$/"), "n-word");
    CHECK_STR(cons1(&c, v, "xx==/^[\\w.]+$/"), "n-word,n-dot");
    CHECK_STR(cons1(&c, v, "xx==/^a\\.b$/"), "n-dot");
    CHECK_STR(cons1(&c, v, "xx==/^a\\sb$/"), "n-space");
    CHECK_STR(cons1(&c, v, "xx==/^a\\Sb$/"), "n-dot");
    CHECK_STR(cons1(&c, v, "xx==/^(?:a|z)[[:punct:]]b$/"), "n-dot");
    CHECK_STR(cons1(&c, v, "xx==/^a.*?b$/"), "n-dot,n-space");
    CHECK_STR(cons1(&c, v, "xx==/^\\d$/"), "error: " PREFIX "\n[xx==/^\\d$/]");
    CHECK_STR(cons1(&c, v, "xx==/\\D/"), "n-bracket,n-dash,n-caret,n-word,n-dot,n-space");
    CHECK_STR(cons1(&c, v, "xx==/(?i)A_1/"), "n-word");
    /* RE2 features without a POSIX equivalent here do not compile: nothing matches */
    CHECK_STR(cons1(&c, v, "xx==/(?s)a/"), "error: " PREFIX "\n[xx==/(?s)a/]");
    CHECK_STR(cons1(&c, v, "xx==/\\pL/"), "error: " PREFIX "\n[xx==/\\pL/]");
    sched_view_free(v);
}

/* pre + "/" + n copies of unit + "/" in buf. */
static const char *repeat_pattern(char *buf, size_t cap, const char *pre, const char *unit,
                                  size_t n)
{
    size_t len = (size_t)snprintf(buf, cap, "%s/", pre);
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s", unit);
    if (len < cap)
        snprintf(buf + len, cap - len, "/");
    return buf;
}

#define ERR_RE "error: " PREFIX "\nerror from constraint filter: error parsing regexp: "

/* What glibc is never given: classic's Go regexp errors, and this scheduler's size limits. */
static void test_regex_limits(void)
{
    struct sched_view *v = fixtures();
    struct sched_config c = config("spread", "constraint", 0.05);
    /* a repetition of a repetition: the fuzzer's regcomp that took seconds and gigabytes */
    CHECK_STR(cons1(&c, v, "node==/a++/"), ERR_RE "invalid nested repetition operator: `++`");
    CHECK_STR(cons1(&c, v, "node!=/a++/"), ERR_RE "invalid nested repetition operator: `++`");
    CHECK_STR(cons1(&c, v, "node==~/a++/"), ERR_RE "invalid nested repetition operator: `++`");
    CHECK_STR(cons1(&c, v, "name==/node0**/"), ERR_RE "invalid nested repetition operator: `**`");
    CHECK_STR(cons1(&c, v, "name==/x?*/"), ERR_RE "invalid nested repetition operator: `?*`");
    CHECK_STR(cons1(&c, v, "name==/x+?+/"), ERR_RE "invalid nested repetition operator: `+?+`");
    CHECK_STR(cons1(&c, v, "name==/x*?\?/"), ERR_RE "invalid nested repetition operator: `*??`");
    char buf[1024], want[1200];
    snprintf(buf, sizeof(buf), "node!=/(a%s)+$/", "++++++++++++++++++++++++++++++++++++++++++++");
    CHECK_STR(cons1(&c, v, buf), ERR_RE "invalid nested repetition operator: `++`");
    /* a glob is compiled as a pattern too: "^a++$" */
    CHECK_STR(cons1(&c, v, "name==node0++"), ERR_RE "invalid nested repetition operator: `++`");
    /* a lazy repetition is one operator; escaped or bracketed '+' is no operator */
    CHECK_STR(cons1(&c, v, "name==/^node0+?$/"), "node-0-name");
    CHECK_STR(cons1(&c, v, "name==/^node[+]+/"), "error: " PREFIX "\n[name==/^node[+]+/]");
    CHECK_STR(cons1(&c, v, "name==/node\\++/"), "error: " PREFIX "\n[name==/node\\++/]");
    CHECK_STR(cons1(&c, v, "name==/[]+]+/"), "error: " PREFIX "\n[name==/[]+]+/]");
    /* nesting: four repetitions deep at most, groups and (?i) flags counted through */
    CHECK_STR(cons1(&c, v, "name==/^(((no+)+d?)*e0)+$/"), "node-0-name");
    CHECK_STR(cons1(&c, v, "name==/^((((no+)+d?)*e0)+)?$/"),
              ERR_RE "expression nests too deeply: `^((((no+)+d?)*e0)+)?$`");
    CHECK_STR(cons1(&c, v, "name==/^(?:(?:(?:(?:n+)+)+)+)+/"),
              ERR_RE "expression nests too deeply: `^(?:(?:(?:(?:n+)+)+)+)+`");
    CHECK_STR(cons1(&c, v, "name==/(?i)NODE0+(?i)+(?i)+(?i)+/"), "node-0-name");
    CHECK_STR(cons1(&c, v, "name==/node0+(?i)+(?i)+(?i)+(?i)+/"),
              ERR_RE "expression nests too deeply: `node0+(?i)+(?i)+(?i)+(?i)+`");
    /* size: 256 bytes, and 256 nodes once glibc has copied what '+' repeats */
    size_t len = (size_t)snprintf(buf, sizeof(buf), "name==/^(");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "n%04d|", i);
    snprintf(buf + len, sizeof(buf) - len, "node0)$/"); /* 249 bytes */
    CHECK_STR(cons1(&c, v, buf), "node-0-name");
    repeat_pattern(buf, sizeof(buf), "name==", "node0", 52); /* 260 bytes */
    snprintf(want, sizeof(want), ERR_RE "expression too large: `%.260s`", buf + 7);
    CHECK_STR(cons1(&c, v, buf), want);
    /* (node0|x)+ is 17 nodes, '+' copying its group: 15 fit in 256, 16 (160 bytes) do not */
    CHECK_STR(cons1(&c, v, repeat_pattern(buf, sizeof(buf), "name!=", "(node0|x)+", 15)),
              "node-0-name,node-1-name,node-2-name,node-3-name");
    repeat_pattern(buf, sizeof(buf), "name!=", "(node0|x)+", 16);
    snprintf(want, sizeof(want), ERR_RE "expression too large: `%.160s`", buf + 7);
    CHECK_STR(cons1(&c, v, buf), want);
    /* a loop over what can match "" counts 8 per node: (a?)+ is 7 nodes, 56 */
    CHECK_STR(cons1(&c, v, "name==/^(a?)+(a?)+(a?)+(a?)+node0/"), "node-0-name");
    CHECK_STR(cons1(&c, v, "name==/^(a?)+(a?)+(a?)+(a?)+(a?)+node0/"),
              ERR_RE "expression too large: `^(a?)+(a?)+(a?)+(a?)+(a?)+node0`");
    CHECK_STR(cons1(&c, v, "name==/^((a?)+)+$/"), "node-3-name"); /* 137 */
    /* "" is matched by an empty alternative, a star, an anchor: 32 + 40 + 40 + 32 + 56 + 1 */
    CHECK_STR(cons1(&c, v, "name==/(|a)*(^)+(\\b)+(.*)*(.?)+$/"),
              "node-0-name,node-1-name,node-2-name");
    CHECK_STR(cons1(&c, v, "name==/(|a)*(^)+(\\b)+(.*)*(.?)+(.?)+$/"),
              ERR_RE "expression too large: `(|a)*(^)+(\\b)+(.*)*(.?)+(.?)+$`");
    /* and 2048 nodes for all the patterns of a decision, affinities and globs included */
    struct sched_config all = config("spread", NULL, 0.05);
    char p1[300], p2[300];
    repeat_pattern(p1, sizeof(p1), "name!=", "(node0|x)+", 15); /* 255 nodes */
    repeat_pattern(p2, sizeof(p2), "tier!=", "(node0|x)+", 15);
    struct sched_request r = exprs_req(L(p1, p1, p1, p1, p1, p1, p1), L(p2), NULL); /* 8 * 255 */
    CHECK_STR(decide(&all, v, &r, 0), "node-0-name,node-1-name,node-2-name,node-3-name");
    r = exprs_req(L(p1, p1, p1, p1, p1, p1, p1, "name==*-name+"), L(p2), NULL); /* ^.*-name+$ */
    snprintf(
        want, sizeof(want),
        "error: " PREFIX "\n[available container slots]\n[%s (soft=false)]\nerror from "
        "constraint filter: error parsing regexp: expression too large: `^.*-name+$` (over 2048 "
        "nodes with the other patterns)",
        p2);
    CHECK_STR(decide(&all, v, &r, 0), want);
    /* a whitelist is a list of names, never compiled: no limit */
    char names[400];
    len = (size_t)snprintf(names, sizeof(names), "node==node-2-name");
    for (int i = 0; i < 30; i++)
        len += (size_t)snprintf(names + len, sizeof(names) - len, "|nope-%02d+", i);
    r = exprs_req(NULL, NULL, L(names));
    CHECK_STR(decide(&all, v, &r, 0), "node-2-name");
    sched_view_free(v);
}

/* ---- affinity --------------------------------------------------------------------------- */

static struct sched_view *affinity_view(void)
{
    struct sched_view *v = sched_view_new();
    long n0 = add_node(v, "node-0", "id-0", 1, GIB, "");
    long n1 = add_node(v, "node-1", "id-1", 1, GIB, "");
    add_node(v, "node-2", "id-2", 1, GIB, "");
    add_ctr(v, n0,
            (struct cspec){.id = "aaa1110000000000",
                           .name = "web",
                           .labels = "com.example.type=frontend",
                           .image = "nginx"});
    add_ctr(v, n1,
            (struct cspec){.id = "bbb2220000000000",
                           .name = "db",
                           .labels = "com.example.type=backend,tier=1"});
    const char *tags0[] = {"redis:7", "localhost:5000/tools/foo:1.0", "<none>:<none>"};
    CHECK_INT(sched_node_add_image(v, (size_t)n0, "sha256:img1", tags0, 3), 0);
    const char *tags1[] = {"busybox:latest", "alpine@sha256:abcd"};
    CHECK_INT(sched_node_add_image(v, (size_t)n1, "sha256:img2", tags1, 2), 0);
    return v;
}

static void test_affinity(void)
{
    struct sched_view *v = affinity_view();
    struct sched_config c = config("spread", "affinity", 0.05);
    /* container: id or first name */
    CHECK_STR(aff1(&c, v, "container==web"), "node-0");
    CHECK_STR(aff1(&c, v, "container==bbb2220000000000"), "node-1");
    CHECK_STR(aff1(&c, v, "container==bbb*"), "node-1");
    CHECK_STR(aff1(&c, v, "container==/^(web|db)$/"), "node-0,node-1");
    CHECK_STR(aff1(&c, v, "container!=web"), "node-2,node-1"); /* spread: fewest first */
    CHECK_STR(aff1(&c, v, "container==nope"), "error: " PREFIX "\n[container==nope (soft=false)]");
    /* image: id, repo:tag, repo without its tag (a registry port is not a tag), digests */
    CHECK_STR(aff1(&c, v, "image==redis"), "node-0");
    CHECK_STR(aff1(&c, v, "image==redis:7"), "node-0");
    CHECK_STR(aff1(&c, v, "image==sha256:img1"), "node-0");
    CHECK_STR(aff1(&c, v, "image==localhost:5000/tools/foo"), "node-0");
    CHECK_STR(aff1(&c, v, "image==localhost:5000/tools/foo:1.0"), "node-0");
    CHECK_STR(aff1(&c, v, "image==localhost"),
              "error: " PREFIX "\n[image==localhost (soft=false)]");
    CHECK_STR(aff1(&c, v, "image==busybox"), "node-1");
    CHECK_STR(aff1(&c, v, "image==alpine"), "node-1");
    CHECK_STR(aff1(&c, v, "image!=redis"), "node-2,node-1");
    CHECK_STR(aff1(&c, v, "image==<none>"), /* '<' is not a value character */
              "error: " PREFIX "\nerror from affinity filter: Value '<none>' is invalid");
    /* a container's own image counts (see docs/SCHEDULING.md) */
    CHECK_STR(aff1(&c, v, "image==nginx"), "node-0");
    /* container labels: any container on the node; a node without containers matches no value */
    CHECK_STR(aff1(&c, v, "com.example.type==frontend"), "node-0");
    CHECK_STR(aff1(&c, v, "com.example.type!=frontend"), "node-2,node-1");
    CHECK_STR(aff1(&c, v, "com.example.type==*"), "node-0,node-1");
    CHECK_STR(aff1(&c, v, "tier==1"), "node-1");
    CHECK_STR(aff1(&c, v, "tier!=1"), "node-2,node-0");
    /* several: all of them */
    struct sched_request r = exprs_req(NULL, L("image==redis", "container==web"), NULL);
    CHECK_STR(decide(&c, v, &r, 0), "node-0");
    r = exprs_req(NULL, L("image==redis", "container==db"), NULL);
    CHECK_STR(decide(&c, v, &r, 0),
              "error: " PREFIX "\n[image==redis (soft=false) container==db (soft=false)]");
    /* soft: preferred, dropped when impossible */
    CHECK_STR(aff1(&c, v, "container==~db"), "node-1");
    CHECK_STR(aff1(&c, v, "container==~nope"), "node-2,node-0,node-1");
    /* an in-flight create has a name but no id yet: container affinity finds it by name */
    struct sched_request web2 = {.name = "web2", .image = "nginx", .swarm_id = ""};
    CHECK_INT(sched_view_add_inflight(v, 2, &web2), 0);
    CHECK_STR(aff1(&c, v, "container==web2"), "node-2");
    sched_view_free(v);
}

/* ---- whitelist, health ---------------------------------------------------------------------- */

static void test_whitelist_health(void)
{
    struct sched_view *v = fixtures();
    struct sched_config c = config("spread", "whitelist", 0.05);
    struct sched_request r = exprs_req(NULL, NULL, L("node==node-0-name|node-2-name"));
    CHECK_STR(decide(&c, v, &r, 0), "node-0-name,node-2-name");
    /* exact names only (no globs), whatever the key and operator */
    r = exprs_req(NULL, NULL, L("anything!=node-3-name"));
    CHECK_STR(decide(&c, v, &r, 0), "node-3-name");
    r = exprs_req(NULL, NULL, L("node==node-*"));
    CHECK_STR(decide(&c, v, &r, 0), "error: " PREFIX "\n[node==node-* (soft=false)]");
    r = exprs_req(NULL, NULL, L("node==~nope"));
    CHECK_STR(decide(&c, v, &r, 0), "node-0-name,node-1-name,node-2-name,node-3-name");

    /* health */
    struct sched_config all = config("spread", NULL, 0.05);
    struct sched_request plain = exprs_req(NULL, NULL, NULL);
    for (size_t i = 0; i < v->nnodes; i++)
        v->nodes[i].health = i == 2 ? 30 : 0;
    CHECK_STR(decide(&all, v, &plain, 0), "node-2-name");
    v->nodes[2].health = 0;
    CHECK_STR(decide(&all, v, &plain, 0), "error: No healthy node available in the cluster");
    /* health first even when another filter would fail too */
    r = exprs_req(L("node==nope"), NULL, NULL);
    CHECK_STR(decide(&all, v, &r, 0), "error: No healthy node available in the cluster");
    sched_view_free(v);

    v = sched_view_new();
    CHECK_STR(decide(&all, v, &plain, 0), "error: No healthy node available in the cluster");
    struct sched_config nofilter = all;
    nofilter.nfilters = 0;
    CHECK_STR(decide(&nofilter, v, &plain, 0), "error: No nodes available in the cluster");
    struct sched_config deponly = config("spread", "dependency", 0);
    CHECK_STR(decide(&deponly, v, &plain, 0), "error: No nodes available in the cluster");
    sched_view_free(v);
}

/* ---- port ----------------------------------------------------------------------------------- */

#define PORTS(...) ((const struct sched_port[]){__VA_ARGS__})
#define NPORTS(...) (sizeof(PORTS(__VA_ARGS__)) / sizeof(struct sched_port))

static const char *ports_req(const struct sched_config *c, const struct sched_view *v,
                             const struct sched_port *p, size_t n)
{
    struct sched_request r = {.name = "", .image = "", .swarm_id = "", .ports = p, .nports = n};
    return decide(c, v, &r, 0);
}

static void test_port(void)
{
    struct sched_view *v = sched_view_new();
    long n0 = add_node(v, "n0", "", 1, GIB, "");
    long n1 = add_node(v, "n1", "", 1, GIB, "");
    long n2 = add_node(v, "n2", "", 1, GIB, "");
    long n3 = add_node(v, "n3", "", 1, GIB, "");
    /* n0: 80 on every interface (a stopped container counts the same: state is not read) */
    add_ctr(
        v, n0,
        (struct cspec){.id = "c0", .name = "a", .ports = PORTS({"", "80", "tcp"}), .nports = 1});
    /* n1: 8080 on one address; n2: 53/udp; n3: a range */
    add_ctr(v, n1,
            (struct cspec){
                .id = "c1", .name = "b", .ports = PORTS({"10.0.0.1", "8080", "tcp"}), .nports = 1});
    add_ctr(
        v, n2,
        (struct cspec){.id = "c2", .name = "c", .ports = PORTS({"", "53", "udp"}), .nports = 1});
    add_ctr(
        v, n3,
        (struct cspec){
            .id = "c3", .name = "d", .ports = PORTS({"0.0.0.0", "8000-8010", "tcp"}), .nports = 1});
    struct sched_config c = config("spread", "port", 0.05);
    CHECK_STR(ports_req(&c, v, PORTS({"", "80", "tcp"}), 1), "n1,n2,n3");
    CHECK_STR(ports_req(&c, v, PORTS({"127.0.0.1", "80", NULL}), 1), "n1,n2,n3");
    CHECK_STR(ports_req(&c, v, PORTS({"", "80", "udp"}), 1), "n0,n1,n2,n3");
    /* addresses: the same one, or either on every interface, clash */
    CHECK_STR(ports_req(&c, v, PORTS({"10.0.0.2", "8080", "tcp"}), 1), "n0,n1,n2,n3");
    CHECK_STR(ports_req(&c, v, PORTS({"10.0.0.1", "8080", "tcp"}), 1), "n0,n2,n3");
    CHECK_STR(ports_req(&c, v, PORTS({"0.0.0.0", "8080", "tcp"}), 1), "n0,n2,n3");
    CHECK_STR(ports_req(&c, v, PORTS({"::", "8080", "tcp"}), 1), "n0,n2,n3");
    CHECK_STR(ports_req(&c, v, PORTS({"", "8080", "tcp"}), 1), "n0,n2,n3");
    /* protocols */
    CHECK_STR(ports_req(&c, v, PORTS({"", "53", "udp"}), 1), "n0,n1,n3");
    CHECK_STR(ports_req(&c, v, PORTS({"", "53", "tcp"}), 1), "n0,n1,n2,n3");
    /* ranges */
    CHECK_STR(ports_req(&c, v, PORTS({"", "8005", "tcp"}), 1), "n0,n1,n2");
    CHECK_STR(ports_req(&c, v, PORTS({"", "7990-8000", "tcp"}), 1), "n0,n1,n2");
    CHECK_STR(ports_req(&c, v, PORTS({"", "8011", "tcp"}), 1), "n0,n1,n2,n3");
    /* -p 80 (no host port): never a clash */
    CHECK_STR(ports_req(&c, v, PORTS({"", "", "tcp"}), 1), "n0,n1,n2,n3");
    /* several: all of them */
    CHECK_STR(ports_req(&c, v, PORTS({"", "80", "tcp"}, {"", "8080", "tcp"}), 2), "n2,n3");
    CHECK_STR(ports_req(&c, v, PORTS({"", "80", "tcp"}, {"", "8080", "tcp"}, {"", "53", "udp"}), 3),
              "n3");
    CHECK_STR(ports_req(&c, v,
                        PORTS({"", "80", "tcp"}, {"", "8080", "tcp"}, {"", "53", "udp"},
                              {"", "8001", "tcp"}),
                        4),
              "error: " PREFIX "\n[port 80 (Bridge mode) port 8080 (Bridge mode) port 53 (Bridge "
              "mode) port 8001 (Bridge mode)]");
    /* the list shows every binding as given, -p 80's empty one included */
    struct sched_config all = config("spread", NULL, 0.05);
    CHECK_STR(ports_req(&all, v, PORTS({"", "", "tcp"}, {"", "8005", "tcp"}), 2), "n0,n1,n2");
    struct sched_request r = {.name = "",
                              .image = "",
                              .swarm_id = "",
                              .ports = PORTS({"", "", "tcp"}, {"", "80", "tcp"}),
                              .nports = 2,
                              .constraints = L("node==n0"),
                              .nconstraints = 1};
    CHECK_STR(decide(&all, v, &r, 0),
              "error: " PREFIX "\n[port  (Bridge mode) port 80 (Bridge mode)]\n[available "
              "container slots]\n[node==n0]");

    /* in-flight creates hold their ports at once */
    struct sched_request first = {
        .name = "x", .image = "", .swarm_id = "", .ports = PORTS({"", "9000", "tcp"}), .nports = 1};
    CHECK_STR(decide(&c, v, &first, 1), "n0");
    CHECK_INT(sched_view_add_inflight(v, 0, &first), 0);
    CHECK_STR(decide(&c, v, &first, 1), "n1");
    CHECK_INT(sched_view_add_inflight(v, 1, &first), 0);
    CHECK_STR(decide(&c, v, &first, 0), "n2,n3");
    sched_view_free(v);

    /* host mode: exposed ports of host-network containers, in-flight ones included */
    v = sched_view_new();
    long h0 = add_node(v, "h0", "", 1, GIB, "");
    long h1 = add_node(v, "h1", "", 1, GIB, "");
    add_node(v, "h2", "", 1, GIB, "");
    add_ctr(v, h0,
            (struct cspec){
                .id = "c0", .name = "a", .host = true, .exposed = L("80/tcp"), .nexposed = 1});
    add_ctr(v, h1,
            (struct cspec){.id = "c1",
                           .name = "b",
                           .ports = PORTS({"", "80", "tcp"}),
                           .nports = 1}); /* bridge: not looked at in host mode */
    struct sched_request hr = {.name = "",
                               .image = "",
                               .swarm_id = "",
                               .network_mode = "host",
                               .exposed = L("80/tcp"),
                               .nexposed = 1};
    CHECK_STR(decide(&c, v, &hr, 0), "h2,h1");
    hr.exposed = L("80/udp");
    CHECK_STR(decide(&c, v, &hr, 0), "h2,h0,h1");
    hr.exposed = L("80/tcp");
    CHECK_INT(sched_view_add_inflight(v, 2, &hr), 0);
    CHECK_STR(decide(&c, v, &hr, 0), "h1");
    CHECK_INT(sched_view_add_inflight(v, 1, &hr), 0);
    CHECK_STR(decide(&c, v, &hr, 0), "error: " PREFIX "\n[port 80/tcp (Host mode)]");
    /* host mode ignores PortBindings, as Docker does */
    hr.exposed = NULL;
    hr.nexposed = 0;
    hr.ports = PORTS({"", "80", "tcp"});
    hr.nports = 1;
    CHECK_STR(decide(&c, v, &hr, 0), "h0,h2,h1");
    sched_view_free(v);
}

/* ---- containerslots, dependency ------------------------------------------------------------- */

static void test_slots(void)
{
    struct sched_view *v = sched_view_new();
    long s0 = add_node(v, "s0", "", 1, GIB, "containerslots=2");
    long s1 = add_node(v, "s1", "", 1, GIB, "containerslots=3");
    long s2 = add_node(v, "s2", "", 1, GIB, "containerslots=abc");
    add_node(v, "s3", "", 1, GIB, "containerslots=-1");
    long s4 = add_node(v, "s4", "", 1, GIB, "containerslots=+1");
    for (int i = 0; i < 2; i++) {
        add_ctr(v, s0, (struct cspec){.id = "x"});
        add_ctr(v, s1, (struct cspec){.id = "y"});
        add_ctr(v, s2, (struct cspec){.id = "z"});
    }
    struct sched_config c = config("spread", "containerslots", 0.05);
    struct sched_request r = exprs_req(NULL, NULL, NULL);
    CHECK_STR(decide(&c, v, &r, 0), "s4,s1,s2");
    CHECK_INT(sched_view_add_inflight(v, (size_t)s1, &r), 0);
    CHECK_INT(sched_view_add_inflight(v, (size_t)s4, &r), 0);
    CHECK_STR(decide(&c, v, &r, 0), "s2");
    v->nodes[s2].has_slots = true;
    v->nodes[s2].slots = 2;
    CHECK_STR(decide(&c, v, &r, 0), "error: " PREFIX "\n[available container slots]");
    sched_view_free(v);
}

static void test_dependency(void)
{
    struct sched_view *v = sched_view_new();
    long d0 = add_node(v, "d0", "id-d0", 1, GIB, "");
    long d1 = add_node(v, "d1", "id-d1", 1, GIB, "");
    long d2 = add_node(v, "d2", "id-d2", 1, GIB, "");
    add_ctr(v, d0, (struct cspec){.id = "v0123456789abcdef", .name = "vol", .swarm_id = "s99abc"});
    add_ctr(v, d0, (struct cspec){.id = "d0db", .name = "db"});
    add_ctr(v, d1, (struct cspec){.id = "v1", .name = "vol"});
    add_ctr(v, d1, (struct cspec){.id = "o1", .name = "other"});
    add_ctr(v, d2, (struct cspec){.id = "dup1", .name = "twin"});
    add_ctr(v, d2, (struct cspec){.id = "dup2", .name = "twin"});
    struct sched_config c = config("spread", "dependency", 0.05);
    struct sched_request r = {.name = "", .image = "", .swarm_id = ""};
    CHECK_STR(decide(&c, v, &r, 0), "d0,d1,d2");
    r.volumes_from = L("vol:ro");
    r.nvolumes_from = 1;
    CHECK_STR(decide(&c, v, &r, 0), "d0,d1");
    r.links = L("db:database");
    r.nlinks = 1;
    CHECK_STR(decide(&c, v, &r, 0), "d0");
    r.network_mode = "container:other";
    CHECK_STR(decide(&c, v, &r, 0),
              "error: " PREFIX
              "\n[--volumes-from=vol:ro --link=db:database --net=container:other]");
    r.nlinks = 0;
    CHECK_STR(decide(&c, v, &r, 0), "d1");
    /* how a dependency is found: classic's Containers.Get on each node */
    static const struct {
        const char *ref, *want;
    } refs[] = {
        {"v0123456789abcdef", "d0"}, /* id */
        {"v0123456789a", "d0"},      /* 12-character short id */
        {"s99abc", "d0"},            /* swarm id */
        {"/vol", "d0,d1"},           /* name with its '/' */
        {"d0/vol", "d0"},            /* engine name / name */
        {"id-d1/vol", "d1"},         /* engine id / name */
        {"v012", "d0"},              /* unique id prefix */
        {"s99", "d0"},               /* unique swarm id prefix */
        {"v", "d0,d1"},              /* one id starting with v on each */
        {"twin", ""},                /* two containers with that name: not found */
        {"dup1", "d2"},
        {"d", "d0"}, /* d0db; d2 has two (dup1, dup2): ambiguous there */
    };
    struct sched_request one = {.name = "", .image = "", .swarm_id = "", .nlinks = 1};
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        const char *links[1] = {refs[i].ref};
        one.links = links;
        const char *got = decide(&c, v, &one, 0);
        bool ok = refs[i].want[0] ? strcmp(got, refs[i].want) == 0
                                  : strncmp(got, "error: " PREFIX, strlen("error: " PREFIX)) == 0;
        CHECK(ok);
        if (!ok)
            printf("# link %s: got \"%s\", want \"%s\"\n", refs[i].ref, got, refs[i].want);
    }
    /* an in-flight create is a dependency by name (a pending --link target) */
    struct sched_request pend = {.name = "cache", .image = "", .swarm_id = ""};
    CHECK_INT(sched_view_add_inflight(v, (size_t)d2, &pend), 0);
    one.links = L("cache:c");
    CHECK_STR(decide(&c, v, &one, 0), "d2");
    sched_view_free(v);
}

/* ---- strategies ----------------------------------------------------------------------------- */

static struct sched_request res_req(int64_t mem_gib, int64_t cpus)
{
    struct sched_request r = {.name = "", .image = "", .swarm_id = ""};
    r.memory = mem_gib * GIB;
    r.mcpus = cpus * 1000;
    return r;
}

/* Places r on the best node (counting it there) and returns that node's index, or -1. */
static long place(const struct sched_config *c, struct sched_view *v, const struct sched_request *r)
{
    struct sched_result res;
    if (sched_select(c, v, r, 1, &res) != 0) {
        sched_result_clear(&res);
        return -1;
    }
    long i = (long)res.ranked[0];
    sched_result_clear(&res);
    CHECK_INT(sched_view_add_inflight(v, (size_t)i, r), 0);
    return i;
}

static void test_spread_binpack_counts(void)
{
    /* no reservations: spread = fewest containers, binpack = most; ties in view order */
    struct sched_view *v = sched_view_new();
    long a = add_node(v, "a", "", 2, 2 * GIB, "");
    add_node(v, "b", "", 2, 2 * GIB, "");
    long cc = add_node(v, "c", "", 2, 2 * GIB, "");
    add_ctr(v, a, (struct cspec){.id = "1"});
    add_ctr(v, a, (struct cspec){.id = "2"});
    add_ctr(v, cc, (struct cspec){.id = "3"});
    struct sched_request r = exprs_req(NULL, NULL, NULL);
    struct sched_config spread = config("spread", NULL, 0.05);
    struct sched_config binpack = config("binpack", NULL, 0.05);
    CHECK_STR(decide(&spread, v, &r, 0), "b,c,a");
    CHECK_STR(decide(&spread, v, &r, 1), "b");
    CHECK_STR(decide(&spread, v, &r, 2), "b,c");
    CHECK_STR(decide(&binpack, v, &r, 0), "a,c,b");
    CHECK_STR(decide(&binpack, v, &r, 1), "a");
    /* a request with reservations: the reserved share decides, then the count */
    struct sched_request half = res_req(1, 0);
    CHECK_INT(sched_view_add_inflight(v, 1, &half), 0); /* b: 1 container, 1 GiB reserved */
    CHECK_STR(decide(&spread, v, &r, 0), "b,c,a");      /* r reserves nothing: counts only */
    CHECK_STR(decide(&spread, v, &half, 0), "c,a,b");
    CHECK_STR(decide(&binpack, v, &half, 0), "b,a,c");
    /* the lower health indicator counts against a node in both */
    v->nodes[1].health = 50;
    CHECK_STR(decide(&spread, v, &half, 0), "c,a,b");
    CHECK_STR(decide(&binpack, v, &half, 0), "a,c,b");
    sched_view_free(v);

    /* spread with in-flight creates: 6 plain creates over 3 empty nodes, 2 each */
    v = sched_view_new();
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof(name), "n%d", i);
        add_node(v, name, "", 1, GIB, "");
    }
    int count[3] = {0};
    for (int i = 0; i < 6; i++) {
        long n = place(&spread, v, &r);
        CHECK(n >= 0 && n < 3);
        if (n >= 0)
            count[n]++;
    }
    CHECK(count[0] == 2 && count[1] == 2 && count[2] == 2);
    /* binpack: all on the first */
    for (int i = 0; i < 4; i++)
        CHECK_INT(place(&binpack, v, &r), 0);
    /* an in-flight create the view already shows (same swarm id) is not counted twice */
    struct sched_request sid = {.name = "", .image = "", .swarm_id = "abc"};
    CHECK_INT(sched_view_add_inflight(v, 2, &sid), 0);
    size_t before = v->nodes[2].ncontainers;
    CHECK_INT(sched_view_add_inflight(v, 2, &sid), 0);
    CHECK_INT(v->nodes[2].ncontainers, before);
    sched_view_free(v);
}

/* classic's spread_test.go and binpack_test.go; their createNode puts the 5% in the node's
 * memory by hand (truncated to whole GiB) and none in its CPUs, so these run with overcommit
 * 0 and the truncated sizes. */
static struct sched_view *sized(int n, int64_t mem_gib, int64_t cpus)
{
    struct sched_view *v = sched_view_new();
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "node-%d", i);
        add_node(v, name, name, cpus, (int64_t)((double)mem_gib * 1.05) * GIB, "");
    }
    return v;
}

static void test_classic_strategy_cases(void)
{
    struct sched_config spread = config("spread", "health", 0);
    struct sched_config binpack = config("binpack", "health", 0);

    /* TestSpreadPlaceDifferentNodeSize: no reservations, 30 / 30 */
    struct sched_view *v = sched_view_new();
    add_node(v, "node-0", "", 21, 67 * GIB, "");
    add_node(v, "node-1", "", 42, 134 * GIB, "");
    struct sched_request none = res_req(0, 0), cpu1 = res_req(0, 1);
    for (int i = 0; i < 60; i++)
        place(&spread, v, &none);
    CHECK_INT(v->nodes[0].ncontainers, 30);
    CHECK_INT(v->nodes[1].ncontainers, 30);
    sched_view_free(v);
    /* TestSpreadPlaceDifferentNodeSizeCPUs: 1 CPU each, 20 / 40 */
    v = sched_view_new();
    add_node(v, "node-0", "", 21, 67 * GIB, "");
    add_node(v, "node-1", "", 42, 134 * GIB, "");
    for (int i = 0; i < 60; i++)
        place(&spread, v, &cpu1);
    CHECK_INT(v->nodes[0].ncontainers, 20);
    CHECK_INT(v->nodes[1].ncontainers, 40);
    sched_view_free(v);

    /* TestSpreadPlaceEqualWeight / TestPlaceEqualWeight: 2G on node-0, 1G+1G on node-1 */
    for (int s = 0; s < 2; s++) {
        v = sized(2, 4, 0);
        struct sched_request g2 = res_req(2, 0), g1 = res_req(1, 0);
        sched_view_add_inflight(v, 0, &g2);
        sched_view_add_inflight(v, 1, &g1);
        sched_view_add_inflight(v, 1, &g1);
        CHECK_INT(v->nodes[0].used_memory, 2 * GIB);
        CHECK_INT(v->nodes[1].used_memory, 2 * GIB);
        long n = place(s == 0 ? &spread : &binpack, v, &g1);
        CHECK_INT(n, s == 0 ? 0 : 1); /* spread: fewer containers; binpack: more */
        CHECK_INT(v->nodes[n].used_memory, 3 * GIB);
        sched_view_free(v);
    }

    /* TestPlaceContainerMemory / CPU (binpack: same node) and the spread versions */
    for (int s = 0; s < 2; s++) {
        v = sized(2, 2, 0);
        struct sched_request g1 = res_req(1, 0);
        long a = place(s ? &binpack : &spread, v, &g1), b = place(s ? &binpack : &spread, v, &g1);
        CHECK(s ? a == b : a != b);
        sched_view_free(v);
        v = sized(2, 0, 2);
        a = place(s ? &binpack : &spread, v, &cpu1);
        b = place(s ? &binpack : &spread, v, &cpu1);
        CHECK(s ? a == b : a != b);
        CHECK_INT(v->nodes[a].used_mcpus, s ? 2000 : 1000);
        sched_view_free(v);
    }

    /* TestPlaceContainerHuge: 100 nodes of 1 CPU / 1G */
    for (int s = 0; s < 2; s++) {
        v = sized(100, 1, 1);
        struct sched_request g1 = res_req(1, 0);
        bool all = true;
        for (int i = 0; i < 100; i++)
            all &= place(s ? &binpack : &spread, v, &cpu1) >= 0;
        CHECK(all);
        CHECK_STR(decide(s ? &binpack : &spread, v, &cpu1, 1),
                  "error: no resources available to schedule container");
        for (int i = 0; i < 100; i++)
            all &= place(s ? &binpack : &spread, v, &g1) >= 0;
        CHECK(all);
        CHECK_STR(decide(s ? &binpack : &spread, v, &g1, 1),
                  "error: no resources available to schedule container");
        sched_view_free(v);
    }

    /* TestPlaceContainerOvercommit: a 100 GiB node takes up to 105 GiB with 5% */
    struct sched_config oc = config("binpacking", "health", 0.05);
    v = sched_view_new();
    add_node(v, "node-1", "", 1, 100 * GIB, "");
    struct sched_request big = res_req(90, 0);
    CHECK_STR(decide(&oc, v, &big, 1), "node-1");
    big.memory = 100 * GIB;
    CHECK_STR(decide(&oc, v, &big, 1), "node-1");
    big.memory = 105 * GIB;
    CHECK_STR(decide(&oc, v, &big, 1), "node-1");
    big.memory = 106 * GIB;
    CHECK_STR(decide(&oc, v, &big, 1), "error: no resources available to schedule container");
    /* overcommit 0: exactly the node; a negative ratio shrinks it */
    struct sched_config oc0 = config("binpack", "health", 0);
    big.memory = 100 * GIB + 1;
    CHECK_STR(decide(&oc0, v, &big, 1), "error: no resources available to schedule container");
    struct sched_config neg = config("binpack", "health", -0.5);
    big.memory = 51 * GIB;
    CHECK_STR(decide(&neg, v, &big, 1), "error: no resources available to schedule container");
    big.memory = 50 * GIB;
    CHECK_STR(decide(&neg, v, &big, 1), "node-1");
    sched_view_free(v);
    /* CPUs: the percentage in integer CPUs, so under 20 CPUs there is no extra one */
    v = sched_view_new();
    add_node(v, "four", "", 4, GIB, "");
    add_node(v, "twenty", "", 20, GIB, "");
    struct sched_request cpus = res_req(0, 5);
    CHECK_STR(decide(&oc, v, &cpus, 0), "twenty");
    cpus.mcpus = 21000;
    CHECK_STR(decide(&oc, v, &cpus, 0), "twenty");
    cpus.mcpus = 22000;
    CHECK_STR(decide(&oc, v, &cpus, 0), "error: no resources available to schedule container");
    /* NanoCpus-style fractions: 1.5 CPUs beside 3 reserved on four: (3+1.5)/4 > 100% */
    cpus = res_req(0, 3);
    CHECK_INT(sched_view_add_inflight(v, 0, &cpus), 0);
    cpus.mcpus = 1500;
    CHECK_STR(decide(&oc, v, &cpus, 0), "twenty");
    cpus.mcpus = 1000;
    CHECK_STR(decide(&oc, v, &cpus, 0), "four,twenty"); /* binpack: 100% beats 4% */
    sched_view_free(v);

    /* TestPlaceContainerDemo (binpack) */
    v = sized(3, 2, 4);
    for (size_t i = 0; i < 3; i++)
        v->nodes[i].memory = 2 * GIB; /* int64(2 * 1.05) = 2 */
    struct sched_request g10 = res_req(10, 0), g1 = res_req(1, 0), g2 = res_req(2, 0);
    CHECK_STR(decide(&binpack, v, &g10, 1), "error: no resources available to schedule container");
    long n1 = place(&binpack, v, &g1), n1bis = place(&binpack, v, &g1);
    CHECK_INT(n1, n1bis);
    long n2 = place(&binpack, v, &g2);
    CHECK(n2 != n1);
    long n3 = place(&binpack, v, &g1);
    CHECK(n3 != n1 && n3 != n2);
    CHECK_INT(place(&binpack, v, &g1), n3);
    CHECK_STR(decide(&binpack, v, &g1, 1), "error: no resources available to schedule container");
    sched_view_free(v);

    /* TestComplexPlacement (binpack: with the 3G) and TestSpreadComplexPlacement (with the 2G) */
    for (int s = 0; s < 2; s++) {
        v = sized(2, 4, 4);
        struct sched_request g3 = res_req(3, 0);
        long a = place(s ? &binpack : &spread, v, &g2);
        long b = place(s ? &binpack : &spread, v, &g3);
        CHECK(a != b);
        long x = place(s ? &binpack : &spread, v, &g1);
        CHECK_INT(x, s ? b : a);
        sched_view_free(v);
    }
}

static void test_random(void)
{
    struct sched_view *v = sched_view_new();
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "r%d", i);
        add_node(v, name, "", 1, 0, ""); /* no memory at all: random does not look */
    }
    struct sched_config c = config("random", NULL, 0.05);
    struct sched_rng rng;
    c.random = sched_rng_next;
    c.random_arg = &rng;
    struct sched_request r = res_req(1, 1);
    sched_rng_seed(&rng, 42);
    char first[256];
    snprintf(first, sizeof(first), "%s", decide(&c, v, &r, 0));
    CHECK(strlen(first) == 14); /* five names */
    sched_rng_seed(&rng, 42);
    CHECK_STR(decide(&c, v, &r, 0), first);
    int seen[5] = {0};
    for (uint64_t seed = 0; seed < 200; seed++) {
        sched_rng_seed(&rng, seed);
        const char *got = decide(&c, v, &r, 1);
        if (strlen(got) == 2 && got[0] == 'r')
            seen[got[1] - '0']++;
    }
    for (int i = 0; i < 5; i++)
        CHECK(seen[i] > 10);
    /* filters still apply */
    r.constraints = L("node==r3");
    r.nconstraints = 1;
    CHECK_STR(decide(&c, v, &r, 0), "r3");
    /* no generator given: deterministic */
    c.random = NULL;
    r.nconstraints = 0;
    snprintf(first, sizeof(first), "%s", decide(&c, v, &r, 0));
    CHECK_STR(decide(&c, v, &r, 0), first);
    sched_view_free(v);
}

static void test_error_chain(void)
{
    /* The default filters: every filter's conditions up to the failing one, in order. */
    struct sched_view *v = affinity_view();
    struct sched_config all = config("spread", NULL, 0.05);
    struct sched_request r = {.name = "",
                              .image = "",
                              .swarm_id = "",
                              .ports = PORTS({"", "80", "tcp"}),
                              .nports = 1,
                              .affinities = L("container==web"),
                              .naffinities = 1,
                              .constraints = L("node==nope"),
                              .nconstraints = 1,
                              .whitelists = L("node==node-0"),
                              .nwhitelists = 1,
                              .links = L("web:w"),
                              .nlinks = 1};
    CHECK_STR(decide(&all, v, &r, 0), "error: " PREFIX "\n[port 80 (Bridge mode)]\n[available "
                                      "container slots]\n[--link=web:w]\n[container==web "
                                      "(soft=false)]\n[node==nope]");
    r.constraints = L("node==node-0");
    r.whitelists = L("node==node-1");
    CHECK_STR(decide(&all, v, &r, 0), "error: " PREFIX "\n[port 80 (Bridge mode)]\n[available "
                                      "container slots]\n[--link=web:w]\n[container==web "
                                      "(soft=false)]\n[node==node-0]\n[node==node-1 (soft=false)]");
    r.whitelists = L("node==node-0");
    CHECK_STR(decide(&all, v, &r, 0), "node-0");
    /* order given = order applied and listed */
    struct sched_config rev = config("spread", "constraint,affinity,health", 0.05);
    r.constraints = L("node==nope");
    CHECK_STR(decide(&rev, v, &r, 0), "error: " PREFIX "\n[node==nope]");
    r.constraints = L("node==node-1");
    CHECK_STR(decide(&rev, v, &r, 0),
              "error: " PREFIX "\n[node==node-1]\n[container==web (soft=false)]");
    sched_view_free(v);
}

/* ---- the create body ------------------------------------------------------------------------ */

static json_t *body_of(const char *text)
{
    json_error_t e;
    json_t *b = json_loads(text, 0, &e);
    if (b == NULL) {
        printf("# bad test JSON: %s\n", e.text);
        abort();
    }
    return b;
}

static const char *label(json_t *body, const char *key)
{
    return json_string_value(json_object_get(json_object_get(body, "Labels"), key));
}

static void test_body(void)
{
    json_t *b = body_of(
        "{\"Image\":\"redis:7\",\"Env\":[\"A=1\",\"constraint:node==h1\",\"affinity:image==redis\","
        "\"reschedule:on-node-failure\",\"whitelist:node==h1|h2\",\"B=constraint:x\","
        "\"constraint:region==~eu\",\"constraint\",\"affinities:x==y\"],"
        "\"Labels\":{\"com.docker.swarm.constraints\":\"[\\\"zone==a\\\"]\",\"app\":\"web\"},"
        "\"ExposedPorts\":{\"80/tcp\":{}},"
        "\"HostConfig\":{\"Memory\":1073741824,\"CpuShares\":2,\"NanoCpus\":0,"
        "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}],"
        "\"53/udp\":[{\"HostPort\":\"53\"}],\"90/tcp\":null},\"NetworkMode\":\"bridge\","
        "\"Links\":[\"db:db\"],\"VolumesFrom\":[\"data:ro\"]}}");
    struct sched_request *r;
    int status;
    char err[256];
    CHECK_INT(sched_request_from_body(b, "/web", "0123abcd", &r, &status, err, sizeof(err)), 0);
    CHECK_INT(status, 0);
    char *env = json_dumps(json_object_get(b, "Env"), JSON_COMPACT);
    CHECK_STR(env, "[\"A=1\",\"B=constraint:x\",\"constraint\",\"affinities:x==y\"]");
    free(env);
    CHECK_STR(label(b, "com.docker.swarm.constraints"),
              "[\"zone==a\",\"node==h1\",\"region==~eu\"]");
    CHECK_STR(label(b, "com.docker.swarm.affinities"), "[\"image==redis\"]");
    CHECK_STR(label(b, "com.docker.swarm.reschedule-policies"), "[\"on-node-failure\"]");
    CHECK_STR(label(b, "com.docker.swarm.whitelists"), "[\"node==h1|h2\"]");
    CHECK_STR(label(b, "com.docker.swarm.id"), "0123abcd");
    CHECK_STR(label(b, "app"), "web");
    CHECK_STR(r->name, "web");
    CHECK_STR(r->image, "redis:7");
    CHECK_STR(r->swarm_id, "0123abcd");
    CHECK_INT(r->reschedule, SCHED_RESCHEDULE_ON_NODE_FAILURE);
    CHECK_INT(r->nconstraints, 3);
    CHECK_STR(r->constraints[0], "zone==a");
    CHECK_STR(r->constraints[2], "region==~eu");
    CHECK_INT(r->naffinities, 1);
    CHECK_INT(r->nwhitelists, 1);
    CHECK_INT(r->memory, GIB);
    CHECK_INT(r->mcpus, 2000);
    CHECK_STR(r->network_mode, "bridge");
    CHECK_INT(r->nports, 2);
    CHECK_STR(r->ports[0].host_port, "8080");
    CHECK_STR(r->ports[0].proto, "tcp");
    CHECK_STR(r->ports[1].host_port, "53");
    CHECK_STR(r->ports[1].proto, "udp");
    CHECK_INT(r->nexposed, 1);
    CHECK_STR(r->exposed[0], "80/tcp");
    CHECK_INT(r->nlinks, 1);
    CHECK_STR(r->links[0], "db:db");
    CHECK_INT(r->nvolumes_from, 1);
    CHECK_STR(r->volumes_from[0], "data:ro");
    /* the labels the in-flight copy shows include the swarm ones */
    bool has_app = false, has_id = false;
    for (size_t i = 0; i < r->nlabels; i++) {
        has_app |= strcmp(r->labels[i].key, "app") == 0 && strcmp(r->labels[i].value, "web") == 0;
        has_id |= strcmp(r->labels[i].key, "com.docker.swarm.id") == 0;
    }
    CHECK(has_app && has_id);
    /* an added expression (the create retry's image affinity) */
    CHECK_INT(sched_request_add_expr(r, SCHED_F_AFFINITY, "image==redis:7"), 0);
    CHECK_INT(r->naffinities, 2);
    CHECK_STR(r->affinities[1], "image==redis:7");
    CHECK_INT(sched_request_add_expr(r, SCHED_F_PORT, "x==y"), -1);
    /* CpuShares for the chosen engine: ceil(N * 1024 / NCPU) */
    sched_body_set_cpu_shares(b, 4);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(b, "HostConfig"), "CpuShares")),
              512);
    sched_request_free(r);
    json_decref(b);

    /* reschedule policies, swarm id kept, top-level resources, NanoCpus, no Labels at all */
    b = body_of("{\"Env\":[\"reschedule:off\"],\"Memory\":5,\"CpuShares\":1,"
                "\"HostConfig\":{\"Memory\":7,\"NanoCpus\":1500000001}}");
    CHECK_INT(sched_request_from_body(b, NULL, NULL, &r, &status, err, sizeof(err)), 0);
    CHECK_INT(r->reschedule, SCHED_RESCHEDULE_OFF);
    CHECK_INT(r->memory, 5);
    CHECK_INT(r->mcpus, 1501);
    CHECK_STR(r->name, "");
    CHECK_STR(label(b, "com.docker.swarm.reschedule-policies"), "[\"off\"]");
    CHECK(label(b, "com.docker.swarm.id") == NULL);
    sched_body_set_cpu_shares(b, 3);
    CHECK_INT(json_integer_value(json_object_get(b, "CpuShares")), 342);
    sched_request_free(r);
    json_decref(b);

    b = body_of("{\"Labels\":{\"com.docker.swarm.id\":\"keep\"},\"Env\":null,\"HostConfig\":null}");
    CHECK_INT(sched_request_from_body(b, "", "new", &r, &status, err, sizeof(err)), 0);
    CHECK_STR(label(b, "com.docker.swarm.id"), "keep");
    CHECK_STR(r->swarm_id, "keep");
    sched_request_free(r);
    json_decref(b);

    b = body_of("{\"Env\":[\"reschedule:on-node-failure\"],\"Labels\":{\"com.docker.swarm."
                "reschedule-policies\":\"[\\\"off\\\"]\"}}");
    CHECK_INT(sched_request_from_body(b, "", NULL, &r, &status, err, sizeof(err)), -1);
    CHECK_INT(status, 500);
    CHECK_STR(err, "too many reschedule policies");
    CHECK(r == NULL);
    json_decref(b);
    b = body_of("{\"Env\":[\"reschedule:always\"]}");
    CHECK_INT(sched_request_from_body(b, "", NULL, &r, &status, err, sizeof(err)), -1);
    CHECK_INT(status, 500);
    CHECK_STR(err, "invalid reschedule policy: always");
    json_decref(b);
    /* a label list that is not JSON is ignored, as classic's json.Unmarshal error was */
    b = body_of("{\"Env\":[\"constraint:a1==b\"],\"Labels\":{\"com.docker.swarm.constraints\":"
                "\"nope\"}}");
    CHECK_INT(sched_request_from_body(b, "", NULL, &r, &status, err, sizeof(err)), 0);
    CHECK_INT(r->nconstraints, 1);
    CHECK_STR(label(b, "com.docker.swarm.constraints"), "[\"a1==b\"]");
    sched_request_free(r);
    json_decref(b);
    /* wrong types: 400 */
    static const char *const bad[] = {"[]",
                                      "{\"Env\":\"x\"}",
                                      "{\"Labels\":[]}",
                                      "{\"HostConfig\":{\"PortBindings\":[]}}",
                                      "{\"HostConfig\":{\"Links\":\"a\"}}",
                                      "{\"Image\":1}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b = body_of(bad[i]);
        CHECK_INT(sched_request_from_body(b, "", NULL, &r, &status, err, sizeof(err)), -1);
        CHECK_INT(status, 400);
        json_decref(b);
    }
}

/* The reservation fields as Go's encoding/json read them into int64 (classic, dockerd): a
 * real or a string is a 400, and so is a CpuShares no machine has the CPUs for. */
static void test_body_numbers(void)
{
    static const struct {
        const char *body, *err;
    } bad[] = {
        {"{\"HostConfig\":{\"Memory\":1e300}}",
         "invalid container config: \"HostConfig.Memory\" has the wrong type"},
        {"{\"HostConfig\":{\"Memory\":1073741824.0}}",
         "invalid container config: \"HostConfig.Memory\" has the wrong type"},
        {"{\"HostConfig\":{\"CpuShares\":1.5}}",
         "invalid container config: \"HostConfig.CpuShares\" has the wrong type"},
        {"{\"HostConfig\":{\"NanoCpus\":\"1500000000\"}}",
         "invalid container config: \"HostConfig.NanoCpus\" has the wrong type"},
        {"{\"Memory\":true}", "invalid container config: \"Memory\" has the wrong type"},
        {"{\"CpuShares\":-1e300}", "invalid container config: \"CpuShares\" has the wrong type"},
        {"{\"HostConfig\":{\"CpuShares\":9223372036854775807}}",
         "invalid container config: \"HostConfig.CpuShares\" is out of range"},
        {"{\"HostConfig\":{\"CpuShares\":1099511627777}}", /* 2^40 + 1 */
         "invalid container config: \"HostConfig.CpuShares\" is out of range"},
        {"{\"CpuShares\":1,\"HostConfig\":{\"CpuShares\":9100000000000000}}",
         "invalid container config: \"HostConfig.CpuShares\" is out of range"},
        {"{\"CpuShares\":9100000000000000}",
         "invalid container config: \"CpuShares\" is out of range"},
        /* the other type errors come first */
        {"{\"Image\":1,\"CpuShares\":1.5}",
         "invalid container config: \"Image\" has the wrong type"},
    };
    struct sched_request *r;
    int status;
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = body_of(bad[i].body);
        char *before = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_INT(sched_request_from_body(b, "", "id", &r, &status, err, sizeof(err)), -1);
        CHECK_INT(status, 400);
        CHECK_STR(err, bad[i].err);
        CHECK(r == NULL);
        char *after = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STR(after, before); /* refused before any rewriting */
        free(before);
        free(after);
        json_decref(b);
    }
    /* the largest values accepted: exact reservations, and shares for the engine */
    json_t *b = body_of("{\"HostConfig\":{\"Memory\":9223372036854775807,\"CpuShares\":"
                        "1099511627776,\"NanoCpus\":9223372036854775807}}");
    CHECK_INT(sched_request_from_body(b, "", NULL, &r, &status, err, sizeof(err)), 0);
    CHECK_INT(r->memory, INT64_MAX);
    CHECK_INT(r->mcpus, 1099511627776LL * 1000);
    /* nothing holds it: spread refuses, random places it, twice, and the sums saturate */
    struct sched_view *v = sched_view_new();
    add_node(v, "h1", "", 4, 4 * GIB, "");
    add_node(v, "h2", "", 4, 4 * GIB, "");
    struct sched_config spread = config("spread", NULL, 0.05);
    CHECK_STR(decide(&spread, v, r, 1), "error: no resources available to schedule container");
    CHECK_INT(sched_view_add_inflight(v, 0, r), 0);
    CHECK_INT(sched_view_add_inflight(v, 0, r), 0);
    CHECK_INT(v->nodes[0].used_memory, INT64_MAX);
    CHECK_INT(v->nodes[0].used_mcpus, 2 * 1099511627776LL * 1000);
    struct sched_request one = res_req(1, 1);
    CHECK_STR(decide(&spread, v, &one, 0), "h2"); /* h1 is more than full */
    sched_view_free(v);
    sched_request_free(r);
    sched_body_set_cpu_shares(b, 3); /* ceil(2^40 * 1024 / 3) */
    CHECK_INT(json_integer_value(json_object_get(json_object_get(b, "HostConfig"), "CpuShares")),
              375299968947542LL);
    sched_body_set_cpu_shares(b, INT64_MAX); /* 2^40 * 1024 * 1024 / (2^63 - 1), rounded up */
    CHECK_INT(json_integer_value(json_object_get(json_object_get(b, "HostConfig"), "CpuShares")),
              1);
    json_decref(b);
    /* NanoCpus rounds up without overflowing; null is 0 */
    b = body_of("{\"HostConfig\":{\"NanoCpus\":9223372036854775807,\"Memory\":null},"
                "\"CpuShares\":null}");
    CHECK_INT(sched_request_from_body(b, "", NULL, &r, &status, err, sizeof(err)), 0);
    CHECK_INT(r->mcpus, 9223372036855LL);
    CHECK_INT(r->memory, 0);
    sched_request_free(r);
    json_decref(b);
    /* a body that never went through sched_request_from_body: too big to convert, left alone */
    b = body_of("{\"CpuShares\":9100000000000000}");
    sched_body_set_cpu_shares(b, 4);
    CHECK_INT(json_integer_value(json_object_get(b, "CpuShares")), 9100000000000000LL);
    json_decref(b);
    /* engines' numbers (integers: engines.c refuses reals) saturate rather than overflow */
    CHECK_INT(sched_mcpus_from_engine(INT64_MAX, 0, 64), INT64_MAX / 1024 * 1000);
    CHECK_INT(sched_mcpus_from_engine(0, INT64_MAX, 64), 9223372036855LL);
    CHECK_INT(sched_mcpus_from_engine(262144, 1, 128), 32768000);
    static const char *const huge =
        "{\"info\":{\"NCPU\":9223372036854775807,\"MemTotal\":9223372036854775807},"
        "\"containers\":[{\"Id\":\"c1\",\"Names\":[\"/a\"],\"HostConfig\":{\"Memory\":"
        "9223372036854775807,\"CpuShares\":-9223372036854775807,\"NanoCpus\":"
        "9223372036854775807}},{\"Id\":\"c2\",\"Names\":[\"/b\"],\"HostConfig\":{\"Memory\":"
        "9223372036854775807,\"CpuShares\":9223372036854775807}}]}";
    struct engine e;
    CHECK_INT(engine_init(&e, "h1"), 0);
    CHECK_INT(
        engines_apply_state(&e, FRAME_STATE_SNAPSHOT, huge, strlen(huge), NULL, err, sizeof(err)),
        0);
    int dummy;
    e.healthy = true;
    e.conn = (struct relay_conn *)&dummy;
    v = sched_view_new();
    CHECK_INT(sched_view_add_engine(v, &e, NULL, 0), 0);
    const struct sched_node *n = &v->nodes[0];
    CHECK_INT(n->cpus, INT64_MAX);
    CHECK_INT(n->memory, INT64_MAX);
    CHECK_INT(n->ncontainers, 2);
    if (n->ncontainers == 2) {
        CHECK_INT(n->containers[0].mcpus, 9223372036855LL);
        CHECK_INT(n->containers[1].mcpus, INT64_MAX / 1024 * 1000);
    }
    CHECK_INT(n->used_memory, INT64_MAX);
    CHECK_STR(decide(&spread, v, &one, 0), "h1"); /* (2^63 - 1 + 1 GiB) * 100 / (2^63 - 1): 100 */
    one.memory = INT64_MAX / 100 * 2;
    CHECK_STR(decide(&spread, v, &one, 0), "error: no resources available to schedule container");
    sched_view_free(v);
    engine_clear(&e);
}

/* ---- the jansson view ------------------------------------------------------------------- */

static void test_engine_view(void)
{
    static const char *const snapshot =
        "{\"info\":{\"NCPU\":4,\"MemTotal\":4294967296,\"Driver\":\"overlay2\","
        "\"KernelVersion\":\"6.1.0\",\"OperatingSystem\":\"Debian GNU/Linux 12\","
        "\"OSType\":\"linux\",\"Labels\":[\"zone=a\",\"node=bad\",\"storagedriver=fake\","
        "\"novalue\",\"disk=ssd\"]},"
        "\"containers\":[{\"Id\":\"c1aaaaaaaaaaaaaa\",\"Names\":[\"/web\",\"/other/alias\"],"
        "\"Image\":\"nginx:1\",\"ImageID\":\"sha256:n1\",\"State\":\"exited\","
        "\"Labels\":{\"com.docker.swarm.id\":\"swid1\",\"tier\":\"front\"},"
        "\"Ports\":[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":32768,\"Type\":\"tcp\"}],"
        "\"HostConfig\":{\"NetworkMode\":\"bridge\",\"Memory\":536870912,\"NanoCpus\":0,"
        "\"CpuShares\":512,\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"80\"}]}}},"
        "{\"Id\":\"c2bbbbbbbbbbbbbb\",\"Names\":[\"/hostie\"],\"Image\":\"busybox\",\"State\":"
        "\"running\",\"Labels\":null,\"Ports\":[],\"HostConfig\":{\"NetworkMode\":\"host\","
        "\"Memory\":0,\"NanoCpus\":1500000000,\"CpuShares\":0,\"PortBindings\":{\"9090/udp\":"
        "[{\"HostIp\":\"\",\"HostPort\":\"\"}]}}}],"
        "\"images\":[{\"Id\":\"sha256:n1\",\"RepoTags\":[\"nginx:1\",\"nginx:latest\"]},"
        "{\"Id\":\"sha256:b\",\"RepoTags\":null}]}";
    struct engine e;
    CHECK_INT(engine_init(&e, "h1"), 0);
    snprintf(e.id, sizeof(e.id), "ENGINEID1");
    char err[256];
    CHECK_INT(engines_apply_state(&e, FRAME_STATE_SNAPSHOT, snapshot, strlen(snapshot), NULL, err,
                                  sizeof(err)),
              0);
    struct engine e2;
    CHECK_INT(engine_init(&e2, "h2"), 0);
    static const char *const small = "{\"info\":{\"NCPU\":2,\"MemTotal\":2147483648}}";
    CHECK_INT(engines_apply_state(&e2, FRAME_STATE_SNAPSHOT, small, strlen(small), NULL, err,
                                  sizeof(err)),
              0);
    int dummy;
    e.healthy = e2.healthy = true;
    e.conn = e2.conn = (struct relay_conn *)&dummy; /* only compared with NULL */

    struct sched_view *v = sched_view_new();
    const char *extra[] = {"rack=r1", "zone=b"};
    CHECK_INT(sched_view_add_engine(v, &e, extra, 2), 0);
    CHECK_INT(sched_view_add_engine(v, &e2, NULL, 0), 1);
    const struct sched_node *n = &v->nodes[0];
    CHECK_STR(n->name, "h1");
    CHECK_STR(n->id, "ENGINEID1");
    CHECK(n->user == &e);
    CHECK_INT(n->health, 100);
    CHECK_INT(n->cpus, 4);
    CHECK_INT(n->memory, 4294967296LL);
    /* labels: standard ones, then the agent's, then the engine's; first wins; "node" and a
     * label without '=' skipped */
    static const char *const want[][2] = {
        {"storagedriver", "overlay2"},
        {"kernelversion", "6.1.0"},
        {"operatingsystem", "Debian GNU/Linux 12"},
        {"ostype", "linux"},
        {"rack", "r1"},
        {"zone", "b"},
        {"disk", "ssd"},
    };
    CHECK_INT(n->nlabels, 7);
    for (size_t i = 0; i < 7 && i < n->nlabels; i++) {
        CHECK_STR(n->labels[i].key, want[i][0]);
        CHECK_STR(n->labels[i].value, want[i][1]);
    }
    CHECK_INT(n->ncontainers, 2);
    CHECK_STR(n->containers[0].names[0], "web");
    CHECK_STR(n->containers[0].names[1], "other/alias");
    CHECK_STR(n->containers[0].swarm_id, "swid1");
    CHECK_INT(n->containers[0].mcpus, 2000); /* 512 shares * 4 CPUs / 1024 = 2 CPUs */
    CHECK_INT(n->containers[1].mcpus, 1500);
    CHECK_INT(n->used_memory, 536870912);
    CHECK_INT(n->used_mcpus, 3500);
    CHECK(n->containers[1].host_network);

    struct sched_config c = config("spread", NULL, 0.05);
    struct sched_request r = exprs_req(L("storagedriver==overlay2"), NULL, NULL);
    CHECK_STR(decide(&c, v, &r, 0), "h1");
    r = exprs_req(L("rack==r1", "zone==b", "disk==ssd", "ostype==linux"), NULL, NULL);
    CHECK_STR(decide(&c, v, &r, 0), "h1");
    r = exprs_req(L("node==ENGINEID1"), NULL, NULL);
    CHECK_STR(decide(&c, v, &r, 0), "h1");
    r = exprs_req(L("node!=h1"), NULL, NULL);
    CHECK_STR(decide(&c, v, &r, 0), "h2");
    r = exprs_req(NULL, L("image==nginx"), NULL);
    CHECK_STR(decide(&c, v, &r, 0), "h1");
    r = exprs_req(NULL, L("container==web", "tier==front"), NULL);
    CHECK_STR(decide(&c, v, &r, 0), "h1");
    /* ports: the binding (80) and the published random port (32768), stopped or not */
    struct sched_request p = {
        .name = "", .image = "", .swarm_id = "", .ports = PORTS({"", "80", "tcp"}), .nports = 1};
    CHECK_STR(decide(&c, v, &p, 0), "h2");
    p.ports = PORTS({"", "32768", "tcp"});
    CHECK_STR(decide(&c, v, &p, 0), "h2");
    /* host mode: the host-network container's PortBindings keys count as its exposed ports */
    p = (struct sched_request){.name = "",
                               .image = "",
                               .swarm_id = "",
                               .network_mode = "host",
                               .exposed = L("9090/udp"),
                               .nexposed = 1};
    CHECK_STR(decide(&c, v, &p, 0), "h2");
    /* dependencies by name, by alias path */
    p = (struct sched_request){
        .name = "", .image = "", .swarm_id = "", .network_mode = "container:hostie"};
    CHECK_STR(decide(&c, v, &p, 0), "h1");
    /* spread: h2 has nothing reserved */
    struct sched_request plain = exprs_req(NULL, NULL, NULL);
    CHECK_STR(decide(&c, v, &plain, 0), "h2,h1");

    /* health: not connected, not ready, or no resources in /info: 0 */
    e2.conn = NULL;
    CHECK_INT(sched_view_add_engine(v, &e2, NULL, 0), 2);
    CHECK_INT(v->nodes[2].health, 0);
    e2.conn = (struct relay_conn *)&dummy;
    e2.ready = false;
    CHECK_INT(sched_view_add_engine(v, &e2, NULL, 0), 3);
    CHECK_INT(v->nodes[3].health, 0);
    struct engine e3;
    CHECK_INT(engine_init(&e3, "h3"), 0);
    e3.healthy = e3.ready = true;
    e3.conn = (struct relay_conn *)&dummy;
    CHECK_INT(sched_view_add_engine(v, &e3, NULL, 0), 4);
    CHECK_INT(v->nodes[4].health, 0);
    CHECK_STR(decide(&c, v, &plain, 0), "h2,h1");

    /* end to end with a body: rewritten, scheduled, counted in flight, scheduled again */
    json_t *b = body_of("{\"Image\":\"nginx\",\"Env\":[\"constraint:zone==~nowhere\"],"
                        "\"HostConfig\":{\"Memory\":1073741824,\"PortBindings\":{\"8080/tcp\":"
                        "[{\"HostPort\":\"8080\"}]}}}");
    struct sched_request *req;
    int status;
    CHECK_INT(sched_request_from_body(b, "api", "sw1", &req, &status, err, sizeof(err)), 0);
    CHECK_STR(decide(&c, v, req, 1), "h1"); /* 1.5 of 4.2 GiB (35%) beats 1 of 2.1 (47%) */
    CHECK_INT(sched_view_add_inflight(v, 0, req), 0);
    CHECK_INT(v->nodes[0].used_memory, 536870912 + 1073741824);
    CHECK_STR(decide(&c, v, req, 0), "h2"); /* 8080 now taken on h1 */
    sched_request_free(req);
    json_decref(b);

    /* refresh in place: h1 loses its containers; unchanged strings cost no memory */
    size_t bytes = sched_view_bytes(v);
    CHECK(bytes > 0);
    for (int k = 0; k < 50; k++)
        CHECK_INT(sched_view_update_engine(v, 0, &e, extra, 2), 0);
    CHECK(sched_view_bytes(v) < bytes + 64 * 1024);
    CHECK_INT(v->nodes[0].ncontainers, 2); /* the in-flight create is gone */
    CHECK_INT(v->nodes[0].used_memory, 536870912);
    CHECK_INT(v->nodes[0].nlabels, 7);
    static const char *const emptied = "{\"info\":{\"NCPU\":4,\"MemTotal\":4294967296}}";
    CHECK_INT(engines_apply_state(&e, FRAME_STATE_SNAPSHOT, emptied, strlen(emptied), NULL, err,
                                  sizeof(err)),
              0);
    CHECK_INT(sched_view_update_engine(v, 0, &e, NULL, 0), 0);
    CHECK_INT(v->nodes[0].ncontainers, 0);
    CHECK_INT(v->nodes[0].nlabels, 0);
    CHECK_INT(v->nodes[0].nbound, 0);
    CHECK_INT(v->nodes[0].used_mcpus, 0);
    CHECK_STR(decide(&c, v, &plain, 0), "h1,h2");
    p = (struct sched_request){
        .name = "", .image = "", .swarm_id = "", .ports = PORTS({"", "80", "tcp"}), .nports = 1};
    CHECK_STR(decide(&c, v, &p, 0), "h1,h2");
    CHECK_INT(sched_view_update_engine(v, 99, &e, NULL, 0), -1);

    sched_view_free(v);
    engine_clear(&e);
    engine_clear(&e2);
    engine_clear(&e3);
}

int main(void)
{
    RUN(test_config);
    RUN(test_expr_syntax);
    RUN(test_constraint);
    RUN(test_soft);
    RUN(test_regex_translation);
    RUN(test_regex_limits);
    RUN(test_affinity);
    RUN(test_whitelist_health);
    RUN(test_port);
    RUN(test_slots);
    RUN(test_dependency);
    RUN(test_spread_binpack_counts);
    RUN(test_classic_strategy_cases);
    RUN(test_random);
    RUN(test_error_chain);
    RUN(test_body);
    RUN(test_body_numbers);
    RUN(test_engine_view);
    return check_done();
}
