/*
 * keyfile — the state dir's key files: text formats (pure, total parsers) and the two file
 * operations every key file goes through (atomic write, checked read). Formats in keyfile.h.
 */
#include "crypto/keyfile.h"
#include "crypto/swcrypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYRING_MAGIC "swarm-keyring"
#define KEYPAIR_MAGIC "swarm-keypair"
#define FORMAT_VERSION "1"
#define HEX_CHARS 64
#define MAX_FIELDS 4

/* ---- parsing helpers ------------------------------------------------------------------------ */

struct lines {
    const char *p, *end;
    int lineno;
};

/* The next line (without its '\n'); 0 at the end of the text. */
static int next_line(struct lines *ls, const char **line, size_t *len)
{
    if (ls->p >= ls->end)
        return 0;
    const char *nl = memchr(ls->p, '\n', (size_t)(ls->end - ls->p));
    const char *stop = nl ? nl : ls->end;
    *line = ls->p;
    *len = (size_t)(stop - ls->p);
    ls->p = nl ? nl + 1 : ls->end;
    ls->lineno++;
    return 1;
}

struct fields {
    const char *f[MAX_FIELDS];
    size_t len[MAX_FIELDS];
    int n;
};

/* Splits at single spaces. -1 for an empty field (leading, trailing or double space), a byte
 * outside printable ASCII, or more than MAX_FIELDS fields. */
static int split(const char *line, size_t len, struct fields *fs)
{
    fs->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && (line[i] < 0x21 || line[i] > 0x7e) && line[i] != ' ')
            return -1;
        if (i == len || line[i] == ' ') {
            if (i == start || fs->n == MAX_FIELDS)
                return -1;
            fs->f[fs->n] = line + start;
            fs->len[fs->n] = i - start;
            fs->n++;
            start = i + 1;
        }
    }
    return 0;
}

static int field_is(const struct fields *fs, int i, const char *word)
{
    return i < fs->n && fs->len[i] == strlen(word) && memcmp(fs->f[i], word, fs->len[i]) == 0;
}

/* Decimal 0..255, no sign, no leading zero. */
static int parse_id(const char *s, size_t len, uint8_t *out)
{
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 255)
        return -1;
    *out = (uint8_t)v;
    return 0;
}

static int parse_hex32(const char *s, size_t len, uint8_t out[32])
{
    if (len != HEX_CHARS)
        return -1;
    size_t binlen = 0;
    const char *end = NULL;
    if (sodium_hex2bin(out, 32, s, len, NULL, &binlen, &end) != 0 || binlen != 32 ||
        end != s + len) {
        sodium_memzero(out, 32);
        return -1;
    }
    return 0;
}

/* Checks the "MAGIC 1" first line. */
static int parse_header(struct lines *ls, const char *magic, const char *what, char *err,
                        size_t errlen)
{
    const char *line;
    size_t len;
    struct fields fs;
    if (!next_line(ls, &line, &len) || split(line, len, &fs) != 0 || !field_is(&fs, 0, magic) ||
        fs.n != 2) {
        swcrypto_err(err, errlen, "line 1: not a %s file (want \"%s %s\")", what, magic,
                     FORMAT_VERSION);
        return -1;
    }
    if (!field_is(&fs, 1, FORMAT_VERSION)) {
        swcrypto_err(err, errlen, "line 1: unsupported %s format version \"%.*s\" (want %s)", what,
                     (int)(fs.len[1] > 16 ? 16 : fs.len[1]), fs.f[1], FORMAT_VERSION);
        return -1;
    }
    return 0;
}

/* ---- keyring -------------------------------------------------------------------------------- */

int keyring_format(const struct keyring *kr, char *buf, size_t cap, size_t *len)
{
    uint8_t ids[KEYRING_MAX_KEYS], primary;
    size_t n = keyring_ids(kr, ids);
    if (n == 0 || keyring_primary(kr, &primary, NULL) != 0)
        return -1;
    size_t off = 0;
    int w = snprintf(buf, cap, "%s %s\n", KEYRING_MAGIC, FORMAT_VERSION);
    if (w < 0 || (size_t)w >= cap)
        return -1;
    off = (size_t)w;
    char hex[HEX_CHARS + 1];
    for (size_t i = 0; i < n; i++) {
        sodium_bin2hex(hex, sizeof(hex), keyring_lookup(kr, ids[i]), KEYRING_KEY_BYTES);
        w = snprintf(buf + off, cap - off, "key %u %s%s\n", (unsigned)ids[i], hex,
                     ids[i] == primary ? " primary" : "");
        if (w < 0 || (size_t)w >= cap - off) {
            sodium_memzero(hex, sizeof(hex));
            sodium_memzero(buf, cap);
            return -1;
        }
        off += (size_t)w;
    }
    sodium_memzero(hex, sizeof(hex));
    *len = off;
    return 0;
}

