/*
 * test_docker.c: the Docker client against the real engine at
 * /var/run/docker.sock (the test suite always has dockerd running).
 *
 * Everything it creates is named "petri-test-dk-<pid>-..." and labelled
 * petri.test=dockerclient-<pid>, and is removed at the end even when checks
 * fail.  It never touches anything else.  The image
 * petri-test/busybox:dockerclient is imported from /bin/busybox
 * (busybox-static) when missing.
 *
 * PETRI_DOCKER_BENCH=N (e.g. 50) also times N exec round trips through the
 * client and through the docker CLI and prints both medians.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <jansson.h>

#include "bounds.h"
#include "buf.h"
#include "docker.h"
#include "util.h"
#include "unit.h"

#define IMAGE "petri-test/busybox:dockerclient"
#define BIG_OUTPUT (10UL << 20)
#define BIG_STDIN (2UL << 20)
#define MAX_TRACKED 32

extern char **environ;

static struct docker *d;
static char label[64]; /* petri.test=dockerclient-<pid> */
static char prefix[64]; /* petri-test-dk-<pid> */
static char cid[DOCKER_ID_MAX]; /* the long-lived test container */
static char containers[MAX_TRACKED][DOCKER_ID_MAX];
static char networks[MAX_TRACKED][DOCKER_ID_MAX];
static int ncontainers, nnetworks;

static void
track(char list[][DOCKER_ID_MAX], int *n, const char *id)
{
	if (*n < MAX_TRACKED)
		petri_strlcpy(list[(*n)++], id, DOCKER_ID_MAX);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Image import (test set-up only). */

static int
tar_add(struct archive *a, const char *path, mode_t type, int mode,
    const char *link, const void *data, size_t n)
{
	struct archive_entry *e;
	int r;

	if ((e = archive_entry_new()) == NULL)
		return -1;
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, mode);
	archive_entry_set_size(e, (la_int64_t)n);
	if (link != NULL)
		archive_entry_set_symlink(e, link);
	r = archive_write_header(a, e);
	if (r == ARCHIVE_OK && n > 0 &&
	    archive_write_data(a, data, n) != (la_ssize_t)n)
		r = -1;
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : -1;
}

/*
 * Imports a rootfs of /bin/busybox and its applet links as IMAGE through
 * POST /images/create?fromSrc=- (a tar body, so raw libcurl here).
 */
static int
image_import(void)
{
	static const char *applets[] = {"sh", "cat", "echo", "sleep", "kill",
	    "true", "false", "head", "yes", "dd", "env", "id", "ps", "wc",
	    "seq", "printf", "tr", "ls"};
	static const char *dirs[] = {"bin", "tmp", "proc", "sys", "dev", "etc"};
	struct archive *a = NULL;
	struct curl_slist *hdrs = NULL;
	char *bb = NULL, *tar = NULL, lpath[64];
	size_t bblen = 0, tarcap, tarlen = 0, i;
	CURL *h = NULL;
	long code = 0;
	int r = -1;

	if (petri_file_read("/bin/busybox", 8UL << 20, &bb, &bblen) != 0) {
		fprintf(stderr,
		    "test_docker: image %s missing and no "
		    "/bin/busybox (apt-get install busybox-static)\n",
		    IMAGE);
		return -1;
	}
	tarcap = bblen + (1UL << 20);
	if ((tar = malloc(tarcap)) == NULL || (a = archive_write_new()) == NULL)
		goto out;
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_memory(a, tar, tarcap, &tarlen) != ARCHIVE_OK)
		goto out;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (tar_add(a, dirs[i], AE_IFDIR, 0755, NULL, NULL, 0) != 0)
			goto out;
	if (tar_add(a, "bin/busybox", AE_IFREG, 0755, NULL, bb, bblen) != 0)
		goto out;
	for (i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		snprintf(lpath, sizeof(lpath), "bin/%s", applets[i]);
		if (tar_add(a, lpath, AE_IFLNK, 0777, "busybox", NULL, 0) != 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		goto out;

	if ((h = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(
	         NULL, "Content-Type: application/x-tar")) == NULL)
		goto out;
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, DOCKER_SOCKET_PATH);
	curl_easy_setopt(h, CURLOPT_URL,
	    "http://docker/v1.41/images/create?fromSrc=-"
	    "&repo=petri-test/busybox&tag=dockerclient"
	    "&changes=ENV%20PATH%3D%2Fbin");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, tar);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)tarlen);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
	if (curl_easy_perform(h) == CURLE_OK &&
	    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
	    code == 200)
		r = 0;
	else
		fprintf(
		    stderr, "test_docker: image import failed (%ld)\n", code);
