/*
 * exec.h: what the exec routes (api_exec.c: one execution; api_execs.c:
 * the routes on executions) share below them: the program and its code
 * (exec_code.c), the result document of a run (exec_result.c) and the
 * answers with a run (exec_answer.c).
 */
#ifndef PETRI_EXEC_H
#define PETRI_EXEC_H

#include <stddef.h>

#include <jansson.h>

#include "api.h"
#include "buf.h"

struct run;

/* --- exec_code.c ----------------------------------------------------------- */

/*
 * argv that runs the workspace file rel of lang: relative when the command
 * runs at the workspace root (how the first releases ran "filename"),
 * else absolute.  NULL for an unknown language or on no memory.
 */
json_t *exec_run_file(const char *lang, const char *cwd, const char *rel);

/* The file name for a "code" program of lang ("Main.java": Java wants its
 * public class name).  Pure. */
void exec_code_name(
    const char *lang, const char *code, char *out, size_t outlen);

/* Writes an internal file (under .petri/) into sandbox's workspace (ws).
 * Returns 0 or the PETRI_ERR_* of the ws worker. */
int exec_write_code(struct api *a, const char *sandbox, const char *path,
    const char *code, size_t len) PETRI_WUR;

/*
 * The manifest of sandbox's code files (ws), with the contents the audit
 * store lacks copied into blobs, so that the record's references can be
 * produced later.  Never fails the execution: on trouble the manifest
 * says what is missing.
 */
json_t *exec_code_manifest(struct api *a, const char *sandbox);

/* --- exec_result.c --------------------------------------------------------- */

/* The kept stream b as a blob reference {sha256, size, blob, truncated};
 * *err gets the keeper's error when the blob could not be stored. */
json_t *run_stream_ref(struct api *a, struct buf *b, int truncated, int *err);

/* The answer document from the engine's result res (NULL: none), with
 * the kept output when with_output.  run->lock held. */
json_t *run_doc(struct run *run, json_t *res, int with_output);

/* Test mode: takes test.sh's report line out of the kept output and
 * returns {runner, exit_code, port}, or NULL when it is not there.
 * run->lock held. */
json_t *run_test_strip(struct run *run);

/* Test mode: adds the counts to t, from JUnit XML when the runner wrote
 * it (ws); *err gets an error of the keeper. */
void run_test_summary(struct run *run, json_t *t, int *err);

/* --- exec_answer.c --------------------------------------------------------- */

/* Whether the client asked for Server-Sent Events. */
int exec_wants_sse(struct api_req *r);

/* Answers with run's output as it comes, then its result.  Takes the
 * caller's reference to run. */
enum MHD_Result exec_reply_sse(struct api_req *r, struct run *run);

/* Answers with run's result once it ends.  Takes the caller's reference
 * to run. */
enum MHD_Result exec_reply_wait(struct api_req *r, struct run *run);

/* Answers with a finished execution's document (json_decref()ed) as
 * Server-Sent Events: its kept output, then its exit event. */
enum MHD_Result exec_reply_sse_doc(struct api_req *r, json_t *doc);

#endif /* PETRI_EXEC_H */
