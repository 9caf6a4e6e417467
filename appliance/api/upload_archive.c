/* upload_archive.c: validated, bounded reading of uploaded archives. */
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upload_archive.h"
#include "wspath.h"

#define UPLOAD_ARCHIVE_IOBUF (64 * 1024)
#define UPLOAD_ARCHIVE_NAME 96 /* bytes of an entry name quoted in messages */
#define UPLOAD_ARCHIVE_NOTSUP                                                  \
	"the upload is not a readable zip or tar archive (tar may be "         \
	"compressed with gzip, bzip2, xz or zstd): %s"

struct upload_archive_reader {
	struct archive *a;
	struct upload_archive_err *err;
	struct wspath_tree *tree;
	size_t strip;
	uint64_t max_entries;
	uint64_t max_file;
	uint64_t max_total;
	uint64_t max_ratio;
	uint64_t insize; /* compressed input size; 0 when unknown */
	uint64_t consumed; /* bytes read from fd */
	uint64_t total; /* bytes decompressed and materialised */
	uint64_t entries; /* headers read */
	uint64_t cur_bytes;
	enum upload_archive_type cur_type;
	int cur_eof;
	int failed; /* sticky PETRI_ERR_* */
	int ioerr;
	int fd;
	unsigned char *iobuf;
	char name[UPLOAD_ARCHIVE_NAME + 4];
};

static int upload_archive_fail(struct upload_archive_reader *r, int code,
    const char *fmt, ...) PETRI_PRINTF(3, 4);

/*
 * Records the first failure of the read: code and message.  Later failures
 * keep the first message.  Returns code.
 */
static int
upload_archive_fail(
    struct upload_archive_reader *r, int code, const char *fmt, ...)
{
	char tmp[UPLOAD_ARCHIVE_MSG];
	va_list ap;

	if (r->failed != 0)
		return r->failed;
	r->failed = code;
	r->err->code = code;
	if (r->err->msg[0] != '\0')
		return code; /* the callback said it better */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	wspath_quote(r->err->msg, sizeof(r->err->msg), tmp, sizeof(tmp));
	return code;
}

static const char *
upload_archive_errstr(struct upload_archive_reader *r)
{
	const char *s = archive_error_string(r->a);

	return s != NULL ? s : "unknown error";
}

/* Maps a libarchive failure to a PETRI_ERR_* code. */
static int
upload_archive_lacode(struct upload_archive_reader *r)
{
	if (r->ioerr)
		return PETRI_ERR_IO;
	if (archive_errno(r->a) == ENOMEM)
		return PETRI_ERR_NOMEM;
	return PETRI_ERR_INVAL;
}

/*
 * Fails after libarchive failed to open or to read a header: the upload is
 * damaged when a format was recognised, else not an archive we read.
 */
static int
upload_archive_fail_la(struct upload_archive_reader *r)
{
	int known = r->entries > 0 || archive_format(r->a) != 0;

	return upload_archive_fail(r, upload_archive_lacode(r),
	    known ? "the archive is damaged: %s" : UPLOAD_ARCHIVE_NOTSUP,
	    upload_archive_errstr(r));
}

/* Counts n more bytes (of the current entry when entry is set). */
static int
upload_archive_count(struct upload_archive_reader *r, uint64_t n, int entry)
{
	uint64_t in;

	if (entry) {
		r->cur_bytes += n;
		if (r->cur_bytes > r->max_file)
			return upload_archive_fail(r, PETRI_ERR_TOOBIG,
			    "entry '%s' is larger than %llu bytes", r->name,
			    (unsigned long long)r->max_file);
	}
	if (n > UINT64_MAX - r->total || (r->total += n) > r->max_total)
		return upload_archive_fail(r, PETRI_ERR_TOOBIG,
		    "the archive expands to more than %llu bytes",
		    (unsigned long long)r->max_total);
	in = r->insize != 0 ? r->insize : r->consumed;
	if (in == 0)
		in = 1;
	if (r->total > UPLOAD_ARCHIVE_RATIO_FLOOR &&
	    (in > UINT64_MAX / r->max_ratio || r->total > in * r->max_ratio))
		return upload_archive_fail(r, PETRI_ERR_TOOBIG,
		    "the archive expands more than %llu times its size "
		    "(a zip bomb?)",
		    (unsigned long long)r->max_ratio);
	return 0;
}

