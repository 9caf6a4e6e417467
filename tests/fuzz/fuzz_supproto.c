/*
 * fuzz_supproto.c: the engine <-> petri-init frame parser.
 *
 * Input: a byte stream as either side might receive it.  Every frame the
 * parser accepts is decoded by type; a decoded START is re-encoded and
 * must decode to the same strings.
 */
#include <stdint.h>
#include <string.h>

#include "supproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char arena[SUP_ARENA_MAX], arena2[SUP_ARENA_MAX];
static uint8_t again[SUP_HDR_LEN + SUP_FRAME_MAX];
static struct sup_start s, s2;

static void
fuzz_start(const struct sup_frame *f)
{
	struct sup_frame f2;
	size_t len, used, i;

	if (sup_start_decode(f, &s, arena, sizeof(arena)) != 0)
		return;
	if (sup_start_encode(s.seq, s.flags, s.cwd, (const char *const *)s.argv,
	        s.nargv, (const char *const *)s.env, s.nenv, again,
	        sizeof(again), &len) != 0)
		__builtin_trap();
	if (sup_frame_parse(again, len, &f2, &used) != 1 || used != len ||
	    sup_start_decode(&f2, &s2, arena2, sizeof(arena2)) != 0 ||
	    s2.nargv != s.nargv || s2.nenv != s.nenv ||
	    strcmp(s2.cwd, s.cwd) != 0)
		__builtin_trap();
	for (i = 0; i < s.nargv; i++)
		if (strcmp(s.argv[i], s2.argv[i]) != 0)
			__builtin_trap();
	for (i = 0; i < s.nenv; i++)
		if (strcmp(s.env[i], s2.env[i]) != 0)
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sup_frame f;
	uint32_t v[3];
	size_t used;

	while (size > 0 && sup_frame_parse(data, size, &f, &used) == 1) {
		if (f.type == SUP_START)
			fuzz_start(&f);
		else if (sup_words_decode(&f, v, sup_words_count(f.type)) != 0)
			__builtin_trap();
		data += used;
		size -= used;
	}
	return 0;
}
