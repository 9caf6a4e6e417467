/*
 * upload_archive.h: reading an uploaded project archive (zip, tar, tar.gz,
 * tar.bz2, tar.xz, tar.zst) with libarchive, entry by entry, validating
 * each one before the caller sees it.  Nothing here writes to disk: the
 * caller stages each entry (wsfs_stage_*) as it is read and commits once
 * the whole archive has been read without error.
 *
 * (The module is not called "archive": api/archive.h would shadow
 * libarchive's <archive.h> under -Iappliance/api, and archive_* is libarchive's
 * name space.)
 *
 * Formats: tar (ustar, pax, GNU) and zip, detected from the bytes, with
 * no compression, gzip, bzip2, xz or zstd around tar.  Nothing else (no
 * cpio, 7z, rar, iso, raw streams), and libarchive is never allowed to run
 * an external decompressor.
 *
 * Rules, each failure naming the entry in err->msg:
 *   - entry names follow wspath (relative, no "..", UTF-8, no control
 *     characters or backslash, no ".petri"; limits).  In zip archives
 *     libarchive itself may read '\' as '/' (Windows tools wrote them as
 *     separators; 3.6.2 does for names without '/'), so there "a\b" can
 *     be the file b in a and "..\x" is refused as ".."; any backslash
 *     left, as in tar, is refused.  `strip` leading
 *     components are dropped and an entry that vanishes (a top-level file
 *     when strip is 1, "./") is skipped;
 *   - regular files and directories are allowed;
 *   - a symbolic link is allowed when its target is relative and, resolved
 *     from the link's directory, stays inside the workspace; the entry
 *     handed to the caller carries the canonical target (wspath_link_target);
 *   - a hard link must name an earlier regular-file entry of the same
 *     archive (after strip); the caller materialises it as a copy, and its
 *     size counts against the total;
 *   - devices, fifos, sockets and unknown types are rejected
 *     (PETRI_ERR_UNSUPPORTED), as are encrypted entries;
 *   - a path is a file or a directory, never both (PETRI_ERR_EXISTS); no
 *     entry may sit below a file or a link of the archive (PETRI_ERR_PATH);
 *     a later file or link at the same path replaces the earlier one (tar
 *     semantics), a directory seen twice is one directory;
 *   - caps (PETRI_ERR_TOOBIG): entries (every header read counts), bytes of
 *     one entry, total bytes, and the ratio total / compressed input size.
 *     Bytes are counted as they are decompressed, never taken from headers
 *     (a header announcing too much is refused early, though).  The ratio
 *     is only enforced once the total passes UPLOAD_ARCHIVE_RATIO_FLOOR, so a
 *     small archive holding one very compressible file is not a bomb.
 *
 * Memory: libarchive's seekable zip reader loads the whole central
 * directory first (about 160 bytes per entry, so roughly twice the size
 * of the zip at worst); everything else is streamed.
 */
#ifndef PETRI_UPLOAD_ARCHIVE_H
#define PETRI_UPLOAD_ARCHIVE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "petri_err.h"

#define UPLOAD_ARCHIVE_MSG 256
#define UPLOAD_ARCHIVE_RATIO_FLOOR (1UL << 20) /* ratio not checked below */

struct upload_archive_err {
	int code; /* PETRI_ERR_*, 0 when none */
	char msg[UPLOAD_ARCHIVE_MSG]; /* human sentence, printable ASCII */
};

/*
 * Options.  Zero limits mean the bounds.h maximum; a limit above its
 * maximum is lowered to it.
 */
struct upload_archive_opts {
	size_t strip; /* leading components to drop */
	uint64_t max_entries; /* WS_MAX_ARCHIVE_ENTRIES */
	uint64_t max_file; /* WS_MAX_FILE */
	uint64_t max_total; /* WS_MAX_ARCHIVE_TOTAL */
	uint64_t max_ratio; /* WS_MAX_ARCHIVE_RATIO */
};

enum upload_archive_type {
	UPLOAD_ARCHIVE_FILE = 1,
	UPLOAD_ARCHIVE_DIR,
	UPLOAD_ARCHIVE_SYMLINK,
	UPLOAD_ARCHIVE_HARDLINK,
};

/* One validated entry, valid only during the callback. */
struct upload_archive_entry {
	enum upload_archive_type type;
	const char *path; /* normalised workspace path, never empty */
	const char *link; /* SYMLINK: canonical target; HARDLINK: normalised
			     path of the earlier file; else NULL */
	int mode; /* FILE, HARDLINK: 0644 or 0755; DIR: 0755 */
	uint64_t size; /* FILE: size announced by the header (0 when
			     unknown), to be trusted for nothing */
	int64_t mtime; /* seconds since the epoch, from the header */
};

struct upload_archive_reader;

/*
 * Called once per validated entry, in archive order.  For a FILE the
 * callback reads the content with upload_archive_data_read(); whatever it does
 * not read is read (and counted) after it returns.  Returns 0 to go on, or
 * a negative PETRI_ERR_* code to stop: upload_archive_read_*() then returns that
 * code, with err->msg naming the entry unless the callback wrote a message
 * into err itself.  While reading, the thread's LC_CTYPE is C.UTF-8 (so
 * that libarchive gives names as UTF-8); it is restored before return.
 */
typedef int upload_archive_entry_fn(void *arg,
    const struct upload_archive_entry *e, struct upload_archive_reader *r);

/*
 * Reads up to len bytes of the current FILE entry into buf.  Returns the
 * number of bytes (0 at the end of the entry, and always for other types)
 * or a negative PETRI_ERR_* code: PETRI_ERR_TOOBIG when a cap is passed,
 * PETRI_ERR_INVAL when the archive is damaged.  An error is final: the
 * whole read fails with it even if the callback returns 0.
 */
ssize_t upload_archive_data_read(
    struct upload_archive_reader *r, void *buf, size_t len) PETRI_WUR;

/*
 * Reads the archive held in the n bytes at p (the compressed input size
 * for the ratio is n), calling fn (which may be NULL: entries are then
 * only validated) for each entry.  err (required) is cleared first.
 * Returns 0 when every entry was read and accepted, else a negative
 * PETRI_ERR_* code with err->code equal to it and err->msg set:
 * PETRI_ERR_INVAL (not a supported archive, damaged), _PATH, _EXISTS,
 * _UNSUPPORTED, _TOOBIG (a cap: the API answers 413), _NOMEM, _IO, or the
 * callback's code.
 */
int upload_archive_read_mem(const void *p, size_t n,
    const struct upload_archive_opts *opts, upload_archive_entry_fn *fn,
    void *arg, struct upload_archive_err *err) PETRI_WUR;

/*
 * Same, reading from fd.  A regular file is read from offset 0 and its
 * size is the compressed input size (and zip's central directory is used);
 * for a pipe or socket the ratio is checked against the bytes consumed so
 * far, which is stricter.  fd is not closed.
 */
int upload_archive_read_fd(int fd, const struct upload_archive_opts *opts,
    upload_archive_entry_fn *fn, void *arg,
    struct upload_archive_err *err) PETRI_WUR;

#endif /* PETRI_UPLOAD_ARCHIVE_H */
