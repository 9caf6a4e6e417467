/* proto.c: permit tables of petrid's processes. */
#include <string.h>

#include "bounds.h"
#include "policy_bounds.h"
#include "proto.h"
#include "util.h"

#define SMALL (64 * 1024)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const struct ipc_permit proto_child_from_parent[] = {
    {MSG_CONFIG, IPC_MAX_JSON},
};
const size_t proto_child_from_parent_n = NELEM(proto_child_from_parent);

const struct ipc_permit proto_parent_from_api[] = {
    {MSG_PAR_WS_PREPARE, SMALL},
    {MSG_PAR_WS_RELEASE, SMALL},
    {MSG_PAR_FIREWALL, SMALL},
};
const size_t proto_parent_from_api_n = NELEM(proto_parent_from_api);

const struct ipc_permit proto_api_from_parent[] = {
    {MSG_OK, SMALL},
    {MSG_ERR, SMALL},
};
const size_t proto_api_from_parent_n = NELEM(proto_api_from_parent);

const struct ipc_permit proto_engine_from_api[] = {
    {MSG_ENG_PING, SMALL},
    {MSG_ENG_SB_CREATE, SMALL},
    {MSG_ENG_SB_DELETE, SMALL},
    {MSG_ENG_EXEC, SMALL + API_MAX_STDIN + API_MAX_ARGV * 4096},
    {MSG_ENG_EXEC_STDIN, SMALL + API_MAX_STDIN},
    {MSG_ENG_EXEC_KILL, SMALL},
    {MSG_ENG_RECONCILE, IPC_MAX_JSON},
    {MSG_ENG_SB_ENSURE, SMALL},
    {MSG_ENG_INFO, SMALL},
    {MSG_ENG_SB_UPDATE, SMALL},
    {MSG_ENG_SB_RECOVER, SMALL},
};
const size_t proto_engine_from_api_n = NELEM(proto_engine_from_api);

const struct ipc_permit proto_api_from_engine[] = {
    {MSG_OK, IPC_MAX_JSON},
    {MSG_ERR, SMALL},
    {MSG_ENG_OUTPUT, SMALL + DOCKER_MAX_FRAME},
    {MSG_ENG_EXEC_STARTED, SMALL},
};
const size_t proto_api_from_engine_n = NELEM(proto_api_from_engine);

const struct ipc_permit proto_ws_from_api[] = {
    {MSG_WS_CREATE, SMALL},
    {MSG_WS_REMOVE, SMALL},
    {MSG_WS_STAGE_OPEN, SMALL},
    {MSG_WS_STAGE_FILE, SMALL + (4UL << 20)},
    {MSG_WS_STAGE_MKDIR, SMALL},
    {MSG_WS_STAGE_SYMLINK, SMALL},
    {MSG_WS_STAGE_COMMIT, SMALL},
    {MSG_WS_STAGE_ABORT, SMALL},
    {MSG_WS_LIST, SMALL},
    {MSG_WS_READ, SMALL},
    {MSG_WS_DELETE, SMALL},
    {MSG_WS_INVENTORY, SMALL},
    {MSG_WS_MANIFEST, SMALL},
    {MSG_WS_STAGE_REMOVE, SMALL},
};
const size_t proto_ws_from_api_n = NELEM(proto_ws_from_api);

const struct ipc_permit proto_api_from_ws[] = {
    {MSG_OK, IPC_MAX_FRAME},
    {MSG_ERR, SMALL},
};
const size_t proto_api_from_ws_n = NELEM(proto_api_from_ws);

