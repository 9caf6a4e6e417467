/* notify.c: systemd readiness notification (notify.h). */
#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"
#include "util.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_len; /* 0: no socket */

void
notify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	size_t n;

	notify_len = 0;
	if (s == NULL)
		return;
	n = strlen(s);
	/* a path, or "@name" in the abstract namespace */
	if ((s[0] == '/' || s[0] == '@') && n >= 2 &&
	    n < sizeof(notify_addr.sun_path)) {
		memset(&notify_addr, 0, sizeof(notify_addr));
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, s, n);
		if (s[0] == '@')
			notify_addr.sun_path[0] = '\0';
		notify_len =
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
		        (s[0] == '/' ? 1 : 0));
	}
	unsetenv("NOTIFY_SOCKET");
}

int
notify_send(const char *state)
{
	ssize_t n;
	int fd;

	if (notify_len == 0)
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return PETRI_ERR_IO;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (const struct sockaddr *)&notify_addr, notify_len);
	close(fd);
	return n == (ssize_t)strlen(state) ? 0 : PETRI_ERR_IO;
}
