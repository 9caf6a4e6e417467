/*
 * api_sync.c: delta sync of a local project into a workspace.
 *
 *   POST /v1/sandboxes/{id}/sync        a manifest {path, files, delete}
 *     -> {sync, upload, extra, unchanged, expires_at}
 *   PUT  /v1/sandboxes/{id}/sync/{sync} a tar (or tar.gz) of "upload"
 *     -> {uploaded, deleted, unchanged, bytes, audit}
 *
 * The manifest is hostile input: every path follows the workspace rules
 * (wspath), is joined to the target directory and normalised again, and
 * the manifest is bounded like an upload (WS_MAX_ARCHIVE_ENTRIES files,
 * WS_MAX_FILE each, WS_MAX_ARCHIVE_TOTAL to send).  The workspace side
 * comes from the ws worker's listing (sha256 of every file).
 *
 * A planned sync is kept in this process's memory (API_SYNC_MAX_PENDING of
 * them, each for the configured sync_ttl_seconds, at most API_SYNC_TTL_SEC):
 * it is single use, bound to the sandbox and tenant that made it, and a
 * restart of petrid forgets it (the client plans again).  It holds the digest of the listing it was computed from;
 * the commit lists the workspace again and answers 409 sync_conflict when
 * anything under the target directory changed in between.  The archive's
 * files are checked against the manifest (path, size, sha256) while they
 * are staged, and the ws worker commits them, with the removals when
 * "delete" was asked, in one step (wsfs_stage_commit()).  The commit is
 * recorded as files.uploaded with the sync's fields.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "upload_archive.h"
#include "util.h"
#include "wspath.h"

#define SYNC_CHUNK (4UL << 20)
#define SYNC_AUDIT_MAX 1000 /* paths named in the record */
#define SYNC_MSG 256

struct sync_file {
	char *path; /* full workspace path */
	const char *rel; /* into path: relative to the target directory */
	uint64_t size;
	char sha256[PETRI_SHA256_HEX];
	int seen;
};

struct sync_plan {
	char id[PETRI_ID_MAX];
	char sandbox[PETRI_ID_MAX];
	char tenant[64];
	char dir[WS_MAX_PATH + 1];
	int del;
	int64_t expires; /* usec */
	char digest[PETRI_SHA256_HEX]; /* of the listing it was made from */
	struct sync_file *files; /* the manifest; upload ones not unchanged */
	size_t nfiles;
	size_t unchanged;
	char **extra; /* full paths */
	size_t nextra;
};

static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sync_plan *sync_pending[API_SYNC_MAX_PENDING];
/* sandboxes with a commit in flight: one at a time per sandbox */
static char sync_busy[API_SYNC_MAX_PENDING][PETRI_ID_MAX];

static void
sync_plan_free(struct sync_plan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nfiles; i++)
		free(p->files[i].path);
	free(p->files);
	for (i = 0; i < p->nextra; i++)
		free(p->extra[i]);
	free(p->extra);
	free(p);
}

/* Keeps p (taking it).  Returns 0 or PETRI_ERR_LIMIT when full. */
static int
sync_plan_store(struct sync_plan *p)
{
	int64_t now = petri_now_usec();
	size_t i, slot = API_SYNC_MAX_PENDING;

	pthread_mutex_lock(&sync_lock);
	for (i = 0; i < API_SYNC_MAX_PENDING; i++) {
		if (sync_pending[i] != NULL &&
		    sync_pending[i]->expires <= now) {
			sync_plan_free(sync_pending[i]);
			sync_pending[i] = NULL;
		}
		if (sync_pending[i] == NULL && slot == API_SYNC_MAX_PENDING)
			slot = i;
	}
	if (slot < API_SYNC_MAX_PENDING)
		sync_pending[slot] = p;
	pthread_mutex_unlock(&sync_lock);
	return slot < API_SYNC_MAX_PENDING ? 0 : PETRI_ERR_LIMIT;
}

