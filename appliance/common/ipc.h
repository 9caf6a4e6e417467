/*
 * ipc.h: typed, size-bounded frames between petrid processes.
 *
 * A frame is a 16-byte header (type, id, payload length, JSON length; each a
 * little-endian uint32) followed by the payload: jlen bytes of compact JSON
 * (an object, possibly empty) and then len - jlen bytes of raw data.
 *
 * Every receiver holds a permit table per peer: the message types it accepts
 * from that peer and the largest payload of each.  An unknown, unpermitted,
 * oversized or malformed frame means the peer is broken or compromised; the
 * receiving process logs it and exits (fatal), and the parent then shuts the
 * whole daemon down.
 *
 * A channel multiplexes calls: ipc_call_start() sends a request with a fresh
 * id and returns a call handle; every frame the peer sends back with that id
 * is queued on the call (several for streamed answers) until the caller frees
 * it.  Frames with an id no call is waiting for are requests from the peer
 * and go to the channel's request handler, which runs on the channel's
 * reader thread and must not block (hand long work to a worker thread and
 * answer later with ipc_send()).  When the peer closes the channel the
 * handler is called once more with a NULL message.
 */
#ifndef PETRI_IPC_H
#define PETRI_IPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "petri_err.h"

#define IPC_HDR_LEN 16
#define IPC_ID_SIDE_BIT 0x80000000U

struct ipc_hdr {
	uint32_t type;
	uint32_t id;
	uint32_t len; /* payload bytes after the header */
	uint32_t jlen; /* of which JSON */
};

struct ipc_permit {
	uint32_t type;
	uint32_t max_len;
};

struct ipc_msg {
	uint32_t type;
	uint32_t id;
	json_t *json; /* never NULL after a successful receive */
	unsigned char *data; /* raw part, may be NULL */
	size_t datalen;
	void *payload; /* owns the bytes data points into */
};

struct ipc_chan;
struct ipc_call;

typedef void (*ipc_request_fn)(struct ipc_chan *, struct ipc_msg *, void *);

/*
 * Decodes a header from 16 bytes and checks it against the global bounds.
 * Pure.  Returns 0 or PETRI_ERR_PROTO.
 */
int ipc_hdr_decode(
    const unsigned char buf[IPC_HDR_LEN], struct ipc_hdr *h) PETRI_WUR;

/* Encodes a header into 16 bytes.  Pure. */
void ipc_hdr_encode(const struct ipc_hdr *h, unsigned char buf[IPC_HDR_LEN]);

/*
 * Checks a decoded header against a permit table of n entries.  Pure.
 * Returns 0, or PETRI_ERR_PERM for an unknown type, PETRI_ERR_TOOBIG for an
 * oversized payload.
 */
int ipc_permit_check(const struct ipc_permit *permits, size_t n,
    const struct ipc_hdr *h) PETRI_WUR;

/*
 * Parses a payload (JSON part must be an object; an empty JSON part means {})
 * into msg.  Pure; msg->data points into payload (not copied).
 * Returns 0 or PETRI_ERR_PROTO.
 */
int ipc_payload_parse(const struct ipc_hdr *h, const unsigned char *payload,
    struct ipc_msg *msg) PETRI_WUR;

/*
 * Wraps a connected stream socket.  peer names the other process in logs;
 * side (0 or 1, the two ends of a channel differ) is the high bit of the ids
 * of the calls this end starts, so a frame is an answer to one of our calls
 * or a request of the peer's by its id alone; permits/npermits is what we
 * accept from the peer (the table must outlive the channel).  on_request handles unsolicited frames (may be NULL when the
 * peer never asks anything).  The reader thread starts with ipc_chan_start().
 * Returns NULL on allocation failure.  Caller frees with ipc_chan_free().
 */
struct ipc_chan *ipc_chan_new(int fd, const char *peer, int side,
    const struct ipc_permit *permits, size_t npermits,
    ipc_request_fn on_request, void *arg);

/* Starts the reader thread.  Returns 0 or PETRI_ERR_IO. */
int ipc_chan_start(struct ipc_chan *c) PETRI_WUR;

/* Closes the socket and frees the channel (reader thread must be gone). */
void ipc_chan_free(struct ipc_chan *c);

/*
 * Sends one frame; thread-safe.  json may be NULL (sent as {}); data may be
 * NULL when datalen is 0.  Returns 0, PETRI_ERR_TOOBIG or PETRI_ERR_IO.
 */
int ipc_send(struct ipc_chan *c, uint32_t type, uint32_t id, json_t *json,
    const void *data, size_t datalen) PETRI_WUR;

/*
 * Sends a request with a fresh id and registers a call to collect answers.
 * Returns the call (caller frees with ipc_call_free()) or NULL (and sets
 * *err) when the request could not be sent.
 */
struct ipc_call *ipc_call_start(struct ipc_chan *c, uint32_t type, json_t *json,
    const void *data, size_t datalen, int *err);

/* The id of a call, for follow-up frames (stdin, kill) that name it. */
uint32_t ipc_call_id(const struct ipc_call *call);

/*
 * Waits up to timeout_ms (-1: forever) for the next answer frame of a call.
 * On success *msg is filled (caller releases it with ipc_msg_clear()).
 * Returns 0, PETRI_ERR_TIMEOUT, or PETRI_ERR_UNAVAIL when the channel died.
 */
int ipc_call_next(
    struct ipc_call *call, int timeout_ms, struct ipc_msg *msg) PETRI_WUR;

/* Unregisters and frees a call, dropping unread answers.  NULL is a no-op. */
void ipc_call_free(struct ipc_call *call);

/*
 * One request, one answer: start a call, wait for its first frame, free the
 * call.  Returns 0 or the error of ipc_call_start()/ipc_call_next().
 */
int ipc_request(struct ipc_chan *c, uint32_t type, json_t *json,
    const void *data, size_t datalen, int timeout_ms,
    struct ipc_msg *reply) PETRI_WUR;

/* Releases what a received message holds and zeroes it. */
void ipc_msg_clear(struct ipc_msg *msg);

/*
 * Reads one frame synchronously from fd (no channel; used for the first
 * message a child gets from its parent).  Returns 0 or a PETRI_ERR_* code.
 */
int ipc_recv_sync(int fd, const struct ipc_permit *permits, size_t npermits,
    struct ipc_msg *msg) PETRI_WUR;

/* Writes one frame synchronously to fd.  Returns 0 or a PETRI_ERR_* code. */
int ipc_send_sync(int fd, uint32_t type, uint32_t id, json_t *json,
    const void *data, size_t datalen) PETRI_WUR;

#endif /* PETRI_IPC_H */
