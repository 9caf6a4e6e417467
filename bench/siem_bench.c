/*
 * siem_bench.c: SIEM export throughput and its effect on appends.
 *
 *   1. fills a fresh audit log (audit_log_append, 8 threads, group commit)
 *      with a backlog of exec.finished-like records;
 *   2. starts rsyslogd on 127.0.0.1 with TLS (a test CA made with the
 *      openssl CLI in a scratch directory, its own configuration, work
 *      directory and pid file) writing every message to a file;
 *   3. starts a syslog/TLS sink on the log (siem_open) and times until the
 *      last record of the backlog is in rsyslog's output file;
 *   4. measures the append rate in three interleaved rounds each: without
 *      a sink, with the sink following the log live, and with a second
 *      sink reading the whole log from seq 0 at the same time (medians
 *      and every round are printed: the machine may be shared).
 *
 * Usage: siem_bench [-n BACKLOG] [-a APPENDS] [-f json|cef|ocsf|ecs]
 *                   [-r RECEIVER_NICE]
 * (-r runs rsyslogd at that nice value, as if it were on another host.)
 * Prints one JSON document of figures.  Everything runs on loopback; the
 * scratch directory and rsyslogd are removed/stopped at the end.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit_log.h"
#include "log.h"
#include "siem.h"
#include "util.h"

#define THREADS 8
#define LAT_N 400 /* sequential appends per latency sample */
#define RSYSLOGD "/usr/sbin/rsyslogd"
#define OPENSSL "/usr/bin/openssl"

static char scratch[PATH_MAX];
static pid_t rsyslog_pid = -1;
static int receiver_nice = 0;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "siem_bench: %s\n", what);
	if (rsyslog_pid > 0)
		kill(rsyslog_pid, SIGTERM);
	exit(1);
}

/* Runs argv (no shell) and waits; dies unless it exits 0. */
static void
run(char *const argv[])
{
	pid_t pid;
	int st, fd;

	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "siem_bench: %s failed\n", argv[0]);
		die("a helper failed");
	}
}

static void
path(char *out, const char *name)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", scratch, name) >= PATH_MAX)
		die("path too long");
}

static void
write_file(const char *name, const char *text)
{
	char p[PATH_MAX];

	path(p, name);
	if (petri_file_write_atomic(p, text, strlen(text), 0644) != 0)
		die("cannot write a file");
}

/* A CA and a server certificate for 127.0.0.1 (EC P-256). */
static void
make_pki(void)
{
	char ca[PATH_MAX], cakey[PATH_MAX], key[PATH_MAX], csr[PATH_MAX];
	char crt[PATH_MAX], ext[PATH_MAX];

	path(ca, "ca.pem");
	path(cakey, "ca.key");
	path(key, "server.key");
	path(csr, "server.csr");
	path(crt, "server.pem");
	path(ext, "server.ext");
	write_file("server.ext",
	    "subjectAltName=IP:127.0.0.1\n"
	    "extendedKeyUsage=serverAuth\n");
	{
		char *const a[] = {OPENSSL, "req", "-x509", "-newkey", "ec",
		    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		    "-keyout", cakey, "-out", ca, "-days", "1", "-subj",
		    "/CN=siem bench CA", "-addext",
		    "basicConstraints=critical,CA:TRUE", NULL};
		run(a);
	}
	{
		char *const a[] = {OPENSSL, "req", "-newkey", "ec", "-pkeyopt",
		    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
		    "-out", csr, "-subj", "/CN=127.0.0.1", NULL};
		run(a);
	}
	{
		char *const a[] = {OPENSSL, "x509", "-req", "-in", csr, "-CA",
		    ca, "-CAkey", cakey, "-CAcreateserial", "-out", crt,
		    "-days", "1", "-extfile", ext, NULL};
		run(a);
	}
}