/* Takes the live plan id of sandbox and tenant out of the table. */
static struct sync_plan *
sync_plan_take(const char *id, const char *sandbox, const char *tenant)
{
	struct sync_plan *p = NULL;
	int64_t now = petri_now_usec();
	size_t i;

	pthread_mutex_lock(&sync_lock);
	for (i = 0; i < API_SYNC_MAX_PENDING; i++) {
		struct sync_plan *q = sync_pending[i];

		if (q == NULL || strcmp(q->id, id) != 0 ||
		    strcmp(q->sandbox, sandbox) != 0 ||
		    strcmp(q->tenant, tenant) != 0)
			continue;
		sync_pending[i] = NULL;
		if (q->expires > now)
			p = q;
		else
			sync_plan_free(q);
		break;
	}
	pthread_mutex_unlock(&sync_lock);
	return p;
}

/*
 * Marks sandbox as committing a sync.  Returns 0, PETRI_ERR_STATE when a
 * commit of it is in flight, PETRI_ERR_LIMIT when too many are.
 */
static int
sync_busy_begin(const char *sandbox)
{
	size_t i, slot = API_SYNC_MAX_PENDING;
	int rc = 0;

	pthread_mutex_lock(&sync_lock);
	for (i = 0; i < API_SYNC_MAX_PENDING && rc == 0; i++) {
		if (strcmp(sync_busy[i], sandbox) == 0)
			rc = PETRI_ERR_STATE;
		else if (sync_busy[i][0] == '\0' &&
		    slot == API_SYNC_MAX_PENDING)
			slot = i;
	}
	if (rc == 0 && slot == API_SYNC_MAX_PENDING)
		rc = PETRI_ERR_LIMIT;
	if (rc == 0)
		petri_strlcpy(
		    sync_busy[slot], sandbox, sizeof(sync_busy[slot]));
	pthread_mutex_unlock(&sync_lock);
	return rc;
}

static void
sync_busy_end(const char *sandbox)
{
	size_t i;

	pthread_mutex_lock(&sync_lock);
	for (i = 0; i < API_SYNC_MAX_PENDING; i++)
		if (strcmp(sync_busy[i], sandbox) == 0)
			sync_busy[i][0] = '\0';
	pthread_mutex_unlock(&sync_lock);
}

/* --- the manifest ------------------------------------------------------------ */

/* Writes the reason to msg and returns code. */
static int PETRI_PRINTF(4, 5)
    sync_why(char *msg, size_t msglen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return code;
}

static int
sync_sha_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != PETRI_SHA256_HEX - 1)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Validates one manifest entry into f; tree catches duplicates. */
static int
sync_file_parse(struct sync_plan *p, json_t *o, size_t idx,
    struct wspath_tree *tree, char *msg, size_t msglen)
{
	static const char *const keys[] = {"path", "sha256", "size", NULL};
	struct sync_file *f = &p->files[idx];
	struct wspath rel, full;
	char joined[2 * WS_MAX_PATH + 2], q[80];
	const char *path, *why = NULL;
	json_t *size;

