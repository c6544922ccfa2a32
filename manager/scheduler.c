/*
 * scheduler — classic Swarm's filters and strategies over a plain-C view (see scheduler.h for
 * the contract and docs/SCHEDULING.md for the semantics and every deviation).
 *
 * Layout of this file: memory helpers (arena, string builder) · configuration and the random
 * generator · expressions (classic's expr.go: parse, validate, match; Go RE2 patterns
 * translated to POSIX ERE) · the view (nodes, containers, ports, images) · the filters · the
 * strategies · sched_select · the jansson side (engines → view, create body → request).
 */
#include "manager/scheduler.h"

#include "manager/engines.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define SWARM_LABEL_ID "com.docker.swarm.id"

/* ---- arena: every string and list a view or a request copied -------------------------------- */

struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct arena {
    struct chunk *head;
};

#define CHUNK_SIZE (64 * 1024) /* the largest chunk an arena grows to by itself */
#define CHUNK_FIRST 1024       /* its first chunk; each next one doubles, up to CHUNK_SIZE */

static void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (n == 0)
        n = sizeof(max_align_t);
    struct chunk *c = a->head;
    if (c == NULL || c->cap - c->used < n) {
        size_t next = c == NULL ? CHUNK_FIRST : c->cap >= CHUNK_SIZE / 2 ? CHUNK_SIZE : c->cap * 2;
        bool big = n > CHUNK_SIZE / 2;
        size_t cap = n > next ? n : next;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->cap = cap;
        c->used = 0;
        if (big && a->head) {
            /* A big one goes behind the current chunk, which keeps serving small ones. */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void arena_free(struct arena *a)
{
    if (a == NULL)
        return;
    struct chunk *c = a->head;
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* Empties a for a new fill: it keeps one chunk as large as all it had (or none when that
 * allocation fails), so a node re-read with about the same contents allocates nothing. */
static void arena_reset(struct arena *a)
{
    struct chunk *c = a->head;
    if (c == NULL)
        return;
    if (c->next == NULL) {
        c->used = 0;
        return;
    }
    size_t total = 0;
    for (const struct chunk *x = c; x; x = x->next)
        total += x->cap;
    arena_free(a);
    c = malloc(sizeof(*c) + total);
    if (c) {
        c->next = NULL;
        c->used = 0;
        c->cap = total;
        a->head = c;
    }
}

static size_t arena_bytes(const struct arena *a)
{
    size_t total = 0;
    for (const struct chunk *c = a ? a->head : NULL; c; c = c->next)
        total += sizeof(*c) + c->cap;
    return total;
}

/* The one empty string: views and requests use it for every "" (and a missing label). */
static const char empty_str[] = "";

static const char *arena_str(struct arena *a, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return empty_str;
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Grows *p (of elements of size sz, capacity *cap) to hold at least need. 0 or -1. */
static int grow(void *p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *q = realloc(*(void **)p, ncap * sz);
    if (q == NULL)
        return -1;
    *(void **)p = q;
    *cap = ncap;
    return 0;
}

/* Reservations and totals add up in int64_t, saturating: a sum of engine-reported or
 * client-given sizes must not overflow (undefined), and "more than anything" stays that. */
static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* a * b for b > 0, saturating. */
static int64_t sat_mul(int64_t a, int64_t b)
{
    if (a > INT64_MAX / b)
        return INT64_MAX;
    if (a < INT64_MIN / b)
        return INT64_MIN;
    return a * b;
}

/* ---- string builder (error texts) ----------------------------------------------------------- */

struct sb {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (grow(&b->p, &b->cap, b->len + n + 1, 1) < 0) {
        b->oom = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sb *b, char c)
{
    sb_putn(b, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sb_putn(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)n);
    free(big);
}

/* ---- configuration ----------------------------------------------------------------------------
 */

static const char *const filter_names[SCHED_F_COUNT] = {
    "health", "port", "containerslots", "dependency", "affinity", "constraint", "whitelist",
};

const char *sched_filter_name(enum sched_filter f)
{
    return (unsigned)f < SCHED_F_COUNT ? filter_names[f] : "?";
}

int sched_config_init(struct sched_config *c, const char *strategy, const char *filters,
                      double overcommit, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->overcommit = overcommit;
    if (strategy == NULL || strategy[0] == '\0' || strcmp(strategy, "spread") == 0) {
        c->strategy = SCHED_SPREAD;
    } else if (strcmp(strategy, "binpack") == 0 || strcmp(strategy, "binpacking") == 0) {
        c->strategy = SCHED_BINPACK;
    } else if (strcmp(strategy, "random") == 0) {
        c->strategy = SCHED_RANDOM;
    } else {
        snprintf(err, errlen, "unknown strategy \"%s\" (expected spread, binpack or random)",
                 strategy);
        return -1;
    }
    if (filters == NULL || filters[0] == '\0') {
        for (int i = 0; i < SCHED_F_COUNT; i++)
            c->filters[i] = (enum sched_filter)i;
        c->nfilters = SCHED_F_COUNT;
        return 0;
    }
    const char *p = filters;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        const char *start = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - start);
        int found = -1;
        for (int i = 0; i < SCHED_F_COUNT; i++)
            if (strlen(filter_names[i]) == n && strncmp(filter_names[i], start, n) == 0)
                found = i;
        if (found < 0) {
            snprintf(err, errlen, "unknown filter \"%.*s\"", (int)n, start);
            return -1;
        }
        if (c->nfilters == SCHED_F_COUNT) {
            snprintf(err, errlen, "too many filters (at most %d)", SCHED_F_COUNT);
            return -1;
        }
        c->filters[c->nfilters++] = (enum sched_filter)found;
    }
    return 0;
}

void sched_rng_seed(struct sched_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t sched_rng_next(void *rng)
{
    struct sched_rng *r = rng;
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- expressions (classic scheduler/filter/expr.go) ------------------------------------------ */

enum { OP_EQ = 0, OP_NE = 1 };
static const char *const op_text[2] = {"==", "!="};

enum { M_LITERAL, M_GLOB, M_REGEX, M_ALL };
enum { K_LABEL, K_CONTAINER, K_IMAGE, K_NODE };

/* Results of a glob or regex per view string (interned: the pointer is the string). */
struct memo {
    const char **keys;
    uint8_t *vals;
    size_t cap, n;
};

struct expr {
    char *key;   /* points into buf */
    char *value; /* without the leading '~' */
    int op;
    bool soft;
    int mode;
    bool re_ok;
    regex_t re;
    char *buf;
    /* Set for one decision on one view: */
    int keykind;      /* K_*: what the key names (container, image, node, else a label) */
    const char *kptr; /* the key as the view's string, NULL if the view has no such string */
    const char *lit;  /* M_LITERAL: the value as the view's string, NULL if none */
    struct memo memo;
};

/* Key: ^(?i)[a-z_][a-z0-9\-_.]+$ (two characters at least). */
static bool key_valid(const char *k, size_t n)
{
    if (n < 2 || !(isalpha((unsigned char)k[0]) || k[0] == '_') || (unsigned char)k[0] >= 0x80)
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!(c < 0x80 && (isalnum(c) || c == '-' || c == '_' || c == '.')))
            return false;
    }
    return true;
}

/* The value's character class, [a-z0-9:\-_\s\.\*\/\(\)\?\+\[\]\\\^\$\|] with (?i); Go's \s is
 * [\t\n\f\r ]. */
static bool value_char(unsigned char c)
{
    if (c >= 0x80)
        return false;
    return isalnum(c) || (c != '\0' && strchr(":-_./*()?+[]\\^$| \t\n\f\r", c) != NULL);
}

static bool value_rest(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!value_char((unsigned char)*s))
            return false;
    return true;
}

/* Value: ^(?i)[=!\/]?(~)?[class]+$ */
static bool value_valid(const char *v)
{
    for (int pre = 0; pre < 2; pre++) {
        if (pre == 1 && !(v[0] == '=' || v[0] == '!' || v[0] == '/'))
            break;
        const char *s = v + pre;
        if (value_rest(s))
            return true;
        if (s[0] == '~' && value_rest(s + 1))
            return true;
    }
    return false;
}

/* Go RE2 → POSIX ERE (glibc). Handles (?i) (as a flag on the whole pattern), (?:...),
 * \d \D \w \W \s \S, escaped punctuation, bracket expressions (rebuilt byte-wise), lazy
 * quantifiers (dropped: only whether it matches counts). -1 for what it cannot translate. */
static int bracket_to_ere(const char **pp, struct sb *out)
{
    const char *p = *pp; /* just after '[' */
    bool neg = false;
    unsigned char set[256] = {0};
    if (*p == '^') {
        neg = true;
        p++;
    }
    bool first = true;
    for (;;) {
        if (*p == '\0')
            return -1;
        if (*p == ']' && !first) {
            p++;
            break;
        }
        first = false;
        /* One item: a [:class:], an escape, or a character, possibly starting a range. */
        if (p[0] == '[' && p[1] == ':') {
            const char *end = strstr(p + 2, ":]");
            if (end == NULL)
                return -1;
            size_t n = (size_t)(end - (p + 2));
            bool cneg = n > 0 && p[2] == '^';
            const char *name = p + 2 + (cneg ? 1 : 0);
            size_t nl = n - (cneg ? 1 : 0);
            int (*fn)(int) = NULL;
            static const struct {
                const char *name;
                int (*fn)(int);
            } classes[] = {
                {"alnum", isalnum}, {"alpha", isalpha}, {"blank", isblank}, {"cntrl", iscntrl},
                {"digit", isdigit}, {"graph", isgraph}, {"lower", islower}, {"print", isprint},
                {"punct", ispunct}, {"space", isspace}, {"upper", isupper}, {"xdigit", isxdigit},
            };
            for (size_t k = 0; k < sizeof(classes) / sizeof(classes[0]); k++)
                if (strlen(classes[k].name) == nl && strncmp(classes[k].name, name, nl) == 0)
                    fn = classes[k].fn;
            if (fn == NULL && !(nl == 5 && strncmp(name, "ascii", 5) == 0) &&
                !(nl == 4 && strncmp(name, "word", 4) == 0))
                return -1;
            for (int c = 1; c < 128; c++) {
                bool in = fn ? fn(c) != 0
                             : (nl == 5 ? true : (isalnum(c) || c == '_')); /* ascii / word */
                if (in != cneg)
                    set[c] = 1;
            }
            p = end + 2;
            continue;
        }
        int lo;
        if (*p == '\\') {
            char e = p[1];
            const char *cls = NULL;
            bool cneg = false;
            switch (e) {
            case 'd':
            case 'D':
                cls = "d";
                cneg = e == 'D';
                break;
            case 'w':
            case 'W':
                cls = "w";
                cneg = e == 'W';
                break;
            case 's':
            case 'S':
                cls = "s";
                cneg = e == 'S';
                break;
            default:
                break;
            }
            if (cls) {
                for (int c = 1; c < 256; c++) {
                    bool in =
                        c < 128 && (cls[0] == 'd'   ? isdigit(c)
                                    : cls[0] == 'w' ? (isalnum(c) || c == '_')
                                                    : (c == ' ' || (c >= 9 && c <= 13 && c != 11)));
                    if (in != cneg)
                        set[c] = 1;
                }
                p += 2;
                continue;
            }
            if (e == 'n')
                lo = '\n';
            else if (e == 't')
                lo = '\t';
            else if (e == 'r')
                lo = '\r';
            else if (e == 'f')
                lo = '\f';
            else if (e != '\0' && !isalnum((unsigned char)e))
                lo = (unsigned char)e;
            else
                return -1;
            p += 2;
        } else {
            lo = (unsigned char)*p++;
        }
        int hi = lo;
        if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
            p++;
            if (*p == '\\') {
                char e = p[1];
                if (e == '\0' || isalnum((unsigned char)e))
                    return -1;
                hi = (unsigned char)e;
                p += 2;
            } else {
                hi = (unsigned char)*p++;
            }
            if (hi < lo)
                return -1;
        }
        for (int c = lo; c <= hi; c++)
            set[c] = 1;
    }
    *pp = p;
    set[0] = 0;
    bool any = false;
    for (int c = 1; c < 256; c++)
        any |= set[c] != 0;
    if (!any)
        return -1;
    bool close = set[']'], dash = set['-'], caret = set['^'];
    set[']'] = set['-'] = set['^'] = 0;
    bool others = false;
    for (int c = 1; c < 256; c++)
        others |= set[c] != 0;
    if (caret && !close && !others && !neg && !dash) {
        sb_puts(out, "\\^"); /* just '^': "[^]" would mean something else */
        return 0;
    }
    sb_puts(out, neg ? "[^" : "[");
    if (close)
        sb_putc(out, ']');
    if (caret && !close && !others && !neg) {
        sb_puts(out, "-^"); /* '-' first keeps '^' from reading as a negation */
        caret = dash = false;
    }
    for (int c = 1; c < 256;) {
        if (!set[c]) {
            c++;
            continue;
        }
        int d = c;
        while (d + 1 < 256 && set[d + 1])
            d++;
        if (d - c >= 2) {
            sb_putc(out, (char)c);
            sb_putc(out, '-');
            sb_putc(out, (char)d);
        } else {
            for (int k = c; k <= d; k++)
                sb_putc(out, (char)k);
        }
        c = d + 1;
    }
    if (caret)
        sb_putc(out, '^'); /* never first here */
    if (dash)
        sb_putc(out, '-');
    sb_putc(out, ']');
    return 0;
}

static int re2_to_ere(const char *src, struct sb *out, int *cflags)
{
    const char *p = src;
    while (*p) {
        if (p[0] == '(' && p[1] == '?') {
            if (strncmp(p, "(?i)", 4) == 0) {
                *cflags |= REG_ICASE;
                p += 4;
                continue;
            }
            if (p[2] == ':') {
                sb_putc(out, '(');
                p += 3;
                continue;
            }
            return -1;
        }
        if (*p == '\\') {
            char e = p[1];
            p += 2;
            switch (e) {
            case 'd':
                sb_puts(out, "[0-9]");
                break;
            case 'D':
                sb_puts(out, "[^0-9]");
                break;
            case 'w':
                sb_puts(out, "[[:alnum:]_]");
                break;
            case 'W':
                sb_puts(out, "[^[:alnum:]_]");
                break;
            case 's':
                sb_puts(out, "[ \t\n\f\r]");
                break;
            case 'S':
                sb_puts(out, "[^ \t\n\f\r]");
                break;
            case 'n':
                sb_putc(out, '\n');
                break;
            case 't':
                sb_putc(out, '\t');
                break;
            case 'r':
                sb_putc(out, '\r');
                break;
            case 'f':
                sb_putc(out, '\f');
                break;
            case 'b':
            case 'B':
                sb_putc(out, '\\');
                sb_putc(out, e);
                break;
            default:
                if (e == '\0' || isalnum((unsigned char)e))
                    return -1;
                sb_putc(out, '\\');
                sb_putc(out, e);
                break;
            }
            continue;
        }
        if (*p == '[') {
            p++;
            if (bracket_to_ere(&p, out) < 0)
                return -1;
            continue;
        }
        if ((*p == '*' || *p == '+' || *p == '?') && p[1] == '?') {
            sb_putc(out, *p);
            p += 2; /* lazy: the same matches, as far as "does it match" goes */
            continue;
        }
        sb_putc(out, *p++);
    }
    return out->oom ? -1 : 0;
}

static bool has_regex_meta(const char *s)
{
    return strpbrk(s, ".()?+[]\\^$|") != NULL;
}

/* '*' = any run of characters; everything else literal; whole string. */
static bool glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static size_t memo_slot(const struct memo *m, const char *k)
{
    uint64_t h = (uint64_t)(uintptr_t)k * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h ^ (h >> 32)) & (m->cap - 1);
}