int keyring_parse(struct keyring *kr, const char *text, size_t len, char *err, size_t errlen)
{
    if (keyring_count(kr) != 0) {
        swcrypto_err(err, errlen, "keyring_parse needs an empty keyring");
        return -1;
    }
    if (len > KEYFILE_MAX_BYTES) {
        swcrypto_err(err, errlen, "too large (%zu bytes, max %d)", len, KEYFILE_MAX_BYTES);
        return -1;
    }
    struct lines ls = {text, text + len, 0};
    if (parse_header(&ls, KEYRING_MAGIC, "keyring", err, errlen) != 0)
        return -1;

    const char *line;
    size_t linelen;
    int primary_line = 0;
    uint8_t primary = 0;
    while (next_line(&ls, &line, &linelen)) {
        struct fields fs;
        uint8_t id, key[KEYRING_KEY_BYTES];
        if (split(line, linelen, &fs) != 0 || !field_is(&fs, 0, "key") || fs.n < 3 ||
            (fs.n == 4 && !field_is(&fs, 3, "primary"))) {
            swcrypto_err(err, errlen, "line %d: want \"key ID HEX [primary]\"", ls.lineno);
            goto fail;
        }
        if (parse_id(fs.f[1], fs.len[1], &id) != 0) {
            swcrypto_err(err, errlen, "line %d: key id must be a number from 0 to 255", ls.lineno);
            goto fail;
        }
        if (parse_hex32(fs.f[2], fs.len[2], key) != 0) {
            swcrypto_err(err, errlen, "line %d: key %u must be %d hex digits", ls.lineno,
                         (unsigned)id, HEX_CHARS);
            goto fail;
        }
        char why[128];
        int rc = keyring_install(kr, id, key, why, sizeof(why));
        sodium_memzero(key, sizeof(key));
        if (rc != 0) {
            swcrypto_err(err, errlen, "line %d: %s", ls.lineno, why);
            goto fail;
        }
        if (fs.n == 4) {
            if (primary_line) {
                swcrypto_err(err, errlen, "line %d: a second primary key (line %d is primary)",
                             ls.lineno, primary_line);
                goto fail;
            }
            primary_line = ls.lineno;
            primary = id;
        }
    }
    if (keyring_count(kr) == 0) {
        swcrypto_err(err, errlen, "no keys");
        goto fail;
    }
    if (!primary_line) {
        swcrypto_err(err, errlen, "no key is marked primary");
        goto fail;
    }
    if (keyring_use(kr, primary, err, errlen) != 0)
        goto fail;
    return 0;
fail:
    keyring_clear(kr);
    return -1;
}

/* ---- keypair -------------------------------------------------------------------------------- */

int keypair_format(const struct keypair *kp, char *buf, size_t cap, size_t *len)
{
    char pk[HEX_CHARS + 1], sk[HEX_CHARS + 1];
    sodium_bin2hex(pk, sizeof(pk), kp->pk, KEYPAIR_BYTES);
    sodium_bin2hex(sk, sizeof(sk), kp->sk, KEYPAIR_BYTES);
    int w =
        snprintf(buf, cap, "%s %s\npublic %s\nsecret %s\n", KEYPAIR_MAGIC, FORMAT_VERSION, pk, sk);
    sodium_memzero(sk, sizeof(sk));
    if (w < 0 || (size_t)w >= cap) {
        sodium_memzero(buf, cap);
        return -1;
    }
    *len = (size_t)w;
    return 0;
}

