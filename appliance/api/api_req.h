/*
 * api_req.h: the api's core: one request as the handlers see it, and what
 * they read and answer it with (api_req.c).  Every api file includes it
 * (through api.h); it includes nothing of the api.
 */
#ifndef PETRI_API_REQ_H
#define PETRI_API_REQ_H

#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "bounds.h"
#include "buf.h"
#include "ipc.h"
#include "util.h"

struct api;
struct api_route;
struct api_upload;

/* What a request is allowed to carry and how its body is collected. */
enum api_body {
	API_BODY_NONE,
	API_BODY_JSON, /* buffered, API_MAX_JSON_BODY */
	API_BODY_FILE, /* spooled to an unlinked temp file */
};

struct api_auth {
	char key_id[48];
	char tenant[64];
	char role[16];
};

struct api_req {
	struct api *api;
	struct MHD_Connection *conn;
	char method[12];
	char path[API_MAX_URL + 1];
	char request_id[48];
	char source_ip[64];
	const struct api_route *route;
	char *segs[8]; /* path segments (point into segbuf) */
	int nsegs;
	char segbuf[API_MAX_URL + 1];
	struct api_auth auth;
	int authed;
	enum api_body body_kind;
	size_t body_max;
	struct buf body; /* API_BODY_JSON */
	int body_fd; /* API_BODY_FILE */
	size_t body_len;
	int too_big;
	struct MHD_PostProcessor *pp; /* multipart uploads */
	struct api_upload *upload;
	int answered;
	/* serve mode runs api_exec() on a body of its own: api_body_json()
	 * gives inner_body and the answer is kept here, not sent */
	json_t *inner_body;
	json_t *inner_reply;
	unsigned int inner_status;
};

typedef enum MHD_Result (*api_handler_fn)(struct api_req *);

struct api_route {
	const char *method;
	const char *pattern; /* "/v1/sandboxes/{}/files/{*}" */
	const char *roles; /* "admin,agent" or "" for public */
	enum api_body body;
	api_handler_fn fn;
};

/* --- answers (api_req.c) ---------------------------------------------------- */

/* Queues a JSON answer (steals a reference to body). */
enum MHD_Result api_reply_json(
    struct api_req *r, unsigned int status, json_t *body);

/* Queues {"error": {code, message, request_id}}. */
enum MHD_Result api_reply_error(struct api_req *r, unsigned int status,
    const char *code, const char *fmt, ...) PETRI_PRINTF(4, 5);

/* Maps a PETRI_ERR_* from a peer or module to an HTTP error answer. */
enum MHD_Result api_reply_err(struct api_req *r, int err, const char *what);

/* Queues raw bytes with a content type (copied). */
enum MHD_Result api_reply_bytes(struct api_req *r, unsigned int status,
    const char *ctype, const void *p, size_t n);

/* Queues an empty answer (204). */
enum MHD_Result api_reply_empty(struct api_req *r, unsigned int status);

/*
 * Parses the JSON body: an object, duplicate keys refused.  On failure
 * queues 400 invalid_json and returns NULL.
 */
json_t *api_body_json(struct api_req *r);

/* A query argument, or NULL. */
const char *api_query(struct api_req *r, const char *key);

/* A request header, or NULL. */
const char *api_header(struct api_req *r, const char *key);

/*
 * One request to a peer and its answer, taking the reference to req (and
 * json_decref()ing it); returns 0 or the PETRI_ERR_* of the answer, with
 * its message in msg (may be NULL) and, on success, *reply (may be NULL;
 * caller json_decref()s it).
 */
int api_ask(struct ipc_chan *c, uint32_t type, json_t *req, const void *data,
    size_t datalen, int timeout_ms, json_t **reply, char *msg,
    size_t msglen) PETRI_WUR;

#endif /* PETRI_API_REQ_H */
