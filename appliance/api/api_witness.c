/*
 * api_witness.c: GET /v1/audit/witnesses, the witnesses' state, read-only,
 * from the keeper's status: {"size", "checkpoint_size", "quorum",
 * "cosigned_size", "witnesses": [...]} (keeper_witness.h names the
 * fields).  With no witness configured: quorum 0 and an empty list.
 */
#include "api.h"
#include "buf.h"

#define WITNESS_STATUS_TIMEOUT_MS 10000

enum MHD_Result
api_audit_witnesses(struct api_req *r)
{
	json_t *st = NULL, *w, *ans;
	int e;

	if ((e = wrap_keeper_status(r->api, WITNESS_STATUS_TIMEOUT_MS, &st)) !=
	    0)
		return api_reply_err(r, e, "audit log");
	if ((w = json_object_get(st, "witnesses")) != NULL)
		json_incref(w);
	else
		w = json_pack("{s:i, s:i, s:[]}", "quorum", 0, "cosigned_size",
		    0, "witnesses");
	ans = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O?}", "size",
	    json_object_get(st, "size"), "checkpoint_size",
	    json_object_get(st, "checkpoint_size"), "quorum",
	    json_object_get(w, "quorum"), "cosigned_size",
	    json_object_get(w, "cosigned_size"), "witnesses",
	    json_object_get(w, "witnesses"), "tsa", json_object_get(st, "tsa"));
	json_decref(w);
	json_decref(st);
	if (ans == NULL)
		return api_reply_err(r, PETRI_ERR_NOMEM, "audit log");
	return api_reply_json(r, MHD_HTTP_OK, ans);
}

/* The RFC 3161 client's gauges. */
static int
api_tsa_metrics(struct buf *b, const json_t *t)
{
	if (t == NULL)
		return 0;
	return buf_printf(b,
	    "# HELP petri_audit_timestamped_size Tree size of the newest "
	    "checkpoint with an RFC 3161 timestamp.\n"
	    "# TYPE petri_audit_timestamped_size gauge\n"
	    "petri_audit_timestamped_size %lld\n"
	    "# TYPE petri_tsa_errors_total counter\n"
	    "petri_tsa_errors_total %lld\n",
	    (long long)json_integer_value(
	        json_object_get(t, "timestamped_size")),
	    (long long)json_integer_value(json_object_get(t, "errors")));
}

int
api_witness_metrics(struct buf *b, const json_t *kpr)
{
	const json_t *o, *w = json_object_get(kpr, "witnesses");
	size_t i;
	int e = api_tsa_metrics(b, json_object_get(kpr, "tsa"));

	if (w == NULL)
		return e;
	e |= buf_printf(b,
	    "# HELP petri_audit_cosigned_size Tree size of the newest "
	    "checkpoint a quorum of witnesses cosigned.\n"
	    "# TYPE petri_audit_cosigned_size gauge\n"
	    "petri_audit_cosigned_size %lld\n"
	    "# HELP petri_witness_lag Records the witness has not cosigned.\n"
	    "# TYPE petri_witness_lag gauge\n"
	    "# TYPE petri_witness_errors_total counter\n",
	    (long long)json_integer_value(json_object_get(w, "cosigned_size")));
	json_array_foreach (json_object_get(w, "witnesses"), i, o) {
		const char *name =
		    json_string_value(json_object_get(o, "name"));

		/* names are [A-Za-z0-9._~:/-] (checked at load): no escaping */
		e |= buf_printf(b,
		    "petri_witness_lag{witness=\"%s\"} %lld\n"
		    "petri_witness_errors_total{witness=\"%s\"} %lld\n",
		    name != NULL ? name : "",
		    (long long)json_integer_value(json_object_get(o, "lag")),
		    name != NULL ? name : "",
		    (long long)json_integer_value(
		        json_object_get(o, "errors")));
	}
	return e;
}
