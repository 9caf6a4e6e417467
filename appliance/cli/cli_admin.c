/*
 * cli_admin.c: `petri admin backup` and `petri admin restore`
 * (docs/operations.md).
 *
 * A backup is a directory: instance, admin.token, api/ and keeper/ as the
 * data directory holds them, each SQLite database copied with SQLite's
 * online backup API (one read transaction: a consistent snapshot while
 * petrid writes), then every other file (keys, CA, blobs).  The databases
 * are copied first: a record names only blobs stored before it, so every
 * blob a copied record names is in the copied blobs/.
 *
 * A restore refuses to run beside a petrid (the data directory's lock),
 * stages the backup next to the data directory, checks each database,
 * opens the staged audit log (which checks its tail and newest checkpoint
 * and records the restore), exports a bundle and has petri-verify check
 * it against the checkpoint the operator holds (--checkpoint, else the
 * newest one of the log being replaced).  Only then does it move the
 * staged directories into place; what they replace is kept aside.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "audit_log.h"
#include "cli_admin.h"
#include "datadir.h"
#include "util.h"

#define ADMIN_TREE_DEPTH 6
#define ADMIN_VERIFY_OUT 8192

static int admin_fail(const char *, ...) PETRI_PRINTF(1, 2);

/* Prints "petri admin: MESSAGE" and returns the failure status, 1. */
static int
admin_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "petri admin: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

static int
admin_usage(void)
{
	fprintf(stderr,
	    "usage: petri admin backup --data-dir DATA DIR\n"
	    "       petri admin restore --data-dir DATA [--checkpoint FILE] "
	    "DIR\n"
	    "       petri admin purge-instance --data-dir DATA "
	    "[--docker-socket PATH]\n"
	    "       petri admin rotate-signing-key\n"
	    "       petri admin blob-retention --older-than-days N\n");
	return 2;
}

static int
admin_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Files of a SQLite database that are not the database itself. */
static int
admin_db_side(const char *name)
{
	return admin_ends_with(name, ".db-wal") ||
	    admin_ends_with(name, ".db-shm") ||
	    admin_ends_with(name, ".db-journal");
}

int
cli_admin_copy_file(const char *src, const char *dst)
{
	unsigned char buf[65536];
	struct stat st;
	ssize_t n;
	int in = -1, out = -1, r = PETRI_ERR_IO;

	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(in, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    st.st_mode & 07777);
	if (out < 0)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (petri_write_all(out, buf, (size_t)n) != 0)
			goto out;
	if (n < 0 || fchown(out, st.st_uid, st.st_gid) != 0 ||
	    fchmod(out, st.st_mode & 07777) != 0 || fsync(out) != 0)
		goto out;
	r = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0)
		r = PETRI_ERR_IO;
	return r;
}

/* Gives path the owner of ref (a file SQLite made as root). */
static void
admin_owner_like(const char *path, const struct stat *ref)
{
	if (lchown(path, ref->st_uid, ref->st_gid) != 0 && errno != ENOENT)
		fprintf(stderr, "petri admin: chown %s: %s\n", path,
		    strerror(errno));
}

/*
 * Copies database src to dst with the online backup API, then checks the
 * copy (PRAGMA integrity_check).  Returns 0 or PETRI_ERR_DB / _IO.
 */
