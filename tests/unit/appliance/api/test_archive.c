/*
 * test_archive.c: reading uploaded archives (upload_archive).  Every archive is
 * built here with libarchive's writer: valid projects in each format,
 * zip slip, absolute paths, link escapes, special files, bombs.
 */
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "unit.h"
#include "util.h"
#include "upload_archive.h"

enum fmt { F_TAR, F_TGZ, F_TBZ2, F_TXZ, F_TZST, F_ZIP };

#define T_HARDLINK 1 /* pseudo type: hard link to data */

struct ent {
	const char *path;
	int type; /* AE_IF*, or T_HARDLINK */
	const char *data; /* content, link target */
	int mode;
};

#define FILE_E(p, d)                                                           \
	{                                                                      \
		(p), AE_IFREG, (d), 0644                                       \
	}
#define DIR_E(p)                                                               \
	{                                                                      \
		(p), AE_IFDIR, NULL, 0755                                      \
	}
#define LINK_E(p, t)                                                           \
	{                                                                      \
		(p), AE_IFLNK, (t), 0777                                       \
	}
#define HARD_E(p, t)                                                           \
	{                                                                      \
		(p), T_HARDLINK, (t), 0644                                     \
	}
#define N(a) (sizeof(a) / sizeof((a)[0]))

static la_ssize_t
out_write(struct archive *a, void *arg, const void *p, size_t n)
{
	(void)a;
	return buf_append(arg, p, n) == 0 ? (la_ssize_t)n : -1;
}

static struct archive *
out_open(struct buf *b, enum fmt f)
{
	struct archive *a = archive_write_new();
	int r = ARCHIVE_OK;

	buf_init(b, 64UL << 20);
	if (f == F_ZIP)
		r = archive_write_set_format_zip(a);

	else
		r = archive_write_set_format_pax_restricted(a);
	if (r == ARCHIVE_OK && f == F_TGZ)
		r = archive_write_add_filter_gzip(a);
	if (r == ARCHIVE_OK && f == F_TBZ2)
		r = archive_write_add_filter_bzip2(a);
	if (r == ARCHIVE_OK && f == F_TXZ)
		r = archive_write_add_filter_xz(a);
	if (r == ARCHIVE_OK && f == F_TZST)
		r = archive_write_add_filter_zstd(a);
	/* no zero padding after the compressed stream, as real tools do */
	if (r == ARCHIVE_OK)
		r = archive_write_set_bytes_in_last_block(a, 1);
	if (r == ARCHIVE_OK)
		r = archive_write_open(a, b, NULL, out_write, NULL);
	if (r != ARCHIVE_OK) {
		fprintf(stderr, "writer: %s\n", archive_error_string(a));
		archive_write_free(a);
		return NULL;
	}
	return a;
}

static int
out_close(struct archive *a)
{
	int r = archive_write_close(a);

	archive_write_free(a);
	return r == ARCHIVE_OK ? 0 : -1;
}

/* Builds an archive of the n entries in b (caller frees with buf_free). */
static int
build(struct buf *b, enum fmt f, const struct ent *e, size_t n)
{
	struct archive *a;
	struct archive_entry *ae;
	size_t i;
	int bad = 0;

	if ((a = out_open(b, f)) == NULL)
		return -1;
	for (i = 0; i < n && !bad; i++) {
		size_t len = e[i].data != NULL ? strlen(e[i].data) : 0;

		ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_mtime(ae, 1700000000, 0);
		archive_entry_set_perm(ae, (mode_t)e[i].mode);
		if (e[i].type == T_HARDLINK) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].data);
			archive_entry_set_size(ae, 0);
			len = 0;
		} else {
			archive_entry_set_filetype(ae, (unsigned)e[i].type);
			if (e[i].type == AE_IFLNK)
				archive_entry_set_symlink(ae, e[i].data);
			if (e[i].type == AE_IFCHR || e[i].type == AE_IFBLK)
				archive_entry_set_rdev(ae, makedev(1, 3));
			archive_entry_set_size(
			    ae, e[i].type == AE_IFREG ? (la_int64_t)len : 0);
		}
		if (archive_write_header(a, ae) < ARCHIVE_WARN) {
			fprintf(stderr, "writer: %s: %s\n", e[i].path,
			    archive_error_string(a));
			bad = 1;
		} else if (e[i].type == AE_IFREG && len > 0 &&
		    archive_write_data(a, e[i].data, len) != (la_ssize_t)len)
			bad = 1;
		archive_entry_free(ae);
	}
	if (out_close(a) != 0 || bad) {
		buf_free(b);
		return -1;
	}
	return 0;
}

