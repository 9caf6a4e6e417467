/* fuzz_ipc.c: the IPC frame decoder on arbitrary byte streams: header
 * bounds, every permit table, payload parsing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t fuzz_sink; /* results are used, never ignored */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const struct ipc_permit *p;
		const size_t *n;
	} tables[] = {
	    {proto_engine_from_api, &proto_engine_from_api_n},
	    {proto_api_from_engine, &proto_api_from_engine_n},
	    {proto_ws_from_api, &proto_ws_from_api_n},
	    {proto_api_from_ws, &proto_api_from_ws_n},
	    {proto_keeper_from_api, &proto_keeper_from_api_n},
	    {proto_api_from_keeper, &proto_api_from_keeper_n},
	    {proto_child_from_parent, &proto_child_from_parent_n},
	};
	size_t off = 0, t, permitted = 0;

	while (size - off >= IPC_HDR_LEN) {
		struct ipc_hdr h;
		struct ipc_msg m;
		unsigned char *copy;

		if (ipc_hdr_decode(data + off, &h) != 0)
			break;
		off += IPC_HDR_LEN;
		for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
			permitted += ipc_permit_check(
			                 tables[t].p, *tables[t].n, &h) == 0;
		if (h.len > size - off)
			break;
		if ((copy = malloc(h.len + 1)) == NULL)
			break;
		memcpy(copy, data + off, h.len);
		copy[h.len] = '\0';
		if (ipc_payload_parse(&h, copy, &m) == 0)
			ipc_msg_clear(&m);
		free(copy);
		off += h.len;
	}
	fuzz_sink += permitted;
	return 0;
}