out:
	if (a != NULL)
		archive_write_free(a);
	curl_slist_free_all(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	free(tar);
	free(bb);
	return r;
}

/* Exec helpers. */

struct xres {
	struct buf out, err;
	int exit_code;
	int rc; /* 0: stream ended cleanly, else the error */
};

static void
xres_init(struct xres *x)
{
	buf_init(&x->out, 64UL << 20);
	buf_init(&x->err, 64UL << 20);
	x->exit_code = -2;
	x->rc = -1000;
}

static void
xres_free(struct xres *x)
{
	buf_free(&x->out);
	buf_free(&x->err);
}

static json_t *
spec_new(json_t *cmd, int with_stdin)
{
	return json_pack("{s:b,s:b,s:b,s:o}", "AttachStdin", with_stdin,
	    "AttachStdout", 1, "AttachStderr", 1, "Cmd", cmd);
}

/* Reads the stream to its end (or an error, or timeout_ms) into x. */
static void
drain(struct docker_stream *s, int timeout_ms, struct xres *x)
{
	struct buf chunk;
	int64_t deadline = petri_mono_ms() + timeout_ms;
	int which, r;

	buf_init(&chunk, DOCKER_MAX_FRAME);
	for (;;) {
		int64_t left = deadline - petri_mono_ms();

		r = docker_stream_read(
		    s, left > 0 ? (int)left : 0, &which, &chunk);
		if (r != 1)
			break;
		if (which == DOCKER_STREAM_STDOUT)
			r = buf_append(&x->out, chunk.data, chunk.len);
		else
			r = buf_append(&x->err, chunk.data, chunk.len);
		if (r != 0)
			break;
	}
	x->rc = r;
	buf_free(&chunk);
}

/* The exit code after the stream's end; retried briefly against races. */
static int
exit_code_of(const char *eid)
{
	int64_t deadline = petri_mono_ms() + 10000;
	int running = 1, code = -2;

	/* up to 10 s: dockerd is slow to report an exit on a loaded host,
	 * and may fail one inspect (asked again) */
	while (petri_mono_ms() < deadline) {
		if (docker_exec_inspect(d, eid, &running, &code, NULL) == 0 &&
		    !running)
			return code;
		usleep(5000);
	}
	return -4;
}

/* Runs cmd (stolen) in container ref with optional stdin. */
static int
run_exec(const char *ref, json_t *cmd, const char *in, size_t inlen,
    int timeout_ms, struct xres *x)
{
	struct docker_stream *s = NULL;
	char eid[DOCKER_ID_MAX];
	json_t *spec;
	int r;

	if ((spec = spec_new(cmd, in != NULL)) == NULL)
		return PETRI_ERR_NOMEM;
	r = docker_exec_create(d, ref, spec, eid);
	json_decref(spec);
	if (r != 0)
		return r;
	if ((r = docker_exec_start(d, eid, in != NULL, &s)) != 0)
		return r;
	if (in != NULL) {
		if ((r = docker_stream_write(s, in, inlen, 0)) != 0 ||
		    (r = docker_stream_close_write(s)) != 0)
			goto out;
	}
	drain(s, timeout_ms, x);
	x->exit_code = exit_code_of(eid);
out:
	docker_stream_free(s);
	return r;
}

static json_t *
argv_sh(const char *script)
{
	return json_pack("[s,s,s]", "sh", "-c", script);
}

/* Set-up and clean-up. */

static json_t *
container_config(json_t *cmd)
{
	return json_pack("{s:s,s:o,s:{s:s},s:{s:s}}", "Image", IMAGE, "Cmd",
	    cmd, "Labels", "petri.test", label + strlen("petri.test="),
	    "HostConfig", "NetworkMode", "none");
}

static void
cleanup(void)
{
	json_t *list = NULL;
	char name[128];
	size_t i;
	int k;

	for (k = 0; k < ncontainers; k++)
		(void)docker_container_remove(d, containers[k], 1, 1);
	for (k = 0; k < nnetworks; k++)
		(void)docker_network_remove(d, networks[k]);
	snprintf(name, sizeof(name), "%s-net", prefix);
	(void)docker_network_remove(d, name);
	ncontainers = nnetworks = 0;
	/* anything of ours that was created but not tracked */
	if (docker_container_list(d, label, &list) == 0) {
		for (i = 0; i < json_array_size(list); i++) {
			json_t *id =
			    json_object_get(json_array_get(list, i), "Id");

			if (json_is_string(id))
				(void)docker_container_remove(
				    d, json_string_value(id), 1, 1);
		}
		json_decref(list);
	}
}

