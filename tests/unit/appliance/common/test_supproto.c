/* test_supproto.c: the engine <-> petri-init frames. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supproto.h"
#include "unit.h"

static uint8_t frame[SUP_HDR_LEN + SUP_FRAME_MAX];
static char arena[SUP_ARENA_MAX];
static struct sup_start st;

static void
test_words_roundtrip(void)
{
	uint32_t v[3] = {7, 0xfffffff5u, 42}, w[3];
	struct sup_frame f;
	size_t len, used;

	CHECK_EQ(
	    sup_words_encode(SUP_STARTED, v, 3, frame, sizeof(frame), &len), 0);
	CHECK_EQ(len, (size_t)SUP_HDR_LEN + 12);
	CHECK_EQ(frame[0], SUP_PROTO_VERSION);
	CHECK_EQ(sup_frame_parse(frame, len, &f, &used), 1);
	CHECK_EQ(used, len);
	CHECK_EQ(f.type, SUP_STARTED);
	CHECK_EQ(sup_words_decode(&f, w, 3), 0);
	CHECK(memcmp(v, w, sizeof(v)) == 0);
	/* the wrong count for the type */
	CHECK_EQ(sup_words_decode(&f, w, 2), SUP_ERR_PROTO);
	CHECK_EQ(sup_words_encode(SUP_EXITED, v, 3, frame, sizeof(frame), &len),
	    SUP_ERR_INVAL);
	CHECK_EQ(sup_words_encode(SUP_START, v, 2, frame, sizeof(frame), &len),
	    SUP_ERR_INVAL);
	CHECK_EQ(
	    sup_words_encode(SUP_EXITED, v, 2, frame, 9, &len), SUP_ERR_TOOBIG);
}

static void
test_parse_incomplete_and_bad(void)
{
	uint32_t v[2] = {1, 9};
	struct sup_frame f;
	size_t len, used, i;

	CHECK_EQ(
	    sup_words_encode(SUP_SIGNAL, v, 2, frame, sizeof(frame), &len), 0);
	for (i = 0; i < len; i++)
		CHECK_EQ(sup_frame_parse(frame, i, &f, &used), 0);
	frame[0] = 2; /* another version */
	CHECK_EQ(sup_frame_parse(frame, len, &f, &used), SUP_ERR_PROTO);
	frame[0] = SUP_PROTO_VERSION;
	frame[2] = 1; /* reserved */
	CHECK_EQ(sup_frame_parse(frame, len, &f, &used), SUP_ERR_PROTO);
	frame[2] = 0;
	frame[1] = 99; /* unknown type */
	CHECK_EQ(sup_frame_parse(frame, len, &f, &used), SUP_ERR_PROTO);
	frame[1] = SUP_SIGNAL;
	frame[7] = 12; /* wrong size for a SIGNAL */
	CHECK_EQ(sup_frame_parse(frame, len, &f, &used), SUP_ERR_PROTO);
	/* a START announcing more than the maximum */
	frame[1] = SUP_START;
	frame[4] = 0x7f;
	CHECK_EQ(sup_frame_parse(frame, len, &f, &used), SUP_ERR_TOOBIG);
}

static void
test_start_roundtrip(void)
{
	const char *argv[] = {"sh", "-c", "echo \"$X\"", ""};
	const char *env[] = {"X=1", "PATH=/usr/bin"};
	struct sup_frame f;
	size_t len, used;

	CHECK_EQ(sup_start_encode(5, SUP_START_BACKGROUND, "/sandbox", argv, 4,
	             env, 2, frame, sizeof(frame), &len),
	    0);
	CHECK_EQ(sup_frame_parse(frame, len, &f, &used), 1);
	CHECK_EQ(used, len);
	CHECK_EQ(sup_start_decode(&f, &st, arena, sizeof(arena)), 0);
	CHECK_EQ(st.seq, 5u);
	CHECK_EQ(st.flags, (uint32_t)SUP_START_BACKGROUND);
	CHECK_STR(st.cwd, "/sandbox");
	CHECK_EQ(st.nargv, (size_t)4);
	CHECK_STR(st.argv[2], "echo \"$X\"");
	CHECK_STR(st.argv[3], "");
	CHECK(st.argv[4] == NULL);
	CHECK_EQ(st.nenv, (size_t)2);
	CHECK_STR(st.env[1], "PATH=/usr/bin");
	CHECK(st.env[2] == NULL);
	/* an arena too small */
	CHECK_EQ(sup_start_decode(&f, &st, arena, 10), SUP_ERR_TOOBIG);
}

static void
test_start_rejects(void)
{
	const char *argv[] = {"true"};
	struct sup_frame f;
	size_t len, used;
	char *big;

	CHECK_EQ(sup_start_encode(
	             1, 0, "/", argv, 0, NULL, 0, frame, sizeof(frame), &len),
	    SUP_ERR_INVAL);
	CHECK_EQ(sup_start_encode(1, 0x80, "/", argv, 1, NULL, 0, frame,
	             sizeof(frame), &len),
	    SUP_ERR_INVAL);
	CHECK_EQ(sup_start_encode(1, 0, "/", argv, 1, NULL, 0, frame, 20, &len),
	    SUP_ERR_TOOBIG);
	big = malloc(SUP_MAX_STR + 2);
	CHECK(big != NULL);
	if (big != NULL) {
		const char *bargv[] = {big};

		memset(big, 'a', SUP_MAX_STR + 1);
		big[SUP_MAX_STR + 1] = '\0';
		CHECK_EQ(sup_start_encode(1, 0, "/", bargv, 1, NULL, 0, frame,
		             sizeof(frame), &len),
		    SUP_ERR_TOOBIG);
		free(big);
	}
	CHECK_EQ(sup_start_encode(
	             1, 0, "/", argv, 1, NULL, 0, frame, sizeof(frame), &len),
	    0);
	CHECK_EQ(sup_frame_parse(frame, len, &f, &used), 1);
	/* a NUL inside a string */
	frame[len - 2] = '\0';
	CHECK_EQ(
	    sup_start_decode(&f, &st, arena, sizeof(arena)), SUP_ERR_PROTO);
	frame[len - 2] = 'u';
	/* a string length past the end */
	frame[SUP_HDR_LEN + 12 + 3] = 9;
	CHECK_EQ(
	    sup_start_decode(&f, &st, arena, sizeof(arena)), SUP_ERR_PROTO);
	frame[SUP_HDR_LEN + 12 + 3] = 1;
	/* trailing bytes: one string fewer announced */
	frame[SUP_HDR_LEN + 9] = 0;
	CHECK_EQ(
	    sup_start_decode(&f, &st, arena, sizeof(arena)), SUP_ERR_PROTO);
	frame[SUP_HDR_LEN + 9] = 1;
	CHECK_EQ(sup_start_decode(&f, &st, arena, sizeof(arena)), 0);
	/* not a START */
	f.type = SUP_EXITED;
	CHECK_EQ(
	    sup_start_decode(&f, &st, arena, sizeof(arena)), SUP_ERR_PROTO);
}

int
main(void)
{
	UNIT_RUN(test_words_roundtrip);
	UNIT_RUN(test_parse_incomplete_and_bad);
	UNIT_RUN(test_start_roundtrip);
	UNIT_RUN(test_start_rejects);
	return UNIT_DONE();
}
