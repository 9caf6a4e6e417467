/*
 * preview_http.h: what the preview gateway reads of a caller's request and
 * writes to the app, and back.  The HTTP/1.1 grammar and body framing are
 * the egress proxy's (proxy/proxy_http.h: strict, no smuggling); this file
 * adds the gateway's own rules on top.
 *
 *  - The preview is named by the Host field: "<token>.<domain>[:port]",
 *    the token PREVIEW_TOKEN_HEX lower-case hex digits (upper case is taken
 *    as lower: host names are case-insensitive).
 *  - The app sees a Host of its own address ("172.18.0.5:8000"), never the
 *    token; an Origin or Referer naming the preview's own origin is
 *    rewritten to the app's address, one naming anything else (another
 *    preview, another site) is dropped.  Authorization, Proxy-*, Forwarded,
 *    X-Forwarded-* and X-Real-IP are dropped: the app learns neither the
 *    caller's Petri key nor its address.  Hop-by-hop fields are dropped and
 *    the gateway writes its own framing.
 *  - A WebSocket upgrade (Upgrade: websocket on a GET) is passed on as one;
 *    any other upgrade is dropped (the request goes on as plain HTTP).
 *  - Paths in records keep query names but never their values.
 *  - An app's Set-Cookie loses its Domain attributes: its cookies stay on
 *    its preview's host, never on the parent domain that every preview
 *    (and, for localhost, Petri's API) shares.
 *
 * Pure: no I/O, no globals.
 */
#ifndef PETRI_PREVIEW_HTTP_H
#define PETRI_PREVIEW_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "petri_err.h"
#include "preview_conf.h"
#include "proxy_http.h"

#define PREVIEW_PATH_MAX 512 /* bytes of a path kept in a record */

/* How the gateway frames a body it writes. */
enum preview_framing {
	PREVIEW_FRAME_NONE = 0, /* no body */
	PREVIEW_FRAME_LENGTH, /* Content-Length */
	PREVIEW_FRAME_CHUNKED, /* Transfer-Encoding: chunked */
	PREVIEW_FRAME_CLOSE /* until the connection closes */
};

/*
 * Finds the preview token in a Host value (host[0..len)) for domain (lower
 * case): "<token>.<domain>" with an optional ":port".  token gets the
 * token in lower case, NUL-terminated.  Returns 0, or PETRI_ERR_NOTFOUND
 * when the value does not name a preview of domain.
 */
int preview_host_token(const char *host, size_t len, const char *domain,
    char token[PREVIEW_TOKEN_HEX + 1]) PETRI_WUR;

/*
 * Copies the path of a request target (t[0..len)) to out (outlen bytes,
 * NUL-terminated) with every query value removed: "/a?x=1&y" -> "/a?x&y".
 * Cut at PREVIEW_PATH_MAX bytes (or outlen - 1).  Returns the length.
 */
size_t preview_path_redact(const char *t, size_t len, char *out, size_t outlen);

/*
 * Whether the request asks for a WebSocket: GET, an Upgrade field of
 * exactly "websocket" and the "upgrade" Connection option.
 */
int preview_is_websocket(const char *p, const struct proxy_http_head *h);

/*
 * Appends to out the head to send to the app for the request parsed in
 * p/h: the request line (origin-form), "Host: upstream", the caller's
 * fields but those above, framing for body (LENGTH uses h's
 * content_length; CHUNKED; NONE), and the upgrade fields when websocket.
 * Returns 0 or PETRI_ERR_TOOBIG (out's maximum).
 */
int preview_request_head(const char *p, const struct proxy_http_head *h,
    const char *upstream, enum preview_framing body, int websocket,
    struct buf *out) PETRI_WUR;

/*
 * Appends to out the head to send to the caller for the app's response
 * parsed in p/h: status line (HTTP/1.1), the app's fields but hop-by-hop
 * and framing ones (Set-Cookie without Domain), framing for body (LENGTH uses h's content_length),
 * "Connection: close" when close is set, the upgrade fields for a 101.
 * Returns 0 or PETRI_ERR_TOOBIG.
 */
int preview_response_head(const char *p, const struct proxy_http_head *h,
    enum preview_framing body, int close, struct buf *out) PETRI_WUR;

#endif /* PETRI_PREVIEW_HTTP_H */
