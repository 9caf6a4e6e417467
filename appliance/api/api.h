/*
 * api.h: the api process (HTTP front, authentication, validation, state.db).
 * It parses hostile input (HTTP, JSON, uploads) and holds no secret but
 * token hashes.  It reaches Docker only through the engine, the workspace
 * only through the ws worker and the audit log only through the keeper.
 */
#ifndef PETRI_API_H
#define PETRI_API_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "bounds.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "egress_conf.h"
#include "ipc.h"
#include "preview_conf.h"
#include "procs.h"
#include "api_req.h"
#include "wrap.h"

struct api_metrics {
	pthread_mutex_t lock;
	uint64_t requests;
	uint64_t execs;
	uint64_t exec_errors;
	uint64_t sandboxes_created;
	uint64_t sandboxes_deleted;
	uint64_t exec_ms_buckets[12]; /* latency histogram */
	uint64_t exec_ms_sum;
};

struct api {
	struct proc_ctx *ctx;
	struct petri_config *cfg;
	struct db *db;
	struct ipc_chan *parent; /* privileged workspace requests */
	struct ipc_chan *engine;
	struct ipc_chan *ws;
	struct ipc_chan *keeper;
	struct ipc_chan *proxy;
	struct ipc_chan *preview; /* the preview gateway */
	struct preview_conf *preview_conf;
	char egress_gw[64]; /* the proxy's address, as containers see it */
	int egress_port; /* 0 until the proxy listens */
	struct registries *registries; /* the configured package mirrors */
	struct MHD_Daemon *mhd;
	char tmp_dir[4096];
	int stopping;
	struct api_metrics metrics;
	pthread_mutex_t runs_lock;
	struct run *runs; /* executions in flight (api_exec.c) */
	pthread_mutex_t sb_lock; /* serialises sandbox state changes */
};

/* --- strict validation helpers (api_valid.c) ------------------------------ */

/*
 * Checks that obj has only keys from the NULL-terminated list.  On failure
 * writes "unknown field \"x\"" to msg.  Returns 0 or PETRI_ERR_INVAL.
 */
int api_valid_keys(json_t *obj, const char *const *allowed, char *msg,
    size_t msglen) PETRI_WUR;

/*
 * Validates a string map (labels, env): at most max entries, keys matching
 * [A-Za-z_][A-Za-z0-9_.-]* up to API_MAX_KEY_LEN (env: [A-Za-z_][A-Za-z0-9_]*
 * when env is set), string values up to vmax bytes without NUL.
 */
int api_valid_strmap(json_t *m, size_t max, size_t vmax, int env,
    const char *field, char *msg, size_t msglen) PETRI_WUR;

/* Validates a label filter "k:v".  Pure. */
int api_valid_label_filter(
    const char *s, char *k, size_t klen, char *v, size_t vlen) PETRI_WUR;

/* --- route handlers -------------------------------------------------------- */

enum MHD_Result api_sb_create(struct api_req *r);
enum MHD_Result api_sb_list(struct api_req *r);
enum MHD_Result api_sb_get(struct api_req *r);
enum MHD_Result api_sb_delete(struct api_req *r);
enum MHD_Result api_sb_keepalive(struct api_req *r);
/* POST /v1/sandboxes/{id}/recover (api_recover.c). */
enum MHD_Result api_sb_recover(struct api_req *r);
enum MHD_Result api_files_post(struct api_req *r);
enum MHD_Result api_files_put(struct api_req *r);
enum MHD_Result api_files_list(struct api_req *r);
enum MHD_Result api_files_get(struct api_req *r);
enum MHD_Result api_files_delete(struct api_req *r);
enum MHD_Result api_files_upload(struct api_req *r);
enum MHD_Result api_sync_plan(struct api_req *r); /* api_sync.c */
enum MHD_Result api_sync_commit(struct api_req *r);
enum MHD_Result api_exec(struct api_req *r);
enum MHD_Result api_exec_list(struct api_req *r);
enum MHD_Result api_exec_get(struct api_req *r);
enum MHD_Result api_exec_stream(struct api_req *r);
enum MHD_Result api_exec_kill(struct api_req *r);
enum MHD_Result api_exec_stdin(struct api_req *r);
enum MHD_Result api_exec_sbom(struct api_req *r);
enum MHD_Result api_keys_create(struct api_req *r);
enum MHD_Result api_keys_list(struct api_req *r);
enum MHD_Result api_keys_delete(struct api_req *r);
enum MHD_Result api_healthz(struct api_req *r);
enum MHD_Result api_readyz(struct api_req *r);
enum MHD_Result api_metrics(struct api_req *r);
enum MHD_Result api_audit_route(struct api_req *r);
/* GET /console/ and /console/<file>, static (api_console.c). */
enum MHD_Result api_console_get(struct api_req *r);
/* GET /v1/audit/witnesses (api_witness.c). */
enum MHD_Result api_audit_witnesses(struct api_req *r);
/*
 * Appends the witness and TSA gauges of the keeper's status kpr (its
 * "witnesses" and "tsa" parts, each optional) to a /metrics body.
 * Returns 0 or the error of buf_printf().
 */
