/*
 * supervisor.h: the engine's side of petri-init, the supervisor inside
 * each sandbox container (docs/architecture.md, "Executions").
 *
 * The hub listens on one unix socket per sandbox, DIR/<sandbox>/sock, in a
 * directory the engine owns and mounts read-only into the container at
 * /run/petri: the sandbox uid can connect but create or replace nothing.
 * It accepts one connection per sandbox, and only from the process whose
 * SO_PEERCRED pid is the container's init pid as the backend reports it
 * (State.Pid; the engine runs in the host's pid namespace, so the two
 * agree).  Any other connection, a program in the sandbox dialling the
 * socket, is refused and logged.  One thread reads every connection; the
 * callers' threads send.
 *
 * Everything the supervisor sends is untrusted: frames are parsed by the
 * pure supproto.c, a malformed one drops the connection, and descriptors
 * it might pass are discarded.
 *
 * Errors are negative PETRI_ERR_* codes.
 */
#ifndef PETRI_SUPERVISOR_H
#define PETRI_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>

#include "petri_err.h"
#include "supproto.h"

#define SUP_MOUNT_DIR "/run/petri" /* where the container sees DIR/<sb> */
#define SUP_CONNECT_WAIT_MS 2000 /* a new or adopted sandbox's supervisor */
#define SUP_START_TIMEOUT_MS 10000 /* START -> STARTED */
#define SUP_SEND_TIMEOUT_MS 2000 /* a frame that does not fit in time */
#define SUP_KILL_TIMEOUT_MS 2000 /* SIGNAL 0 -> KILLED */

struct sup_hub;
struct sup_call;

/*
 * Looks up the host pid of the container's init (State.Pid) for the peer
 * check; 0 and *pid, or a PETRI_ERR_*.  Called from the hub's thread.
 */
typedef int (*sup_pid_fn)(void *arg, const char *container, long *pid);

/* What a call has seen so far. */
struct sup_call_state {
	int started; /* STARTED arrived */
	int err; /* its errno (fork failed), 0 when the program runs */
	long pid; /* the main process, in the container's namespace */
	int exited; /* EXITED arrived */
	int code; /* exit status, 128 + N after signal N */
	int lost; /* the connection went away first */
};

/*
 * Creates the hub for sockets under dir (made 0711: traversable, not
 * listable) and
 * starts its thread.  pid_of (with arg) checks peers.  *out: caller frees
 * with sup_hub_free().  Returns 0, PETRI_ERR_IO, PETRI_ERR_NOMEM or
 * PETRI_ERR_TOOBIG (dir too long).
 */
int sup_hub_new(
    const char *dir, sup_pid_fn pid_of, void *arg, struct sup_hub **out);

/* Stops the thread, closes every socket.  NULL is a no-op. */
void sup_hub_free(struct sup_hub *h);

/*
 * Makes the host directory of sandbox's socket, for its bind mount, into
 * out.  Returns 0, PETRI_ERR_INVAL (bad id) or PETRI_ERR_TOOBIG.
 */
int sup_sandbox_dir(
    struct sup_hub *h, const char *sandbox, char *out, size_t len);

/*
 * Listens for sandbox's supervisor (replacing a stale socket) if not yet,
 * and records its container (may be NULL until known).  A caller that
 * starts an execution within SUP_CONNECT_WAIT_MS of this waits for the
 * supervisor to connect.  Returns 0 or PETRI_ERR_IO/_INVAL/_NOMEM.
 */
int sup_sandbox_listen(
    struct sup_hub *h, const char *sandbox, const char *container);

/* Closes sandbox's socket and connection and removes its directory. */
void sup_sandbox_forget(struct sup_hub *h, const char *sandbox);

/* 1 when sandbox's supervisor is connected, else 0. */
int sup_sandbox_connected(struct sup_hub *h, const char *sandbox);

/*
 * Starts a program through sandbox's supervisor (container must match the
 * one recorded): sends START with fds (the child's stdin, stdout, stderr;
 * the caller keeps and closes its own copies).  Waits for a connection
 * only within SUP_CONNECT_WAIT_MS of sup_sandbox_listen().
 * *out: the call, to follow with sup_call_fd()/sup_call_get(); caller
 * frees with sup_call_free().  Returns 0, PETRI_ERR_NOTFOUND (no
 * supervisor: use another path), PETRI_ERR_UNAVAIL (the connection broke
 * while sending: the program may not have started), PETRI_ERR_TOOBIG (the
 * frame is over SUP_FRAME_MAX), PETRI_ERR_INVAL, PETRI_ERR_NOMEM.
 */
int sup_call_start(struct sup_hub *h, const char *sandbox,
    const char *container, uint32_t flags, const char *cwd,
    const char *const *argv, size_t nargv, const char *const *env, size_t nenv,
    const int fds[3], struct sup_call **out);

/* An eventfd that turns readable when the call's state changes. */
int sup_call_fd(const struct sup_call *c);

/* Drains the eventfd and copies the call's state into *st. */
void sup_call_get(struct sup_call *c, struct sup_call_state *st);

/*
 * Sends sig to the call's execution: its session and what descends from
 * it.  Returns 0 or PETRI_ERR_UNAVAIL (the connection is gone).
 */
int sup_call_signal(struct sup_call *c, int sig);

/*
 * Gives up on the call's supervisor, which did not answer in time: its
 * connection is closed, so later executions take another path until it
 * reconnects.
 */
void sup_call_abandon(struct sup_call *c);

/* Forgets the call.  NULL is a no-op. */
void sup_call_free(struct sup_call *c);

/*
 * Kills every process of sandbox but the supervisor and waits up to
 * timeout_ms for its answer.  *count gets how many it signalled.  Returns
 * 0, PETRI_ERR_NOTFOUND (no supervisor), PETRI_ERR_TIMEOUT or
 * PETRI_ERR_UNAVAIL.
 */
int sup_kill_all(
    struct sup_hub *h, const char *sandbox, int timeout_ms, int *count);

#endif /* PETRI_SUPERVISOR_H */