/* -1 unknown, else 0 or 1. */
static int memo_get(const struct memo *m, const char *k)
{
    if (m->cap == 0)
        return -1;
    for (size_t i = memo_slot(m, k);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k)
            return m->vals[i];
        if (m->keys[i] == NULL)
            return -1;
    }
}

/* Remembers k → hit; out of memory only forgets. */
static void memo_put(struct memo *m, const char *k, bool hit)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct memo bigger = {.cap = m->cap ? m->cap * 2 : 256};
        bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
        bigger.vals = malloc(bigger.cap);
        if (bigger.keys == NULL || bigger.vals == NULL) {
            free(bigger.keys);
            free(bigger.vals);
            return;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->keys[i] == NULL)
                continue;
            size_t j = memo_slot(&bigger, m->keys[i]);
            while (bigger.keys[j])
                j = (j + 1) & (bigger.cap - 1);
            bigger.keys[j] = m->keys[i];
            bigger.vals[j] = m->vals[i];
        }
        bigger.n = m->n;
        free(m->keys);
        free(m->vals);
        *m = bigger;
    }
    size_t i = memo_slot(m, k);
    while (m->keys[i])
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = k;
    m->vals[i] = hit;
    m->n++;
}

/* What glibc may be given. Its regcomp copies the operand of '+' (a+ is aa*) and of a counted
 * repetition, and its work grows much faster than the copies where a loop ('*', '+', {n,})
 * repeats something that can match the empty string: /a++++++++++++++++++/ or
 * /((((a+)+)+)+...)/ took seconds and gigabytes, synchronously in the manager's create path.
 * Classic's Go regexp (RE2) refused two shapes, and they get its error texts: a repetition
 * operator right after another, a lazy '?' being part of the first ("invalid nested repetition
 * operator: `++`"), and a count over 1000, alone or multiplied by the counts around it
 * ("invalid repeat count: `{1001}`"). The limits of this scheduler come under Go's names for
 * its own (higher) ones: over RE_MAX_LEN bytes, or over RE_MAX_SIZE nodes once glibc has made
 * its copies, a loop over what can match "" counting RE_LOOP_WEIGHT per node ("expression too
 * large"); repetitions nested more than RE_MAX_NEST deep ("expression nests too deeply"). */
#define RE_MAX_LEN 256
#define RE_MAX_SIZE 256
#define RE_LOOP_WEIGHT 8
#define RE_MAX_NEST 4
#define RE_MAX_TOTAL 2048 /* nodes, all the patterns of one decision */
#define RE_MAX_COUNT 1000

/* An item of a pattern (an atom, a group, a repetition), or a group's contents so far. */
struct re_part {
    size_t raw;    /* nodes, glibc's copies included */
    size_t size;   /* the same, weighted: what counts against the limits */
    int nest;      /* repetitions nested in one another */
    size_t copies; /* product of the counts (Go's repeatIsValid) */
    bool empty;    /* can match the empty string */
};

/* An open group: its contents, and whether they can match "" (some alternative, all of whose
 * items can). */
struct re_group {
    struct re_part in; /* raw and size: sums; nest and copies: the largest */
    bool alt_empty;    /* the current alternative can */
    bool before_last;  /* ... but for its last item */
    bool any_empty;    /* an earlier alternative can */
};

/* "{n}", "{n,}", "{n,m}", and "{,m}" (glibc reads it as {0,m}) at p: the end, or NULL. hi is -1
 * for no upper bound; counts are capped just over RE_MAX_COUNT. */
static const char *re_counted(const char *p, long *lo, long *hi)
{
    long v[2] = {0, -1};
    int k = 0;
    bool digits = false;
    for (p++;; p++) {
        if (isdigit((unsigned char)*p)) {
            long d = *p - '0';
            v[k] = v[k] < 0 ? d : (v[k] > RE_MAX_COUNT ? v[k] : v[k] * 10 + d);
            digits = true;
        } else if (*p == ',' && k == 0) {
            k = 1;
        } else if (*p == '}' && digits) {
            *lo = v[0];
            *hi = k == 0 ? v[0] : v[1];
            return p + 1;
        } else {
            return NULL;
        }
    }
}

/* The end of the bracket expression starting at p ('['), as bracket_to_ere reads it. */
static const char *re_bracket_end(const char *p)
{
    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*p && *p != ']') {
        const char *end = p[0] == '[' && p[1] == ':' ? strstr(p + 2, ":]") : NULL;
        p = end ? end + 2 : p + (p[0] == '\\' && p[1] ? 2 : 1);
    }
    return *p ? p + 1 : p;
}

/* Appends item x to group g, or (replace) puts it in the place of the last item, last. */
static void re_add(struct re_group *g, struct re_part x, const struct re_part *last, size_t *total)
{
    if (last) {
        g->in.raw -= last->raw;
        g->in.size -= last->size;
        *total -= last->size;
    } else {
        g->before_last = g->alt_empty;
    }
    g->alt_empty = g->before_last && x.empty;
    g->in.raw += x.raw;
    g->in.size += x.size;
    *total += x.size;
    if (x.nest > g->in.nest)
        g->in.nest = x.nest;
    if (x.copies > g->in.copies)
        g->in.copies = x.copies;
}

/* 0, or -1 with Go's error text in *msg. src is the pattern as classic gave it to Go; its nodes
 * come out of *budget, what the decision's other patterns left of RE_MAX_TOTAL. */
static int re_limits(const char *src, size_t *budget, struct sb *msg)
{
    static const char pre[] = "error parsing regexp: ";
    static const struct re_group open = {{0, 0, 0, 1, true}, true, true, false};
    if (strlen(src) > RE_MAX_LEN)
        goto large;
    struct re_group lv[RE_MAX_LEN + 1]; /* the open groups; lv[0] the whole pattern */
    size_t top = 0, total = 0;          /* total: the weighted nodes so far, every level's */
    lv[0] = open;
    struct re_part atom = open.in; /* the last item of lv[top], the operand of a repetition */
    const char *last_rep = NULL;   /* the repetition operator just before, if any */
    for (const char *p = src; *p;) {
        const char *prev_rep = last_rep, *op = p, *end = NULL;
        long lo = -1, hi = -1;
        last_rep = NULL;
        if (*p == '*' || *p == '+' || *p == '?')
            end = p + 1;
        else if (*p == '{')
            end = re_counted(p, &lo, &hi);
        if (end) {
            p = *end == '?' ? end + 1 : end; /* a lazy repetition: the same nodes */
            if (prev_rep) {
                sb_printf(msg, "%sinvalid nested repetition operator: `%.*s`", pre,
                          (int)(p - prev_rep), prev_rep);
                return -1;
            }
            struct re_part r = {atom.raw + 1, atom.size + 1, atom.nest + 1, atom.copies, true};
            bool loop = *op == '*' || *op == '+';
            if (*op == '+') {
                r = (struct re_part){2 * atom.raw + 1, 2 * atom.size + 1, r.nest, r.copies,
                                     atom.empty};
            } else if (*op == '{') {
                long most = hi > lo ? hi : lo;
                if (lo > RE_MAX_COUNT || hi > RE_MAX_COUNT || (hi >= 0 && lo > hi) ||
                    (most > 0 && atom.copies > (size_t)(RE_MAX_COUNT / most))) {
                    sb_printf(msg, "%sinvalid repeat count: `%.*s`", pre, (int)(p - op), op);
                    return -1;
                }
                size_t k = (size_t)(most > 0 ? most : 1);
                r = (struct re_part){atom.raw * k + 1, atom.size * k + 1, r.nest,
                                     atom.copies * (size_t)most, atom.empty || lo == 0};
                loop = hi < 0;
            }
            if (loop && atom.empty)
                r.size = RE_LOOP_WEIGHT * r.raw;
            if (r.nest > RE_MAX_NEST) {
                sb_printf(msg, "%sexpression nests too deeply: `%s`", pre, src);
                return -1;
            }
            re_add(&lv[top], r, &atom, &total);
            atom = r;
            last_rep = op;
        } else if (strncmp(p, "(?i)", 4) == 0) {
            p += 4; /* a flag: the item before stays the operand */
            continue;
        } else if (*p == '(') {
            p += p[1] == '?' && p[2] == ':' ? 3 : 1;
            lv[++top] = open;
            atom = open.in;
            continue;
        } else if (*p == ')' && top > 0) {
            p++;
            const struct re_group *g = &lv[top--];
            atom = g->in;
            atom.raw++;
            atom.size++;
            atom.empty = g->any_empty || g->alt_empty;
            total -= g->in.size; /* counted again as the item of the level above */
            re_add(&lv[top], atom, NULL, &total);
        } else if (*p == '|') {
            p++;
            lv[top].any_empty |= lv[top].alt_empty;
            lv[top].alt_empty = lv[top].before_last = true;
            lv[top].in.raw++;
            lv[top].in.size++;
            total++;
            atom = open.in;
            continue;
        } else {
            /* an atom: a character, a class, an escape; the anchors match "" */
            bool empty = *p == '^' || *p == '$' || (p[0] == '\\' && (p[1] == 'b' || p[1] == 'B'));
            p = *p == '[' ? re_bracket_end(p) : p + (p[0] == '\\' && p[1] ? 2 : 1);
            atom = (struct re_part){1, 1, 0, 1, empty};
            re_add(&lv[top], atom, NULL, &total);
        }
        if (total > RE_MAX_SIZE)
            goto large;
    }
    if (total > *budget) {
        sb_printf(msg, "%sexpression too large: `%s` (over %d nodes with the other patterns)", pre,
                  src, RE_MAX_TOTAL);
        return -1;
    }
    *budget -= total;
    return 0;
large:
    sb_printf(msg, "%sexpression too large: `%s`", pre, src);
    return -1;
}

