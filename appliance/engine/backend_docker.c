/* backend_docker.c: the Docker backend (backend.h) over docker.c. */
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "docker.h"

_Static_assert(BACKEND_ID_MAX == DOCKER_ID_MAX, "id sizes");
_Static_assert(BACKEND_IMAGE_ID_MAX == DOCKER_IMAGE_ID_MAX, "image id sizes");
_Static_assert(BACKEND_STREAM_STDOUT == DOCKER_STREAM_STDOUT &&
        BACKEND_STREAM_STDERR == DOCKER_STREAM_STDERR &&
        BACKEND_STREAM_SYSERR == DOCKER_STREAM_SYSERR,
    "stream types");

/* A backend_stream of this backend is a docker_stream. */
#define DS(s) ((struct docker_stream *)(void *)(s))
#define CDS(s) ((const struct docker_stream *)(const void *)(s))
#define BS(s) ((struct backend_stream *)(void *)(s))

static void
bd_free(void *impl)
{
	docker_free(impl);
}

static int
bd_ping(void *impl)
{
	return docker_ping(impl);
}

static int
bd_version(void *impl, json_t **out)
{
	return docker_version(impl, out);
}

static int
bd_info(void *impl, json_t **out)
{
	return docker_request(impl, "GET", "/info", NULL, 0, NULL, out);
}

static int
bd_container_create(void *impl, const char *name, json_t *config, char *id)
{
	return docker_container_create(impl, name, config, id);
}

static int
bd_container_start(void *impl, const char *ref)
{
	return docker_container_start(impl, ref);
}

static int
bd_container_kill(void *impl, const char *ref, const char *sig)
{
	return docker_container_kill(impl, ref, sig);
}

static int
bd_container_remove(void *impl, const char *ref, int force, int volumes)
{
	return docker_container_remove(impl, ref, force, volumes);
}

static int
bd_container_inspect(void *impl, const char *ref, json_t **out)
{
	return docker_container_inspect(impl, ref, out);
}

static int
bd_container_list(void *impl, const char *label, json_t **out)
{
	return docker_container_list(impl, label, out);
}

static int
bd_container_update(void *impl, const char *ref, json_t *body)
{
	char path[DOCKER_MAX_PATH];

	if ((size_t)snprintf(path, sizeof(path), "/containers/%s/update",
	        ref) >= sizeof(path))
		return PETRI_ERR_INVAL;
	return docker_request(impl, "POST", path, body, 0, NULL, NULL);
}

static int
bd_container_wait(void *impl, const char *ref, int timeout_ms, int *exit_code)
{
	return docker_container_wait(impl, ref, NULL, timeout_ms, exit_code);
}

static int
bd_container_attach(
    void *impl, const char *ref, int with_stdin, struct backend_stream **out)
{
	struct docker_stream *s = NULL;
	int r = docker_container_attach(impl, ref, with_stdin, &s);

	*out = BS(s);
	return r;
}

static int
bd_exec_create(void *impl, const char *ref, json_t *spec, char *exec_id)
{
	return docker_exec_create(impl, ref, spec, exec_id);
}

static int
bd_exec_start(void *impl, const char *exec_id, int with_stdin,
    struct backend_stream **out)
{
	struct docker_stream *s = NULL;
	int r = docker_exec_start(impl, exec_id, with_stdin, &s);

	*out = BS(s);
	return r;
}

static int
bd_exec_inspect(
    void *impl, const char *exec_id, int *running, int *exit_code, long *pid)
{
	return docker_exec_inspect(impl, exec_id, running, exit_code, pid);
}

static int
bd_network_create(void *impl, const char *name, json_t *config, char *id)
{
	return docker_network_create(impl, name, config, id);
}

static int
bd_network_inspect(void *impl, const char *ref, json_t **out)
{
	return docker_network_inspect(impl, ref, out);
}

static int
bd_image_id(void *impl, const char *ref, char *id)
{
	return docker_image_id(impl, ref, id);
}

static int
bd_stream_fd(const struct backend_stream *s)
{
	return docker_stream_fd(CDS(s));
}

static int
bd_stream_pending(const struct backend_stream *s)
{
	return docker_stream_pending(CDS(s));
}

static int
bd_stream_read(
    struct backend_stream *s, int timeout_ms, int *which, struct buf *out)
{
	return docker_stream_read(DS(s), timeout_ms, which, out);
}

static int
bd_stream_write_some(
    struct backend_stream *s, const void *p, size_t n, size_t *done)
{
	return docker_stream_write_some(DS(s), p, n, done);
}

static int
bd_stream_close_write(struct backend_stream *s)
{
	return docker_stream_close_write(DS(s));
}

static void
bd_stream_free(struct backend_stream *s)
{
	docker_stream_free(DS(s));
}

static const struct backend_ops backend_docker_ops = {
    .name = "docker",
    .free = bd_free,
    .errmsg = docker_errmsg,
    .ping = bd_ping,
    .version = bd_version,
    .info = bd_info,
    .container_create = bd_container_create,
    .container_start = bd_container_start,
    .container_kill = bd_container_kill,
    .container_remove = bd_container_remove,
    .container_inspect = bd_container_inspect,
    .container_list = bd_container_list,
    .container_update = bd_container_update,
    .container_wait = bd_container_wait,
    .container_attach = bd_container_attach,
    .exec_create = bd_exec_create,
    .exec_start = bd_exec_start,
    .exec_inspect = bd_exec_inspect,
    .network_create = bd_network_create,
    .network_inspect = bd_network_inspect,
    .image_id = bd_image_id,
    .stream_fd = bd_stream_fd,
    .stream_pending = bd_stream_pending,
    .stream_read = bd_stream_read,
    .stream_write_some = bd_stream_write_some,
    .stream_close_write = bd_stream_close_write,
    .stream_free = bd_stream_free,
};

int
backend_docker_new(const char *socket_path, struct backend **out)
{
	struct backend *b;
	struct docker *d = NULL;
	int r;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return PETRI_ERR_NOMEM;
	if ((r = docker_new(socket_path, NULL, &d)) != 0) {
		free(b);
		return r;
	}
	b->ops = &backend_docker_ops;
	b->impl = d;
	b->max_chunk = DOCKER_MAX_FRAME;
	*out = b;
	return 0;
}

void
backend_free(struct backend *b)
{
	if (b == NULL)
		return;
	b->ops->free(b->impl);
	free(b);
}
