/*
 * fuzz_siem_format.c: the SIEM renderers and frames (audit/siem_format.c)
 * on arbitrary record bytes, plus the parsers of HEC answers and the
 * "sinks" configuration checker on the same bytes.
 *
 * Input: byte 0 picks the format (bits 0-1), the frame (bits 2-3), a
 * small or large max_event (bit 4) and a scratch buffer or none (bit 5);
 * the rest is the record.  Invariants:
 * a valid context always renders something (no record is ever dropped);
 * the event fits max_event; a JSON rendering parses; a line or CEF event
 * holds no raw CR/LF; a syslog frame's octet count is exact.
 * Seeds in corpus/siem_format/: real records and hostile variants.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "siem.h"
#include "siem_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_syslog(const struct buf *b)
{
	size_t i = 0, n = 0;

	while (i < b->len && b->data[i] >= '0' && b->data[i] <= '9' && i < 12)
		n = n * 10 + (size_t)(b->data[i++] - '0');
	if (i == 0 || i >= b->len || b->data[i] != ' ' || n != b->len - i - 1)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static const unsigned char leaf[32] = {1, 2, 3};
	static const unsigned char sig[64] = {4, 5, 6};
	struct siem_fmt_ctx c;
	struct siem_event ev;
	struct buf out, scratch;
	json_t *j;
	char err[256];
	int r, code, acked;
	int64_t ack;

	if (!ready) {
		if (sodium_init() < 0)
			return 0;
		ready = 1;
	}
	if (size < 1)
		return 0;
	memset(&c, 0, sizeof(c));
	c.format = (enum siem_format)(data[0] & 3);
	c.frame = (enum siem_frame)((data[0] >> 2) & 3);
	c.max_event = (data[0] & 16) ? SIEM_EVENT_MIN : 1UL << 20;
	c.facility = 13;
	c.hostname = "fuzz-host";
	memset(&ev, 0, sizeof(ev));
	ev.seq = size;
	ev.bytes = data + 1;
	ev.len = size - 1;
	ev.leaf = leaf;
	ev.sig = sig;
	ev.key_id = "0a0b0c0d";
	ev.origin = "petri/fuzz";

	buf_init(&out, 64UL << 20);
	buf_init(&scratch, 1);
	if ((r = siem_format_record(
	         &c, &ev, (data[0] & 32) ? &scratch : NULL, &out)) < 0)
		__builtin_trap(); /* a record must never be dropped */
	if (scratch.len != 0 || scratch.max != 1)
		__builtin_trap(); /* the scratch buffer is handed back */
	buf_free(&scratch);
	if (c.frame == SIEM_FRAME_LINE) {
		if (out.len == 0 || out.data[out.len - 1] != '\n' ||
		    memchr(out.data, '\n', out.len - 1) != NULL ||
		    memchr(out.data, '\r', out.len) != NULL ||
		    out.len - 1 > c.max_event)
			__builtin_trap();
		if (c.format != SIEM_FORMAT_CEF) {
			j = json_loadb(
			    (const char *)out.data, out.len, 0, NULL);
			if (j == NULL)
				__builtin_trap();
			json_decref(j);
		}
	}
	if (c.frame == SIEM_FRAME_SYSLOG)
		check_syslog(&out);
	if (c.frame == SIEM_FRAME_HEC || c.frame == SIEM_FRAME_ITEM) {
		/* an item is an object, or a string for CEF */
		j = json_loadb(
		    (const char *)out.data, out.len, JSON_DECODE_ANY, NULL);
		if (j == NULL)
			__builtin_trap();
		json_decref(j);
	}
	buf_free(&out);

	/* the same bytes as HEC answers */
	if (siem_hec_reply_parse(data + 1, size - 1, &code, &ack) == 0 &&
	    (code < 0 || ack < -1))
		__builtin_trap();
	if (siem_hec_ack_parse(data + 1, size - 1, 7, &acked) == 0 &&
	    acked != 0 && acked != 1)
		__builtin_trap();

	/* and as a "sinks" configuration */
	j = json_loadb(
	    (const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL) {
		if (siem_config_check(j, err, sizeof(err)) != 0 &&
		    err[0] == '\0')
			__builtin_trap(); /* a refusal always says why */
		json_decref(j);
	}
	return 0;
}
