/*
 * run.h: one execution in flight (runs.c keeps them; api_exec.c runs
 * them).  A run is shared by its runner thread and the requests that
 * follow it (wait, stream, kill, stdin): fields after "lock" are read and
 * written with it held, and a run lives while it has references.
 */
#ifndef PETRI_RUN_H
#define PETRI_RUN_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "api.h"
#include "buf.h"
#include "ipc.h"
#include "util.h"

struct run_chunk {
	struct run_chunk *next;
	int stream; /* 1 stdout, 2 stderr */
	size_t len;
	char data[];
};

struct run {
	struct run *next;
	struct api *a;
	int refs;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char id[PETRI_ID_MAX];
	char sandbox[PETRI_ID_MAX];
	char tenant[64];
	struct api_auth auth;
	char source_ip[64];
	char request_id[48];
	json_t *sb; /* the sandbox document */
	json_t *rec; /* what the audit record says of the request */
	struct ipc_call *call;
	int64_t wait_ms;
	struct run_chunk *head, *tail;
	struct buf out[2]; /* stdout, stderr as kept */
	struct buf all; /* interleaved, as kept */
	size_t out_max;
	int truncated;
	int background;
	char code_dir[64]; /* ".petri/run/ex_..." to remove afterwards */
	int done;
	unsigned int status; /* HTTP status of a failed run, else 200 */
	json_t *doc; /* final answer document */
	int64_t started_usec;
	json_t *net; /* calls the proxy reported (API_NETWORK_MAX) */
	uint64_t net_dropped; /* calls beyond that */
	/* the install step, when it must run before the program */
	json_t *req; /* the program's engine request, sent after it */
	unsigned char *stdin_data;
	size_t stdin_len;
	json_t *deps_argv; /* NULL: no step */
	json_t *deps_env;
	char deps_key[PETRI_SHA256_HEX];
	struct buf inst; /* its log as it comes */
	struct buf inst_tail; /* its last output once the log is full */
	int test; /* test mode: test.sh runs the app and the runner */
	char deps_xid[PETRI_ID_MAX]; /* the install step's engine exec */
	int killed; /* killed before the program started */
	int stdin_eof; /* eof asked before the program started */
	json_t *deps; /* {install?, missing_imports?, sbom?} */
};

/* Drops a reference; the last one frees the run. */
void run_unref(struct run *run);

/* The run id of tenant in flight, with a reference, or NULL. */
struct run *run_find(struct api *a, const char *id, const char *tenant);

/* Puts the run in the registry (its runner starts). */
void run_link(struct run *run);

/* Takes the run out of the registry (its runner ended). */
void run_unlink(struct run *run);

/* Keeps what fits of a chunk of stream (1, 2), for the answer and the
 * streams that follow the run; marks truncation.  run->lock held. */
void run_output(struct run *run, int stream, const unsigned char *p, size_t n);

/* A chunk of the install step's log: kept apart, streamed as "install".
 * run->lock held. */
void run_install_output(struct run *run, const unsigned char *p, size_t n);

#endif /* PETRI_RUN_H */