static void expr_free(struct expr *e)
{
    if (e->mode == M_REGEX && e->re_ok)
        regfree(&e->re);
    free(e->buf);
    free(e->memo.keys);
    free(e->memo.vals);
    memset(e, 0, sizeof(*e));
}

/* 0, or -1 with the error in *msg: a pattern over the limits (re_limits). One that is within
 * them but does not translate or compile matches nothing, as classic's did. */
static int expr_compile(struct expr *e, size_t *re_budget, struct sb *msg)
{
    const char *v = e->value;
    size_t n = strlen(v);
    struct sb src = {0};
    if (v[0] == '/' && v[n - 1] == '/') {
        if (n <= 2) {
            e->mode = M_ALL; /* "//" or "/": the empty pattern matches everything */
            return 0;
        }
        sb_putn(&src, v + 1, n - 2);
    } else if (!has_regex_meta(v)) {
        e->mode = strchr(v, '*') ? M_GLOB : M_LITERAL;
        return 0;
    } else {
        /* Classic: "^" + value with '*' → ".*" + "$", compiled as a regular expression. */
        sb_putc(&src, '^');
        for (const char *p = v; *p; p++) {
            if (*p == '*')
                sb_puts(&src, ".*");
            else
                sb_putc(&src, *p);
        }
        sb_putc(&src, '$');
    }
    e->mode = M_REGEX;
    if (src.oom) {
        msg->oom = true;
        return -1;
    }
    if (re_limits(src.p, re_budget, msg) < 0) {
        free(src.p);
        return -1;
    }
    struct sb ere = {0};
    int flags = REG_EXTENDED | REG_NOSUB;
    e->re_ok = re2_to_ere(src.p, &ere, &flags) == 0 && !ere.oom &&
               regcomp(&e->re, ere.p ? ere.p : "", flags) == 0;
    free(src.p);
    free(ere.p);
    return 0;
}

/* parseExprs for one expression. 0, or -1 with the error text in *msg (sb). re_budget: the
 * pattern's nodes come out of it (expr_compile); NULL for a whitelist, whose value is a list
 * of names, never a pattern. */
static int expr_parse(const char *text, struct expr *e, size_t *re_budget, struct sb *msg)
{
    memset(e, 0, sizeof(*e));
    int op = -1;
    const char *at = NULL;
    for (int i = 0; i < 2 && op < 0; i++) {
        at = strstr(text, op_text[i]);
        if (at)
            op = i;
    }
    if (op < 0) {
        sb_puts(msg, "One of operator ==, != is expected");
        return -1;
    }
    size_t klen = (size_t)(at - text);
    if (!key_valid(text, klen)) {
        sb_printf(msg, "Key '%.*s' is invalid", (int)klen, text);
        return -1;
    }
    const char *val = at + 2;
    if (!value_valid(val)) {
        sb_printf(msg, "Value '%s' is invalid", val);
        return -1;
    }
    size_t n = strlen(text);
    e->buf = malloc(n + 2);
    if (e->buf == NULL) {
        msg->oom = true;
        return -1;
    }
    memcpy(e->buf, text, klen);
    e->buf[klen] = '\0';
    e->key = e->buf;
    e->soft = val[0] == '~';
    while (*val == '~')
        val++;
    e->value = e->buf + klen + 1;
    memcpy(e->value, val, strlen(val) + 1);
    e->op = op;
    if (e->value[0] == '\0') {
        /* "node==~": Go would index an empty value and panic; nothing matches it here. */
        e->mode = M_LITERAL;
        return 0;
    }
    if (re_budget == NULL) {
        e->mode = M_LITERAL;
        return 0;
    }
    if (expr_compile(e, re_budget, msg) < 0) {
        free(e->buf);
        memset(e, 0, sizeof(*e));
        return -1;
    }
    return 0;
}

/* Whether the value matches s, a string of the view (so literals compare as pointers, and a
 * glob or regex runs once per distinct string in a decision). */
static bool expr_hit(struct expr *e, const char *s)
{
    switch (e->mode) {
    case M_LITERAL:
        return s == e->lit;
    case M_ALL:
        return true;
    default:
        break;
    }
    int known = memo_get(&e->memo, s);
    if (known >= 0)
        return known;
    bool hit = e->mode == M_GLOB ? glob_match(e->value, s)
                                 : e->re_ok && regexec(&e->re, s, 0, NULL, 0) == 0;
    memo_put(&e->memo, s, hit);
    return hit;
}

/* ---- the view's strings: interned, so equal strings are one pointer ---------------------- */

struct view_priv {
    struct arena arena;
    const char **slots; /* open addressing; NULL = free */
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h ^ (h >> 32);
}

/* The view's copy of s, or NULL when no string of the view equals s. */
static const char *vfind(const struct sched_view *v, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return empty_str;
    const struct view_priv *p = v->priv;
    if (p->cap == 0)
        return NULL;
    size_t mask = p->cap - 1;
    for (size_t i = (size_t)hash_str(s) & mask;; i = (i + 1) & mask) {
        const char *t = p->slots[i];
        if (t == NULL)
            return NULL;
        if (strcmp(t, s) == 0)
            return t;
    }
}

static int vtab_grow(struct view_priv *p)
{
    size_t cap = p->cap ? p->cap * 2 : 1024;
    const char **slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t k = 0; k < p->cap; k++) {
        const char *t = p->slots[k];
        if (t == NULL)
            continue;
        size_t i = (size_t)hash_str(t) & (cap - 1);
        while (slots[i])
            i = (i + 1) & (cap - 1);
        slots[i] = t;
    }
    free(p->slots);
    p->slots = slots;
    p->cap = cap;
    return 0;
}

/* Interns s: the view's one copy of it (empty_str for NULL or ""), NULL when out of memory. */
static const char *vstr(struct sched_view *v, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return empty_str;
    struct view_priv *p = v->priv;
    if ((p->n + 1) * 2 > p->cap && vtab_grow(p) < 0)
        return NULL;
    size_t mask = p->cap - 1;
    size_t i = (size_t)hash_str(s) & mask;
    for (; p->slots[i]; i = (i + 1) & mask)
        if (strcmp(p->slots[i], s) == 0)
            return p->slots[i];
    const char *c = arena_str(&p->arena, s);
    if (c == NULL)
        return NULL;
    p->slots[i] = c;
    p->n++;
    return c;
}

/* A node's lists live in its own arena (sched_node.mem), emptied when the node is re-read and
 * freed with it; the strings they point to are the view's, interned. */
static struct arena *node_arena(struct sched_node *n)
{
    if (n->mem == NULL)
        n->mem = calloc(1, sizeof(struct arena));
    return n->mem;
}

static void *node_alloc(struct sched_node *n, size_t size)
{
    struct arena *a = node_arena(n);
    return a ? arena_alloc(a, size) : NULL;
}

static const char **view_strs(struct sched_view *v, struct sched_node *node,
                              const char *const *list, size_t n, bool *ok)
{
    if (n == 0)
        return NULL;
    const char **out = node_alloc(node, n * sizeof(*out));
    if (out == NULL) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if ((out[i] = vstr(v, list[i])) == NULL)
            *ok = false;
    return out;
}

static struct sched_kv *view_kvs(struct sched_view *v, struct sched_node *node,
                                 const struct sched_kv *list, size_t n, bool *ok)
{
    if (n == 0)
        return NULL;
    struct sched_kv *out = node_alloc(node, n * sizeof(*out));
    if (out == NULL) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i].key = vstr(v, list[i].key);
        out[i].value = vstr(v, list[i].value);
        if (out[i].key == NULL || out[i].value == NULL)
            *ok = false;
    }
    return out;
}

/* ---- the view ----------------------------------------------------------------------------- */

enum { PROTO_TCP = 0, PROTO_UDP = 1, PROTO_SCTP = 2, PROTO_OTHER = 3 };

static uint8_t proto_of(const char *p)
{
    if (p == NULL || p[0] == '\0' || strcmp(p, "tcp") == 0)
        return PROTO_TCP;
    if (strcmp(p, "udp") == 0)
        return PROTO_UDP;
    if (strcmp(p, "sctp") == 0)
        return PROTO_SCTP;
    return PROTO_OTHER;
}

/* "8080" or "8000-8010" → lo, hi. false for "" or anything else. */
static bool port_range(const char *s, uint32_t *lo, uint32_t *hi)
{
    if (s == NULL || !isdigit((unsigned char)s[0]))
        return false;
    char *end;
    unsigned long a = strtoul(s, &end, 10), b = a;
    if (*end == '-') {
        const char *t = end + 1;
        if (!isdigit((unsigned char)t[0]))
            return false;
        b = strtoul(t, &end, 10);
    }
    if (*end != '\0' || a > 65535 || b > 65535 || b < a)
        return false;
    *lo = (uint32_t)a;
    *hi = (uint32_t)b;
    return true;
}

/* "80/tcp", "80" (tcp), "8000-8010/udp" → range and protocol. */
static bool exposed_port(const char *s, uint32_t *lo, uint32_t *hi, uint8_t *proto)
{
    char num[32];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(num))
        return false;
    memcpy(num, s, n);
    num[n] = '\0';
    *proto = proto_of(slash ? slash + 1 : NULL);
    return port_range(num, lo, hi);
}

static bool any_ip(const char *ip)
{
    if (ip == NULL || ip[0] == '\0')
        return true;
    unsigned char buf[16];
    static const unsigned char zero[16];
    if (inet_pton(AF_INET, ip, buf) == 1)
        return memcmp(buf, zero, 4) == 0;
    if (inet_pton(AF_INET6, ip, buf) == 1)
        return memcmp(buf, zero, 16) == 0;
    return false;
}

struct sched_view *sched_view_new(void)
{
    struct sched_view *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return NULL;
    v->priv = calloc(1, sizeof(struct view_priv));
    if (v->priv == NULL) {
        free(v);
        return NULL;
    }
    return v;
}

/* Frees everything node n holds (not its strings: they are the view's). */
static void node_release(struct sched_node *n)
{
    free(n->containers);
    free(n->image_refs);
    free(n->bound);
    arena_free(n->mem);
    free(n->mem);
}

void sched_view_free(struct sched_view *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->nnodes; i++)
        node_release(&v->nodes[i]);
    free(v->nodes);
    struct view_priv *p = v->priv;
    arena_free(&p->arena);
    free(p->slots);
    free(p);
    free(v);
}

/* strconv.Atoi: optional sign, decimal digits, fits in 64 bits. */
static bool go_atoi(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Sets node n's name, id, health, totals and labels, and empties its contents (keeping the
 * room of its lists and of its arena). */
