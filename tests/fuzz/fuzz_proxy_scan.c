/*
 * fuzz_proxy_scan.c: libFuzzer target for the response scanner that masks
 * echoed secrets.  The first byte gives the secret's length, the second the
 * read size; then the secret, then the response stream.  Aborts when an
 * invariant breaks: the output is as long as the input (framing stays
 * true), and the raw secret never appears in it, whatever the read
 * boundaries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "proxy_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct proxy_scan s;
	struct buf out;
	size_t slen, step, pos, n;

	if (!ready) {
		if (sodium_init() < 0)
			return 0;
		ready = 1;
	}
	if (size < 3)
		return 0;
	slen = (size_t)data[0] % 64 + 1;
	step = (size_t)data[1] + 1;
	if (size - 2 < slen)
		return 0;
	proxy_scan_init(&s, NULL);
	buf_init(&out, 1 << 20);
	if (proxy_scan_add_secret(&s, data + 2, slen) != 0)
		abort();
	for (pos = 2 + slen; pos < size; pos += n) {
		n = size - pos < step ? size - pos : step;
		if (proxy_scan_feed(&s, data + pos, n, &out) != 0)
			abort();
	}
	if (proxy_scan_flush(&s, &out) != 0)
		abort();
	if (out.len != size - 2 - slen)
		abort();
	if (slen >= PROXY_SCAN_MIN && memchr(data + 2, '*', slen) == NULL &&
	    out.len > 0 && memmem(out.data, out.len, data + 2, slen) != NULL)
		abort();
	proxy_scan_free(&s);
	buf_free(&out);
	return 0;
}
