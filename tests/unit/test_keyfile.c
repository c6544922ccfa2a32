/*
 * Unit tests for crypto/keyfile: the text formats (round trip, every malformed shape refused
 * with its line), atomic writes (mode 0600, no temp file left, even on failure), and the checks
 * on reading (mode, type, size), in a fresh temp dir.
 */
#include "crypto/keyfile.h"
#include "crypto/swcrypto.h"
#include "tests/unit/check.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[512];
static char dir[64];

static const char ring3[] =
    "swarm-keyring 1\n"
    "key 0 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
    "key 9 2021222324252627282928292a2b2c2d2e2f303132333435363738393a3b3c3d primary\n"
    "key 255 FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\n";

static int parse_ring(const char *text)
{
    struct keyring *kr = keyring_new();
    err[0] = '\0';
    int rc = keyring_parse(kr, text, strlen(text), err, sizeof(err));
    if (rc != 0 && keyring_count(kr) != 0)
        rc = 99; /* a failed parse must leave the ring empty */
    keyring_free(kr);
    return rc;
}

static void test_keyring_format(void)
{
    struct keyring *kr = keyring_new();
    CHECK_INT(keyring_parse(kr, ring3, strlen(ring3), err, sizeof(err)), 0);
    CHECK_INT(keyring_count(kr), 3);
    uint8_t id;
    CHECK_INT(keyring_primary(kr, &id, NULL), 0);
    CHECK_INT(id, 9);
    CHECK_INT(keyring_lookup(kr, 255)[31], 0xff);
    CHECK_INT(keyring_lookup(kr, 0)[1], 0x01);

    char buf[KEYFILE_MAX_BYTES];
    size_t len;
    CHECK_INT(keyring_format(kr, buf, sizeof(buf), &len), 0);
    /* Written back in lower case, same order, same primary. */
    struct keyring *again = keyring_new();
    CHECK_INT(keyring_parse(again, buf, len, err, sizeof(err)), 0);
    uint8_t a[KEYRING_MAX_KEYS], b[KEYRING_MAX_KEYS];
    CHECK_INT(keyring_ids(again, b), keyring_ids(kr, a));
    CHECK(memcmp(a, b, 3) == 0);
    CHECK(memcmp(keyring_lookup(kr, 255), keyring_lookup(again, 255), 32) == 0);
    CHECK(strstr(buf, "FFFF") == NULL);
    CHECK(strstr(buf, "key 9 ") != NULL && strstr(buf, " primary\n") != NULL);
    /* Too small a buffer fails cleanly. */
    CHECK_INT(keyring_format(kr, buf, 40, &len), -1);
    /* Parsing needs an empty ring. */
    CHECK_INT(keyring_parse(again, ring3, strlen(ring3), err, sizeof(err)), -1);
    keyring_free(again);
    keyring_free(kr);

    /* The last newline may be missing. */
    CHECK_INT(
        parse_ring("swarm-keyring 1\nkey 1 "
                   "0000000000000000000000000000000000000000000000000000000000000000 primary"),
        0);
}

#define K64 "0000000000000000000000000000000000000000000000000000000000000000"

