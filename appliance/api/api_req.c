/*
 * api_req.c: what every handler uses to read a request and answer it (JSON,
 * bytes, errors), and one request to a peer process.  It calls no handler
 * and no service: everything in the api sits above it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "proto.h"
#include "util.h"

int
api_ask(struct ipc_chan *c, uint32_t type, json_t *req, const void *data,
    size_t datalen, int timeout_ms, json_t **reply, char *msg, size_t msglen)
{
	struct ipc_msg m;
	int r;

	if (reply != NULL)
		*reply = NULL;
	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	if (req == NULL)
		return PETRI_ERR_NOMEM;
	r = ipc_request(c, type, req, data, datalen, timeout_ms, &m);
	json_decref(req);
	if (r != 0)
		return r;
	r = proto_result(&m, msg, msglen);
	if (r == 0 && reply != NULL)
		*reply = json_incref(m.json);
	ipc_msg_clear(&m);
	return r;
}

static enum MHD_Result
api_queue(struct api_req *r, unsigned int status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->answered = 1;
	return ret;
}

enum MHD_Result
api_reply_bytes(struct api_req *r, unsigned int status, const char *ctype,
    const void *p, size_t n)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(
	    n, (void *)(uintptr_t)p, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	return api_queue(r, status, resp);
}

enum MHD_Result
api_reply_json(struct api_req *r, unsigned int status, json_t *body)
{
	struct MHD_Response *resp;
	char *text;
	size_t n;

	if (r->inner_body != NULL) {
		/* an answer of api_exec() to serve mode: kept, not sent */
		json_decref(r->inner_reply);
		r->inner_reply = body;
		r->inner_status = status;
		return body != NULL ? MHD_YES : MHD_NO;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return MHD_NO;
	n = strlen(text);
	resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	return api_queue(r, status, resp);
}

enum MHD_Result
api_reply_empty(struct api_req *r, unsigned int status)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	return api_queue(r, status, resp);
}

enum MHD_Result
api_reply_error(struct api_req *r, unsigned int status, const char *code,
    const char *fmt, ...)
{
	struct MHD_Response *resp;
	char msg[512];
	json_t *body;
	va_list ap;
	enum MHD_Result ret;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	body = json_pack("{s:{s:s, s:s, s:s}}", "error", "code", code,
	    "message", msg, "request_id", r->request_id);
	if (r->inner_body == NULL &&
	    (status == MHD_HTTP_TOO_MANY_REQUESTS ||
	        status == MHD_HTTP_SERVICE_UNAVAILABLE)) {
		char *text = json_dumps(body, JSON_COMPACT);

		json_decref(body);
		if (text == NULL)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(
		    strlen(text), text, MHD_RESPMEM_MUST_FREE);
		if (resp == NULL) {
			free(text);
			return MHD_NO;
		}
		MHD_add_response_header(
		    resp, "Content-Type", "application/json");
		MHD_add_response_header(resp, "Retry-After", "5");
		ret = api_queue(r, status, resp);
		return ret;
	}
	return api_reply_json(r, status, body);
}

enum MHD_Result
api_reply_err(struct api_req *r, int err, const char *what)
{
	switch (err) {
	case PETRI_ERR_NOTFOUND:
		return api_reply_error(
		    r, MHD_HTTP_NOT_FOUND, "not_found", "%s not found", what);
	case PETRI_ERR_INVAL:
	case PETRI_ERR_PATH:
		return api_reply_error(
		    r, 422, "invalid_request", "%s: invalid", what);
	case PETRI_ERR_TOOBIG:
		return api_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
		    "too_large", "%s: too large", what);
	case PETRI_ERR_LIMIT:
		return api_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS,
		    "limit_reached", "%s: limit reached", what);
	case PETRI_ERR_EXISTS:
	case PETRI_ERR_STATE:
		return api_reply_error(r, MHD_HTTP_CONFLICT, "conflict",
		    "%s: conflicts with the current state", what);
	case PETRI_ERR_UNAVAIL:
	case PETRI_ERR_TIMEOUT:
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable",
		    "%s: the container engine is unavailable, "
		    "try again later",
		    what);
	default:
		return api_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal", "%s failed (%s)", what, petri_strerror(err));
	}
}

json_t *
api_body_json(struct api_req *r)
{
	json_error_t jerr;
	json_t *j;

	if (r->inner_body != NULL)
		return json_incref(r->inner_body);
	if (r->body.len == 0) {
		/* an absent body is an empty object */
		return json_object();
	}
	j = json_loadb((const char *)r->body.data, r->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		/* jansson quotes the text near the error: a body may hold a
		 * secret's value, so the answer gives the position only */
		char *near = strstr(jerr.text, " near ");

		if (near != NULL)
			*near = '\0';
		api_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_json",
		    "request body is not valid JSON: %s at line %d column %d",
		    jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_json",
		    "request body must be a JSON object");
		return NULL;
	}
	return j;
}

const char *
api_query(struct api_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
api_header(struct api_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}
