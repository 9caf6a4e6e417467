/* test_ipc.c: frame header codec, permit tables, payload parsing, and a
 * round trip of calls over a socketpair. */
#include <sys/socket.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "ipc.h"
#include "proto.h"
#include "unit.h"

static void
test_hdr_roundtrip(void)
{
	struct ipc_hdr h = {7, 0x80000001U, 100, 40}, g;
	unsigned char b[IPC_HDR_LEN];

	ipc_hdr_encode(&h, b);
	CHECK(b[0] == 7 && b[4] == 1 && b[7] == 0x80);
	CHECK(ipc_hdr_decode(b, &g) == 0);
	CHECK(
	    g.type == 7 && g.id == 0x80000001U && g.len == 100 && g.jlen == 40);
}

static void
test_hdr_bounds(void)
{
	struct ipc_hdr h = {1, 1, 10, 11}, g;
	unsigned char b[IPC_HDR_LEN];

	ipc_hdr_encode(&h, b);
	CHECK(ipc_hdr_decode(b, &g) == PETRI_ERR_PROTO); /* jlen > len */
	h.jlen = 0;
	h.len = IPC_MAX_FRAME + 1;
	ipc_hdr_encode(&h, b);
	CHECK(ipc_hdr_decode(b, &g) == PETRI_ERR_PROTO); /* too big */
	h.len = 0;
	h.type = 0;
	ipc_hdr_encode(&h, b);
	CHECK(ipc_hdr_decode(b, &g) == PETRI_ERR_PROTO); /* type 0 */
}

static void
test_permits(void)
{
	static const struct ipc_permit p[] = {{5, 100}, {6, 10}};
	struct ipc_hdr h = {5, 1, 100, 0};

	CHECK(ipc_permit_check(p, 2, &h) == 0);
	h.len = 101;
	CHECK(ipc_permit_check(p, 2, &h) == PETRI_ERR_TOOBIG);
	h.type = 7;
	h.len = 0;
	CHECK(ipc_permit_check(p, 2, &h) == PETRI_ERR_PERM);
	/* the api accepts no engine request type from the engine */
	h.type = MSG_ENG_EXEC;
	CHECK(ipc_permit_check(proto_api_from_engine, proto_api_from_engine_n,
	          &h) == PETRI_ERR_PERM);
	/* the api has no message to read a secret or a key back */
	h.type = MSG_KPR_APPEND;
	CHECK(ipc_permit_check(proto_api_from_keeper, proto_api_from_keeper_n,
	          &h) == PETRI_ERR_PERM);
}

static void
test_payload(void)
{
	struct ipc_hdr h;
	struct ipc_msg m;
	const char *good = "{\"a\":1}raw";
	const char *dup = "{\"a\":1,\"a\":2}";
	const char *arr = "[1]";

	h.type = 1;
	h.id = 2;
	h.jlen = 7;
	h.len = 10;
	CHECK(ipc_payload_parse(&h, (const unsigned char *)good, &m) == 0);
	CHECK(json_integer_value(json_object_get(m.json, "a")) == 1);
	CHECK(m.datalen == 3 && memcmp(m.data, "raw", 3) == 0);
	ipc_msg_clear(&m);
	h.jlen = h.len = (uint32_t)strlen(dup);
	CHECK(ipc_payload_parse(&h, (const unsigned char *)dup, &m) ==
	    PETRI_ERR_PROTO);
	h.jlen = h.len = (uint32_t)strlen(arr);
	CHECK(ipc_payload_parse(&h, (const unsigned char *)arr, &m) ==
	    PETRI_ERR_PROTO);
	h.jlen = h.len = 0;
	CHECK(ipc_payload_parse(&h, (const unsigned char *)"", &m) == 0);
	CHECK(json_is_object(m.json) && json_object_size(m.json) == 0);
	ipc_msg_clear(&m);
}

static const struct ipc_permit echo_permits[] = {{100, 1 << 20}};
static const struct ipc_permit reply_permits[] = {
    {MSG_OK, 1 << 20}, {150, 1 << 20}};

static void
echo(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	(void)arg;
	if (m == NULL)
		return;
	/* two streamed frames, then the answer */
	CHECK(ipc_send(c, 150, m->id, NULL, "x", 1) == 0);
	CHECK(ipc_send(c, 150, m->id, NULL, "y", 1) == 0);
	CHECK(ipc_send(c, MSG_OK, m->id, m->json, m->data, m->datalen) == 0);
	ipc_msg_clear(m);
}

static void
test_roundtrip(void)
{
	struct ipc_chan *a, *b;
	struct ipc_call *call;
	struct ipc_msg m;
	json_t *j = json_pack("{s:s}", "k", "v");
	int sv[2], e;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	a = ipc_chan_new(sv[0], "a", 0, reply_permits, 2, NULL, NULL);
	b = ipc_chan_new(sv[1], "b", 1, echo_permits, 1, echo, NULL);
	CHECK(ipc_chan_start(a) == 0 && ipc_chan_start(b) == 0);
	call = ipc_call_start(a, 100, j, "data", 4, &e);
	CHECK(call != NULL);
	CHECK(ipc_call_next(call, 5000, &m) == 0 && m.type == 150 &&
	    m.datalen == 1 && m.data[0] == 'x');
	ipc_msg_clear(&m);
	CHECK(ipc_call_next(call, 5000, &m) == 0 && m.data[0] == 'y');
	ipc_msg_clear(&m);
	CHECK(ipc_call_next(call, 5000, &m) == 0 && m.type == MSG_OK);
	CHECK(
	    strcmp(json_string_value(json_object_get(m.json, "k")), "v") == 0 &&
	    m.datalen == 4);
	ipc_msg_clear(&m);
	CHECK(ipc_call_next(call, 50, &m) == PETRI_ERR_TIMEOUT);
	ipc_call_free(call);
	/* one request, one answer; the late streamed frames are dropped */
	CHECK(
	    ipc_request(a, 100, NULL, NULL, 0, 5000, &m) == 0 && m.type == 150);
	ipc_msg_clear(&m);
	json_decref(j);
}

int
main(void)
{
	UNIT_RUN(test_hdr_roundtrip);
	UNIT_RUN(test_hdr_bounds);
	UNIT_RUN(test_permits);
	UNIT_RUN(test_payload);
	UNIT_RUN(test_roundtrip);
	return UNIT_DONE();
}
