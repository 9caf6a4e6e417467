/*
 * wrap.h: the api's calling side of every IPC protocol, one file of typed
 * stubs per peer (wrap_engine.c, wrap_ws.c, wrap_keeper.c, wrap_proxy.c,
 * wrap_parent.c).  A handler calls a function with C arguments; the
 * message is built here and the answer read here with json_unpack(), so
 * what the api sends each peer, and what it expects back, is in one file
 * per peer.  Every stub returns 0 or a PETRI_ERR_* (the peer's, or
 * PETRI_ERR_PROTO for an answer that lacks a field); where msg is given
 * it gets the peer's message on failure.
 */
#ifndef PETRI_WRAP_H
#define PETRI_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ipc.h"
#include "petri_err.h"

struct api;
struct api_auth;
struct api_req;

/* --- wrap_parent.c: privileged workspace and host requests ------------------ */

/* Makes (create) or mounts sandbox's workspace disk of disk_mb (< 0: the
 * size it has). */
int wrap_parent_ws_prepare(struct api *a, const char *sandbox,
    long long disk_mb, int create, char *msg, size_t msglen) PETRI_WUR;

/* Unmounts and removes sandbox's workspace disk. */
int wrap_parent_ws_release(
    struct api *a, const char *sandbox, char *msg, size_t msglen) PETRI_WUR;

/* Lets the sandboxes on bridge reach gateway:port and nothing else. */
int wrap_parent_firewall(struct api *a, const char *bridge, const char *gateway,
    int port, char *msg, size_t msglen) PETRI_WUR;

/* --- wrap_engine.c: containers and executions -------------------------------- */

/* What the engine made of a sandbox. */
struct wrap_container {
	char container[80];
	char image_id[128];
	char ip[64]; /* "" when it has none */
};

/* Whether the engine reaches Docker; *info (may be NULL) gets its answer
 * ({docker_version, ...}; caller json_decref()s). */
int wrap_engine_ping(struct api *a, json_t **info) PETRI_WUR;

/* The sandbox network's gateway and bridge. */
int wrap_engine_info(struct api *a, char *gateway, size_t gwlen, char *bridge,
    size_t brlen, char *msg, size_t msglen) PETRI_WUR;

/* Creates the container of spec (the engine's view of a sandbox). */
int wrap_engine_sb_create(struct api *a, json_t *spec,
    struct wrap_container *out, char *msg, size_t msglen) PETRI_WUR;

/* Removes sandbox's container (NULL: none was made). */
int wrap_engine_sb_delete(struct api *a, const char *sandbox,
    const char *container, char *msg, size_t msglen) PETRI_WUR;

/* Sets a running container's limits. */
int wrap_engine_sb_update(struct api *a, const char *container, json_t *limits,
    char *msg, size_t msglen) PETRI_WUR;

/* Kills every process in sandbox's container (its supervisor, else a
 * restart), the workspace kept; *reply {killed, method}. */
int wrap_engine_sb_recover(struct api *a, const char *sandbox,
    const char *container, json_t **reply, char *msg, size_t msglen) PETRI_WUR;

/* Adopts, re-creates or removes containers to match known (engine specs
 * with "container"); *reply {adopted, removed, recreated, ips}. */
int wrap_engine_reconcile(struct api *a, json_t *known, json_t **reply,
    char *msg, size_t msglen) PETRI_WUR;

/* One program to run, as the engine takes it. */
struct wrap_exec {
	const char *exec; /* ex_... */
	const char *sandbox;
	json_t *container; /* string */
	json_t *argv;
	const char *cwd;
	long long timeout_ms; /* 0: none */
	long long output_max;
	int fresh;
	int background;
	int has_stdin;
	long long uid, gid;
	json_t *env; /* NULL: none */
	json_t *spec; /* fresh: the container to make; else NULL */
};

/* The engine request of x (caller json_decref()s), or NULL. */
json_t *wrap_engine_exec_req(const struct wrap_exec *x);

/* The install step's request: prog's (an exec request) with its own id,
 * argv and env, the install step's bounds, no stdin. */
json_t *wrap_engine_install_req(
    json_t *prog, const char *exec, json_t *argv, json_t *env);

/* Starts an execution (req from wrap_engine_exec_req()) with its first
 * stdin; NULL and *err when it could not be sent. */
struct ipc_call *wrap_engine_exec_start(
    struct api *a, json_t *req, const void *in, size_t inlen, int *err);

