/*
 * cli.h: the pieces of petri, the command-line client, shared by its
 * commands: the HTTP client of the REST API (cli_http.c), delta sync of a
 * directory (cli_sync.c) and the MCP server (cli_mcp.c, mcp_proto.c).
 * Nothing here exits the process: errors are returned with a message.
 */
#ifndef PETRI_CLI_H
#define PETRI_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

#define CLI_MAX_REPLY (256UL << 20)
#define CLI_MAX_UPLOAD (256UL << 20)
#define CLI_ERR_MAX 512

struct cli {
	const char *url; /* PETRI_URL, e.g. http://127.0.0.1:8080 */
	char key[512]; /* the API key */
};

/*
 * One call to the API: method on url + path, with body (len bytes, may be
 * NULL) of content type ctype (may be NULL).  The reply's bytes are
 * appended to out (bounded by its maximum).  No redirect is followed;
 * connecting times out after 5 s.  Returns the HTTP status, or -1 when
 * no answer came, with the reason in err.
 */
long cli_http(struct cli *c, const char *method, const char *path,
    const void *body, size_t len, const char *ctype, struct buf *out, char *err,
    size_t errlen);

/*
 * The same with a JSON body (may be NULL) and a JSON answer: *reply gets
 * the parsed answer (NULL when it is empty or not JSON; caller
 * json_decref()s it).  Returns the HTTP status or -1 with err set.
 */
long cli_http_json(struct cli *c, const char *method, const char *path,
    json_t *body, json_t **reply, char *err, size_t errlen);

/*
 * The message of an API error answer {"error": {"code", "message"}} as
 * "code: message" in out, or a generic text for status.
 */
void cli_http_error(json_t *reply, long status, char *out, size_t outlen);

/* What one delta sync did. */
struct cli_sync_result {
	size_t files; /* regular files in the local manifest */
	size_t skipped; /* local objects left out (links, devices, .git) */
	size_t uploaded;
	size_t deleted;
	size_t unchanged;
	uint64_t bytes; /* file bytes the server wrote */
	uint64_t sent; /* bytes sent: manifest and archive bodies */
	int64_t audit_seq; /* the commit's audit record, -1 if none */
};

/*
 * Syncs the local directory dir into sandbox sb, under the workspace
 * directory to ("" or NULL: the root): builds the manifest (regular files
 * below dir, not following links, skipping .git; bounded as uploads are),
 * plans the sync, sends a tar.gz of the files the server asks for and
 * commits; with del, files in the workspace under to that are not in dir
 * are removed in the same commit.  Returns 0 with *res filled, or -1 with
 * the reason in err.
 */
int cli_sync_dir(struct cli *c, const char *dir, const char *sb, const char *to,
    int del, struct cli_sync_result *res, char *err, size_t errlen);

/* `petri sync DIR SB [--to PATH] [--delete]`.  Returns the exit status. */
int cli_sync_cmd(struct cli *c, int argc, char **argv);

/*
 * `petri mcp`: a Model Context Protocol server on stdin/stdout until
 * stdin ends.  Returns the exit status.
 */
int cli_mcp_main(struct cli *c);

#endif /* PETRI_CLI_H */
