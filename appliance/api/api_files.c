/*
 * api_files.c: files and project uploads.  Uploads are spooled and
 * validated here (the api parses hostile archives); the ws worker writes
 * them into a staging area and commits them into the workspace only when
 * every entry was accepted, so a failed upload changes nothing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"
#include "api_upload.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "upload_archive.h"
#include "wspath.h"

#define STAGE_CHUNK (4UL << 20)
#define AUDIT_MAX_FILES 1000

struct stager {
	struct api *a;
	const char *sandbox;
	int stage;
	int open;
	json_t *files; /* answer entries */
	size_t nfiles;
	char msg[256];
};

static int
stage_open(struct stager *st)
{
	int e;

	if ((e = wrap_ws_stage_open(st->a, st->sandbox, 0, &st->stage, st->msg,
	         sizeof(st->msg))) != 0)
		return e;
	st->open = 1;
	st->files = json_array();
	return 0;
}

static void
stage_abort(struct stager *st)
{
	if (st->open)
		wrap_ws_stage_abort(st->a, st->stage);
	st->open = 0;
	json_decref(st->files);
	st->files = NULL;
}

static int
stage_commit(struct stager *st, int replace)
{
	int e;

	e = wrap_ws_stage_commit(
	    st->a, st->stage, replace, st->msg, sizeof(st->msg));
	st->open = 0;
	return e;
}

static void
stage_note(struct stager *st, const char *path, const char *type, uint64_t size,
    const char *sha)
{
	json_t *f = json_pack("{s:s, s:s, s:I}", "path", path, "type", type,
	    "size", (json_int_t)size);

	if (sha != NULL)
		json_object_set_new(f, "sha256", json_string(sha));
	json_array_append_new(st->files, f);
	st->nfiles++;
}

/* Sends one chunk of a staged file. */
static int
stage_chunk(struct stager *st, const char *path, int mode, int append, int more,
    const void *p, size_t n)
{
	return wrap_ws_stage_file(st->a, st->stage, path, mode, append, more,
	    NULL, p, n, st->msg, sizeof(st->msg));
}

/* Stages a file read from fd (to its end). */
static int
stage_fd(struct stager *st, const char *path, int mode, int fd)
{
	crypto_hash_sha256_state h;
	unsigned char *chunk, dig[32];
	char sha[65];
	uint64_t total = 0;
	int e = 0, first = 1;

	if ((chunk = malloc(STAGE_CHUNK)) == NULL)
		return PETRI_ERR_NOMEM;
	crypto_hash_sha256_init(&h);
	for (;;) {
		ssize_t got = 0, r;

		while ((size_t)got < STAGE_CHUNK) {
			r = read(fd, chunk + got, STAGE_CHUNK - (size_t)got);
			if (r < 0) {
				e = PETRI_ERR_IO;
				goto out;
			}
			if (r == 0)
				break;
			got += r;
		}
		total += (uint64_t)got;
		if (total > WS_MAX_FILE) {
			snprintf(st->msg, sizeof(st->msg),
			    "%s: larger than %lu "
			    "bytes",
			    path, WS_MAX_FILE);
			e = PETRI_ERR_TOOBIG;
			goto out;
		}
		crypto_hash_sha256_update(&h, chunk, (size_t)got);
		if ((size_t)got < STAGE_CHUNK) {
			e = stage_chunk(
			    st, path, mode, !first, 0, chunk, (size_t)got);
			break;
		}
		if ((e = stage_chunk(
		         st, path, mode, !first, 1, chunk, (size_t)got)) != 0)
			goto out;
		first = 0;
	}
	if (e == 0) {
		crypto_hash_sha256_final(&h, dig);
		petri_hex(dig, sizeof(dig), sha);
		stage_note(st, path, "file", total, sha);
	}
out:
	free(chunk);
	return e;
}

/* A client path: normalised, "/sandbox/..." accepted. */
static int
files_path(const char *in, unsigned int flags, struct wspath *wp)
{
	return wspath_normalise(wp, in, strlen(in), flags | WSPATH_SANDBOX, 0) <
	        0
	    ? PETRI_ERR_PATH
	    : 0;
}

static enum MHD_Result
files_fail(struct api_req *r, struct stager *st, int e, const char *what)
{
	stage_abort(st);
	if (e == PETRI_ERR_TOOBIG)
		return api_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
		    "too_large", "%s", st->msg[0] ? st->msg : what);
	if (e == PETRI_ERR_PATH || e == PETRI_ERR_INVAL ||
	    e == PETRI_ERR_EXISTS || e == PETRI_ERR_UNSUPPORTED)
		return api_reply_error(r, 422, "invalid_request", "%s",
		    st->msg[0] ? st->msg : what);
	if (e == PETRI_ERR_NOTFOUND)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "%s",
		    st->msg[0] ? st->msg : what);
	return api_reply_err(r, e, what);
}