	if (!json_is_object(o))
		return sync_why(msg, msglen, PETRI_ERR_INVAL,
		    "files[%zu]: not an object", idx);
	if (api_valid_keys(o, keys, msg, msglen) != 0)
		return PETRI_ERR_INVAL;
	path = json_string_value(json_object_get(o, "path"));
	size = json_object_get(o, "size");
	if (path == NULL ||
	    wspath_normalise(&rel, path, strlen(path), 0, 0) < 0) {
		wspath_quote(q, sizeof(q), path, 64);
		snprintf(msg, msglen, "files[%zu].path \"%s\": %s", idx, q,
		    path == NULL ? "a string is required" : rel.why);
		return PETRI_ERR_PATH;
	}
	(void)snprintf(joined, sizeof(joined), "%s%s%s", p->dir,
	    p->dir[0] != '\0' ? "/" : "", rel.path);
	if (wspath_normalise(&full, joined, strlen(joined), 0, 0) < 0) {
		snprintf(msg, msglen, "files[%zu].path: %s", idx, full.why);
		return PETRI_ERR_PATH;
	}
	if (!sync_sha_valid(json_string_value(json_object_get(o, "sha256"))))
		return sync_why(msg, msglen, PETRI_ERR_INVAL,
		    "files[%zu].sha256: 64 lowercase hex digits", idx);
	if (!json_is_integer(size) || json_integer_value(size) < 0 ||
	    (uint64_t)json_integer_value(size) > WS_MAX_FILE)
		return sync_why(msg, msglen, PETRI_ERR_INVAL,
		    "files[%zu].size: an integer from 0 to %lu", idx,
		    WS_MAX_FILE);
	if (wspath_tree_add(tree, &full, WSPATH_KIND_FILE, idx, NULL, &why) !=
	    0) {
		wspath_quote(q, sizeof(q), full.path, 64);
		snprintf(msg, msglen, "files[%zu].path \"%s\": %s", idx, q,
		    why != NULL ? why : "given twice");
		return PETRI_ERR_PATH;
	}
	if ((f->path = strdup(full.path)) == NULL)
		return PETRI_ERR_NOMEM;
	f->rel = f->path + (p->dir[0] != '\0' ? strlen(p->dir) + 1 : 0);
	f->size = (uint64_t)json_integer_value(size);
	memcpy(f->sha256, json_string_value(json_object_get(o, "sha256")),
	    PETRI_SHA256_HEX);
	return 0;
}

/*
 * Reads the manifest body into p and the tree of its paths (value: the
 * index).  Returns 0 or a PETRI_ERR_* with msg set.
 */
static int
sync_manifest_parse(struct sync_plan *p, json_t *body, struct wspath_tree *tree,
    char *msg, size_t msglen)
{
	static const char *const keys[] = {"path", "files", "delete", NULL};
	json_t *files = json_object_get(body, "files"), *o;
	json_t *dir = json_object_get(body, "path");
	json_t *del = json_object_get(body, "delete");
	struct wspath wp;
	size_t i;
	int e;

	if (api_valid_keys(body, keys, msg, msglen) != 0)
		return PETRI_ERR_INVAL;
	if (dir != NULL &&
	    (!json_is_string(dir) ||
	        wspath_normalise(&wp, json_string_value(dir),
	            json_string_length(dir),
	            WSPATH_ROOT | WSPATH_DIR | WSPATH_SANDBOX, 0) < 0))
		return sync_why(msg, msglen, PETRI_ERR_PATH, "path: %s",
		    json_is_string(dir) ? wp.why : "a string");
	petri_strlcpy(p->dir, dir != NULL ? wp.path : "", sizeof(p->dir));
	if (del != NULL && !json_is_boolean(del))
		return sync_why(
		    msg, msglen, PETRI_ERR_INVAL, "delete: true or false");
	p->del = json_is_true(del);
	if (!json_is_array(files))
		return sync_why(msg, msglen, PETRI_ERR_INVAL,
		    "files: an array is required");
	if (json_array_size(files) > WS_MAX_ARCHIVE_ENTRIES)
		return sync_why(msg, msglen, PETRI_ERR_TOOBIG,
		    "files: more than %d entries", WS_MAX_ARCHIVE_ENTRIES);
	if ((p->files = calloc(
	         json_array_size(files) + 1, sizeof(*p->files))) == NULL)
		return PETRI_ERR_NOMEM;
	json_array_foreach (files, i, o) {
		if ((e = sync_file_parse(p, o, i, tree, msg, msglen)) != 0)
			return e;
		p->nfiles++;
	}
	return 0;
}

/* --- the workspace's side ------------------------------------------------------ */

static int
sync_hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, crypto_hash_sha256_BYTES);
}

/*
 * Lists the workspace under dir (recursive, with sha256) into *listing
 * and its digest, independent of the listing's order.  A missing
 * directory is an empty listing.  Returns 0, PETRI_ERR_TOOBIG when the
 * listing was cut, PETRI_ERR_EXISTS when dir is not a directory, or
 * another PETRI_ERR_*.
 */
