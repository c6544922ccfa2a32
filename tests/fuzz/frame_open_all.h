/*
 * The frame fuzz targets' shared body: opens frame after frame from a byte stream with a
 * receiving cipher the caller set up, until it needs more bytes, fails or sees FINAL, and aborts
 * on any broken promise of crypto/frame.h (bytes consumed on NEED_MORE or on an error, a direction
 * left open after an error or FINAL, a frame size that does not add up). The caller owns fc and
 * closes it.
 */
#ifndef SWARM_TESTS_FUZZ_FRAME_OPEN_ALL_H
#define SWARM_TESTS_FUZZ_FRAME_OPEN_ALL_H

#include "crypto/frame.h"

#include <stdint.h>
#include <stdlib.h>

static inline void frame_open_all(struct frame_cipher *fc, const uint8_t *p, size_t left)
{
    static uint8_t out[FRAME_MAX_PLAINTEXT];
    for (;;) {
        size_t used, n;
        int fin;
        int rc = frame_open(fc, p, left, &used, out, sizeof(out), &n, &fin);
        if (rc == FRAME_NEED_MORE) {
            if (used != 0)
                abort();
            return;
        }
        if (rc != FRAME_OK) {
            if (used != 0 || n != 0 || fc->rx_state != FRAME_DIR_CLOSED)
                abort();
            /* Closed for good. */
            if (frame_open(fc, p, left, &used, out, sizeof(out), &n, &fin) != FRAME_ERR_CLOSED)
                abort();
            return;
        }
        if (used > left || used != n + FRAME_OVERHEAD)
            abort();
        p += used;
        left -= used;
        if (fin) {
            if (fc->rx_state != FRAME_DIR_CLOSED)
                abort();
            return;
        }
    }
}

#endif
