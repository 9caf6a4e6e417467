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

/* Live and warm sandboxes (state.db). */
static int
metrics_sandboxes(struct api *a, struct buf *b)
{
	json_t *all = NULL, *sb;
	size_t k, live = 0, warm = 0;
	const char *t;
	int e;

	if (db_sandbox_list(a->db, NULL, &all) != 0)
		return 0; /* the rest of the page still says something */
	json_array_foreach (all, k, sb) {
		t = json_string_value(json_object_get(sb, "tenant"));
		if (t != NULL && strcmp(t, SB_POOL_TENANT) == 0)
			warm++;
		else
			live++;
	}
	json_decref(all);
	e = buf_printf(b,
	    "# HELP petri_sandboxes Live sandboxes.\n"
	    "# TYPE petri_sandboxes gauge\npetri_sandboxes %zu\n"
	    "# HELP petri_sandboxes_warm Warm sandboxes waiting in "
	    "the pool.\n# TYPE petri_sandboxes_warm gauge\n"
	    "petri_sandboxes_warm %zu\n",
	    live, warm);
	return e;
}

/* The api's own counters and the execution latency histogram. */
static int
metrics_counters(struct api_metrics *m, struct buf *b)
{
	static const char *const le[12] = {"10", "25", "50", "100", "250",
	    "500", "1000", "2500", "5000", "10000", "30000", "+Inf"};
	int i, e = 0;

	pthread_mutex_lock(&m->lock);
	e |= buf_printf(b,
	    "# HELP petri_http_requests_total HTTP requests "
	    "routed.\n# TYPE petri_http_requests_total counter\n"
	    "petri_http_requests_total %llu\n",
	    (unsigned long long)m->requests);
	e |= buf_printf(b,
	    "# TYPE petri_sandboxes_created_total counter\n"
	    "petri_sandboxes_created_total %llu\n"
	    "# TYPE petri_sandboxes_removed_total counter\n"
	    "petri_sandboxes_removed_total %llu\n",
	    (unsigned long long)m->sandboxes_created,
	    (unsigned long long)m->sandboxes_deleted);
	e |= buf_printf(b,
	    "# HELP petri_execs_total Executions finished.\n"
	    "# TYPE petri_execs_total counter\npetri_execs_total %llu\n"
	    "# TYPE petri_exec_errors_total counter\n"
	    "petri_exec_errors_total %llu\n",
	    (unsigned long long)m->execs, (unsigned long long)m->exec_errors);
	e |= buf_printf(b,
	    "# HELP petri_exec_duration_ms Execution latency "
	    "seen by the API.\n# TYPE petri_exec_duration_ms histogram\n");
	for (i = 0; i < 12; i++)
		e |= buf_printf(b,
		    "petri_exec_duration_ms_bucket{le=\"%s\"} %llu\n", le[i],
		    (unsigned long long)m->exec_ms_buckets[i]);
	e |= buf_printf(b,
	    "petri_exec_duration_ms_sum %llu\n"
	    "petri_exec_duration_ms_count %llu\n",
	    (unsigned long long)m->exec_ms_sum, (unsigned long long)m->execs);
	pthread_mutex_unlock(&m->lock);
	return e;
}

/* The audit log's size, its latest checkpoint and the SIEM sinks. */
static int
metrics_audit(struct api *a, struct buf *b)
{
	json_t *kpr = NULL, *s;
	const char *name;
	size_t k;
	int e = 0;

	if (wrap_keeper_status(a, OPS_PEER_TIMEOUT_MS, &kpr) != 0)
		return 0;
	e |= buf_printf(b,
	    "# HELP petri_audit_size Records in the "
	    "audit log.\n# TYPE petri_audit_size gauge\n"
	    "petri_audit_size %lld\n# HELP petri_audit_checkpoint_size "
	    "Tree size of the latest signed checkpoint.\n"
	    "# TYPE petri_audit_checkpoint_size gauge\n"
	    "petri_audit_checkpoint_size %lld\n",
	    (long long)json_integer_value(json_object_get(kpr, "size")),
	    (long long)json_integer_value(
	        json_object_get(kpr, "checkpoint_size")));
	e |= api_witness_metrics(b, kpr);
	json_array_foreach (json_object_get(kpr, "sinks"), k, s) {
		if ((name = json_string_value(json_object_get(s, "name"))) ==
		    NULL)
			continue;
		e |= buf_printf(b,
		    "petri_sink_lag{sink=\"%s\"} %lld\n"
		    "petri_sink_errors_total{sink=\"%s\"} %lld\n",
		    name,
		    (long long)json_integer_value(json_object_get(s, "lag")),
		    name,
		    (long long)json_integer_value(
		        json_object_get(s, "errors")));
	}
	json_decref(kpr);
	return e;
}

enum MHD_Result
api_metrics(struct api_req *r)
{
	struct buf b;
	enum MHD_Result ret;
	int e = 0;

	buf_init(&b, 1 << 20);
	e |= metrics_sandboxes(r->api, &b);
	e |= metrics_counters(&r->api->metrics, &b);
	e |= metrics_audit(r->api, &b);
	if (e != 0) {
		buf_free(&b);
		return api_reply_err(r, PETRI_ERR_NOMEM, "metrics");
	}
	ret = api_reply_bytes(
	    r, MHD_HTTP_OK, "text/plain; version=0.0.4", b.data, b.len);
	buf_free(&b);
	return ret;
}
