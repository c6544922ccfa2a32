/*
 * xorshift — the randomized unit tests' small generator: deterministic for a seed (set
 * rng_state, nonzero), so a failing case can be run again. Header-only: each test includes it
 * once.
 */
#ifndef SWARM_TESTS_XORSHIFT_H
#define SWARM_TESTS_XORSHIFT_H

#include <stddef.h>
#include <stdint.h>

static uint64_t rng_state;

/* A number in [0, n); 0 when n is 0. */
static inline uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)(rng_state % n) : 0;
}

static inline const char *pick_str(const char *const *v, size_t n)
{
    return v[rnd((uint32_t)n)];
}

/* One element of a string array, at random. */
#define PICK(v) pick_str(v, sizeof(v) / sizeof(v[0]))

#endif
