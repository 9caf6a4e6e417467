/* proxy_http.c: strict HTTP/1.1 heads and body framing (see proxy_http.h). */
#include <string.h>
#include <strings.h>

#include "proxy_http.h"

const char proxy_http_why_version[] = "only HTTP/1.1 and HTTP/1.0 are spoken";

/* Body framing states. */
enum {
	BODY_DONE = 0,
	BODY_LENGTH,
	BODY_CLOSE,
	BODY_SIZE, /* chunk-size digits */
	BODY_SIZE_WS, /* BWS after the digits, before ';' */
	BODY_EXT, /* chunk extensions, up to CR */
	BODY_SIZE_LF, /* LF ending the chunk-size line */
	BODY_DATA,
	BODY_DATA_CR, /* CRLF after chunk data */
	BODY_DATA_LF,
	BODY_TRAILER_START, /* start of a trailer line or the final CRLF */
	BODY_TRAILER_LINE,
	BODY_TRAILER_LF,
	BODY_LAST_LF /* LF of the final CRLF */
};

static int
http_why(const char **why, const char *text, int err)
{
	if (why != NULL)
		*why = text;
	return err;
}

/* RFC 9110 5.6.2 tchar. */
static int
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte of a field value, reason phrase or extension: VCHAR, obs-text,
 * SP, HTAB. */
static int
http_is_vbyte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
http_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int
http_eq_ci(const char *a, size_t alen, const char *b)
{
	size_t i;

	if (strlen(b) != alen)
		return 0;
	for (i = 0; i < alen; i++)
		if (http_lower((unsigned char)a[i]) !=
		    http_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int
http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)http_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
proxy_http_span_eq(const char *p, struct proxy_http_span s, const char *t)
{
	return http_eq_ci(p + s.off, s.len, t);
}

int
proxy_http_field_find(const struct proxy_http_head *h, const char *p,
    const char *name, size_t from)
{
	size_t i;

	for (i = from; i < h->nfields; i++)
		if (proxy_http_span_eq(p, h->fields[i].name, name))
			return (int)i;
	return -1;
}

int
proxy_http_head_end(const char *p, size_t len, size_t *scanned,
    size_t *head_len, const char **why)
{
	const char *nl;
	size_t i = *scanned, start = 0;

	if (i > len)
		return http_why(
		    why, "scan position past the data", PETRI_ERR_INVAL);
	if (i > 0 && (nl = memrchr(p, '\n', i)) != NULL)
		start = (size_t)(nl - p) + 1;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (i >= PROXY_HTTP_HEAD_MAX)
			return http_why(
			    why, "header block too large", PETRI_ERR_TOOBIG);
		if (i - start >= PROXY_HTTP_LINE_MAX + 2)
			return http_why(
			    why, "header line too long", PETRI_ERR_TOOBIG);
		if (c == '\0')
			return http_why(
			    why, "NUL in the head", PETRI_ERR_INVAL);
		if (c == '\r') {
			if (i + 1 == len)
				break; /* look again when its LF arrives */
			if (p[i + 1] != '\n')
				return http_why(why, "bare CR in the head",
				    PETRI_ERR_INVAL);
			continue;
		}
		if (c != '\n')
			continue;
		if (i == 0 || p[i - 1] != '\r')
			return http_why(
			    why, "bare LF in the head", PETRI_ERR_INVAL);
		if (i == start + 1) {
			if (start == 0)
				return http_why(why,
				    "empty line before the start line",
				    PETRI_ERR_INVAL);
			*scanned = i + 1;
			*head_len = i + 1;
			return 0;
		}
		start = i + 1;
	}
	*scanned = i;
	if (len >= PROXY_HTTP_HEAD_MAX)
		return http_why(
		    why, "header block too large", PETRI_ERR_TOOBIG);
	return http_why(why, "head incomplete", PETRI_ERR_TRUNCATED);
}

/*
 * Finds the line starting at *pos in p[0..len): *eol is the offset of its
 * CR.  Advances *pos past the CRLF.  Returns 0 or PETRI_ERR_INVAL.
 */
