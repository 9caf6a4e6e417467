/*
 * proxy_http.h: HTTP/1.1 message heads and body framing for the egress
 * proxy (RFC 9110, RFC 9112), strict where the RFCs allow a choice, because
 * every ambiguity between the proxy's reading and an upstream's is a
 * request-smuggling primitive.
 *
 * Grammar decisions:
 *  - Lines end in CRLF only.  A bare LF, a bare CR, a NUL or any other
 *    control byte but HTAB anywhere in a head is refused (RFC 9112 2.2
 *    allows a recipient to accept a bare LF; we do not, in either direction).
 *  - Leading empty lines, whitespace between a field name and ':', and
 *    obs-fold (a field line that starts with SP or HTAB) are refused.
 *  - Field names are tokens; field values are VCHAR, obs-text, SP and HTAB
 *    with surrounding whitespace trimmed.
 *  - Request lines are "method SP target SP HTTP/1.x" with single spaces;
 *    the target is visible ASCII only, never holds '#'.  Methods are tokens
 *    of at most POLICY_METHOD_MAX bytes; TRACE (it echoes credentials) and
 *    the HTTP/2 preface "PRI" are refused.
 *  - Only HTTP/1.1 and HTTP/1.0 are spoken.
 *
 * Framing decisions (both directions):
 *  - Content-Length is 1 to 19 digits (no sign, no list, no whitespace
 *    inside), at most PROXY_HTTP_LENGTH_MAX; a second Content-Length field,
 *    even with the same value, is refused.
 *  - Transfer-Encoding must be exactly one field holding exactly "chunked"
 *    (any case); any other coding, a list, or a second field is refused, as
 *    is Transfer-Encoding in an HTTP/1.0 message.
 *  - Content-Length together with Transfer-Encoding is refused.
 *  - A request without either has no body.  A response without either is
 *    read until the connection closes; responses to HEAD, 1xx, 204 and 304
 *    have no body whatever their fields say.
 *  - Chunk sizes are 1 to 16 hex digits, at most PROXY_HTTP_LENGTH_MAX;
 *    extensions are bounded (PROXY_HTTP_CHUNK_LINE_MAX), checked for
 *    control bytes and dropped; trailers are bounded, checked and dropped.
 *    The proxy never forwards the framing it received: it writes its own.
 *
 * Field roles: the parser marks every field the proxy must not forward as
 * it is (PROXY_HTTP_F_*): hop-by-hop fields (RFC 9110 7.6.1: Connection,
 * Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade,
 * HTTP2-Settings, and every field the Connection field names), every
 * Proxy-* (and Proxy_*) field, framing (Content-Length, Transfer-Encoding),
 * Host and Expect.  A field name that reads as a hop-by-hop or framing name
 * once '_' is taken for '-' ("Transfer_Encoding") is refused: CGI-style
 * upstreams fold the two.
 *
 * Pure: no I/O, no allocation, no globals.  A head is parsed in place: the
 * spans in struct proxy_http_head are offsets into the caller's buffer.
 */
#ifndef PETRI_PROXY_HTTP_H
#define PETRI_PROXY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "petri_err.h"
#include "policy_bounds.h"
#include "proxy_bounds.h"

/* Request target forms (RFC 9112 3.2). */
enum proxy_http_form {
	PROXY_HTTP_FORM_NONE = 0, /* a response */
	PROXY_HTTP_FORM_ORIGIN, /* "/path?query" */
	PROXY_HTTP_FORM_ABSOLUTE, /* "http://authority/path?query" */
	PROXY_HTTP_FORM_AUTHORITY /* "host:port", CONNECT only */
};

/* How a message body is delimited. */
enum proxy_http_framing {
	PROXY_HTTP_BODY_NONE = 0, /* no body */
	PROXY_HTTP_BODY_LENGTH, /* Content-Length bytes */
	PROXY_HTTP_BODY_CHUNKED, /* chunked coding */
	PROXY_HTTP_BODY_CLOSE /* until the connection closes (responses) */
};

/* Field roles (struct proxy_http_field.flags). */
#define PROXY_HTTP_F_HOP 0x01 /* hop-by-hop: never forwarded */
#define PROXY_HTTP_F_PROXY 0x02 /* Proxy-*: never forwarded */
#define PROXY_HTTP_F_FRAMING 0x04 /* Content-Length, Transfer-Encoding */
#define PROXY_HTTP_F_HOST 0x08 /* Host */
#define PROXY_HTTP_F_EXPECT 0x10 /* Expect */
#define PROXY_HTTP_F_STRIP                                                     \
	(PROXY_HTTP_F_HOP | PROXY_HTTP_F_PROXY | PROXY_HTTP_F_FRAMING |        \
	    PROXY_HTTP_F_HOST | PROXY_HTTP_F_EXPECT)

/* Message flags (struct proxy_http_head.flags). */
#define PROXY_HTTP_M_CLOSE 0x01 /* Connection: close, or HTTP/1.0 */
#define PROXY_HTTP_M_UPGRADE                                                   \
	0x02 /* Upgrade, HTTP2-Settings, or the
					 "upgrade" Connection option */
#define PROXY_HTTP_M_CONTINUE 0x04 /* Expect: 100-continue */
#define PROXY_HTTP_M_EXPECT_BAD 0x08 /* an Expect other than 100-continue */

/* Absolute-form schemes (struct proxy_http_head.scheme). */
#define PROXY_HTTP_SCHEME_HTTP 1
#define PROXY_HTTP_SCHEME_HTTPS 2

/* The *why of a version other than HTTP/1.0 and 1.1 (answer 505). */
extern const char proxy_http_why_version[];