static int node_fill(struct sched_view *v, struct sched_node *n, const char *name, const char *id,
                     int health, int64_t cpus, int64_t memory, const struct sched_kv *labels,
                     size_t nlabels, void *user)
{
    bool ok = true;
    if (n->mem)
        arena_reset(n->mem);
    n->labels = NULL;
    n->nlabels = 0;
    const char *nm = vstr(v, name), *nid = vstr(v, id);
    const struct sched_kv *kv = view_kvs(v, n, labels, nlabels, &ok);
    if (!ok || nm == NULL || nid == NULL)
        return -1;
    n->name = nm;
    n->id = nid;
    n->labels = kv;
    n->nlabels = nlabels;
    n->health = health < 0 ? 0 : health > 100 ? 100 : health;
    n->cpus = cpus;
    n->memory = memory;
    n->user = user;
    n->ncontainers = n->nimage_refs = n->nbound = 0;
    n->used_memory = n->used_mcpus = 0;
    memset(n->port_mask, 0, sizeof(n->port_mask));
    n->has_slots = false;
    n->slots = 0;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(n->labels[i].key, "containerslots") == 0) {
            n->has_slots = go_atoi(n->labels[i].value, &n->slots);
            break;
        }
    return 0;
}

long sched_view_add_node(struct sched_view *v, const char *name, const char *id, int health,
                         int64_t cpus, int64_t memory, const struct sched_kv *labels,
                         size_t nlabels, void *user)
{
    if (grow(&v->nodes, &v->cap, v->nnodes + 1, sizeof(*v->nodes)) < 0)
        return -1;
    struct sched_node *n = &v->nodes[v->nnodes];
    memset(n, 0, sizeof(*n));
    if (node_fill(v, n, name, id, health, cpus, memory, labels, nlabels, user) < 0) {
        node_release(n);
        return -1;
    }
    return (long)v->nnodes++;
}

size_t sched_view_bytes(const struct sched_view *v)
{
    const struct view_priv *p = v->priv;
    size_t total =
        sizeof(*v) + sizeof(*p) + v->cap * sizeof(*v->nodes) + p->cap * sizeof(*p->slots);
    total += arena_bytes(&p->arena);
    for (size_t i = 0; i < v->nnodes; i++) {
        const struct sched_node *n = &v->nodes[i];
        total += n->ccap * sizeof(*n->containers) + n->icap * sizeof(*n->image_refs) +
                 n->bcap * sizeof(*n->bound) + (n->mem ? sizeof(struct arena) : 0) +
                 arena_bytes(n->mem);
    }
    return total;
}

size_t sched_view_string_bytes(const struct sched_view *v)
{
    const struct view_priv *p = v->priv;
    return arena_bytes(&p->arena) + p->cap * sizeof(*p->slots);
}

void sched_view_remove_node(struct sched_view *v, size_t i)
{
    if (i >= v->nnodes)
        return;
    node_release(&v->nodes[i]);
    memmove(&v->nodes[i], &v->nodes[i + 1], (v->nnodes - i - 1) * sizeof(*v->nodes));
    v->nnodes--;
}

/* Adds ref to the node's image references unless one of the last few is the same. */
static int add_image_ref(struct sched_view *v, struct sched_node *n, const char *ref)
{
    if (ref == NULL || ref[0] == '\0')
        return 0;
    const char *s = vstr(v, ref);
    if (s == NULL)
        return -1;
    for (size_t i = n->nimage_refs, k = 0; i > 0 && k < 64; i--, k++)
        if (n->image_refs[i - 1] == s)
            return 0;
    if (grow(&n->image_refs, &n->icap, n->nimage_refs + 1, sizeof(*n->image_refs)) < 0)
        return -1;
    n->image_refs[n->nimage_refs++] = s;
    return 0;
}

/* ref and cluster.ParseRepositoryTag's repository: before '@', else before a last ':' that is
 * not followed by a '/' (a registry port). */
static int add_image_with_repo(struct sched_view *v, struct sched_node *n, const char *ref)
{
    if (ref == NULL || ref[0] == '\0')
        return 0;
    if (add_image_ref(v, n, ref) < 0)
        return -1;
    const char *at = strchr(ref, '@');
    const char *colon = strrchr(ref, ':');
    size_t len;
    if (at)
        len = (size_t)(at - ref);
    else if (colon && strchr(colon + 1, '/') == NULL)
        len = (size_t)(colon - ref);
    else
        return 0;
    char small[256];
    char *repo = len < sizeof(small) ? small : malloc(len + 1);
    if (repo == NULL)
        return -1;
    memcpy(repo, ref, len);
    repo[len] = '\0';
    int rc = add_image_ref(v, n, repo);
    if (repo != small)
        free(repo);
    return rc;
}

int sched_node_add_image(struct sched_view *v, size_t i, const char *id, const char *const *tags,
                         size_t ntags)
{
    if (i >= v->nnodes)
        return -1;
    struct sched_node *n = &v->nodes[i];
    if (add_image_ref(v, n, id) < 0)
        return -1;
    for (size_t k = 0; k < ntags; k++) {
        if (tags[k] == NULL || strcmp(tags[k], "<none>:<none>") == 0 ||
            strcmp(tags[k], "<none>@<none>") == 0)
            continue;
        if (add_image_with_repo(v, n, tags[k]) < 0)
            return -1;
    }
    return 0;
}

/* Ports lo..hi into a 256-bit mask (port modulo 256). */
static void mask_range(uint64_t m[4], uint32_t lo, uint32_t hi)
{
    if (hi - lo >= 255) {
        m[0] = m[1] = m[2] = m[3] = ~(uint64_t)0;
        return;
    }
    for (uint32_t p = lo; p <= hi; p++)
        m[(p & 255) >> 6] |= (uint64_t)1 << (p & 63);
}

static int add_bound(struct sched_node *n, const char *ip, uint32_t lo, uint32_t hi, uint8_t proto,
                     bool host_mode)
{
    if (grow(&n->bound, &n->bcap, n->nbound + 1, sizeof(*n->bound)) < 0)
        return -1;
    mask_range(n->port_mask, lo, hi);
    n->bound[n->nbound++] = (struct sched_bound){.ip = ip ? ip : "",
                                                 .lo = lo,
                                                 .hi = hi,
                                                 .proto = proto,
                                                 .any_ip = any_ip(ip),
                                                 .host_mode = host_mode};
    return 0;
}

int sched_node_add_container(struct sched_view *v, size_t i, const struct sched_container *c)
{
    if (i >= v->nnodes)
        return -1;
    struct sched_node *n = &v->nodes[i];
    if (grow(&n->containers, &n->ccap, n->ncontainers + 1, sizeof(*n->containers)) < 0)
        return -1;
    struct sched_container *d = &n->containers[n->ncontainers];
    memset(d, 0, sizeof(*d));
    bool ok = true;
    d->id = vstr(v, c->id);
    d->names = view_strs(v, n, c->names, c->nnames, &ok);
    d->nnames = c->nnames;
    d->swarm_id = vstr(v, c->swarm_id);
    d->image = vstr(v, c->image);
    d->image_id = vstr(v, c->image_id);
    d->labels = view_kvs(v, n, c->labels, c->nlabels, &ok);
    d->nlabels = c->nlabels;
    d->memory = c->memory > 0 ? c->memory : 0;
    d->mcpus = c->mcpus > 0 ? c->mcpus : 0;
    d->host_network = c->host_network;
    d->inflight = c->inflight;
    d->exposed = view_strs(v, n, c->exposed, c->nexposed, &ok);
    d->nexposed = c->nexposed;
    if (c->nports) {
        struct sched_port *ports = node_alloc(n, c->nports * sizeof(*ports));
        if (ports == NULL)
            return -1;
        for (size_t k = 0; k < c->nports; k++) {
            ports[k].host_ip = vstr(v, c->ports[k].host_ip);
            ports[k].host_port = vstr(v, c->ports[k].host_port);
            ports[k].proto = vstr(v, c->ports[k].proto);
            if (!ports[k].host_ip || !ports[k].host_port || !ports[k].proto)
                ok = false;
        }
        d->ports = ports;
        d->nports = c->nports;
    }
    if (!ok || d->id == NULL || d->swarm_id == NULL || d->image == NULL || d->image_id == NULL)
        return -1;
    /* The node-wide indexes: ports in use, image references, reservations. */
    for (size_t k = 0; k < d->nports; k++) {
        uint32_t lo, hi;
        if (port_range(d->ports[k].host_port, &lo, &hi) &&
            add_bound(n, d->ports[k].host_ip, lo, hi, proto_of(d->ports[k].proto), false) < 0)
            return -1;
    }
    if (d->host_network) {
        for (size_t k = 0; k < d->nexposed; k++) {
            uint32_t lo, hi;
            uint8_t proto;
            if (exposed_port(d->exposed[k], &lo, &hi, &proto) &&
                add_bound(n, "", lo, hi, proto, true) < 0)
                return -1;
        }
    }
    if (add_image_with_repo(v, n, d->image) < 0 || add_image_ref(v, n, d->image_id) < 0)
        return -1;
    n->used_memory = sat_add(n->used_memory, d->memory);
    n->used_mcpus = sat_add(n->used_mcpus, d->mcpus);
    n->ncontainers++;
    return 0;
}

int64_t sched_mcpus_from_engine(int64_t cpu_shares, int64_t nano_cpus, int64_t ncpu)
{
    int64_t a = 0, b = 0;
    if (cpu_shares > 0 && ncpu > 0)
        a = sat_mul(sat_mul(cpu_shares, ncpu) / 1024, 1000);
    if (nano_cpus > 0)
        b = nano_cpus / 1000000 + (nano_cpus % 1000000 != 0); /* rounded up */
    return a > b ? a : b;
}

int sched_view_add_inflight(struct sched_view *v, size_t i, const struct sched_request *r)
{
    if (i >= v->nnodes)
        return -1;
    struct sched_node *n = &v->nodes[i];
    if (r->swarm_id && r->swarm_id[0])
        for (size_t k = 0; k < n->ncontainers; k++)
            if (strcmp(n->containers[k].swarm_id, r->swarm_id) == 0)
                return 0;
    const char *name = r->name && r->name[0] == '/' ? r->name + 1 : r->name;
    const char *names[1] = {name};
    struct sched_container c = {
        .id = "",
        .names = names,
        .nnames = name && name[0] ? 1 : 0,
        .swarm_id = r->swarm_id,
        .image = r->image,
        .image_id = "",
        .labels = r->labels,
        .nlabels = r->nlabels,
        .memory = r->memory,
        .mcpus = r->mcpus,
        .host_network = r->network_mode && strcmp(r->network_mode, "host") == 0,
        .ports = r->ports,
        .nports = r->nports,
        .exposed = r->exposed,
        .nexposed = r->nexposed,
        .inflight = true,
    };
    return sched_node_add_container(v, i, &c);
}

/* ---- the filters -------------------------------------------------------------------------- */

struct decision {
    const struct sched_config *c;
    const struct sched_view *v;
    const struct sched_request *r;
    /* Parsed expressions per kind; perr[kind] is the first parse error ("" when none). */
    struct expr *ex[SCHED_F_COUNT];
    size_t nex[SCHED_F_COUNT];
    struct sb perr[SCHED_F_COUNT];
    size_t re_budget; /* nodes the patterns may still have (RE_MAX_TOTAL) */
    /* Dependencies: names without ":ro" / ":alias". */
    char **deps;
    size_t ndeps;
};

static const char *const *kind_list(const struct sched_request *r, int kind, size_t *n)
{
    switch (kind) {
    case SCHED_F_CONSTRAINT:
        *n = r->nconstraints;
        return r->constraints;
    case SCHED_F_AFFINITY:
        *n = r->naffinities;
        return r->affinities;
    case SCHED_F_WHITELIST:
        *n = r->nwhitelists;
        return r->whitelists;
    default:
        *n = 0;
        return NULL;
    }
}