/* Reads data of the current entry, whatever its type. */
static ssize_t
upload_archive_pull(struct upload_archive_reader *r, void *buf, size_t len)
{
	la_ssize_t n;
	int rc;

	if (r->failed != 0)
		return r->failed;
	if (r->cur_eof || len == 0)
		return 0;
	if (len > UPLOAD_ARCHIVE_IOBUF * 16)
		len = UPLOAD_ARCHIVE_IOBUF * 16;
	n = archive_read_data(r->a, buf, len);
	if (n < 0)
		return upload_archive_fail(r, upload_archive_lacode(r),
		    "entry '%s' cannot be read: %s", r->name,
		    upload_archive_errstr(r));
	if (n == 0) {
		r->cur_eof = 1;
		return 0;
	}
	if ((rc = upload_archive_count(r, (uint64_t)n, 1)) != 0)
		return rc;
	return n;
}

ssize_t
upload_archive_data_read(struct upload_archive_reader *r, void *buf, size_t len)
{
	if (r->failed != 0)
		return r->failed;
	if (r->cur_type != UPLOAD_ARCHIVE_FILE)
		return 0;
	return upload_archive_pull(r, buf, len);
}

/* Reads and counts whatever is left of the current entry. */
static int
upload_archive_drain(struct upload_archive_reader *r)
{
	ssize_t n;

	while ((n = upload_archive_pull(r, r->iobuf, UPLOAD_ARCHIVE_IOBUF)) > 0)
		;
	return (int)n;
}

static const char *
upload_archive_typename(mode_t ft)
{
	switch (ft) {
	case AE_IFCHR:
		return "a character device";
	case AE_IFBLK:
		return "a block device";
	case AE_IFIFO:
		return "a fifo";
	case AE_IFSOCK:
		return "a socket";
	default:
		return "of an unknown type";
	}
}

/* What an entry is: a file, directory or link, nothing else, and not
 * encrypted.  *hl gets a hard link's target. */
static int
upload_archive_entry_type(struct upload_archive_reader *r,
    struct archive_entry *ae, const char **hl, enum upload_archive_type *type)
{
	mode_t ft = archive_entry_filetype(ae);

	if ((*hl = archive_entry_hardlink(ae)) == NULL)
		*hl = archive_entry_hardlink_utf8(ae);
	if (*hl != NULL)
		*type = UPLOAD_ARCHIVE_HARDLINK;
	else if (ft == AE_IFREG)
		*type = UPLOAD_ARCHIVE_FILE;
	else if (ft == AE_IFDIR)
		*type = UPLOAD_ARCHIVE_DIR;
	else if (ft == AE_IFLNK)
		*type = UPLOAD_ARCHIVE_SYMLINK;
	else
		return upload_archive_fail(r, PETRI_ERR_UNSUPPORTED,
		    "entry '%s' is %s: only files, directories and links "
		    "are allowed",
		    r->name, upload_archive_typename(ft));
	if (archive_entry_is_encrypted(ae))
		return upload_archive_fail(r, PETRI_ERR_UNSUPPORTED,
		    "entry '%s' is encrypted", r->name);
	return 0;
}

/*
 * The entry's size, mode and link target by type (wp its path, lp gets
 * a link's target); *kind and *fsize what the tree records of it.
 */
