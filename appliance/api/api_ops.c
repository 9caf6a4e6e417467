/* api_ops.c: health, readiness and Prometheus metrics. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "proto.h"
#include "util.h"

#define OPS_PEER_TIMEOUT_MS 5000

enum MHD_Result
api_healthz(struct api_req *r)
{
	return api_reply_json(
	    r, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

enum MHD_Result
api_readyz(struct api_req *r)
{
	json_t *eng = NULL, *kpr = NULL, *ans;
	int de, ke;

	de = wrap_engine_ping(r->api, &eng);
	ke = wrap_keeper_status(r->api, OPS_PEER_TIMEOUT_MS, &kpr);
	ans = json_pack("{s:s, s:b, s:b}", "status",
	    de == 0 && ke == 0 ? "ready" : "not_ready", "docker", de == 0,
	    "keeper", ke == 0);
	if (eng != NULL && json_object_get(eng, "docker_version") != NULL)
		json_object_set(ans, "docker_version",
		    json_object_get(eng, "docker_version"));
	json_decref(eng);
	json_decref(kpr);
	return api_reply_json(r,
	    de == 0 && ke == 0 ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
	    ans);
}

enum MHD_Result
api_metrics(struct api_req *r)
{
	static const char *const le[12] = {"10", "25", "50", "100", "250",
	    "500", "1000", "2500", "5000", "10000", "30000", "+Inf"};
	struct api_metrics *m = &r->api->metrics;
	struct buf b;
	json_t *all = NULL, *kpr = NULL;
	enum MHD_Result ret;
	int i, e = 0;

	buf_init(&b, 1 << 20);
	if (db_sandbox_list(r->api->db, NULL, &all) == 0) {
		json_t *sb;
		size_t k, live = 0, warm = 0;

		json_array_foreach (all, k, sb) {
			const char *t =
			    json_string_value(json_object_get(sb, "tenant"));

			if (t != NULL && strcmp(t, SB_POOL_TENANT) == 0)
				warm++;
			else
				live++;
		}
		e |= buf_printf(&b,
		    "# HELP petri_sandboxes Live sandboxes.\n"
		    "# TYPE petri_sandboxes gauge\npetri_sandboxes %zu\n"
		    "# HELP petri_sandboxes_warm Warm sandboxes waiting in "
		    "the pool.\n# TYPE petri_sandboxes_warm gauge\n"
		    "petri_sandboxes_warm %zu\n",
		    live, warm);
		json_decref(all);
	}
	pthread_mutex_lock(&m->lock);
	e |= buf_printf(&b,
	    "# HELP petri_http_requests_total HTTP requests "
	    "routed.\n# TYPE petri_http_requests_total counter\n"
	    "petri_http_requests_total %llu\n",
	    (unsigned long long)m->requests);
	e |= buf_printf(&b,
	    "# TYPE petri_sandboxes_created_total counter\n"
	    "petri_sandboxes_created_total %llu\n"
	    "# TYPE petri_sandboxes_removed_total counter\n"
	    "petri_sandboxes_removed_total %llu\n",
	    (unsigned long long)m->sandboxes_created,
	    (unsigned long long)m->sandboxes_deleted);
	e |= buf_printf(&b,
	    "# HELP petri_execs_total Executions finished.\n"
	    "# TYPE petri_execs_total counter\npetri_execs_total %llu\n"
	    "# TYPE petri_exec_errors_total counter\n"
	    "petri_exec_errors_total %llu\n",
	    (unsigned long long)m->execs, (unsigned long long)m->exec_errors);
	e |= buf_printf(&b,
	    "# HELP petri_exec_duration_ms Execution latency "
	    "seen by the API.\n# TYPE petri_exec_duration_ms histogram\n");
	for (i = 0; i < 12; i++)
		e |= buf_printf(&b,
		    "petri_exec_duration_ms_bucket{le=\"%s\"} "
		    "%llu\n",
		    le[i], (unsigned long long)m->exec_ms_buckets[i]);
	e |= buf_printf(&b,
	    "petri_exec_duration_ms_sum %llu\n"
	    "petri_exec_duration_ms_count %llu\n",
	    (unsigned long long)m->exec_ms_sum, (unsigned long long)m->execs);
	pthread_mutex_unlock(&m->lock);
	if (wrap_keeper_status(r->api, OPS_PEER_TIMEOUT_MS, &kpr) == 0) {
		e |= buf_printf(&b,
		    "# HELP petri_audit_size Records in the "
		    "audit log.\n# TYPE petri_audit_size gauge\n"
		    "petri_audit_size %lld\n# HELP petri_audit_checkpoint_size "
		    "Tree size of the latest signed checkpoint.\n"
		    "# TYPE petri_audit_checkpoint_size gauge\n"
		    "petri_audit_checkpoint_size %lld\n",
		    (long long)json_integer_value(json_object_get(kpr, "size")),
		    (long long)json_integer_value(
		        json_object_get(kpr, "checkpoint_size")));
		if (json_object_get(kpr, "sinks") != NULL) {
			json_t *s;
			size_t k;

			json_array_foreach (json_object_get(kpr, "sinks"), k, s)
				e |= buf_printf(&b,
				    "petri_sink_lag{sink=\"%s\"} "
				    "%lld\npetri_sink_errors_total{sink=\"%s\"}"
				    " "
				    "%lld\n",
				    json_string_value(
				        json_object_get(s, "name")),
				    (long long)json_integer_value(
				        json_object_get(s, "lag")),
				    json_string_value(
				        json_object_get(s, "name")),
				    (long long)json_integer_value(
				        json_object_get(s, "errors")));
		}
		json_decref(kpr);
	}
	if (e != 0) {
		buf_free(&b);
		return api_reply_err(r, PETRI_ERR_NOMEM, "metrics");
	}
	ret = api_reply_bytes(
	    r, MHD_HTTP_OK, "text/plain; version=0.0.4", b.data, b.len);
	buf_free(&b);
	return ret;
}
