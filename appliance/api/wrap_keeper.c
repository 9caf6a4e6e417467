/*
 * wrap_keeper.c: the api's calling side of the keeper protocol: appending
 * audit records (before any answer is given), blobs, the read-only audit
 * requests, secrets and grants.  Every message the api sends the keeper
 * is built here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "wrap.h"

#define AUDIT_TIMEOUT_MS 60000
#define PETRI_VERSION "0.1.0"

int
wrap_keeper_append(struct api *a, const struct api_auth *auth,
    const char *source_ip, const char *type, json_t *event, json_t **out)
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
	return wrap_keeper_append(a, r != NULL ? &r->auth : NULL,
	    r != NULL ? r->source_ip : NULL, type, event, out);
}

int
wrap_keeper_blob_put(struct api *a, const void *p, size_t n, char sha[65])
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

static int
kpr_ask(struct api *a, uint32_t type, json_t *req, json_t **reply, char *msg,
    size_t msglen)
{
	return api_ask(a->keeper, type, req, NULL, 0, AUDIT_TIMEOUT_MS, reply,
	    msg, msglen);
}

/* A request whose answer's bytes the caller wants: m (caller clears). */
static int
kpr_ask_msg(struct api *a, uint32_t type, json_t *req, struct ipc_msg *m,
    char *msg, size_t msglen)
{
	int e;

	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	if (req == NULL)
		return PETRI_ERR_NOMEM;
	e = ipc_request(a->keeper, type, req, NULL, 0, AUDIT_TIMEOUT_MS, m);
	json_decref(req);
	if (e != 0)
		return e;
	if ((e = proto_result(m, msg, msglen)) != 0)
		ipc_msg_clear(m);
	return e;
}

int
wrap_keeper_blob_get(
    struct api *a, const char *sha, struct ipc_msg *m, char *msg, size_t msglen)
{
	return kpr_ask_msg(a, MSG_KPR_BLOB_GET,
	    json_pack("{s:s}", "sha256", sha), m, msg, msglen);
}

int
wrap_keeper_blob_missing(struct api *a, json_t *shas, json_t **missing)
{
	json_t *rep = NULL, *x = NULL;
	int e;

	*missing = NULL;
	if ((e = kpr_ask(a, MSG_KPR_BLOB_MISSING,
	         json_pack("{s:o}", "sha256", shas), &rep, NULL, 0)) != 0)
		return e;
	if (json_unpack(rep, "{s:o}", "missing", &x) != 0 || !json_is_array(x))
		e = PETRI_ERR_PROTO;
	else
		*missing = json_incref(x);
	json_decref(rep);
	return e;
}

int
wrap_keeper_status(struct api *a, int timeout_ms, json_t **st)
{
	return api_ask(a->keeper, MSG_KPR_STATUS, json_object(), NULL, 0,
	    timeout_ms, st, NULL, 0);
}

int
wrap_keeper_records(struct api *a, long long from, long long limit,
    struct ipc_msg *m, char *msg, size_t msglen)
{
	return kpr_ask_msg(a, MSG_KPR_RECORDS,
	    json_pack("{s:I, s:I}", "from", (json_int_t)from, "limit",
	        (json_int_t)limit),
	    m, msg, msglen);
}

int
wrap_keeper_record(
    struct api *a, long long seq, struct ipc_msg *m, char *msg, size_t msglen)
{
	return kpr_ask_msg(a, MSG_KPR_RECORD,
	    json_pack("{s:I}", "seq", (json_int_t)seq), m, msg, msglen);
}

int
wrap_keeper_checkpoint(
    struct api *a, struct ipc_msg *m, char *msg, size_t msglen)
{
	return kpr_ask_msg(
	    a, MSG_KPR_CHECKPOINT, json_object(), m, msg, msglen);
}

int
wrap_keeper_consistency(struct api *a, long long from, long long to,
    struct ipc_msg *m, char *msg, size_t msglen)
{
	return kpr_ask_msg(a, MSG_KPR_CONSISTENCY,
	    json_pack(
	        "{s:I, s:I}", "from", (json_int_t)from, "to", (json_int_t)to),
	    m, msg, msglen);
}

int
wrap_keeper_pubkey(struct api *a, struct ipc_msg *m, char *msg, size_t msglen)
{
	return kpr_ask_msg(a, MSG_KPR_PUBKEY, json_object(), m, msg, msglen);
}

