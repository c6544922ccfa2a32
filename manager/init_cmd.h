/* init_cmd — `swarm init`: makes the cluster key and the manager's keypair, prints the token. */
#ifndef SWARM_MANAGER_INIT_CMD_H
#define SWARM_MANAGER_INIT_CMD_H

#include "common/flags.h"

/* The default state dir of every swarm command. */
#define INIT_DEFAULT_STATE_DIR "/var/lib/swarm"

/* Runs `swarm init` with parsed flags (--state-dir, --force); returns a SWARM_EXIT_* code. */
int init_cmd_run(const struct flagset *f);

#endif
