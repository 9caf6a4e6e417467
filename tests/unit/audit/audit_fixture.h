/*
 * audit_fixture.h: helpers shared by the audit store and verifier tests:
 * scratch directories, a log with some history, bundles loaded as a list of
 * members that a test can edit and write back, and a verify shortcut.
 * Static functions only; included by one test file each.
 */
#ifndef PETRI_AUDIT_FIXTURE_H
#define PETRI_AUDIT_FIXTURE_H

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit_log.h"
#include "buf.h"
#include "bundle.h"
#include "tar.h"
#include "util.h"
#include "verify.h"

/* Not every test file uses every helper. */
#define FX_FN static __attribute__((unused))

#define FX_ORIGIN "petri.test/log"
#define FX_MAX_MEMBERS 4096

/* Removes a directory tree (scratch data only). */
FX_FN void
fx_rmtree(const char *path)
{
	DIR *d;
	struct dirent *de;
	char sub[PATH_MAX];
	struct stat st;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			fx_rmtree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

/* A fresh scratch directory name under /tmp (caller removes it). */
FX_FN void
fx_tmpdir(char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "/tmp/petri-audit-test-XXXXXX");
	if (mkdtemp(out) == NULL)
		abort();
}

FX_FN void
fx_path(char out[PATH_MAX], const char *dir, const char *rel)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, rel) >= PATH_MAX)
		abort();
}

/* Copies a regular file byte for byte. */
FX_FN int
fx_copy(const char *from, const char *to)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	if ((r = petri_file_read(from, (size_t)1 << 30, &data, &len)) != 0)
		return r;
	r = petri_file_write_atomic(to, data, len, 0600);
	free(data);
	return r;
}

/* Copies a directory tree of regular files. */
FX_FN int
fx_copy_tree(const char *from, const char *to)
{
	DIR *d;
	struct dirent *de;
	char a[PATH_MAX], b[PATH_MAX];
	struct stat st;
	int r = 0;

	if (mkdir(to, 0700) != 0 || (d = opendir(from)) == NULL)
		return -1;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		fx_path(a, from, de->d_name);
		fx_path(b, to, de->d_name);
		if (lstat(a, &st) != 0)
			r = -1;
		else if (S_ISDIR(st.st_mode))
			r = fx_copy_tree(a, b);
		else if (S_ISREG(st.st_mode))
			r = fx_copy(a, b);
	}
	closedir(d);
	return r;
}

/* Copies a closed log directory: database, keys and blobs. */
FX_FN int
fx_copy_log(const char *from, const char *to)
{
	return fx_copy_tree(from, to);
}

/* The log's signing key, read back from keys/log.key (for forgeries). */
FX_FN int
fx_log_key(
    const char *dir, unsigned char sk[AUDIT_SECKEY_LEN], struct audit_key *k)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int r;

	fx_path(path, dir, "keys/log.key");
	if ((r = petri_file_read(path, 1024, &text, &len)) != 0)
		return r;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	r = audit_skey_parse(text, len, sk, k);
	sodium_memzero(text, len);
	free(text);
	return r;
}

/* The log's public key from keys/log.pub. */
FX_FN int
fx_log_pub(const char *dir, struct audit_key *k)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int r;

	fx_path(path, dir, "keys/log.pub");
	if ((r = petri_file_read(path, 1024, &text, &len)) != 0)
		return r;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	r = audit_vkey_parse(text, len, k);
	free(text);
	return r;
}

/* Appends an exec-like event, optionally with a stored output blob. */
FX_FN int
fx_append(
    struct audit_log *log, int i, int with_blob, struct audit_appended *out)
{
	char sha[PETRI_SHA256_HEX], data[64];
	json_t *ev;
	int n, r;

	ev = json_pack("{s:s, s:{s:s, s:s}, s:[s, s], s:i}", "tenant", "t1",
	    "actor", "key", "k_1", "role", "admin", "argv", "python3",
	    "main.py", "exit_code", i % 3);
	if (ev == NULL)
		return PETRI_ERR_NOMEM;
	if (with_blob) {
		n = snprintf(data, sizeof(data), "output of run %d\n", i);
		if ((r = audit_log_blob_put(log, data, (size_t)n, sha)) != 0) {
			json_decref(ev);
			return r;
		}
		json_object_set_new(
		    ev, "stdout", audit_blob_ref_new(sha, (uint64_t)n));
	}
	r = audit_log_append(log, "exec.finished", ev, out);
	json_decref(ev);
	return r;
}

/* ---- bundles as editable member lists ---- */

struct fx_member {
	char name[AUDIT_TAR_NAME_MAX + 1];
	unsigned char *data;
	size_t len;
};

struct fx_bundle {
	struct fx_member m[FX_MAX_MEMBERS];
	size_t n;
};

FX_FN void
fx_bundle_free(struct fx_bundle *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->m[i].data);
	b->n = 0;
}

