/*
 * test_docker_demux.c: the pure parts of the Docker client: the attach/exec
 * stream demultiplexer and the hijack reply head parser.  No socket.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "docker.h"
#include "unit.h"

/* Appends one frame (header + payload) to b. */
static void
frame(struct buf *b, int type, const void *p, uint32_t n)
{
	uint8_t h[8] = {(uint8_t)type, 0, 0, 0, (uint8_t)(n >> 24),
	    (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

	CHECK(buf_append(b, h, sizeof(h)) == 0);
	CHECK(buf_append(b, p, n) == 0);
}

/* Collects chunks per stream type. */
struct collect {
	struct buf out[4];
	size_t chunks;
	size_t maxchunk;
	int stop_after; /* stop the feed after this many chunks, 0: never */
};

static void
collect_init(struct collect *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < 4; i++)
		buf_init(&c->out[i], 64UL << 20);
}

static void
collect_free(struct collect *c)
{
	int i;

	for (i = 0; i < 4; i++)
		buf_free(&c->out[i]);
}

static int
collect_cb(void *arg, const struct docker_chunk *ch)
{
	struct collect *c = arg;

	CHECK(ch->stream >= 0 && ch->stream <= 3);
	CHECK(ch->len > 0);
	if (ch->len > c->maxchunk)
		c->maxchunk = ch->len;
	CHECK(buf_append(&c->out[ch->stream], ch->p, ch->len) == 0);
	c->chunks++;
	if (c->stop_after != 0 && c->chunks == (size_t)c->stop_after)
		return 42;
	return 0;
}

static void
test_single_frame(void)
{
	struct docker_demux dm;
	struct docker_chunk c;
	struct buf b;
	size_t used;

	buf_init(&b, 1024);
	frame(&b, 1, "hello", 5);
	docker_demux_init(&dm);
	CHECK(docker_demux_step(&dm, b.data, b.len, 1024, &used, &c) == 1);
	CHECK(used == 13);
	CHECK(c.stream == DOCKER_STREAM_STDOUT);
	CHECK(c.len == 5 && memcmp(c.p, "hello", 5) == 0);
	CHECK(docker_demux_end(&dm) == 0);
	CHECK(docker_demux_step(&dm, b.data + used, 0, 1024, &used, &c) == 0);
	CHECK(used == 0);
	buf_free(&b);
}

/* Mixed frames, fed in two pieces split at every possible offset. */
static void
test_every_split(void)
{
	struct docker_demux dm;
	struct collect c;
	struct buf b;
	size_t cut;

	buf_init(&b, 4096);
	frame(&b, 1, "out-1\n", 6);
	frame(&b, 2, "err-1\n", 6);
	frame(&b, 1, "", 0);
	frame(&b, 1, "out-2\n", 6);
	frame(&b, 3, "sys", 3);
	frame(&b, 0, "in", 2);
	for (cut = 0; cut <= b.len; cut++) {
		collect_init(&c);
		docker_demux_init(&dm);
		CHECK(docker_demux_feed(&dm, b.data, cut, collect_cb, &c) == 0);
		CHECK(docker_demux_feed(
		          &dm, b.data + cut, b.len - cut, collect_cb, &c) == 0);
		CHECK(docker_demux_end(&dm) == 0);
		CHECK(c.out[1].len == 12 &&
		    memcmp(c.out[1].data, "out-1\nout-2\n", 12) == 0);
		CHECK(c.out[2].len == 6 &&
		    memcmp(c.out[2].data, "err-1\n", 6) == 0);
		CHECK(
		    c.out[3].len == 3 && memcmp(c.out[3].data, "sys", 3) == 0);
		CHECK(c.out[0].len == 2 && memcmp(c.out[0].data, "in", 2) == 0);
		collect_free(&c);
	}
	buf_free(&b);
}

/* Byte by byte through docker_demux_step(), tiny max. */
static void
test_byte_by_byte(void)
{
	struct docker_demux dm;
	struct docker_chunk c;
	struct buf b, got;
	size_t i, used;
	int r;

	buf_init(&b, 4096);
	buf_init(&got, 4096);
	frame(&b, 2, "abcdefghij", 10);
	frame(&b, 1, "k", 1);
	docker_demux_init(&dm);
	for (i = 0; i < b.len; i++) {
		r = docker_demux_step(&dm, b.data + i, 1, 3, &used, &c);
		CHECK(r == 0 || r == 1);
		CHECK(used == 1);
		if (r == 1) {
			CHECK(c.len == 1);
			CHECK(buf_append(&got, c.p, c.len) == 0);
		}
		/* boundaries: after the first frame (8 + 10) and at the end */
		CHECK(docker_demux_end(&dm) ==
		    (i + 1 == 18 || i + 1 == b.len ? 0 : PETRI_ERR_TRUNCATED));
	}
	CHECK(got.len == 11 && memcmp(got.data, "abcdefghijk", 11) == 0);
	buf_free(&b);
	buf_free(&got);
}

/* max caps a chunk; the rest of the frame comes next. */
static void
test_max_chunk(void)
{
	struct docker_demux dm;
	struct docker_chunk c;
	struct buf b;
	size_t off = 0, used;

	buf_init(&b, 4096);
	frame(&b, 1, "abcdefg", 7);
	docker_demux_init(&dm);
	CHECK(docker_demux_step(&dm, b.data, b.len, 3, &used, &c) == 1);
	CHECK(c.len == 3 && memcmp(c.p, "abc", 3) == 0);
	off += used;
	CHECK(docker_demux_step(&dm, b.data + off, b.len - off, 3, &used, &c) ==
	    1);
	CHECK(c.len == 3 && memcmp(c.p, "def", 3) == 0);
	off += used;
	CHECK(docker_demux_step(&dm, b.data + off, b.len - off, 3, &used, &c) ==
	    1);
	CHECK(c.len == 1 && c.p[0] == 'g');
	off += used;
	CHECK(off == b.len);
	CHECK(docker_demux_step(&dm, b.data, b.len, 0, &used, &c) ==
	    PETRI_ERR_INVAL);
	buf_free(&b);
}

/* A frame announcing more than DOCKER_MAX_FRAME comes in pieces. */
static void
test_large_frame(void)
{
	struct docker_demux dm;
	struct collect c;
	struct buf b;
	uint8_t *payload;
	size_t n = 3 * DOCKER_MAX_FRAME + 17, i;

	CHECK((payload = malloc(n)) != NULL);
	if (payload == NULL)
		return;
	for (i = 0; i < n; i++)
		payload[i] = (uint8_t)(i * 7);
	buf_init(&b, n + 64);
	frame(&b, 2, payload, (uint32_t)n);
	collect_init(&c);
	docker_demux_init(&dm);
	CHECK(docker_demux_feed(&dm, b.data, b.len, collect_cb, &c) == 0);
	CHECK(docker_demux_end(&dm) == 0);
	CHECK(c.chunks == 4);
	CHECK(c.maxchunk == DOCKER_MAX_FRAME);
	CHECK(c.out[2].len == n && memcmp(c.out[2].data, payload, n) == 0);
	collect_free(&c);
	buf_free(&b);
	free(payload);
}

static void
test_bad_headers(void)
{
	static const uint8_t bad_type[8] = {4, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t bad_pad[8] = {1, 0, 1, 0, 0, 0, 0, 1};
	static const uint8_t text[] = "HTTP/1.1 200 OK\r\n";
	struct docker_demux dm;
	struct docker_chunk c;
	struct collect col;
	struct buf b;
	size_t used;

	docker_demux_init(&dm);
	CHECK(docker_demux_step(&dm, bad_type, 8, 64, &used, &c) ==
	    PETRI_ERR_PROTO);
	CHECK(used == 8);
	/* sticky */
	CHECK(docker_demux_step(&dm, bad_type, 8, 64, &used, &c) ==
	    PETRI_ERR_PROTO);
	CHECK(used == 0);
	CHECK(docker_demux_end(&dm) == PETRI_ERR_PROTO);

	docker_demux_init(&dm);
	CHECK(docker_demux_step(&dm, bad_pad, 8, 64, &used, &c) ==
	    PETRI_ERR_PROTO);

	/* a raw (TTY) stream is not a multiplexed one */
	docker_demux_init(&dm);
	collect_init(&col);
	CHECK(docker_demux_feed(&dm, text, sizeof(text) - 1, collect_cb,
	          &col) == PETRI_ERR_PROTO);
	CHECK(col.chunks == 0);
	collect_free(&col);

	/* a good frame, then a bad header: the good one is delivered */
	buf_init(&b, 256);
	frame(&b, 1, "ok", 2);
	CHECK(buf_append(&b, bad_type, 8) == 0);
	docker_demux_init(&dm);
	collect_init(&col);
	CHECK(docker_demux_feed(&dm, b.data, b.len, collect_cb, &col) ==
	    PETRI_ERR_PROTO);
	CHECK(col.chunks == 1 && col.out[1].len == 2);
	collect_free(&col);
	buf_free(&b);
}

static void
test_truncated_and_stop(void)
{
	struct docker_demux dm;
	struct collect c;
	struct buf b;

	buf_init(&b, 256);
	frame(&b, 1, "abcdef", 6);
	frame(&b, 2, "xyz", 3);

	docker_demux_init(&dm);
	collect_init(&c);
	CHECK(docker_demux_feed(&dm, b.data, 4, collect_cb, &c) == 0);
	CHECK(docker_demux_end(&dm) == PETRI_ERR_TRUNCATED);
	CHECK(docker_demux_feed(&dm, b.data + 4, 6, collect_cb, &c) == 0);
	CHECK(docker_demux_end(&dm) == PETRI_ERR_TRUNCATED);
	collect_free(&c);

	/* the callback's value stops the feed */
	docker_demux_init(&dm);
	collect_init(&c);
	c.stop_after = 1;
	CHECK(docker_demux_feed(&dm, b.data, b.len, collect_cb, &c) == 42);
	CHECK(c.chunks == 1);
	collect_free(&c);
	buf_free(&b);
}

static int
head(const char *s, struct docker_http_head *h)
{
	return docker_http_head_parse(s, strlen(s), h);
}

static void
test_head_ok(void)
{
	struct docker_http_head h;
	const char *up = "HTTP/1.1 101 UPGRADED\r\n"
	                 "Content-Type: application/vnd.docker.raw-stream\r\n"
	                 "Connection: Upgrade\r\n"
	                 "Upgrade: tcp\r\n"
	                 "\r\n"
	                 "\001\000\000\000";
	const char *nf = "HTTP/1.1 404 Not Found\r\n"
	                 "Api-Version: 1.41\r\n"
	                 "Content-Type: application/json\r\n"
	                 "content-length:  42 \r\n"
	                 "\r\n"
	                 "{\"message\":\"No such container: nonexist\"}\n";
	size_t i;

	CHECK(docker_http_head_parse(up, strlen(up) + 4, &h) == 0);
	CHECK(h.status == 101);
	CHECK(h.headlen == strlen(up) - 1); /* strlen stops at the frame */
	CHECK(h.content_length == -1 && h.chunked == 0);

	CHECK(head(nf, &h) == 0);
	CHECK(h.status == 404 && h.content_length == 42);
	CHECK(strlen(nf) - h.headlen == 42);

	CHECK(head("HTTP/1.0 200\r\n\r\n", &h) == 0);
	CHECK(h.status == 200 && h.headlen == 16);
	CHECK(head("HTTP/1.1 500 x\r\nTransfer-Encoding: Chunked\r\n\r\n",
	          &h) == 0);
	CHECK(h.chunked == 1);
	CHECK(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	           "Content-Length: 5\r\n\r\n",
	          &h) == 0);
	CHECK(h.content_length == 5);

	/* every prefix of a good head asks for more */
	for (i = 0; i < h.headlen; i++)
		CHECK(docker_http_head_parse(up, i, &h) == PETRI_ERR_TRUNCATED);
}

static void
test_head_bad(void)
{
	static const char *bad[] = {
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.1 20x OK\r\n\r\n",
	    "HTTP/1.1 099 x\r\n\r\n",
	    "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 200 OK\nServer: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nServer: a\rb\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX: \x7f\r\n\r\n",
	    "hello world\r\n\r\n",
	    "\001\000\000\000\000\000\000\002hi",
	};
	struct docker_http_head h;
	char *big;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (head(bad[i], &h) != PETRI_ERR_PROTO) {
			fprintf(stderr, "accepted bad head %zu\n", i);
			CHECK(0);
		}
	}
	/* a NUL inside the head */
	CHECK(docker_http_head_parse("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 27,
	          &h) == PETRI_ERR_PROTO);
	/* early rejection before the head is complete */
	CHECK(docker_http_head_parse("HTTX", 4, &h) == PETRI_ERR_PROTO);
	CHECK(docker_http_head_parse("", 0, &h) == PETRI_ERR_TRUNCATED);

	/* no end within DOCKER_HIJACK_MAX_HEAD */
	CHECK((big = malloc(DOCKER_HIJACK_MAX_HEAD + 8)) != NULL);
	if (big == NULL)
		return;
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', DOCKER_HIJACK_MAX_HEAD + 8 - 20);
	CHECK(docker_http_head_parse(big, DOCKER_HIJACK_MAX_HEAD - 1, &h) ==
	    PETRI_ERR_TRUNCATED);
	CHECK(docker_http_head_parse(big, DOCKER_HIJACK_MAX_HEAD, &h) ==
	    PETRI_ERR_TOOBIG);
	CHECK(docker_http_head_parse(big, DOCKER_HIJACK_MAX_HEAD + 8, &h) ==
	    PETRI_ERR_TOOBIG);
	free(big);
}

int
main(void)
{
	UNIT_RUN(test_single_frame);
	UNIT_RUN(test_every_split);
	UNIT_RUN(test_byte_by_byte);
	UNIT_RUN(test_max_chunk);
	UNIT_RUN(test_large_frame);
	UNIT_RUN(test_bad_headers);
	UNIT_RUN(test_truncated_and_stop);
	UNIT_RUN(test_head_ok);
	UNIT_RUN(test_head_bad);
	return UNIT_DONE();
}
