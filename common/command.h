/*
 * command — how a module describes one `swarm` subcommand to the dispatcher in main.c.
 *
 * Each side (agent/, manager/) owns its subcommands and exports a const swarm_command; main.c
 * only parses flags against the command's table, prints help, and calls run(). A command that
 * a later part of the project builds has run == NULL and says so in `planned`; the dispatcher
 * then reports it as not implemented instead of pretending to work.
 */
#ifndef SWARM_COMMON_COMMAND_H
#define SWARM_COMMON_COMMAND_H

#include "common/flags.h"

/* Exit codes every subcommand uses. */
enum {
    SWARM_EXIT_OK = 0,
    SWARM_EXIT_FAILURE = 1, /* the command ran and failed; a message says why */
    SWARM_EXIT_USAGE = 2,   /* bad flag or argument; nothing was done */
    SWARM_EXIT_NOT_IMPLEMENTED = 3,
};

struct swarm_command {
    const char *name;
    const char *summary;     /* one line, shown in `swarm --help` */
    const char *usage;       /* "swarm join --token TOKEN [flags]" */
    const char *description; /* paragraphs shown by `swarm help CMD`, may be NULL */
    const struct flag_spec *flags;
    size_t nflags;
    int max_positional;  /* arguments allowed besides flags */
    const char *planned; /* non-NULL: not built yet; names the part of the design it waits for */
    /* Runs the command with parsed flags; returns a SWARM_EXIT_* code. */
    int (*run)(const struct flagset *f);
};

#endif
