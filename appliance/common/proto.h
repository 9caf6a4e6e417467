/*
 * proto.h: the messages petrid's processes exchange, and who may send which.
 *
 * Answers: MSG_OK carries the result, MSG_ERR {"code": PETRI_ERR_*,
 * "message": "..."} a failure; streamed answers send MSG_ENG_OUTPUT frames
 * before their final MSG_OK/MSG_ERR.  Each receiver checks frames against the
 * permit table for that peer below (ipc.h); anything else is fatal.
 */
#ifndef PETRI_PROTO_H
#define PETRI_PROTO_H

#include <stddef.h>

#include "ipc.h"

enum {
	/* answers, any direction */
	MSG_OK = 1,
	MSG_ERR = 2,

	/* parent -> child: configuration, first frame a child reads */
	MSG_CONFIG = 10,

	/* api -> parent: privileged work on workspaces (root) */
	MSG_PAR_WS_PREPARE = 20, /* {sandbox, disk_mb, create} -> OK */
	MSG_PAR_WS_RELEASE = 21, /* {sandbox} -> OK */
	MSG_PAR_FIREWALL = 22, /* {bridge, gateway, port} -> OK */

	/* api -> engine */
	MSG_ENG_PING = 100, /* {} -> OK {docker_version} */
	MSG_ENG_SB_CREATE = 101, /* sandbox spec -> OK {container,...} */
	MSG_ENG_SB_DELETE = 102, /* {sandbox, container} -> OK */
	MSG_ENG_EXEC = 103, /* exec spec -> OUTPUT* then OK/ERR */
	MSG_ENG_EXEC_STDIN = 104, /* {exec, eof} + data -> (none) */
	MSG_ENG_EXEC_KILL = 105, /* {exec} -> OK */
	MSG_ENG_RECONCILE = 106, /* {sandboxes: [...]} -> OK {...} */
	MSG_ENG_SB_ENSURE = 107, /* {sandbox, container} -> OK {container} */
	MSG_ENG_INFO = 108,
	MSG_ENG_SB_UPDATE = 109,
	MSG_ENG_SB_RECOVER = 110, /* {sandbox, container} -> OK {killed,
	                             method} */
	/* {container, limits} -> OK */ /* {} -> OK {network, gateway, images} */

	/* engine -> api, streamed answer to MSG_ENG_EXEC */
	MSG_ENG_OUTPUT = 150, /* {stream: 1 stdout | 2 stderr} + data */
	MSG_ENG_EXEC_STARTED = 151, /* {exec} once the process runs */

	/* api -> ws (workspace worker) */
	MSG_WS_CREATE = 200, /* {sandbox} */
	MSG_WS_REMOVE = 201, /* {sandbox} */
	MSG_WS_STAGE_OPEN = 202, /* {sandbox} -> OK {stage} */
	MSG_WS_STAGE_FILE = 203, /* {stage, path, mode, more} + data */
	MSG_WS_STAGE_MKDIR = 204, /* {stage, path} */
	MSG_WS_STAGE_SYMLINK = 205, /* {stage, path, target} */
	MSG_WS_STAGE_COMMIT = 206, /* {stage, replace} -> OK {files:[...]} */
	MSG_WS_STAGE_ABORT = 207, /* {stage} */
	MSG_WS_LIST = 208, /* {sandbox, path, recursive} */
	MSG_WS_READ = 209, /* {sandbox, path} -> OK + data */
	MSG_WS_DELETE = 210, /* {sandbox, path} */
	MSG_WS_INVENTORY = 211, /* {} -> OK {sandboxes: [...]} */
	MSG_WS_MANIFEST = 212, /* {sandbox} -> OK {files} + blobs */
	MSG_WS_STAGE_REMOVE = 213, /* {stage, path}: removed at the commit */

	/* api -> keeper */
	MSG_KPR_APPEND = 300, /* {type, event} -> OK {seq, leaf_hash} */
	MSG_KPR_BLOB_PUT = 301, /* data -> OK {sha256} */
	MSG_KPR_BLOB_GET = 302, /* {sha256} -> OK + data */
	MSG_KPR_RECORDS = 303, /* {from, limit} -> OK {records} */
	MSG_KPR_RECORD = 304, /* {seq} -> OK {record, proof} */
	MSG_KPR_CHECKPOINT = 305, /* {} -> OK {text} */
	MSG_KPR_CONSISTENCY = 306, /* {from, to} -> OK {proof} */
	MSG_KPR_EXPORT = 307, /* {from, to} -> OK + bundle bytes */
	MSG_KPR_PUBKEY = 308, /* {} -> OK {keys} */
	MSG_KPR_STATUS = 309, /* {} -> OK {size, checkpoint} */
	MSG_KPR_BLOB_MISSING = 311, /* {sha256: [...]} -> OK {missing} */
	MSG_KPR_ROTATE_KEY = 312, /* {} -> OK {seq, key_id, new_key_id} */
	MSG_KPR_BLOB_RETAIN = 313, /* {before_usec, reason} -> OK {erased,
	                              complete} */
	/* the vault (api -> keeper); no message reads a value back */
	MSG_KPR_SECRET_PUT = 320, /* {tenant, name, value?, binding?,
				     rotate} -> OK {secret: metadata} */
	MSG_KPR_SECRET_DEL = 321, /* {tenant, name} -> OK */
	MSG_KPR_SECRET_LIST = 322, /* {tenant, name?} -> OK {secrets} */
	MSG_KPR_GRANT = 323, /* {tenant, sandbox, names} -> OK {grants} */
	MSG_KPR_REVOKE = 324, /* {sandbox} -> OK */