/* Builds an archive of count files of size bytes of zeros each. */
static int
build_zeros(struct buf *b, enum fmt f, int count, size_t size, int sized)
{
	static const char zero[64 * 1024];
	struct archive *a;
	struct archive_entry *ae;
	char name[32];
	size_t left;
	int i, bad = 0;

	if ((a = out_open(b, f)) == NULL)
		return -1;
	for (i = 0; i < count && !bad; i++) {
		ae = archive_entry_new();
		snprintf(name, sizeof(name), "zeros%d.bin", i);
		archive_entry_set_pathname(ae, name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		if (sized)
			archive_entry_set_size(ae, (la_int64_t)size);
		bad = archive_write_header(a, ae) != ARCHIVE_OK;
		for (left = size; left > 0 && !bad;) {
			size_t k = left < sizeof(zero) ? left : sizeof(zero);

			bad = archive_write_data(a, zero, k) != (la_ssize_t)k;
			left -= k;
		}
		archive_entry_free(ae);
	}
	if (out_close(a) != 0 || bad) {
		buf_free(b);
		return -1;
	}
	return 0;
}

/* What the callback saw. */
struct seen {
	int n;
	int calls;
	struct {
		char path[WS_MAX_PATH + 1];
		char link[WS_MAX_PATH + 1];
		enum upload_archive_type type;
		int mode;
		uint64_t bytes;
		char sha[PETRI_SHA256_HEX];
	} e[64];
	int fail_with; /* return this from the callback */
	int ignore; /* ignore read errors */
	ssize_t last; /* last upload_archive_data_read() result */
};

static int
collect(void *arg, const struct upload_archive_entry *e,
    struct upload_archive_reader *r)
{
	struct seen *s = arg;
	crypto_hash_sha256_state h;
	unsigned char buf[4096], md[crypto_hash_sha256_BYTES];
	ssize_t n;
	int i;

	s->calls++;
	if (s->n >= (int)N(s->e))
		return PETRI_ERR_TOOBIG;
	i = s->n++;
	petri_strlcpy(s->e[i].path, e->path, sizeof(s->e[i].path));
	petri_strlcpy(
	    s->e[i].link, e->link != NULL ? e->link : "", sizeof(s->e[i].link));
	s->e[i].type = e->type;
	s->e[i].mode = e->mode;
	crypto_hash_sha256_init(&h);
	while ((n = upload_archive_data_read(r, buf, sizeof(buf))) > 0) {
		crypto_hash_sha256_update(&h, buf, (unsigned long long)n);
		s->e[i].bytes += (uint64_t)n;
	}
	s->last = n;
	crypto_hash_sha256_final(&h, md);
	petri_hex(md, sizeof(md), s->e[i].sha);
	if (n < 0 && !s->ignore)
		return (int)n;
	return s->fail_with;
}

static int
sha_is(const char *sha, const char *data)
{
	char want[PETRI_SHA256_HEX];

	petri_sha256_hex(data, strlen(data), want);
	return strcmp(sha, want) == 0;
}

/* Reads b with strip, recording into s; returns the code. */
static int
read_buf(const struct buf *b, size_t strip, struct seen *s,
    struct upload_archive_err *err)
{
	struct upload_archive_opts o;

	memset(&o, 0, sizeof(o));
	o.strip = strip;
	return upload_archive_read_mem(b->data, b->len, &o, collect, s, err);
}

/* Builds e in format f and reads it: returns the code, err filled. */
static int
try(enum fmt f, const struct ent *e, size_t n, struct upload_archive_err *err)
{
	struct buf b;
	struct seen *s;
	int rc;

	if (build(&b, f, e, n) != 0)
		return 999;
	s = calloc(1, sizeof(*s));
	rc = read_buf(&b, 0, s, err);
	free(s);
	buf_free(&b);
	return rc;
}

static const struct ent project[] = {
    DIR_E("proj/"),
    FILE_E("proj/README.md", "hello\n"),
    DIR_E("proj/src/"),
    FILE_E("proj/src/main.py", "print('hi')\n"),
    FILE_E("proj/src/pkg/__init__.py", ""),
    {"proj/run.sh", AE_IFREG, "#!/bin/sh\necho run\n", 0775},
    LINK_E("proj/src/lib", "pkg"),
    LINK_E("proj/docs", "./src/../README.md"),
    FILE_E("proj/caf\xc3\xa9/\xe2\x82\xac.txt", "euro"),
    FILE_E("toplevel.txt", "stripped away with strip=1"),
};

static int
find(const struct seen *s, const char *path)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->e[i].path, path) == 0)
			return i;
	return -1;
}

