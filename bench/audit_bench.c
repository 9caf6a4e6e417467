/*
 * audit_bench.c: audit log throughput.
 *
 *   1. durable appends (SQLite WAL, synchronous=FULL) without group commit
 *      (each append commits alone under the lock) and with it, for 1..64
 *      appending threads;
 *   2. a log of --records records (default 1,000,000): build it, reopen it
 *      (tree rebuilt from the leaves), export it, then verify the bundle
 *      as petri-verify does, with every signature checked and with --fast.
 *
 * usage: audit_bench [--records N] [--dir DIR] [--threads N] [--keep]
 *
 * Prints one JSON object of figures on stdout and a table on stderr.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit_log.h"
#include "log.h"
#include "util.h"
#include "verify.h"

#define BENCH_ORIGIN "bench.petri/log"

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system, all threads) used so far. */
static double
bench_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double g_cpu; /* CPU seconds of the last measurement */
static json_t *g_out; /* the figures, printed as JSON on stdout */

static int
bench_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes scratch data made by this program. */
static void
bench_rmtree(const char *dir)
{
	(void)nftw(dir, bench_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A realistic exec.finished event (about 700 bytes as a record). */
static json_t *
bench_event(uint64_t i, const char *blob_sha)
{
	json_t *ev;

	ev = json_pack(
	    "{s:s, s:{s:s, s:s}, s:s, s:{s:s, s:s}, s:s, s:s, "
	    "s:s, s:{s:i, s:i, s:i, s:i}, s:{s:s, s:s}, s:s, s:s, s:[s,s,s], "
	    "s:i, s:n, s:b, s:b, s:I, s:{s:I, s:I}}",
	    "tenant", "t_acme", "actor", "key", "key_7hq2m4xk3v5zt6b7n8c9d0fa",
	    "role", "developer", "source_ip", "10.20.30.40", "appliance",
	    "host", "petri-01", "version", "0.1.0", "sandbox",
	    "sb_4kq2m4xk3v5zt6b7n8c9d0fa", "image",
	    "sha256:"
	    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	    "runtime", "runc", "limits", "memory_mb", 512, "cpus", 1, "pids",
	    256, "timeout_ms", 30000, "policy", "name", "default", "sha256",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "command", "python main.py", "cwd", "/sandbox", "env", "PATH",
	    "HOME", "LANG", "exit_code", (int)(i % 3), "signal", "timed_out", 0,
	    "oom_killed", 0, "duration_ms", (json_int_t)(40 + i % 100), "usage",
	    "cpu_ms", (json_int_t)(i % 1000), "max_rss_kb", (json_int_t)20480);
	if (ev != NULL && blob_sha != NULL)
		json_object_set_new(
		    ev, "stdout", audit_blob_ref_new(blob_sha, 12));
	return ev;
}

struct bench_worker {
	struct audit_log *log;
	uint64_t n, base;
	const char *sha;
	int fails;
};

static void *
bench_append_run(void *arg)
{
	struct bench_worker *w = arg;
	uint64_t i;

	for (i = 0; i < w->n; i++) {
		json_t *ev = bench_event(
		    w->base + i, (w->base + i) % 10 == 0 ? w->sha : NULL);

		if (ev == NULL ||
		    audit_log_append(w->log, "exec.finished", ev, NULL) != 0)
			w->fails++;
		json_decref(ev);
	}
	return NULL;
}

/* Appends total records from nthreads threads; returns records/s. */
static double
bench_append(
    struct audit_log *log, int nthreads, uint64_t total, const char *sha)
{
	struct bench_worker *w;
	pthread_t *tid;
	double t0, t;
	int i, fails = 0;

	w = calloc((size_t)nthreads, sizeof(*w));
	tid = calloc((size_t)nthreads, sizeof(*tid));
	if (w == NULL || tid == NULL)
		fatal("out of memory");
	g_cpu = bench_cpu();
	t0 = bench_now();
	for (i = 0; i < nthreads; i++) {
		w[i].log = log;
		w[i].n = total / (uint64_t)nthreads;
		w[i].base = (uint64_t)i * w[i].n;
		w[i].sha = sha;
		if (pthread_create(&tid[i], NULL, bench_append_run, &w[i]) != 0)
			fatal("pthread_create");
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		fails += w[i].fails;
	}
	t = bench_now() - t0;
	g_cpu = bench_cpu() - g_cpu;
	if (fails != 0)
		fatal("%d appends failed", fails);
	free(w);
	free(tid);
	return (double)(total / (uint64_t)nthreads * (uint64_t)nthreads) / t;
}

static double
bench_one_mode(const char *base, int group, int nthreads, uint64_t total)
{
	struct audit_log *log = NULL;
	char dir[PATH_MAX], sha[PETRI_SHA256_HEX];
	double rate;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/append-%d-%d", base, group,
	        nthreads) >= sizeof(dir))
		fatal("path too long");
	bench_rmtree(dir);
	if (audit_log_open(dir, BENCH_ORIGIN, &log) != 0)
		fatal("cannot open %s", dir);
	audit_log_set_group_commit(log, group);
	if (audit_log_blob_put(log, "hello world\n", 12, sha) != 0)
		fatal("blob");
	rate = bench_append(log, nthreads, total, sha);
	audit_log_close(log);
	bench_rmtree(dir);
	return rate;
}

