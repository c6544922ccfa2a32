/*
 * loop_harness — running a unit test's one libuv loop until a condition holds or a deadline
 * passes, for the tests that drive real handles (relay, engines, engine_watch).
 *
 * The caller owns a struct of its own (the test's "world") with at least these three members,
 * which every macro here takes as `w` (a pointer to it):
 *
 *     uv_loop_t loop;      the loop every handle of the test runs on
 *     uv_timer_t deadline; the harness's timer
 *     bool timed_out;      set when the deadline passes
 *
 * The harness owns the deadline timer: its callback and its data (deadline.data points at
 * timed_out; set it nowhere else), starting and stopping it around each run, and closing it in
 * LOOP_HARNESS_DRAIN. It owns timed_out too (cleared at every start, set by the timer); callers
 * only read it.
 *
 * The caller owns the struct's memory (zero it before LOOP_HARNESS_INIT if it wants), the loop's
 * life (LOOP_HARNESS_INIT first; LOOP_HARNESS_DRAIN once every other handle is closed or being
 * closed; CHECK_LOOP_CLOSED last), and every other handle on the loop. Checks go through
 * tests/unit/check.h, so RUN_UNTIL and CHECK_LOOP_CLOSED count one check each, reported at the
 * caller's line.
 */
#ifndef SWARM_TESTS_LOOP_HARNESS_H
#define SWARM_TESTS_LOOP_HARNESS_H

#include "tests/unit/check.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* The deadline timer's callback: its data is the caller's timed_out. */
static inline void loop_harness_on_deadline(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

static inline void loop_harness_init(uv_loop_t *loop, uv_timer_t *deadline, bool *timed_out)
{
    uv_loop_init(loop);
    uv_timer_init(loop, deadline);
    deadline->data = timed_out;
    *timed_out = false;
}

/* Clears *timed_out and starts the deadline: *timed_out is set ms from now. */
static inline void loop_harness_arm(uv_timer_t *deadline, bool *timed_out, uint64_t ms)
{
    *timed_out = false;
    uv_timer_start(deadline, loop_harness_on_deadline, ms, 0);
}

/* Runs the loop for ms, whatever happens. */
static inline void loop_harness_run_for(uv_loop_t *loop, uv_timer_t *deadline, bool *timed_out,
                                        uint64_t ms)
{
    loop_harness_arm(deadline, timed_out, ms);
    while (!*timed_out)
        uv_run(loop, UV_RUN_ONCE);
}

/* Closes the deadline and runs the loop until nothing is left on it. */
static inline void loop_harness_drain(uv_loop_t *loop, uv_timer_t *deadline)
{
    uv_close((uv_handle_t *)deadline, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
}

/* Initialises w's loop and its deadline timer. */
#define LOOP_HARNESS_INIT(w) loop_harness_init(&(w)->loop, &(w)->deadline, &(w)->timed_out)

/* For a loop of the caller's own: DEADLINE_START, then uv_run(&w->loop, UV_RUN_ONCE) until its
 * condition or w->timed_out, then DEADLINE_STOP. */
#define DEADLINE_START(w, ms) loop_harness_arm(&(w)->deadline, &(w)->timed_out, (ms))
#define DEADLINE_STOP(w) uv_timer_stop(&(w)->deadline)

/* Runs the loop until cond holds or ms pass, then CHECKs cond (one check). cond is evaluated
 * before every turn of the loop and once more for the check. */
#define RUN_UNTIL(w, cond, ms)                                                                     \
    do {                                                                                           \
        DEADLINE_START(w, ms);                                                                     \
        while (!(cond) && !(w)->timed_out)                                                         \
            uv_run(&(w)->loop, UV_RUN_ONCE);                                                       \
        DEADLINE_STOP(w);                                                                          \
        CHECK(cond);                                                                               \
    } while (0)

/* Runs the loop for ms, whatever happens (no check). */
#define RUN_FOR(w, ms) loop_harness_run_for(&(w)->loop, &(w)->deadline, &(w)->timed_out, (ms))

/* Closes the deadline and runs the loop until no handle is left: every other handle must be
 * closed, or closing, by then. */
#define LOOP_HARNESS_DRAIN(w) loop_harness_drain(&(w)->loop, &(w)->deadline)

/* CHECKs that the loop closes cleanly (one check): after LOOP_HARNESS_DRAIN. */
#define CHECK_LOOP_CLOSED(w) CHECK_INT(uv_loop_close(&(w)->loop), 0)

#endif