static int
admin_db_copy(const char *src, const char *dst)
{
	sqlite3 *s = NULL, *d = NULL;
	sqlite3_backup *b;
	sqlite3_stmt *st = NULL;
	struct stat sst;
	char side[PATH_MAX];
	int rc, r = PETRI_ERR_DB, tries;

	if (stat(src, &sst) != 0)
		return PETRI_ERR_IO;
	if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READWRITE, NULL) !=
	        SQLITE_OK ||
	    sqlite3_open_v2(dst, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	        NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(s, 5000);
	if ((b = sqlite3_backup_init(d, "main", s, "main")) == NULL)
		goto out;
	for (tries = 0; tries < 100; tries++) {
		rc = sqlite3_backup_step(b, -1);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		sqlite3_sleep(50);
	}
	if (sqlite3_backup_finish(b) != SQLITE_OK || rc != SQLITE_DONE)
		goto out;
	if (sqlite3_prepare_v2(d, "PRAGMA integrity_check", -1, &st, NULL) !=
	        SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		goto out;
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(d);
	sqlite3_close(s);
	/* opening as root may have made side files: give them back */
	if (snprintf(side, sizeof(side), "%s-shm", src) < (int)sizeof(side))
		admin_owner_like(side, &sst);
	if (snprintf(side, sizeof(side), "%s-wal", src) < (int)sizeof(side))
		admin_owner_like(side, &sst);
	if (r == 0 &&
	    (chown(dst, sst.st_uid, sst.st_gid) != 0 ||
	        chmod(dst, sst.st_mode & 07777) != 0))
		r = PETRI_ERR_IO;
	return r;
}

/*
 * Copies the tree src to dst (created, with src's mode and owner).  dbs:
 * 1 copies only the databases (*.db, with admin_db_copy(): the live data
 * directory), 2 only the other files (skipping databases and their side
 * files), 0 everything as files (a quiescent backup).  Temporary files (.tmp.)
 * and anything but directories and regular files are left out.
 */
static int
admin_tree_copy(const char *src, const char *dst, int dbs, int depth)
{
	char s[PATH_MAX], d[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dir = NULL;
	int r = PETRI_ERR_IO;

	if (depth > ADMIN_TREE_DEPTH || lstat(src, &st) != 0 ||
	    !S_ISDIR(st.st_mode))
		return PETRI_ERR_IO;
	if ((mkdir(dst, 0700) != 0 && errno != EEXIST) ||
	    chown(dst, st.st_uid, st.st_gid) != 0 ||
	    chmod(dst, st.st_mode & 07777) != 0 || (dir = opendir(src)) == NULL)
		goto out;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strstr(de->d_name, ".tmp.") != NULL)
			continue;
		if (petri_path_join(s, sizeof(s), src, de->d_name) != 0 ||
		    petri_path_join(d, sizeof(d), dst, de->d_name) != 0 ||
		    lstat(s, &st) != 0)
			goto out;
		if (S_ISDIR(st.st_mode)) {
			if (admin_tree_copy(s, d, dbs, depth + 1) != 0)
				goto out;
		} else if (!S_ISREG(st.st_mode) ||
		    (dbs != 0 && admin_db_side(de->d_name)))
			continue;
		else if (admin_ends_with(de->d_name, ".db") && dbs != 0) {
			if (dbs == 1 && admin_db_copy(s, d) != 0) {
				fprintf(stderr,
				    "petri admin: %s: cannot copy\n", s);
				goto out;
			}
		} else if (dbs == 1)
			continue; /* the other files come in the second pass */
		else if (cli_admin_copy_file(s, d) != 0) {
			fprintf(stderr, "petri admin: %s: cannot copy\n", s);
			goto out;
		}
	}
	r = 0;
out:
	if (dir != NULL)
		closedir(dir);
	return r;
}

/* Reads --data-dir DATA [--checkpoint FILE] DIR. */
static int
admin_args(
    int argc, char **argv, const char **data, const char **cp, const char **dir)
{
	int i;

	*data = *dir = NULL;
	if (cp != NULL)
		*cp = NULL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
			*data = argv[++i];
		else if (cp != NULL && strcmp(argv[i], "--checkpoint") == 0 &&
		    i + 1 < argc)
			*cp = argv[++i];
		else if (argv[i][0] == '-' || *dir != NULL)
			return -1;
		else
			*dir = argv[i];
	}
	return *data != NULL && *dir != NULL ? 0 : -1;
}