static void
bench_verify(const char *bundle, const struct audit_key *k, int fast,
    int threads, uint64_t n)
{
	struct audit_verify_opts o;
	struct audit_verify_result res;
	double t0, t;

	memset(&o, 0, sizeof(o));
	o.key = *k;
	o.fast = fast;
	o.threads = threads;
	g_cpu = bench_cpu();
	t0 = bench_now();
	if (audit_verify_file(bundle, &o, &res) != 0)
		fatal("verify failed to run");
	t = bench_now() - t0;
	g_cpu = bench_cpu() - g_cpu;
	if (res.status != AUDIT_VERIFY_OK || res.records != n)
		fatal("verify: status %d, %s", res.status, res.first.msg);
	fprintf(stderr,
	    "  verify %-18s %9.0f records/s  %9.0f per CPU-s  (%.1f s, "
	    "%llu signatures checked)\n",
	    fast ? "(--fast)" : "(all signatures)", (double)n / t,
	    (double)n / g_cpu, t, (unsigned long long)res.sigs_checked);
	json_object_set_new(g_out, fast ? "verify_fast" : "verify",
	    json_pack("{s:f, s:f, s:f, s:I}", "records_per_s", (double)n / t,
	        "records_per_cpu_s", (double)n / g_cpu, "seconds", t,
	        "signatures_checked", (json_int_t)res.sigs_checked));
	audit_verify_result_free(&res);
}