static void test_keyring_malformed(void)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"", "line 1: not a keyring file (want \"swarm-keyring 1\")"},
        {"swarm-keypair 1\n", "line 1: not a keyring file (want \"swarm-keyring 1\")"},
        {"swarm-keyring 2\nkey 1 " K64 " primary\n",
         "line 1: unsupported keyring format version \"2\" (want 1)"},
        {"swarm-keyring  1\n", "line 1: not a keyring file (want \"swarm-keyring 1\")"},
        {"swarm-keyring 1\n", "no keys"},
        {"swarm-keyring 1\nkey 1 " K64 "\n", "no key is marked primary"},
        {"swarm-keyring 1\nkey 1 " K64 " primary\nkey 2 " K64 " primary\n",
         "line 3: a second primary key (line 2 is primary)"},
        {"swarm-keyring 1\nkey 1 " K64 " primary\nkey 1 " K64 "\n",
         "line 3: key 1 is already in the keyring"},
        {"swarm-keyring 1\nkey 256 " K64 " primary\n",
         "line 2: key id must be a number from 0 to 255"},
        {"swarm-keyring 1\nkey 01 " K64 " primary\n",
         "line 2: key id must be a number from 0 to 255"},
        {"swarm-keyring 1\nkey -1 " K64 " primary\n",
         "line 2: key id must be a number from 0 to 255"},
        {"swarm-keyring 1\nkey 1 " K64 "0 primary\n", "line 2: key 1 must be 64 hex digits"},
        {"swarm-keyring 1\nkey 1 g" K64 " primary\n", "line 2: key 1 must be 64 hex digits"},
        {"swarm-keyring 1\nkey 1 "
         "000000000000000000000000000000000000000000000000000000000000000g primary\n",
         "line 2: key 1 must be 64 hex digits"},
        {"swarm-keyring 1\nkey 1 " K64 " primary extra\n", "line 2: want \"key ID HEX [primary]\""},
        {"swarm-keyring 1\nkey 1 " K64 " Primary\n", "line 2: want \"key ID HEX [primary]\""},
        {"swarm-keyring 1\nkey 1 " K64 " primary \n", "line 2: want \"key ID HEX [primary]\""},
        {"swarm-keyring 1\nkey 1 " K64 " primary\r\n", "line 2: want \"key ID HEX [primary]\""},
        {"swarm-keyring 1\n\nkey 1 " K64 " primary\n", "line 2: want \"key ID HEX [primary]\""},
        {"swarm-keyring 1\n# comment\n", "line 2: want \"key ID HEX [primary]\""},
        {"swarm-keyring 1\nkey 1\n", "line 2: want \"key ID HEX [primary]\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_INT(parse_ring(cases[i].text), -1);
        CHECK_STR(err, cases[i].msg);
    }

    /* Nine keys. */
    char buf[2048] = "swarm-keyring 1\n";
    for (int i = 1; i <= 9; i++) {
        char line[128];
        snprintf(line, sizeof(line), "key %d %s%s\n", i, K64, i == 1 ? " primary" : "");
        strcat(buf, line);
    }
    CHECK_INT(parse_ring(buf), -1);
    CHECK_STR(err, "line 10: keyring is full (8 keys); remove an old key first");

    /* A NUL byte inside. */
    char nul[] = "swarm-keyring 1\nkey 1 " K64 " primary\n";
    nul[30] = '\0';
    struct keyring *kr = keyring_new();
    CHECK_INT(keyring_parse(kr, nul, sizeof(nul) - 1, err, sizeof(err)), -1);
    CHECK_INT(keyring_count(kr), 0);
    /* Over the size bound, whatever it holds. */
    CHECK_INT(keyring_parse(kr, buf, KEYFILE_MAX_BYTES + 1, err, sizeof(err)), -1);
    CHECK_STR(err, "too large (4097 bytes, max 4096)");
    keyring_free(kr);
}

static void test_keypair_format(void)
{
    struct keypair kp, back;
    CHECK_INT(keypair_generate(&kp), 0);
    char buf[256];
    size_t len;
    CHECK_INT(keypair_format(&kp, buf, sizeof(buf), &len), 0);
    CHECK(strncmp(buf, "swarm-keypair 1\npublic ", 23) == 0);
    CHECK_INT(keypair_parse(&back, buf, len, err, sizeof(err)), 0);
    CHECK(memcmp(&kp, &back, sizeof(kp)) == 0);

    /* A public key that does not match the secret. */
    char bad[256];
    memcpy(bad, buf, len + 1);
    bad[23] = bad[23] == '0' ? '1' : '0';
    CHECK_INT(keypair_parse(&back, bad, len, err, sizeof(err)), -1);
    CHECK_STR(err, "the public key is not the one the secret key gives");
    CHECK(sodium_is_zero((const unsigned char *)&back, sizeof(back)));

    /* Missing secret line; an extra line; a bad header; swapped lines. */
    CHECK_INT(keypair_parse(&back, buf, 88, err, sizeof(err)), -1);
    CHECK_STR(err, "line 3: want \"secret HEX\"");
    memcpy(bad, buf, len);
    memcpy(bad + len, "x\n", 3);
    CHECK_INT(keypair_parse(&back, bad, len + 2, err, sizeof(err)), -1);
    CHECK_STR(err, "line 4: unexpected line after the secret key");
    CHECK_INT(keypair_parse(&back, "swarm-keypair 3\n", 16, err, sizeof(err)), -1);
    CHECK_STR(err, "line 1: unsupported keypair format version \"3\" (want 1)");
    const char *swapped = "swarm-keypair 1\nsecret " K64 "\npublic " K64 "\n";
    CHECK_INT(keypair_parse(&back, swapped, strlen(swapped), err, sizeof(err)), -1);
    CHECK_STR(err, "line 2: want \"public HEX\"");
    const char *shorthex = "swarm-keypair 1\npublic 00\nsecret " K64 "\n";
    CHECK_INT(keypair_parse(&back, shorthex, strlen(shorthex), err, sizeof(err)), -1);
    CHECK_STR(err, "line 2: the public key must be 64 hex digits");
    keypair_wipe(&kp);
}

