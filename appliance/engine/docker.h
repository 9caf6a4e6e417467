/*
 * docker.h: the Docker Engine API client, used by the engine process only.
 *
 * Talks HTTP/1.1 over the daemon's unix socket with libcurl.  Everything
 * Docker answers is untrusted input: replies are bounded by DOCKER_MAX_REPLY
 * and parsed strictly with jansson (duplicate keys rejected), attach/exec
 * streams are demultiplexed by a pure state machine (docker_demux_*), and
 * every call has a deadline.  No docker CLI is ever run.
 *
 * Threads: one struct docker may be shared by any number of threads.  Each
 * call borrows a CURL easy handle from a small mutex-protected pool and gives
 * it back, so keep-alive connections to dockerd are reused across calls.  A
 * struct docker_stream belongs to one thread at a time.
 *
 * Errors: functions return 0 (or 1 where said) on success and a negative
 * PETRI_ERR_* code on failure:
 *   PETRI_ERR_UNAVAIL   dockerd unreachable, connection dropped
 *   PETRI_ERR_TIMEOUT   the deadline passed
 *   PETRI_ERR_NOTFOUND  HTTP 404 (no such container, exec, network, image)
 *   PETRI_ERR_EXISTS    HTTP 409 on a .../create endpoint (name in use)
 *   PETRI_ERR_STATE     HTTP 409 elsewhere (container not running, ...)
 *   PETRI_ERR_IO        any other HTTP error status, socket errors
 *   PETRI_ERR_PROTO     a reply that is not what the API promises
 *   PETRI_ERR_TOOBIG    a reply over its bound
 *   PETRI_ERR_INVAL     a bad argument (malformed id, name, path, timeout)
 * After a failure, docker_errmsg() gives Docker's own message for logs.
 */
#ifndef PETRI_DOCKER_H
#define PETRI_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bounds.h"
#include "buf.h"
#include "petri_err.h"

#define DOCKER_API_VERSION "v1.41" /* default API version prefix */
#define DOCKER_SOCKET_PATH "/var/run/docker.sock"

#define DOCKER_ID_MAX 65 /* 64 hex digits + NUL (container, exec, network) */
#define DOCKER_IMAGE_ID_MAX 72 /* "sha256:" + 64 hex digits + NUL */
#define DOCKER_NAME_MAX 128 /* a container or network name we accept */
#define DOCKER_IMAGE_REF_MAX 255 /* "repo/name:tag" or "name@sha256:..." */
#define DOCKER_ERRMSG_MAX 256 /* docker_errmsg() text, with NUL */
#define DOCKER_MAX_PATH 4096 /* request path incl. query string */
#define DOCKER_HIJACK_MAX_HEAD 16384 /* status line + headers of a hijack */
#define DOCKER_STREAM_BUF 65536 /* raw read buffer of a stream */
#define DOCKER_POOL_MAX 16 /* idle CURL handles kept for reuse */
#define DOCKER_LABEL_MAX 1024 /* a label filter "key" or "key=value" */
#define DOCKER_MAX_CALL_MS (EXEC_MAX_TIMEOUT_MS + DOCKER_TIMEOUT_MS)

/* Stream types of the multiplexed attach/exec stream (the header's byte 0). */
#define DOCKER_STREAM_STDIN 0
#define DOCKER_STREAM_STDOUT 1
#define DOCKER_STREAM_STDERR 2
#define DOCKER_STREAM_SYSERR 3 /* dockerd's own error text after a hijack */

struct docker;
struct docker_stream;

/* Counters for tests and benchmarks. */
struct docker_stats {
	unsigned long long requests; /* docker_request()s that reached curl */
	unsigned long long connects; /* new connections those opened */
	unsigned long long streams; /* hijacked streams opened */
};

/*
 * Creates a client for the daemon at socket_path (NULL: DOCKER_SOCKET_PATH)
 * speaking API version api_version ("v1.41"; NULL: DOCKER_API_VERSION).
 * Does not connect.  Initialises libcurl globally once per process.
 * On success *out is set; caller frees with docker_free().
 * Returns 0, PETRI_ERR_INVAL (path too long for a sockaddr_un, malformed
 * version), PETRI_ERR_NOMEM or PETRI_ERR_IO (libcurl initialisation).
 */
int docker_new(const char *socket_path, const char *api_version,
    struct docker **out) PETRI_WUR;

/*
 * Frees the client and its pooled connections.  No call may be in flight on
 * any thread; streams opened from it stay valid.  docker_free(NULL) is a
 * no-op.
 */
void docker_free(struct docker *d);

/* Copies the client's counters into *out. */
void docker_stats_get(struct docker *d, struct docker_stats *out);