/* Tests. */

static void
test_new_args(void)
{
	struct docker *x = NULL;

	CHECK(docker_new("relative.sock", NULL, &x) == PETRI_ERR_INVAL);
	CHECK(docker_new(NULL, "1.41", &x) == PETRI_ERR_INVAL);
	CHECK(docker_new(NULL, "v1.41/../x", &x) == PETRI_ERR_INVAL);
	CHECK(docker_new(NULL, "v141", &x) == PETRI_ERR_INVAL);
	CHECK(x == NULL);
	docker_free(NULL);

	/* no daemon there: transport failure */
	CHECK(docker_new("/nonexistent/docker.sock", NULL, &x) == 0);
	if (x != NULL) {
		CHECK(docker_ping(x) == PETRI_ERR_UNAVAIL);
		CHECK(docker_errmsg()[0] != '\0');
		docker_free(x);
	}
}

static void
test_ping_version(void)
{
	json_t *v = NULL;
	const char *api;

	CHECK(docker_ping(d) == 0);
	CHECK(docker_errmsg()[0] == '\0');
	CHECK(docker_version(d, &v) == 0);
	api = json_string_value(json_object_get(v, "ApiVersion"));
	CHECK(api != NULL);
	if (api != NULL)
		printf("docker engine %s, API %s\n",
		    json_string_value(json_object_get(v, "Version")), api);
	json_decref(v);
}

static void
test_request_errors(void)
{
	json_t *j = (json_t *)1;
	long status = -1;

	CHECK(docker_request(d, "GET", "/containers/petri-test-none-xyz/json",
	          NULL, 0, &status, &j) == PETRI_ERR_NOTFOUND);
	CHECK(status == 404 && j == NULL);
	CHECK(strstr(docker_errmsg(), "No such container") != NULL);
	CHECK(docker_request(d, "GET", "no-slash", NULL, 0, NULL, NULL) ==
	    PETRI_ERR_INVAL);
	CHECK(docker_request(d, "GET", "/containers/../json", NULL, 0, NULL,
	          NULL) == PETRI_ERR_INVAL);
	CHECK(docker_request(d, "GET", "/a b", NULL, 0, NULL, NULL) ==
	    PETRI_ERR_INVAL);
	CHECK(docker_request(d, "PATCH", "/_ping", NULL, 0, NULL, NULL) ==
	    PETRI_ERR_INVAL);
	CHECK(docker_request(d, "GET", "/_ping", NULL, -1, NULL, NULL) ==
	    PETRI_ERR_INVAL);
	/* a success body that is not JSON */
	CHECK(docker_request(d, "GET", "/_ping", NULL, 0, &status, &j) ==
	    PETRI_ERR_PROTO);
	CHECK(status == 200 && j == NULL);
	/* bad refs never reach the daemon */
	CHECK(docker_container_inspect(d, "../x", &j) == PETRI_ERR_INVAL);
	CHECK(docker_container_inspect(d, "a/b", &j) == PETRI_ERR_INVAL);
	CHECK(docker_container_inspect(d, "a?b", &j) == PETRI_ERR_INVAL);
	CHECK(docker_image_inspect(d, "a/../b", &j) == PETRI_ERR_INVAL);
	CHECK(
	    docker_exec_inspect(d, "abc", NULL, NULL, NULL) == PETRI_ERR_INVAL);
	CHECK(docker_container_kill(d, "x", "KILL;") == PETRI_ERR_INVAL);
}

static void
test_image(void)
{
	char id[DOCKER_IMAGE_ID_MAX];
	int r;

	r = docker_image_id(d, IMAGE, id);
	if (r == PETRI_ERR_NOTFOUND) {
		CHECK(image_import() == 0);
		r = docker_image_id(d, IMAGE, id);
	}
	CHECK(r == 0);
	CHECK(strncmp(id, "sha256:", 7) == 0 && strlen(id) == 71);
	CHECK(docker_image_id(d, "petri-test/no-such-image:x", id) ==
	    PETRI_ERR_NOTFOUND);
}