static int decision_prepare(struct decision *d)
{
    static const int kinds[] = {SCHED_F_AFFINITY, SCHED_F_CONSTRAINT, SCHED_F_WHITELIST};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        int kind = kinds[k];
        size_t n;
        const char *const *list = kind_list(d->r, kind, &n);
        if (n == 0)
            continue;
        d->ex[kind] = calloc(n, sizeof(struct expr));
        if (d->ex[kind] == NULL)
            return -1;
        for (size_t i = 0; i < n; i++) {
            struct expr *e = &d->ex[kind][i];
            size_t *budget = kind == SCHED_F_WHITELIST ? NULL : &d->re_budget;
            if (expr_parse(list[i] ? list[i] : "", e, budget, &d->perr[kind]) < 0) {
                if (d->perr[kind].oom)
                    return -1;
                /* parseExprs stops at the first bad one: the filter fails as a whole. */
                for (size_t j = 0; j < i; j++)
                    expr_free(&d->ex[kind][j]);
                d->nex[kind] = 0;
                break;
            }
            d->nex[kind] = i + 1;
            e->kptr = vfind(d->v, e->key);
            e->lit = e->mode == M_LITERAL && e->value[0] ? vfind(d->v, e->value) : NULL;
            e->keykind = strcmp(e->key, "container") == 0 ? K_CONTAINER
                         : strcmp(e->key, "image") == 0   ? K_IMAGE
                         : strcmp(e->key, "node") == 0    ? K_NODE
                                                          : K_LABEL;
        }
    }
    const struct sched_request *r = d->r;
    size_t total = r->nvolumes_from + r->nlinks + 1;
    d->deps = calloc(total, sizeof(char *));
    if (d->deps == NULL)
        return -1;
    for (size_t i = 0; i < r->nvolumes_from + r->nlinks; i++) {
        const char *s = i < r->nvolumes_from ? r->volumes_from[i] : r->links[i - r->nvolumes_from];
        s = s ? s : "";
        size_t n = strcspn(s, ":");
        if ((d->deps[d->ndeps] = strndup(s, n)) == NULL)
            return -1;
        d->ndeps++;
    }
    if (r->network_mode && strncmp(r->network_mode, "container:", 10) == 0) {
        if ((d->deps[d->ndeps] = strdup(r->network_mode + 10)) == NULL)
            return -1;
        d->ndeps++;
    }
    return 0;
}

static void decision_clear(struct decision *d)
{
    for (int k = 0; k < SCHED_F_COUNT; k++) {
        for (size_t i = 0; i < d->nex[k]; i++)
            expr_free(&d->ex[k][i]);
        free(d->ex[k]);
        free(d->perr[k].p);
    }
    for (size_t i = 0; i < d->ndeps; i++)
        free(d->deps[i]);
    free(d->deps);
}

static bool host_mode(const struct sched_request *r)
{
    return r->network_mode && strcmp(r->network_mode, "host") == 0;
}

/* Each filter reads in[0..n) and writes the nodes it keeps to out; returns how many, or -1
 * when the filter fails (classic returned an error: nothing left, or a bad expression). */

static ssize_t f_health(struct decision *d, const size_t *in, size_t n, size_t *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (d->v->nodes[in[i]].health > 0)
            out[m++] = in[i];
    return m ? (ssize_t)m : -1;
}

static bool port_taken(const struct sched_node *node, bool hostm, uint32_t lo, uint32_t hi,
                       uint8_t proto, const char *ip, bool ip_any)
{
    for (size_t k = 0; k < node->nbound; k++) {
        const struct sched_bound *b = &node->bound[k];
        if (b->host_mode != hostm || b->proto != proto || b->hi < lo || b->lo > hi)
            continue;
        if (hostm || ip_any || b->any_ip || strcmp(ip, b->ip) == 0)
            return true;
    }
    return false;
}

static ssize_t f_port(struct decision *d, const size_t *in, size_t n, size_t *out)
{
    const struct sched_request *r = d->r;
    const size_t *cur = in;
    size_t m = n;
    bool hostm = host_mode(r);
    size_t count = hostm ? r->nexposed : r->nports;
    bool moved = false;
    for (size_t p = 0; p < count; p++) {
        uint32_t lo, hi;
        uint8_t proto;
        const char *ip = "";
        if (hostm) {
            if (!exposed_port(r->exposed[p], &lo, &hi, &proto))
                continue;
        } else {
            if (!port_range(r->ports[p].host_port, &lo, &hi))
                continue; /* -p 80: a random host port, never a clash */
            proto = proto_of(r->ports[p].proto);
            ip = r->ports[p].host_ip ? r->ports[p].host_ip : "";
        }
        bool ip_any = any_ip(ip);
        uint64_t want[4] = {0};
        mask_range(want, lo, hi);
        size_t k = 0;
        for (size_t i = 0; i < m; i++) {
            const struct sched_node *node = &d->v->nodes[cur[i]];
            const uint64_t *have = node->port_mask;
            if (((have[0] & want[0]) | (have[1] & want[1]) | (have[2] & want[2]) |
                 (have[3] & want[3])) == 0 ||
                !port_taken(node, hostm, lo, hi, proto, ip, ip_any))
                out[k++] = cur[i];
        }
        if (k == 0)
            return -1;
        m = k;
        cur = out;
        moved = true;
    }
    if (!moved)
        memcpy(out, in, n * sizeof(*in));
    return (ssize_t)m;
}

static ssize_t f_slots(struct decision *d, const size_t *in, size_t n, size_t *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sched_node *node = &d->v->nodes[in[i]];
        if (!node->has_slots || (int64_t)node->ncontainers < node->slots)
            out[m++] = in[i];
    }
    return m ? (ssize_t)m : -1;
}

/* TruncateID: after a "algo:" prefix, the first 12 characters. */
static bool short_id_is(const char *id, const char *ref)
{
    const char *colon = strchr(id, ':');
    if (colon)
        id = colon + 1;
    size_t n = strlen(id);
    if (n > 12)
        n = 12;
    return strlen(ref) == n && strncmp(id, ref, n) == 0;
}

/* "<prefix>/<name>" == ref */
static bool joined_is(const char *prefix, const char *name, const char *ref)
{
    size_t p = strlen(prefix);
    return p > 0 && strncmp(ref, prefix, p) == 0 && ref[p] == '/' && strcmp(ref + p + 1, name) == 0;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Classic's Containers.Get on one node: id or short id, swarm id, a unique name (name, /name,
 * engineID/name, engineName/name), a unique id or swarm id prefix. */
static bool node_has_container(const struct sched_node *node, const char *ref)
{
    if (ref[0] == '\0')
        return false;
    for (size_t i = 0; i < node->ncontainers; i++) {
        const char *id = node->containers[i].id;
        if (strcmp(id, ref) == 0 || short_id_is(id, ref))
            return true;
    }
    for (size_t i = 0; i < node->ncontainers; i++) {
        const char *sid = node->containers[i].swarm_id;
        if (strcmp(sid, ref) == 0 || short_id_is(sid, ref))
            return true;
    }
    size_t found = 0;
    for (size_t i = 0; i < node->ncontainers; i++) {
        const struct sched_container *c = &node->containers[i];
        bool hit = false;
        for (size_t k = 0; k < c->nnames && !hit; k++) {
            const char *nm = c->names[k];
            hit = strcmp(nm, ref) == 0 || (ref[0] == '/' && strcmp(ref + 1, nm) == 0) ||
                  joined_is(node->id, nm, ref) || joined_is(node->name, nm, ref);
        }
        found += hit;
    }
    if (found == 1)
        return true;
    if (found > 1)
        return false;
    for (size_t i = 0; i < node->ncontainers; i++) {
        const struct sched_container *c = &node->containers[i];
        found += c->id[0] && starts_with(c->id, ref);
        found += c->swarm_id[0] && starts_with(c->swarm_id, ref);
    }
    return found == 1;
}

static ssize_t f_dependency(struct decision *d, const size_t *in, size_t n, size_t *out)
{
    if (n == 0)
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = true;
        for (size_t k = 0; k < d->ndeps && ok; k++)
            ok = node_has_container(&d->v->nodes[in[i]], d->deps[k]);
        if (ok)
            out[m++] = in[i];
    }
    return m ? (ssize_t)m : -1;
}

static const char *label_of(const struct sched_kv *l, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].key, key) == 0)
            return l[i].value;
    return empty_str;
}

/* The value of the label whose key is the view's string kptr; "" when there is none. */
static const char *vlabel(const struct sched_kv *l, size_t n, const char *kptr)
{
    if (kptr)
        for (size_t i = 0; i < n; i++)
            if (l[i].key == kptr)
                return l[i].value;
    return empty_str;
}

static bool affinity_match(struct expr *e, const struct sched_node *node)
{
    bool hit = false;
    if (e->keykind == K_CONTAINER) {
        for (size_t i = 0; i < node->ncontainers && !hit; i++) {
            const struct sched_container *c = &node->containers[i];
            if (c->nnames > 0)
                hit = expr_hit(e, c->id) || expr_hit(e, c->names[0]);
        }
    } else if (e->keykind == K_IMAGE) {
        for (size_t i = 0; i < node->nimage_refs && !hit; i++)
            hit = expr_hit(e, node->image_refs[i]);
    } else {
        for (size_t i = 0; i < node->ncontainers && !hit; i++) {
            const struct sched_container *c = &node->containers[i];
            hit = expr_hit(e, vlabel(c->labels, c->nlabels, e->kptr));
        }
    }
    return e->op == OP_EQ ? hit : !hit;
}

static bool constraint_match(struct expr *e, const struct sched_node *node)
{
    bool hit;
    if (e->keykind == K_NODE)
        hit = expr_hit(e, node->id) || expr_hit(e, node->name);
    else
        hit = expr_hit(e, vlabel(node->labels, node->nlabels, e->kptr));
    return e->op == OP_EQ ? hit : !hit;
}

static bool whitelist_match(const struct expr *e, const struct sched_node *node)
{
    const char *p = e->value;
    size_t name = strlen(node->name);
    for (;;) {
        size_t n = strcspn(p, "|");
        if (n == name && strncmp(p, node->name, n) == 0)
            return true;
        if (p[n] == '\0')
            return false;
        p += n + 1;
    }
}

static ssize_t f_exprs(struct decision *d, int kind, bool soft, const size_t *in, size_t n,
                       size_t *out)
{
    if (d->perr[kind].len)
        return -1;
    const size_t *cur = in;
    size_t m = n;
    bool moved = false;
    for (size_t x = 0; x < d->nex[kind]; x++) {
        struct expr *e = &d->ex[kind][x];
        if (!soft && e->soft)
            continue;
        size_t k = 0;
        for (size_t i = 0; i < m; i++) {
            const struct sched_node *node = &d->v->nodes[cur[i]];
            bool ok = kind == SCHED_F_AFFINITY     ? affinity_match(e, node)
                      : kind == SCHED_F_CONSTRAINT ? constraint_match(e, node)
                                                   : whitelist_match(e, node);
            if (ok)
                out[k++] = cur[i];
        }
        if (k == 0)
            return -1;
        m = k;
        cur = out;
        moved = true;
    }
    if (!moved)
        memcpy(out, in, n * sizeof(*in));
    return (ssize_t)m;
}

/* GetFilters of one filter into the message, Go's "\n%v" of a []string: "\n[a b c]". Returns
 * false when the filter reported an error (the list stops there, as listAllFilters did). */
static bool list_filter(struct decision *d, enum sched_filter f, struct sb *m)
{
    const struct sched_request *r = d->r;
    size_t start = m->len;
    size_t items = 0;
#define ITEM_BEGIN() (sb_puts(m, items++ ? " " : "\n["))
    switch (f) {
    case SCHED_F_HEALTH:
        break;
    case SCHED_F_PORT:
        if (host_mode(r)) {
            for (size_t i = 0; i < r->nexposed; i++) {
                ITEM_BEGIN();
                sb_printf(m, "port %s (Host mode)", r->exposed[i] ? r->exposed[i] : "");
            }
        } else {
            for (size_t i = 0; i < r->nports; i++) {
                ITEM_BEGIN();
                sb_printf(m, "port %s (Bridge mode)",
                          r->ports[i].host_port ? r->ports[i].host_port : "");
            }
        }
        break;
    case SCHED_F_SLOTS:
        ITEM_BEGIN();
        sb_puts(m, "available container slots");
        break;
    case SCHED_F_DEPENDENCY:
        for (size_t i = 0; i < r->nvolumes_from; i++) {
            ITEM_BEGIN();
            sb_printf(m, "--volumes-from=%s", r->volumes_from[i] ? r->volumes_from[i] : "");
        }
        for (size_t i = 0; i < r->nlinks; i++) {
            ITEM_BEGIN();
            sb_printf(m, "--link=%s", r->links[i] ? r->links[i] : "");
        }
        if (r->network_mode && strncmp(r->network_mode, "container:", 10) == 0) {
            ITEM_BEGIN();
            sb_printf(m, "--net=%s", r->network_mode);
        }
        break;
    case SCHED_F_AFFINITY:
    case SCHED_F_CONSTRAINT:
    case SCHED_F_WHITELIST:
        if (d->perr[f].len) {
            m->len = start;
            if (m->p)
                m->p[start] = '\0';
            sb_printf(m, "\nerror from %s filter: %s", filter_names[f], d->perr[f].p);
            return false;
        }
        for (size_t i = 0; i < d->nex[f]; i++) {
            const struct expr *e = &d->ex[f][i];
            ITEM_BEGIN();
            sb_printf(m, "%s%s%s", e->key, op_text[e->op], e->value);
            if (f != SCHED_F_CONSTRAINT)
                sb_puts(m, e->soft ? " (soft=true)" : " (soft=false)");
        }
        break;
    default:
        break;
    }
    if (items)
        sb_putc(m, ']');
#undef ITEM_BEGIN
    return true;
}