static int
http_line(const char *p, size_t len, size_t *pos, size_t *eol)
{
	const char *nl;
	size_t n;

	if (*pos >= len)
		return PETRI_ERR_INVAL;
	n = len - *pos;
	if (n > PROXY_HTTP_LINE_MAX + 2)
		n = PROXY_HTTP_LINE_MAX + 2;
	if ((nl = memchr(p + *pos, '\n', n)) == NULL)
		return PETRI_ERR_INVAL;
	if (nl == p + *pos || nl[-1] != '\r')
		return PETRI_ERR_INVAL;
	*eol = (size_t)(nl - p) - 1;
	*pos = (size_t)(nl - p) + 1;
	return 0;
}

/* Parses "HTTP/1.x" at p[0..len).  Returns 0, _INVAL or _UNSUPPORTED. */
static int
http_version(const char *p, size_t len, int *minor, const char **why)
{
	if (len != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' ||
	    p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
		return http_why(why, "malformed HTTP version", PETRI_ERR_INVAL);
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return http_why(
		    why, proxy_http_why_version, PETRI_ERR_UNSUPPORTED);
	*minor = p[7] - '0';
	return 0;
}

/* Parses the field lines from *pos to the final CRLF at len. */
static int
http_fields(const char *p, size_t len, size_t pos, struct proxy_http_head *h,
    const char **why)
{
	size_t eol, i, s, e;

	h->nfields = 0;
	for (;;) {
		size_t start = pos;
		struct proxy_http_field *f;

		if (http_line(p, len, &pos, &eol) != 0)
			return http_why(
			    why, "malformed field line", PETRI_ERR_INVAL);
		if (eol == start)
			break;
		if (p[start] == ' ' || p[start] == '\t')
			return http_why(
			    why, "obsolete line folding", PETRI_ERR_INVAL);
		if (h->nfields == PROXY_HTTP_FIELDS_MAX)
			return http_why(
			    why, "too many header fields", PETRI_ERR_TOOBIG);
		for (i = start; i < eol && p[i] != ':'; i++)
			if (!http_is_tchar((unsigned char)p[i]))
				return http_why(why,
				    p[i] == ' ' || p[i] == '\t'
				        ? "whitespace before ':' in a field"
				        : "malformed field name",
				    PETRI_ERR_INVAL);
		if (i == eol || i == start)
			return http_why(
			    why, "malformed field line", PETRI_ERR_INVAL);
		f = &h->fields[h->nfields++];
		f->name.off = (uint32_t)start;
		f->name.len = (uint32_t)(i - start);
		f->flags = 0;
		s = i + 1;
		e = eol;
		for (i = s; i < e; i++)
			if (!http_is_vbyte((unsigned char)p[i]))
				return http_why(why,
				    "control byte in a field value",
				    PETRI_ERR_INVAL);
		while (s < e && (p[s] == ' ' || p[s] == '\t'))
			s++;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		f->value.off = (uint32_t)s;
		f->value.len = (uint32_t)(e - s);
	}
	if (pos != len)
		return http_why(why, "bytes after the head", PETRI_ERR_INVAL);
	return 0;
}

/* Parses a Content-Length value. */
static int
http_content_length(const char *p, size_t len, uint64_t *out, const char **why)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return http_why(
		    why, "malformed Content-Length", PETRI_ERR_INVAL);
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return http_why(
			    why, "malformed Content-Length", PETRI_ERR_INVAL);
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > PROXY_HTTP_LENGTH_MAX)
		return http_why(
		    why, "Content-Length too large", PETRI_ERR_TOOBIG);
	*out = v;
	return 0;
}

/* Marks the fields named by one Connection value hop-by-hop. */
static int
http_connection(const char *p, struct proxy_http_span v,
    struct proxy_http_head *h, size_t *ntokens, const char **why)
{
	size_t i = v.off, end = (size_t)v.off + v.len, s, e, j;

