/*
 * backend.h: the container backend the engine drives.
 *
 * The engine's logic (sandboxes, executions, reconciliation) calls these
 * functions only; a backend implements them.  Docker (backend_docker.c,
 * over docker.c) is the one implementation today; the supervisor path
 * (supervisor.h) runs executions beside it, so a backend without an exec
 * of its own still runs programs through petri-init.
 *
 * Container and exec descriptions are, for now, the JSON bodies of the
 * Docker Engine API (Image, Cmd, HostConfig, ...; Cmd, Env, User, ...):
 * the shape every backend must accept or translate.  Replies are the
 * backend's inspect/list documents in the same shape (Id, State.Pid,
 * HostConfig.PidsLimit, Labels, NetworkSettings.Networks).
 *
 * Errors: 0 or a negative PETRI_ERR_* as listed in docker.h (UNAVAIL,
 * TIMEOUT, NOTFOUND, EXISTS, STATE, IO, PROTO, TOOBIG, INVAL); after a
 * failure backend_errmsg() gives the backend's own text, safe to log.
 * Threads: a struct backend may be shared by any number of threads; a
 * struct backend_stream belongs to one thread at a time.
 */
#ifndef PETRI_BACKEND_H
#define PETRI_BACKEND_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "petri_err.h"

#define BACKEND_ID_MAX 65 /* container, exec or network id, with NUL */
#define BACKEND_IMAGE_ID_MAX 72 /* "sha256:" + 64 hex + NUL */

/* Stream types of an attach/exec stream chunk. */
#define BACKEND_STREAM_STDIN 0
#define BACKEND_STREAM_STDOUT 1
#define BACKEND_STREAM_STDERR 2
#define BACKEND_STREAM_SYSERR 3 /* the backend's own error text */

struct backend_stream;

/* What a backend implements; each takes the backend's own state. */
struct backend_ops {
	const char *name; /* "docker" */
	void (*free)(void *impl);
	const char *(*errmsg)(void);
	int (*ping)(void *impl);
	int (*version)(void *impl, json_t **out);
	int (*info)(void *impl, json_t **out);
	int (*container_create)(
	    void *impl, const char *name, json_t *config, char *id);
	int (*container_start)(void *impl, const char *ref);
	int (*container_kill)(void *impl, const char *ref, const char *sig);
	int (*container_remove)(
	    void *impl, const char *ref, int force, int volumes);
	int (*container_inspect)(void *impl, const char *ref, json_t **out);
	int (*container_list)(void *impl, const char *label, json_t **out);
	int (*container_update)(void *impl, const char *ref, json_t *body);
	int (*container_wait)(
	    void *impl, const char *ref, int timeout_ms, int *exit_code);
	int (*container_attach)(void *impl, const char *ref, int with_stdin,
	    struct backend_stream **out);
	int (*exec_create)(
	    void *impl, const char *ref, json_t *spec, char *exec_id);
	int (*exec_start)(void *impl, const char *exec_id, int with_stdin,
	    struct backend_stream **out);
	int (*exec_inspect)(void *impl, const char *exec_id, int *running,
	    int *exit_code, long *pid);
	int (*network_create)(
	    void *impl, const char *name, json_t *config, char *id);
	int (*network_inspect)(void *impl, const char *ref, json_t **out);
	int (*image_id)(void *impl, const char *ref, char *id);
	int (*stream_fd)(const struct backend_stream *s);
	int (*stream_pending)(const struct backend_stream *s);
	int (*stream_read)(struct backend_stream *s, int timeout_ms, int *which,
	    struct buf *out);
	int (*stream_write_some)(
	    struct backend_stream *s, const void *p, size_t n, size_t *done);
	int (*stream_close_write)(struct backend_stream *s);
	void (*stream_free)(struct backend_stream *s);
};

struct backend {
	const struct backend_ops *ops;
	void *impl;
	size_t max_chunk; /* largest chunk stream_read() returns */
};

/*
 * Creates the Docker backend for the daemon at socket_path (NULL: the
 * default socket).  Does not connect.  *out: caller frees with
 * backend_free().  Returns 0, PETRI_ERR_INVAL, _NOMEM or _IO.
 */
int backend_docker_new(const char *socket_path, struct backend **out);

/* Frees the backend; no call may be in flight.  NULL is a no-op. */
void backend_free(struct backend *b);

/*
 * The calls, one per operation; semantics are those of the same-named
 * docker_* functions in docker.h (Docker's are the reference).
 *   create/start/kill/remove/inspect/list/update/wait: a container;
 *   attach: its output (and stdin) stream, before it starts;
 *   exec_*: a process in a running container;
 *   network_*: the sandbox network's set-up;
 *   image_id: an image's content id for the records.
 */
