/*
 * cli_sync.c: `petri sync DIR SB` and the delta sync behind the MCP
 * server's upload_project.  The local directory is walked without
 * following links (regular files only, .git left out), each file hashed
 * (SHA-256); the server answers which ones it lacks, and only those are
 * sent, in one tar.gz, then committed in one step (POST and PUT
 * /v1/sandboxes/{id}/sync, docs/api.md).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>

#include "bounds.h"
#include "cli.h"
#include "util.h"

#define SYNC_IOBUF 65536

struct sync_walk {
	json_t *files; /* manifest entries */
	size_t skipped;
	uint64_t total;
	char *err;
	size_t errlen;
};

/* SHA-256 of the open file fd, to its end; *sizep gets its size. */
static int
sync_hash_fd(int fd, char out[65], uint64_t *sizep)
{
	crypto_hash_sha256_state h;
	unsigned char buf[SYNC_IOBUF], dig[crypto_hash_sha256_BYTES];
	uint64_t n = 0;
	ssize_t r;

	crypto_hash_sha256_init(&h);
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (n += (uint64_t)r) > WS_MAX_FILE)
			return -1;
		crypto_hash_sha256_update(&h, buf, (size_t)r);
	}
	crypto_hash_sha256_final(&h, dig);
	petri_hex(dig, sizeof(dig), out);
	*sizep = n;
	return 0;
}

static int
sync_walk_fail(struct sync_walk *w, const char *path)
{
	snprintf(w->err, w->errlen, "%s: %s", path, strerror(errno));
	return -1;
}

/* Adds the regular file name of the directory dfd as rel. */
static int
sync_walk_file(struct sync_walk *w, int dfd, const char *name, const char *rel)
{
	struct stat st;
	char sha[65];
	uint64_t size;
	int fd;

	if ((fd = openat(dfd, name,
	         O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return sync_walk_fail(w, rel);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		w->skipped++;
		return 0;
	}
	if (sync_hash_fd(fd, sha, &size) != 0) {
		close(fd);
		snprintf(w->err, w->errlen,
		    "%s: unreadable or larger than %lu bytes", rel,
		    WS_MAX_FILE);
		return -1;
	}
	close(fd);
	if (json_array_size(w->files) >= WS_MAX_ARCHIVE_ENTRIES ||
	    (w->total += size) > WS_MAX_ARCHIVE_TOTAL) {
		snprintf(w->err, w->errlen,
		    "more than %d files or %lu bytes: too large to sync",
		    WS_MAX_ARCHIVE_ENTRIES, WS_MAX_ARCHIVE_TOTAL);
		return -1;
	}
	json_array_append_new(w->files,
	    json_pack("{s:s, s:s, s:I}", "path", rel, "sha256", sha, "size",
	        (json_int_t)size));
	return 0;
}

/* Walks the directory dfd (taken, closed), rel its path ("" the top). */
static int
sync_walk_dir(struct sync_walk *w, int dfd, const char *rel, int depth)
{
	struct dirent *de;
	struct stat st;
	char path[WS_MAX_PATH + 1];
	DIR *d;
	int rc = 0, sub;

	if (depth > WS_MAX_DEPTH || (d = fdopendir(dfd)) == NULL) {
		close(dfd);
		snprintf(w->err, w->errlen, "%s: too deep or unreadable",
		    rel[0] != '\0' ? rel : ".");
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (strcmp(de->d_name, ".git") == 0) {
			w->skipped++;
			continue;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", rel,
		        rel[0] != '\0' ? "/" : "",
		        de->d_name) >= sizeof(path)) {
			snprintf(w->err, w->errlen, "%s/%s: path too long", rel,
			    de->d_name);
			rc = -1;
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) !=
		    0) {
			rc = sync_walk_fail(w, path);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if ((sub = openat(dirfd(d), de->d_name,
			         O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			             O_CLOEXEC)) < 0)
				rc = sync_walk_fail(w, path);
			else
				rc = sync_walk_dir(w, sub, path, depth + 1);
		} else if (S_ISREG(st.st_mode))
			rc = sync_walk_file(w, dirfd(d), de->d_name, path);
		else
			w->skipped++;
	}
	closedir(d);
	return rc;
}