const struct ipc_permit proto_keeper_from_api[] = {
    {MSG_KPR_APPEND, IPC_MAX_JSON},
    {MSG_KPR_BLOB_PUT, IPC_MAX_FRAME},
    {MSG_KPR_BLOB_GET, SMALL},
    {MSG_KPR_RECORDS, SMALL},
    {MSG_KPR_RECORD, SMALL},
    {MSG_KPR_CHECKPOINT, SMALL},
    {MSG_KPR_CONSISTENCY, SMALL},
    {MSG_KPR_EXPORT, SMALL},
    {MSG_KPR_PUBKEY, SMALL},
    {MSG_KPR_STATUS, SMALL},
    {MSG_KPR_BLOB_MISSING, IPC_MAX_JSON},
    {MSG_KPR_ROTATE_KEY, SMALL},
    {MSG_KPR_BLOB_RETAIN, SMALL},
    {MSG_KPR_SECRET_PUT, SMALL},
    {MSG_KPR_SECRET_DEL, SMALL},
    {MSG_KPR_SECRET_LIST, SMALL},
    {MSG_KPR_GRANT, SMALL},
    {MSG_KPR_REVOKE, SMALL},
};
const size_t proto_keeper_from_api_n = NELEM(proto_keeper_from_api);

const struct ipc_permit proto_api_from_keeper[] = {
    {MSG_OK, IPC_MAX_FRAME},
    {MSG_ERR, SMALL},
};
const size_t proto_api_from_keeper_n = NELEM(proto_api_from_keeper);

const struct ipc_permit proto_proxy_from_api[] = {
    {MSG_PRX_LISTEN, SMALL},
    {MSG_PRX_IDENT_SET, SMALL + API_POLICY_MAX},
    {MSG_PRX_IDENT_DEL, SMALL},
    {MSG_PRX_EXEC_BEGIN, SMALL},
    {MSG_PRX_SYNC, SMALL},
    {MSG_OK, SMALL},
    {MSG_ERR, SMALL},
};
const size_t proto_proxy_from_api_n = NELEM(proto_proxy_from_api);

const struct ipc_permit proto_api_from_proxy[] = {
    {MSG_OK, SMALL},
    {MSG_ERR, SMALL},
    {MSG_PRX_REPORT, SMALL},
};
const size_t proto_api_from_proxy_n = NELEM(proto_api_from_proxy);

const struct ipc_permit proto_keeper_from_proxy[] = {
    {MSG_KPR_LEAF, SMALL},
    {MSG_KPR_CRED, SMALL},
};
const size_t proto_keeper_from_proxy_n = NELEM(proto_keeper_from_proxy);

const struct ipc_permit proto_proxy_from_keeper[] = {
    {MSG_OK, SMALL},
    {MSG_ERR, SMALL},
};
const size_t proto_proxy_from_keeper_n = NELEM(proto_proxy_from_keeper);

int
proto_send_err(struct ipc_chan *c, uint32_t id, int code, const char *message)
{
	json_t *j;
	int r;

	if ((j = json_pack("{s:i, s:s}", "code", code, "message",
	         message != NULL ? message : petri_strerror(code))) == NULL)
		return PETRI_ERR_NOMEM;
	r = ipc_send(c, MSG_ERR, id, j, NULL, 0);
	json_decref(j);
	return r;
}

int
proto_result(const struct ipc_msg *m, char *msgbuf, size_t msglen)
{
	json_int_t code;
	const char *s;

	if (msgbuf != NULL && msglen > 0)
		msgbuf[0] = '\0';
	if (m->type == MSG_OK)
		return 0;
	code = json_integer_value(json_object_get(m->json, "code"));
	if (msgbuf != NULL &&
	    (s = json_string_value(json_object_get(m->json, "message"))) !=
	        NULL)
		petri_strlcpy(msgbuf, s, msglen);
	if (m->type != MSG_ERR || code >= 0 || code < PETRI_ERR_MIN)
		return PETRI_ERR_PROTO;
	return (int)code;
}

const struct ipc_permit proto_preview_from_api[] = {
    {MSG_PVW_ROUTE_SET, SMALL},
    {MSG_PVW_ROUTE_DEL, SMALL},
    {MSG_OK, SMALL},
    {MSG_ERR, SMALL},
};
const size_t proto_preview_from_api_n = NELEM(proto_preview_from_api);

const struct ipc_permit proto_api_from_preview[] = {
    {MSG_PVW_AUTH, SMALL},
    {MSG_PVW_REPORT, 1024 * 1024},
    {MSG_OK, SMALL},
    {MSG_ERR, SMALL},
};
const size_t proto_api_from_preview_n = NELEM(proto_api_from_preview);