static int
upload_archive_entry_body(struct upload_archive_reader *r,
    struct archive_entry *ae, const char *hl, struct upload_archive_entry *e,
    const struct wspath *wp, struct wspath *lp, enum wspath_kind *kind,
    uint64_t *fsize)
{
	const char *s;
	int rc;

	switch (e->type) {
	case UPLOAD_ARCHIVE_FILE:
		if (archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0)
			e->size = (uint64_t)archive_entry_size(ae);
		if (e->size > r->max_file)
			return upload_archive_fail(r, PETRI_ERR_TOOBIG,
			    "entry '%s' is larger than %llu bytes", r->name,
			    (unsigned long long)r->max_file);
		*kind = WSPATH_KIND_FILE;
		return 0;
	case UPLOAD_ARCHIVE_DIR:
		e->mode = 0755;
		*kind = WSPATH_KIND_DIR;
		return 0;
	case UPLOAD_ARCHIVE_SYMLINK:
		if ((s = archive_entry_symlink(ae)) == NULL)
			s = archive_entry_symlink_utf8(ae);
		if (s == NULL)
			return upload_archive_fail(r, PETRI_ERR_INVAL,
			    "entry '%s': symbolic link target cannot be read",
			    r->name);
		if (wspath_link_target(wp, s, strlen(s), lp) < 0)
			return upload_archive_fail(r, PETRI_ERR_PATH,
			    "entry '%s': symbolic link target %s", r->name,
			    lp->why);
		e->link = lp->path;
		e->mode = 0;
		*kind = WSPATH_KIND_LINK;
		return 0;
	case UPLOAD_ARCHIVE_HARDLINK:
		if (wspath_normalise(lp, hl, strlen(hl), 0, r->strip) < 0)
			return upload_archive_fail(r, PETRI_ERR_PATH,
			    "entry '%s': hard link target %s", r->name,
			    lp->why);
		if (wspath_tree_get(r->tree, lp, fsize) != WSPATH_KIND_FILE)
			return upload_archive_fail(r, PETRI_ERR_PATH,
			    "entry '%s': a hard link must point to an earlier "
			    "file of the archive",
			    r->name);
		if ((rc = upload_archive_count(r, *fsize, 0)) != 0)
			return rc;
		e->link = lp->path;
		e->size = *fsize;
		*kind = WSPATH_KIND_FILE;
		return 0;
	}
	return upload_archive_fail(
	    r, PETRI_ERR_INVAL, "entry '%s': bad type", r->name);
}

static int
upload_archive_entry_do(struct upload_archive_reader *r,
    struct archive_entry *ae, upload_archive_entry_fn *fn, void *arg)
{
	struct wspath wp, lp;
	struct upload_archive_entry e;
	enum wspath_kind kind = WSPATH_KIND_FILE;
	const char *name, *hl, *why = NULL;
	uint64_t fsize = 0;
	int rc;

	if ((name = archive_entry_pathname(ae)) == NULL)
		name = archive_entry_pathname_utf8(ae);
	wspath_quote(r->name, sizeof(r->name), name, UPLOAD_ARCHIVE_NAME);
	if (name == NULL)
		return upload_archive_fail(r, PETRI_ERR_INVAL,
		    "entry %llu has a name that cannot be read",
		    (unsigned long long)r->entries);
	memset(&e, 0, sizeof(e));
	if ((rc = upload_archive_entry_type(r, ae, &hl, &e.type)) != 0)
		return rc;
	if (wspath_normalise(&wp, name, strlen(name),
	        WSPATH_ROOT | (e.type == UPLOAD_ARCHIVE_DIR ? WSPATH_DIR : 0),
	        r->strip) < 0)
		return upload_archive_fail(
		    r, PETRI_ERR_PATH, "entry '%s': path %s", r->name, wp.why);
	r->cur_type = e.type;
	r->cur_bytes = 0;
	r->cur_eof = 0;
	if (wp.len == 0) /* stripped away, or "./" */
		return upload_archive_drain(r);
	e.path = wp.path;
	e.mtime = archive_entry_mtime(ae);
	e.mode = (archive_entry_perm(ae) & 0111) ? 0755 : 0644;
	if ((rc = upload_archive_entry_body(
	         r, ae, hl, &e, &wp, &lp, &kind, &fsize)) != 0)
		return rc;
	if ((rc = wspath_tree_add(r->tree, &wp, kind, fsize, NULL, &why)) < 0)
		return upload_archive_fail(
		    r, rc, "entry '%s': path %s", r->name, why);
	if (fn != NULL && (rc = fn(arg, &e, r)) < 0)
		return upload_archive_fail(r, rc,
		    "entry '%s' could not be stored: %s", r->name,
		    petri_strerror(rc));
	if (r->failed != 0) /* the callback ignored an error */
		return r->failed;
	if ((rc = upload_archive_drain(r)) != 0)
		return rc;
	if (e.type == UPLOAD_ARCHIVE_FILE &&
	    wspath_tree_set(r->tree, &wp, r->cur_bytes) != 0)
		return upload_archive_fail(r, PETRI_ERR_INVAL,
		    "entry '%s': lost track of the path", r->name);
	return 0;
}

