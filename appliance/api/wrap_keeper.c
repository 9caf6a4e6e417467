/*
 * wrap_keeper.c: the api's calling side of the keeper protocol: appending
 * audit records (before any answer is given) and storing blobs.  Every
 * message the api sends the keeper is built here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define AUDIT_TIMEOUT_MS 60000
#define PETRI_VERSION "0.1.0"

int
api_audit_as(struct api *a, const struct api_auth *auth, const char *source_ip,
    const char *type, json_t *event, json_t **out)
{
	json_t *ev, *req;
	struct ipc_msg m;
	const char *k;
	json_t *v;
	int e;

	if (out != NULL)
		*out = NULL;
	if (event == NULL)
		return PETRI_ERR_NOMEM;
	/* who and where first, then the event's own fields */
	ev = json_object();
	json_object_set_new(
	    ev, "tenant", json_string(auth != NULL ? auth->tenant : "system"));
	json_object_set_new(ev, "actor",
	    auth != NULL ? json_pack("{s:s, s:s}", "key", auth->key_id, "role",
	                       auth->role)
	                 : json_pack("{s:n, s:s}", "key", "role", "system"));
	json_object_set_new(ev, "source_ip",
	    json_string(source_ip != NULL ? source_ip : "local"));
	json_object_set_new(ev, "appliance",
	    json_pack("{s:s, s:s}", "instance", a->ctx->instance, "version",
	        PETRI_VERSION));
	json_object_foreach (event, k, v)
		json_object_set(ev, k, v);
	json_decref(event);
	req = json_pack("{s:s, s:o}", "type", type, "event", ev);
	e = ipc_request(
	    a->keeper, MSG_KPR_APPEND, req, NULL, 0, AUDIT_TIMEOUT_MS, &m);
	json_decref(req);
	if (e != 0)
		return e;
	if ((e = proto_result(&m, NULL, 0)) == 0 && out != NULL) {
		json_int_t seq =
		    json_integer_value(json_object_get(m.json, "seq"));
		char href[64];

		snprintf(href, sizeof(href), "/v1/audit/records/%lld",
		    (long long)seq);
		*out = json_pack("{s:I, s:O, s:s}", "seq", seq, "leaf_hash",
		    json_object_get(m.json, "leaf_hash"), "href", href);
	}
	ipc_msg_clear(&m);
	return e;
}

int
api_audit(struct api *a, struct api_req *r, const char *type, json_t *event,
    json_t **out)
{
	return api_audit_as(a, r != NULL ? &r->auth : NULL,
	    r != NULL ? r->source_ip : NULL, type, event, out);
}

int
api_audit_blob(struct api *a, const void *p, size_t n, char sha[65])
{
	struct ipc_msg m;
	const char *s;
	int e;

	e = ipc_request(
	    a->keeper, MSG_KPR_BLOB_PUT, NULL, p, n, AUDIT_TIMEOUT_MS, &m);
	if (e != 0)
		return e;
	if ((e = proto_result(&m, NULL, 0)) == 0) {
		s = json_string_value(json_object_get(m.json, "sha256"));
		if (s == NULL || strlen(s) != 64)
			e = PETRI_ERR_PROTO;
		else
			memcpy(sha, s, 65);
	}
	ipc_msg_clear(&m);
	return e;
}