static int
sync_listing(struct api *a, const char *sandbox, const char *dir,
    json_t **listing, char digest[PETRI_SHA256_HEX], char *msg, size_t msglen)
{
	unsigned char *hs = NULL, dig[crypto_hash_sha256_BYTES];
	json_t *rep = NULL, *files, *f;
	size_t i, n;
	int e;

	*listing = NULL;
	e = wrap_ws_list(a, sandbox, dir, 1, &rep, msg, msglen);
	if (e == PETRI_ERR_NOTFOUND && dir[0] != '\0')
		rep = json_pack("{s:[], s:b}", "files", "truncated", 0), e = 0;
	if (e != 0)
		return e;
	files = json_object_get(rep, "files");
	if (json_is_true(json_object_get(rep, "truncated"))) {
		snprintf(msg, msglen,
		    "the workspace under the path has more entries than a "
		    "sync compares (%d)",
		    WS_MAX_LIST_ENTRIES);
		json_decref(rep);
		return PETRI_ERR_TOOBIG;
	}
	n = json_array_size(files);
	if ((hs = calloc(n + 1, crypto_hash_sha256_BYTES)) == NULL) {
		json_decref(rep);
		return PETRI_ERR_NOMEM;
	}
	json_array_foreach (files, i, f) {
		const char *p = json_string_value(json_object_get(f, "path"));
		const char *t = json_string_value(json_object_get(f, "type"));
		const char *s = json_string_value(json_object_get(f, "sha256"));
		char line[WS_MAX_PATH + 160];
		int len;

		if (p != NULL && strcmp(p, dir) == 0 && t != NULL &&
		    strcmp(t, "dir") != 0) {
			snprintf(msg, msglen, "path: not a directory");
			free(hs);
			json_decref(rep);
			return PETRI_ERR_EXISTS;
		}
		len = snprintf(line, sizeof(line), "%s\n%s\n%lld\n%s",
		    t != NULL ? t : "", p != NULL ? p : "",
		    (long long)json_integer_value(json_object_get(f, "size")),
		    s != NULL ? s : "");
		crypto_hash_sha256(hs + i * crypto_hash_sha256_BYTES,
		    (const unsigned char *)line,
		    len > 0 && (size_t)len < sizeof(line) ? (size_t)len : 0);
	}
	qsort(hs, n, crypto_hash_sha256_BYTES, sync_hash_cmp);
	crypto_hash_sha256(dig, hs, n * crypto_hash_sha256_BYTES);
	petri_hex(dig, sizeof(dig), digest);
	free(hs);
	*listing = json_incref(files);
	json_decref(rep);
	return 0;
}

/*
 * Compares the manifest with the listing: files equal in size and sha256
 * are unchanged (files[i].seen = 1), workspace objects that are not
 * directories and not in the manifest are extra.
 */
static int
sync_diff(struct sync_plan *p, const struct wspath_tree *tree, json_t *listing)
{
	json_t *f;
	size_t i;

	if ((p->extra = calloc(
	         json_array_size(listing) + 1, sizeof(*p->extra))) == NULL)
		return PETRI_ERR_NOMEM;
	json_array_foreach (listing, i, f) {
		const char *path =
		    json_string_value(json_object_get(f, "path"));
		const char *type =
		    json_string_value(json_object_get(f, "type"));
		const char *sha =
		    json_string_value(json_object_get(f, "sha256"));
		struct wspath wp;
		uint64_t idx;
		struct sync_file *m;

		if (path == NULL || type == NULL || strcmp(type, "dir") == 0 ||
		    wspath_normalise(&wp, path, strlen(path), 0, 0) < 0)
			continue;
		if (wspath_tree_get(tree, &wp, &idx) != WSPATH_KIND_FILE) {
			if ((p->extra[p->nextra] = strdup(wp.path)) == NULL)
				return PETRI_ERR_NOMEM;
			p->nextra++;
			continue;
		}
		m = &p->files[idx];
		if (strcmp(type, "file") == 0 && sha != NULL &&
		    strcmp(sha, m->sha256) == 0 &&
		    (uint64_t)json_integer_value(json_object_get(f, "size")) ==
		        m->size) {
			m->seen = 1;
			p->unchanged++;
		}
	}
	return 0;
}