int keypair_parse(struct keypair *kp, const char *text, size_t len, char *err, size_t errlen)
{
    keypair_wipe(kp);
    if (len > KEYFILE_MAX_BYTES) {
        swcrypto_err(err, errlen, "too large (%zu bytes, max %d)", len, KEYFILE_MAX_BYTES);
        return -1;
    }
    struct lines ls = {text, text + len, 0};
    if (parse_header(&ls, KEYPAIR_MAGIC, "keypair", err, errlen) != 0)
        return -1;
    static const char *const words[2] = {"public", "secret"};
    uint8_t keys[2][KEYPAIR_BYTES];
    for (int i = 0; i < 2; i++) {
        const char *line = NULL;
        size_t linelen = 0;
        struct fields fs;
        int have = next_line(&ls, &line, &linelen);
        if (!have || split(line, linelen, &fs) != 0 || fs.n != 2 || !field_is(&fs, 0, words[i])) {
            swcrypto_err(err, errlen, "line %d: want \"%s HEX\"", ls.lineno + (have ? 0 : 1),
                         words[i]);
            goto fail;
        }
        if (parse_hex32(fs.f[1], fs.len[1], keys[i]) != 0) {
            swcrypto_err(err, errlen, "line %d: the %s key must be %d hex digits", ls.lineno,
                         words[i], HEX_CHARS);
            goto fail;
        }
    }
    const char *extra;
    size_t extralen;
    if (next_line(&ls, &extra, &extralen)) {
        swcrypto_err(err, errlen, "line %d: unexpected line after the secret key", ls.lineno);
        goto fail;
    }
    if (keypair_from_secret(kp, keys[1]) != 0) {
        swcrypto_err(err, errlen, "the secret key is unusable");
        goto fail;
    }
    if (sodium_memcmp(kp->pk, keys[0], KEYPAIR_BYTES) != 0) {
        swcrypto_err(err, errlen, "the public key is not the one the secret key gives");
        goto fail;
    }
    sodium_memzero(keys, sizeof(keys));
    return 0;
fail:
    sodium_memzero(keys, sizeof(keys));
    keypair_wipe(kp);
    return -1;
}

/* ---- files ---------------------------------------------------------------------------------- */

