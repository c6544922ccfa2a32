/*
 * init_cmd — `swarm init [--state-dir DIR] [--force]`.
 *
 * Creates DIR (mode 0700) if it is missing, then DIR/keyring (one primary cluster key) and
 * DIR/manager.key (the manager's X25519 keypair), both 0600 and written atomically; prints what
 * it made and, as the last line of stdout, the join token. A DIR that already holds keys is left
 * alone (exit 1) unless --force: new keys invalidate every token made before, so that must be
 * asked for. Secrets are wiped once printed and never logged.
 */
#include "manager/init_cmd.h"
#include "common/command.h"
#include "crypto/keyfile.h"
#include "crypto/swcrypto.h"
#include "crypto/token.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p: parents 0755, DIR itself 0700. *created says whether DIR was made here. */
static int make_state_dir(const char *dir, int *created, char *err, size_t errlen)
{
    char path[4096];
    size_t len = strlen(dir);
    *created = 0;
    if (len == 0 || len >= sizeof(path)) {
        snprintf(err, errlen, "bad state dir \"%.64s\"", dir);
        return -1;
    }
    memcpy(path, dir, len + 1);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    for (size_t i = 1; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        char saved = path[i];
        path[i] = '\0';
        int last = i == len;
        if (mkdir(path, last ? 0700 : 0755) == 0) {
            if (last)
                *created = 1;
        } else if (errno != EEXIST) {
            snprintf(err, errlen, "cannot create %.300s: %s", path, strerror(errno));
            return -1;
        }
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%.300s is not a directory", dir);
        return -1;
    }
    /* mkdir obeys the umask; the state dir is 0700 whatever it is. */
    if (*created && chmod(dir, 0700) != 0) {
        snprintf(err, errlen, "cannot chmod 700 %.300s: %s", dir, strerror(errno));
        return -1;
    }
    if (!*created && (st.st_mode & 022))
        fprintf(stderr,
                "swarm init: warning: %s is writable by group or others (mode %04o); others "
                "could replace the key files: run chmod 700 %s\n",
                dir, (unsigned)(st.st_mode & 07777), dir);
    return 0;
}

static int exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

/* The id for the new key: 1, or after --force the one after the old primary, so that datagrams
 * from agents still on the old key are reported as "unknown key id", not as forgeries. */
static uint8_t new_key_id(const char *dir)
{
    struct keyring *old = keyring_new();
    uint8_t id = 0;
    if (old != NULL && keyring_load(old, dir, NULL, 0) == 0 && keyring_primary(old, &id, NULL) == 0)
        id = (uint8_t)(id == 255 ? 1 : id + 1);
    else
        id = 1;
    keyring_free(old);
    return id;
}

static int fail(const char *msg)
{
    fprintf(stderr, "swarm init: %s\n", msg);
    return SWARM_EXIT_FAILURE;
}

/* --show-token: the token for the keys already in dir, alone on stdout; nothing is changed. */
static int show_token(const char *dir)
{
    char err[512];
    struct keyring *kr = keyring_new();
    struct keypair kp;
    struct join_token tok;
    char token[TOKEN_BUF_BYTES];
    const uint8_t *key;
    int rc = SWARM_EXIT_FAILURE;
    memset(&kp, 0, sizeof(kp));
    memset(&tok, 0, sizeof(tok));
    if (kr == NULL) {
        fail("out of memory");
    } else if (keyring_load(kr, dir, err, sizeof(err)) != 0 ||
               keypair_load(&kp, dir, KEYFILE_MANAGER, err, sizeof(err)) != 0 ||
               keyring_primary(kr, &tok.key_id, &key) != 0) {
        fprintf(stderr, "swarm init: %s\nRun `swarm init --state-dir %s` to make keys first.\n",
                err, dir);
    } else {
        memcpy(tok.cluster_key, key, sizeof(tok.cluster_key));
        memcpy(tok.manager_pk, kp.pk, sizeof(kp.pk));
        token_format(&tok, token);
        printf("%s\n", token);
        fflush(stdout);
        sodium_memzero(token, sizeof(token));
        rc = SWARM_EXIT_OK;
    }
    token_wipe(&tok);
    keypair_wipe(&kp);
    keyring_free(kr);
    return rc;
}