/* Names in dir other than want (NULL: none expected). */
static int stray_files(const char *want1, const char *want2)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if ((want1 && strcmp(e->d_name, want1) == 0) || (want2 && strcmp(e->d_name, want2) == 0))
            continue;
        printf("# stray file %s\n", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static int file_mode(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void set_mode(const char *name, mode_t mode)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (chmod(path, mode) != 0)
        abort();
}

static void test_save_load(void)
{
    struct keyring *kr = keyring_new(), *back = keyring_new();
    uint8_t id;
    CHECK_INT(keyring_generate(kr, &id, err, sizeof(err)), 0);
    CHECK_INT(keyring_generate(kr, &id, err, sizeof(err)), 0);
    CHECK_INT(keyring_save(kr, dir, err, sizeof(err)), 0);
    CHECK_INT(file_mode(KEYFILE_KEYRING), 0600);
    CHECK_INT(stray_files(KEYFILE_KEYRING, NULL), 0);
    CHECK_INT(keyring_load(back, dir, err, sizeof(err)), 0);
    CHECK_INT(keyring_count(back), 2);
    CHECK(memcmp(keyring_lookup(kr, 2), keyring_lookup(back, 2), 32) == 0);

    /* Replacing a file: the new one is 0600 even if the old one was not. */
    set_mode(KEYFILE_KEYRING, 0644);
    CHECK_INT(keyring_save(kr, dir, err, sizeof(err)), 0);
    CHECK_INT(file_mode(KEYFILE_KEYRING), 0600);
    CHECK_INT(stray_files(KEYFILE_KEYRING, NULL), 0);

    struct keypair kp, kp2;
    CHECK_INT(keypair_generate(&kp), 0);
    CHECK_INT(keypair_save(&kp, dir, KEYFILE_MANAGER, err, sizeof(err)), 0);
    CHECK_INT(file_mode(KEYFILE_MANAGER), 0600);
    CHECK_INT(keypair_load(&kp2, dir, KEYFILE_MANAGER, err, sizeof(err)), 0);
    CHECK(memcmp(&kp, &kp2, sizeof(kp)) == 0);
    CHECK_INT(stray_files(KEYFILE_KEYRING, KEYFILE_MANAGER), 0);
    keypair_wipe(&kp);
    keypair_wipe(&kp2);
    keyring_free(kr);
    keyring_free(back);
}

static void test_mode_checks(void)
{
    static const struct {
        mode_t mode;
        const char *what;
    } cases[] = {
        {0644, "readable by others (mode 0644)"},
        {0604, "readable by others (mode 0604)"},
        {0640, "readable by its group (mode 0640)"},
        {0602, "writable by others (mode 0602)"},
        {0620, "writable by its group (mode 0620)"},
        {0610, "accessible by group or others (mode 0610)"},
    };
    char want[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        set_mode(KEYFILE_KEYRING, cases[i].mode);
        struct keyring *kr = keyring_new();
        CHECK_INT(keyring_load(kr, dir, err, sizeof(err)), -1);
        CHECK_INT(keyring_count(kr), 0);
        snprintf(want, sizeof(want), "keyring file %s/keyring is %s; run chmod 600 %s/keyring", dir,
                 cases[i].what, dir);
        CHECK_STR(err, want);
        keyring_free(kr);
    }
    set_mode(KEYFILE_KEYRING, 0600);
    set_mode(KEYFILE_MANAGER, 0640);
    struct keypair kp;
    CHECK_INT(keypair_load(&kp, dir, KEYFILE_MANAGER, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "key file %s/manager.key is readable by its group (mode 0640); run chmod 600 "
             "%s/manager.key",
             dir, dir);
    CHECK_STR(err, want);
    set_mode(KEYFILE_MANAGER, 0600);

    /* A file owned by someone else is refused even when we could read it (root can). */
    if (geteuid() == 0) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", dir, KEYFILE_MANAGER);
        CHECK_INT(chown(path, 4242, 4242), 0);
        CHECK_INT(keypair_load(&kp, dir, KEYFILE_MANAGER, err, sizeof(err)), -1);
        snprintf(want, sizeof(want),
                 "key file %s/manager.key is owned by uid 4242, not by this user (uid 0)", dir);
        CHECK_STR(err, want);
        CHECK_INT(chown(path, 0, 0), 0);
    } else {
        printf("# not root: the owner check is not exercised\n");
    }
    set_mode(KEYFILE_MANAGER, 0400); /* read-only for the owner is fine */
    CHECK_INT(keypair_load(&kp, dir, KEYFILE_MANAGER, err, sizeof(err)), 0);
    keypair_wipe(&kp);
    set_mode(KEYFILE_MANAGER, 0600);
}

static void write_raw(const char *name, const char *data, size_t len, mode_t mode)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0)
        abort();
    if (chmod(path, mode) != 0)
        abort();
}

