/*
 * hostfw.h: what the sandbox network may reach on the host itself.
 *
 * Docker's internal networks stop forwarding, but a container can still
 * reach every host service that listens on all addresses, through the
 * bridge (the host's INPUT chain).  The parent (root) closes that: on the
 * sandbox bridge the host accepts TCP to the proxy's address and port,
 * answers on connections the host opened into the network (the preview
 * gateway's, conntrack ESTABLISHED: a container cannot open one itself),
 * and drops everything else.  The rules stay when petrid stops (sandboxes
 * outlive it: the failure is closed) and are added once (checked first).
 */
#ifndef PETRI_HOSTFW_H
#define PETRI_HOSTFW_H

#include "petri_err.h"

/*
 * Makes the host drop every packet that arrives on bridge (an interface
 * name, [A-Za-z0-9_.-], 1 to 15 bytes) except TCP to gw (IPv4 text):port
 * and packets of connections the host opened.
 * Runs iptables(8).  Returns 0, PETRI_ERR_INVAL or PETRI_ERR_IO.
 */
int hostfw_sandbox_input(
    const char *bridge, const char *gw, int port) PETRI_WUR;

/* Whether s is an interface name hostfw accepts.  Pure. */
int hostfw_ifname_valid(const char *s);

#endif /* PETRI_HOSTFW_H */