/*
 * Returns the calling thread's message for its last failed docker_* call:
 * Docker's {"message": ...} text or a transport description, cut to
 * DOCKER_ERRMSG_MAX - 1 bytes, control and non-ASCII bytes replaced by '?'
 * (safe to log).  "" after a successful call.  Valid until this thread's
 * next docker_* call.  Never NULL.
 */
const char *docker_errmsg(void);

/*
 * Performs one JSON call: method is "GET", "POST", "PUT" or "DELETE"; path
 * is the API path after the version prefix, starting with '/', query string
 * included, already URL-encoded (printable ASCII, no '#', no ".." before the
 * query).  body (may be NULL) is sent as application/json.  timeout_ms is the
 * deadline of the whole call, 0 for DOCKER_TIMEOUT_MS, at most
 * DOCKER_MAX_CALL_MS.
 * *status (may be NULL) gets the HTTP status, or 0 when none was received.
 * When reply is not NULL it gets the parsed JSON body (object or array) of a
 * successful reply, or NULL when the body was empty (204, 304); caller frees
 * with json_decref().
 * Returns 0 for 2xx and 304; on an HTTP error the mapped code above (message
 * in docker_errmsg()); PETRI_ERR_PROTO for an unparsable success body or an
 * unexpected status class; PETRI_ERR_TOOBIG past DOCKER_MAX_REPLY.
 */
int docker_request(struct docker *d, const char *method, const char *path,
    json_t *body, int timeout_ms, long *status, json_t **reply) PETRI_WUR;

/* GET /_ping with a DOCKER_CONNECT_TIMEOUT_MS deadline.  Returns 0 when up. */
int docker_ping(struct docker *d) PETRI_WUR;

/*
 * GET /version.  *out gets the object (with "Version", "ApiVersion", ...);
 * caller frees with json_decref().
 */
int docker_version(struct docker *d, json_t **out) PETRI_WUR;

/*
 * Creates a container named name (NULL: Docker picks one; else 1 to
 * DOCKER_NAME_MAX of [A-Za-z0-9_.-], starting alphanumeric) from config, the
 * API's create body (Image, Cmd, Labels, HostConfig, ...).  id gets the new
 * container's 64-hex id.  PETRI_ERR_EXISTS when the name is taken.
 */
int docker_container_create(struct docker *d, const char *name, json_t *config,
    char id[DOCKER_ID_MAX]) PETRI_WUR;

/*
 * Starts, stops (SIGTERM, then SIGKILL after timeout_sec, 0..3600) or sends
 * signal (NULL: "KILL"; else 1-15 of [A-Z0-9+]) to the container ref (an id
 * or a name).  Start and stop return 0 when the container already was in that
 * state (HTTP 304); kill returns PETRI_ERR_STATE when it is not running.
 */
int docker_container_start(struct docker *d, const char *ref) PETRI_WUR;
int docker_container_stop(struct docker *d, const char *ref, int timeout_sec);
int docker_container_kill(
    struct docker *d, const char *ref, const char *signal);

/*
 * Removes the container ref; force kills it first when running, volumes
 * removes its anonymous volumes.  PETRI_ERR_NOTFOUND when it does not exist.
 * Stop, kill and the two removes may be called best-effort on clean-up
 * paths, so their results may be ignored.
 */
int docker_container_remove(
    struct docker *d, const char *ref, int force, int volumes);

/* GET /containers/{ref}/json.  *out: the object; caller json_decref()s. */
int docker_container_inspect(
    struct docker *d, const char *ref, json_t **out) PETRI_WUR;

/*
 * Lists all containers (running or not) that carry label, "key" or
 * "key=value" (1 to DOCKER_LABEL_MAX bytes, no control characters).
 * *out: the array of summaries; caller json_decref()s.
 */
int docker_container_list(
    struct docker *d, const char *label, json_t **out) PETRI_WUR;

/*
 * Waits until the container ref reaches condition ("not-running" when NULL,
 * "next-exit" or "removed") or timeout_ms (1..DOCKER_MAX_CALL_MS) passes.
 * *exit_code (may be NULL) gets its exit status (128+n after signal n).
 * Returns 0, PETRI_ERR_TIMEOUT, or the errors above.
 */
int docker_container_wait(struct docker *d, const char *ref,
    const char *condition, int timeout_ms, int *exit_code) PETRI_WUR;

/*
 * Attaches to the container ref's stdout and stderr (and stdin when
 * with_stdin) through a hijacked connection; meant for one-shot containers,
 * attached before they are started.  The container must be created without
 * a TTY; with stdin it needs "OpenStdin": true, and "StdinOnce": true for
 * docker_stream_close_write() to reach the process as EOF.
 * On success *out is the stream; caller frees with docker_stream_free().
 */
