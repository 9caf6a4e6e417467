/*
 * api_console.c: GET /console/ and /console/<file>, the auditor console's
 * static files (compiled in: console_assets.h), to anyone: they hold no
 * data.  The console itself calls the /v1/audit routes with the auditor's
 * key and verifies what it shows in the browser.  Answers carry a strict
 * Content-Security-Policy: scripts, styles and requests from this origin
 * only, no frames, no inline code.
 */
#include <string.h>

#include "api.h"
#include "console_assets.h"

#define CONSOLE_CSP                                                            \
	"default-src 'none'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; "          \
	"form-action 'none'; frame-ancestors 'none'"

static const char *
console_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	return "application/octet-stream";
}

enum MHD_Result
api_console_get(struct api_req *r)
{
	const char *name = r->nsegs > 0 ? r->segs[0] : "index.html";
	const struct console_asset *a;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	for (a = console_assets; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			break;
	if (a->name == NULL)
		return api_reply_error(
		    r, MHD_HTTP_NOT_FOUND, "not_found", "no such file");
	resp = MHD_create_response_from_buffer(
	    a->len, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", console_type(a->name));
	MHD_add_response_header(resp, "Content-Security-Policy", CONSOLE_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	r->answered = 1;
	return ret;
}
