/*
 * fuzz_docker_demux.c: the attach/exec stream demultiplexer.
 *
 * Input: byte 0 picks the chunk limit, byte 1 seeds the split pattern, the
 * rest is the stream.  The stream is demultiplexed twice, in one feed and in
 * pieces of varying size with a small limit, and both must agree on every
 * byte of every stream and on the final state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "docker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	struct buf out[4];
};

static void
sink_init(struct sink *s)
{
	int i;

	for (i = 0; i < 4; i++)
		buf_init(&s->out[i], 1UL << 24);
}

static void
sink_free(struct sink *s)
{
	int i;

	for (i = 0; i < 4; i++)
		buf_free(&s->out[i]);
}

static int
sink_cb(void *arg, const struct docker_chunk *c)
{
	struct sink *s = arg;

	if (c->stream < 0 || c->stream > 3 || c->len == 0 ||
	    c->len > DOCKER_MAX_FRAME)
		abort();
	if (buf_append(&s->out[c->stream], c->p, c->len) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_demux a, b;
	struct docker_chunk c;
	struct sink sa, sb;
	size_t max, off, piece, used;
	uint8_t seed;
	int ra, rb = 0, i, r;

	if (size < 2)
		return 0;
	max = (size_t)data[0] % 16 + 1;
	seed = data[1];
	data += 2;
	size -= 2;

	sink_init(&sa);
	sink_init(&sb);
	docker_demux_init(&a);
	ra = docker_demux_feed(&a, data, size, sink_cb, &sa);
	if (ra == 0)
		ra = docker_demux_end(&a);

	docker_demux_init(&b);
	for (off = 0; off < size && rb == 0;) {
		piece = (size_t)(seed = (uint8_t)(seed * 37 + 11)) % 23;
		if (piece > size - off)
			piece = size - off;
		while (piece > 0) {
			r = docker_demux_step(
			    &b, data + off, piece, max, &used, &c);
			if (used > piece)
				abort();
			off += used;
			piece -= used;
			if (r < 0) {
				rb = r;
				break;
			}
			if (r == 1) {
				if (c.len == 0 || c.len > max)
					abort();
				sink_cb(&sb, &c);
			} else if (piece != 0)
				abort(); /* 0 means all consumed */
		}
	}
	if (rb == 0)
		rb = docker_demux_end(&b);

	if (ra != rb)
		abort();
	for (i = 0; i < 4; i++)
		if (sa.out[i].len != sb.out[i].len ||
		    (sa.out[i].len != 0 &&
		        memcmp(sa.out[i].data, sb.out[i].data, sa.out[i].len) !=
		            0))
			abort();
	sink_free(&sa);
	sink_free(&sb);
	return 0;
}