static la_ssize_t
upload_archive_fd_read(struct archive *a, void *arg, const void **bufp)
{
	struct upload_archive_reader *r = arg;
	ssize_t n;

	do
		n = read(r->fd, r->iobuf, UPLOAD_ARCHIVE_IOBUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->ioerr = 1;
		archive_set_error(a, errno, "read error");
		return -1;
	}
	r->consumed += (uint64_t)n;
	*bufp = r->iobuf;
	return n;
}

static la_int64_t
upload_archive_fd_seek(struct archive *a, void *arg, la_int64_t off, int whence)
{
	struct upload_archive_reader *r = arg;
	off_t o;

	if ((o = lseek(r->fd, (off_t)off, whence)) < 0) {
		r->ioerr = 1;
		archive_set_error(a, errno, "seek error");
		return ARCHIVE_FATAL;
	}
	return o;
}

static la_int64_t
upload_archive_fd_skip(struct archive *a, void *arg, la_int64_t req)
{
	struct upload_archive_reader *r = arg;
	off_t cur;

	(void)a;
	if (req <= 0 || (cur = lseek(r->fd, 0, SEEK_CUR)) < 0 ||
	    (uint64_t)cur >= r->insize)
		return 0;
	if ((uint64_t)req > r->insize - (uint64_t)cur)
		req = (la_int64_t)(r->insize - (uint64_t)cur);
	if (lseek(r->fd, (off_t)req, SEEK_CUR) < 0)
		return 0;
	return req;
}

static uint64_t
upload_archive_lim(uint64_t v, uint64_t max)
{
	return (v == 0 || v > max) ? max : v;
}

/* The limits of opts, each capped by the hard bound. */
static void
upload_archive_limits(
    struct upload_archive_reader *r, const struct upload_archive_opts *opts)
{
	r->strip = opts != NULL ? opts->strip : 0;
	r->max_entries = upload_archive_lim(
	    opts ? opts->max_entries : 0, WS_MAX_ARCHIVE_ENTRIES);
	r->max_file =
	    upload_archive_lim(opts ? opts->max_file : 0, WS_MAX_FILE);
	r->max_total = upload_archive_lim(
	    opts ? opts->max_total : 0, WS_MAX_ARCHIVE_TOTAL);
	r->max_ratio = upload_archive_lim(
	    opts ? opts->max_ratio : 0, WS_MAX_ARCHIVE_RATIO);
}

/*
 * libarchive with only the formats and filters we want, never an external
 * program, opened on mem (p != NULL) or r->fd.
 */
static int
upload_archive_open(
    struct upload_archive_reader *r, const void *p, size_t n, int seekable)
{
	int la;