static la_ssize_t
sync_ar_write(struct archive *a, void *arg, const void *p, size_t n)
{
	(void)a;
	return buf_append(arg, p, n) == 0 ? (la_ssize_t)n : -1;
}

/* Appends dir/rel to the archive as rel (regular file, 0644 or 0755). */
static int
sync_tar_add(
    struct archive *a, int dfd, const char *rel, char *err, size_t errlen)
{
	struct archive_entry *en = NULL;
	struct stat st;
	unsigned char buf[SYNC_IOBUF];
	ssize_t n;
	int fd, rc = -1;

	if ((fd = openat(dfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: changed while syncing", rel);
		goto out;
	}
	en = archive_entry_new();
	archive_entry_set_pathname(en, rel);
	archive_entry_set_filetype(en, AE_IFREG);
	archive_entry_set_perm(en, (st.st_mode & 0111) ? 0755 : 0644);
	archive_entry_set_size(en, st.st_size);
	archive_entry_set_mtime(en, st.st_mtime, 0);
	if (archive_write_header(a, en) != ARCHIVE_OK)
		goto arc;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(a, buf, (size_t)n) != n)
			goto arc;
	rc = n == 0 ? 0 : -1;
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", rel, strerror(errno));
	goto out;
arc:
	snprintf(err, errlen, "archive: %s", archive_error_string(a));
out:
	archive_entry_free(en);
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * A tar.gz in out of the files named in list (relative to dfd), each of
 * which must be in the manifest index we sent.
 */
static int
sync_tar(int dfd, json_t *list, json_t *index, struct buf *out, char *err,
    size_t errlen)
{
	struct archive *a;
	json_t *v;
	size_t i;
	int rc = 0;

	if ((a = archive_write_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* no padding of the compressed output to 10 KiB blocks */
	if (archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open2(a, out, NULL, sync_ar_write, NULL, NULL) !=
	        ARCHIVE_OK) {
		snprintf(err, errlen, "archive: %s", archive_error_string(a));
		archive_write_free(a);
		return -1;
	}
	json_array_foreach (list, i, v) {
		if (!json_is_string(v) ||
		    json_object_get(index, json_string_value(v)) == NULL) {
			snprintf(err, errlen,
			    "the server asked for a file not in the manifest");
			rc = -1;
			break;
		}
		if ((rc = sync_tar_add(
		         a, dfd, json_string_value(v), err, errlen)) != 0)
			break;
	}
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0) {
		snprintf(err, errlen, "archive: %s", archive_error_string(a));
		rc = -1;
	}
	archive_write_free(a);
	return rc;
}

/* Builds the manifest of dir: w->files, and *dfdp the open directory. */
static int
sync_manifest(const char *dir, struct sync_walk *w, int *dfdp)
{
	int fd;

	*dfdp = -1;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(w->err, w->errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((*dfdp = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		close(fd);
		snprintf(w->err, w->errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	w->files = json_array();
	return sync_walk_dir(w, fd, "", 0);
}

/* POST the manifest; *plan gets the answer.  Counts the bytes sent. */
static int
sync_plan(struct cli *c, const char *sb, json_t *body, json_t **plan,
    struct cli_sync_result *res, char *err, size_t errlen)
{
	char path[256], *text;
	long st;

	if ((text = json_dumps(body, JSON_COMPACT)) != NULL) {
		res->sent += strlen(text);
		free(text);
	}
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/sync", sb);
	st = cli_http_json(c, "POST", path, body, plan, err, errlen);
	if (st == 200 && json_is_string(json_object_get(*plan, "sync")) &&
	    json_is_array(json_object_get(*plan, "upload")))
		return 0;
	if (st > 0)
		cli_http_error(*plan, st, err, errlen);
	json_decref(*plan);
	*plan = NULL;
	return -1;
}

/* PUT the archive of what the plan asks for; fills res. */
static int
sync_commit(struct cli *c, const char *sb, int dfd, json_t *plan, json_t *index,
    struct cli_sync_result *res, char *err, size_t errlen)
{
	json_t *up = json_object_get(plan, "upload"), *rep = NULL;
	char path[256];
	struct buf body, out;
	json_error_t jerr;
	long st;
	int rc = -1;

	buf_init(&body, CLI_MAX_UPLOAD);
	buf_init(&out, CLI_MAX_REPLY);
	if (json_array_size(up) > 0 &&
	    sync_tar(dfd, up, index, &body, err, errlen) != 0)
		goto out;
	res->sent += body.len;
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/sync/%s", sb,
	    json_string_value(json_object_get(plan, "sync")));
	st = cli_http(c, "PUT", path, body.len > 0 ? body.data : NULL, body.len,
	    "application/gzip", &out, err, errlen);
	if (st < 0)
		goto out;
	if (out.len > 0)
		rep = json_loadb((const char *)out.data, out.len, 0, &jerr);
	if (st != 200) {
		cli_http_error(rep, st, err, errlen);
		goto out;
	}
	res->uploaded =
	    (size_t)json_integer_value(json_object_get(rep, "uploaded"));
	res->deleted =
	    (size_t)json_integer_value(json_object_get(rep, "deleted"));
	res->unchanged =
	    (size_t)json_integer_value(json_object_get(rep, "unchanged"));
	res->bytes =
	    (uint64_t)json_integer_value(json_object_get(rep, "bytes"));
	if (json_is_integer(
	        json_object_get(json_object_get(rep, "audit"), "seq")))
		res->audit_seq = json_integer_value(
		    json_object_get(json_object_get(rep, "audit"), "seq"));
	rc = 0;
out:
	json_decref(rep);
	buf_free(&body);
	buf_free(&out);
	return rc;
}

int
cli_sync_dir(struct cli *c, const char *dir, const char *sb, const char *to,
    int del, struct cli_sync_result *res, char *err, size_t errlen)
{
	struct sync_walk w;
	json_t *body = NULL, *plan = NULL, *index = NULL, *f;
	size_t i;
	int dfd = -1, rc = -1;

	memset(res, 0, sizeof(*res));
	res->audit_seq = -1;
	memset(&w, 0, sizeof(w));
	w.err = err;
	w.errlen = errlen;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -1;
	}
	if (!petri_id_valid(sb, "sb_")) {
		snprintf(err, errlen, "%s: not a sandbox id", sb);
		return -1;
	}
	if (sync_manifest(dir, &w, &dfd) != 0)
		goto out;
	res->files = json_array_size(w.files);
	res->skipped = w.skipped;
	index = json_object();
	json_array_foreach (w.files, i, f)
		json_object_set(index,
		    json_string_value(json_object_get(f, "path")), json_true());
	body = json_pack("{s:O, s:s, s:b}", "files", w.files, "path",
	    to != NULL ? to : "", "delete", del);
	if (sync_plan(c, sb, body, &plan, res, err, errlen) != 0 ||
	    sync_commit(c, sb, dfd, plan, index, res, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	json_decref(w.files);
	json_decref(index);
	json_decref(body);
	json_decref(plan);
	return rc;
}

int
cli_sync_cmd(struct cli *c, int argc, char **argv)
{
	struct cli_sync_result res;
	char err[CLI_ERR_MAX];
	const char *to = NULL;
	int i, del = 0;

	if (argc < 2) {
		fprintf(stderr,
		    "usage: petri sync DIR SANDBOX [--to DIR] [--delete]\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--delete") == 0)
			del = 1;
		else {
			fprintf(
			    stderr, "petri sync: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (cli_sync_dir(
	        c, argv[0], argv[1], to, del, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "petri sync: %s\n", err);
		return 1;
	}
	printf("{\"files\": %zu, \"uploaded\": %zu, \"deleted\": %zu, "
	       "\"unchanged\": %zu, \"bytes\": %llu, \"sent\": %llu, "
	       "\"skipped\": %zu, \"audit_seq\": %lld}\n",
	    res.files, res.uploaded, res.deleted, res.unchanged,
	    (unsigned long long)res.bytes, (unsigned long long)res.sent,
	    res.skipped, (long long)res.audit_seq);
	return 0;
}