static int
admin_backup(int argc, char **argv)
{
	static const char *const files[] = {"instance", "admin.token", NULL};
	static const char *const trees[] = {"api", "keeper", NULL};
	const char *data, *dir;
	char s[PATH_MAX], d[PATH_MAX];
	size_t i;
	int pass;

	if (admin_args(argc, argv, &data, NULL, &dir) != 0)
		return admin_usage();
	if (mkdir(dir, 0700) != 0)
		return admin_fail("%s: %s (the backup must be a new directory)",
		    dir, strerror(errno));
	for (i = 0; files[i] != NULL; i++)
		if (petri_path_join(s, sizeof(s), data, files[i]) != 0 ||
		    petri_path_join(d, sizeof(d), dir, files[i]) != 0 ||
		    cli_admin_copy_file(s, d) != 0)
			return admin_fail("%s: cannot copy", s);
	/* every database first (a consistent snapshot each), then the rest:
	 * a record names only blobs stored before it */
	for (pass = 1; pass <= 2; pass++)
		for (i = 0; trees[i] != NULL; i++)
			if (petri_path_join(s, sizeof(s), data, trees[i]) !=
			        0 ||
			    petri_path_join(d, sizeof(d), dir, trees[i]) != 0 ||
			    admin_tree_copy(s, d, pass, 0) != 0)
				return admin_fail("%s: cannot copy", s);
	printf("backup of %s written to %s\n", data, dir);
	return 0;
}

int
cli_admin_run(char *const argv[], char *out, size_t outlen)
{
	char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	posix_spawn_file_actions_t fa;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int p[2] = {-1, -1}, st, r = -1;

	if (out != NULL && (outlen == 0 || pipe2(p, O_CLOEXEC) != 0))
		return -1;
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	if (out != NULL && posix_spawn_file_actions_adddup2(&fa, p[1], 1) != 0)
		goto spawned;
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0)
		goto spawned;
	if (out != NULL) {
		close(p[1]);
		p[1] = -1;
		while ((n = read(p[0], out + len, outlen - 1 - len)) > 0 ||
		    (n < 0 && errno == EINTR))
			if (n > 0 && (len += (size_t)n) == outlen - 1) {
				char sink[4096]; /* the rest is not kept */

				while (read(p[0], sink, sizeof(sink)) > 0)
					;
				break;
			}
		out[len] = '\0';
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			goto spawned;
	r = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
spawned:
	posix_spawn_file_actions_destroy(&fa);
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return r;
}

/*
 * The newest checkpoint of the audit log in keeper dir kdir, written to
 * path.  Returns 1 when one was written, 0 when the log has none (or
 * there is no log), -1 on error.
 */
static int
admin_held_checkpoint(const char *kdir, const char *path)
{
	char db[PATH_MAX];
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sst;
	int fd, r = -1;

	if (petri_path_join(db, sizeof(db), kdir, "audit.db") != 0)
		return -1;
	if (stat(db, &sst) != 0)
		return errno == ENOENT ? 0 : -1;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h,
	        "SELECT text FROM checkpoints ORDER BY size DESC LIMIT 1", -1,
	        &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = 0;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	r = petri_write_all(fd, sqlite3_column_text(st, 0),
	        (size_t)sqlite3_column_bytes(st, 0)) == 0
	    ? 1
	    : -1;
	close(fd);
out:
	sqlite3_finalize(st);
	sqlite3_close(h);
	if (snprintf(db, sizeof(db), "%s/audit.db-shm", kdir) < (int)sizeof(db))
		admin_owner_like(db, &sst);
	if (snprintf(db, sizeof(db), "%s/audit.db-wal", kdir) < (int)sizeof(db))
		admin_owner_like(db, &sst);
	return r;
}

/* Gives every file under dir the owner of dir (depth bounded). */
static void
admin_tree_owner(const char *dir, const struct stat *ref, int depth)
{
	char p[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (depth > ADMIN_TREE_DEPTH || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    petri_path_join(p, sizeof(p), dir, de->d_name) != 0 ||
		    lstat(p, &st) != 0)
			continue;
		admin_owner_like(p, ref);
		if (S_ISDIR(st.st_mode))
			admin_tree_owner(p, ref, depth + 1);
	}
	closedir(d);
}

/*
 * Opens the staged audit log (it checks its tail and newest checkpoint),
 * records the restore, writes a bundle of it to bundle and the log's first
 * verifier key to keyfile.  Returns 0 or a PETRI_ERR_*.
 */