static void fail(struct sched_result *out, const char *text)
{
    free(out->error);
    out->error = strdup(text);
    out->status = 500;
}

static void fail_filters(struct decision *d, size_t failed, struct sched_result *out)
{
    enum sched_filter f = d->c->filters[failed];
    if (f == SCHED_F_HEALTH) {
        fail(out, "No healthy node available in the cluster");
        return;
    }
    struct sb m = {0};
    sb_puts(&m, "Unable to find a node that satisfies the following conditions ");
    for (size_t i = 0; i < d->c->nfilters; i++) {
        if (!list_filter(d, d->c->filters[i], &m))
            break;
        if (d->c->filters[i] == f)
            break;
    }
    if (m.oom) {
        free(m.p);
        fail(out, "out of memory");
        return;
    }
    free(out->error);
    out->error = m.p;
    out->status = 500;
}

/* ---- the strategies ----------------------------------------------------------------------- */

struct weighed {
    int64_t weight;
    size_t containers;
    size_t index;
};

/* mem * pct / 100 without overflowing (mem >= 0). */
static int64_t pct_of(int64_t x, int64_t pct)
{
    return (x / 100) * pct + (x % 100) * pct / 100;
}

/* (used + req) * 100 / total, the strategies' load in percent, for total > 0 and used, req >=
 * 0; 101 stands for anything over 100. */
static int64_t load_pct(int64_t used, int64_t req, int64_t total)
{
    if (used <= INT64_MAX / 200 && req <= INT64_MAX / 200)
        return (used + req) * 100 / total;
    /* Over 4.6e16 (bytes or milli-CPUs) only: in floating point, close enough. */
    double pct = ((double)used + (double)req) * 100.0 / (double)total;
    return pct >= 101.0 ? 101 : (int64_t)pct;
}

/* Spread: lower weight first, then fewer containers; binpack is the reverse of that order
 * (higher weight, then more containers). Equal on both: view order (deterministic). */
static int cmp_spread(const void *a, const void *b)
{
    const struct weighed *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight < y->weight ? -1 : 1;
    if (x->containers != y->containers)
        return x->containers < y->containers ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_binpack(const void *a, const void *b)
{
    const struct weighed *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1;
    if (x->containers != y->containers)
        return x->containers > y->containers ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int rank(struct decision *d, size_t *cand, size_t n, size_t want, struct sched_result *out)
{
    const struct sched_config *c = d->c;
    const struct sched_request *r = d->r;
    if (want == 0 || want > n)
        want = n;
    if (c->strategy == SCHED_RANDOM) {
        struct sched_rng fallback;
        sched_rng_seed(&fallback, 0);
        uint64_t (*next)(void *) = c->random ? c->random : sched_rng_next;
        void *arg = c->random ? c->random_arg : &fallback;
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(next(arg) % (uint64_t)(i + 1));
            size_t t = cand[i];
            cand[i] = cand[j];
            cand[j] = t;
        }
        out->ranked = malloc(want * sizeof(size_t));
        if (out->ranked == NULL)
            return -2;
        memcpy(out->ranked, cand, want * sizeof(size_t));
        out->nranked = want;
        return 0;
    }
    int64_t factor = c->strategy == SCHED_BINPACK ? 10 : -10;
    int (*cmp)(const void *, const void *) =
        c->strategy == SCHED_BINPACK ? cmp_binpack : cmp_spread;
    int64_t pct = (int64_t)(c->overcommit * 100);
    int64_t req_mem = r->memory > 0 ? r->memory : 0;
    int64_t req_m = r->mcpus > 0 ? r->mcpus : 0;
    struct weighed *w = want == 1 ? NULL : malloc(n * sizeof(*w));
    if (want != 1 && w == NULL)
        return -2;
    struct weighed best = {0};
    size_t kept = 0;
    uint64_t ties = 0; /* nodes equal to best but for their index (reservoir sampling) */
    for (size_t i = 0; i < n; i++) {
        const struct sched_node *node = &d->v->nodes[cand[i]];
        int64_t total_mem = sat_add(node->memory, pct_of(node->memory, pct));
        int64_t total_m = sat_mul(sat_add(node->cpus, pct_of(node->cpus, pct)), 1000);
        if (total_mem < req_mem || total_m < req_m)
            continue;
        int64_t cpu_score = 100, mem_score = 100;
        if (req_m > 0)
            cpu_score = load_pct(node->used_mcpus, req_m, total_m);
        if (req_mem > 0)
            mem_score = load_pct(node->used_memory, req_mem, total_mem);
        if (cpu_score > 100 || mem_score > 100)
            continue;
        struct weighed x = {cpu_score + mem_score + factor * node->health, node->ncontainers,
                            cand[i]};
        if (w) {
            w[kept] = x;
        } else if (kept == 0 || cmp(&x, &best) < 0) {
            /* x sorts first; if only its index put it there, it ties with best */
            bool tie = kept > 0 && x.weight == best.weight && x.containers == best.containers;
            if (tie && c->random) {
                ties++;
                if (c->random(c->random_arg) % ties == 0)
                    best = x;
            } else {
                best = x;
                ties = 1;
            }
        } else if (c->random && x.weight == best.weight && x.containers == best.containers) {
            ties++;
            if (c->random(c->random_arg) % ties == 0)
                best = x;
        }
        kept++;
    }
    if (kept == 0) {
        free(w);
        return -1;
    }
    if (w) {
        qsort(w, kept, sizeof(*w), cmp);
        if (want > kept)
            want = kept;
    } else {
        want = 1;
    }
    out->ranked = malloc(want * sizeof(size_t));
    if (out->ranked == NULL) {
        free(w);
        return -2;
    }
    for (size_t i = 0; i < want; i++)
        out->ranked[i] = w ? w[i].index : best.index;
    out->nranked = want;
    free(w);
    return 0;
}

/* ---- the decision ------------------------------------------------------------------------- */

/* Runs filters from..nfilters over a[0..*n) and then the strategy: one pass of classic's
 * selectNodesForContainer. 0, -1 (out->error set; *failed = the failing filter's index, or
 * nfilters for an empty list or the strategy), -2 out of memory. *a and *b swap as filters
 * run. When saved is not NULL, the list that enters filter save_at is copied there. */
static int one_pass(struct decision *d, bool soft, size_t from, size_t **a, size_t **b, size_t *n,
                    size_t save_at, size_t *saved, size_t *nsaved, size_t want,
                    struct sched_result *out, size_t *failed)
{
    for (size_t k = from; k < d->c->nfilters; k++) {
        if (saved && k == save_at) {
            memcpy(saved, *a, *n * sizeof(size_t));
            *nsaved = *n;
        }
        enum sched_filter f = d->c->filters[k];
        ssize_t m;
        switch (f) {
        case SCHED_F_HEALTH:
            m = f_health(d, *a, *n, *b);
            break;
        case SCHED_F_PORT:
            m = f_port(d, *a, *n, *b);
            break;
        case SCHED_F_SLOTS:
            m = f_slots(d, *a, *n, *b);
            break;
        case SCHED_F_DEPENDENCY:
            m = f_dependency(d, *a, *n, *b);
            break;
        default:
            m = f_exprs(d, f, soft, *a, *n, *b);
            break;
        }
        if (m < 0) {
            *failed = k;
            fail_filters(d, k, out);
            return out->error ? -1 : -2;
        }
        *n = (size_t)m;
        size_t *t = *a;
        *a = *b;
        *b = t;
    }
    *failed = d->c->nfilters;
    if (*n == 0) {
        fail(out, "No nodes available in the cluster");
        return out->error ? -1 : -2;
    }
    int rc = rank(d, *a, *n, want, out);
    if (rc == -1) {
        fail(out, "no resources available to schedule container");
        return out->error ? -1 : -2;
    }
    return rc;
}

/* The index of the first configured filter with a soft expression, or nfilters. */
static size_t first_soft(const struct decision *d)
{
    for (size_t k = 0; k < d->c->nfilters; k++) {
        enum sched_filter f = d->c->filters[k];
        if (f != SCHED_F_AFFINITY && f != SCHED_F_CONSTRAINT && f != SCHED_F_WHITELIST)
            continue;
        for (size_t i = 0; i < d->nex[f]; i++)
            if (d->ex[f][i].soft)
                return k;
    }
    return d->c->nfilters;
}

int sched_select(const struct sched_config *c, const struct sched_view *v,
                 const struct sched_request *req, size_t want, struct sched_result *out)
{
    memset(out, 0, sizeof(*out));
    struct decision d = {.c = c, .v = v, .r = req, .re_budget = RE_MAX_TOTAL};
    size_t cap = v->nnodes ? v->nnodes : 1;
    size_t *a = malloc(cap * sizeof(size_t)), *b = malloc(cap * sizeof(size_t)), *saved = NULL;
    int rc = -2;
    if (a && b && decision_prepare(&d) == 0) {
        size_t n = v->nnodes, nsaved = 0, failed = 0;
        for (size_t i = 0; i < n; i++)
            a[i] = i;
        size_t soft_at = first_soft(&d);
        if (soft_at < c->nfilters)
            saved = malloc(cap * sizeof(size_t));
        if (soft_at == c->nfilters || saved) {
            rc = one_pass(&d, true, 0, &a, &b, &n, soft_at, saved, &nsaved, want, out, &failed);
            /* Classic ran the whole selection again without the soft expressions. Filters
             * before the first soft one would give the same list (or the same error), so the
             * second pass starts there, from the list that entered it the first time. */
            if (rc == -1 && soft_at < c->nfilters && failed >= soft_at) {
                sched_result_clear(out);
                memcpy(a, saved, nsaved * sizeof(size_t));
                n = nsaved;
                rc = one_pass(&d, false, soft_at, &a, &b, &n, c->nfilters, NULL, NULL, want, out,
                              &failed);
            }
        }
    }
    decision_clear(&d);
    free(a);
    free(b);
    free(saved);
    if (rc == -2) {
        sched_result_clear(out);
        fail(out, "out of memory");
        rc = -1;
    }
    return rc;
}

void sched_result_clear(struct sched_result *out)
{
    free(out->ranked);
    free(out->error);
    memset(out, 0, sizeof(*out));
}

/* ---- jansson: an engine into the view ------------------------------------------------------ */

struct scratch {
    struct sched_kv *kv;
    size_t nkv, kvcap;
    const char **names;
    size_t nnames, namecap;
    struct sched_port *ports;
    size_t nports, portcap;
    const char **exposed;
    size_t nexposed, expcap;
    char (*nums)[16]; /* port numbers printed, for ports[] */
    size_t nnums, numcap;
    char **owned; /* label keys cut out of "k=v" texts */
    size_t nowned, ownedcap;
};

static void scratch_free(struct scratch *s)
{
    for (size_t i = 0; i < s->nowned; i++)
        free(s->owned[i]);
    free(s->owned);
    free(s->kv);
    free(s->names);
    free(s->ports);
    free(s->exposed);
    free(s->nums);
}

static int push_kv(struct scratch *s, const char *k, const char *v)
{
    if (grow(&s->kv, &s->kvcap, s->nkv + 1, sizeof(*s->kv)) < 0)
        return -1;
    s->kv[s->nkv++] = (struct sched_kv){k, v};
    return 0;
}

static int push_port(struct scratch *s, const char *ip, const char *port, const char *proto)
{
    if (grow(&s->ports, &s->portcap, s->nports + 1, sizeof(*s->ports)) < 0)
        return -1;
    s->ports[s->nports++] = (struct sched_port){ip ? ip : "", port ? port : "", proto};
    return 0;
}

static int push_exposed(struct scratch *s, const char *e)
{
    if (grow(&s->exposed, &s->expcap, s->nexposed + 1, sizeof(*s->exposed)) < 0)
        return -1;
    s->exposed[s->nexposed++] = e;
    return 0;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* An engine's number (or a body's, once sched_request_from_body accepted it): an integer, or
 * a real truncated, saturating outside int64_t (a cast would be undefined); else 0. */
static int64_t jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (!json_is_real(v))
        return 0;
    double d = json_real_value(v);
    if (d >= 9223372036854775808.0) /* 2^63 */
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return d == d ? (int64_t)d : 0;
}