static void
check_project(enum fmt f, size_t strip)
{
	const char *pre = strip ? "" : "proj/";
	struct upload_archive_err err;
	struct seen *s = calloc(1, sizeof(*s));
	struct buf b;
	char p[128];
	int i;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_EQ(build(&b, f, project, N(project)), 0);
	CHECK_EQ(read_buf(&b, strip, s, &err), 0);
	CHECK_EQ(err.code, 0);
	CHECK_STR(err.msg, "");
	/* strip=1 drops "proj/" itself and the top-level file */
	CHECK_EQ(s->n, strip ? 8 : 10);
	snprintf(p, sizeof(p), "%sREADME.md", pre);
	CHECK((i = find(s, p)) >= 0);
	if (i >= 0) {
		CHECK_EQ(s->e[i].type, UPLOAD_ARCHIVE_FILE);
		CHECK_EQ(s->e[i].mode, 0644);
		CHECK(sha_is(s->e[i].sha, "hello\n"));
	}
	snprintf(p, sizeof(p), "%ssrc/main.py", pre);
	CHECK((i = find(s, p)) >= 0);
	if (i >= 0)
		CHECK(sha_is(s->e[i].sha, "print('hi')\n"));
	snprintf(p, sizeof(p), "%srun.sh", pre);
	CHECK((i = find(s, p)) >= 0);
	if (i >= 0)
		CHECK_EQ(s->e[i].mode, 0755);
	snprintf(p, sizeof(p), "%ssrc/pkg/__init__.py", pre);
	CHECK((i = find(s, p)) >= 0);
	if (i >= 0)
		CHECK_EQ(s->e[i].bytes, 0);
	snprintf(p, sizeof(p), "%ssrc/lib", pre);
	CHECK((i = find(s, p)) >= 0);
	if (i >= 0) {
		CHECK_EQ(s->e[i].type, UPLOAD_ARCHIVE_SYMLINK);
		CHECK_STR(s->e[i].link, "pkg");
	}
	snprintf(p, sizeof(p), "%sdocs", pre);
	CHECK((i = find(s, p)) >= 0);
	if (i >= 0)
		CHECK_STR(s->e[i].link, "README.md"); /* canonical */
	snprintf(p, sizeof(p), "%scaf\xc3\xa9/\xe2\x82\xac.txt", pre);
	CHECK((i = find(s, p)) >= 0);
	if (!strip) {
		CHECK((i = find(s, "proj")) >= 0);
		if (i >= 0)
			CHECK_EQ(s->e[i].type, UPLOAD_ARCHIVE_DIR);
		CHECK(find(s, "toplevel.txt") >= 0);
	} else {
		CHECK_EQ(find(s, "toplevel.txt"), -1);
		CHECK_EQ(find(s, ""), -1);
	}
	free(s);
	buf_free(&b);
}

static void
test_project_formats(void)
{
	check_project(F_TAR, 0);
	check_project(F_TGZ, 0);
	check_project(F_TBZ2, 0);
	check_project(F_TXZ, 0);
	check_project(F_TZST, 0);
	check_project(F_ZIP, 0);
}

static void
test_project_strip(void)
{
	check_project(F_TGZ, 1);
	check_project(F_ZIP, 1);
}