static const char *
sync_rel(const struct sync_plan *p, const char *full)
{
	return p->dir[0] != '\0' ? full + strlen(p->dir) + 1 : full;
}

/* The plan's answer. */
static json_t *
sync_plan_answer(const struct sync_plan *p, uint64_t *bytes)
{
	json_t *up = json_array(), *extra = json_array();
	char when[PETRI_TIME_MAX];
	size_t i;

	*bytes = 0;
	for (i = 0; i < p->nfiles; i++)
		if (!p->files[i].seen) {
			json_array_append_new(up, json_string(p->files[i].rel));
			*bytes += p->files[i].size;
		}
	for (i = 0; i < p->nextra; i++)
		json_array_append_new(
		    extra, json_string(sync_rel(p, p->extra[i])));
	petri_time_rfc3339(p->expires, when);
	return json_pack("{s:s, s:o, s:o, s:I, s:b, s:s}", "sync", p->id,
	    "upload", up, "extra", extra, "unchanged", (json_int_t)p->unchanged,
	    "delete", p->del, "expires_at", when);
}

/* Answers a failed step: 409 sync_conflict for conflicts. */
static enum MHD_Result
sync_fail(struct api_req *r, int e, const char *msg, const char *what)
{
	const char *m = msg != NULL && msg[0] != '\0' ? msg : what;

	switch (e) {
	case PETRI_ERR_STATE:
	case PETRI_ERR_EXISTS:
		return api_reply_error(
		    r, MHD_HTTP_CONFLICT, "sync_conflict", "%s", m);
	case PETRI_ERR_TOOBIG:
		return api_reply_error(
		    r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "%s", m);
	case PETRI_ERR_PATH:
	case PETRI_ERR_INVAL:
	case PETRI_ERR_UNSUPPORTED:
		return api_reply_error(r, 422, "invalid_request", "%s", m);
	case PETRI_ERR_NOTFOUND:
		return api_reply_error(
		    r, MHD_HTTP_NOT_FOUND, "not_found", "%s", m);
	case PETRI_ERR_LIMIT:
		return api_reply_error(
		    r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "%s", m);
	default:
		return api_reply_err(r, e, what);
	}
}

enum MHD_Result
api_sync_plan(struct api_req *r)
{
	struct sync_plan *p = NULL;
	struct wspath_tree *tree = NULL;
	json_t *body = NULL, *sb = NULL, *listing = NULL;
	char msg[SYNC_MSG] = "";
	uint64_t bytes = 0;
	enum MHD_Result ret;
	int e;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (tree = wspath_tree_new(WS_MAX_ARCHIVE_ENTRIES * WS_MAX_DEPTH)) ==
	        NULL) {
		ret = api_reply_err(r, PETRI_ERR_NOMEM, "sync");
		goto out;
	}
	if ((e = sync_manifest_parse(p, body, tree, msg, sizeof(msg))) != 0) {
		ret = sync_fail(r, e, msg, "manifest");
		goto out;
	}
	if ((sb = api_sb_load(r, 0)) == NULL) {
		ret = MHD_YES;
		goto out;
	}
	if ((e = sync_listing(r->api, r->segs[0], p->dir, &listing, p->digest,
	         msg, sizeof(msg))) != 0 ||
	    (e = sync_diff(p, tree, listing)) != 0) {
		ret = sync_fail(r, e, msg, "workspace listing");
		goto out;
	}
	if (petri_id_new("sy_", p->id, sizeof(p->id)) != 0) {
		ret = api_reply_err(r, PETRI_ERR_IO, "sync");
		goto out;
	}
	petri_strlcpy(p->sandbox, r->segs[0], sizeof(p->sandbox));
	petri_strlcpy(p->tenant, r->auth.tenant, sizeof(p->tenant));
	p->expires =
	    petri_now_usec() + (int64_t)r->api->cfg->sync_ttl * 1000000;
	json_decref(body);
	body = sync_plan_answer(p, &bytes);
	if (bytes > WS_MAX_ARCHIVE_TOTAL) {
		ret = api_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
		    "too_large", "%llu bytes to upload: more than %lu",
		    (unsigned long long)bytes, WS_MAX_ARCHIVE_TOTAL);
		goto out;
	}
	if (sync_plan_store(p) != 0) {
		ret = api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "too many syncs pending, try again later");
		goto out;
	}
	p = NULL;
	api_sb_touch(r->api, sb);
	ret = api_reply_json(r, MHD_HTTP_OK, json_incref(body));