/* Records the upload and answers 201 with its entries. */
static enum MHD_Result
files_done(struct api_req *r, struct stager *st, json_t *extra)
{
	json_t *ev, *list = json_array(), *f, *audit = NULL;
	size_t i;
	enum MHD_Result ret;

	json_array_foreach (st->files, i, f) {
		if (i >= AUDIT_MAX_FILES)
			break;
		json_array_append(list, f);
	}
	ev = json_pack("{s:s, s:o, s:I}", "sandbox", st->sandbox, "files", list,
	    "count", (json_int_t)st->nfiles);
	if (extra != NULL)
		json_object_update(ev, extra);
	json_decref(extra);
	if (api_audit(r->api, r, "files.uploaded", ev, &audit) != 0) {
		json_decref(st->files);
		st->files = NULL;
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable",
		    "the files were written but the audit log "
		    "is unavailable");
	}
	ret = api_reply_json(r, MHD_HTTP_CREATED,
	    json_pack("{s:o, s:o?}", "files", st->files, "audit", audit));
	st->files = NULL;
	return ret;
}

enum MHD_Result
api_files_post(struct api_req *r)
{
	struct stager st;
	struct wspath dir, name, full;
	json_t *sb;
	char joined[2 * WS_MAX_PATH + 2];
	int i, e;
	enum MHD_Result ret;

	memset(&st, 0, sizeof(st));
	if (r->upload == NULL)
		return api_reply_error(r, 422, "invalid_request",
		    "expected a "
		    "multipart/form-data body with one or more \"file\" parts");
	if (r->upload->nparts == 0)
		return api_reply_error(r, 422, "invalid_request",
		    "no \"file\" "
		    "part in the form");
	if (files_path(r->upload->have_path ? r->upload->path : "",
	        WSPATH_ROOT | WSPATH_DIR, &dir) != 0)
		return api_reply_error(r, 422, "invalid_request", "path: %s",
		    dir.why != NULL ? dir.why : "invalid");
	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	st.a = r->api;
	st.sandbox = r->segs[0];
	if ((e = stage_open(&st)) != 0) {
		json_decref(sb);
		return files_fail(r, &st, e, "workspace");
	}
	for (i = 0; i < r->upload->nparts; i++) {
		struct api_upload_part *p = &r->upload->parts[i];

		if (files_path(p->filename, 0, &name) != 0) {
			snprintf(st.msg, sizeof(st.msg),
			    "file name \"%.64s\": "
			    "%s",
			    p->filename, name.why);
			ret = files_fail(r, &st, PETRI_ERR_PATH, "file name");
			goto out;
		}
		snprintf(joined, sizeof(joined), "%s%s%s", dir.path,
		    dir.len > 0 ? "/" : "", name.path);
		if (files_path(joined, 0, &full) != 0) {
			snprintf(st.msg, sizeof(st.msg), "%.64s: %s", joined,
			    full.why);
			ret = files_fail(r, &st, PETRI_ERR_PATH, "file name");
			goto out;
		}
		if ((e = stage_fd(&st, full.path, 0644, p->fd)) != 0) {
			ret = files_fail(r, &st, e, "upload");
			goto out;
		}
	}
	if ((e = stage_commit(&st, 0)) != 0) {
		ret = files_fail(r, &st, e, "upload");
		goto out;
	}
	api_sb_touch(r->api, sb);
	ret = files_done(r, &st, NULL);
out:
	json_decref(st.files);
	json_decref(sb);
	return ret;
}

enum MHD_Result
api_files_put(struct api_req *r)
{
	struct stager st;
	struct wspath wp;
	const char *m = api_query(r, "mode");
	json_t *sb;
	int e, mode = 0644;
	enum MHD_Result ret;

	memset(&st, 0, sizeof(st));
	if (files_path(r->segs[1], 0, &wp) != 0)
		return api_reply_error(r, 422, "invalid_request", "path: %s",
		    wp.why != NULL ? wp.why : "invalid");
	if (m != NULL) {
		if (strcmp(m, "755") == 0 || strcmp(m, "0755") == 0)
			mode = 0755;
		else if (strcmp(m, "644") != 0 && strcmp(m, "0644") != 0)
			return api_reply_error(
			    r, 422, "invalid_request", "mode: 644 or 755");
	}
	if (r->body_fd < 0)
		return api_reply_error(r, 422, "invalid_request",
		    "expected the "
		    "file's bytes as the request body");
	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	st.a = r->api;
	st.sandbox = r->segs[0];
	if (lseek(r->body_fd, 0, SEEK_SET) != 0) {
		ret = api_reply_err(r, PETRI_ERR_IO, "upload");
		goto out;
	}
	if ((e = stage_open(&st)) != 0 ||
	    (e = stage_fd(&st, wp.path, mode, r->body_fd)) != 0 ||
	    (e = stage_commit(&st, 0)) != 0) {
		ret = files_fail(r, &st, e, "upload");
		goto out;
	}
	api_sb_touch(r->api, sb);
	ret = files_done(r, &st, NULL);
out:
	json_decref(st.files);
	json_decref(sb);
	return ret;
}