static void
test_hardlink_copy(void)
{
	static const struct ent e[] = {
	    FILE_E("a/orig.txt", "the data"),
	    HARD_E("b/copy.txt", "a/orig.txt"),
	};
	struct upload_archive_err err;
	struct seen *s = calloc(1, sizeof(*s));
	struct buf b;

	CHECK_EQ(build(&b, F_TAR, e, N(e)), 0);
	CHECK_EQ(read_buf(&b, 0, s, &err), 0);
	CHECK_EQ(s->n, 2);
	CHECK_EQ(s->e[1].type, UPLOAD_ARCHIVE_HARDLINK);
	CHECK_STR(s->e[1].path, "b/copy.txt");
	CHECK_STR(s->e[1].link, "a/orig.txt");
	buf_free(&b);
	/* with strip, the target is stripped too */
	memset(s, 0, sizeof(*s));
	CHECK_EQ(build(&b, F_TAR, e, N(e)), 0);
	CHECK_EQ(read_buf(&b, 1, s, &err), 0);
	CHECK_EQ(s->n, 2);
	CHECK_STR(s->e[1].path, "copy.txt");
	CHECK_STR(s->e[1].link, "orig.txt");
	buf_free(&b);
	free(s);
}

static void
test_zip_slip(void)
{
	static const struct ent slip[] = {FILE_E("../../etc/x", "pwned")};
	static const struct ent deep[] = {FILE_E("a/b/../../../x", "p")};
	static const struct ent abs[] = {FILE_E("/etc/passwd", "root::0")};
	static const struct ent sbx[] = {FILE_E("/sandbox/x", "p")};
	static const struct ent bs[] = {FILE_E("..\\..\\evil.txt", "p")};
	static const struct ent res[] = {FILE_E(".petri/state", "p")};
	struct upload_archive_err err;

	CHECK_EQ(try(F_ZIP, slip, 1, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, "../../etc/x") != NULL);
	CHECK(strstr(err.msg, "..") != NULL);
	CHECK_EQ(err.code, PETRI_ERR_PATH);
	CHECK_EQ(try(F_TGZ, slip, 1, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, deep, 1, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, abs, 1, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, "absolute") != NULL);
	CHECK_EQ(try(F_ZIP, abs, 1, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, sbx, 1, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, bs, 1, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, "backslash") != NULL);
	/*
	 * libarchive may read zip backslashes as '/' (whether it does
	 * depends on its version and on the entry): refused either way.
	 */
	CHECK_EQ(try(F_ZIP, bs, 1, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, "'..'") != NULL ||
	    strstr(err.msg, "backslash") != NULL);
	CHECK_EQ(try(F_TAR, res, 1, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, ".petri") != NULL);
}

static void
test_symlink_escapes(void)
{
	static const struct ent up[] = {LINK_E("link", "../../")};
	static const struct ent up2[] = {LINK_E("a/b/l", "../../../x")};
	static const struct ent other[] = {LINK_E("o", "../sb_other")};
	static const struct ent abs[] = {LINK_E("a", "/etc")};
	static const struct ent abs_then[] = {
	    LINK_E("a", "/etc"),
	    FILE_E("a/passwd", "root::0:0"),
	};
	static const struct ent rel_then[] = {
	    DIR_E("sub/"),
	    LINK_E("a", "sub"),
	    FILE_E("a/passwd", "root::0:0"),
	};
	static const struct ent link_then_dir[] = {
	    LINK_E("a", "sub"),
	    DIR_E("a/"),
	};
	struct upload_archive_err err;

	CHECK_EQ(try(F_TAR, up, 1, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, "'link'") != NULL);
	CHECK(strstr(err.msg, "leaves the workspace") != NULL);
	CHECK_EQ(try(F_ZIP, up, 1, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, up2, 1, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TGZ, other, 1, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, abs, 1, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, "absolute") != NULL);
	CHECK_EQ(try(F_ZIP, abs, 1, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, abs_then, 2, &err), PETRI_ERR_PATH);
	/* a relative link is fine, but nothing may go through it */
	CHECK_EQ(try(F_TAR, rel_then, 3, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, "'a/passwd'") != NULL);
	CHECK(strstr(err.msg, "symbolic link") != NULL);
	CHECK_EQ(try(F_ZIP, rel_then, 3, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, link_then_dir, 2, &err), PETRI_ERR_EXISTS);
}

