/*
 * api_audit.c: the read-only audit routes (records, proofs, checkpoints,
 * exports, sinks), answered from the keeper.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define AUDIT_TIMEOUT_MS 60000

/* A non-negative integer query argument (def when absent). */
static int
audit_arg(struct api_req *r, const char *key, long long def, long long max,
    long long *v)
{
	const char *s = api_query(r, key);

	if (s == NULL) {
		*v = def;
		return 0;
	}
	return petri_strtonum(s, 0, max, v);
}

/* Answers with what a read-only audit request (e, m, msg) gave: m's JSON,
 * or its bytes as raw_ctype. */
static enum MHD_Result
audit_answer(struct api_req *r, int e, struct ipc_msg *m, const char *msg,
    const char *raw_ctype)
{
	enum MHD_Result ret;

	if (e != 0) {
		if (e == PETRI_ERR_NOTFOUND)
			return api_reply_error(
			    r, MHD_HTTP_NOT_FOUND, "not_found", "%s", msg);
		if (e == PETRI_ERR_INVAL)
			return api_reply_error(
			    r, 422, "invalid_request", "%s", msg);
		return api_reply_err(r, e, "audit log");
	}
	if (raw_ctype != NULL)
		ret = api_reply_bytes(r, MHD_HTTP_OK, raw_ctype,
		    m->data != NULL ? (const void *)m->data : "", m->datalen);
	else
		ret = api_reply_json(r, MHD_HTTP_OK, json_incref(m->json));
	ipc_msg_clear(m);
	return ret;
}

/* The export bundle comes in several frames; spool it, then send it. */
static enum MHD_Result
audit_export(struct api_req *r, long long from, long long to)
{
	struct api *a = r->api;
	struct ipc_call *call;
	struct MHD_Response *resp;
	struct ipc_msg m;
	char msg[256];
	off_t size = 0;
	int fd, e, more = 1;
	enum MHD_Result ret;

	if ((fd = open(a->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
		return api_reply_err(r, PETRI_ERR_IO, "export");
	msg[0] = '\0';
	call = wrap_keeper_export_start(
	    a, from, to, r->auth.key_id, r->auth.tenant, &e);
	if (call == NULL) {
		close(fd);
		return api_reply_err(r, e, "audit log");
	}
	while (more) {
		if ((e = wrap_keeper_export_next(
		         call, &m, &more, msg, sizeof(msg))) != 0)
			break;
		if (m.datalen > 0 &&
		    (e = petri_write_all(fd, m.data, m.datalen)) != 0) {
			ipc_msg_clear(&m);
			break;
		}
		size += (off_t)m.datalen;
		ipc_msg_clear(&m);
	}
	ipc_call_free(call);
	if (e != 0) {
		close(fd);
		if (e == PETRI_ERR_INVAL)
			return api_reply_error(
			    r, 422, "invalid_request", "%s", msg);
		return api_reply_err(r, e, "export");
	}
	if ((resp = MHD_create_response_from_fd((uint64_t)size, fd)) == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/x-tar");
	MHD_add_response_header(resp, "Content-Disposition",
	    "attachment; filename=\"petri-audit-bundle.tar\"");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	r->answered = 1;
	return ret;
}

/*
 * GET /v1/audit/sinks: the SIEM sinks, read-only, from the "sinks" part of
 * the keeper's status: {"size": <log size>, "sinks": [...]}.
 */
static enum MHD_Result
audit_sinks(struct api_req *r)
{
	json_t *st = NULL, *sinks, *ans;
	int e;

	if ((e = wrap_keeper_status(r->api, AUDIT_TIMEOUT_MS, &st)) != 0)
		return api_reply_err(r, e, "audit log");
	sinks = json_object_get(st, "sinks");
	ans = json_pack("{s:O, s:o}", "size", json_object_get(st, "size"),
	    "sinks", json_is_array(sinks) ? json_incref(sinks) : json_array());
	json_decref(st);
	if (ans == NULL)
		return api_reply_err(r, PETRI_ERR_NOMEM, "audit log");
	return api_reply_json(r, MHD_HTTP_OK, ans);
}

enum MHD_Result
api_audit_route(struct api_req *r)
{
	const char *sub = r->segs[0];
	long long from, to, limit, seq;
	struct ipc_msg m;
	char sha[65], msg[256];
	int e;

	if (strcmp(sub, "records") == 0) {
		if (audit_arg(r, "from", 0, INT64_MAX, &from) != 0 ||
		    audit_arg(r, "limit", 100, 1000, &limit) != 0 || limit == 0)
			return api_reply_error(r, 422, "invalid_request",
			    "from: a sequence number; limit: 1 to 1000");
		e = wrap_keeper_records(
		    r->api, from, limit, &m, msg, sizeof(msg));
		return audit_answer(r, e, &m, msg, NULL);
	}
	if (strncmp(sub, "records/", 8) == 0) {
		if (petri_strtonum(sub + 8, 0, INT64_MAX, &seq) != 0)
			return api_reply_error(r, MHD_HTTP_NOT_FOUND,
			    "not_found", "no such record");
		e = wrap_keeper_record(r->api, seq, &m, msg, sizeof(msg));
		return audit_answer(r, e, &m, msg, NULL);
	}
	if (strcmp(sub, "checkpoint") == 0) {
		e = wrap_keeper_checkpoint(r->api, &m, msg, sizeof(msg));
		return audit_answer(r, e, &m, msg, "text/plain; charset=utf-8");
	}
	if (strcmp(sub, "proof/consistency") == 0) {
		if (audit_arg(r, "from", -1, INT64_MAX, &from) != 0 ||
		    audit_arg(r, "to", -1, INT64_MAX, &to) != 0 || from < 1 ||
		    to < from)
			return api_reply_error(r, 422, "invalid_request",
			    "from and to: tree sizes with 1 <= from <= to");
		e = wrap_keeper_consistency(
		    r->api, from, to, &m, msg, sizeof(msg));
		return audit_answer(r, e, &m, msg, NULL);
	}
	if (strncmp(sub, "blobs/", 6) == 0) {
		if (strlen(sub + 6) != 64 ||
		    petri_unhex(sub + 6, (unsigned char[32]){0}, 32) != 0)
			return api_reply_error(
			    r, MHD_HTTP_NOT_FOUND, "not_found", "no such blob");
		petri_strlcpy(sha, sub + 6, sizeof(sha));
		e = wrap_keeper_blob_get(r->api, sha, &m, msg, sizeof(msg));
		return audit_answer(r, e, &m, msg, "application/octet-stream");
	}
	if (strcmp(sub, "export") == 0) {
		if (audit_arg(r, "from", 0, INT64_MAX, &from) != 0 ||
		    audit_arg(r, "to", -1, INT64_MAX, &to) != 0)
			return api_reply_error(r, 422, "invalid_request",
			    "from and to: sequence numbers");
		return audit_export(r, from, to);
	}
	if (strcmp(sub, "sinks") == 0)
		return audit_sinks(r);
	if (strcmp(sub, "witnesses") == 0)
		return api_audit_witnesses(r);
	if (strcmp(sub, "public-key") == 0) {
		e = wrap_keeper_pubkey(r->api, &m, msg, sizeof(msg));
		return audit_answer(r, e, &m, msg, NULL);
	}
	return api_reply_error(
	    r, MHD_HTTP_NOT_FOUND, "not_found", "no such audit route");
}