static void
test_container_lifecycle(void)
{
	char name[128], path[256], id2[DOCKER_ID_MAX];
	json_t *cfg, *j = NULL, *st;
	long status;
	int r;

	snprintf(name, sizeof(name), "%s-main", prefix);
	CHECK((cfg = container_config(json_pack("[s,s]", "sleep", "3600"))) !=
	    NULL);
	CHECK((r = docker_container_create(d, name, cfg, cid)) == 0);
	if (r == 0)
		track(containers, &ncontainers, cid);
	/* the name is taken now */
	CHECK(docker_container_create(d, name, cfg, id2) == PETRI_ERR_EXISTS);
	CHECK(strstr(docker_errmsg(), "already in use") != NULL);
	json_decref(cfg);

	/* exec into a container that is not running */
	cfg = spec_new(json_pack("[s]", "true"), 0);
	CHECK(docker_exec_create(d, cid, cfg, id2) == PETRI_ERR_STATE);
	json_decref(cfg);
	CHECK(docker_container_kill(d, cid, NULL) == PETRI_ERR_STATE);

	CHECK(docker_container_start(d, cid) == 0);
	/* already started: 304, still success */
	snprintf(path, sizeof(path), "/containers/%s/start", name);
	CHECK(docker_request(d, "POST", path, NULL, 0, &status, NULL) == 0);
	CHECK(status == 304);
	CHECK(docker_container_start(d, name) == 0);

	CHECK(docker_container_inspect(d, cid, &j) == 0);
	st = json_object_get(json_object_get(j, "State"), "Running");
	CHECK(json_is_true(st));
	json_decref(j);

	/* a wait that outlives its deadline */
	CHECK(docker_container_wait(d, cid, NULL, 200, NULL) ==
	    PETRI_ERR_TIMEOUT);
}

static void
test_list_by_label(void)
{
	json_t *list = NULL;
	const char *id;
	size_t i;
	int found = 0;

	CHECK(docker_container_list(d, label, &list) == 0);
	for (i = 0; i < json_array_size(list); i++) {
		id = json_string_value(
		    json_object_get(json_array_get(list, i), "Id"));

		if (id != NULL && strcmp(id, cid) == 0)
			found++;
	}
	CHECK(json_array_size(list) == 1 && found == 1);
	json_decref(list);

	/* a label nobody has; odd characters are encoded, not injected */
	CHECK(docker_container_list(d, "petri.test=none & x\"}{", &list) == 0);
	CHECK(json_is_array(list) && json_array_size(list) == 0);
	json_decref(list);
	CHECK(docker_container_list(d, "a\nb", &list) == PETRI_ERR_INVAL);
}

static void
test_exec_basic(void)
{
	struct xres x;

	xres_init(&x);
	CHECK(run_exec(cid, argv_sh("echo out; echo err >&2; echo out2"), NULL,
	          0, 10000, &x) == 0);
	CHECK(x.rc == 0);
	CHECK(x.exit_code == 0);
	CHECK(x.out.len == 9 && memcmp(x.out.data, "out\nout2\n", 9) == 0);
	CHECK(x.err.len == 4 && memcmp(x.err.data, "err\n", 4) == 0);
	xres_free(&x);

	xres_init(&x);
	CHECK(run_exec(cid, argv_sh("exit 3"), NULL, 0, 10000, &x) == 0);
	CHECK(x.rc == 0 && x.exit_code == 3 && x.out.len == 0);
	xres_free(&x);

	xres_init(&x);
	CHECK(run_exec(cid, argv_sh("kill -9 $$"), NULL, 0, 10000, &x) == 0);
	CHECK(x.rc == 0 && x.exit_code == 128 + 9);
	xres_free(&x);

	/* dockerd reports this one inside the stream */
	xres_init(&x);
	CHECK(run_exec(cid, json_pack("[s]", "/nonexistent"), NULL, 0, 10000,
	          &x) == 0);
	CHECK(x.rc == 0 && x.exit_code == 126);
	CHECK(x.out.len > 0);
	xres_free(&x);
}

/*
 * A process that exits without reading its stdin: after the output's EOF
 * writes fail at once; before it they only fill the socket (dockerd stops
 * reading), so a write times out rather than raising SIGPIPE.
 */
static void
stdin_after_exit(void)
{
	struct docker_stream *s = NULL;
	char eid[DOCKER_ID_MAX];
	struct xres x;
	json_t *spec;
	char *big;
	size_t done;
	int i, r = 0;

	spec = spec_new(json_pack("[s]", "true"), 1);
	CHECK(docker_exec_create(d, cid, spec, eid) == 0);
	json_decref(spec);
	CHECK(docker_exec_start(d, eid, 1, &s) == 0);
	if (s == NULL)
		return;
	CHECK(exit_code_of(eid) == 0);
	CHECK((big = calloc(1, 1UL << 20)) != NULL);
	for (i = 0; big != NULL && i < 8 && r == 0; i++)
		r = docker_stream_write(s, big, 1UL << 20, 300);
	CHECK(r == PETRI_ERR_TIMEOUT || r == PETRI_ERR_IO);
	xres_init(&x);
	drain(s, 10000, &x);
	/* a write that met the closed peer (IO) may leave the read side
	 * failed too; a timed-out one leaves a clean end of stream */
	CHECK(x.rc == 0 || r == PETRI_ERR_IO);
	CHECK(docker_stream_write(s, "x", 1, 0) == PETRI_ERR_STATE);
	CHECK(docker_stream_write_some(s, "x", 1, &done) == PETRI_ERR_STATE);
	CHECK(strstr(docker_errmsg(), "ended") != NULL);
	free(big);
	xres_free(&x);
	docker_stream_free(s);
}

