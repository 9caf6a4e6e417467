/*
 * wrap_ws.c: the api's calling side of the ws protocol (workspace files,
 * written and read by the ws worker as the sandbox's uid).
 */
#include <string.h>

#include "api.h"
#include "proto.h"
#include "wrap.h"

#define WS_TIMEOUT_MS 120000

static int
ws_ask(struct api *a, uint32_t type, json_t *req, const void *data, size_t n,
    json_t **reply, char *msg, size_t msglen)
{
	return api_ask(
	    a->ws, type, req, data, n, WS_TIMEOUT_MS, reply, msg, msglen);
}

int
wrap_ws_create(struct api *a, const char *sandbox, char *msg, size_t msglen)
{
	return ws_ask(a, MSG_WS_CREATE, json_pack("{s:s}", "sandbox", sandbox),
	    NULL, 0, NULL, msg, msglen);
}

int
wrap_ws_remove(struct api *a, const char *sandbox, char *msg, size_t msglen)
{
	return ws_ask(a, MSG_WS_REMOVE, json_pack("{s:s}", "sandbox", sandbox),
	    NULL, 0, NULL, msg, msglen);
}

int
wrap_ws_stage_open(struct api *a, const char *sandbox, int internal, int *stage,
    char *msg, size_t msglen)
{
	json_t *req, *rep = NULL;
	int e;

	req = json_pack("{s:s}", "sandbox", sandbox);
	if (req != NULL && internal)
		json_object_set_new(req, "internal", json_true());
	if ((e = ws_ask(
	         a, MSG_WS_STAGE_OPEN, req, NULL, 0, &rep, msg, msglen)) != 0)
		return e;
	if (json_unpack(rep, "{s:i}", "stage", stage) != 0)
		e = PETRI_ERR_PROTO;
	json_decref(rep);
	return e;
}

int
wrap_ws_stage_file(struct api *a, int stage, const char *path, int mode,
    int append, int more, const char *copy_from, const void *p, size_t n,
    char *msg, size_t msglen)
{
	json_t *req;

	req = json_pack("{s:i, s:s, s:i, s:b, s:b}", "stage", stage, "path",
	    path, "mode", mode, "append", append != 0, "more", more != 0);
	if (req != NULL && copy_from != NULL)
		json_object_set_new(req, "copy_from", json_string(copy_from));
	return ws_ask(a, MSG_WS_STAGE_FILE, req, p, n, NULL, msg, msglen);
}

int
wrap_ws_stage_mkdir(
    struct api *a, int stage, const char *path, char *msg, size_t msglen)
{
	return ws_ask(a, MSG_WS_STAGE_MKDIR,
	    json_pack("{s:i, s:s}", "stage", stage, "path", path), NULL, 0,
	    NULL, msg, msglen);
}

int
wrap_ws_stage_symlink(struct api *a, int stage, const char *path,
    const char *target, char *msg, size_t msglen)
{
	return ws_ask(a, MSG_WS_STAGE_SYMLINK,
	    json_pack("{s:i, s:s, s:s}", "stage", stage, "path", path, "target",
	        target),
	    NULL, 0, NULL, msg, msglen);
}

int
wrap_ws_stage_remove(
    struct api *a, int stage, const char *path, char *msg, size_t msglen)
{
	return ws_ask(a, MSG_WS_STAGE_REMOVE,
	    json_pack("{s:i, s:s}", "stage", stage, "path", path), NULL, 0,
	    NULL, msg, msglen);
}

int
wrap_ws_stage_commit(
    struct api *a, int stage, int replace, char *msg, size_t msglen)
{
	return ws_ask(a, MSG_WS_STAGE_COMMIT,
	    json_pack("{s:i, s:b}", "stage", stage, "replace", replace != 0),
	    NULL, 0, NULL, msg, msglen);
}

void
wrap_ws_stage_abort(struct api *a, int stage)
{
	(void)ws_ask(a, MSG_WS_STAGE_ABORT, json_pack("{s:i}", "stage", stage),
	    NULL, 0, NULL, NULL, 0);
}

int
wrap_ws_list(struct api *a, const char *sandbox, const char *path,
    int recursive, json_t **reply, char *msg, size_t msglen)
{
	return ws_ask(a, MSG_WS_LIST,
	    json_pack("{s:s, s:s, s:b}", "sandbox", sandbox, "path", path,
	        "recursive", recursive != 0),
	    NULL, 0, reply, msg, msglen);
}

int
wrap_ws_read(struct api *a, const char *sandbox, const char *path, int internal,
    uint64_t offset, uint64_t length, struct ipc_msg *m, uint64_t *size,
    char *msg, size_t msglen)
{
	json_t *req;
	json_int_t sz = 0;
	int e;

	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	req = json_pack("{s:s, s:s, s:I, s:I}", "sandbox", sandbox, "path",
	    path, "offset", (json_int_t)offset, "length", (json_int_t)length);
	if (req == NULL)
		return PETRI_ERR_NOMEM;
	if (internal)
		json_object_set_new(req, "internal", json_true());
	e = ipc_request(a->ws, MSG_WS_READ, req, NULL, 0, WS_TIMEOUT_MS, m);
	json_decref(req);
	if (e != 0)
		return e;
	if ((e = proto_result(m, msg, msglen)) == 0 &&
	    (json_unpack(m->json, "{s:I}", "size", &sz) != 0 || sz < 0))
		e = PETRI_ERR_PROTO;
	if (e != 0) {
		ipc_msg_clear(m);
		return e;
	}
	*size = (uint64_t)sz;
	return 0;
}

int
wrap_ws_delete(struct api *a, const char *sandbox, const char *path,
    int internal, char *msg, size_t msglen)
{
	json_t *req = json_pack("{s:s, s:s}", "sandbox", sandbox, "path", path);

	if (req != NULL && internal)
		json_object_set_new(req, "internal", json_true());
	return ws_ask(a, MSG_WS_DELETE, req, NULL, 0, NULL, msg, msglen);
}

int
wrap_ws_inventory(struct api *a, json_t **names)
{
	json_t *rep = NULL, *n = NULL;
	int e;

	*names = NULL;
	if ((e = ws_ask(a, MSG_WS_INVENTORY, json_object(), NULL, 0, &rep, NULL,
	         0)) != 0)
		return e;
	if (json_unpack(rep, "{s:o}", "sandboxes", &n) != 0 ||
	    !json_is_array(n))
		e = PETRI_ERR_PROTO;
	else
		*names = json_incref(n);
	json_decref(rep);
	return e;
}

int
wrap_ws_manifest(struct api *a, const char *sandbox, json_t **reply)
{
	json_t *files = NULL;
	int e;

	if ((e = ws_ask(a, MSG_WS_MANIFEST,
	         json_pack("{s:s}", "sandbox", sandbox), NULL, 0, reply, NULL,
	         0)) != 0)
		return e;
	if (json_unpack(*reply, "{s:o}", "files", &files) != 0 ||
	    !json_is_array(files)) {
		json_decref(*reply);
		*reply = NULL;
		return PETRI_ERR_PROTO;
	}
	return 0;
}
