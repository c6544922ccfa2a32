/*
 * join — the `swarm join` command: the agent daemon's start-up (token, keys, engine /info,
 * metadata) before agent/daemon.h takes over. The helpers are shared with `swarm manage`.
 */
#ifndef SWARM_AGENT_JOIN_H
#define SWARM_AGENT_JOIN_H

#include "agent/membership.h"
#include "common/command.h"
#include "crypto/keypair.h"
#include "crypto/keyring.h"
#include "crypto/token.h"

int join_run(const struct flagset *f);

/* The LAN profile with the timing flags (--probe-interval ...) applied; -1 after printing a
 * usage message that names the command (cmd: "join", "manage"). */
int join_tuning_from_flags(const char *cmd, const struct flagset *f, struct membership_tuning *t);

/* Checks --mcast-group (IPv4) and --mcast-group6 (IPv6) are multicast groups of their family;
 * -1 after printing a usage message that names the command. */
int join_check_mcast_groups(const char *cmd, const struct flagset *f);

/* Loads DIR/keyring (or creates it from the token's key) and, if kp is not NULL, DIR/kp_name
 * (or creates and saves a fresh keypair). Returns 0 or -1 with err. */
int join_load_keys(const char *dir, const struct join_token *tok, struct keyring *kr,
                   struct keypair *kp, const char *kp_name, char *err, size_t errlen);

#endif