out:
	sync_plan_free(p);
	wspath_tree_free(tree);
	json_decref(listing);
	json_decref(body);
	json_decref(sb);
	return ret;
}

/* --- the commit ------------------------------------------------------------------ */

struct sync_commit {
	struct api *a;
	struct sync_plan *p;
	struct wspath_tree *up; /* paths to upload -> index in p->files */
	unsigned char *chunk;
	int stage; /* 0: none open */
	size_t uploaded;
	uint64_t bytes;
	char msg[SYNC_MSG];
};

/* Streams the archive entry's bytes into the stage, checking them. */
static int
sync_entry_file(struct sync_commit *c, struct sync_file *f, int mode,
    struct upload_archive_reader *rd)
{
	crypto_hash_sha256_state h;
	unsigned char dig[crypto_hash_sha256_BYTES];
	char sha[PETRI_SHA256_HEX];
	uint64_t total = 0;
	int e, first = 1;

	crypto_hash_sha256_init(&h);
	for (;;) {
		size_t got = 0;
		ssize_t n;

		while (got < SYNC_CHUNK) {
			if ((n = upload_archive_data_read(
			         rd, c->chunk + got, SYNC_CHUNK - got)) < 0)
				return (int)n;
			if (n == 0)
				break;
			got += (size_t)n;
		}
		total += got;
		crypto_hash_sha256_update(&h, c->chunk, got);
		e = wrap_ws_stage_file(c->a, c->stage, f->path, mode, !first,
		    got == SYNC_CHUNK, NULL, c->chunk, got, c->msg,
		    sizeof(c->msg));
		if (e != 0)
			return e;
		first = 0;
		if (got < SYNC_CHUNK)
			break;
	}
	crypto_hash_sha256_final(&h, dig);
	petri_hex(dig, sizeof(dig), sha);
	if (total != f->size || strcmp(sha, f->sha256) != 0) {
		snprintf(c->msg, sizeof(c->msg),
		    "'%.200s' does not match the manifest (size or sha256)",
		    f->rel);
		return PETRI_ERR_STATE;
	}
	f->seen = 1;
	c->uploaded++;
	c->bytes += total;
	return 0;
}

static int
sync_entry(void *arg, const struct upload_archive_entry *en,
    struct upload_archive_reader *rd)
{
	struct sync_commit *c = arg;
	struct wspath full;
	char joined[2 * WS_MAX_PATH + 2], q[80];
	uint64_t idx;

	if (en->type == UPLOAD_ARCHIVE_DIR)
		return 0; /* parents are made as files go into place */
	wspath_quote(q, sizeof(q), en->path, 64);
	if (en->type != UPLOAD_ARCHIVE_FILE) {
		snprintf(c->msg, sizeof(c->msg),
		    "'%s': a sync archive holds regular files only", q);
		return PETRI_ERR_UNSUPPORTED;
	}
	(void)snprintf(joined, sizeof(joined), "%s%s%s", c->p->dir,
	    c->p->dir[0] != '\0' ? "/" : "", en->path);
	if (wspath_normalise(&full, joined, strlen(joined), 0, 0) < 0 ||
	    wspath_tree_get(c->up, &full, &idx) != WSPATH_KIND_FILE) {
		snprintf(c->msg, sizeof(c->msg),
		    "'%s' is not in the sync's upload list", q);
		return PETRI_ERR_INVAL;
	}
	if (c->p->files[idx].seen) {
		snprintf(
		    c->msg, sizeof(c->msg), "'%s' is in the archive twice", q);
		return PETRI_ERR_INVAL;
	}
	return sync_entry_file(c, &c->p->files[idx], en->mode, rd);
}