/* A byte range of the parsed buffer. */
struct proxy_http_span {
	uint32_t off;
	uint32_t len;
};

struct proxy_http_field {
	struct proxy_http_span name; /* a token */
	struct proxy_http_span value; /* trimmed; may be empty */
	unsigned int flags; /* PROXY_HTTP_F_* */
};

/* A parsed request or response head.  Spans point into the parsed buffer. */
struct proxy_http_head {
	size_t head_len; /* bytes of the head, final CRLF included */
	int minor; /* HTTP/1.<minor>: 0 or 1 */
	unsigned int flags; /* PROXY_HTTP_M_* */

	/* requests */
	struct proxy_http_span method;
	struct proxy_http_span target; /* the whole request-target */
	enum proxy_http_form form;
	int scheme; /* absolute-form: PROXY_HTTP_SCHEME_* */
	struct proxy_http_span authority; /* absolute- and authority-form */
	struct proxy_http_span path; /* origin/absolute: path [?query];
					  len 0 means "/" */
	int host; /* index of the Host field, -1 when absent */

	/* responses */
	int status; /* 100..999 */
	struct proxy_http_span reason;

	/* framing */
	enum proxy_http_framing framing;
	uint64_t content_length; /* PROXY_HTTP_BODY_LENGTH only */

	size_t nfields;
	struct proxy_http_field fields[PROXY_HTTP_FIELDS_MAX];
};

/*
 * Finds the end of a head in the first len bytes of p, incrementally: *scanned
 * (0 for a new head) is how far previous calls looked and is updated, so
 * calling again after more bytes arrived only looks at the new ones.  Fails
 * early on bytes no head may hold (NUL, a bare LF, a bare CR).
 * Returns 0 with *head_len set when the head is complete;
 * PETRI_ERR_TRUNCATED when more bytes are needed; PETRI_ERR_TOOBIG when the
 * head or one of its lines is over its bound (PROXY_HTTP_HEAD_MAX,
 * PROXY_HTTP_LINE_MAX); PETRI_ERR_INVAL for a forbidden byte.  *why (may be
 * NULL) gets static text on error.
 */
int proxy_http_head_end(const char *p, size_t len, size_t *scanned,
    size_t *head_len, const char **why) PETRI_WUR;

/*
 * Parses the request head in p[0..len) (len is what proxy_http_head_end()
 * gave) into *h.  Also checks that the target form fits the method
 * (authority-form for CONNECT and only there; absolute-form schemes are
 * http and https; asterisk-form is refused), that there is at most one Host
 * field (presence is the caller's rule), and the Expect, Connection and
 * framing fields.  Returns 0, PETRI_ERR_INVAL (malformed or ambiguous:
 * answer 400), PETRI_ERR_TOOBIG (over a bound: answer 413),
 * PETRI_ERR_UNSUPPORTED (a transfer coding or version we do not speak:
 * answer 501 or 505; *why says which).  *why as above.
 */
int proxy_http_request_parse(const char *p, size_t len,
    struct proxy_http_head *h, const char **why) PETRI_WUR;

/*
 * Parses the response head in p[0..len) into *h.  req_method is the method
 * of the request it answers (HEAD and CONNECT change the framing; NULL is
 * "GET").  Returns 0 or an error as proxy_http_request_parse() (every error
 * means the upstream is broken: answer 502).
 */
int proxy_http_response_parse(const char *p, size_t len, const char *req_method,
    struct proxy_http_head *h, const char **why) PETRI_WUR;

/*
 * Returns 1 when the span s of p equals the NUL-terminated text t ignoring
 * ASCII case, else 0.
 */
int proxy_http_span_eq(const char *p, struct proxy_http_span s, const char *t);

/*
 * Returns the index of the first field at or after from whose name is name
 * (ASCII case ignored), or -1.
 */
int proxy_http_field_find(const struct proxy_http_head *h, const char *p,
    const char *name, size_t from);

/* Body framing state; initialise with proxy_http_body_init(). */
struct proxy_http_body {
	enum proxy_http_framing framing;
	int state;
	uint64_t remaining; /* of the Content-Length or of the chunk */
	uint64_t total; /* payload bytes delivered so far */
	size_t line; /* bytes of the current chunk or trailer line */
	size_t trailer; /* bytes of the trailer section */
	unsigned int digits; /* hex digits of the chunk-size */
};

/* Sets b up for the body that h announces. */
void proxy_http_body_init(
    struct proxy_http_body *b, const struct proxy_http_head *h);

/*
 * Feeds len bytes of body (framing included) to b.  Consumes a prefix of
 * in, *used bytes, and reports at most one span of payload bytes inside it,
 * in[*data_off .. *data_off + *data_len).  Call again with the rest.  Bytes
 * after the end of the body are not consumed: they belong to the next
 * message.  Returns 1 when the body is complete, 0 when more bytes are
 * needed (or more of in remains), PETRI_ERR_INVAL for malformed chunked
 * framing and PETRI_ERR_TOOBIG for a chunk-size, extension or trailer over
 * its bound; *why (may be NULL) says which.
 */
int proxy_http_body_feed(struct proxy_http_body *b, const unsigned char *in,
    size_t len, size_t *used, size_t *data_off, size_t *data_len,
    const char **why) PETRI_WUR;

/* Returns 1 when the body is complete, else 0. */
int proxy_http_body_done(const struct proxy_http_body *b);

/*
 * Tells b that the connection closed.  Returns 0 when that completes the
 * body (close-delimited bodies) or when it was already complete,
 * PETRI_ERR_TRUNCATED otherwise.
 */
int proxy_http_body_eof(struct proxy_http_body *b) PETRI_WUR;

#endif /* PETRI_PROXY_HTTP_H */