/* What one frame of an execution's answer is. */
enum wrap_exec_frame {
	WRAP_EXEC_STARTED,
	WRAP_EXEC_OUTPUT, /* *stream 1, 2 (other values: drop it) */
	WRAP_EXEC_END, /* the result: proto_result() of m */
};

/*
 * The next frame of an execution within timeout_ms (-1: forever): *kind
 * and, for output, *stream; m holds it (caller clears).  Returns 0 or the
 * channel's PETRI_ERR_*.
 */
int wrap_engine_exec_next(struct ipc_call *call, int timeout_ms,
    struct ipc_msg *m, enum wrap_exec_frame *kind, int *stream) PETRI_WUR;

/* Feeds stdin to the execution of call (eof: then closes it). */
int wrap_engine_exec_stdin(struct api *a, uint32_t call, const char *exec,
    const void *p, size_t n, int eof) PETRI_WUR;

/* Kills execution exec. */
int wrap_engine_exec_kill(struct api *a, const char *exec) PETRI_WUR;

/* --- wrap_ws.c: workspace files ---------------------------------------------- */

int wrap_ws_create(
    struct api *a, const char *sandbox, char *msg, size_t msglen) PETRI_WUR;
int wrap_ws_remove(
    struct api *a, const char *sandbox, char *msg, size_t msglen) PETRI_WUR;

/* Opens a stage (internal: under .petri/ only) of sandbox; *stage its id. */
int wrap_ws_stage_open(struct api *a, const char *sandbox, int internal,
    int *stage, char *msg, size_t msglen) PETRI_WUR;

/* A chunk of a staged file (copy_from: a hard link's target, or NULL). */
int wrap_ws_stage_file(struct api *a, int stage, const char *path, int mode,
    int append, int more, const char *copy_from, const void *p, size_t n,
    char *msg, size_t msglen) PETRI_WUR;
int wrap_ws_stage_mkdir(struct api *a, int stage, const char *path, char *msg,
    size_t msglen) PETRI_WUR;
int wrap_ws_stage_symlink(struct api *a, int stage, const char *path,
    const char *target, char *msg, size_t msglen) PETRI_WUR;
int wrap_ws_stage_remove(struct api *a, int stage, const char *path, char *msg,
    size_t msglen) PETRI_WUR;
int wrap_ws_stage_commit(
    struct api *a, int stage, int replace, char *msg, size_t msglen) PETRI_WUR;
void wrap_ws_stage_abort(struct api *a, int stage);

/* A directory listing (*reply: the ws worker's answer). */
int wrap_ws_list(struct api *a, const char *sandbox, const char *path,
    int recursive, json_t **reply, char *msg, size_t msglen) PETRI_WUR;

/* Up to length bytes of path (internal: under .petri/) from offset: m
 * holds them (m->data, m->datalen; caller clears), *size the file's
 * size. */
int wrap_ws_read(struct api *a, const char *sandbox, const char *path,
    int internal, uint64_t offset, uint64_t length, struct ipc_msg *m,
    uint64_t *size, char *msg, size_t msglen) PETRI_WUR;

/* Removes path (internal: a path under .petri/). */
int wrap_ws_delete(struct api *a, const char *sandbox, const char *path,
    int internal, char *msg, size_t msglen) PETRI_WUR;

/* The sandboxes that have a workspace (*names: array of ids). */
int wrap_ws_inventory(struct api *a, json_t **names) PETRI_WUR;

/* The manifest of sandbox's code files (*reply {files, truncated}). */
int wrap_ws_manifest(struct api *a, const char *sandbox, json_t **reply);

/* --- wrap_keeper.c: the audit log, blobs, secrets and grants ---------------- */

/*
 * Appends an audit record of type with event fields (steals event) for
 * the actor auth from source_ip (NULL: the system).  out (may be NULL)
 * gets {seq, leaf_hash, href}.
 */
int wrap_keeper_append(struct api *a, const struct api_auth *auth,
    const char *source_ip, const char *type, json_t *event,
    json_t **out) PETRI_WUR;

/* Stores a blob; sha gets its SHA-256 hex. */
int wrap_keeper_blob_put(
    struct api *a, const void *p, size_t n, char sha[65]) PETRI_WUR;

/* A blob by hash: m holds it (caller clears). */
int wrap_keeper_blob_get(struct api *a, const char *sha, struct ipc_msg *m,
    char *msg, size_t msglen) PETRI_WUR;