static void
test_exec_stdin(void)
{
	static const char msg[] = "hello\nworld\n";
	struct xres x;

	/* cat sees EOF only if the half-close reaches its stdin */
	xres_init(&x);
	CHECK(run_exec(cid, json_pack("[s]", "cat"), msg, sizeof(msg) - 1,
	          10000, &x) == 0);
	CHECK(x.rc == 0 && x.exit_code == 0);
	CHECK(x.out.len == sizeof(msg) - 1 &&
	    memcmp(x.out.data, msg, x.out.len) == 0);
	xres_free(&x);

	/* the process exits without reading: writing then fails, no SIGPIPE */
	stdin_after_exit();

	/* empty stdin: immediate EOF */
	xres_init(&x);
	CHECK(run_exec(cid, argv_sh("cat; echo rc=$?"), "", 0, 10000, &x) == 0);
	CHECK(x.rc == 0 && x.exit_code == 0);
	CHECK(x.out.len == 5 && memcmp(x.out.data, "rc=0\n", 5) == 0);
	xres_free(&x);
}

/* 2 MiB through cat with one poll loop, as the engine would do it. */
static void
test_exec_stdin_large(void)
{
	struct docker_stream *s = NULL;
	struct buf chunk, out;
	char eid[DOCKER_ID_MAX];
	uint8_t *in;
	size_t sent = 0, done, i;
	json_t *spec;
	int64_t deadline;
	int which, r = 0, eof = 0;

	CHECK((in = malloc(BIG_STDIN)) != NULL);
	if (in == NULL)
		return;
	for (i = 0; i < BIG_STDIN; i++)
		in[i] = (uint8_t)(i * 131 + (i >> 13));
	buf_init(&chunk, DOCKER_MAX_FRAME);
	buf_init(&out, BIG_STDIN);
	spec = spec_new(json_pack("[s]", "cat"), 1);
	CHECK(docker_exec_create(d, cid, spec, eid) == 0);
	json_decref(spec);
	CHECK(docker_exec_start(d, eid, 1, &s) == 0);
	if (s == NULL)
		goto out;
	deadline = petri_mono_ms() + 30000;
	while (!eof && petri_mono_ms() < deadline) {
		struct pollfd pfd = {docker_stream_fd(s), POLLIN, 0};

		if (sent < BIG_STDIN)
			pfd.events |= POLLOUT;
		if (!docker_stream_pending(s) && poll(&pfd, 1, 1000) < 0)
			break;
		if (sent < BIG_STDIN && (pfd.revents & POLLOUT)) {
			if (docker_stream_write_some(
			        s, in + sent, BIG_STDIN - sent, &done) != 0)
				break;
			sent += done;
			if (sent == BIG_STDIN)
				CHECK(docker_stream_close_write(s) == 0);
		}
		while ((r = docker_stream_read(s, 0, &which, &chunk)) == 1) {
			CHECK(which == DOCKER_STREAM_STDOUT);
			if (buf_append(&out, chunk.data, chunk.len) != 0) {
				r = PETRI_ERR_TOOBIG;
				break;
			}
		}
		if (r == 0)
			eof = 1;
		else if (r != PETRI_ERR_TIMEOUT)
			break;
	}
	CHECK(eof);
	CHECK(sent == BIG_STDIN);
	CHECK(out.len == BIG_STDIN && memcmp(out.data, in, BIG_STDIN) == 0);
	CHECK(exit_code_of(eid) == 0);
	/* writing after the half-close is refused */
	CHECK(docker_stream_write(s, "x", 1, 0) == PETRI_ERR_STATE);
out:
	docker_stream_free(s);
	buf_free(&chunk);
	buf_free(&out);
	free(in);
}