static inline const char *
backend_errmsg(const struct backend *b)
{
	return b->ops->errmsg();
}

static inline int PETRI_WUR
backend_ping(struct backend *b)
{
	return b->ops->ping(b->impl);
}

static inline int PETRI_WUR
backend_version(struct backend *b, json_t **out)
{
	return b->ops->version(b->impl, out);
}

static inline int PETRI_WUR
backend_info(struct backend *b, json_t **out)
{
	return b->ops->info(b->impl, out);
}

static inline int PETRI_WUR
backend_container_create(struct backend *b, const char *name, json_t *config,
    char id[BACKEND_ID_MAX])
{
	return b->ops->container_create(b->impl, name, config, id);
}

static inline int PETRI_WUR
backend_container_start(struct backend *b, const char *ref)
{
	return b->ops->container_start(b->impl, ref);
}

static inline int
backend_container_kill(struct backend *b, const char *ref, const char *sig)
{
	return b->ops->container_kill(b->impl, ref, sig);
}

static inline int
backend_container_remove(
    struct backend *b, const char *ref, int force, int volumes)
{
	return b->ops->container_remove(b->impl, ref, force, volumes);
}

static inline int PETRI_WUR
backend_container_inspect(struct backend *b, const char *ref, json_t **out)
{
	return b->ops->container_inspect(b->impl, ref, out);
}

static inline int PETRI_WUR
backend_container_list(struct backend *b, const char *label, json_t **out)
{
	return b->ops->container_list(b->impl, label, out);
}

static inline int PETRI_WUR
backend_container_update(struct backend *b, const char *ref, json_t *body)
{
	return b->ops->container_update(b->impl, ref, body);
}

static inline int PETRI_WUR
backend_container_wait(
    struct backend *b, const char *ref, int timeout_ms, int *exit_code)
{
	return b->ops->container_wait(b->impl, ref, timeout_ms, exit_code);
}

static inline int PETRI_WUR
backend_container_attach(struct backend *b, const char *ref, int with_stdin,
    struct backend_stream **out)
{
	return b->ops->container_attach(b->impl, ref, with_stdin, out);
}

static inline int PETRI_WUR
backend_exec_create(struct backend *b, const char *ref, json_t *spec,
    char exec_id[BACKEND_ID_MAX])
{
	return b->ops->exec_create(b->impl, ref, spec, exec_id);
}

static inline int PETRI_WUR
backend_exec_start(struct backend *b, const char *exec_id, int with_stdin,
    struct backend_stream **out)
{
	return b->ops->exec_start(b->impl, exec_id, with_stdin, out);
}

static inline int PETRI_WUR
backend_exec_inspect(struct backend *b, const char *exec_id, int *running,
    int *exit_code, long *pid)
{
	return b->ops->exec_inspect(b->impl, exec_id, running, exit_code, pid);
}

static inline int PETRI_WUR
backend_network_create(struct backend *b, const char *name, json_t *config,
    char id[BACKEND_ID_MAX])
{
	return b->ops->network_create(b->impl, name, config, id);
}

static inline int PETRI_WUR
backend_network_inspect(struct backend *b, const char *ref, json_t **out)
{
	return b->ops->network_inspect(b->impl, ref, out);
}

static inline int PETRI_WUR
backend_image_id(
    struct backend *b, const char *ref, char id[BACKEND_IMAGE_ID_MAX])
{
	return b->ops->image_id(b->impl, ref, id);
}

/* Streams: the poll(2) descriptor, buffered data, reads and writes. */
static inline int
backend_stream_fd(const struct backend *b, const struct backend_stream *s)
{
	return b->ops->stream_fd(s);
}

static inline int
backend_stream_pending(const struct backend *b, const struct backend_stream *s)
{
	return b->ops->stream_pending(s);
}

static inline int PETRI_WUR
backend_stream_read(const struct backend *b, struct backend_stream *s,
    int timeout_ms, int *which, struct buf *out)
{
	return b->ops->stream_read(s, timeout_ms, which, out);
}

static inline int PETRI_WUR
backend_stream_write_some(const struct backend *b, struct backend_stream *s,
    const void *p, size_t n, size_t *done)
{
	return b->ops->stream_write_some(s, p, n, done);
}

static inline int PETRI_WUR
backend_stream_close_write(const struct backend *b, struct backend_stream *s)
{
	return b->ops->stream_close_write(s);
}

static inline void
backend_stream_free(const struct backend *b, struct backend_stream *s)
{
	b->ops->stream_free(s);
}

#endif /* PETRI_BACKEND_H */
