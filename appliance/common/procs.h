/*
 * procs.h: the processes of petrid and what each is handed at start.
 *
 * The parent forks and re-executes itself once per child (`petrid --proc
 * NAME`), with the child's sockets at fixed descriptor numbers, and sends
 * MSG_CONFIG as the first frame on the control socket (fd 3).  The child
 * then drops to its own uid and runs its main loop until SIGTERM.
 */
#ifndef PETRI_PROCS_H
#define PETRI_PROCS_H

#include <sys/types.h>

#include <jansson.h>

#include "config.h"

/* Fixed descriptor numbers in the children. */
#define PROC_FD_CTL 3 /* control socket from the parent */
#define PROC_FD_API_LISTEN 4 /* api: the listening HTTP socket */
#define PROC_FD_API_ENGINE 5 /* api: channel to the engine */
#define PROC_FD_API_WS 6 /* api: channel to the workspace worker */
#define PROC_FD_API_KEEPER 7 /* api: channel to the keeper */
#define PROC_FD_API_PROXY 8 /* api: channel to the proxy */
#define PROC_FD_API_PREVIEW 9 /* api: channel to the preview gateway */
#define PROC_FD_PEER_API 4 /* engine, ws, keeper, proxy: channel to the api */
#define PROC_FD_KEEPER_PROXY 5 /* keeper: channel to the proxy */
#define PROC_FD_PROXY_KEEPER 5 /* proxy: channel to the keeper */
#define PROC_FD_PREVIEW_LISTEN 5 /* preview: the gateway's listening socket */

struct proc_ctx {
	const char *name; /* "api", "engine", "ws", "keeper", "proxy",
			   "preview" */
	struct petri_config cfg; /* effective configuration */
	char instance[33]; /* appliance instance id (hex) */
	char admin_hash[65]; /* api: hash of the bootstrap token */
	uid_t sandbox_uid; /* uid the sandbox processes run as */
	gid_t sandbox_gid;
	char exe_dir[4096]; /* where petrid and petri-spawn live */
	json_t *boot; /* the MSG_CONFIG document */
};

/* The child main loops; each returns the process exit status. */
int api_main(struct proc_ctx *ctx);
int engine_main(struct proc_ctx *ctx);
int ws_main(struct proc_ctx *ctx);
int keeper_main(struct proc_ctx *ctx);
int proxy_main(struct proc_ctx *ctx);
int preview_main(struct proc_ctx *ctx);

/*
 * Drops from root to user (and its group), adding extra_group (may be NULL)
 * as the only supplementary group, then sets PR_SET_NO_NEW_PRIVS.  As a
 * non-root user it only sets no-new-privs (development mode).
 * Returns 0 or PETRI_ERR_PERM (the user or group does not exist, or the drop
 * did not stick).
 */
int priv_drop(const char *user, const char *extra_group) PETRI_WUR;

/*
 * Blocks SIGTERM/SIGINT/SIGHUP in the calling thread (do it before starting
 * threads so they inherit the mask) and ignores SIGPIPE.
 */
void proc_signals_block(void);

/* Waits for SIGTERM or SIGINT (blocked by proc_signals_block()). */
void proc_wait_term(void);

#endif /* PETRI_PROCS_H */