static void
test_hardlink_escapes(void)
{
	static const struct ent up[] = {HARD_E("h", "../../etc/passwd")};
	static const struct ent abs[] = {HARD_E("h", "/etc/passwd")};
	static const struct ent none[] = {HARD_E("h", "not/in/archive")};
	static const struct ent later[] = {
	    HARD_E("h", "f"),
	    FILE_E("f", "data"),
	};
	static const struct ent tolink[] = {
	    FILE_E("f", "data"),
	    LINK_E("l", "f"),
	    HARD_E("h", "l"),
	};
	static const struct ent todir[] = {
	    DIR_E("d/"),
	    HARD_E("h", "d"),
	};
	static const struct ent stripped[] = {
	    FILE_E("top", "data"),
	    HARD_E("p/h", "top"),
	};
	struct upload_archive_err err;
	struct seen *s = calloc(1, sizeof(*s));
	struct buf b;

	CHECK_EQ(try(F_TAR, up, 1, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, "hard link") != NULL);
	CHECK_EQ(try(F_TAR, abs, 1, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, none, 1, &err), PETRI_ERR_PATH);
	CHECK(strstr(err.msg, "earlier file") != NULL);
	CHECK_EQ(try(F_TAR, later, 2, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, tolink, 3, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, todir, 2, &err), PETRI_ERR_PATH);
	/* a target that strip removes is no target */
	CHECK_EQ(build(&b, F_TAR, stripped, N(stripped)), 0);
	CHECK_EQ(read_buf(&b, 1, s, &err), PETRI_ERR_PATH);
	buf_free(&b);
	free(s);
}

static void
test_special_files(void)
{
	static const struct ent fifo[] = {
	    FILE_E("ok.txt", "fine"),
	    {"pipe", AE_IFIFO, NULL, 0644},
	};
	static const struct ent chr[] = {{"dev/null", AE_IFCHR, NULL, 0666}};
	static const struct ent blk[] = {{"sda", AE_IFBLK, NULL, 0660}};
	struct upload_archive_err err;

	CHECK_EQ(try(F_TAR, fifo, 2, &err), PETRI_ERR_UNSUPPORTED);
	CHECK(strstr(err.msg, "'pipe'") != NULL);
	CHECK(strstr(err.msg, "fifo") != NULL);
	CHECK_EQ(try(F_TGZ, chr, 1, &err), PETRI_ERR_UNSUPPORTED);
	CHECK(strstr(err.msg, "'dev/null'") != NULL);
	CHECK(strstr(err.msg, "device") != NULL);
	CHECK_EQ(try(F_TAR, blk, 1, &err), PETRI_ERR_UNSUPPORTED);
}

static void
test_duplicates(void)
{
	static const struct ent twice[] = {
	    FILE_E("a.txt", "first"),
	    FILE_E("a.txt", "second"),
	};
	static const struct ent file_dir[] = {
	    FILE_E("x", "file"),
	    DIR_E("x/"),
	};
	static const struct ent dir_file[] = {
	    DIR_E("x/"),
	    FILE_E("x", "file"),
	};
	static const struct ent implied[] = {
	    FILE_E("x/inner", "data"),
	    FILE_E("x", "file"),
	};
	static const struct ent under_file[] = {
	    FILE_E("x", "file"),
	    FILE_E("x/inner", "data"),
	};
	static const struct ent dirs[] = {
	    DIR_E("d/"), DIR_E("d/"), FILE_E("d/f", "ok")};
	struct upload_archive_err err;
	struct seen *s = calloc(1, sizeof(*s));
	struct buf b;

	/* the later file wins: both are handed over, in order */
	CHECK_EQ(build(&b, F_TAR, twice, N(twice)), 0);
	CHECK_EQ(read_buf(&b, 0, s, &err), 0);
	CHECK_EQ(s->n, 2);
	CHECK(sha_is(s->e[1].sha, "second"));
	buf_free(&b);
	CHECK_EQ(try(F_TAR, file_dir, 2, &err), PETRI_ERR_EXISTS);
	CHECK(strstr(err.msg, "'x/'") != NULL);
	CHECK_EQ(try(F_ZIP, file_dir, 2, &err), PETRI_ERR_EXISTS);
	CHECK_EQ(try(F_TAR, dir_file, 2, &err), PETRI_ERR_EXISTS);
	CHECK_EQ(try(F_TAR, implied, 2, &err), PETRI_ERR_EXISTS);
	CHECK_EQ(try(F_TAR, under_file, 2, &err), PETRI_ERR_PATH);
	CHECK_EQ(try(F_TAR, dirs, N(dirs), &err), 0);
	free(s);
}