int docker_container_attach(struct docker *d, const char *ref, int with_stdin,
    struct docker_stream **out) PETRI_WUR;

/*
 * Creates a network named name (same rules as container names) from config,
 * the API's create body without "Name" (NULL: defaults; "Internal": true for
 * sandbox networks).  "CheckDuplicate" defaults to true.  id gets the
 * network's 64-hex id.  PETRI_ERR_EXISTS when the name is taken.
 */
int docker_network_create(struct docker *d, const char *name, json_t *config,
    char id[DOCKER_ID_MAX]) PETRI_WUR;

/* GET /networks/{ref}.  *out: the object; caller json_decref()s. */
int docker_network_inspect(
    struct docker *d, const char *ref, json_t **out) PETRI_WUR;

/* Removes the network ref.  PETRI_ERR_NOTFOUND when it does not exist. */
int docker_network_remove(struct docker *d, const char *ref);

/*
 * GET /images/{ref}/json for an image reference ("petri/python:tag", an id;
 * 1 to DOCKER_IMAGE_REF_MAX of [A-Za-z0-9._:/@-]).  *out: the object; caller
 * json_decref()s.
 */
int docker_image_inspect(
    struct docker *d, const char *ref, json_t **out) PETRI_WUR;

/* Writes the image's content id ("sha256:" + 64 hex) for audit records. */
int docker_image_id(
    struct docker *d, const char *ref, char id[DOCKER_IMAGE_ID_MAX]) PETRI_WUR;

/*
 * Creates an exec instance in the running container ref from spec, the
 * API's exec body (Cmd, Env, User, WorkingDir, AttachStdin/Stdout/Stderr).
 * "Tty" must be absent or false: streams are always multiplexed.
 * exec_id gets its 64-hex id.  PETRI_ERR_STATE when the container is not
 * running, PETRI_ERR_INVAL for a bad spec.
 */
int docker_exec_create(struct docker *d, const char *ref, json_t *spec,
    char exec_id[DOCKER_ID_MAX]) PETRI_WUR;

/*
 * Starts the exec instance and hijacks the connection for its output (and
 * stdin when with_stdin; the exec must then have been created with
 * "AttachStdin": true).  Errors dockerd reports once the stream is open
 * (e.g. executable not found) arrive as stream text; the exit code comes
 * from docker_exec_inspect() after the stream's EOF.
 * On success *out is the stream; caller frees with docker_stream_free().
 */
int docker_exec_start(struct docker *d, const char *exec_id, int with_stdin,
    struct docker_stream **out) PETRI_WUR;

/*
 * Inspects the exec instance.  *running gets 1 or 0; *exit_code its exit
 * status once finished (128+n after signal n), -1 while running or before
 * it was started; *pid the process id on the host (0 when unknown).  Any
 * out-pointer may be NULL.
 */
int docker_exec_inspect(struct docker *d, const char *exec_id, int *running,
    int *exit_code, long *pid) PETRI_WUR;

/*
 * The socket of the stream, for poll(2) (POLLIN for output, POLLOUT for
 * stdin).  Owned by the stream: do not read, write or close it.  Data may be
 * buffered inside the stream: after POLLIN call docker_stream_read() with a
 * 0 timeout until it returns PETRI_ERR_TIMEOUT, or check
 * docker_stream_pending() before polling again.
 */
int docker_stream_fd(const struct docker_stream *s);

/* Returns 1 when received bytes wait in the stream's buffer, else 0. */
int docker_stream_pending(const struct docker_stream *s);

/*
 * Reads the next chunk of output: empties out, then fills it with up to
 * min(out->max, DOCKER_MAX_FRAME) bytes of one frame's payload (a larger
 * frame comes in several chunks) and sets *which to DOCKER_STREAM_STDOUT,
 * _STDERR, _STDIN or _SYSERR.  Waits at most timeout_ms (0: only what is
 * already there; at most DOCKER_MAX_CALL_MS).
 * Returns 1 with a non-empty chunk, 0 on a clean end of stream (at a frame
 * boundary), PETRI_ERR_TIMEOUT, PETRI_ERR_PROTO (malformed frame header),
 * PETRI_ERR_TRUNCATED (stream ended inside a frame), PETRI_ERR_IO or
 * PETRI_ERR_NOMEM.  Errors other than a timeout are sticky.
 */
int docker_stream_read(struct docker_stream *s, int timeout_ms, int *which,
    struct buf *out) PETRI_WUR;