/* "80/tcp" → the protocol part ("tcp" if none). Returns a pointer into key or a literal. */
static const char *proto_part(const char *key)
{
    const char *slash = strchr(key, '/');
    return slash ? slash + 1 : "tcp";
}

static bool has_kv(const struct scratch *s, const char *key, size_t klen)
{
    for (size_t i = 0; i < s->nkv; i++)
        if (strlen(s->kv[i].key) == klen && strncmp(s->kv[i].key, key, klen) == 0)
            return true;
    return false;
}

/* Adds "k=v" labels from list (strings) unless the key is "node", empty or already there.
 * Keys are cut out of the text into copies the scratch owns. */
static int push_label_texts(struct scratch *s, const char *const *texts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *t = texts[i];
        const char *eq = t ? strchr(t, '=') : NULL;
        if (eq == NULL || eq == t)
            continue;
        size_t klen = (size_t)(eq - t);
        if ((klen == 4 && strncmp(t, "node", 4) == 0) || has_kv(s, t, klen))
            continue;
        if (grow(&s->owned, &s->ownedcap, s->nowned + 1, sizeof(*s->owned)) < 0)
            return -1;
        char *key = strndup(t, klen);
        if (key == NULL)
            return -1;
        s->owned[s->nowned++] = key;
        if (push_kv(s, key, eq + 1) < 0)
            return -1;
    }
    return 0;
}

static int add_engine_container(struct sched_view *v, size_t idx, struct scratch *s,
                                const json_t *c, int64_t ncpu)
{
    s->nkv = s->nnames = s->nports = s->nexposed = s->nnums = 0;
    json_t *names = json_object_get(c, "Names");
    size_t i;
    json_t *x;
    json_array_foreach(names, i, x)
    {
        const char *nm = json_string_value(x);
        if (nm == NULL)
            continue;
        if (grow(&s->names, &s->namecap, s->nnames + 1, sizeof(*s->names)) < 0)
            return -1;
        s->names[s->nnames++] = nm[0] == '/' ? nm + 1 : nm;
    }
    const char *key;
    json_t *labels = json_object_get(c, "Labels");
    json_object_foreach(labels, key, x)
    {
        if (json_is_string(x) && push_kv(s, key, json_string_value(x)) < 0)
            return -1;
    }
    json_t *hc = json_object_get(c, "HostConfig");
    bool hostnet = strcmp(jstr(hc, "NetworkMode"), "host") == 0;
    json_t *pb = json_object_get(hc, "PortBindings");
    json_object_foreach(pb, key, x)
    {
        size_t k;
        json_t *b;
        json_array_foreach(x, k, b)
        {
            if (push_port(s, jstr(b, "HostIp"), jstr(b, "HostPort"), proto_part(key)) < 0)
                return -1;
        }
        if (hostnet && push_exposed(s, key) < 0)
            return -1;
    }
    /* The listing's Ports: what is published now (random host ports included). */
    json_t *ports = json_object_get(c, "Ports");
    size_t nports = json_array_size(ports);
    if (grow(&s->nums, &s->numcap, nports, sizeof(*s->nums)) < 0)
        return -1;
    json_array_foreach(ports, i, x)
    {
        int64_t pub = jint(x, "PublicPort"), priv = jint(x, "PrivatePort");
        const char *type = jstr(x, "Type");
        if (pub > 0 && pub <= 65535) {
            char *num = s->nums[s->nnums++];
            snprintf(num, sizeof(*s->nums), "%d", (int)pub);
            if (push_port(s, jstr(x, "IP"), num, type[0] ? type : "tcp") < 0)
                return -1;
        } else if (hostnet && priv > 0 && priv <= 65535 && s->nnums < nports) {
            char *num = s->nums[s->nnums++];
            snprintf(num, sizeof(*s->nums), "%d/%s", (int)priv, type[0] ? type : "tcp");
            if (push_exposed(s, num) < 0)
                return -1;
        }
    }
    if (hostnet) {
        json_t *exp = json_object_get(c, "ExposedPorts");
        if (!json_is_object(exp))
            exp = json_object_get(json_object_get(c, "Config"), "ExposedPorts");
        json_object_foreach(exp, key, x)
        {
            if (push_exposed(s, key) < 0)
                return -1;
        }
    }
    struct sched_container sc = {
        .id = jstr(c, "Id"),
        .names = s->names,
        .nnames = s->nnames,
        .swarm_id = label_of(s->kv, s->nkv, SWARM_LABEL_ID),
        .image = jstr(c, "Image"),
        .image_id = jstr(c, "ImageID"),
        .labels = s->kv,
        .nlabels = s->nkv,
        .memory = jint(hc, "Memory"),
        .mcpus = sched_mcpus_from_engine(jint(hc, "CpuShares"), jint(hc, "NanoCpus"), ncpu),
        .host_network = hostnet,
        .ports = s->ports,
        .nports = s->nports,
        .exposed = s->exposed,
        .nexposed = s->nexposed,
    };
    return sched_node_add_container(v, idx, &sc);
}

/* Reads e into node idx, or into a new node when idx < 0. The node's index, or -1. */
static long engine_fill(struct sched_view *v, long idx, const struct engine *e,
                        const char *const *extra_labels, size_t nextra)
{
    struct scratch s = {0};
    const json_t *info = e->info;
    int64_t ncpu = jint(info, "NCPU"), mem = jint(info, "MemTotal");
    int health = e->healthy && e->ready && e->conn != NULL && ncpu > 0 && mem > 0 ? 100 : 0;
    static const char *const std[][2] = {{"storagedriver", "Driver"},
                                         {"kernelversion", "KernelVersion"},
                                         {"operatingsystem", "OperatingSystem"},
                                         {"ostype", "OSType"}};
    long rc = -1, given = idx;
    for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++) {
        const char *val = jstr(info, std[i][1]);
        if (val[0] && push_kv(&s, std[i][0], val) < 0)
            goto out;
    }
    if (push_label_texts(&s, extra_labels, extra_labels ? nextra : 0) < 0)
        goto out;
    json_t *labels = json_object_get(info, "Labels");
    for (size_t i = 0; i < json_array_size(labels); i++) {
        const char *t = json_string_value(json_array_get(labels, i));
        if (t && push_label_texts(&s, &t, 1) < 0)
            goto out;
    }
    if (idx < 0)
        idx = sched_view_add_node(v, e->name, e->id, health, ncpu, mem, s.kv, s.nkv, (void *)e);
    else if (node_fill(v, &v->nodes[idx], e->name, e->id, health, ncpu, mem, s.kv, s.nkv,
                       (void *)e) < 0)
        idx = -1;
    if (idx < 0)
        goto out;
    size_t i;
    json_t *x;
    json_array_foreach(e->containers, i, x)
    {
        if (add_engine_container(v, (size_t)idx, &s, x, ncpu) < 0)
            goto out;
    }
    json_array_foreach(e->images, i, x)
    {
        s.nnames = 0;
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(x, "RepoTags"), k, t)
        {
            const char *tag = json_string_value(t);
            if (tag == NULL)
                continue;
            if (grow(&s.names, &s.namecap, s.nnames + 1, sizeof(*s.names)) < 0)
                goto out;
            s.names[s.nnames++] = tag;
        }
        if (sched_node_add_image(v, (size_t)idx, jstr(x, "Id"), s.names, s.nnames) < 0)
            goto out;
    }
    rc = idx;
out:
    if (rc < 0 && (idx >= 0 || given >= 0))
        v->nodes[idx >= 0 ? idx : given].health = 0; /* half read: never chosen */
    scratch_free(&s);
    return rc;
}

long sched_view_add_engine(struct sched_view *v, const struct engine *e,
                           const char *const *extra_labels, size_t nextra)
{
    return engine_fill(v, -1, e, extra_labels, nextra);
}

int sched_view_update_engine(struct sched_view *v, size_t i, const struct engine *e,
                             const char *const *extra_labels, size_t nextra)
{
    if (i >= v->nnodes)
        return -1;
    return engine_fill(v, (long)i, e, extra_labels, nextra) < 0 ? -1 : 0;
}

long sched_view_insert_engine(struct sched_view *v, size_t at, const struct engine *e,
                              const char *const *extra_labels, size_t nextra)
{
    if (at > v->nnodes)
        return -1;
    size_t before = v->nnodes;
    long i = engine_fill(v, -1, e, extra_labels, nextra);
    if (v->nnodes == before)
        return -1; /* no node was added */
    /* The new node is the last one: move it to at. */
    struct sched_node tmp = v->nodes[v->nnodes - 1];
    memmove(&v->nodes[at + 1], &v->nodes[at], (v->nnodes - 1 - at) * sizeof(*v->nodes));
    v->nodes[at] = tmp;
    return i < 0 ? -1 : (long)at;
}

/* ---- jansson: a create body into a request ---------------------------------------------- */

struct strlist {
    const char **v;
    size_t n, cap;
};

struct request_priv {
    struct arena arena;
    struct strlist lists[SCHED_F_COUNT]; /* constraint, affinity, whitelist */
    struct strlist reschedule, exposed, volumes_from, links;
    struct sched_kv *labels;
    size_t nlabels, lcap;
    struct sched_port *ports;
    size_t nports, pcap;
};

static int list_push(struct strlist *l, struct arena *a, const char *s)
{
    if (grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
        return -1;
    const char *c = arena_str(a, s);
    if (c == NULL)
        return -1;
    l->v[l->n++] = c;
    return 0;
}

void sched_request_free(struct sched_request *r)
{
    if (r == NULL)
        return;
    struct request_priv *p = r->priv;
    if (p) {
        for (int k = 0; k < SCHED_F_COUNT; k++)
            free(p->lists[k].v);
        free(p->reschedule.v);
        free(p->exposed.v);
        free(p->volumes_from.v);
        free(p->links.v);
        free(p->labels);
        free(p->ports);
        arena_free(&p->arena);
        free(p);
    }
    free(r);
}

static void sync_lists(struct sched_request *r)
{
    struct request_priv *p = r->priv;
    r->constraints = p->lists[SCHED_F_CONSTRAINT].v;
    r->nconstraints = p->lists[SCHED_F_CONSTRAINT].n;
    r->affinities = p->lists[SCHED_F_AFFINITY].v;
    r->naffinities = p->lists[SCHED_F_AFFINITY].n;
    r->whitelists = p->lists[SCHED_F_WHITELIST].v;
    r->nwhitelists = p->lists[SCHED_F_WHITELIST].n;
}

int sched_request_add_expr(struct sched_request *r, enum sched_filter kind, const char *expr)
{
    struct request_priv *p = r ? r->priv : NULL;
    if (p == NULL || expr == NULL ||
        !(kind == SCHED_F_CONSTRAINT || kind == SCHED_F_AFFINITY || kind == SCHED_F_WHITELIST))
        return -1;
    if (list_push(&p->lists[kind], &p->arena, expr) < 0)
        return -1;
    sync_lists(r);
    return 0;
}

/* The JSON-array label (classic's extractExprs): string items; anything else is ignored. */
static int label_exprs(const json_t *labels, const char *key, struct strlist *l, struct arena *a)
{
    const char *text = json_string_value(json_object_get(labels, key));
    if (text == NULL)
        return 0;
    json_t *arr = json_loads(text, JSON_DECODE_ANY, NULL);
    int rc = 0;
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (json_is_string(x) && list_push(l, a, json_string_value(x)) < 0)
            rc = -1;
    }
    json_decref(arr);
    return rc;
}