	while (i <= end) {
		s = i;
		while (i < end && p[i] != ',')
			i++;
		e = i;
		i++; /* past the comma (or the end) */
		while (s < e && (p[s] == ' ' || p[s] == '\t'))
			s++;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (s == e)
			continue; /* empty list element */
		for (j = s; j < e; j++)
			if (!http_is_tchar((unsigned char)p[j]))
				return http_why(why,
				    "malformed Connection option",
				    PETRI_ERR_INVAL);
		if (++*ntokens > PROXY_HTTP_CONN_TOKENS_MAX)
			return http_why(why, "too many Connection options",
			    PETRI_ERR_TOOBIG);
		if (http_eq_ci(p + s, e - s, "close"))
			h->flags |= PROXY_HTTP_M_CLOSE;
		else if (http_eq_ci(p + s, e - s, "upgrade"))
			h->flags |= PROXY_HTTP_M_UPGRADE;
		for (j = 0; j < h->nfields; j++)
			if (h->fields[j].name.len == e - s &&
			    strncasecmp(
			        p + h->fields[j].name.off, p + s, e - s) == 0)
				h->fields[j].flags |= PROXY_HTTP_F_HOP;
	}
	return 0;
}

/*
 * Returns 1 when a field name spelled with '_' for '-' reads as t: some
 * upstreams (CGI and WSGI environments) fold the two, so
 * "Transfer_Encoding" would frame a body there and not here.
 */
static int
http_eq_folded(const char *a, size_t alen, const char *t)
{
	size_t i;
	int c;

	if (memchr(a, '_', alen) == NULL || strlen(t) != alen)
		return 0;
	for (i = 0; i < alen; i++) {
		c = a[i] == '_' ? '-' : http_lower((unsigned char)a[i]);
		if (c != t[i])
			return 0;
	}
	return 1;
}