/* Builds c->up from the files left to upload; counts them in *n. */
static int
sync_upload_tree(struct sync_commit *c, size_t *n)
{
	struct wspath wp;
	size_t i;

	*n = 0;
	if ((c->up = wspath_tree_new(WS_MAX_ARCHIVE_ENTRIES * WS_MAX_DEPTH)) ==
	    NULL)
		return PETRI_ERR_NOMEM;
	for (i = 0; i < c->p->nfiles; i++) {
		if (c->p->files[i].seen)
			continue;
		if (wspath_normalise(&wp, c->p->files[i].path,
		        strlen(c->p->files[i].path), 0, 0) < 0 ||
		    wspath_tree_add(
		        c->up, &wp, WSPATH_KIND_FILE, i, NULL, NULL) != 0)
			return PETRI_ERR_INVAL;
		(*n)++;
	}
	return 0;
}

/* Reads the archive (fd, or none) into the stage; all files required. */
static int
sync_stage_archive(struct sync_commit *c, int fd, size_t want)
{
	struct upload_archive_opts opts;
	struct upload_archive_err err;
	size_t i;
	int e;

	memset(&opts, 0, sizeof(opts));
	if (fd >= 0 &&
	    (e = upload_archive_read_fd(fd, &opts, sync_entry, c, &err)) != 0) {
		if (c->msg[0] == '\0')
			petri_strlcpy(c->msg, err.msg, sizeof(c->msg));
		return e;
	}
	if (c->uploaded == want)
		return 0;
	for (i = 0; i < c->p->nfiles; i++)
		if (!c->p->files[i].seen)
			break;
	snprintf(c->msg, sizeof(c->msg), "'%.200s' is missing from the archive",
	    i < c->p->nfiles ? c->p->files[i].rel : "?");
	return PETRI_ERR_INVAL;
}

/* Stage, removals, commit.  On failure the stage is aborted. */
static int
sync_apply(struct sync_commit *c, int fd, size_t want)
{
	size_t i;
	int e;

	if (want == 0 && (!c->p->del || c->p->nextra == 0) && fd < 0)
		return 0;
	if ((e = wrap_ws_stage_open(c->a, c->p->sandbox, 0, &c->stage, c->msg,
	         sizeof(c->msg))) != 0)
		return e;
	if ((e = sync_stage_archive(c, fd, want)) != 0)
		goto abort;
	for (i = 0; c->p->del && i < c->p->nextra; i++)
		if ((e = wrap_ws_stage_remove(c->a, c->stage, c->p->extra[i],
		         c->msg, sizeof(c->msg))) != 0)
			goto abort;
	e = wrap_ws_stage_commit(c->a, c->stage, 0, c->msg, sizeof(c->msg));
	c->stage = 0;
	return e;
abort:
	wrap_ws_stage_abort(c->a, c->stage);
	c->stage = 0;
	return e;
}

/*
 * Lists the workspace again: PETRI_ERR_STATE when it is not as it was when
 * the sync was planned.
 */
static int
sync_unchanged(struct sync_commit *c)
{
	json_t *listing = NULL;
	char digest[PETRI_SHA256_HEX];
	int e;

	if ((e = sync_listing(c->a, c->p->sandbox, c->p->dir, &listing, digest,
	         c->msg, sizeof(c->msg))) != 0)
		return e;
	json_decref(listing);
	if (strcmp(digest, c->p->digest) != 0) {
		snprintf(c->msg, sizeof(c->msg),
		    "the workspace changed since the sync was planned");
		return PETRI_ERR_STATE;
	}
	return 0;
}

