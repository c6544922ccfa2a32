/*
 * bench_cmd — `swarm bench`: drives a Docker endpoint (one engine or the manager) with a
 * workload from N threads and reports throughput, latency percentiles and errors.
 *
 * Owns the command's flags, the worker threads, the run's containers (labelled
 * com.swarm.bench=1 and com.swarm.bench.run=RUNID; all removed at the end, on SIGINT/SIGTERM,
 * and by `--cleanup` after a crash) and the summary, JSON and plot outputs. The measuring parts
 * live in bench_stats, the input checks in bench_opts, the HTTP calls in bench_docker.
 */
#ifndef SWARM_MANAGER_BENCH_CMD_H
#define SWARM_MANAGER_BENCH_CMD_H

#include "common/command.h"

/* Exit code of a run cut short by SIGINT or SIGTERM (after the partial summary and cleanup). */
#define BENCH_EXIT_INTERRUPTED 130

extern const struct swarm_command manager_bench_command;

/* Runs `swarm bench` with parsed flags; returns a SWARM_EXIT_* code or BENCH_EXIT_INTERRUPTED. */
int bench_cmd_run(const struct flagset *f);

#endif