static const char *const http_hop_names[] = {"connection", "keep-alive",
    "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    "http2-settings", NULL};

/*
 * Flags field f by its name (hop-by-hop, proxy, upgrade); refuses the
 * '_' look-alikes of hop-by-hop and framing names.
 */
static int
http_field_name_classify(const char *p, struct proxy_http_head *h,
    struct proxy_http_field *f, const char **why)
{
	const char *name = p + f->name.off;
	int k;

	for (k = 0; http_hop_names[k] != NULL; k++) {
		if (http_eq_ci(name, f->name.len, http_hop_names[k]))
			f->flags |= PROXY_HTTP_F_HOP;
		if (http_eq_folded(name, f->name.len, http_hop_names[k]))
			return http_why(why, "'_' in a hop-by-hop field name",
			    PETRI_ERR_INVAL);
	}
	if (http_eq_folded(name, f->name.len, "content-length"))
		return http_why(
		    why, "'_' in a framing field name", PETRI_ERR_INVAL);
	if (f->name.len >= 6 &&
	    (strncasecmp(name, "proxy-", 6) == 0 ||
	        strncasecmp(name, "proxy_", 6) == 0))
		f->flags |= PROXY_HTTP_F_PROXY;
	if (http_eq_ci(name, f->name.len, "upgrade") ||
	    http_eq_ci(name, f->name.len, "http2-settings"))
		h->flags |= PROXY_HTTP_M_UPGRADE;
	return 0;
}

/*
 * The fields with a role in the message: Content-Length and
 * Transfer-Encoding (once each, counted in *ncl, *nte), and in a request
 * Host (once) and Expect.
 */
static int
http_field_role(const char *p, struct proxy_http_head *h, size_t i,
    int is_request, int *ncl, int *nte, const char **why)
{
	struct proxy_http_field *f = &h->fields[i];
	const char *name = p + f->name.off, *val = p + f->value.off;

	if (http_eq_ci(name, f->name.len, "content-length")) {
		f->flags |= PROXY_HTTP_F_FRAMING;
		if (++*ncl > 1)
			return http_why(why, "more than one Content-Length",
			    PETRI_ERR_INVAL);
		return http_content_length(
		    val, f->value.len, &h->content_length, why);
	}
	if (http_eq_ci(name, f->name.len, "transfer-encoding")) {
		f->flags |= PROXY_HTTP_F_FRAMING;
		if (++*nte > 1)
			return http_why(why, "more than one Transfer-Encoding",
			    PETRI_ERR_INVAL);
		if (!http_eq_ci(val, f->value.len, "chunked"))
			return http_why(why,
			    "only Transfer-Encoding: chunked is accepted",
			    PETRI_ERR_UNSUPPORTED);
		return 0;
	}
	if (!is_request)
		return 0;
	if (http_eq_ci(name, f->name.len, "host")) {
		f->flags |= PROXY_HTTP_F_HOST;
		if (h->host >= 0)
			return http_why(
			    why, "more than one Host", PETRI_ERR_INVAL);
		h->host = (int)i;
	} else if (http_eq_ci(name, f->name.len, "expect")) {
		f->flags |= PROXY_HTTP_F_EXPECT;
		if (http_eq_ci(val, f->value.len, "100-continue"))
			h->flags |= PROXY_HTTP_M_CONTINUE;
		else
			h->flags |= PROXY_HTTP_M_EXPECT_BAD;
	}
	return 0;
}

/*
 * Classifies the fields of a parsed head, checks Host, Expect, Connection
 * and the framing fields, and sets h->framing and h->content_length for a
 * message that may have a body.
 */
static int
http_semantics(
    const char *p, struct proxy_http_head *h, int is_request, const char **why)
{
	size_t i, ntokens = 0;
	int ncl = 0, nte = 0, r;

	h->host = -1;
	for (i = 0; i < h->nfields; i++)
		if ((r = http_field_name_classify(p, h, &h->fields[i], why)) !=
		        0 ||
		    (r = http_field_role(
		         p, h, i, is_request, &ncl, &nte, why)) != 0)
			return r;
	/* Connection options name other fields: a second pass. */
	for (i = 0; i < h->nfields; i++)
		if (proxy_http_span_eq(p, h->fields[i].name, "connection") &&
		    (r = http_connection(
		         p, h->fields[i].value, h, &ntokens, why)) != 0)
			return r;
	if (ncl > 0 && nte > 0)
		return http_why(why,
		    "both Content-Length and Transfer-Encoding",
		    PETRI_ERR_INVAL);
	if (nte > 0 && h->minor == 0)
		return http_why(
		    why, "Transfer-Encoding in HTTP/1.0", PETRI_ERR_INVAL);
	if (h->minor == 0)
		h->flags |= PROXY_HTTP_M_CLOSE;
	if (nte > 0)
		h->framing = PROXY_HTTP_BODY_CHUNKED;
	else if (ncl > 0)
		h->framing = PROXY_HTTP_BODY_LENGTH;
	else
		h->framing =
		    is_request ? PROXY_HTTP_BODY_NONE : PROXY_HTTP_BODY_CLOSE;
	if (h->framing != PROXY_HTTP_BODY_LENGTH)
		h->content_length = 0;
	return 0;
}

/* Splits the request-target by form. */
static int
http_target(const char *p, struct proxy_http_head *h, const char **why)
{
	size_t s = h->target.off, len = h->target.len, i;
	int connect = proxy_http_span_eq(p, h->method, "CONNECT");

	if (memchr(p + s, '#', len) != NULL)
		return http_why(
		    why, "fragment in the request target", PETRI_ERR_INVAL);
	if (connect) {
		if (memchr(p + s, '/', len) != NULL ||
		    memchr(p + s, '?', len) != NULL)
			return http_why(why,
			    "CONNECT needs an authority target (host:port)",
			    PETRI_ERR_INVAL);
		h->form = PROXY_HTTP_FORM_AUTHORITY;
		h->authority = h->target;
		return 0;
	}
	if (p[s] == '/') {
		h->form = PROXY_HTTP_FORM_ORIGIN;
		h->path = h->target;
		return 0;
	}
	if (len == 1 && p[s] == '*')
		return http_why(
		    why, "asterisk-form targets are refused", PETRI_ERR_INVAL);
	for (i = 0; i < len && p[s + i] != ':'; i++)
		;
	if (http_eq_ci(p + s, i, "http"))
		h->scheme = PROXY_HTTP_SCHEME_HTTP;
	else if (http_eq_ci(p + s, i, "https"))
		h->scheme = PROXY_HTTP_SCHEME_HTTPS;
	else
		return http_why(why,
		    "request target must be /path, http:// or https://",
		    PETRI_ERR_INVAL);
	if (len - i < 3 || memcmp(p + s + i, "://", 3) != 0)
		return http_why(
		    why, "malformed absolute-form target", PETRI_ERR_INVAL);
	i += 3;
	h->authority.off = (uint32_t)(s + i);
	while (i < len && p[s + i] != '/' && p[s + i] != '?')
		i++;
	h->authority.len = (uint32_t)(s + i - h->authority.off);
	if (h->authority.len == 0)
		return http_why(
		    why, "empty authority in the target", PETRI_ERR_INVAL);
	h->path.off = (uint32_t)(s + i);
	h->path.len = (uint32_t)(len - i);
	h->form = PROXY_HTTP_FORM_ABSOLUTE;
	return 0;
}

static void
http_head_clear(struct proxy_http_head *h)
{
	h->head_len = 0;
	h->minor = 1;
	h->flags = 0;
	memset(&h->method, 0, sizeof(h->method));
	memset(&h->target, 0, sizeof(h->target));
	memset(&h->authority, 0, sizeof(h->authority));
	memset(&h->path, 0, sizeof(h->path));
	memset(&h->reason, 0, sizeof(h->reason));
	h->form = PROXY_HTTP_FORM_NONE;
	h->scheme = 0;
	h->host = -1;
	h->status = 0;
	h->framing = PROXY_HTTP_BODY_NONE;
	h->content_length = 0;
	h->nfields = 0;
}

int
proxy_http_request_parse(
    const char *p, size_t len, struct proxy_http_head *h, const char **why)
{
	size_t pos = 0, eol, i, sp1, sp2;
	int r;

	http_head_clear(h);
	if (len > PROXY_HTTP_HEAD_MAX)
		return http_why(
		    why, "header block too large", PETRI_ERR_TOOBIG);
	if (http_line(p, len, &pos, &eol) != 0)
		return http_why(why, "malformed request line", PETRI_ERR_INVAL);
	for (i = 0; i < eol && http_is_tchar((unsigned char)p[i]); i++)
		;
	if (i == 0 || i == eol || p[i] != ' ')
		return http_why(why, "malformed request line", PETRI_ERR_INVAL);
	if (i > POLICY_METHOD_MAX)
		return http_why(why, "method too long", PETRI_ERR_INVAL);
	sp1 = i;
	for (i = sp1 + 1; i < eol && p[i] > 0x20 && p[i] < 0x7f; i++)
		;
	if (i == sp1 + 1 || i == eol || p[i] != ' ')
		return http_why(
		    why, "malformed request target", PETRI_ERR_INVAL);
	sp2 = i;
	h->method.off = 0;
	h->method.len = (uint32_t)sp1;
	h->target.off = (uint32_t)(sp1 + 1);
	h->target.len = (uint32_t)(sp2 - sp1 - 1);
	if ((r = http_version(p + sp2 + 1, eol - sp2 - 1, &h->minor, why)) != 0)
		return r;
	if (proxy_http_span_eq(p, h->method, "TRACE") ||
	    proxy_http_span_eq(p, h->method, "TRACK"))
		return http_why(why, "TRACE echoes credentials: refused",
		    PETRI_ERR_UNSUPPORTED);
	if (proxy_http_span_eq(p, h->method, "PRI"))
		return http_why(
		    why, "HTTP/2 is not spoken", PETRI_ERR_UNSUPPORTED);
	if ((r = http_target(p, h, why)) != 0)
		return r;
	if ((r = http_fields(p, len, pos, h, why)) != 0)
		return r;
	if ((r = http_semantics(p, h, 1, why)) != 0)
		return r;
	h->head_len = len;
	return 0;
}

int
proxy_http_response_parse(const char *p, size_t len, const char *req_method,
    struct proxy_http_head *h, const char **why)
{
	size_t pos = 0, eol, i;
	int r;

	http_head_clear(h);
	if (len > PROXY_HTTP_HEAD_MAX)
		return http_why(
		    why, "header block too large", PETRI_ERR_TOOBIG);
	if (http_line(p, len, &pos, &eol) != 0 || eol < 12 || p[8] != ' ')
		return http_why(why, "malformed status line", PETRI_ERR_INVAL);
	if ((r = http_version(p, 8, &h->minor, why)) != 0)
		return r;
	for (i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return http_why(
			    why, "malformed status code", PETRI_ERR_INVAL);
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (h->status < 100)
		return http_why(why, "malformed status code", PETRI_ERR_INVAL);
	if (eol > 12) {
		if (p[12] != ' ')
			return http_why(
			    why, "malformed status line", PETRI_ERR_INVAL);
		for (i = 13; i < eol; i++)
			if (!http_is_vbyte((unsigned char)p[i]))
				return http_why(why,
				    "control byte in the reason phrase",
				    PETRI_ERR_INVAL);
		h->reason.off = 13;
		h->reason.len = (uint32_t)(eol - 13);
	}
	if ((r = http_fields(p, len, pos, h, why)) != 0)
		return r;
	if ((r = http_semantics(p, h, 0, why)) != 0)
		return r;
	if ((req_method != NULL &&
	        (strcmp(req_method, "HEAD") == 0 ||
	            (strcmp(req_method, "CONNECT") == 0 &&
	                h->status / 100 == 2))) ||
	    h->status / 100 == 1 || h->status == 204 || h->status == 304) {
		h->framing = PROXY_HTTP_BODY_NONE;
		h->content_length = 0;
	}
	h->head_len = len;
	return 0;
}

void
proxy_http_body_init(struct proxy_http_body *b, const struct proxy_http_head *h)
{
	memset(b, 0, sizeof(*b));
	b->framing = h->framing;
	switch (h->framing) {
	case PROXY_HTTP_BODY_LENGTH:
		b->remaining = h->content_length;
		b->state = b->remaining > 0 ? BODY_LENGTH : BODY_DONE;
		break;
	case PROXY_HTTP_BODY_CHUNKED:
		b->state = BODY_SIZE;
		break;
	case PROXY_HTTP_BODY_CLOSE:
		b->state = BODY_CLOSE;
		break;
	case PROXY_HTTP_BODY_NONE:
	default:
		b->state = BODY_DONE;
		break;
	}
}

int
proxy_http_body_done(const struct proxy_http_body *b)
{
	return b->state == BODY_DONE;
}

int
proxy_http_body_eof(struct proxy_http_body *b)
{
	if (b->state == BODY_CLOSE)
		b->state = BODY_DONE;
	return b->state == BODY_DONE ? 0 : PETRI_ERR_TRUNCATED;
}

/* Counts one byte of a chunk-size line or of the trailer section. */
static int
body_line_byte(struct proxy_http_body *b, int trailer, const char **why)
{
	if (trailer) {
		if (++b->trailer > PROXY_HTTP_TRAILER_MAX)
			return http_why(
			    why, "trailer section too large", PETRI_ERR_TOOBIG);
		return 0;
	}
	if (++b->line > PROXY_HTTP_CHUNK_LINE_MAX)
		return http_why(
		    why, "chunk extensions too long", PETRI_ERR_TOOBIG);
	return 0;
}

/*
 * One byte of chunked framing around the data: the chunk-size line (with
 * extensions) and the CRLF after the chunk's data.  Returns 0 or an error.
 */
static int
body_chunk_byte(struct proxy_http_body *b, unsigned char c, const char **why)
{
	int v;

	switch (b->state) {
	case BODY_SIZE:
		if ((v = http_hexval(c)) >= 0) {
			if (++b->digits > PROXY_HTTP_CHUNK_DIGITS_MAX)
				return http_why(why, "chunk size too large",
				    PETRI_ERR_TOOBIG);
			b->remaining = b->remaining * 16 + (uint64_t)v;
			if (b->remaining > PROXY_HTTP_LENGTH_MAX)
				return http_why(why, "chunk size too large",
				    PETRI_ERR_TOOBIG);
		} else if (b->digits == 0)
			return http_why(
			    why, "malformed chunk size", PETRI_ERR_INVAL);
		else if (c == ';')
			b->state = BODY_EXT;
		else if (c == ' ' || c == '\t')
			b->state = BODY_SIZE_WS;
		else if (c == '\r')
			b->state = BODY_SIZE_LF;
		else
			return http_why(
			    why, "malformed chunk size", PETRI_ERR_INVAL);
		return body_line_byte(b, 0, why);
	case BODY_SIZE_WS:
		if (c == ';')
			b->state = BODY_EXT;
		else if (c != ' ' && c != '\t')
			return http_why(
			    why, "malformed chunk size", PETRI_ERR_INVAL);
		return body_line_byte(b, 0, why);
	case BODY_EXT:
		if (c == '\r')
			b->state = BODY_SIZE_LF;
		else if (!http_is_vbyte(c))
			return http_why(why,
			    "control byte in a chunk extension",
			    PETRI_ERR_INVAL);
		return body_line_byte(b, 0, why);
	case BODY_SIZE_LF:
		if (c != '\n')
			return http_why(
			    why, "bare CR in chunk framing", PETRI_ERR_INVAL);
		b->line = 0;
		b->digits = 0;
		b->state = b->remaining == 0 ? BODY_TRAILER_START : BODY_DATA;
		return 0;
	case BODY_DATA_CR:
		if (c != '\r')
			return http_why(why, "chunk data longer than its size",
			    PETRI_ERR_INVAL);
		b->state = BODY_DATA_LF;
		return 0;
	case BODY_DATA_LF:
		if (c != '\n')
			return http_why(
			    why, "bare CR in chunk framing", PETRI_ERR_INVAL);
		b->state = BODY_SIZE;
		b->remaining = 0;
		return 0;
	}
	return http_why(why, "bad framing state", PETRI_ERR_INVAL);
}

/*
 * One byte of the trailer section after the last chunk; its final CRLF
 * sets BODY_DONE.  Returns 0 or an error.
 */
static int
body_trailer_byte(struct proxy_http_body *b, unsigned char c, const char **why)
{
	switch (b->state) {
	case BODY_TRAILER_START:
		if (c == '\r')
			b->state = BODY_LAST_LF;
		else if (c == ' ' || c == '\t')
			return http_why(why,
			    "obsolete line folding in trailers",
			    PETRI_ERR_INVAL);
		else if (!http_is_vbyte(c))
			return http_why(
			    why, "control byte in trailers", PETRI_ERR_INVAL);
		else
			b->state = BODY_TRAILER_LINE;
		return body_line_byte(b, 1, why);
	case BODY_TRAILER_LINE:
		if (c == '\r')
			b->state = BODY_TRAILER_LF;
		else if (!http_is_vbyte(c))
			return http_why(
			    why, "control byte in trailers", PETRI_ERR_INVAL);
		return body_line_byte(b, 1, why);
	case BODY_TRAILER_LF:
		if (c != '\n')
			return http_why(
			    why, "bare CR in trailers", PETRI_ERR_INVAL);
		b->state = BODY_TRAILER_START;
		return body_line_byte(b, 1, why);
	case BODY_LAST_LF:
		if (c != '\n')
			return http_why(
			    why, "bare CR in trailers", PETRI_ERR_INVAL);
		b->state = BODY_DONE;
		return 0;
	}
	return http_why(why, "bad framing state", PETRI_ERR_INVAL);
}

int
proxy_http_body_feed(struct proxy_http_body *b, const unsigned char *in,
    size_t len, size_t *used, size_t *data_off, size_t *data_len,
    const char **why)
{
	size_t i = 0, n;
	int r;

	*used = 0;
	*data_off = 0;
	*data_len = 0;
	while (i < len) {
		switch (b->state) {
		case BODY_DONE:
			*used = i;
			return 1;
		case BODY_LENGTH:
		case BODY_DATA:
			n = len - i;
			if (n > b->remaining)
				n = (size_t)b->remaining;
			*data_off = i;
			*data_len = n;
			b->remaining -= n;
			b->total += n;
			*used = i + n;
			if (b->remaining == 0)
				b->state = b->state == BODY_LENGTH
				    ? BODY_DONE
				    : BODY_DATA_CR;
			return b->state == BODY_DONE;
		case BODY_CLOSE:
			*data_off = i;
			*data_len = len - i;
			b->total += len - i;
			*used = len;
			return 0;
		case BODY_TRAILER_START:
		case BODY_TRAILER_LINE:
		case BODY_TRAILER_LF:
		case BODY_LAST_LF:
			r = body_trailer_byte(b, in[i], why);
			break;
		default:
			r = body_chunk_byte(b, in[i], why);
			break;
		}
		if (r != 0)
			return r;
		i++;
		if (b->state == BODY_DONE) {
			*used = i;
			return 1;
		}
	}
	*used = i;
	return b->state == BODY_DONE;
}
