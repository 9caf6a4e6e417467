/*
 * mcp_proto.h: the Model Context Protocol's message layer, pure (no I/O,
 * no globals): JSON-RPC 2.0 messages as MCP's stdio transport carries
 * them (one JSON object per line, UTF-8, no batches), protocol version
 * negotiation, and checking tool arguments against the subset of JSON
 * Schema the tools' input schemas use.  Everything read here comes from
 * the MCP client (an agent's host, driven by a model): hostile.
 */
#ifndef PETRI_MCP_PROTO_H
#define PETRI_MCP_PROTO_H

#include <stddef.h>

#include <jansson.h>

#define MCP_MAX_LINE (8UL << 20) /* one message, bytes */
#define MCP_MAX_METHOD 128
#define MCP_MAX_ID 256 /* bytes of a string id */

/* JSON-RPC 2.0 error codes */
#define MCP_ERR_PARSE (-32700)
#define MCP_ERR_INVALID_REQUEST (-32600)
#define MCP_ERR_METHOD (-32601)
#define MCP_ERR_PARAMS (-32602)
#define MCP_ERR_INTERNAL (-32603)

/* The newest revision first; the first is what the server prefers. */
extern const char *const mcp_versions[];

enum mcp_kind {
	MCP_INVALID = 0, /* answer err_code with id (may be JSON null) */
	MCP_REQUEST, /* id, method, params: answer it */
	MCP_NOTIFICATION, /* method, params: never answered */
	MCP_RESPONSE, /* a client's answer (to nothing we asked): ignored */
};

struct mcp_msg {
	enum mcp_kind kind;
	json_t *root; /* the parsed message (owned) */
	json_t *id; /* borrowed from root; JSON null when unknown */
	const char *method; /* borrowed */
	json_t *params; /* borrowed: an object (empty when absent) */
	int err_code; /* MCP_INVALID: MCP_ERR_* */
	char err[160]; /* MCP_INVALID: why, printable ASCII */
};

/*
 * Parses one line (len bytes, without the newline; NUL bytes are an
 * error).  Strict: a JSON object (duplicate keys refused) with "jsonrpc":
 * "2.0", an id that is a string (at most MCP_MAX_ID bytes) or an integer,
 * a method string (at most MCP_MAX_METHOD bytes), params an object, and
 * no other member.  Always fills m (kind MCP_INVALID on error, with
 * err_code and err); caller calls mcp_msg_clear() whatever the result.
 */
void mcp_msg_parse(const char *line, size_t len, struct mcp_msg *m);

/* Frees what mcp_msg_parse() kept.  Safe to call twice. */
void mcp_msg_clear(struct mcp_msg *m);

/* {"jsonrpc": "2.0", "id": id, "result": result} (steals result). */
json_t *mcp_result_new(json_t *id, json_t *result);

/* {"jsonrpc": "2.0", "id": id, "error": {code, message}}. */
json_t *mcp_error_new(json_t *id, int code, const char *message);

/*
 * The version to answer an initialize asking for requested: requested
 * itself when supported, else the newest one (the client then decides).
 */
const char *mcp_version_negotiate(const char *requested);

/* Whether the revision v has tools' outputSchema and structuredContent. */
int mcp_version_structured(const char *v);

/*
 * Checks args (an object) against schema, a JSON Schema using only:
 * type "object" with properties, required and additionalProperties:
 * false; property types "string" (maxLength, enum), "integer" (minimum,
 * maximum), "boolean", "object" (additionalProperties {"type":
 * "string"}, maxProperties).  Returns 0, or -1 with a sentence naming
 * the argument in err.
 */
int mcp_args_check(json_t *schema, json_t *args, char *err, size_t errlen);

/*
 * Cuts the UTF-8 text s (n bytes) to at most max bytes at a character
 * boundary.  Returns the length kept.
 */
size_t mcp_utf8_cut(const char *s, size_t n, size_t max);

#endif /* PETRI_MCP_PROTO_H */