int init_cmd_run(const struct flagset *f)
{
    const struct flag_value *sd = flags_get(f, "state-dir");
    const char *dir = sd != NULL && sd->count > 0 ? sd->value : INIT_DEFAULT_STATE_DIR;
    int force = flags_bool(f, "force");
    char err[512];

    if (swcrypto_init() != 0)
        return fail("libsodium failed to initialise (no entropy source?)");
    if (dir[0] == '\0') {
        fprintf(stderr, "swarm init: --state-dir is empty\n");
        return SWARM_EXIT_USAGE;
    }
    if (flags_bool(f, "show-token")) {
        if (force) {
            fprintf(stderr, "swarm init: --show-token and --force do not go together\n");
            return SWARM_EXIT_USAGE;
        }
        return show_token(dir);
    }
    int created;
    if (make_state_dir(dir, &created, err, sizeof(err)) != 0)
        return fail(err);

    int had_ring = exists(dir, KEYFILE_KEYRING), had_pair = exists(dir, KEYFILE_MANAGER);
    if ((had_ring || had_pair) && !force) {
        fprintf(stderr,
                "swarm init: %s already holds keys (%s%s%s); nothing was changed.\n"
                "Run `swarm init --show-token` to print its token again, or `swarm init --force` "
                "to replace the keys: the token made before then stops working and every agent "
                "must join again with the new token.\n",
                dir, had_ring ? KEYFILE_KEYRING : "", had_ring && had_pair ? ", " : "",
                had_pair ? KEYFILE_MANAGER : "");
        return SWARM_EXIT_FAILURE;
    }

    int rc = SWARM_EXIT_FAILURE;
    struct keyring *kr = keyring_new();
    struct keypair kp;
    struct join_token tok;
    char token[TOKEN_BUF_BYTES];
    uint8_t key[KEYRING_KEY_BYTES];
    uint8_t id = had_ring ? new_key_id(dir) : 1;
    memset(&kp, 0, sizeof(kp));
    memset(&tok, 0, sizeof(tok));
    if (kr == NULL) {
        fail("out of memory");
        goto out;
    }
    randombytes_buf(key, sizeof(key));
    if (keyring_install(kr, id, key, err, sizeof(err)) != 0 || keypair_generate(&kp) != 0) {
        fail("cannot make keys");
        goto out;
    }
    if (keyring_save(kr, dir, err, sizeof(err)) != 0 ||
        keypair_save(&kp, dir, KEYFILE_MANAGER, err, sizeof(err)) != 0) {
        fail(err);
        goto out;
    }

    tok.key_id = id;
    memcpy(tok.cluster_key, key, sizeof(key));
    memcpy(tok.manager_pk, kp.pk, sizeof(kp.pk));
    token_format(&tok, token);
    printf("%s the cluster's secrets in %s%s:\n", had_ring || had_pair ? "Replaced" : "Created",
           dir, had_ring || had_pair ? " (tokens made before no longer work)" : "");
    printf("  %s/%-12s the cluster key (id %u): seals every gossip datagram and beacon\n", dir,
           KEYFILE_KEYRING, (unsigned)id);
    printf("  %s/%-12s the manager's keypair: agents accept relay connections only from it\n", dir,
           KEYFILE_MANAGER);
    printf("Start the manager on this host:  swarm manage --state-dir %s\n", dir);
    printf("On every Docker host, run:       swarm join --token TOKEN\n");
    printf("TOKEN is the next line. It holds the cluster key: keep it secret.\n");
    printf("%s\n", token);
    fflush(stdout);
    rc = SWARM_EXIT_OK;
out:
    sodium_memzero(token, sizeof(token));
    sodium_memzero(key, sizeof(key));
    token_wipe(&tok);
    keypair_wipe(&kp);
    keyring_free(kr);
    return rc;
}