	/* proxy -> keeper */
	MSG_KPR_LEAF = 340, /* {host} + DER SPKI -> OK + DER certificate */
	MSG_KPR_CRED = 341, /* {sandbox, secret, placeholder?, scheme, host,
			       port, method, path?} -> OK {header, value_len,
			       raw_len, expect_len} + value raw expect */

	/* api -> proxy */
	MSG_PRX_LISTEN = 400, /* {address} -> OK {port} */
	MSG_PRX_IDENT_SET = 401, /* {sandbox, src, token, secrets} + policy */
	MSG_PRX_IDENT_DEL = 402, /* {sandbox} -> OK */
	MSG_PRX_EXEC_BEGIN = 403, /* {sandbox} -> OK */
	MSG_PRX_SYNC = 404, /* {} -> OK once every earlier report is sent */

	/* proxy -> api, unanswered */
	MSG_PRX_REPORT = 450, /* one request: {sandbox, call} */

	/* api -> preview gateway */
	MSG_PVW_ROUTE_SET = 500, /* {preview, hash, sandbox, addr, port,
				    expires_ms, auth} -> OK */
	MSG_PVW_ROUTE_DEL = 501, /* {preview} -> OK once its connections are
				    cut and its last report sent */

	/* preview gateway -> api */
	MSG_PVW_AUTH = 550, /* {preview, key_hash} -> OK | ERR */
	MSG_PVW_REPORT = 551, /* unanswered: {preview, from, to, count,
				 dropped, bytes_in, bytes_out, requests} */
};

/* Permit tables: what each process accepts from each peer. */
extern const struct ipc_permit proto_child_from_parent[];
extern const size_t proto_child_from_parent_n;
extern const struct ipc_permit proto_parent_from_api[];
extern const size_t proto_parent_from_api_n;
extern const struct ipc_permit proto_api_from_parent[];
extern const size_t proto_api_from_parent_n;
extern const struct ipc_permit proto_engine_from_api[];
extern const size_t proto_engine_from_api_n;
extern const struct ipc_permit proto_api_from_engine[];
extern const size_t proto_api_from_engine_n;
extern const struct ipc_permit proto_ws_from_api[];
extern const size_t proto_ws_from_api_n;
extern const struct ipc_permit proto_api_from_ws[];
extern const size_t proto_api_from_ws_n;
extern const struct ipc_permit proto_keeper_from_api[];
extern const size_t proto_keeper_from_api_n;
extern const struct ipc_permit proto_api_from_keeper[];
extern const size_t proto_api_from_keeper_n;
extern const struct ipc_permit proto_proxy_from_api[];
extern const size_t proto_proxy_from_api_n;
extern const struct ipc_permit proto_api_from_proxy[];
extern const size_t proto_api_from_proxy_n;
extern const struct ipc_permit proto_keeper_from_proxy[];
extern const size_t proto_keeper_from_proxy_n;
extern const struct ipc_permit proto_proxy_from_keeper[];
extern const size_t proto_proxy_from_keeper_n;
extern const struct ipc_permit proto_preview_from_api[];
extern const size_t proto_preview_from_api_n;
extern const struct ipc_permit proto_api_from_preview[];
extern const size_t proto_api_from_preview_n;

/*
 * Sends MSG_ERR {code, message} as the answer with the given id.
 * Returns what ipc_send() returns.
 */
int proto_send_err(
    struct ipc_chan *c, uint32_t id, int code, const char *message) PETRI_WUR;

/*
 * Turns an answer into a result: 0 for MSG_OK; for MSG_ERR the code it
 * carries (negative; PETRI_ERR_PROTO if absent or not negative) with its
 * message copied to msgbuf (may be NULL).
 */
int proto_result(const struct ipc_msg *m, char *msgbuf, size_t msglen);

#endif /* PETRI_PROTO_H */