static void
test_exec_large_output(void)
{
	static const char pat[] = "0123456789abcdef\n";
	struct xres x;
	double t0;
	size_t i;
	int ok = 1;

	xres_init(&x);
	t0 = now_ms();
	CHECK(run_exec(cid, argv_sh("yes 0123456789abcdef | head -c 10485760"),
	          NULL, 0, 60000, &x) == 0);
	printf("10 MiB exec output read in %.0f ms\n", now_ms() - t0);
	CHECK(x.rc == 0 && x.exit_code == 0);
	CHECK(x.out.len == BIG_OUTPUT);
	CHECK(x.err.len == 0);
	for (i = 0; i < x.out.len && ok; i++)
		ok = x.out.data[i] == (uint8_t)pat[i % (sizeof(pat) - 1)];
	CHECK(ok);
	xres_free(&x);
}

static void
test_exec_timeout(void)
{
	struct docker_stream *s = NULL;
	struct buf chunk;
	struct xres x;
	char eid[DOCKER_ID_MAX];
	json_t *spec;
	long pid = 0;
	double t0, el;
	int which, running = 0, code = 0, r;

	buf_init(&chunk, 4096);
	spec = spec_new(argv_sh("echo $$ >/tmp/sleeper; exec sleep 30"), 0);
	CHECK(docker_exec_create(d, cid, spec, eid) == 0);
	json_decref(spec);
	CHECK(docker_exec_start(d, eid, 0, &s) == 0);
	if (s == NULL)
		goto out;
	t0 = now_ms();
	r = docker_stream_read(s, 300, &which, &chunk);
	el = now_ms() - t0;
	CHECK(r == PETRI_ERR_TIMEOUT);
	CHECK(el >= 290 && el < 2000);
	/* a timeout is not sticky; stdin is not ours */
	CHECK(docker_stream_read(s, 0, &which, &chunk) == PETRI_ERR_TIMEOUT);
	CHECK(docker_stream_write(s, "x", 1, 0) == PETRI_ERR_STATE);
	CHECK(docker_stream_close_write(s) == 0);

	CHECK(docker_exec_inspect(d, eid, &running, &code, &pid) == 0);
	CHECK(running == 1 && code == -1 && pid > 0);

	/* no exec kill in the API: kill it from a second exec */
	xres_init(&x);
	CHECK(run_exec(cid, argv_sh("kill -9 $(cat /tmp/sleeper)"), NULL, 0,
	          10000, &x) == 0);
	CHECK(x.exit_code == 0);
	xres_free(&x);
	CHECK(docker_stream_read(s, 10000, &which, &chunk) == 0);
	CHECK(exit_code_of(eid) == 137);
out:
	docker_stream_free(s);
	buf_free(&chunk);
}

static void
test_exec_errors(void)
{
	static const char zeros[] = "00000000000000000000000000000000"
	                            "00000000000000000000000000000000";
	struct docker_stream *s = (struct docker_stream *)1;
	char eid[DOCKER_ID_MAX];
	json_t *spec;
	struct xres x;

	CHECK(docker_exec_inspect(d, zeros, NULL, NULL, NULL) ==
	    PETRI_ERR_NOTFOUND);
	CHECK(docker_exec_start(d, zeros, 0, &s) == PETRI_ERR_NOTFOUND);
	CHECK(s == NULL);
	CHECK(strstr(docker_errmsg(), "No such exec instance") != NULL);

	spec = json_pack("{s:[s],s:b}", "Cmd", "true", "Tty", 1);
	CHECK(docker_exec_create(d, cid, spec, eid) == PETRI_ERR_INVAL);
	json_decref(spec);
	spec = spec_new(json_pack("[s]", "true"), 0);
	CHECK(docker_exec_create(d, "petri-test-none-xyz", spec, eid) ==
	    PETRI_ERR_NOTFOUND);
	json_decref(spec);

	/* a second start: dockerd answers inside the stream */
	spec = spec_new(json_pack("[s]", "true"), 0);
	CHECK(docker_exec_create(d, cid, spec, eid) == 0);
	json_decref(spec);
	CHECK(docker_exec_start(d, eid, 0, &s) == 0);
	xres_init(&x);
	if (s != NULL)
		drain(s, 10000, &x);
	docker_stream_free(s);
	CHECK(x.rc == 0);
	s = NULL;
	CHECK(docker_exec_start(d, eid, 0, &s) == 0);
	if (s != NULL)
		drain(s, 10000, &x);
	docker_stream_free(s);
	CHECK(x.rc == 0 && x.out.len > 0);
	xres_free(&x);
}