static int join_path(char *out, size_t cap, const char *dir, const char *prefix, const char *name,
                     const char *suffix, char *err, size_t errlen)
{
    int w = snprintf(out, cap, "%s/%s%s%s", dir, prefix, name, suffix);
    if (w < 0 || (size_t)w >= cap) {
        swcrypto_err(err, errlen, "path too long: %.64s/%s", dir, name);
        return -1;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int keyfile_write(const char *dir, const char *name, const void *data, size_t len, char *err,
                  size_t errlen)
{
    char path[4096], tmp[4096];
    if (join_path(path, sizeof(path), dir, "", name, "", err, errlen) != 0 ||
        join_path(tmp, sizeof(tmp), dir, ".", name, ".tmp-XXXXXX", err, errlen) != 0)
        return -1;
    int fd = mkostemp(tmp, O_CLOEXEC); /* created 0600 */
    if (fd < 0) {
        swcrypto_err(err, errlen, "cannot create a temp file in %s: %s", dir, strerror(errno));
        return -1;
    }
    const char *step = "write";
    if (fchmod(fd, 0600) != 0)
        step = "chmod";
    else if (write_all(fd, data, len) != 0)
        step = "write";
    else if (fsync(fd) != 0)
        step = "fsync";
    else
        step = NULL;
    int saved = errno;
    if (close(fd) != 0 && step == NULL) {
        step = "close";
        saved = errno;
    }
    if (step == NULL && rename(tmp, path) != 0) {
        step = "rename";
        saved = errno;
    }
    if (step != NULL) {
        unlink(tmp);
        swcrypto_err(err, errlen, "cannot write %s (%s): %s", path, step, strerror(saved));
        return -1;
    }
    /* The rename is durable only once the directory entry is on disk. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        saved = errno;
        if (dfd >= 0)
            close(dfd);
        swcrypto_err(err, errlen, "cannot sync directory %s: %s", dir, strerror(saved));
        return -1;
    }
    close(dfd);
    return 0;
}

static const char *exposure(mode_t mode)
{
    if (mode & S_IROTH)
        return "readable by others";
    if (mode & S_IRGRP)
        return "readable by its group";
    if (mode & S_IWOTH)
        return "writable by others";
    if (mode & S_IWGRP)
        return "writable by its group";
    return "accessible by group or others";
}

int keyfile_read(const char *dir, const char *name, const char *what, char *buf, size_t cap,
                 size_t *len, char *err, size_t errlen)
{
    char path[4096];
    if (join_path(path, sizeof(path), dir, "", name, "", err, errlen) != 0)
        return -1;
    /* O_NONBLOCK: opening a FIFO planted under the key's name must not hang us. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        swcrypto_err(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        swcrypto_err(err, errlen, "cannot stat %s %s: %s", what, path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        swcrypto_err(err, errlen, "%s %s is not a regular file", what, path);
        goto fail;
    }
    /* Like ssh's StrictModes: root could read a 0600 file another user planted there. */
    if (st.st_uid != geteuid()) {
        swcrypto_err(err, errlen, "%s %s is owned by uid %u, not by this user (uid %u)", what, path,
                     (unsigned)st.st_uid, (unsigned)geteuid());
        goto fail;
    }
    if (st.st_mode & 077) {
        swcrypto_err(err, errlen, "%s %s is %s (mode %04o); run chmod 600 %s", what, path,
                     exposure(st.st_mode), (unsigned)(st.st_mode & 07777), path);
        goto fail;
    }
    size_t limit = cap < KEYFILE_MAX_BYTES ? cap : KEYFILE_MAX_BYTES;
    if (st.st_size < 0 || (unsigned long long)st.st_size > limit) {
        swcrypto_err(err, errlen, "%s %s is too large (%lld bytes, max %zu)", what, path,
                     (long long)st.st_size, limit);
        goto fail;
    }
    size_t got = 0;
    for (;;) {
        char extra;
        ssize_t n = got < limit ? read(fd, buf + got, limit - got) : read(fd, &extra, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            swcrypto_err(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        if (got == limit) { /* it grew since fstat */
            swcrypto_err(err, errlen, "%s %s is too large (max %zu bytes)", what, path, limit);
            goto fail;
        }
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return 0;
fail:
    sodium_memzero(buf, cap);
    close(fd);
    return -1;
}

/* Loads DIR/NAME into a stack buffer and hands it to parse; prefixes parse errors with the path. */
static int load_text(const char *dir, const char *name, const char *what,
                     int (*parse)(void *obj, const char *text, size_t len, char *err,
                                  size_t errlen),
                     void *obj, char *err, size_t errlen)
{
    char buf[KEYFILE_MAX_BYTES];
    size_t len;
    if (keyfile_read(dir, name, what, buf, sizeof(buf), &len, err, errlen) != 0)
        return -1;
    char why[256];
    int rc = parse(obj, buf, len, why, sizeof(why));
    sodium_memzero(buf, sizeof(buf));
    if (rc != 0)
        swcrypto_err(err, errlen, "%s %s/%s: %s", what, dir, name, why);
    return rc;
}

static int parse_keyring(void *obj, const char *text, size_t len, char *err, size_t errlen)
{
    return keyring_parse(obj, text, len, err, errlen);
}

static int parse_keypair(void *obj, const char *text, size_t len, char *err, size_t errlen)
{
    return keypair_parse(obj, text, len, err, errlen);
}

int keyring_save(const struct keyring *kr, const char *dir, char *err, size_t errlen)
{
    char buf[KEYFILE_MAX_BYTES];
    size_t len;
    if (keyring_format(kr, buf, sizeof(buf), &len) != 0) {
        swcrypto_err(err, errlen, "cannot save an empty keyring");
        return -1;
    }
    int rc = keyfile_write(dir, KEYFILE_KEYRING, buf, len, err, errlen);
    sodium_memzero(buf, sizeof(buf));
    return rc;
}

int keyring_load(struct keyring *kr, const char *dir, char *err, size_t errlen)
{
    return load_text(dir, KEYFILE_KEYRING, "keyring file", parse_keyring, kr, err, errlen);
}

int keypair_save(const struct keypair *kp, const char *dir, const char *name, char *err,
                 size_t errlen)
{
    char buf[256];
    size_t len;
    if (keypair_format(kp, buf, sizeof(buf), &len) != 0) {
        swcrypto_err(err, errlen, "cannot format the keypair");
        return -1;
    }
    int rc = keyfile_write(dir, name, buf, len, err, errlen);
    sodium_memzero(buf, sizeof(buf));
    return rc;
}

int keypair_load(struct keypair *kp, const char *dir, const char *name, char *err, size_t errlen)
{
    return load_text(dir, name, "key file", parse_keypair, kp, err, errlen);
}
