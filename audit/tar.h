/*
 * tar.h: the minimal POSIX ustar subset audit bundles use, so that
 * petri-verify needs no archive library.  Reading: an index over an archive
 * held in memory (regular files and directories only; sizes in octal or
 * GNU base-256; checksums checked; duplicate or unsafe names rejected).
 * Writing: regular files to a seekable descriptor, streamed, the size
 * patched into the header when a member ends.
 */
#ifndef PETRI_AUDIT_TAR_H
#define PETRI_AUDIT_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "petri_err.h"

#define AUDIT_TAR_BLOCK 512
#define AUDIT_TAR_NAME_MAX 255 /* prefix + '/' + name */

struct audit_tar_entry {
	char name[AUDIT_TAR_NAME_MAX + 1];
	const unsigned char *data; /* points into the archive */
	uint64_t size;
};

struct audit_tar {
	struct audit_tar_entry *entry; /* sorted by name */
	size_t count;
};

/*
 * Indexes the regular files of the archive buf[0..len) (at most
 * max_entries).  Directory entries are skipped; a leading "./" is dropped.
 * Anything else (links, devices, pax or GNU long-name headers), a bad
 * checksum, a name with "..", an absolute name, a duplicate name, a member
 * past the end or non-zero bytes after the end marker is an error.
 * Caller frees with audit_tar_free().
 * Returns 0, PETRI_ERR_INVAL, PETRI_ERR_TRUNCATED, PETRI_ERR_TOOBIG or
 * PETRI_ERR_NOMEM.
 */
int audit_tar_index(const void *buf, size_t len, size_t max_entries,
    struct audit_tar *t) PETRI_WUR;

/* Frees the index; the archive itself is the caller's. */
void audit_tar_free(struct audit_tar *t);

/* The entry with exactly this name, or NULL. */
const struct audit_tar_entry *audit_tar_find(
    const struct audit_tar *t, const char *name);

/* Writer state; fields are private. */
struct audit_tar_writer {
	int fd;
	off_t off; /* logical offset of the next byte */
	off_t hdr_off; /* header of the open member, or -1 */
	uint64_t size; /* bytes written to the open member */
	int64_t mtime;
	char name[AUDIT_TAR_NAME_MAX + 1];
	size_t blen;
	unsigned char buf[65536];
};

/*
 * Starts an archive on fd (seekable, positioned at 0; not closed here).
 * mtime is written into every header.
 */
void audit_tar_writer_init(struct audit_tar_writer *w, int fd, int64_t mtime);

/* Opens member name (<= 100 bytes).  Returns 0, _INVAL, _STATE or _IO. */
int audit_tar_begin(struct audit_tar_writer *w, const char *name) PETRI_WUR;

/* Appends to the open member.  Returns 0, PETRI_ERR_STATE or _IO. */
int audit_tar_write(
    struct audit_tar_writer *w, const void *p, size_t n) PETRI_WUR;

/* Closes the open member (header patched, padding).  Returns 0 or _IO. */
int audit_tar_end(struct audit_tar_writer *w) PETRI_WUR;

/* One whole member.  Returns as begin/write/end. */
int audit_tar_add(struct audit_tar_writer *w, const char *name, const void *p,
    size_t n) PETRI_WUR;

/* Writes the end marker and flushes (no fsync).  Returns 0 or _IO. */
int audit_tar_finish(struct audit_tar_writer *w) PETRI_WUR;

#endif /* PETRI_AUDIT_TAR_H */