/* A one-shot container: attach before start, stdin, wait. */
static void
test_attach_oneshot(void)
{
	struct docker_stream *s = NULL;
	char name[128], id[DOCKER_ID_MAX];
	struct xres x;
	json_t *cfg;
	int code = -1, r;

	snprintf(name, sizeof(name), "%s-oneshot", prefix);
	cfg = container_config(argv_sh("cat; echo done >&2; exit 5"));
	CHECK(cfg != NULL);
	json_object_set_new(cfg, "OpenStdin", json_true());
	json_object_set_new(cfg, "StdinOnce", json_true());
	json_object_set_new(cfg, "AttachStdin", json_true());
	json_object_set_new(cfg, "AttachStdout", json_true());
	json_object_set_new(cfg, "AttachStderr", json_true());
	CHECK((r = docker_container_create(d, name, cfg, id)) == 0);
	json_decref(cfg);
	if (r != 0)
		return;
	track(containers, &ncontainers, id);
	xres_init(&x);
	CHECK(docker_container_attach(d, id, 1, &s) == 0);
	if (s == NULL)
		goto out;
	CHECK(docker_container_start(d, id) == 0);
	CHECK(docker_stream_write(s, "one-shot\n", 9, 0) == 0);
	CHECK(docker_stream_close_write(s) == 0);
	drain(s, 10000, &x);
	CHECK(x.rc == 0);
	CHECK(x.out.len == 9 && memcmp(x.out.data, "one-shot\n", 9) == 0);
	CHECK(x.err.len == 5 && memcmp(x.err.data, "done\n", 5) == 0);
	CHECK(docker_container_wait(d, id, NULL, 10000, &code) == 0);
	CHECK(code == 5);
out:
	docker_stream_free(s);
	xres_free(&x);
	CHECK(docker_container_remove(d, id, 1, 1) == 0);
	CHECK(docker_container_remove(d, id, 1, 1) == PETRI_ERR_NOTFOUND);
	CHECK(docker_container_attach(d, id, 0, &s) == PETRI_ERR_NOTFOUND);
}

static void
test_network(void)
{
	char name[128], id[DOCKER_ID_MAX], id2[DOCKER_ID_MAX];
	json_t *cfg, *j = NULL;
	int r;

	snprintf(name, sizeof(name), "%s-net", prefix);
	cfg = json_pack("{s:b,s:{s:s}}", "Internal", 1, "Labels", "petri.test",
	    label + strlen("petri.test="));
	CHECK((r = docker_network_create(d, name, cfg, id)) == 0);
	if (r == 0)
		track(networks, &nnetworks, id);
	CHECK(docker_network_create(d, name, cfg, id2) == PETRI_ERR_EXISTS);
	json_decref(cfg);
	CHECK(docker_network_inspect(d, name, &j) == 0);
	CHECK(json_is_true(json_object_get(j, "Internal")));
	CHECK(json_is_string(json_object_get(j, "Id")) &&
	    strcmp(json_string_value(json_object_get(j, "Id")), id) == 0);
	json_decref(j);
	CHECK(docker_network_remove(d, id) == 0);
	CHECK(docker_network_remove(d, id) == PETRI_ERR_NOTFOUND);
	CHECK(docker_network_inspect(d, name, &j) == PETRI_ERR_NOTFOUND);
	nnetworks = 0;
}

/* Keep-alive: repeated calls reuse one connection. */
static void
test_connection_reuse(void)
{
	struct docker_stats a, b;
	json_t *j;
	int i;

	docker_stats_get(d, &a);
	for (i = 0; i < 20; i++) {
		j = NULL;
		CHECK(docker_container_inspect(d, cid, &j) == 0);
		json_decref(j);
	}
	docker_stats_get(d, &b);
	CHECK(b.requests - a.requests == 20);
	CHECK(b.connects - a.connects <= 1);
	printf("20 requests opened %llu new connection(s)\n",
	    b.connects - a.connects);
}

struct worker {
	pthread_t t;
	int n;
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char want[32];
	struct xres x;
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(want, sizeof(want), "w%d-%d", w->n, i);
		xres_init(&x);
		if (run_exec(cid, json_pack("[s,s]", "echo", want), NULL, 0,
		        10000, &x) != 0 ||
		    x.rc != 0 || x.exit_code != 0 ||
		    x.out.len != strlen(want) + 1 ||
		    memcmp(x.out.data, want, strlen(want)) != 0)
			w->failures++;
		xres_free(&x);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct worker w[6];
	struct docker_stats a, b;
	int i;