/* Loads a bundle, keeping the members in archive order. */
FX_FN int
fx_bundle_load(const char *path, struct fx_bundle *b)
{
	struct audit_tar t;
	char *data = NULL;
	size_t len = 0, off = 0, i;
	int r;

	b->n = 0;
	if ((r = petri_file_read(path, (size_t)1 << 30, &data, &len)) != 0)
		return r;
	if ((r = audit_tar_index(data, len, FX_MAX_MEMBERS, &t)) != 0) {
		free(data);
		return r;
	}
	/* the index is sorted by name; walk headers for archive order */
	while (off + 512 <= len && data[off] != '\0') {
		char name[101];
		const struct audit_tar_entry *e;

		memcpy(name, data + off, 100);
		name[100] = '\0';
		if ((e = audit_tar_find(&t, name)) == NULL)
			break;
		petri_strlcpy(b->m[b->n].name, e->name, sizeof(b->m[0].name));
		b->m[b->n].len = (size_t)e->size;
		b->m[b->n].data = malloc(e->size + 1);
		memcpy(b->m[b->n].data, e->data, e->size);
		b->m[b->n].data[e->size] = '\0';
		b->n++;
		off = (size_t)(e->data - (const unsigned char *)data) +
		    (size_t)((e->size + 511) / 512 * 512);
	}
	i = t.count;
	audit_tar_free(&t);
	free(data);
	return b->n == i ? 0 : PETRI_ERR_INVAL;
}

FX_FN int
fx_bundle_save(const struct fx_bundle *b, const char *path)
{
	struct audit_tar_writer *w;
	size_t i;
	int fd, r = 0;

	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		return PETRI_ERR_IO;
	w = malloc(sizeof(*w));
	audit_tar_writer_init(w, fd, 0);
	for (i = 0; i < b->n && r == 0; i++)
		r = audit_tar_add(w, b->m[i].name, b->m[i].data, b->m[i].len);
	if (r == 0)
		r = audit_tar_finish(w);
	free(w);
	close(fd);
	return r;
}

FX_FN struct fx_member *
fx_bundle_get(struct fx_bundle *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->m[i].name, name) == 0)
			return &b->m[i];
	return NULL;
}

/* Replaces (or adds) a member's content. */
FX_FN void
fx_bundle_set(
    struct fx_bundle *b, const char *name, const void *data, size_t len)
{
	struct fx_member *m = fx_bundle_get(b, name);

	if (m == NULL) {
		m = &b->m[b->n++];
		petri_strlcpy(m->name, name, sizeof(m->name));
	} else
		free(m->data);
	m->data = malloc(len + 1);
	memcpy(m->data, data, len);
	m->data[len] = '\0';
	m->len = len;
}

FX_FN void
fx_bundle_del(struct fx_bundle *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->m[i].name, name) == 0) {
			free(b->m[i].data);
			memmove(&b->m[i], &b->m[i + 1],
			    (b->n - i - 1) * sizeof(b->m[0]));
			b->n--;
			return;
		}
}

/* The lines of a member (pointers into a private copy). */
struct fx_lines {
	char *buf;
	char *line[65536];
	size_t n;
};

FX_FN void
fx_lines_split(const struct fx_member *m, struct fx_lines *l)
{
	char *p, *nl;

	l->buf = malloc(m->len + 1);
	memcpy(l->buf, m->data, m->len);
	l->buf[m->len] = '\0';
	l->n = 0;
	for (p = l->buf; *p != '\0' && (nl = strchr(p, '\n')) != NULL;
	     p = nl + 1) {
		*nl = '\0';
		l->line[l->n++] = p;
	}
}

/* Writes the lines back into member name (each with its newline). */
FX_FN void
fx_lines_join(struct fx_bundle *b, const char *name, const struct fx_lines *l)
{
	struct buf out;
	size_t i;

	buf_init(&out, (size_t)1 << 30);
	for (i = 0; i < l->n; i++)
		if (buf_append_str(&out, l->line[i]) != 0 ||
		    buf_append(&out, "\n", 1) != 0)
			abort();
	fx_bundle_set(
	    b, name, out.len ? out.data : (unsigned char *)"", out.len);
	buf_free(&out);
}

FX_FN void
fx_lines_free(struct fx_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->n = 0;
}

/* Verifies the bundle at path with the pinned key (and trusted note). */
FX_FN int
fx_verify(const char *path, const struct audit_key *k, const char *trusted,
    int partial, int fast, struct audit_verify_result *res)
{
	struct audit_verify_opts o;

	memset(&o, 0, sizeof(o));
	o.key = *k;
	o.trusted = trusted;
	o.trusted_len = trusted != NULL ? strlen(trusted) : 0;
	o.partial = partial;
	o.fast = fast;
	o.threads = 2;
	return audit_verify_file(path, &o, res);
}

#endif /* PETRI_AUDIT_FIXTURE_H */