/* --- archives ---------------------------------------------------------------- */

struct arc_ctx {
	struct stager *st;
	unsigned char *chunk;
};

static int
arc_entry(void *arg, const struct upload_archive_entry *en,
    struct upload_archive_reader *rd)
{
	struct arc_ctx *ac = arg;
	struct stager *st = ac->st;
	crypto_hash_sha256_state h;
	unsigned char dig[32];
	char sha[65];
	uint64_t total = 0;
	ssize_t n;
	int e, first = 1;

	switch (en->type) {
	case UPLOAD_ARCHIVE_DIR:
		stage_note(st, en->path, "dir", 0, NULL);
		return wrap_ws_stage_mkdir(
		    st->a, st->stage, en->path, st->msg, sizeof(st->msg));
	case UPLOAD_ARCHIVE_SYMLINK:
		stage_note(st, en->path, "symlink", 0, NULL);
		return wrap_ws_stage_symlink(st->a, st->stage, en->path,
		    en->link, st->msg, sizeof(st->msg));
	case UPLOAD_ARCHIVE_HARDLINK:
		stage_note(st, en->path, "file", 0, NULL);
		return wrap_ws_stage_file(st->a, st->stage, en->path, en->mode,
		    0, 0, en->link, NULL, 0, st->msg, sizeof(st->msg));
	case UPLOAD_ARCHIVE_FILE:
		break;
	default:
		return PETRI_ERR_UNSUPPORTED;
	}
	crypto_hash_sha256_init(&h);
	for (;;) {
		size_t got = 0;

		while (got < STAGE_CHUNK) {
			n = upload_archive_data_read(
			    rd, ac->chunk + got, STAGE_CHUNK - got);
			if (n < 0)
				return (int)n;
			if (n == 0)
				break;
			got += (size_t)n;
		}
		total += got;
		crypto_hash_sha256_update(&h, ac->chunk, got);
		e = stage_chunk(st, en->path, en->mode, !first,
		    got == STAGE_CHUNK, ac->chunk, got);
		if (e != 0)
			return e;
		first = 0;
		if (got < STAGE_CHUNK)
			break;
	}
	crypto_hash_sha256_final(&h, dig);
	petri_hex(dig, sizeof(dig), sha);
	stage_note(st, en->path, "file", total, sha);
	return 0;
}

enum MHD_Result
api_files_upload(struct api_req *r)
{
	struct stager st;
	struct arc_ctx ac;
	struct upload_archive_opts opts;
	struct upload_archive_err err;
	const char *q;
	long long strip = 0;
	json_t *sb, *extra;
	int fd, e, replace = 0;
	enum MHD_Result ret;

	memset(&st, 0, sizeof(st));
	memset(&opts, 0, sizeof(opts));
	if ((q = api_query(r, "strip")) != NULL &&
	    petri_strtonum(q, 0, 16, &strip) != 0)
		return api_reply_error(r, 422, "invalid_request",
		    "strip: an "
		    "integer from 0 to 16");
	if ((q = api_query(r, "replace")) != NULL) {
		if (strcmp(q, "true") == 0 || strcmp(q, "1") == 0)
			replace = 1;
		else if (strcmp(q, "false") != 0 && strcmp(q, "0") != 0)
			return api_reply_error(r, 422, "invalid_request",
			    "replace: true or false");
	}
	if (r->upload != NULL) {
		if (r->upload->nparts != 1)
			return api_reply_error(r, 422, "invalid_request",
			    "expected exactly one \"file\" part holding the "
			    "archive");
		fd = r->upload->parts[0].fd;
	} else
		fd = r->body_fd;
	if (fd < 0 || lseek(fd, 0, SEEK_END) <= 0 ||
	    lseek(fd, 0, SEEK_SET) != 0)
		return api_reply_error(r, 422, "invalid_request",
		    "expected a "
		    "zip, tar or tar.gz archive as the body");
	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	opts.strip = (size_t)strip;
	st.a = r->api;
	st.sandbox = r->segs[0];
	ac.st = &st;
	if ((ac.chunk = malloc(STAGE_CHUNK)) == NULL) {
		json_decref(sb);
		return api_reply_err(r, PETRI_ERR_NOMEM, "upload");
	}
	if ((e = stage_open(&st)) != 0) {
		ret = files_fail(r, &st, e, "workspace");
		goto out;
	}
	if ((e = upload_archive_read_fd(fd, &opts, arc_entry, &ac, &err)) !=
	    0) {
		if (st.msg[0] == '\0')
			petri_strlcpy(st.msg, err.msg, sizeof(st.msg));
		ret = files_fail(r, &st, e, "archive");
		goto out;
	}
	if ((e = stage_commit(&st, replace)) != 0) {
		ret = files_fail(r, &st, e, "upload");
		goto out;
	}
	api_sb_touch(r->api, sb);
	extra = json_pack(
	    "{s:b, s:I}", "replace", replace, "strip", (json_int_t)strip);
	ret = files_done(r, &st, extra);
out:
	free(ac.chunk);
	json_decref(st.files);
	json_decref(sb);
	return ret;
}