/*
 * Sends n bytes to the process's stdin, waiting up to timeout_ms (0:
 * DOCKER_TIMEOUT_MS) for room.  A caller that also reads output from one
 * thread should use docker_stream_write_some() in its poll loop instead, or
 * a large stdin can deadlock against unread output.
 * Returns 0, PETRI_ERR_STATE (no stdin, after close_write, or once the
 * output ended or failed: dockerd then half-closes and reads no more),
 * PETRI_ERR_TIMEOUT (no room: the process does not read its stdin),
 * PETRI_ERR_IO (connection reset).
 */
int docker_stream_write(
    struct docker_stream *s, const void *p, size_t n, int timeout_ms) PETRI_WUR;

/*
 * Sends what fits now without waiting; *done gets the count (may be 0, then
 * poll for POLLOUT).  Returns 0 or the errors of docker_stream_write().
 */
int docker_stream_write_some(
    struct docker_stream *s, const void *p, size_t n, size_t *done) PETRI_WUR;

/*
 * Half-closes the connection (shutdown(SHUT_WR)): the process reads EOF on
 * its stdin while its output keeps flowing.  No-op without stdin or when
 * already closed.  Returns 0 or PETRI_ERR_IO.
 */
int docker_stream_close_write(struct docker_stream *s) PETRI_WUR;

/* Closes the connection and frees the stream.  NULL is a no-op. */
void docker_stream_free(struct docker_stream *s);

/*
 * The stream demultiplexer, pure (no I/O, no allocation), for the socket
 * code above and for fuzzing.  The stream is a sequence of frames: an 8-byte
 * header (byte 0 the stream type 0..3, bytes 1-3 zero, bytes 4-7 the payload
 * size as uint32 big-endian) and the payload.  Initialise with
 * docker_demux_init(); the state lives in the struct only.
 */
struct docker_demux {
	uint8_t hdr[8]; /* header bytes collected so far */
	size_t hdrlen; /* how many */
	int stream; /* type of the current frame */
	uint32_t left; /* payload bytes of the current frame still due */
	int err; /* sticky error, 0 when fine */
};

/* One piece of a frame's payload; p points into the bytes fed. */
struct docker_chunk {
	int stream;
	const uint8_t *p;
	size_t len;
};

/* Resets dm to "expecting a frame header". */
void docker_demux_init(struct docker_demux *dm);

/*
 * Consumes bytes from p[0..n) until it has one non-empty chunk of at most
 * min(max, DOCKER_MAX_FRAME) payload bytes.  *used gets the count consumed
 * (headers included); continue with p + *used.
 * Returns 1 with *c set, 0 when all n bytes were consumed without a chunk
 * (more input needed), PETRI_ERR_PROTO on a malformed header (sticky;
 * *used then counts up to that header), PETRI_ERR_INVAL when max is 0.
 */
int docker_demux_step(struct docker_demux *dm, const uint8_t *p, size_t n,
    size_t max, size_t *used, struct docker_chunk *c) PETRI_WUR;

/*
 * Called by docker_demux_feed() once per chunk.  A non-zero return stops
 * the feed, which returns that value.
 */
typedef int (*docker_demux_cb)(void *arg, const struct docker_chunk *c);

/*
 * Consumes all n bytes, calling cb for each chunk (at most DOCKER_MAX_FRAME
 * bytes).  Returns 0, PETRI_ERR_PROTO, or the callback's non-zero value.
 */
int docker_demux_feed(struct docker_demux *dm, const uint8_t *p, size_t n,
    docker_demux_cb cb, void *arg) PETRI_WUR;

/*
 * Tells the demultiplexer the input ended.  Returns 0 at a frame boundary,
 * PETRI_ERR_TRUNCATED inside a header or payload, or the sticky error.
 */
int docker_demux_end(const struct docker_demux *dm) PETRI_WUR;

/* The status line and headers of a hijack reply, as far as we use them. */
struct docker_http_head {
	int status; /* 100..599 */
	size_t headlen; /* bytes up to and including the empty line */
	long long content_length; /* -1 when absent */
	int chunked; /* Transfer-Encoding: chunked */
};

/*
 * Parses an HTTP/1.x response head from p[0..n), pure.  Strict: CRLF line
 * ends, "HTTP/1.0" or "HTTP/1.1", a 3-digit status, token header names,
 * no folding, no NUL, one consistent Content-Length, not both
 * Content-Length and Transfer-Encoding.
 * Returns 0 with *h set, PETRI_ERR_TRUNCATED when the head is incomplete
 * (read more), PETRI_ERR_TOOBIG when no head ends within
 * DOCKER_HIJACK_MAX_HEAD bytes, PETRI_ERR_PROTO when malformed.
 */
int docker_http_head_parse(
    const char *p, size_t n, struct docker_http_head *h) PETRI_WUR;

#endif /* PETRI_DOCKER_H */