static void test_bad_files(void)
{
    char want[512];
    struct keyring *kr = keyring_new();

    /* Malformed content: the message names the file and the line. */
    write_raw(KEYFILE_AGENT, "swarm-keypair 1\npublic zz\n", 26, 0600);
    struct keypair kp;
    CHECK_INT(keypair_load(&kp, dir, KEYFILE_AGENT, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "key file %s/agent.key: line 2: the public key must be 64 hex digits", dir);
    CHECK_STR(err, want);

    /* Too large. */
    static char big[KEYFILE_MAX_BYTES + 10];
    memset(big, 'k', sizeof(big));
    write_raw(KEYFILE_AGENT, big, sizeof(big), 0600);
    CHECK_INT(keypair_load(&kp, dir, KEYFILE_AGENT, err, sizeof(err)), -1);
    CHECK(strstr(err, "is too large (4106 bytes, max 4096)") != NULL);

    /* Missing file. */
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/none", dir);
    CHECK_INT(mkdir(sub, 0700), 0);
    CHECK_INT(keyring_load(kr, sub, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "cannot open keyring file %s/keyring: No such file or directory",
             sub);
    CHECK_STR(err, want);

    /* Not a regular file: a FIFO (must not block) and a directory. */
    char path[160];
    snprintf(path, sizeof(path), "%s/keyring", sub);
    CHECK_INT(mkfifo(path, 0600), 0);
    CHECK_INT(keyring_load(kr, sub, err, sizeof(err)), -1);
    CHECK(strstr(err, "is not a regular file") != NULL);
    unlink(path);
    CHECK_INT(mkdir(path, 0700), 0);
    CHECK_INT(keyring_load(kr, sub, err, sizeof(err)), -1);
    CHECK(strstr(err, "is not a regular file") != NULL);

    /* A failed atomic write (rename onto a directory) leaves the directory alone and no temp
     * file behind. */
    uint8_t id;
    CHECK_INT(keyring_generate(kr, &id, err, sizeof(err)), 0);
    CHECK_INT(keyring_save(kr, sub, err, sizeof(err)), -1);
    CHECK(strstr(err, "(rename)") != NULL);
    DIR *d = opendir(sub);
    int entries = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        entries += e->d_name[0] != '.' || strncmp(e->d_name, ".keyring.tmp", 12) == 0;
    if (d)
        closedir(d);
    CHECK_INT(entries, 1); /* just the "keyring" directory */
    rmdir(path);
    rmdir(sub);

    /* A dir that does not exist. */
    CHECK_INT(keyring_save(kr, "/nonexistent-swarm-dir", err, sizeof(err)), -1);
    CHECK_STR(err,
              "cannot create a temp file in /nonexistent-swarm-dir: No such file or directory");
    /* An empty ring is not saved. */
    keyring_clear(kr);
    CHECK_INT(keyring_save(kr, dir, err, sizeof(err)), -1);
    keyring_free(kr);
}

static void cleanup(void)
{
    const char *names[] = {KEYFILE_KEYRING, KEYFILE_MANAGER, KEYFILE_AGENT};
    char path[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    if (swcrypto_init() != 0)
        return 1;
    snprintf(dir, sizeof(dir), "/tmp/swarm-test-keyfile-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    RUN(test_keyring_format);
    RUN(test_keyring_malformed);
    RUN(test_keypair_format);
    RUN(test_save_load);
    RUN(test_mode_checks);
    RUN(test_bad_files);
    cleanup();
    return check_done();
}
