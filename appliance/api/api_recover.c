/*
 * api_recover.c: POST /v1/sandboxes/{id}/recover {} — a sandbox its own
 * program exhausted (pids or memory limit reached by leftovers) is brought
 * back: every process in it is killed (through its supervisor, or by
 * restarting its container when it has none), the workspace is kept, and
 * the act is recorded (sandbox.recovered) before it is answered.
 */
#include <string.h>

#include "api.h"
#include "log.h"

enum MHD_Result
api_sb_recover(struct api_req *r)
{
	static const char *const keys[] = {NULL};
	json_t *body, *sb, *reply = NULL, *ev;
	char msg[256];
	enum MHD_Result ret;
	int e;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	if (api_valid_keys(body, keys, msg, sizeof(msg)) != 0) {
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request", "%s", msg);
	}
	json_decref(body);
	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	e = wrap_engine_sb_recover(r->api,
	    json_string_value(json_object_get(sb, "id")),
	    json_string_value(json_object_get(sb, "container")), &reply, msg,
	    sizeof(msg));
	if (e != 0) {
		json_decref(sb);
		if (e == PETRI_ERR_NOTFOUND)
			return api_reply_error(r, MHD_HTTP_CONFLICT, "conflict",
			    "the sandbox container is gone");
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "recover: %s", msg);
	}
	ev = json_pack("{s:O, s:O, s:O}", "sandbox", json_object_get(sb, "id"),
	    "killed", json_object_get(reply, "killed"), "method",
	    json_object_get(reply, "method"));
	if (api_audit(r->api, r, "sandbox.recovered", ev, NULL) != 0) {
		json_decref(sb);
		json_decref(reply);
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the audit log is unavailable");
	}
	api_sb_touch(r->api, sb);
	ret = api_reply_json(r, MHD_HTTP_OK,
	    json_pack("{s:O, s:O, s:O}", "id", json_object_get(sb, "id"),
	        "killed", json_object_get(reply, "killed"), "method",
	        json_object_get(reply, "method")));
	json_decref(reply);
	json_decref(sb);
	return ret;
}
