/*
 * sim — a fake network and a virtual clock for the membership state machine, so whole clusters
 * run in one process, deterministically from a seed (tarantool's swim test layout).
 *
 * It scales to thousands of nodes: the next event comes from two heaps (datagrams in flight;
 * node deadlines, lazily invalidated), so a step costs O(log n) plus the work the membership
 * module does, and the link matrix (n * n bytes) is only made once a link is cut. What then
 * bounds N is the module itself: each node holds every member (bench/gossip_sim.c measures it).
 *
 * Nodes are numbered 0..n-1; node i is "node-i" at 10.(i>>8).(i&255).1:7946 unless renamed.
 * Datagrams take latency_min..latency_max ms, are dropped with probability `loss` and never
 * cross a cut link. Push-pull runs as an instantaneous TCP exchange (both directions) one
 * latency after it is asked for, if the link is up both ways. A killed node forgets everything;
 * a frozen node neither ticks nor receives (datagrams to it are lost) until thawed.
 *
 * Ownership: the sim owns its nodes' membership instances. Tests read them through
 * sim_view(sim, i).
 */
#ifndef SWARM_TESTS_SIM_H
#define SWARM_TESTS_SIM_H

#include "agent/membership.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim;

/* Per-node counts of the events its membership reported, by kind. */
struct sim_events {
    uint64_t count[MEMBERSHIP_CONFLICT + 1];
};

struct sim *sim_new(size_t n, uint64_t seed, const struct membership_tuning *t);
void sim_free(struct sim *s);

uint64_t sim_now(const struct sim *s);

/* Network conditions. */
void sim_set_latency(struct sim *s, uint32_t min_ms, uint32_t max_ms);
void sim_set_loss(struct sim *s, double p);
void sim_cut(struct sim *s, size_t a, size_t b, bool cut); /* both directions */
/* Cut every link between the first k nodes and the rest (k = 0 heals everything). */
void sim_partition(struct sim *s, size_t k);

/* Node lifecycle. start: a fresh member (incarnation inc); join: push-pull to node `seed`. */
void sim_start(struct sim *s, size_t i, uint64_t inc);
void sim_start_named(struct sim *s, size_t i, const char *name, uint64_t inc);
void sim_join(struct sim *s, size_t i, size_t seed);
void sim_kill(struct sim *s, size_t i);
void sim_freeze(struct sim *s, size_t i, bool frozen);
void sim_leave(struct sim *s, size_t i);
bool sim_running(const struct sim *s, size_t i);

/* Starts all n nodes and joins each to node 0. */
void sim_start_all(struct sim *s);
/* Starts node 0, then node i at i * step_ms and joins it to a random earlier node (runs the
 * cluster meanwhile): no single seed serves n push-pulls at once, as on a real large site. */
void sim_start_staggered(struct sim *s, uint32_t step_ms);

/* Runs the cluster until virtual time t (absolute ms). */
void sim_run_until(struct sim *s, uint64_t t);
/* Runs until pred(s, arg) holds (checked every step_ms) or until deadline; returns whether it
 * held, and the time it first held in *when (may be NULL). */
bool sim_run_until_pred(struct sim *s, bool (*pred)(struct sim *, void *), void *arg,
                        uint64_t step_ms, uint64_t deadline, uint64_t *when);

/* The membership of node i (NULL if not running). */
struct membership *sim_view(struct sim *s, size_t i);
const char *sim_name(const struct sim *s, size_t i);
/* The node listening at a (sim addresses only), or -1. */
int sim_node_at(const struct sim *s, const struct proto_addr *a);
const struct sim_events *sim_events(const struct sim *s, size_t i);

/* State of node j in node i's view; -1 if i does not know j. */
int sim_state_of(struct sim *s, size_t i, size_t j);
/* Every running node sees node j in state st (j itself excluded). */
bool sim_all_see(struct sim *s, size_t j, enum member_state st);
/* Every running node sees every running node alive, and knows n_expected members. */
bool sim_converged(struct sim *s);

/* Totals over the run: datagrams and payload bytes sent by all nodes. sim_bytes counts the
 * datagrams' plaintext and both directions of every push-pull; sim_pushpull_bytes the latter
 * alone, sim_pushpulls the exchanges that took place. */
uint64_t sim_datagrams(const struct sim *s);
uint64_t sim_bytes(const struct sim *s);
uint64_t sim_pushpull_bytes(const struct sim *s);
uint64_t sim_pushpulls(const struct sim *s);

/* Calls fn for every membership event on any node, as it happens (node: whose membership
 * reported it; now: the virtual time; ev and what it points to: valid during the call only).
 * fn may use the sim's lookups (sim_node_at, sim_name) but must not run or change the sim,
 * nor call the membership module. NULL turns it off. */
typedef void (*sim_event_fn)(void *arg, size_t node, uint64_t now,
                             const struct membership_event *ev);
void sim_on_event(struct sim *s, sim_event_fn fn, void *arg);

#endif