struct ipc_call *
wrap_keeper_export_start(struct api *a, long long from, long long to,
    const char *actor, const char *tenant, int *err)
{
	struct ipc_call *call;
	json_t *req;

	req = json_pack("{s:I, s:I, s:s, s:s}", "from", (json_int_t)from, "to",
	    (json_int_t)to, "actor", actor, "tenant", tenant);
	if (req == NULL) {
		*err = PETRI_ERR_NOMEM;
		return NULL;
	}
	call = ipc_call_start(a->keeper, MSG_KPR_EXPORT, req, NULL, 0, err);
	json_decref(req);
	return call;
}

int
wrap_keeper_export_next(struct ipc_call *call, struct ipc_msg *m, int *more,
    char *msg, size_t msglen)
{
	int e;

	*more = 0;
	if ((e = ipc_call_next(call, AUDIT_TIMEOUT_MS, m)) != 0)
		return e;
	if ((e = proto_result(m, msg, msglen)) == 0 &&
	    json_unpack(m->json, "{s?b}", "more", more) != 0)
		e = PETRI_ERR_PROTO;
	if (e != 0)
		ipc_msg_clear(m);
	return e;
}

int
wrap_keeper_secret_put(struct api *a, const char *tenant, const char *name,
    int rotate, json_t *value, json_t *binding, json_t **meta, char *msg,
    size_t msglen)
{
	json_t *req, *rep = NULL, *x = NULL;
	int e;

	*meta = NULL;
	req = json_pack("{s:s, s:s, s:b}", "tenant", tenant, "name", name,
	    "rotate", rotate != 0);
	if (req != NULL && value != NULL)
		json_object_set(req, "value", value);
	if (req != NULL && binding != NULL)
		json_object_set(req, "binding", binding);
	e = kpr_ask(a, MSG_KPR_SECRET_PUT, req, &rep, msg, msglen);
	if (e != 0)
		return e;
	if (json_unpack(rep, "{s:o}", "secret", &x) != 0 || !json_is_object(x))
		e = PETRI_ERR_PROTO;
	else
		*meta = json_incref(x);
	json_decref(rep);
	return e;
}

int
wrap_keeper_secret_list(struct api *a, const char *tenant, const char *name,
    json_t **reply, char *msg, size_t msglen)
{
	json_t *req = json_pack("{s:s}", "tenant", tenant);

	if (req != NULL && name != NULL)
		json_object_set_new(req, "name", json_string(name));
	return kpr_ask(a, MSG_KPR_SECRET_LIST, req, reply, msg, msglen);
}

int
wrap_keeper_secret_del(struct api *a, const char *tenant, const char *name,
    char *msg, size_t msglen)
{
	return kpr_ask(a, MSG_KPR_SECRET_DEL,
	    json_pack("{s:s, s:s}", "tenant", tenant, "name", name), NULL, msg,
	    msglen);
}

int
wrap_keeper_grant(struct api *a, const char *tenant, const char *sandbox,
    json_t *names, json_t **grants, char *msg, size_t msglen)
{
	json_t *rep = NULL, *x = NULL;
	int e;

	*grants = NULL;
	if ((e = kpr_ask(a, MSG_KPR_GRANT,
	         json_pack("{s:s, s:s, s:O}", "tenant", tenant, "sandbox",
	             sandbox, "names", names),
	         &rep, msg, msglen)) != 0)
		return e;
	if (json_unpack(rep, "{s:o}", "grants", &x) != 0 || !json_is_array(x))
		e = PETRI_ERR_PROTO;
	else
		*grants = json_incref(x);
	json_decref(rep);
	return e;
}

int
wrap_keeper_revoke(struct api *a, const char *sandbox)
{
	return kpr_ask(a, MSG_KPR_REVOKE,
	    json_pack("{s:s}", "sandbox", sandbox), NULL, NULL, 0);
}

int
wrap_keeper_rotate_key(
    struct api *a, int timeout_ms, json_t **reply, char *msg, size_t msglen)
{
	return api_ask(a->keeper, MSG_KPR_ROTATE_KEY, json_object(), NULL, 0,
	    timeout_ms, reply, msg, msglen);
}

int
wrap_keeper_blob_retain(struct api *a, long long before_usec,
    const char *reason, int timeout_ms, json_t **reply, char *msg,
    size_t msglen)
{
	return api_ask(a->keeper, MSG_KPR_BLOB_RETAIN,
	    json_pack("{s:I, s:s}", "before_usec", (json_int_t)before_usec,
	        "reason", reason),
	    NULL, 0, timeout_ms, reply, msg, msglen);
}
