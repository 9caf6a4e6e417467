/* datadir.c: the data directory's lock (datadir.h). */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "datadir.h"
#include "util.h"

int
datadir_lock(const char *dir, int *fdp)
{
	char path[PATH_MAX];
	int fd;

	*fdp = -1;
	if (petri_path_join(path, sizeof(path), dir, DATADIR_LOCK_NAME) != 0)
		return PETRI_ERR_INVAL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return PETRI_ERR_IO;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(fd);
		return e == EWOULDBLOCK ? PETRI_ERR_STATE : PETRI_ERR_IO;
	}
	*fdp = fd;
	return 0;
}
