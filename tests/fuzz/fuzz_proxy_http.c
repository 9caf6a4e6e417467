/*
 * fuzz_proxy_http.c: libFuzzer target for the proxy's HTTP/1.1 head parser
 * and body framer.  The first byte picks request or response and a read
 * size; the rest is the stream.  Aborts when an invariant breaks: finding
 * the head end incrementally must agree with one call; every span lies in
 * the head; no value holds CR, LF or NUL; framing is unambiguous; the body
 * framer gives the same payload and the same leftover whatever the read
 * size, and never more payload than input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct proxy_http_head fz_head;

static void
fuzz_check_span(struct proxy_http_span s, size_t head_len)
{
	if ((size_t)s.off + s.len > head_len)
		abort();
}

static void
fuzz_check_head(const char *p, const struct proxy_http_head *h)
{
	size_t i, j, nte = 0, ncl = 0;

	if (h->head_len < 4 || memcmp(p + h->head_len - 4, "\r\n\r\n", 4) != 0)
		abort();
	fuzz_check_span(h->method, h->head_len);
	fuzz_check_span(h->target, h->head_len);
	fuzz_check_span(h->authority, h->head_len);
	fuzz_check_span(h->path, h->head_len);
	fuzz_check_span(h->reason, h->head_len);
	if (h->nfields > PROXY_HTTP_FIELDS_MAX)
		abort();
	for (i = 0; i < h->nfields; i++) {
		const struct proxy_http_field *f = &h->fields[i];

		fuzz_check_span(f->name, h->head_len);
		fuzz_check_span(f->value, h->head_len);
		if (f->name.len == 0)
			abort();
		for (j = 0; j < f->value.len; j++) {
			char c = p[f->value.off + j];

			if (c == '\r' || c == '\n' || c == '\0')
				abort();
		}
		if (proxy_http_span_eq(p, f->name, "transfer-encoding"))
			nte++;
		if (proxy_http_span_eq(p, f->name, "content-length"))
			ncl++;
		if ((nte || ncl) && !(f->flags & PROXY_HTTP_F_FRAMING) &&
		    (proxy_http_span_eq(p, f->name, "transfer-encoding") ||
		        proxy_http_span_eq(p, f->name, "content-length")))
			abort();
	}
	if (nte > 1 || ncl > 1 || (nte && ncl))
		abort();
	if (h->framing == PROXY_HTTP_BODY_CHUNKED && nte != 1)
		abort();
	if (h->framing == PROXY_HTTP_BODY_LENGTH &&
	    (ncl != 1 || h->content_length > PROXY_HTTP_LENGTH_MAX))
		abort();
}

/* Runs the body framer over in[0..len) in reads of step bytes. */
static int
fuzz_body(const struct proxy_http_head *h, const uint8_t *in, size_t len,
    size_t step, uint64_t *payload, uint64_t *sum, size_t *rest)
{
	struct proxy_http_body b;
	size_t pos = 0, lim, used, off, dlen, i;
	int r = 0;

	proxy_http_body_init(&b, h);
	*payload = 0;
	*sum = 0;
	while (pos < len && !proxy_http_body_done(&b)) {
		lim = len - pos < step ? len - pos : step;
		r = proxy_http_body_feed(
		    &b, in + pos, lim, &used, &off, &dlen, NULL);
		if (used > lim || (dlen > 0 && off + dlen > used))
			abort();
		for (i = 0; i < dlen; i++)
			*sum = *sum * 31 + in[pos + off + i];
		*payload += dlen;
		pos += used;
		if (r < 0)
			break;
		if (used == 0 && r == 0)
			abort(); /* no progress */
	}
	if (*payload > len)
		abort();
	*rest = len - pos;
	return r < 0 ? r : proxy_http_body_done(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p, *why;
	size_t len, step, scanned = 0, head_len = 0, hl2 = 0, n, r1, r2;
	uint64_t pay1, pay2, sum1, sum2;
	int is_req, r, r_inc = PETRI_ERR_TRUNCATED, b1, b2;

	if (size < 1 || size > 2 * PROXY_HTTP_HEAD_MAX)
		return 0;
	is_req = !(data[0] & 1);
	step = (size_t)(data[0] >> 1) + 1;
	p = (const char *)data + 1;
	len = size - 1;

	r = proxy_http_head_end(p, len, &scanned, &head_len, &why);
	scanned = 0;
	for (n = step < len ? step : len; n <= len;) {
		r_inc = proxy_http_head_end(p, n, &scanned, &hl2, &why);
		if (r_inc != PETRI_ERR_TRUNCATED || n == len)
			break;
		n = len - n < step ? len : n + step;
	}
	if (len == 0)
		r_inc = r;
	if (r != r_inc || (r == 0 && head_len != hl2))
		abort();
	if (r != 0)
		return 0;
	if (head_len > len || head_len > PROXY_HTTP_HEAD_MAX)
		abort();
	if (is_req)
		r = proxy_http_request_parse(p, head_len, &fz_head, &why);
	else
		r = proxy_http_response_parse(p, head_len,
		    (data[0] & 2) ? "HEAD" : "GET", &fz_head, &why);
	if (r != 0)
		return 0;
	fuzz_check_head(p, &fz_head);
	if (is_req && fz_head.form == PROXY_HTTP_FORM_NONE)
		abort();
	b1 = fuzz_body(&fz_head, data + 1 + head_len, len - head_len, len + 1,
	    &pay1, &sum1, &r1);
	b2 = fuzz_body(&fz_head, data + 1 + head_len, len - head_len, step,
	    &pay2, &sum2, &r2);
	if (b1 != b2 || (b1 >= 0 && (pay1 != pay2 || sum1 != sum2 || r1 != r2)))
		abort();
	return 0;
}
