/*
 * notify.h: readiness for systemd (Type=notify) without libsystemd: one
 * datagram to $NOTIFY_SOCKET, as sd_notify(3) describes the protocol.
 */
#ifndef PETRI_NOTIFY_H
#define PETRI_NOTIFY_H

#include "petri_err.h"

/*
 * Takes $NOTIFY_SOCKET out of the environment (so that children do not
 * inherit it) and keeps it for notify_send().  Call once, early.
 */
void notify_init(void);

/*
 * Sends state ("READY=1", "STOPPING=1", ...) to the socket taken by
 * notify_init().  Returns 0 (also when there is no socket: not under
 * systemd) or PETRI_ERR_IO.
 */
int notify_send(const char *state);

#endif /* PETRI_NOTIFY_H */
