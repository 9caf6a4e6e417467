/* preview_http.c: the preview gateway's request rules (preview_http.h). */
#include <string.h>

#include "preview_http.h"

static int
preview_lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int
preview_host_token(const char *host, size_t len, const char *domain,
    char token[PREVIEW_TOKEN_HEX + 1])
{
	size_t dlen = strlen(domain), end = len, i;

	/* an optional ":port", digits only */
	for (i = len; i > 0; i--)
		if (host[i - 1] == ':')
			break;
	if (i > 0) {
		size_t d;

		if (i == len || len - i > 5)
			return PETRI_ERR_NOTFOUND;
		for (d = i; d < len; d++)
			if (host[d] < '0' || host[d] > '9')
				return PETRI_ERR_NOTFOUND;
		end = i - 1;
	}
	if (dlen == 0 || end != PREVIEW_TOKEN_HEX + 1 + dlen ||
	    host[PREVIEW_TOKEN_HEX] != '.')
		return PETRI_ERR_NOTFOUND;
	for (i = 0; i < dlen; i++)
		if (preview_lc(
		        (unsigned char)host[PREVIEW_TOKEN_HEX + 1 + i]) !=
		    (unsigned char)domain[i])
			return PETRI_ERR_NOTFOUND;
	for (i = 0; i < PREVIEW_TOKEN_HEX; i++) {
		int c = preview_lc((unsigned char)host[i]);

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return PETRI_ERR_NOTFOUND;
		token[i] = (char)c;
	}
	token[PREVIEW_TOKEN_HEX] = '\0';
	return 0;
}

size_t
preview_path_redact(const char *t, size_t len, char *out, size_t outlen)
{
	size_t i, n = 0, max = outlen - 1;
	int query = 0, value = 0;

	if (outlen == 0)
		return 0;
	if (max > PREVIEW_PATH_MAX)
		max = PREVIEW_PATH_MAX;
	for (i = 0; i < len && n < max; i++) {
		char c = t[i];

		if (c == '#')
			break;
		if (!query && c == '?')
			query = 1;
		else if (query && c == '&')
			value = 0;
		else if (query && c == '=') {
			value = 1;
			continue;
		} else if (value)
			continue;
		out[n++] = c;
	}
	out[n] = '\0';
	return n;
}

/* Whether the comma-separated list in s names opt (ASCII case ignored). */
static int
preview_list_has(const char *p, struct proxy_http_span s, const char *opt)
{
	size_t i = 0, olen = strlen(opt);

	while (i < s.len) {
		size_t b, e;

		while (i < s.len &&
		    (p[s.off + i] == ' ' || p[s.off + i] == '\t' ||
		        p[s.off + i] == ','))
			i++;
		b = i;
		while (i < s.len && p[s.off + i] != ',')
			i++;
		e = i;
		while (e > b &&
		    (p[s.off + e - 1] == ' ' || p[s.off + e - 1] == '\t'))
			e--;
		if (e - b == olen) {
			struct proxy_http_span w = {
			    s.off + (uint32_t)b, (uint32_t)olen};

			if (proxy_http_span_eq(p, w, opt))
				return 1;
		}
	}
	return 0;
}

int
preview_is_websocket(const char *p, const struct proxy_http_head *h)
{
	int u, c;
	size_t i;

	if (!proxy_http_span_eq(p, h->method, "GET"))
		return 0;
	if ((u = proxy_http_field_find(h, p, "upgrade", 0)) < 0 ||
	    proxy_http_field_find(h, p, "upgrade", (size_t)u + 1) >= 0 ||
	    !proxy_http_span_eq(p, h->fields[u].value, "websocket"))
		return 0;
	for (i = 0; (c = proxy_http_field_find(h, p, "connection", i)) >= 0;
	     i = (size_t)c + 1)
		if (preview_list_has(p, h->fields[c].value, "upgrade"))
			return 1;
	return 0;
}

/* Fields the gateway never passes to the app, whatever their role. */
static int
preview_req_field_dropped(const char *p, const struct proxy_http_field *f)
{
	static const char *const names[] = {
	    "authorization", "forwarded", "x-real-ip", "cookie2", NULL};
	size_t i;

	if ((f->flags & PROXY_HTTP_F_STRIP) != 0)
		return 1;
	for (i = 0; names[i] != NULL; i++)
		if (proxy_http_span_eq(p, f->name, names[i]))
			return 1;
	if (f->name.len >= 12) {
		struct proxy_http_span pre = {f->name.off, 12};

		if (proxy_http_span_eq(p, pre, "x-forwarded-"))
			return 1;
	}
	return 0;
}

/*
 * The authority of an absolute URL value "scheme://authority[/...]": its
 * span in *auth and the offset of what follows it.  0 or -1.
 */
static int
preview_url_authority(const char *p, struct proxy_http_span v,
    struct proxy_http_span *auth, size_t *rest)
{
	size_t i = 0, b;

	while (i < v.len && p[v.off + i] != ':')
		i++;
	if (i + 3 > v.len || p[v.off + i + 1] != '/' || p[v.off + i + 2] != '/')
		return -1;
	b = i + 3;
	for (i = b; i < v.len; i++)
		if (p[v.off + i] == '/' || p[v.off + i] == '?')
			break;
	auth->off = v.off + (uint32_t)b;
	auth->len = (uint32_t)(i - b);
	*rest = i;
	return auth->len > 0 ? 0 : -1;
}

