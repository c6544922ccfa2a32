/*
 * relay_frame — the frames multiplexed over one manager-agent relay connection, after the
 * handshake. crypto/ seals each frame as one secretstream message, so a frame always reaches
 * frame_decode whole; this is the plaintext of one frame:
 *
 *   array [type, stream, ...fields]            type uint, stream uint32
 *
 *   type       stream   fields (msgpack type, bound)
 *   1 OPEN     1..2^32-1  target (str 1..32, visible ASCII; "engine" = the local Docker
 *                         socket), window (uint32: DATA bytes the opener may receive before
 *                         it sends WINDOW)
 *   2 DATA     1..2^32-1  payload (bin 0..FRAME_DATA_MAX = 65,536)
 *   3 CLOSE    1..2^32-1  how (uint: 1 write = the sender sends no more DATA, a half-close;
 *                         2 reset = the stream is over both ways), code (uint32, FRAME_CODE_*),
 *                         reason (str <= 128, text)
 *   4 WINDOW   1..2^32-1  credit (uint32 >= 1: more DATA bytes the sender may receive)
 *   5 STATE    0          kind (uint: 0 snapshot, 1 delta), seq (uint64), more (bool),
 *                         payload (bin 0..FRAME_STATE_CHUNK_MAX = 65,536): one chunk of the
 *                         agent's engine state (JSON); see "state messages" below
 *   6 PING     0          nonce (uint64), pong (bool: false = ping, true = the answer,
 *                         echoing the nonce)
 *
 * Stream 0 is the connection itself: STATE and PING use it, the others never do. Stream ids
 * are chosen by the manager (the side that OPENs). Extra trailing fields are skipped (a newer
 * version's); a frame of an unknown type yields PROTO_ERR_UNKNOWN_TYPE with f->type and
 * f->stream filled, so the caller can ignore it and go on. Largest frame: FRAME_MAX_SIZE bytes
 * (a full DATA or STATE chunk), well under what crypto/ seals in one message.
 *
 * State messages: a snapshot or delta larger than one chunk is sent as consecutive STATE frames
 * with the same kind and seq, every one but the last with more = true. Other frame types may
 * come between the chunks (so a large snapshot never stalls the proxied streams), other STATE
 * frames may not. The receiver concatenates the payloads and refuses a state message over
 * FRAME_STATE_MAX (4 MiB) in total, or a chunk whose kind or seq differs from the message
 * it continues.
 *
 * DATA and STATE payloads are views into the frame buffer on decode. On encode,
 * frame_encode_header writes everything but the payload body, so a relay can send a large
 * payload with a gather write instead of copying it.
 */
#ifndef SWARM_PROTO_RELAY_FRAME_H
#define SWARM_PROTO_RELAY_FRAME_H

#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_DATA_MAX 65536
#define FRAME_STATE_CHUNK_MAX 65536       /* payload of one STATE frame */
#define FRAME_STATE_MAX (4 * 1024 * 1024) /* a whole state message, all its chunks */
#define FRAME_TARGET_MAX 32
#define FRAME_REASON_MAX 128
/* Bytes before the payload, at most: STATE array 1 + type 1 + stream 1 + kind 1 + seq 9 +
 * more 1 + bin32 header 5 = 19. */
#define FRAME_HEADER_MAX 32
/* Largest frame accepted: a full DATA or STATE chunk, with room for fields a newer version
 * appends. */
#define FRAME_MAX_SIZE (FRAME_DATA_MAX + 1024)

enum frame_type {
    FRAME_OPEN = 1,
    FRAME_DATA = 2,
    FRAME_CLOSE = 3,
    FRAME_WINDOW = 4,
    FRAME_STATE = 5,
    FRAME_PING = 6,
};

enum frame_close_how {
    FRAME_CLOSE_WRITE = 1, /* half-close: no more DATA from the sender */
    FRAME_CLOSE_RESET = 2, /* the stream is finished both ways; forget it */
};

/* CLOSE codes; others may be added, receivers treat unknown codes as FRAME_CODE_ERROR. */
enum frame_close_code {
    FRAME_CODE_OK = 0,          /* normal end */
    FRAME_CODE_ERROR = 1,       /* unspecified failure */
    FRAME_CODE_UNREACHABLE = 2, /* the agent could not reach the target (engine down) */
    FRAME_CODE_REFUSED = 3,     /* unknown target, or too many streams */
    FRAME_CODE_PROTOCOL = 4,    /* the peer broke the frame protocol (window overrun, ...) */
};

enum frame_state_kind {
    FRAME_STATE_SNAPSHOT = 0,
    FRAME_STATE_DELTA = 1,
};

struct frame {
    enum frame_type type;
    uint32_t stream;
    union {
        struct {
            struct proto_str target;
            uint32_t window;
        } open;
        struct {
            struct proto_bytes payload;
        } data;
        struct {
            enum frame_close_how how;
            uint32_t code;
            struct proto_str reason;
        } close;
        struct {
            uint32_t credit;
        } window;
        struct {
            enum frame_state_kind kind;
            uint64_t seq;
            bool more; /* more chunks of this state message follow */
            struct proto_bytes payload;
        } state;
        struct {
            uint64_t nonce;
            bool pong;
        } ping;
    } u;
};

/* "OPEN", "DATA", ...; "unknown" otherwise. */
const char *frame_type_name(int type);

/* Encodes f into buf[0..cap); *len = bytes used. PROTO_ERR_INVALID (naming the field) or
 * PROTO_ERR_NOSPACE. */
int frame_encode(const struct frame *f, void *buf, size_t cap, size_t *len, struct proto_err *err);

/* As frame_encode for DATA and STATE, but stops after the payload's bin header: the frame is
 * these *len bytes followed by the f->u.*.payload.len payload bytes (payload.ptr is not read
 * and may be NULL). PROTO_ERR_INVALID for other types. cap >= FRAME_HEADER_MAX suffices. */
int frame_encode_header(const struct frame *f, void *buf, size_t cap, size_t *len,
                        struct proto_err *err);

/* Decodes one whole frame buf[0..len) into *f (payload and strings are views into buf).
 * 0; PROTO_ERR_UNKNOWN_TYPE for a type this build does not know (f->type, f->stream set);
 * or another PROTO_ERR_* naming the field. */
int frame_decode(const void *buf, size_t len, struct frame *f, struct proto_err *err);

/* 1 if both carry the same values (payloads compared by content). */
bool frame_equal(const struct frame *a, const struct frame *b);

#endif
