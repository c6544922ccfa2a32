/*
 * unixsock — small helpers for the unix sockets the daemons serve (control socket, API socket).
 * No state; nothing to free.
 */
#ifndef SWARM_COMMON_UNIXSOCK_H
#define SWARM_COMMON_UNIXSOCK_H

/* 1 if a process accepts connections on the unix socket at path, 0 if nobody does (no file, a
 * stale file left by a dead process, or not a socket). Used before replacing a socket file. */
int unixsock_listening(const char *path);

#endif