struct buf;
int api_witness_metrics(struct buf *b, const json_t *kpr);

/* --- shared services --------------------------------------------------------- */

/* sb_store.c */

/*
 * Loads the caller's live sandbox named by segment i of the path.  On
 * failure queues 404 and returns NULL.  Caller releases with json_decref.
 */
json_t *api_sb_load(struct api_req *r, int seg);

/* Marks sandbox activity now: pushes expires_at out by its TTL. */
void api_sb_touch(struct api *a, json_t *sb);

/* runs.c: the executions in flight */

/* A call the proxy reported, for the executions running in sandbox. */
void api_runs_network(struct api *a, const char *sandbox, json_t *call);

/* In-flight executions end when their sandbox goes. */
void api_runs_kill_sandbox(struct api *a, const char *sandbox);

/*
 * Serve mode: the last out->max bytes of a live execution's stdout and
 * err->max of its stderr, and whether it still runs.  Returns 0,
 * PETRI_ERR_NOTFOUND (not live: a finished one is in state.db) or
 * PETRI_ERR_NOMEM.
 */
int api_runs_peek(struct api *a, const char *id, const char *tenant,
    struct buf *out, struct buf *err, int *running) PETRI_WUR;

/* Kills a live execution of tenant.  Returns 0 or a PETRI_ERR_*. */
int api_runs_kill(struct api *a, const char *id, const char *tenant);

/* --- the keeper's calling side (wrap_keeper.c; the rest in wrap.h) ------- */

/*
 * Appends an audit record of type with event fields (steals event) for the
 * request's actor (wrap_keeper_append()).  Returns 0 or a PETRI_ERR_* (the
 * caller answers 503: nothing is acknowledged that is not recorded).
 */
int api_audit(struct api *a, struct api_req *r, const char *type, json_t *event,
    json_t **out) PETRI_WUR;

/* --- egress (api_egress.c: routes; egress.c: the service below them) --- */

enum MHD_Result api_policies_list(struct api_req *r);
enum MHD_Result api_policies_get(struct api_req *r);
enum MHD_Result api_policies_put(struct api_req *r);
enum MHD_Result api_policies_delete(struct api_req *r);
enum MHD_Result api_secrets_create(struct api_req *r);
enum MHD_Result api_secrets_rotate(struct api_req *r);
enum MHD_Result api_secrets_list(struct api_req *r);
enum MHD_Result api_secrets_delete(struct api_req *r);

/* The built-in policy, which needs no storing. */
#define POLICY_BUILTIN "deny-all"

/*
 * The policy named name for tenant ("deny-all" is built in): *ref
 * {name, sha256, version} and *canon, its canonical text (caller frees
 * both).  Returns 0, PETRI_ERR_NOTFOUND or another PETRI_ERR_*.
 */
int api_policy_lookup(struct api *a, const char *tenant, const char *name,
    json_t **ref, char **canon) PETRI_WUR;

/* {"name", "sha256", "version"} of a sandbox's policy, for records. */
json_t *api_policy_ref(json_t *sb);

/* Opens the proxy channel and the denial writer; stops the writer. */
int api_egress_open(struct api *a) PETRI_WUR;
void api_egress_stop(struct api *a);

/* Has the proxy listen on the sandbox network's gateway (idempotent). */
int api_egress_start(struct api *a) PETRI_WUR;

/*
 * Gives a new sandbox (document sb, of tenant) its egress: grants of the
 * secrets (array of names) in the vault, a proxy token, the policy's
 * canonical text, and its identity at the proxy; sets sb.egress (the
 * caller stores sb).  On failure nothing is left behind; msg says why.
 */
int api_egress_attach(struct api *a, json_t *sb, const char *tenant,
    json_t *secrets, const char *canon, char *msg, size_t msglen) PETRI_WUR;

/* (Re-)tells the proxy a sandbox's identity (after a restart). */
int api_egress_register(struct api *a, json_t *sb) PETRI_WUR;