static void
test_not_an_archive(void)
{
	static const char text[] = "just some text, not an archive\n";
	unsigned char junk[4096];
	struct upload_archive_err err;
	struct buf b;
	size_t i;

	CHECK_EQ(upload_archive_read_mem(
	             text, sizeof(text) - 1, NULL, NULL, NULL, &err),
	    PETRI_ERR_INVAL);
	CHECK(strstr(err.msg, "not a readable zip or tar") != NULL);
	CHECK_EQ(upload_archive_read_mem(NULL, 0, NULL, NULL, NULL, &err),
	    PETRI_ERR_INVAL);
	CHECK_EQ(upload_archive_read_mem("", 0, NULL, NULL, NULL, &err),
	    PETRI_ERR_INVAL);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 3);
	CHECK_EQ(
	    upload_archive_read_mem(junk, sizeof(junk), NULL, NULL, NULL, &err),
	    PETRI_ERR_INVAL);
	/* an empty tar.gz is a valid, empty archive */
	CHECK_EQ(build(&b, F_TGZ, NULL, 0), 0);
	CHECK_EQ(
	    upload_archive_read_mem(b.data, b.len, NULL, NULL, NULL, &err), 0);
	buf_free(&b);
	/* cut short: damaged */
	CHECK_EQ(build(&b, F_TGZ, project, N(project)), 0);
	CHECK(upload_archive_read_mem(
	          b.data, b.len / 2, NULL, NULL, NULL, &err) < 0);
	CHECK(strstr(err.msg, "truncated gzip") != NULL);
	buf_free(&b);
	CHECK_EQ(build(&b, F_TAR, project, N(project)), 0);
	CHECK_EQ(upload_archive_read_mem(b.data, 1200, NULL, NULL, NULL, &err),
	    PETRI_ERR_INVAL);
	CHECK(strstr(err.msg, "'proj/README.md' cannot be read") != NULL);
	buf_free(&b);
	/* (a zip without its central directory is read as a stream) */
	CHECK_EQ(build(&b, F_ZIP, project, N(project)), 0);
	CHECK(upload_archive_read_mem(
	          b.data, b.len - 1000, NULL, NULL, NULL, &err) < 0);
	CHECK(strstr(err.msg, "damaged") != NULL);
	buf_free(&b);
	CHECK_EQ(upload_archive_read_mem(text, 1, NULL, NULL, NULL, NULL),
	    PETRI_ERR_INVAL);
}

static void
test_callback_errors(void)
{
	static const struct ent e[] = {
	    FILE_E("a", "aaaa"),
	    FILE_E("b", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
	};
	struct upload_archive_opts o;
	struct upload_archive_err err;
	struct seen *s = calloc(1, sizeof(*s));
	struct buf b;

	/* the callback's code comes back, with the entry named */
	CHECK_EQ(build(&b, F_TAR, e, N(e)), 0);
	s->fail_with = PETRI_ERR_LIMIT;
	CHECK_EQ(upload_archive_read_mem(b.data, b.len, NULL, collect, s, &err),
	    PETRI_ERR_LIMIT);
	CHECK_EQ(s->calls, 1);
	CHECK(strstr(err.msg, "'a'") != NULL);

	/* a callback that ignores a read error cannot hide it */
	memset(s, 0, sizeof(*s));
	s->ignore = 1;
	memset(&o, 0, sizeof(o));
	o.max_file = 10;
	CHECK_EQ(upload_archive_read_mem(b.data, b.len, &o, collect, s, &err),
	    PETRI_ERR_TOOBIG);
	CHECK_EQ(s->calls, 1); /* "b" declared 48 bytes: refused early */
	buf_free(&b);
	free(s);
}

static void
test_caps_entries(void)
{
	struct ent *e = calloc(WS_MAX_ARCHIVE_ENTRIES + 1, sizeof(*e));
	char(*names)[16] = calloc(WS_MAX_ARCHIVE_ENTRIES + 1, sizeof(*names));
	struct upload_archive_opts o;
	struct upload_archive_err err;
	struct buf b;
	int i;

	CHECK(e != NULL && names != NULL);
	if (e == NULL || names == NULL)
		goto out;
	for (i = 0; i <= WS_MAX_ARCHIVE_ENTRIES; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d/f%d", i % 10, i);
		e[i].path = names[i];
		e[i].type = AE_IFREG;
		e[i].data = "";
		e[i].mode = 0644;
	}
	/* exactly at the cap: fine; one more: 413 */
	CHECK_EQ(build(&b, F_TGZ, e, WS_MAX_ARCHIVE_ENTRIES), 0);
	CHECK_EQ(
	    upload_archive_read_mem(b.data, b.len, NULL, NULL, NULL, &err), 0);
	buf_free(&b);
	CHECK_EQ(build(&b, F_TGZ, e, WS_MAX_ARCHIVE_ENTRIES + 1), 0);
	CHECK_EQ(upload_archive_read_mem(b.data, b.len, NULL, NULL, NULL, &err),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err.msg, "entries") != NULL);
	buf_free(&b);
	/* a lower cap from the caller; zip too */
	memset(&o, 0, sizeof(o));
	o.max_entries = 100;
	CHECK_EQ(build(&b, F_ZIP, e, 101), 0);
	CHECK_EQ(upload_archive_read_mem(b.data, b.len, &o, NULL, NULL, &err),
	    PETRI_ERR_TOOBIG);
	buf_free(&b);
out:
	free(e);
	free(names);
}

