/*
 * dispatch.h: how a receiver runs what its peers send.  Each receiver
 * (engine, ws, keeper, proxyd, parent, preview) holds one handler table of
 * {type, permitted peers, handler, how}; a message is handled by the
 * entry of its type that permits its peer, and a message no entry takes
 * from that peer is fatal, as a frame outside the channel's permit table
 * is (ipc.h): either side doing what it may not ends the process.  At
 * start-up dispatch_check() holds each channel's permit table (proto.c:
 * types and sizes, checked on the reader thread before parsing) to the
 * handler table, so the two cannot drift apart.
 */
#ifndef PETRI_DISPATCH_H
#define PETRI_DISPATCH_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

/* The peers of a receiver, one bit each. */
#define PEER_PARENT 0x01U
#define PEER_API 0x02U
#define PEER_ENGINE 0x04U
#define PEER_WS 0x08U
#define PEER_KEEPER 0x10U
#define PEER_PROXY 0x20U

/* A handler: ctx is the receiver's state; it answers m->id and does not
 * clear m (the dispatcher's caller does). */
typedef void (*dispatch_fn)(void *ctx, struct ipc_msg *m);

struct dispatch_entry {
	uint32_t type;
	unsigned int peers; /* PEER_* bits that may send it */
	dispatch_fn fn;
	int how; /* the receiver's own: e.g. on the reader thread or not */
};

/* The entry for type from peer (one PEER_* bit), or NULL.  Pure. */
const struct dispatch_entry *dispatch_find(
    const struct dispatch_entry *t, size_t n, uint32_t type, unsigned int peer);

/*
 * The entry for m from peer; fatal() when there is none (receiver and
 * peer_name name both for the log).
 */
const struct dispatch_entry *dispatch_get(const struct dispatch_entry *t,
    size_t n, const char *receiver, const char *peer_name, unsigned int peer,
    const struct ipc_msg *m);

/*
 * Whether the permit table of the channel from peer and the handler table
 * agree: every permitted type has an entry for peer and every entry for
 * peer is permitted.  Returns 0, or PETRI_ERR_INVAL with *bad the first
 * type that disagrees.  Pure.
 */
int dispatch_check(const struct dispatch_entry *t, size_t n, unsigned int peer,
    const struct ipc_permit *permits, size_t npermits, uint32_t *bad) PETRI_WUR;

/* dispatch_check() or fatal(): for a receiver's start-up. */
void dispatch_require(const struct dispatch_entry *t, size_t n,
    const char *receiver, const char *peer_name, unsigned int peer,
    const struct ipc_permit *permits, size_t npermits);

/*
 * Reads the fields of j strictly: json_vunpack_ex() with JSON_STRICT and
 * fmt ("{s:s, s:I, s?b}"), so a key fmt does not name, a missing required
 * key and a value of another type are refused, in nested objects too.
 * Returns 0, or PETRI_ERR_PROTO with jansson's reason in err[errlen].
 * Pure.
 */
int dispatch_vread(const json_t *j, char *err, size_t errlen, const char *fmt,
    va_list ap) PETRI_WUR;

/*
 * Reads the fields of m, a handler's message, as dispatch_vread() does,
 * each handler's inputs listed in its one format.  A message that does
 * not match is a peer's malformed message: fatal() names the receiver,
 * the message type and what is wrong.
 */
void dispatch_read(
    const struct ipc_msg *m, const char *receiver, const char *fmt, ...);

/*
 * A handler that does nothing: for the answers to a receiver's unanswered
 * messages (MSG_OK/MSG_ERR to a report), which it waits for none of.
 */
void dispatch_ignore(void *ctx, struct ipc_msg *m);

/*
 * For what a format cannot say (an "o" that must be an array): m is a
 * peer's malformed message; fatal() names the receiver, its type and why.
 */
void dispatch_malformed(const struct ipc_msg *m, const char *receiver,
    const char *why) PETRI_NORETURN;

#endif /* PETRI_DISPATCH_H */