int
main(int argc, char **argv)
{
	static const int threads[] = {1, 4, 16, 64};
	struct audit_log *log = NULL;
	struct audit_key key;
	struct audit_export_info info;
	struct stat st;
	char base[PATH_MAX], dir[PATH_MAX], bundle[PATH_MAX];
	char sha[PETRI_SHA256_HEX];
	long long records = 1000000, vthreads = 0;
	const char *where = NULL;
	double t0, t;
	size_t i;
	int keep = 0;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--records") == 0 && i + 1 < (size_t)argc) {
			if (petri_strtonum(
			        argv[++i], 1000, 100000000, &records) != 0)
				fatal("--records: 1000..100000000");
		} else if (strcmp(argv[i], "--threads") == 0 &&
		    i + 1 < (size_t)argc) {
			if (petri_strtonum(argv[++i], 1, 64, &vthreads) != 0)
				fatal("--threads: 1..64");
		} else if (strcmp(argv[i], "--dir") == 0 &&
		    i + 1 < (size_t)argc)
			where = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = 1;
		else
			fatal("usage: audit_bench [--records N] [--dir DIR] "
			      "[--threads N] [--keep]");
	}
	if (sodium_init() < 0)
		fatal("libsodium");
	log_init("audit_bench", 0);
	setvbuf(stderr, NULL, _IOLBF, 0);
	g_out = json_pack("{s:s, s:i, s:[], s:{s:i, s:i}}", "bench", "audit",
	    "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN), "append", "targets",
	    "append_group_records_per_s", 10000, "verify_records_per_s",
	    100000);
	if (g_out == NULL)
		fatal("out of memory");
	if (where != NULL)
		petri_strlcpy(base, where, sizeof(base));
	else {
		snprintf(base, sizeof(base), "/tmp/petri-audit-bench-XXXXXX");
		if (mkdtemp(base) == NULL)
			fatal("mkdtemp");
	}
	{
		double la[3] = {0, 0, 0};

		(void)getloadavg(la, 3);
		json_object_set_new(g_out, "load_average", json_real(la[0]));
		fprintf(stderr,
		    "audit log benchmark (%ld CPUs, load average %.1f, data in "
		    "%s)\n",
		    sysconf(_SC_NPROCESSORS_ONLN), la[0], base);
	}

	fprintf(stderr,
	    "durable appends (WAL, synchronous=FULL), ~700-byte records:\n");
	for (i = 0; i < 2 * sizeof(threads) / sizeof(threads[0]); i++) {
		int group = i >= sizeof(threads) / sizeof(threads[0]);
		int nt = threads[i % (sizeof(threads) / sizeof(threads[0]))];
		uint64_t n = nt == 1 ? 2000 : group ? 40000 : 4000;
		double r = bench_one_mode(base, group, nt, n);

		fprintf(stderr,
		    "  %s commit %2d thread(s)  %9.0f records/s  %9.0f per "
		    "CPU-s\n",
		    group ? "group " : "serial", nt, r, (double)n / g_cpu);
		json_array_append_new(json_object_get(g_out, "append"),
		    json_pack("{s:s, s:i, s:I, s:f, s:f}", "commit",
		        group ? "group" : "serial", "threads", nt, "records",
		        (json_int_t)n, "records_per_s", r, "records_per_cpu_s",
		        (double)n / g_cpu));
	}

	fprintf(stderr, "a log of %lld records:\n", records);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/big", base) >= sizeof(dir) ||
	    (size_t)snprintf(bundle, sizeof(bundle), "%s/big.tar", base) >=
	        sizeof(bundle))
		fatal("path too long");
	bench_rmtree(dir);
	if (audit_log_open(dir, BENCH_ORIGIN, &log) != 0)
		fatal("open");
	if (audit_log_public_key(log, &key) != 0 ||
	    audit_log_blob_put(log, "hello world\n", 12, sha) != 0)
		fatal("setup");
	{
		double r = bench_append(log, 64, (uint64_t)records - 1, sha);

		fprintf(stderr,
		    "  build (group commit, 64 threads) %9.0f records/s  "
		    "%9.0f per CPU-s\n",
		    r, (double)(records - 1) / g_cpu);
		json_object_set_new(g_out, "build",
		    json_pack("{s:I, s:f, s:f}", "records", (json_int_t)records,
		        "records_per_s", r, "records_per_cpu_s",
		        (double)(records - 1) / g_cpu));
	}
	audit_log_close(log);
	t0 = bench_now();
	if (audit_log_open(dir, NULL, &log) != 0)
		fatal("reopen");
	t = bench_now() - t0;
	fprintf(stderr, "  reopen (tree rebuilt from leaves)  %.2f s\n", t);
	json_object_set_new(g_out, "reopen_seconds", json_real(t));
	t0 = bench_now();
	if (audit_log_export(log, 0, 0, bundle, &info) != 0)
		fatal("export");
	t = bench_now() - t0;
	if (stat(bundle, &st) != 0)
		fatal("stat");
	fprintf(stderr,
	    "  export  %9.0f records/s  (%.2f s, %.0f MB bundle, %zu "
	    "checkpoints)\n",
	    (double)info.to / t, t, (double)st.st_size / 1e6, info.checkpoints);
	json_object_set_new(g_out, "export",
	    json_pack("{s:f, s:f, s:I}", "records_per_s", (double)info.to / t,
	        "seconds", t, "bundle_bytes", (json_int_t)st.st_size));
	audit_log_close(log);
	bench_verify(bundle, &key, 0, (int)vthreads, info.to);
	bench_verify(bundle, &key, 1, (int)vthreads, info.to);
	{
		char *doc = json_dumps(g_out, JSON_COMPACT);

		if (doc == NULL)
			fatal("out of memory");
		puts(doc);
		free(doc);
		json_decref(g_out);
	}
	if (!keep)
		bench_rmtree(base);
	else
		fprintf(stderr, "kept %s (bundle %s, key %s/keys/log.pub)\n",
		    base, bundle, dir);
	return 0;
}