static void
test_caps_sizes(void)
{
	static const struct ent e[] = {
	    FILE_E("a", "0123456789"),
	    FILE_E("b", "0123456789"),
	    HARD_E("c", "a"),
	};
	struct upload_archive_opts o;
	struct upload_archive_err err;
	struct buf b;

	CHECK_EQ(build(&b, F_TAR, e, N(e)), 0);
	memset(&o, 0, sizeof(o));
	o.max_file = 9;
	CHECK_EQ(upload_archive_read_mem(b.data, b.len, &o, NULL, NULL, &err),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err.msg, "'a'") != NULL);
	/* total: 20 bytes of files, 30 with the hard link's copy */
	o.max_file = 0;
	o.max_total = 20;
	CHECK_EQ(upload_archive_read_mem(b.data, b.len, &o, NULL, NULL, &err),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err.msg, "expands") != NULL);
	o.max_total = 30;
	CHECK_EQ(
	    upload_archive_read_mem(b.data, b.len, &o, NULL, NULL, &err), 0);
	/* limits above bounds.h are lowered to them */
	o.max_total = UINT64_MAX;
	o.max_file = UINT64_MAX;
	o.max_entries = UINT64_MAX;
	o.max_ratio = UINT64_MAX;
	CHECK_EQ(
	    upload_archive_read_mem(b.data, b.len, &o, NULL, NULL, &err), 0);
	buf_free(&b);

	/* a header announcing more than WS_MAX_FILE is refused unread */
	CHECK_EQ(build_zeros(&b, F_TGZ, 1, WS_MAX_FILE + 1, 1), 0);
	CHECK_EQ(upload_archive_read_mem(b.data, b.len, NULL, NULL, NULL, &err),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err.msg, "zeros0.bin") != NULL);
	buf_free(&b);
}

/* Feeds the n bytes at p into a pipe from a child process. */
static int
pipe_from(const void *p, size_t n, pid_t *pidp)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		_exit(petri_write_all(fds[1], p, n) == 0 ? 0 : 1);
	}
	close(fds[1]);
	*pidp = pid;
	return fds[0];
}

