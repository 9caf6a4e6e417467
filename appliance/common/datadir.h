/*
 * datadir.h: the data directory's lock.  One petrid holds it for as long
 * as it runs; the operator's commands that must not run beside a petrid
 * (restore, purge-instance) take it too, so neither can start while the
 * other works.
 */
#ifndef PETRI_DATADIR_H
#define PETRI_DATADIR_H

#include "petri_err.h"

/* The lock file inside the data directory. */
#define DATADIR_LOCK_NAME "petrid.lock"

/*
 * Takes the exclusive lock of data directory dir (dir/petrid.lock,
 * created 0600, close-on-exec) without waiting.  On success *fdp holds
 * it until closed (or the process ends).  Returns 0, PETRI_ERR_STATE
 * when another process holds it (a petrid runs there), or PETRI_ERR_IO.
 */
int datadir_lock(const char *dir, int *fdp) PETRI_WUR;

#endif /* PETRI_DATADIR_H */