/* Which of shas (array, stolen) the audit store lacks (*missing). */
int wrap_keeper_blob_missing(
    struct api *a, json_t *shas, json_t **missing) PETRI_WUR;

/* The keeper's status ({size, sinks, ...}) within timeout_ms. */
int wrap_keeper_status(struct api *a, int timeout_ms, json_t **st) PETRI_WUR;

/*
 * The read-only audit requests: m holds the answer (caller clears): up to
 * limit records from seq from, one record, the latest checkpoint (its
 * text in m->data), a consistency proof between tree sizes, the log's
 * public key.
 */
int wrap_keeper_records(struct api *a, long long from, long long limit,
    struct ipc_msg *m, char *msg, size_t msglen) PETRI_WUR;
int wrap_keeper_record(struct api *a, long long seq, struct ipc_msg *m,
    char *msg, size_t msglen) PETRI_WUR;
int wrap_keeper_checkpoint(
    struct api *a, struct ipc_msg *m, char *msg, size_t msglen) PETRI_WUR;
int wrap_keeper_consistency(struct api *a, long long from, long long to,
    struct ipc_msg *m, char *msg, size_t msglen) PETRI_WUR;
int wrap_keeper_pubkey(
    struct api *a, struct ipc_msg *m, char *msg, size_t msglen) PETRI_WUR;

/* Starts an export of records from..to for the actor; frames follow. */
struct ipc_call *wrap_keeper_export_start(struct api *a, long long from,
    long long to, const char *actor, const char *tenant, int *err);

/* The next frame of an export: m holds its bytes (caller clears), *more
 * whether frames follow. */
int wrap_keeper_export_next(struct ipc_call *call, struct ipc_msg *m, int *more,
    char *msg, size_t msglen) PETRI_WUR;

/* Stores (or, rotate, replaces) tenant's secret name: its value (a
 * string, may be NULL on rotate) and binding (may be NULL); *meta the
 * stored secret's {id, name, version, ...}. */
int wrap_keeper_secret_put(struct api *a, const char *tenant, const char *name,
    int rotate, json_t *value, json_t *binding, json_t **meta, char *msg,
    size_t msglen) PETRI_WUR;
int wrap_keeper_secret_list(struct api *a, const char *tenant, const char *name,
    json_t **reply, char *msg, size_t msglen) PETRI_WUR;
int wrap_keeper_secret_del(struct api *a, const char *tenant, const char *name,
    char *msg, size_t msglen) PETRI_WUR;

/* Rotates the log's signing key (*reply {seq, key_id, new_key_id}). */
int wrap_keeper_rotate_key(struct api *a, int timeout_ms, json_t **reply,
    char *msg, size_t msglen) PETRI_WUR;

/* Erases the blobs only records before before_usec name (*reply
 * {erased, ...}). */
int wrap_keeper_blob_retain(struct api *a, long long before_usec,
    const char *reason, int timeout_ms, json_t **reply, char *msg,
    size_t msglen) PETRI_WUR;

/* Grants sandbox the secrets names (array) of tenant: *grants. */
int wrap_keeper_grant(struct api *a, const char *tenant, const char *sandbox,
    json_t *names, json_t **grants, char *msg, size_t msglen) PETRI_WUR;
int wrap_keeper_revoke(struct api *a, const char *sandbox) PETRI_WUR;

/* --- wrap_proxy.c: the egress proxy ------------------------------------------- */

/* Has the proxy listen on address; *port where. */
int wrap_proxy_listen(struct api *a, const char *address, int *port, char *msg,
    size_t msglen) PETRI_WUR;

/* Sets sandbox's identity: source address, token, secrets (stolen),
 * policy (canonical text). */
int wrap_proxy_ident_set(struct api *a, const char *sandbox, const char *src,
    json_t *token, json_t *secrets, const char *policy, char *msg,
    size_t msglen) PETRI_WUR;
int wrap_proxy_ident_del(struct api *a, const char *sandbox) PETRI_WUR;

/* Restarts sandbox's per-execution counters. */
int wrap_proxy_exec_begin(struct api *a, const char *sandbox) PETRI_WUR;

/* Returns once the proxy's reports so far are sent. */
int wrap_proxy_sync(struct api *a) PETRI_WUR;

#endif /* PETRI_WRAP_H */