/* The files.uploaded record of a sync. */
static json_t *
sync_record(const struct sync_commit *c)
{
	const struct sync_plan *p = c->p;
	json_t *files = json_array(), *del = json_array();
	size_t i, n = 0;

	for (i = 0; i < p->nfiles && n < SYNC_AUDIT_MAX; i++)
		if (p->files[i].seen == 1) {
			json_array_append_new(files,
			    json_pack("{s:s, s:s, s:I, s:s}", "path",
			        p->files[i].path, "type", "file", "size",
			        (json_int_t)p->files[i].size, "sha256",
			        p->files[i].sha256));
			n++;
		}
	for (i = 0; p->del && i < p->nextra && i < SYNC_AUDIT_MAX; i++)
		json_array_append_new(del, json_string(p->extra[i]));
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:I, s:I}", "sandbox",
	    p->sandbox, "sync", p->id, "path", p->dir, "files", files, "count",
	    (json_int_t)c->uploaded, "deleted", del, "deleted_count",
	    (json_int_t)(p->del ? p->nextra : 0), "unchanged",
	    (json_int_t)p->unchanged);
}

enum MHD_Result
api_sync_commit(struct api_req *r)
{
	struct sync_commit c;
	json_t *sb = NULL, *audit = NULL;
	size_t want = 0, i;
	enum MHD_Result ret;
	int e, fd = -1, busy = 0;

	memset(&c, 0, sizeof(c));
	c.a = r->api;
	if (!petri_id_valid(r->segs[1], "sy_") ||
	    (c.p = sync_plan_take(r->segs[1], r->segs[0], r->auth.tenant)) ==
	        NULL)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "no such sync (it expired, was used, or belongs to "
		    "another sandbox)");
	if ((sb = api_sb_load(r, 0)) == NULL) {
		ret = MHD_YES;
		goto out;
	}
	if ((e = sync_busy_begin(c.p->sandbox)) != 0) {
		ret = sync_fail(r, e,
		    e == PETRI_ERR_STATE
		        ? "another sync of this sandbox is being committed"
		        : "too many syncs being committed, try again later",
		    "sync");
		goto out;
	}
	busy = 1;
	if ((e = sync_unchanged(&c)) != 0) {
		ret = sync_fail(r, e, c.msg, "workspace listing");
		goto out;
	}
	/* seen: 1 unchanged before, then uploaded; mark the unchanged 2 */
	for (i = 0; i < c.p->nfiles; i++)
		c.p->files[i].seen = c.p->files[i].seen ? 2 : 0;
	if (r->body_fd >= 0 && lseek(r->body_fd, 0, SEEK_END) > 0) {
		if (lseek(r->body_fd, 0, SEEK_SET) != 0) {
			ret = api_reply_err(r, PETRI_ERR_IO, "sync");
			goto out;
		}
		fd = r->body_fd;
	}
	if ((c.chunk = malloc(SYNC_CHUNK)) == NULL ||
	    (e = sync_upload_tree(&c, &want)) != 0) {
		ret = api_reply_err(r, PETRI_ERR_NOMEM, "sync");
		goto out;
	}
	if ((e = sync_apply(&c, fd, want)) != 0) {
		ret = sync_fail(r, e, c.msg, "sync");
		goto out;
	}
	api_sb_touch(r->api, sb);
	if (api_audit(r->api, r, "files.uploaded", sync_record(&c), &audit) !=
	    0) {
		ret = api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable",
		    "the files were written but the audit log is unavailable");
		goto out;
	}
	ret = api_reply_json(r, MHD_HTTP_OK,
	    json_pack("{s:I, s:I, s:I, s:I, s:o?}", "uploaded",
	        (json_int_t)c.uploaded, "deleted",
	        (json_int_t)(c.p->del ? c.p->nextra : 0), "unchanged",
	        (json_int_t)c.p->unchanged, "bytes", (json_int_t)c.bytes,
	        "audit", audit));
out:
	if (busy)
		sync_busy_end(c.p->sandbox);
	free(c.chunk);
	wspath_tree_free(c.up);
	sync_plan_free(c.p);
	json_decref(sb);
	return ret;
}
