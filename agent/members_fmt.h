/*
 * members_fmt — renders a daemon's membership answer (the JSON array `swarm members
 * --format json` prints) as the aligned table people read. Pure: JSON text in, text out.
 *
 * The JSON is an array of objects with name, addr ("ip:port"), role, state
 * (alive|suspect|failed|left), incarnation and labels (an object of strings).
 */
#ifndef SWARM_AGENT_MEMBERS_FMT_H
#define SWARM_AGENT_MEMBERS_FMT_H

#include <stddef.h>
#include <stdio.h>

/* Writes the table for json to out. Returns 0, or -1 with the reason in err if json is not a
 * members array (nothing is written then). */
int members_fmt_table(const char *json, size_t len, FILE *out, char *err, size_t errlen);

#endif