	if ((r->iobuf = malloc(UPLOAD_ARCHIVE_IOBUF)) == NULL ||
	    (r->tree = wspath_tree_new(r->max_entries * WS_MAX_DEPTH)) ==
	        NULL ||
	    (r->a = archive_read_new()) == NULL)
		return upload_archive_fail(r, PETRI_ERR_NOMEM, "out of memory");
	if (archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
	    archive_read_support_format_zip(r->a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(r->a) != ARCHIVE_OK ||
	    archive_read_support_filter_bzip2(r->a) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(r->a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(r->a) != ARCHIVE_OK)
		/* ARCHIVE_WARN: it would run an external program */
		return upload_archive_fail(r, PETRI_ERR_UNSUPPORTED,
		    "this libarchive lacks a built-in decompressor");
	if (p != NULL)
		la = archive_read_open_memory(r->a, p, n);
	else {
		archive_read_set_callback_data(r->a, r);
		archive_read_set_read_callback(r->a, upload_archive_fd_read);
		if (seekable) {
			archive_read_set_seek_callback(
			    r->a, upload_archive_fd_seek);
			archive_read_set_skip_callback(
			    r->a, upload_archive_fd_skip);
		}
		la = archive_read_open1(r->a);
	}
	return la != ARCHIVE_OK ? upload_archive_fail_la(r) : 0;
}

/* Reads every entry, at most max_entries of them. */
static int
upload_archive_entries(
    struct upload_archive_reader *r, upload_archive_entry_fn *fn, void *arg)
{
	struct archive_entry *ae;
	int rc, la;

	for (;;) {
		la = archive_read_next_header(r->a, &ae);
		if (la == ARCHIVE_EOF)
			break;
		if (la != ARCHIVE_OK && la != ARCHIVE_WARN)
			return upload_archive_fail_la(r);
		if (++r->entries > r->max_entries)
			return upload_archive_fail(r, PETRI_ERR_TOOBIG,
			    "the archive has more than %llu entries",
			    (unsigned long long)r->max_entries);
		if ((rc = upload_archive_entry_do(r, ae, fn, arg)) != 0)
			return rc;
	}
	return r->failed;
}

/*
 * Common part: the limits, libarchive opened with the source set up by
 * the caller of this function, every entry read.
 */
static int
upload_archive_run(struct upload_archive_reader *r, const void *p, size_t n,
    int seekable, const struct upload_archive_opts *opts,
    upload_archive_entry_fn *fn, void *arg)
{
	locale_t loc, old = (locale_t)0;
	int rc;

	upload_archive_limits(r, opts);
	/*
	 * Names in zip and pax archives are UTF-8; libarchive converts them
	 * to the thread's locale and gives NULL in the C locale.
	 */
	if ((loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0)) !=
	    (locale_t)0)
		old = uselocale(loc);
	if ((rc = upload_archive_open(r, p, n, seekable)) == 0)
		rc = upload_archive_entries(r, fn, arg);
	if (r->a != NULL)
		archive_read_free(r->a);
	wspath_tree_free(r->tree);
	free(r->iobuf);
	if (loc != (locale_t)0) {
		uselocale(old);
		freelocale(loc);
	}
	return rc;
}

static int
upload_archive_start(
    struct upload_archive_reader *r, struct upload_archive_err *err)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->err = err;
	if (err == NULL)
		return PETRI_ERR_INVAL;
	err->code = 0;
	err->msg[0] = '\0';
	return 0;
}

int
upload_archive_read_mem(const void *p, size_t n,
    const struct upload_archive_opts *opts, upload_archive_entry_fn *fn,
    void *arg, struct upload_archive_err *err)
{
	struct upload_archive_reader r;
	static const char empty[1];

	if (upload_archive_start(&r, err) != 0)
		return PETRI_ERR_INVAL;
	if (p == NULL && n != 0)
		return upload_archive_fail(&r, PETRI_ERR_INVAL, "no archive");
	r.insize = n;
	return upload_archive_run(
	    &r, p != NULL ? p : empty, n, 1, opts, fn, arg);
}

int
upload_archive_read_fd(int fd, const struct upload_archive_opts *opts,
    upload_archive_entry_fn *fn, void *arg, struct upload_archive_err *err)
{
	struct upload_archive_reader r;
	struct stat st;
	int seekable = 0;

	if (upload_archive_start(&r, err) != 0)
		return PETRI_ERR_INVAL;
	if (fd < 0 || fstat(fd, &st) != 0)
		return upload_archive_fail(
		    &r, PETRI_ERR_IO, "the upload cannot be read");
	if (S_ISREG(st.st_mode)) {
		if (lseek(fd, 0, SEEK_SET) != 0)
			return upload_archive_fail(
			    &r, PETRI_ERR_IO, "the upload cannot be read");
		r.insize = (uint64_t)st.st_size;
		seekable = 1;
	}
	r.fd = fd;
	return upload_archive_run(&r, NULL, 0, seekable, opts, fn, arg);
}