/* Ends a sandbox's identity at the proxy and its grants in the vault. */
void api_egress_detach(struct api *a, const char *sandbox);

/* Adds the proxy, CA and placeholder variables to an execution's env. */
void api_egress_env(struct api *a, json_t *sb, json_t *env);

/* Restarts the sandbox's per-execution counters at the proxy. */
int api_egress_exec_begin(struct api *a, json_t *sb) PETRI_WUR;

/* Returns once every report the proxy sent so far has been handled. */
void api_egress_sync(struct api *a);

/* --- the operator's audit routes (api_admin.c) ----------------------------- */

/* POST /v1/audit/rotate-key: the keeper rotates the signing key. */
enum MHD_Result api_admin_rotate_key(struct api_req *r);

/* POST /v1/audit/retention: erases blobs older than N days (recorded). */
enum MHD_Result api_admin_retention(struct api_req *r);

/*
 * At start: when opening state.db migrated its schema, an
 * api.schema_migrated record {db, from, to} (keeper channel up).
 */
void api_admin_record_migration(struct api *a);

/* --- dependencies, the install step's service (api_deps.c) -------------------------------------------------- */

/*
 * The key of what an execution's install step depends on: the language,
 * the working directory, lang's manifests in it and every source file of
 * lang in the code manifest (and the program's hash for "code").
 */
int api_deps_key(const char *lang, const char *cwd, json_t *code,
    const char *program_sha, const char *mode, char key[PETRI_SHA256_HEX]);

/* Whether cwd holds one of lang's manifests (per the code manifest). */
int api_deps_has_manifest(const char *lang, const char *cwd, json_t *code);

/* Whether the code manifest holds a source file of lang (or was cut). */
int api_deps_has_sources(const char *lang, json_t *code);

/* The install step's argv for lang, or NULL when lang has none. */
json_t *api_deps_argv(const char *lang, const char *mode, const char *program);

/* Registry and tree variables of lang, for installs and programs. */
void api_deps_env(
    struct api *a, const char *lang, const char *cwd, json_t *env);

/*
 * The configuration setting lang's installer needs when it is not set
 * ("registries.pypi", ...), or NULL when it is set or lang has none.
 * The string is static.
 */
const char *api_deps_unset(struct api *a, const char *lang);

/*
 * Tells the install step of lang (env) that its registry is not
 * configured, so that it reports what needs one instead of running the
 * installer against its built-in default.
 */
void api_deps_env_install(struct api *a, const char *lang, json_t *env);

/* Logs which registries are configured (at start). */
void api_deps_registries_log(struct api *a);

/*
 * Ends an install step: splits the script's report from its log (or, when
 * the log passed its cap, finds it in tail, the last output), stores
 * the log and the SBOM as blobs, keeps the summary in sb (stored).
 * *result: {install, missing_imports, sbom} or, when the install failed,
 * {install, missing_imports, failed: true} (with setting:
 * "registries.pypi", ... when the installer did not run because that
 * registry is not configured).  Returns 0 or a PETRI_ERR_*.
 */
int api_deps_finish(struct api *a, json_t *sb, const char *key, struct buf *log,
    const struct buf *tail, int script_exit, int64_t ms,
    json_t **result) PETRI_WUR;

/* Reaper and reconciliation (api_sandbox.c). */
/* Removes a sandbox: container, workspace, registry row, audit record. */
int api_sb_remove(
    struct api *a, json_t *sb, const char *reason, struct api_req *r) PETRI_WUR;

void api_sb_reconcile(struct api *a);
int api_reaper_start(struct api *a) PETRI_WUR;

/* Stops the reaper and the pool threads and waits for them. */
void api_background_stop(struct api *a);

/* Starts keeping warm sandboxes (config "pool"); 0 when none are wanted. */
int api_pool_start(struct api *a) PETRI_WUR;

/* Metrics. */
void api_metrics_exec(struct api *a, int64_t ms, int failed);

/* --- previews (api_preview.c) ---------------------------------------------------- */

enum MHD_Result api_serve(struct api_req *r);
enum MHD_Result api_preview_list(struct api_req *r);
enum MHD_Result api_preview_get(struct api_req *r);
enum MHD_Result api_preview_delete(struct api_req *r);

/* Opens the gateway channel; closes what was open before a restart. */
int api_preview_open(struct api *a) PETRI_WUR;

/* Closes previews past their expiry or whose app has stopped (reaper). */
void api_preview_reap(struct api *a);

/* Closes a sandbox's open previews (it is being removed). */
void api_preview_close_sandbox(struct api *a, const char *sandbox);

#endif /* PETRI_API_H */