static void
test_fd_sources(void)
{
	struct upload_archive_err err;
	struct seen *s = calloc(1, sizeof(*s));
	struct upload_archive_opts o;
	struct buf b;
	char path[] = "/tmp/petri-archive-XXXXXX";
	pid_t pid;
	int fd, st;

	/* a regular file, from offset 0 whatever the fd's offset */
	CHECK_EQ(build(&b, F_ZIP, project, N(project)), 0);
	CHECK((fd = mkstemp(path)) >= 0);
	unlink(path);
	CHECK_EQ(petri_write_all(fd, b.data, b.len), 0);
	CHECK_EQ(upload_archive_read_fd(fd, NULL, collect, s, &err), 0);
	CHECK_EQ(s->n, 10);
	close(fd);
	/* a pipe: zip read as a stream */
	memset(s, 0, sizeof(*s));
	CHECK((fd = pipe_from(b.data, b.len, &pid)) >= 0);
	CHECK_EQ(upload_archive_read_fd(fd, NULL, collect, s, &err), 0);
	CHECK_EQ(s->n, 10);
	close(fd);
	waitpid(pid, &st, 0);
	buf_free(&b);
	CHECK_EQ(
	    upload_archive_read_fd(-1, NULL, NULL, NULL, &err), PETRI_ERR_IO);

	/*
	 * Sizes unknown to the header (zip data descriptors, read as a
	 * stream): the bytes are counted as they come.
	 */
	CHECK_EQ(build_zeros(&b, F_ZIP, 1, 5000, 0), 0);
	memset(s, 0, sizeof(*s));
	memset(&o, 0, sizeof(o));
	o.max_file = 4096;
	CHECK((fd = pipe_from(b.data, b.len, &pid)) >= 0);
	CHECK_EQ(
	    upload_archive_read_fd(fd, &o, collect, s, &err), PETRI_ERR_TOOBIG);
	CHECK_EQ(s->calls, 1); /* reached the callback: counted */
	CHECK_EQ(s->last, PETRI_ERR_TOOBIG);
	CHECK(s->e[0].bytes <= 4096);
	close(fd);
	waitpid(pid, &st, 0);
	buf_free(&b);
	free(s);
}

static void
test_bomb_small(void)
{
	struct upload_archive_err err;
	struct buf b;

	/* 4 MiB of zeros in a few KiB: ratio ~1000 */
	CHECK_EQ(build_zeros(&b, F_TGZ, 1, 4UL << 20, 1), 0);
	CHECK(b.len < 64 * 1024);
	CHECK_EQ(upload_archive_read_mem(b.data, b.len, NULL, NULL, NULL, &err),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err.msg, "zip bomb") != NULL);
	buf_free(&b);
	/* below the floor, a very compressible file is fine */
	CHECK_EQ(build_zeros(&b, F_TGZ, 1, 512 * 1024, 1), 0);
	CHECK_EQ(
	    upload_archive_read_mem(b.data, b.len, NULL, NULL, NULL, &err), 0);
	buf_free(&b);
}

static void
test_bomb_600mb(void)
{
	struct upload_archive_err err;
	struct seen *s = calloc(1, sizeof(*s));
	struct buf b;
	uint64_t seen = 0;
	int i;

	/* 10 x 60 MiB of zeros: each under WS_MAX_FILE, 600 MiB in all */
	CHECK_EQ(build_zeros(&b, F_ZIP, 10, 60UL << 20, 1), 0);
	CHECK(b.len < 2UL << 20);
	CHECK_EQ(upload_archive_read_mem(b.data, b.len, NULL, collect, s, &err),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err.msg, "zip bomb") != NULL);
	/* stopped after about ratio x input, not 600 MiB */
	for (i = 0; i < s->n; i++)
		seen += s->e[i].bytes;
	CHECK(seen <= (uint64_t)WS_MAX_ARCHIVE_RATIO * b.len);
	CHECK(s->n < 10);
	buf_free(&b);
	free(s);
}

int
main(void)
{
	locale_t loc;

	/* the writer needs a UTF-8 locale for non-ASCII names */
	if ((loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0)) !=
	    (locale_t)0)
		uselocale(loc);
	UNIT_RUN(test_project_formats);
	UNIT_RUN(test_project_strip);
	UNIT_RUN(test_hardlink_copy);
	UNIT_RUN(test_zip_slip);
	UNIT_RUN(test_symlink_escapes);
	UNIT_RUN(test_hardlink_escapes);
	UNIT_RUN(test_special_files);
	UNIT_RUN(test_duplicates);
	UNIT_RUN(test_not_an_archive);
	UNIT_RUN(test_callback_errors);
	UNIT_RUN(test_caps_entries);
	UNIT_RUN(test_caps_sizes);
	UNIT_RUN(test_fd_sources);
	UNIT_RUN(test_bomb_small);
	UNIT_RUN(test_bomb_600mb);
	return UNIT_DONE();
}