/* A loopback port nothing listens on (the kernel's pick). */
static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		die("cannot pick a port");
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void
start_rsyslog(int port)
{
	char conf[PATH_MAX], pid[PATH_MAX], work[PATH_MAX];
	char text[5 * PATH_MAX + 1024];
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], out[PATH_MAX];
	int i, n;

	path(conf, "rsyslog.conf");
	path(pid, "rsyslogd.pid");
	path(work, "work");
	path(ca, "ca.pem");
	path(crt, "server.pem");
	path(key, "server.key");
	path(out, "out.log");
	if (mkdir(work, 0700) != 0)
		die("mkdir work");
	n = snprintf(text, sizeof(text),
	    "global(workDirectory=\"%s\" maxMessageSize=\"256k\"\n"
	    "  defaultNetstreamDriver=\"gtls\"\n"
	    "  defaultNetstreamDriverCAFile=\"%s\"\n"
	    "  defaultNetstreamDriverCertFile=\"%s\"\n"
	    "  defaultNetstreamDriverKeyFile=\"%s\")\n"
	    "module(load=\"imtcp\" streamDriver.name=\"gtls\" "
	    "streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n"
	    "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n"
	    "template(name=\"raw\" type=\"string\" string=\"%%rawmsg%%\\n\")\n"
	    "if $app-name == \"petri\" then {\n"
	    "  action(type=\"omfile\" file=\"%s\" template=\"raw\")\n"
	    "  stop\n}\n",
	    work, ca, crt, key, port, out);
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    petri_file_write_atomic(conf, text, (size_t)n, 0644) != 0)
		die("cannot write rsyslog.conf");
	if ((rsyslog_pid = fork()) < 0)
		die("fork");
	if (rsyslog_pid == 0) {
		char *const a[] = {RSYSLOGD, "-n", "-f", conf, "-i", pid, NULL};
		int fd;

		/* it must not outlive the benchmark, even a crashed one */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
			_exit(127);
		/* the receiver is normally another machine: let the
		 * appenders have the CPU first (see -r) */
		if (receiver_nice != 0 &&
		    setpriority(PRIO_PROCESS, 0, receiver_nice) != 0)
			_exit(127);

		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(a[0], a);
		_exit(127);
	}
	/* wait until it listens: a connection is accepted */
	for (i = 0; i < 200; i++) {
		struct sockaddr_in sa;
		int fd;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			die("socket");
		n = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (n == 0)
			return;
		usleep(50000);
	}
	die("rsyslogd does not listen");
}

/*
 * Has the record seq reached rsyslog's output file?  Records arrive in
 * order, so it is enough to find it in the file's tail.
 */
