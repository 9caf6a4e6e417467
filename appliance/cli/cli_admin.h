/*
 * cli_admin.h: `petri admin ...`, the operator's commands that work on a
 * data directory rather than through the API (docs/operations.md).  They
 * run as root on the appliance's host.
 */
#ifndef PETRI_CLI_ADMIN_H
#define PETRI_CLI_ADMIN_H

#include <stddef.h>

#include "petri_err.h"

/*
 * Runs `petri admin SUBCOMMAND ...` (argv[0] is the subcommand): backup,
 * restore, purge-instance.  Returns the process's exit status: 0, 1 on
 * failure (a message on stderr), 2 on a usage error.
 */
int cli_admin_main(int argc, char **argv);

/*
 * `petri admin purge-instance --data-dir DATA [--docker-socket PATH]`:
 * removes every container and network labelled with DATA's instance id,
 * the host firewall rules of those networks' bridges and the workspace
 * mounts under DATA/workspaces.  Refuses while a petrid holds DATA.
 * Returns an exit status as cli_admin_main().
 */
int cli_admin_purge(int argc, char **argv);

/*
 * Copies regular file src to dst (created exclusively with mode and
 * owner of src).  Returns 0 or PETRI_ERR_IO.
 */
int cli_admin_copy_file(const char *src, const char *dst) PETRI_WUR;

/*
 * Runs argv (argv[0] an absolute path) with a minimal environment; its
 * stdout goes to out (at most outlen - 1 bytes kept, NUL-terminated) when
 * out is not NULL, else to ours.  Returns its exit status or -1.
 */
int cli_admin_run(char *const argv[], char *out, size_t outlen);

#endif /* PETRI_CLI_ADMIN_H */
