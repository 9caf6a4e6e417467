/* priv.c: privilege drop and signal set-up of the child processes. */
#include <sys/prctl.h>
#include <sys/types.h>

#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "procs.h"

int
priv_drop(const char *user, const char *extra_group)
{
	struct passwd *pw;
	struct group *gr;
	gid_t groups[2];
	size_t ngroups = 0;

	if (geteuid() == 0) {
		if ((pw = getpwnam(user)) == NULL) {
			log_warn(
			    "user %s does not exist (run packaging/setup.sh)",
			    user);
			return PETRI_ERR_PERM;
		}
		groups[ngroups++] = pw->pw_gid;
		if (extra_group != NULL) {
			if ((gr = getgrnam(extra_group)) == NULL) {
				log_warn(
				    "group %s does not exist", extra_group);
				return PETRI_ERR_PERM;
			}
			groups[ngroups++] = gr->gr_gid;
		}
		if (setgroups(ngroups, groups) != 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
			return PETRI_ERR_PERM;
		/* the drop must stick */
		if (setuid(0) == 0 || geteuid() != pw->pw_uid)
			return PETRI_ERR_PERM;
		/* credentials changed: the parent-death signal was cleared */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
			return PETRI_ERR_PERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return PETRI_ERR_PERM;
	return 0;
}

void
proc_signals_block(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void
proc_wait_term(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		if (sigwait(&set, &sig) == 0 &&
		    (sig == SIGTERM || sig == SIGINT))
			return;
	}
}