	docker_stats_get(d, &a);
	for (i = 0; i < 6; i++) {
		w[i].n = i;
		w[i].failures = 0;
		CHECK(pthread_create(&w[i].t, NULL, worker_main, &w[i]) == 0);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(w[i].t, NULL);
		CHECK(w[i].failures == 0);
	}
	docker_stats_get(d, &b);
	printf("6 threads x 10 execs: %llu requests, %llu new connections, "
	       "%llu streams\n",
	    b.requests - a.requests, b.connects - a.connects,
	    b.streams - a.streams);
	CHECK(b.connects - a.connects <= 6 + 1);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One round trip: create + start + read to EOF + inspect of `true`. */
static int
round_trip(void)
{
	struct xres x;
	int r;

	xres_init(&x);
	r = run_exec(cid, json_pack("[s]", "true"), NULL, 0, 10000, &x);
	if (r == 0 && (x.rc != 0 || x.exit_code != 0))
		r = -1;
	xres_free(&x);
	return r;
}

static int
cli_exec(void)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {"docker", "exec", cid, "true", NULL};
	pid_t pid;
	int st = -1, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, "docker", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/*
 * Times round trips through the client; with PETRI_DOCKER_BENCH also
 * through the CLI, interleaved so both see the same host load.
 */
static void
test_bench(void)
{
	const char *env = getenv("PETRI_DOCKER_BENCH");
	long long n = 5;
	double *ours, *cli, t0;
	int i, bench = env != NULL;

	if (bench && (petri_strtonum(env, 1, 1000, &n) != 0))
		n = 50;
	ours = calloc((size_t)n, sizeof(double));
	cli = calloc((size_t)n, sizeof(double));
	CHECK(ours != NULL && cli != NULL);
	if (ours == NULL || cli == NULL)
		goto out;
	CHECK(round_trip() == 0); /* warm */
	if (bench)
		CHECK(cli_exec() == 0);
	for (i = 0; i < n; i++) {
		t0 = now_ms();
		CHECK(round_trip() == 0);
		ours[i] = now_ms() - t0;
		if (!bench)
			continue;
		t0 = now_ms();
		CHECK(cli_exec() == 0);
		cli[i] = now_ms() - t0;
	}
	printf("exec round trip (create+start+EOF+inspect of true), client: "
	       "median %.2f ms over %lld\n",
	    median(ours, (int)n), n);
	if (bench)
		printf("exec round trip, docker exec CLI: median %.2f ms over "
		       "%lld\n",
		    median(cli, (int)n), n);
out:
	free(ours);
	free(cli);
}

static void
test_stop_remove(void)
{
	json_t *list = NULL;

	CHECK(docker_container_stop(d, cid, 1) == 0);
	CHECK(docker_container_stop(d, cid, 1) == 0); /* 304 */
	CHECK(docker_container_remove(d, cid, 0, 1) == 0);
	CHECK(docker_container_inspect(d, cid, &list) == PETRI_ERR_NOTFOUND);
	CHECK(docker_container_list(d, label, &list) == 0);
	CHECK(json_is_array(list) && json_array_size(list) == 0);
	json_decref(list);
}

int
main(void)
{
	json_t *left = NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(label, sizeof(label), "petri.test=dockerclient-%ld",
	    (long)getpid());
	snprintf(prefix, sizeof(prefix), "petri-test-dk-%ld", (long)getpid());
	if (docker_new(NULL, NULL, &d) != 0) {
		fprintf(stderr, "test_docker: docker_new failed\n");
		return 1;
	}
	UNIT_RUN(test_new_args);
	UNIT_RUN(test_ping_version);
	UNIT_RUN(test_request_errors);
	UNIT_RUN(test_image);
	UNIT_RUN(test_container_lifecycle);
	if (cid[0] != '\0') {
		UNIT_RUN(test_list_by_label);
		UNIT_RUN(test_exec_basic);
		UNIT_RUN(test_exec_stdin);
		UNIT_RUN(test_exec_stdin_large);
		UNIT_RUN(test_exec_large_output);
		UNIT_RUN(test_exec_timeout);
		UNIT_RUN(test_exec_errors);
		UNIT_RUN(test_connection_reuse);
		UNIT_RUN(test_threads);
		UNIT_RUN(test_bench);
	}
	UNIT_RUN(test_attach_oneshot);
	UNIT_RUN(test_network);
	if (cid[0] != '\0')
		UNIT_RUN(test_stop_remove);
	cleanup();
	/* nothing of ours may be left behind */
	if (docker_container_list(d, label, &left) != 0 ||
	    json_array_size(left) != 0) {
		fprintf(stderr, "test_docker: containers left behind\n");
		unit_failed++;
	}
	json_decref(left);
	docker_free(d);
	curl_global_cleanup();
	return UNIT_DONE();
}