/* --- listing, download, delete ------------------------------------------- */

enum MHD_Result
api_files_list(struct api_req *r)
{
	struct wspath wp;
	const char *p = api_query(r, "path"), *rec = api_query(r, "recursive");
	json_t *sb, *rep;
	char msg[256];
	int e, recursive = 1;

	if (files_path(p != NULL ? p : "", WSPATH_ROOT | WSPATH_DIR, &wp) != 0)
		return api_reply_error(r, 422, "invalid_request", "path: %s",
		    wp.why != NULL ? wp.why : "invalid");
	if (rec != NULL) {
		if (strcmp(rec, "false") == 0 || strcmp(rec, "0") == 0)
			recursive = 0;
		else if (strcmp(rec, "true") != 0 && strcmp(rec, "1") != 0)
			return api_reply_error(r, 422, "invalid_request",
			    "recursive: true or false");
	}
	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	json_decref(sb);
	e = wrap_ws_list(
	    r->api, r->segs[0], wp.path, recursive, &rep, msg, sizeof(msg));
	if (e == PETRI_ERR_NOTFOUND)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "%s",
		    msg[0] ? msg : "no such directory");
	if (e != 0)
		return api_reply_err(r, e, "listing");
	return api_reply_json(r, MHD_HTTP_OK, rep);
}

enum MHD_Result
api_files_get(struct api_req *r)
{
	struct MHD_Response *resp;
	struct wspath wp;
	struct ipc_msg m;
	json_t *sb;
	char msg[256];
	uint64_t off = 0, size = 0;
	int fd, e, more = 1;
	enum MHD_Result ret;

	if (files_path(r->segs[1], 0, &wp) != 0)
		return api_reply_error(r, 422, "invalid_request", "path: %s",
		    wp.why != NULL ? wp.why : "invalid");
	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	json_decref(sb);
	if ((fd = open(r->api->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) <
	    0)
		return api_reply_err(r, PETRI_ERR_IO, "download");
	while (more) {
		e = wrap_ws_read(r->api, r->segs[0], wp.path, 0, off,
		    STAGE_CHUNK, &m, &size, msg, sizeof(msg));
		if (e != 0) {
			close(fd);
			if (e == PETRI_ERR_NOTFOUND || e == PETRI_ERR_PATH)
				return api_reply_error(r, MHD_HTTP_NOT_FOUND,
				    "not_found", "%s",
				    msg[0] ? msg : "no such file");
			if (e == PETRI_ERR_TOOBIG)
				return api_reply_error(r,
				    MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				    "%s", msg);
			return api_reply_err(r, e, "download");
		}
		if (m.datalen > 0 &&
		    petri_write_all(fd, m.data, m.datalen) != 0) {
			ipc_msg_clear(&m);
			close(fd);
			return api_reply_err(r, PETRI_ERR_IO, "download");
		}
		off += m.datalen;
		more = m.datalen > 0 && off < size;
		ipc_msg_clear(&m);
	}
	if ((resp = MHD_create_response_from_fd(off, fd)) == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(
	    resp, "Content-Type", "application/octet-stream");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	r->answered = 1;
	return ret;
}

enum MHD_Result
api_files_delete(struct api_req *r)
{
	struct wspath wp;
	json_t *sb;
	char msg[256];
	int e;

	if (files_path(r->segs[1], WSPATH_DIR, &wp) != 0)
		return api_reply_error(r, 422, "invalid_request", "path: %s",
		    wp.why != NULL ? wp.why : "invalid");
	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	json_decref(sb);
	e = wrap_ws_delete(r->api, r->segs[0], wp.path, 0, msg, sizeof(msg));
	if (e == PETRI_ERR_NOTFOUND)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "%s",
		    msg[0] ? msg : "no such file");
	if (e != 0)
		return api_reply_err(r, e, "delete");
	if (api_audit(r->api, r, "files.deleted",
	        json_pack("{s:s, s:s}", "sandbox", r->segs[0], "path", wp.path),
	        NULL) != 0)
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "deleted, but the audit log is unavailable");
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