static int set_label_list(json_t *labels, const char *key, const struct strlist *l)
{
    if (l->n == 0)
        return 0;
    json_t *arr = json_array();
    if (arr == NULL)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        if (json_array_append_new(arr, json_string(l->v[i])) < 0) {
            json_decref(arr);
            return -1;
        }
    char *text = json_dumps(arr, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(arr);
    if (text == NULL)
        return -1;
    int rc = json_object_set_new(labels, key, json_string(text));
    free(text);
    return rc;
}

/* A field that must be an object/array/string when present (null counts as absent). */
static bool bad_type(const json_t *v, json_type want)
{
    return v != NULL && !json_is_null(v) && json_typeof(v) != want;
}

static int64_t nonneg(int64_t x)
{
    return x > 0 ? x : 0;
}

/* CpuShares N reserves N CPUs, N * 1000 milli-CPUs, and becomes about N * 1024 shares for the
 * chosen engine: above 2^40 CPUs it is no reservation any machine can hold, and refusing it
 * keeps that arithmetic exact. NanoCpus needs no bound (any int64_t is at most 9.2e12
 * milli-CPUs), nor Memory (bytes; dockerd accepts any). */
#define MAX_CPU_SHARES (1LL << 40)

/* The create body's reservation fields, read as Go's encoding/json read them into classic's
 * (and dockerd's) int64_t fields: absent or null is 0, an integer is itself, and anything else
 * (1.5, 1e300, "1g") is refused ("cannot unmarshal number 1.5 into ... of type int64", a 400).
 * NULL, or the error text's reason with *bad the field's name. */
static const char *body_reservations(const json_t *body, const json_t *hc, int64_t v[5],
                                     const char **bad)
{
    static const struct {
        bool in_hc;
        const char *key, *name;
        int64_t max;
    } fields[5] = {
        {true, "Memory", "HostConfig.Memory", INT64_MAX},
        {true, "CpuShares", "HostConfig.CpuShares", MAX_CPU_SHARES},
        {true, "NanoCpus", "HostConfig.NanoCpus", INT64_MAX},
        {false, "Memory", "Memory", INT64_MAX},
        {false, "CpuShares", "CpuShares", MAX_CPU_SHARES},
    };
    for (int i = 0; i < 5; i++) {
        const json_t *x = json_object_get(fields[i].in_hc ? hc : body, fields[i].key);
        *bad = fields[i].name;
        v[i] = 0;
        if (x == NULL || json_is_null(x))
            continue;
        if (!json_is_integer(x))
            return "has the wrong type";
        v[i] = (int64_t)json_integer_value(x);
        if (v[i] > fields[i].max)
            return "is out of range";
    }
    *bad = NULL;
    return NULL;
}

int sched_request_from_body(json_t *body, const char *name, const char *swarm_id,
                            struct sched_request **out, int *status, char *err, size_t errlen)
{
    *out = NULL;
    *status = 400;
    if (!json_is_object(body)) {
        snprintf(err, errlen, "the container config is not a JSON object");
        return -1;
    }
    json_t *env = json_object_get(body, "Env");
    json_t *labels = json_object_get(body, "Labels");
    json_t *hc = json_object_get(body, "HostConfig");
    json_t *exposed = json_object_get(body, "ExposedPorts");
    const char *bad = bad_type(env, JSON_ARRAY)                               ? "Env"
                      : bad_type(labels, JSON_OBJECT)                         ? "Labels"
                      : bad_type(hc, JSON_OBJECT)                             ? "HostConfig"
                      : bad_type(exposed, JSON_OBJECT)                        ? "ExposedPorts"
                      : bad_type(json_object_get(body, "Image"), JSON_STRING) ? "Image"
                                                                              : NULL;
    json_t *pb = json_object_get(hc, "PortBindings");
    json_t *links = json_object_get(hc, "Links");
    json_t *vfrom = json_object_get(hc, "VolumesFrom");
    if (bad == NULL)
        bad = bad_type(pb, JSON_OBJECT)     ? "HostConfig.PortBindings"
              : bad_type(links, JSON_ARRAY) ? "HostConfig.Links"
              : bad_type(vfrom, JSON_ARRAY) ? "HostConfig.VolumesFrom"
              : bad_type(json_object_get(hc, "NetworkMode"), JSON_STRING) ? "HostConfig.NetworkMode"
                                                                          : NULL;
    const char *why = "has the wrong type";
    int64_t res_v[5]; /* HostConfig's Memory, CpuShares, NanoCpus; the top-level two */
    if (bad == NULL)
        why = body_reservations(body, hc, res_v, &bad);
    if (bad) {
        snprintf(err, errlen, "invalid container config: \"%s\" %s", bad, why);
        return -1;
    }
    struct sched_request *r = calloc(1, sizeof(*r));
    struct request_priv *p = calloc(1, sizeof(*p));
    if (r == NULL || p == NULL) {
        free(r);
        free(p);
        goto oom;
    }
    r->priv = p;
    struct arena *a = &p->arena;
    struct strlist *cons = &p->lists[SCHED_F_CONSTRAINT], *aff = &p->lists[SCHED_F_AFFINITY],
                   *wl = &p->lists[SCHED_F_WHITELIST], *res = &p->reschedule;

    /* Classic's BuildContainerConfig: the labels' lists first, then Env's entries. */
    if (label_exprs(labels, "com.docker.swarm.affinities", aff, a) < 0 ||
        label_exprs(labels, "com.docker.swarm.constraints", cons, a) < 0 ||
        label_exprs(labels, "com.docker.swarm.whitelists", wl, a) < 0 ||
        label_exprs(labels, "com.docker.swarm.reschedule-policies", res, a) < 0)
        goto oom_r;
    for (size_t i = 0; i < json_array_size(env);) {
        const char *s = json_string_value(json_array_get(env, i));
        const char *colon = s ? strchr(s, ':') : NULL;
        struct strlist *l = NULL;
        if (colon) {
            size_t k = (size_t)(colon - s);
            if (k == 8 && strncmp(s, "affinity", 8) == 0)
                l = aff;
            else if (k == 10 && strncmp(s, "constraint", 10) == 0)
                l = cons;
            else if (k == 10 && strncmp(s, "reschedule", 10) == 0)
                l = res;
            else if (k == 9 && strncmp(s, "whitelist", 9) == 0)
                l = wl;
        }
        if (l == NULL) {
            i++;
            continue;
        }
        if (list_push(l, a, colon + 1) < 0)
            goto oom_r;
        json_array_remove(env, i);
    }
    if (aff->n || cons->n || res->n || wl->n || (swarm_id && swarm_id[0])) {
        if (!json_is_object(labels)) {
            labels = json_object();
            if (labels == NULL || json_object_set_new(body, "Labels", labels) < 0)
                goto oom_r;
        }
        if (set_label_list(labels, "com.docker.swarm.affinities", aff) < 0 ||
            set_label_list(labels, "com.docker.swarm.constraints", cons) < 0 ||
            set_label_list(labels, "com.docker.swarm.reschedule-policies", res) < 0 ||
            set_label_list(labels, "com.docker.swarm.whitelists", wl) < 0)
            goto oom_r;
        if (swarm_id && swarm_id[0] && !json_is_string(json_object_get(labels, SWARM_LABEL_ID)) &&
            json_object_set_new(labels, SWARM_LABEL_ID, json_string(swarm_id)) < 0)
            goto oom_r;
    }
    /* Classic's Validate. */
    if (res->n > 1) {
        *status = 500;
        snprintf(err, errlen, "too many reschedule policies");
        sched_request_free(r);
        return -1;
    }
    if (res->n == 1) {
        if (strcmp(res->v[0], "on-node-failure") == 0) {
            r->reschedule = SCHED_RESCHEDULE_ON_NODE_FAILURE;
        } else if (strcmp(res->v[0], "off") != 0) {
            *status = 500;
            snprintf(err, errlen, "invalid reschedule policy: %s", res->v[0]);
            sched_request_free(r);
            return -1;
        }
    }
    sync_lists(r);

    if (name && name[0] == '/')
        name++;
    r->name = arena_str(a, name);
    r->image = arena_str(a, jstr(body, "Image"));
    r->swarm_id = arena_str(a, jstr(labels, SWARM_LABEL_ID));
    r->network_mode = arena_str(a, jstr(hc, "NetworkMode"));
    if (!r->name || !r->image || !r->swarm_id || !r->network_mode)
        goto oom_r;
    const char *key;
    json_t *x;
    json_object_foreach(labels, key, x)
    {
        if (!json_is_string(x))
            continue;
        if (grow(&p->labels, &p->lcap, p->nlabels + 1, sizeof(*p->labels)) < 0)
            goto oom_r;
        struct sched_kv kv = {arena_str(a, key), arena_str(a, json_string_value(x))};
        if (!kv.key || !kv.value)
            goto oom_r;
        p->labels[p->nlabels++] = kv;
    }
    r->labels = p->labels;
    r->nlabels = p->nlabels;

    /* Reservations; an old API's top-level Memory / CpuShares win when set (classic's
     * ConsolidateResourceFields). */
    int64_t memory = res_v[3] != 0 ? res_v[3] : res_v[0];
    int64_t shares = res_v[4] != 0 ? res_v[4] : res_v[1], nano = nonneg(res_v[2]);
    r->memory = nonneg(memory);
    int64_t by_shares = nonneg(shares) * 1000, /* at most 2^40 * 1000 */
        by_nano = nano / 1000000 + (nano % 1000000 != 0);
    r->mcpus = by_shares > by_nano ? by_shares : by_nano;

    json_object_foreach(pb, key, x)
    {
        size_t i;
        json_t *b;
        json_array_foreach(x, i, b)
        {
            if (grow(&p->ports, &p->pcap, p->nports + 1, sizeof(*p->ports)) < 0)
                goto oom_r;
            struct sched_port port = {arena_str(a, jstr(b, "HostIp")),
                                      arena_str(a, jstr(b, "HostPort")),
                                      arena_str(a, proto_part(key))};
            if (!port.host_ip || !port.host_port || !port.proto)
                goto oom_r;
            p->ports[p->nports++] = port;
        }
    }
    r->ports = p->ports;
    r->nports = p->nports;
    json_object_foreach(exposed, key, x)
    {
        if (list_push(&p->exposed, a, key) < 0)
            goto oom_r;
    }
    r->exposed = p->exposed.v;
    r->nexposed = p->exposed.n;
    size_t i;
    json_array_foreach(vfrom, i, x)
    {
        if (json_is_string(x) && list_push(&p->volumes_from, a, json_string_value(x)) < 0)
            goto oom_r;
    }
    json_array_foreach(links, i, x)
    {
        if (json_is_string(x) && list_push(&p->links, a, json_string_value(x)) < 0)
            goto oom_r;
    }
    r->volumes_from = p->volumes_from.v;
    r->nvolumes_from = p->volumes_from.n;
    r->links = p->links.v;
    r->nlinks = p->links.n;
    *out = r;
    *status = 0;
    return 0;
oom_r:
    sched_request_free(r);
oom:
    *status = 500;
    snprintf(err, errlen, "swarm: out of memory");
    return -1;
}

void sched_body_set_cpu_shares(json_t *body, int64_t ncpu)
{
    if (!json_is_object(body) || ncpu <= 0)
        return;
    json_t *hc = json_object_get(body, "HostConfig");
    json_t *targets[2] = {json_is_object(hc) ? hc : NULL, body};
    for (int i = 0; i < 2; i++) {
        if (targets[i] == NULL)
            continue;
        int64_t n = jint(targets[i], "CpuShares");
        if (n <= 0 || n > INT64_MAX / 1024)
            continue; /* too big: a body sched_request_from_body refused (MAX_CPU_SHARES) */
        int64_t shares = n * 1024;
        json_object_set_new(targets[i], "CpuShares",
                            json_integer(shares / ncpu + (shares % ncpu != 0)));
    }
}
