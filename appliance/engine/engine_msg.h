/*
 * engine_msg.h: the messages the api sends the engine, read strictly.
 *
 * One reader a message type: it takes the whole message with one
 * json_unpack_ex(JSON_STRICT), so a key its sender (api/wrap_engine.c)
 * does not write, a missing one or a value of another type is refused,
 * and what each handler reads stands in one place.  The engine treats a
 * refusal as fatal (a malformed message from a peer: dispatch.h).  Values
 * are checked for type only; their ranges stay the handlers' to answer.
 * Strings and values are borrowed from the message's JSON and live as
 * long as it does.  Pure: no I/O, no globals.
 */
#ifndef PETRI_ENGINE_MSG_H
#define PETRI_ENGINE_MSG_H

#include <stddef.h>

#include <jansson.h>

#include "petri_err.h"

/* The resource limits of a sandbox ("limits" of a spec or an update). */
struct engine_msg_limits {
	json_int_t memory_mb;
	json_int_t pids;
	double cpus;
	json_int_t timeout_ms; /* the api's: read, not used */
	json_int_t disk_mb; /* the api's: read, not used */
};

/*
 * What a container is made of: MSG_ENG_SB_CREATE / SB_ENSURE's body, an
 * entry of MSG_ENG_RECONCILE (with container), and a fresh execution's
 * container (spec of MSG_ENG_EXEC, the rest filled in by the engine).
 */
struct engine_msg_sb {
	const char *sandbox;
	const char *container; /* reconcile: the known container, or NULL */
	const char *language;
	const char *image;
	const char *runtime;
	const char *workspace;
	struct engine_msg_limits limits;
	json_int_t uid, gid, tmp_mb;
	json_t *env; /* object of strings, or NULL: no Env */
};

/* MSG_ENG_SB_DELETE: {sandbox, container?}. */
struct engine_msg_sb_delete {
	const char *sandbox;
	const char *container; /* NULL: none known */
};

/* MSG_ENG_SB_UPDATE: {container, limits}. */
struct engine_msg_sb_update {
	const char *container;
	struct engine_msg_limits limits;
};

/* MSG_ENG_SB_RECOVER: {sandbox, container}. */
struct engine_msg_sb_recover {
	const char *sandbox;
	const char *container;
};

/* MSG_ENG_RECONCILE: {sandboxes: [sb + container?, ...]}. */
struct engine_msg_reconcile {
	struct engine_msg_sb *sb;
	size_t n;
};

/* MSG_ENG_EXEC (api/wrap_engine.c wrap_engine_exec_req()). */
struct engine_msg_exec {
	const char *exec;
	const char *sandbox;
	const char *container;
	const char *cwd;
	json_t *argv; /* array of strings */
	json_t *env; /* object of strings, or NULL */
	json_t *spec; /* fresh: {image, limits, runtime, language, tmp_mb} */
	json_int_t timeout_ms, output_max, uid, gid;
	int fresh, background, has_stdin;
};

/* MSG_ENG_EXEC_STDIN: {exec, eof}. */
struct engine_msg_exec_stdin {
	const char *exec;
	int eof;
};

/* MSG_ENG_EXEC_KILL: {exec}. */
struct engine_msg_exec_kill {
	const char *exec;
};

/*
 * Each reads message j into *out.  Returns 0, or PETRI_ERR_PROTO with
 * what is wrong in err[errlen] (jansson's text: the key when one is
 * missing or left over).
 */

/* MSG_ENG_PING and MSG_ENG_INFO: {}. */
int engine_msg_empty_read(json_t *j, char *err, size_t errlen) PETRI_WUR;

int engine_msg_sb_read(
    json_t *j, struct engine_msg_sb *out, char *err, size_t errlen) PETRI_WUR;

int engine_msg_sb_delete_read(json_t *j, struct engine_msg_sb_delete *out,
    char *err, size_t errlen) PETRI_WUR;

int engine_msg_sb_update_read(json_t *j, struct engine_msg_sb_update *out,
    char *err, size_t errlen) PETRI_WUR;

int engine_msg_sb_recover_read(json_t *j, struct engine_msg_sb_recover *out,
    char *err, size_t errlen) PETRI_WUR;

/* Allocates out->sb: the caller frees it with engine_msg_reconcile_free()
 * (also after a failure).  PETRI_ERR_NOMEM when it cannot. */
int engine_msg_reconcile_read(json_t *j, struct engine_msg_reconcile *out,
    char *err, size_t errlen) PETRI_WUR;

/* Frees what engine_msg_reconcile_read() allocated; NULL does nothing. */
void engine_msg_reconcile_free(struct engine_msg_reconcile *r);

/* Also reads spec when fresh is set (none when not), as a sb without
 * sandbox, workspace, uid, gid and env: those of the execution. */
int engine_msg_exec_read(
    json_t *j, struct engine_msg_exec *out, char *err, size_t errlen) PETRI_WUR;

/* The container spec of a fresh execution x (read by the above) into
 * *out, with x's sandbox, uid, gid and env; workspace stays NULL. */
int engine_msg_exec_fresh_sb(const struct engine_msg_exec *x,
    struct engine_msg_sb *out, char *err, size_t errlen) PETRI_WUR;

int engine_msg_exec_stdin_read(json_t *j, struct engine_msg_exec_stdin *out,
    char *err, size_t errlen) PETRI_WUR;

int engine_msg_exec_kill_read(json_t *j, struct engine_msg_exec_kill *out,
    char *err, size_t errlen) PETRI_WUR;

#endif /* PETRI_ENGINE_MSG_H */
