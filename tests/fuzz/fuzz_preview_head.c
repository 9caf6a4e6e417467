/*
 * fuzz_preview_head.c: the preview gateway's reading of a caller's request
 * head (proxy_http's parser, then preview_http's token, path and rewrite
 * rules) and of an app's response head.  Checks that every rewritten head
 * is itself one request (or response) the strict parser accepts, and that
 * no token of the Host field survives into the head the app gets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "preview_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Occurrences of the token (any case) in p[0..n). */
static int
fuzz_count(const char *p, size_t n, const char *token)
{
	size_t i, j;
	int c = 0;

	for (i = 0; i + PREVIEW_TOKEN_HEX <= n; i++) {
		for (j = 0; j < PREVIEW_TOKEN_HEX; j++) {
			char a = p[i + j];

			if (a >= 'A' && a <= 'Z')
				a = (char)(a + 32);
			if (a != token[j])
				break;
		}
		c += j == PREVIEW_TOKEN_HEX;
	}
	return c;
}

static void
fuzz_request(const char *p, size_t hl)
{
	static struct proxy_http_head h, h2;
	char token[PREVIEW_TOKEN_HEX + 1], path[PREVIEW_PATH_MAX + 1];
	const char *why = NULL;
	struct buf out;
	size_t n, scanned = 0, hl2;
	int ws, tok = -1;

	if (proxy_http_request_parse(p, hl, &h, &why) != 0)
		return;
	n = preview_path_redact(
	    p + h.target.off, h.target.len, path, sizeof(path));
	if (n != strlen(path) || n > PREVIEW_PATH_MAX)
		abort();
	if (h.host >= 0)
		tok = preview_host_token(p + h.fields[h.host].value.off,
		    h.fields[h.host].value.len, "localhost", token);
	if (tok == 0 && strlen(token) != PREVIEW_TOKEN_HEX)
		abort();
	ws = preview_is_websocket(p, &h);
	buf_init(&out, PROXY_HTTP_HEAD_MAX + 1024);
	if (h.form == PROXY_HTTP_FORM_ORIGIN &&
	    preview_request_head(p, &h, "172.18.0.5:8000",
	        h.framing == PROXY_HTTP_BODY_CHUNKED ? PREVIEW_FRAME_CHUNKED
	            : h.framing == PROXY_HTTP_BODY_LENGTH ? PREVIEW_FRAME_LENGTH
	                                                  : PREVIEW_FRAME_NONE,
	        ws, &out) == 0) {
		/* what the app gets is one well-formed head, its Host ours */
		if (out.len > PROXY_HTTP_HEAD_MAX)
			goto out;
		if (proxy_http_head_end((const char *)out.data, out.len,
		        &scanned, &hl2, &why) != 0 ||
		    hl2 != out.len ||
		    proxy_http_request_parse(
		        (const char *)out.data, out.len, &h2, &why) != 0 ||
		    h2.host < 0 ||
		    !proxy_http_span_eq((const char *)out.data,
		        h2.fields[h2.host].value, "172.18.0.5:8000") ||
		    h2.framing != h.framing)
			abort();
		/* a token the caller wrote in Host alone never reaches the
		 * app (tokens elsewhere are the caller's own business) */
		if (tok == 0 && fuzz_count(p, hl, token) == 1 &&
		    memmem(out.data, out.len, token, PREVIEW_TOKEN_HEX) != NULL)
			abort();
	}
out:
	buf_free(&out);
}

static void
fuzz_response(const char *p, size_t hl)
{
	static struct proxy_http_head h;
	const char *why = NULL;
	struct buf out;

	if (proxy_http_response_parse(p, hl, "GET", &h, &why) != 0)
		return;
	buf_init(&out, PROXY_HTTP_HEAD_MAX + 1024);
	if (preview_response_head(p, &h,
	        h.framing == PROXY_HTTP_BODY_LENGTH ? PREVIEW_FRAME_LENGTH
	                                            : PREVIEW_FRAME_CHUNKED,
	        1, &out) == 0 &&
	    (out.len < 4 || memcmp(out.data + out.len - 4, "\r\n\r\n", 4) != 0))
		abort();
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t scanned = 0, hl;
	const char *why = NULL;
	char *p;

	if ((p = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(p, data, size);
	if (proxy_http_head_end(p, size, &scanned, &hl, &why) == 0) {
		fuzz_request(p, hl);
		fuzz_response(p, hl);
	}
	/* the Host rule alone, on raw bytes */
	{
		char token[PREVIEW_TOKEN_HEX + 1];

		if (preview_host_token(p, size, "preview.example.org", token) ==
		        0 &&
		    strlen(token) != PREVIEW_TOKEN_HEX)
			abort();
	}
	free(p);
	return 0;
}
