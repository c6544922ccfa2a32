/*
 * swarm — entry point. Dispatches to the subcommands the modules define (agent/, manager/) and
 * owns only the generic parts: flag parsing against each command's table, help, version.
 *
 * Exit codes: 0 success, 1 failure, 2 usage error (unknown command or flag), 3 not implemented.
 */
#include "agent/agent.h"
#include "common/command.h"
#include "common/flags.h"
#include "crypto/swcrypto.h"
#include "manager/bench_cmd.h"
#include "manager/manager.h"
#include "proto/proto.h"

#include <stdio.h>
#include <string.h>

/* Written at build time by cmake/WriteGitVersion.cmake. */
extern const char *const swarm_version;
extern const char *const swarm_git_commit;

static int run_version(const struct flagset *f);
static int run_help(const struct flagset *f);

static const struct swarm_command version_command = {
    .name = "version",
    .summary = "print the version, the git commit and the linked libraries' versions",
    .usage = "swarm version",
    .run = run_version,
};

static const struct swarm_command help_command = {
    .name = "help",
    .summary = "describe swarm or one of its commands",
    .usage = "swarm help [COMMAND]",
    .max_positional = 1,
    .run = run_help,
};

static const struct swarm_command *const commands[] = {
    &manager_init_command,  &agent_join_command, &manager_manage_command, &agent_members_command,
    &manager_bench_command, &version_command,    &help_command,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct swarm_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    }
    return NULL;
}

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: swarm COMMAND [flags]\n"
                 "\n"
                 "Classic Docker Swarm in C: one Docker API over many engines, with gossip\n"
                 "membership and encrypted relays.\n"
                 "\n"
                 "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct swarm_command *c = commands[i];
        fprintf(out, "  %-9s %s%s\n", c->name, c->summary,
                c->planned ? " (not implemented yet)" : "");
    }
    fprintf(out, "\nRun 'swarm help COMMAND' or 'swarm COMMAND --help' for a command's flags.\n");
}

static void print_command_help(FILE *out, const struct swarm_command *c)
{
    fprintf(out, "Usage: %s\n\n%s.\n", c->usage, c->summary);
    if (c->description)
        fprintf(out, "\n%s\n", c->description);
    if (c->planned)
        fprintf(out, "\nStatus: not implemented yet: %s.\n", c->planned);
    fprintf(out, "\nFlags:\n");
    flags_print_help(out, c->flags, c->nflags);
    fprintf(out, "  %-30s show this help\n", "-h, --help");
}

/* A usage error: one line saying what is wrong, then how to use it; exit code 2. */
static int usage_error(const struct swarm_command *c, const char *msg)
{
    fprintf(stderr, "swarm%s%s: %s\n", c ? " " : "", c ? c->name : "", msg);
    if (c)
        fprintf(stderr, "Usage: %s\nRun 'swarm help %s' for more.\n", c->usage, c->name);
    else
        print_usage(stderr);
    return SWARM_EXIT_USAGE;
}

static int run_version(const struct flagset *f)
{
    (void)f;
    printf("swarm %s (commit %s)\n", swarm_version, swarm_git_commit);
    printf("  libsodium    %s\n", swcrypto_sodium_version());
    printf("  msgpack-c    %s\n", proto_msgpack_version());
    printf("  libuv        %s\n", agent_libuv_version());
    printf("  libcurl      %s\n", manager_libcurl_version());
    printf("  http-parser  %s\n", manager_http_parser_version());
    printf("  jansson      %s\n", manager_jansson_version());
    printf("  wire protocol %d\n", PROTO_WIRE_VERSION);
    return SWARM_EXIT_OK;
}

static int run_help(const struct flagset *f)
{
    if (f->npositional == 0) {
        print_usage(stdout);
        return SWARM_EXIT_OK;
    }
    const struct swarm_command *c = find_command(f->positional[0]);
    if (c == NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "unknown command \"%.64s\"", f->positional[0]);
        return usage_error(NULL, msg);
    }
    print_command_help(stdout, c);
    return SWARM_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL, "no command given");
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        print_usage(stdout);
        return SWARM_EXIT_OK;
    }
    if (strcmp(name, "-v") == 0 || strcmp(name, "--version") == 0)
        name = "version";

    const struct swarm_command *c = find_command(name);
    if (c == NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "unknown command \"%.64s\"", name);
        return usage_error(NULL, msg);
    }

    struct flag_value values[64];
    if (c->nflags > sizeof(values) / sizeof(values[0])) {
        fprintf(stderr, "swarm %s: too many flags defined\n", c->name);
        return SWARM_EXIT_FAILURE;
    }
    struct flagset f = {.specs = c->flags, .nspecs = c->nflags, .values = values};
    char err[256];
    if (flags_parse(&f, argc - 2, argv + 2, err, sizeof(err)) < 0) {
        flags_release(&f);
        return usage_error(c, err);
    }
    int rc;
    if (f.help) {
        print_command_help(stdout, c);
        rc = SWARM_EXIT_OK;
    } else if (f.npositional > c->max_positional) {
        snprintf(err, sizeof(err), "unexpected argument \"%.64s\"",
                 f.positional[c->max_positional]);
        rc = usage_error(c, err);
    } else if (c->run == NULL) {
        fprintf(stderr, "swarm %s: not implemented yet: %s\n", c->name,
                c->planned ? c->planned : "no entry point");
        rc = SWARM_EXIT_NOT_IMPLEMENTED;
    } else {
        rc = c->run(&f);
    }
    flags_release(&f);
    return rc;
}
