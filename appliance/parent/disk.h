/*
 * disk.h: the disk of a workspace.  Each sandbox's workspace is an ext4
 * file system in a sparse image file, loop-mounted on the workspace
 * directory, so a sandbox that fills its disk fills only its own
 * (limits.disk_mb).  Only the parent (root) calls these, on typed requests
 * from the api; they parse nothing.
 */
#ifndef PETRI_DISK_H
#define PETRI_DISK_H

#include <sys/types.h>

#include "petri_err.h"

/*
 * Creates image (which must not exist) of size_mb MiB, sparse, 0600, and
 * makes an ext4 file system on it whose root belongs to uid:gid.
 * Returns 0 or PETRI_ERR_EXISTS, _IO.  A failed call leaves no image.
 */
int disk_create(const char *image, int size_mb, uid_t uid, gid_t gid) PETRI_WUR;

/*
 * Attaches image to a free loop device (auto-clearing) and mounts it on
 * dir (nosuid, nodev, noatime).  Returns 0 (also when dir already is a
 * mount point), PETRI_ERR_NOTFOUND (no image), or PETRI_ERR_IO.
 */
int disk_mount(const char *image, const char *dir) PETRI_WUR;

/*
 * Unmounts dir (lazily, so a last open file cannot keep it busy); the loop
 * device clears itself.  Returns 0 (also when nothing is mounted there) or
 * PETRI_ERR_IO.
 */
int disk_umount(const char *dir) PETRI_WUR;

/* Returns 1 when dir is a mount point, 0 when not, a PETRI_ERR_* else. */
int disk_is_mounted(const char *dir);

#endif /* PETRI_DISK_H */
