/* disk.c: per-sandbox workspace file systems on loop devices. */
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <linux/loop.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "disk.h"

#define DISK_MKFS "/usr/sbin/mkfs.ext4"
#define DISK_LOOP_TRIES 16

int
disk_create(const char *image, int size_mb, uid_t uid, gid_t gid)
{
	char opts[128];
	char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	pid_t pid;
	int fd, st, r = PETRI_ERR_IO;

	if (size_mb <= 0)
		return PETRI_ERR_INVAL;
	if ((fd = open(image,
	         O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return errno == EEXIST ? PETRI_ERR_EXISTS : PETRI_ERR_IO;
	if (ftruncate(fd, (off_t)size_mb << 20) != 0) {
		close(fd);
		goto out;
	}
	close(fd);
	snprintf(opts, sizeof(opts), "root_owner=%u:%u,nodiscard",
	    (unsigned)uid, (unsigned)gid);
	{
		char *const argv[] = {DISK_MKFS, "-q", "-F", "-m", "0", "-E",
		    opts, (char *)image, NULL};

		if (posix_spawn(&pid, DISK_MKFS, NULL, NULL, argv, envp) != 0)
			goto out;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			goto out;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		r = 0;
	else
		log_warn("mkfs.ext4 failed on %s", image);
out:
	if (r != 0)
		unlink(image);
	return r;
}

int
disk_is_mounted(const char *dir)
{
	struct stat a, b;
	char parent[PATH_MAX];

	if (petri_path_join(parent, sizeof(parent), dir, "..") != 0)
		return PETRI_ERR_TOOBIG;
	if (lstat(dir, &a) != 0 || stat(parent, &b) != 0)
		return errno == ENOENT ? 0 : PETRI_ERR_IO;
	return a.st_dev != b.st_dev;
}

/* Opens /dev/loopN, creating the node when the host has none yet. */
static int
disk_loop_open(int n)
{
	char dev[64];
	int fd;

	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	if ((fd = open(dev, O_RDWR | O_CLOEXEC)) >= 0 || errno != ENOENT)
		return fd;
	if (mknod(dev, S_IFBLK | 0600, makedev(7, (unsigned)n)) != 0 &&
	    errno != EEXIST)
		return -1;
	return open(dev, O_RDWR | O_CLOEXEC);
}

int
disk_mount(const char *image, const char *dir)
{
	struct loop_config lc;
	char dev[64], target[64];
	int ctl = -1, img = -1, loop = -1, dfd = -1, n, tries;
	int r = PETRI_ERR_IO;

	if ((r = disk_is_mounted(dir)) == 1)
		return 0;
	r = PETRI_ERR_IO;
	if ((img = open(image, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? PETRI_ERR_NOTFOUND : PETRI_ERR_IO;
	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0)
		goto out;
	for (tries = 0; tries < DISK_LOOP_TRIES; tries++) {
		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
			goto out;
		if ((loop = disk_loop_open(n)) < 0)
			goto out;
		memset(&lc, 0, sizeof(lc));
		lc.fd = (unsigned int)img;
		lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (ioctl(loop, LOOP_CONFIGURE, &lc) == 0)
			break;
		close(loop);
		loop = -1;
		if (errno != EBUSY)
			goto out;
	}
	if (loop < 0)
		goto out;
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	/*
	 * The directory lives where the ws worker (the sandbox uid) can
	 * rename things: mount on the directory opened without following a
	 * link, never on a path it could swap for a symbolic link.
	 */
	if ((dfd = open(dir, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		ioctl(loop, LOOP_CLR_FD, 0);
		goto out;
	}
	snprintf(target, sizeof(target), "/proc/self/fd/%d", dfd);
	if (mount(dev, target, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, "") !=
	    0) {
		log_warn("mount %s on %s: %s", dev, dir, strerror(errno));
		ioctl(loop, LOOP_CLR_FD, 0);
		goto out;
	}
	r = 0;
out:
	if (loop >= 0)
		close(loop);
	if (dfd >= 0)
		close(dfd);
	if (ctl >= 0)
		close(ctl);
	close(img);
	return r;
}

int
disk_umount(const char *dir)
{
	int m = disk_is_mounted(dir);

	if (m <= 0)
		return m == 0 ? 0 : PETRI_ERR_IO;
	if (umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
		log_warn("umount %s: %s", dir, strerror(errno));
		return PETRI_ERR_IO;
	}
	return 0;
}
