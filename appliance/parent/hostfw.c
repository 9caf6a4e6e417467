/* hostfw.c: the host's INPUT rules for the sandbox bridge (hostfw.h). */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "hostfw.h"
#include "log.h"

#define HOSTFW_IPTABLES "/usr/sbin/iptables"

int
hostfw_ifname_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 15)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= 'A' && s[i] <= 'Z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		        s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

/* Runs iptables with args (after "-w"); returns its exit status or -1. */
static int
iptables(const char *const *args, size_t n)
{
	char *argv[24];
	char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	size_t i;
	int st;

	if (n + 3 > sizeof(argv) / sizeof(argv[0]))
		return -1;
	argv[0] = HOSTFW_IPTABLES;
	argv[1] = "-w";
	for (i = 0; i < n; i++)
		argv[2 + i] = (char *)(uintptr_t)args[i];
	argv[2 + n] = NULL;
	/* "-C" of a rule that is not there complains: quietly */
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (posix_spawn_file_actions_addopen(
	        &fa, 2, "/dev/null", O_WRONLY, 0) != 0 ||
	    posix_spawn(&pid, HOSTFW_IPTABLES, &fa, NULL, argv, envp) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Adds rule at the head of INPUT unless it is there; 0 or -1. */
static int
ensure(const char *const *rule, size_t n)
{
	const char *args[20];
	size_t i;

	if (n + 2 > sizeof(args) / sizeof(args[0]))
		return -1;
	args[0] = "-C";
	args[1] = "INPUT";
	for (i = 0; i < n; i++)
		args[2 + i] = rule[i];
	if (iptables(args, n + 2) == 0)
		return 0;
	/* "-I INPUT 1 rule...": the accept goes in last, so it ends first */
	{
		const char *ins[21];

		ins[0] = "-I";
		ins[1] = "INPUT";
		ins[2] = "1";
		for (i = 0; i < n; i++)
			ins[3 + i] = rule[i];
		return iptables(ins, n + 3) == 0 ? 0 : -1;
	}
}

int
hostfw_sandbox_input(const char *bridge, const char *gw, int port)
{
	struct addr a;
	char p[8];

	if (!hostfw_ifname_valid(bridge) ||
	    addr_parse(gw, strlen(gw), &a) != 0 || a.family != ADDR_V4 ||
	    port < 1 || port > 65535)
		return PETRI_ERR_INVAL;
	snprintf(p, sizeof(p), "%d", port);
	{
		const char *const drop[] = {"-i", bridge, "-j", "DROP"};
		const char *const accept[] = {"-i", bridge, "-d", gw, "-p",
		    "tcp", "--dport", p, "-j", "ACCEPT"};
		/* answers on connections the host opened into the network
		 * (the preview gateway): a container cannot open one itself,
		 * its first packet meets the drop */
		const char *const answers[] = {"-i", bridge, "-m", "conntrack",
		    "--ctstate", "ESTABLISHED", "-j", "ACCEPT"};

		if (ensure(drop, 4) != 0 || ensure(accept, 10) != 0 ||
		    ensure(answers, 8) != 0) {
			log_warn(
			    "iptables: cannot close the host to %s", bridge);
			return PETRI_ERR_IO;
		}
	}
	log_info("host closed to %s but for the proxy at %s:%d and answers "
	         "to the preview gateway",
	    bridge, gw, port);
	return 0;
}