static int
arrived(int *fd, uint64_t seq)
{
	char buf[1 << 16], p[PATH_MAX], needle[64];
	struct stat st;
	off_t off;
	ssize_t n;

	if (*fd < 0) {
		path(p, "out.log");
		if ((*fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
			return 0;
	}
	if (fstat(*fd, &st) != 0)
		return 0;
	off = st.st_size > (off_t)sizeof(buf) - 1
	    ? st.st_size - (off_t)sizeof(buf) + 1
	    : 0;
	if ((n = pread(*fd, buf, sizeof(buf) - 1, off)) <= 0)
		return 0;
	buf[n] = '\0';
	snprintf(
	    needle, sizeof(needle), "seq=\"%llu\"", (unsigned long long)seq);
	return strstr(buf, needle) != NULL;
}

/* Are all sinks of s past the log's end (every batch confirmed)? */
static int
caught_up(struct siem *s, struct audit_log *log)
{
	json_t *a = siem_status(s), *x;
	size_t i;
	int ok = a != NULL;

	json_array_foreach (a, i, x)
		if (json_integer_value(json_object_get(x, "cursor")) !=
		    (json_int_t)audit_log_size(log))
			ok = 0;
	json_decref(a);
	return ok;
}

static int cmp_double(const void *a, const void *b);

/* --- appends ---------------------------------------------------------------- */

struct appender {
	struct audit_log *log;
	int n;
	int id;
};

static json_t *
event_new(int id, int i)
{
	char cmd[128], sb[64], ex[64];

	snprintf(cmd, sizeof(cmd), "python3 -c 'print(%d)'", i);
	snprintf(sb, sizeof(sb), "sb_bench%016d", id);
	snprintf(ex, sizeof(ex), "ex_bench%08d%08d", id, i);
	return json_pack("{s:s, s:{s:s, s:s}, s:s, s:{s:s, s:s}, s:s, s:s,"
	                 " s:s, s:s, s:{s:i, s:f, s:i}, s:s, s:{s:s, s:s},"
	                 " s:[s, s, s], s:s, s:i, s:n, s:b, s:b, s:i,"
	                 " s:{s:s, s:i, s:b}, s:[]}",
	    "tenant", "default", "actor", "key",
	    "key_benchbenchbenchbenchbench", "role", "agent", "source_ip",
	    "127.0.0.1", "appliance", "instance", "0123456789abcdef", "version",
	    "0.1.0", "sandbox", sb, "language", "python", "image",
	    "petri/python:current", "runtime", "runc", "limits", "memory_mb",
	    512, "cpus", 1.0, "pids", 256, "cwd", "/sandbox", "prompt", "text",
	    "print a number for the benchmark", "sha256",
	    "3cad3da3dbbe1c106b3219f6c278a565f411cee74f0848956aff65d3df4846a7",
	    "argv", "/bin/sh", "-c", cmd, "exec", ex, "exit_code", 0, "signal",
	    "timed_out", 0, "oom_killed", 0, "duration_ms", 80 + i % 40,
	    "stdout_info", "sha256",
	    "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
	    "size", 6, "truncated", 0, "network");
}

static void *
appender_main(void *arg)
{
	struct appender *a = arg;
	json_t *ev;
	int i;

	for (i = 0; i < a->n; i++) {
		ev = event_new(a->id, i);
		if (ev == NULL ||
		    audit_log_append(a->log, "exec.finished", ev, NULL) != 0)
			die("append failed");
		json_decref(ev);
	}
	return NULL;
}

/* Appends n records with THREADS threads; returns records per second. */
static double
append_n(struct audit_log *log, int n)
{
	struct appender a[THREADS];
	pthread_t t[THREADS];
	double t0 = now_s();
	int i;

	for (i = 0; i < THREADS; i++) {
		a[i].log = log;
		a[i].n = n / THREADS + (i < n % THREADS ? 1 : 0);
		a[i].id = (int)randombytes_uniform(1000000);
		if (pthread_create(&t[i], NULL, appender_main, &a[i]) != 0)
			die("pthread_create");
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return n / (now_s() - t0);
}

/* Latency of n appends one after the other (as executions do), in ms. */
static void
append_latency(struct audit_log *log, int n, double *p50, double *p99)
{
	double *t;
	json_t *ev;
	int i;

	if ((t = calloc((size_t)n, sizeof(*t))) == NULL)
		die("out of memory");
	for (i = 0; i < n; i++) {
		double t0 = now_s();

		if ((ev = event_new(7, i)) == NULL ||
		    audit_log_append(log, "exec.finished", ev, NULL) != 0)
			die("append failed");
		json_decref(ev);
		t[i] = (now_s() - t0) * 1000.0;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	*p50 = t[n / 2];
	*p99 = t[(n * 99) / 100];
	free(t);
}

static struct siem *
sink_start(struct audit_log *log, const char *name, int port,
    const char *format, int batch_events, size_t batch_bytes)
{
	struct siem *s = NULL;
	char addr[64], ca[PATH_MAX], err[512];
	json_t *cfg;

	path(ca, "ca.pem");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	cfg = json_pack("[{s:s, s:s, s:s, s:b, s:s, s:s, s:i, s:I}]", "name",
	    name, "type", "syslog", "address", addr, "tls", 1, "ca_file", ca,
	    "format", format, "batch_events", batch_events, "batch_bytes",
	    (json_int_t)batch_bytes);
	if (cfg == NULL ||
	    siem_open(cfg, log, scratch, "petri/bench", &s, err, sizeof(err)) !=
	        0) {
		fprintf(stderr, "siem_bench: %s\n", err);
		die("cannot start the sink");
	}
	json_decref(cfg);
	return s;
}

static void
rmtree(const char *dir)
{
	char *const a[] = {"/bin/rm", "-rf", (char *)dir, NULL};

	run(a);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median3(const double v[3])
{
	double t[3];

	memcpy(t, v, sizeof(t));
	qsort(t, 3, sizeof(t[0]), cmp_double);
	return t[1];
}

int
main(int argc, char **argv)
{
	struct audit_log *log = NULL;
	struct siem *s1, *s2;
	const char *format = "json";
	char logdir[PATH_MAX], name[32];
	long long backlog = 100000, appends = 10000, want, v;
	double fill, t0, deliver, none[3], live[3], replay[3];
	double lat[3][2][3]; /* [none, live, replay][p50, p99][round] */
	int fd = -1, port, c, st, i;

	while ((c = getopt(argc, argv, "n:a:f:r:")) != -1) {
		switch (c) {
		case 'n':
			if (petri_strtonum(optarg, 1000, 10000000, &backlog) !=
			    0)
				die("-n: 1000..10000000");
			break;
		case 'a':
			if (petri_strtonum(optarg, 1000, 1000000, &appends) !=
			    0)
				die("-a: 1000..1000000");
			break;
		case 'f':
			format = optarg;
			break;
		case 'r':
			if (petri_strtonum(optarg, 0, 19, &v) != 0)
				die("-r: 0..19");
			receiver_nice = (int)v;
			break;
		default:
			die("usage: siem_bench [-n BACKLOG] [-a APPENDS] "
			    "[-f FORMAT] [-r RECEIVER_NICE]");
		}
	}
	if (sodium_init() < 0)
		die("sodium_init");
	signal(SIGPIPE, SIG_IGN);
	log_init("siem_bench", 0);
	snprintf(scratch, sizeof(scratch), "/tmp/petri-siem-bench-XXXXXX");
	if (mkdtemp(scratch) == NULL)
		die("mkdtemp");
	path(logdir, "log");
	make_pki();
	port = free_port();
	start_rsyslog(port);
	if (audit_log_open(logdir, "petri/bench", &log) != 0)
		die("cannot open the log");

	/* the backlog */
	fill = append_n(log, (int)backlog);
	want = (long long)audit_log_size(log); /* + log.started */

	/* delivery of the whole backlog over TLS, until rsyslog wrote it */
	t0 = now_s();
	s1 = sink_start(log, "soc", port, format, 1000, 4UL << 20);
	while (!arrived(&fd, (uint64_t)want - 1)) {
		if (now_s() - t0 > 600)
			die("delivery timed out");
		usleep(1000);
	}
	deliver = (double)want / (now_s() - t0);
	siem_close(s1);

	/*
	 * Append rates, interleaved rounds (the machine may be busy): no
	 * sink; the sink following the log live; a second sink reading the
	 * whole log from seq 0 at the same time (the heaviest a sink reads).
	 */
	for (i = 0; i < 3; i++) {
		none[i] = append_n(log, (int)appends);
		append_latency(log, LAT_N, &lat[0][0][i], &lat[0][1][i]);

		s1 = sink_start(log, "soc", port, format, 1000, 4UL << 20);
		live[i] = append_n(log, (int)appends);
		append_latency(log, LAT_N, &lat[1][0][i], &lat[1][1][i]);
		while (!caught_up(s1, log))
			usleep(2000);
		siem_close(s1);

		snprintf(name, sizeof(name), "replay%d", i);
		s2 = sink_start(log, name, port, format, 500, 1UL << 20);
		replay[i] = append_n(log, (int)appends);
		append_latency(log, LAT_N, &lat[2][0][i], &lat[2][1][i]);
		siem_close(s2);
	}

	printf("{\"bench\": \"siem\", \"format\": \"%s\", \"transport\": "
	       "\"syslog over TLS to rsyslogd (gtls, omfile)\","
	       " \"receiver_nice\": %d,\n"
	       " \"backlog_records\": %lld, \"delivered_events_per_s\": %.0f,"
	       " \"target_events_per_s\": 20000, \"target_met\": %s,\n"
	       " \"append_threads\": %d, \"append_per_s_fill\": %.0f,\n"
	       " \"append_per_s_no_sink\": %.0f, \"append_per_s_sink_live\":"
	       " %.0f, \"append_per_s_sink_replaying\": %.0f,\n"
	       " \"rounds\": {\"no_sink\": [%.0f, %.0f, %.0f], \"sink_live\":"
	       " [%.0f, %.0f, %.0f], \"sink_replaying\": [%.0f, %.0f, %.0f]},\n"
	       " \"append_latency_ms_p50\": {\"no_sink\": %.2f, \"sink_live\": "
	       "%.2f,"
	       " \"sink_replaying\": %.2f},\n"
	       " \"append_latency_ms_p99\": {\"no_sink\": %.2f, \"sink_live\": "
	       "%.2f,"
	       " \"sink_replaying\": %.2f}}\n",
	    format, receiver_nice, backlog, deliver,
	    deliver >= 20000 ? "true" : "false", THREADS, fill, median3(none),
	    median3(live), median3(replay), none[0], none[1], none[2], live[0],
	    live[1], live[2], replay[0], replay[1], replay[2],
	    median3(lat[0][0]), median3(lat[1][0]), median3(lat[2][0]),
	    median3(lat[0][1]), median3(lat[1][1]), median3(lat[2][1]));
	if (fd >= 0)
		close(fd);
	audit_log_close(log);
	kill(rsyslog_pid, SIGTERM);
	waitpid(rsyslog_pid, &st, 0);
	rmtree(scratch);
	return 0;
}