static int
admin_log_export(
    const char *kdir, const char *from, const char *bundle, const char *keyfile)
{
	struct audit_log *log = NULL;
	struct audit_log_key *keys = NULL;
	char vkey[AUDIT_VKEY_MAX + 2];
	struct stat ref;
	size_t n = 0;
	json_t *ev = NULL;
	int fd, r;

	if (stat(kdir, &ref) != 0)
		return PETRI_ERR_IO;
	if ((r = audit_log_open(kdir, NULL, &log)) != 0)
		goto out;
	ev = json_pack("{s:s}", "backup", from);
	if ((r = audit_log_append(log, "admin.restored", ev, NULL)) != 0 ||
	    (r = audit_log_export(log, 0, 0, bundle, NULL)) != 0 ||
	    (r = audit_log_keys(log, &keys, &n)) != 0)
		goto out;
	if (n == 0 ||
	    (r = audit_vkey_format(&keys[0].key, vkey, sizeof(vkey) - 1)) !=
	        0) {
		r = n == 0 ? PETRI_ERR_STATE : r;
		goto out;
	}
	if ((fd = open(
	         keyfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		r = PETRI_ERR_IO;
		goto out;
	}
	r = petri_write_all(fd, vkey, strlen(vkey));
	close(fd);
out:
	free(keys);
	json_decref(ev);
	audit_log_close(log);
	admin_tree_owner(kdir, &ref, 0);
	return r;
}

/* petri-verify next to this program, else the packaged one. */
static void
admin_verify_path(char *out, size_t outlen)
{
	char exe[PATH_MAX];
	ssize_t n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if (petri_path_join(
		        out, outlen, dirname(exe), "petri-verify") == 0 &&
		    access(out, X_OK) == 0)
			return;
	}
	petri_strlcpy(out, "/usr/bin/petri-verify", outlen);
}

/*
 * The checks of a staged restore in stage (api/, keeper/): every database
 * whole, and the audit log verified by petri-verify against held (a
 * checkpoint file, or NULL).  Returns 0 when it may go into place.
 */
static int
admin_restore_check(const char *stage, const char *from, const char *held)
{
	char kdir[PATH_MAX], bundle[PATH_MAX], key[PATH_MAX], verify[PATH_MAX];
	char out[ADMIN_VERIFY_OUT];
	char *argv[8];
	int r, i = 0;

	if (petri_path_join(kdir, sizeof(kdir), stage, "keeper") != 0 ||
	    petri_path_join(bundle, sizeof(bundle), stage, "verify.tar") != 0 ||
	    petri_path_join(key, sizeof(key), stage, "log.first.pub") != 0)
		return admin_fail("%s: path too long", stage);
	if ((r = admin_log_export(kdir, from, bundle, key)) != 0)
		return admin_fail("the backup's audit log does not open: %s",
		    petri_strerror(r));
	admin_verify_path(verify, sizeof(verify));
	argv[i++] = verify;
	argv[i++] = bundle;
	argv[i++] = "--key";
	argv[i++] = key;
	if (held != NULL) {
		argv[i++] = "--trusted";
		argv[i++] = (char *)(uintptr_t)held;
	}
	argv[i] = NULL;
	r = cli_admin_run(argv, out, sizeof(out));
	fputs(out, stdout);
	unlink(bundle);
	unlink(key);
	if (r != 0)
		return admin_fail("petri-verify refused the backup's log%s",
		    held != NULL ? ": it is not an extension of the checkpoint "
		                   "held"
		                 : "");
	return 0;
}

/* Moves stage/name into data/name, keeping what was there as name.<ts>. */
static int
admin_swap(
    const char *data, const char *stage, const char *name, const char *ts)
{
	char cur[PATH_MAX], old[PATH_MAX], neu[PATH_MAX], aside[64];

	snprintf(aside, sizeof(aside), "%s.before-restore-%s", name, ts);
	if (petri_path_join(cur, sizeof(cur), data, name) != 0 ||
	    petri_path_join(old, sizeof(old), data, aside) != 0 ||
	    petri_path_join(neu, sizeof(neu), stage, name) != 0)
		return -1;
	if (rename(cur, old) != 0 && errno != ENOENT)
		return -1;
	if (rename(neu, cur) != 0)
		return -1;
	if (access(old, F_OK) == 0)
		printf("kept the replaced %s as %s\n", name, old);
	return 0;
}

/* Stages the backup dir in a new directory under data (*stage). */
static int
admin_restore_stage(
    const char *data, const char *dir, char *stage, size_t stagelen)
{
	static const char *const files[] = {"instance", "admin.token", NULL};
	char s[PATH_MAX], d[PATH_MAX];
	size_t i;

	if (snprintf(stage, stagelen, "%s/.restore-XXXXXX", data) >=
	        (int)stagelen ||
	    mkdtemp(stage) == NULL)
		return admin_fail(
		    "%s: cannot stage the restore: %s", data, strerror(errno));
	if (admin_tree_copy(dir, stage, 0, 0) != 0)
		return admin_fail("%s: cannot copy the backup", dir);
	for (i = 0; files[i] != NULL; i++) {
		if (petri_path_join(s, sizeof(s), stage, files[i]) != 0 ||
		    petri_path_join(d, sizeof(d), stage, "api/state.db") != 0 ||
		    access(s, R_OK) != 0 || access(d, R_OK) != 0)
			return admin_fail("%s: not a Petri backup (%s missing)",
			    dir, files[i]);
	}
	return 0;
}

static int
admin_restore(int argc, char **argv)
{
	static const char *const parts[] = {
	    "api", "keeper", "instance", "admin.token", NULL};
	const char *data, *cp, *dir, *held = NULL;
	char stage[PATH_MAX], kdir[PATH_MAX], heldf[PATH_MAX], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int lockfd = -1, r = 1, e;

	if (admin_args(argc, argv, &data, &cp, &dir) != 0)
		return admin_usage();
	stage[0] = heldf[0] = '\0';
	if (mkdir(data, 0755) != 0 && errno != EEXIST)
		return admin_fail("%s: %s", data, strerror(errno));
	if ((e = datadir_lock(data, &lockfd)) != 0)
		return admin_fail("%s: %s", data,
		    e == PETRI_ERR_STATE ? "a petrid runs on it: stop it first"
		                         : "cannot take its lock");
	if (admin_restore_stage(data, dir, stage, sizeof(stage)) != 0)
		goto out;
	/* the checkpoint the restored log must extend */
	if (cp != NULL)
		held = cp;
	else if (petri_path_join(kdir, sizeof(kdir), data, "keeper") == 0 &&
	    petri_path_join(heldf, sizeof(heldf), stage, "held.cp") == 0) {
		if ((e = admin_held_checkpoint(kdir, heldf)) < 0) {
			admin_fail(
			    "%s: cannot read its newest checkpoint", kdir);
			goto out;
		}
		held = e == 1 ? heldf : NULL;
	}
	if (admin_restore_check(stage, dir, held) != 0)
		goto out;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; parts[i] != NULL; i++)
		if (admin_swap(data, stage, parts[i], ts) != 0) {
			admin_fail("%s: cannot move %s into place (the staged "
			           "restore is kept)",
			    data, parts[i]);
			stage[0] = '\0';
			goto out;
		}
	printf("restored %s from %s (audit log verified%s)\n", data, dir,
	    held != NULL ? " against the checkpoint held" : "");
	r = 0;
out:
	if (heldf[0] != '\0')
		unlink(heldf);
	if (stage[0] != '\0' && r != 0)
		printf("the staged copy stays in %s for inspection\n", stage);
	else if (stage[0] != '\0')
		rmdir(stage);
	if (lockfd >= 0)
		close(lockfd);
	return r;
}

int
cli_admin_main(int argc, char **argv)
{
	if (argc < 1)
		return admin_usage();
	if (sodium_init() < 0)
		return admin_fail("libsodium failed to initialise");
	if (strcmp(argv[0], "backup") == 0)
		return admin_backup(argc, argv);
	if (strcmp(argv[0], "restore") == 0)
		return admin_restore(argc, argv);
	if (strcmp(argv[0], "purge-instance") == 0)
		return cli_admin_purge(argc, argv);
	return admin_usage();
}