/* Origin/Referer: rewritten when they name the preview itself, else dropped. */
static int
preview_origin_field(const char *p, const struct proxy_http_head *h,
    const struct proxy_http_field *f, const char *upstream, struct buf *out)
{
	struct proxy_http_span auth, host;
	size_t rest, i;
	int r;

	if (h->host < 0 ||
	    preview_url_authority(p, f->value, &auth, &rest) != 0)
		return 0;
	host = h->fields[h->host].value;
	if (auth.len != host.len)
		return 0;
	for (i = 0; i < auth.len; i++)
		if (preview_lc((unsigned char)p[auth.off + i]) !=
		    preview_lc((unsigned char)p[host.off + i]))
			return 0;
	if ((r = buf_printf(out, "%.*s: http://%s", (int)f->name.len,
	         p + f->name.off, upstream)) != 0 ||
	    (r = buf_append(
	         out, p + f->value.off + rest, f->value.len - rest)) != 0)
		return r;
	return buf_append(out, "\r\n", 2);
}

static int
preview_framing_write(
    enum preview_framing body, uint64_t length, struct buf *out)
{
	if (body == PREVIEW_FRAME_LENGTH)
		return buf_printf(out, "Content-Length: %llu\r\n",
		    (unsigned long long)length);
	if (body == PREVIEW_FRAME_CHUNKED)
		return buf_append_str(out, "Transfer-Encoding: chunked\r\n");
	return 0;
}

int
preview_request_head(const char *p, const struct proxy_http_head *h,
    const char *upstream, enum preview_framing body, int websocket,
    struct buf *out)
{
	const struct proxy_http_field *f;
	size_t i;
	int r;

	if ((r = buf_printf(out, "%.*s %.*s HTTP/1.1\r\nHost: %s\r\n",
	         (int)h->method.len, p + h->method.off,
	         h->path.len > 0 ? (int)h->path.len : 1,
	         h->path.len > 0 ? p + h->path.off : "/", upstream)) != 0)
		return r;
	for (i = 0; i < h->nfields; i++) {
		f = &h->fields[i];
		if (proxy_http_span_eq(p, f->name, "origin") ||
		    proxy_http_span_eq(p, f->name, "referer")) {
			if ((r = preview_origin_field(
			         p, h, f, upstream, out)) != 0)
				return r;
			continue;
		}
		if (preview_req_field_dropped(p, f))
			continue;
		if ((r = buf_append(out, p + f->name.off, f->name.len)) != 0 ||
		    (r = buf_append(out, ": ", 2)) != 0 ||
		    (r = buf_append(out, p + f->value.off, f->value.len)) !=
		        0 ||
		    (r = buf_append(out, "\r\n", 2)) != 0)
			return r;
	}
	if ((r = preview_framing_write(body, h->content_length, out)) != 0)
		return r;
	if (websocket)
		r = buf_append_str(
		    out, "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
	else
		r = buf_append_str(out, "Connection: keep-alive\r\n\r\n");
	return r;
}

/*
 * Set-Cookie without its Domain attributes: a cookie of an app stays on
 * its preview's own host, never set for the parent domain where every
 * other preview (and, on localhost, Petri's own API) would receive it.
 */
static int
preview_cookie_write(
    const char *p, const struct proxy_http_field *f, struct buf *out)
{
	size_t i = 0, b, e, n = f->value.len;
	const char *v = p + f->value.off;
	int r, first = 1;

	if ((r = buf_append_str(out, "Set-Cookie: ")) != 0)
		return r;
	while (i <= n) {
		b = i;
		while (i < n && v[i] != ';')
			i++;
		e = i++;
		while (b < e && (v[b] == ' ' || v[b] == '\t'))
			b++;
		if (!first && e - b >= 6) {
			struct proxy_http_span d = {
			    f->value.off + (uint32_t)b, 6};

			if (proxy_http_span_eq(p, d, "domain") &&
			    (e - b == 6 || v[b + 6] == '=' || v[b + 6] == ' ' ||
			        v[b + 6] == '\t'))
				continue;
		}
		if ((!first && (r = buf_append(out, "; ", 2)) != 0) ||
		    (r = buf_append(out, v + b, e - b)) != 0)
			return r;
		first = 0;
	}
	return buf_append(out, "\r\n", 2);
}

int
preview_response_head(const char *p, const struct proxy_http_head *h,
    enum preview_framing body, int close, struct buf *out)
{
	const struct proxy_http_field *f;
	size_t i;
	int r;

	if ((r = buf_printf(out, "HTTP/1.1 %d %.*s\r\n", h->status,
	         (int)h->reason.len, p + h->reason.off)) != 0)
		return r;
	for (i = 0; i < h->nfields; i++) {
		f = &h->fields[i];
		if ((f->flags & PROXY_HTTP_F_STRIP) != 0)
			continue;
		if (proxy_http_span_eq(p, f->name, "set-cookie")) {
			if ((r = preview_cookie_write(p, f, out)) != 0)
				return r;
			continue;
		}
		if ((r = buf_append(out, p + f->name.off, f->name.len)) != 0 ||
		    (r = buf_append(out, ": ", 2)) != 0 ||
		    (r = buf_append(out, p + f->value.off, f->value.len)) !=
		        0 ||
		    (r = buf_append(out, "\r\n", 2)) != 0)
			return r;
	}
	if ((r = preview_framing_write(body, h->content_length, out)) != 0)
		return r;
	if (h->status == 101)
		r = buf_append_str(
		    out, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
	else if (close)
		r = buf_append_str(out, "Connection: close\r\n");
	if (r != 0)
		return r;
	return buf_append(out, "\r\n", 2);
}
