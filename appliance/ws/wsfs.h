/*
 * wsfs.h: the file operations of the ws worker on one workspace.
 *
 * The workspace is written by two parties: Petri, through these functions
 * (in a worker whose uid is the sandbox uid), and the untrusted code in the
 * container, which can plant symbolic links (to ../sb_other, to /etc),
 * fifos, hard links, deep trees and mode-000 files or directories.  So:
 *   - every path is normalised by wspath first (WSPATH_SANDBOX accepted);
 *   - paths are resolved from the workspace root fd with openat2(2)
 *     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 *     RESOLVE_NO_XDEV: no symbolic link is ever followed, not even one
 *     that stays inside, and no mount point is crossed;
 *   - a final component is acted on with *at() calls on its parent's fd
 *     that do not follow links (unlinkat, renameat2, mkdirat, fstatat
 *     AT_SYMLINK_NOFOLLOW), and files are opened O_NOFOLLOW | O_NONBLOCK,
 *     then fstat'ed: anything but a regular file is refused, and a fifo
 *     cannot block;
 *   - every walk is bounded (WS_MAX_DEPTH, WS_MAX_LIST_ENTRIES, hashing).
 * A container racing these calls in its own workspace can make them fail
 * or act on its own files; it cannot make them reach outside.
 *
 * Errors are negative PETRI_ERR_* codes: _PATH (a rule of wspath, or a
 * symbolic link or file where a directory must be), _NOTFOUND, _EXISTS
 * (a file where a directory is, or the reverse), _PERM (the container made
 * something unreadable), _TOOBIG, _LIMIT (disk full or quota), _IO.
 *
 * Durability: staged files are flushed (fdatasync) before they are renamed
 * into place and the directories changed are fsync'ed after; wsfs_write
 * does the same for its file.  A 201 answer means the bytes are on disk.
 * The cost is kept down by starting write-back when each staged file is
 * closed (sync_file_range), as dpkg does.
 */
#ifndef PETRI_WSFS_H
#define PETRI_WSFS_H

#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "buf.h"
#include "petri_err.h"
#include "util.h"

/* Bytes hashed by one listing, all files together; past it, no sha256. */
#define WSFS_LIST_HASH_BUDGET WS_MAX_ARCHIVE_TOTAL

#define WSFS_LIST_RECURSIVE 0x01

enum wsfs_type {
	WSFS_FILE = 1,
	WSFS_DIR,
	WSFS_SYMLINK,
	WSFS_OTHER, /* fifo, socket, device */
};

/* One object, valid only during a callback. */
struct wsfs_entry {
	const char *path; /* normalised workspace path */
	enum wsfs_type type;
	uint64_t size; /* files: bytes; links: target length; else 0 */
	int has_sha256; /* files hashed whole */
	char sha256[PETRI_SHA256_HEX]; /* "" unless has_sha256 */
	char mtime[PETRI_TIME_MAX]; /* RFC 3339 UTC, "" when unknown */
};

/* Returns 0 to go on, a negative PETRI_ERR_* code to stop. */
typedef int wsfs_entry_fn(void *arg, const struct wsfs_entry *e);

/*
 * Lists path (a directory, "" for the root, or a single object) under
 * root_fd: with WSFS_LIST_RECURSIVE the whole tree below it, depth first,
 * each directory before its contents; the order inside a directory is the
 * file system's.  Never follows a symbolic link (it is listed as one) and
 * never opens anything but regular files.  Skipped: any entry named
 * ".petri" (any case; with what is below it), and, flagged by
 * *truncatedp = 1 (truncatedp may be NULL): names wspath would refuse
 * (control characters, invalid UTF-8, backslash), paths past WS_MAX_PATH
 * or WS_MAX_DEPTH, directories that cannot be opened (mode 000), entries
 * past WS_MAX_LIST_ENTRIES; and the listing stops after looking at ten
 * times that many names (skipped ones count).  A sha256 is given for regular files of at
 * most WS_MAX_FILE bytes that can be read, while the listing has hashed
 * less than WSFS_LIST_HASH_BUDGET bytes.  Returns the number of entries
 * given to fn, or a negative PETRI_ERR_* code (fn's own included).
 */
int wsfs_list(int root_fd, const char *path, unsigned int flags,
    wsfs_entry_fn *fn, void *arg, int *truncatedp) PETRI_WUR;

/*
 * Opens the regular file path for reading (to stream a download).  On
 * success *fdp is the fd (caller closes it) and *st its fstat.  Returns 0,
 * PETRI_ERR_INVAL when it is not a regular file (a directory, a fifo),
 * PETRI_ERR_PATH when a symbolic link is on the way, or another code.
 */
int wsfs_open_file(
    int root_fd, const char *path, int *fdp, struct stat *st) PETRI_WUR;

/*
 * Reads the whole regular file path, at most max bytes, into b, which this
 * function initialises (buf_init(b, max)); caller frees with buf_free()
 * whatever the result.  Returns 0, PETRI_ERR_TOOBIG when the file is (or
 * grows) larger than max, or an error of wsfs_open_file().
 */
int wsfs_read(
    int root_fd, const char *path, size_t max, struct buf *b) PETRI_WUR;

/*
 * Writes one file atomically: a temporary file in the same directory,
 * written, flushed and renamed over path, creating missing parents (0755,
 * less the umask).  mode is reduced to 0755 when any execute bit is set,
 * else 0644.  Replaces a file or symbolic link (the link itself, never
 * its target); refuses to replace a directory (PETRI_ERR_EXISTS).
 * len is at most WS_MAX_FILE.  Returns 0 or a negative PETRI_ERR_* code;
 * on error the workspace is as it was (but for parents it created; a
 * crash in the middle can leave a ".petri-tmp-*" file beside path).
 */
int wsfs_write(int root_fd, const char *path, const void *data, size_t len,
    int mode) PETRI_WUR;

/*
 * Deletes path: a file, link, fifo (unlinked, never followed), or a
 * directory and everything below it (wsfs_remove_tree()).  The root cannot
 * be deleted.  Returns 0, PETRI_ERR_NOTFOUND or another code.
 */
int wsfs_delete(int root_fd, const char *path) PETRI_WUR;

/*
 * Removes name (one component: no '/', not "." or "..") from the directory
 * parent_fd, and everything below it when it is a directory: a whole
 * workspace, or a staging area.  Never follows a link, never crosses a
 * mount point (PETRI_ERR_PERM).  Directories the container made
 * unreadable or unwritable (mode 000, 0500) are given u+rwx on the way
 * down: this works when they belong to the caller's uid.  At most
 * WS_MAX_DEPTH directories are open at a time; one deeper is first moved
 * up to the top of the tree, so any depth is removed.  Memory does not
 * grow with the number of entries.  A directory is read again while the
 * last pass removed something (a running container may add entries);
 * the passes are bounded.  Returns 0, PETRI_ERR_NOTFOUND, PETRI_ERR_STATE
 * when the tree keeps changing, or another code (what could be removed is
 * gone).
 */
int wsfs_remove_tree(int parent_fd, const char *name) PETRI_WUR;

/*
 * Staging: an upload (archive or multipart) is written to a private
 * staging area first, then committed into the workspace in one step.
 *
 *   wsfs_stage_open() -> wsfs_stage_file() / _file_begin(), _write(), _end()
 *   / _mkdir() / _symlink() / _copy() / _remove() ... -> wsfs_stage_commit()
 *   -> wsfs_stage_foreach() (what was stored) -> wsfs_stage_free()
 *
 * Paths follow wspath.  Within one stage a path is a file or a directory,
 * never both, nothing can sit below a file or link, and a later file or
 * link replaces an earlier one.  Caps: WS_MAX_ARCHIVE_ENTRIES items,
 * WS_MAX_FILE bytes per file, WS_MAX_ARCHIVE_TOTAL bytes in all.  The
 * first error of any stage call is final: later calls and the commit
 * return it; wsfs_stage_error() tells why, naming the path.
 * One stage per workspace at a time (the ws worker serialises).
 */
struct wsfs_stage;

/*
 * Creates a stage for the workspace root_fd, with a private directory
 * (0700) inside staging_dir_fd.  The staging directory must be on the
 * same file system as the workspace (renames fail with PETRI_ERR_IO
 * otherwise) and out of the container's reach (not in the workspace).
 * Both fds are duplicated.  Returns 0 and *sp (caller frees with
 * wsfs_stage_free()), or a negative PETRI_ERR_* code.
 */
int wsfs_stage_open(
    int root_fd, int staging_dir_fd, struct wsfs_stage **sp) PETRI_WUR;

/* Stages a directory (0755).  Returns 0 or a negative PETRI_ERR_* code. */
int wsfs_stage_mkdir(struct wsfs_stage *s, const char *path) PETRI_WUR;

/*
 * Stages a symbolic link path -> target.  target must be relative and stay
 * inside the workspace; what is stored is its canonical form
 * (wspath_link_target()).  Returns 0 or a negative PETRI_ERR_* code.
 */
int wsfs_stage_symlink(
    struct wsfs_stage *s, const char *path, const char *target) PETRI_WUR;

/*
 * Stages a file: begin, any number of writes, end (one file at a time).
 * mode becomes 0755 or 0644 as for wsfs_write().  The content is hashed
 * (sha256) as it is written.  Each returns 0 or a negative PETRI_ERR_*.
 */
int wsfs_stage_file_begin(
    struct wsfs_stage *s, const char *path, int mode) PETRI_WUR;
int wsfs_stage_file_write(
    struct wsfs_stage *s, const void *data, size_t len) PETRI_WUR;
int wsfs_stage_file_end(struct wsfs_stage *s) PETRI_WUR;

/* Stages a whole file from memory: begin, write, end. */
int wsfs_stage_file(struct wsfs_stage *s, const char *path, int mode,
    const void *data, size_t len) PETRI_WUR;

/*
 * Stages path as a copy of the file staged earlier at from (an archive's
 * hard link, materialised).  Returns 0, PETRI_ERR_PATH when from is not a
 * staged file, or another code.
 */
int wsfs_stage_copy(struct wsfs_stage *s, const char *path, const char *from,
    int mode) PETRI_WUR;

/*
 * Stages the removal of path (a file, link or other non-directory) from
 * the workspace, done by the commit in the same step as the renames: it is
 * moved into the stage first and put back if the commit fails, and what
 * is already missing is no error.  A directory at path fails the commit
 * (PETRI_ERR_EXISTS).  Counts against WS_MAX_ARCHIVE_ENTRIES.  Returns 0
 * or a negative PETRI_ERR_* code.
 */
int wsfs_stage_remove(struct wsfs_stage *s, const char *path) PETRI_WUR;

/*
 * Commits the stage into the workspace.  First checks every target
 * against the workspace as it is (a file cannot replace a directory nor a
 * directory a file; a parent that is a file or a link is an error) and
 * flushes the staged files; only then renames them into place, creating
 * missing parents beneath the root without following links.  An existing
 * file or link is swapped atomically with the new one (RENAME_EXCHANGE),
 * so the container never sees the path missing.  With replace, every
 * entry of the workspace root but ".petri" is first moved into the stage
 * (a read-only directory gets u+w for the move, then its mode back), and
 * removed once the commit succeeded.  Any failure, also in the rename
 * phase, undoes what was done: the workspace is left as it was (unless
 * the container changed it meanwhile).  Returns 0 or a negative
 * PETRI_ERR_* code (PETRI_ERR_EXISTS, _PATH: a conflict with the
 * workspace; PETRI_ERR_PERM: the container made a directory unwritable;
 * PETRI_ERR_UNSUPPORTED: the file system lacks renameat2() flags;
 * PETRI_ERR_STATE: a file still open, already committed, or the
 * workspace kept changing).
 */
int wsfs_stage_commit(struct wsfs_stage *s, int replace) PETRI_WUR;

/*
 * Calls fn for each item staged (the last one for a path replaced within
 * the stage), in the order staged; mtime is "".  Returns the number of
 * items or fn's negative code.
 */
int wsfs_stage_foreach(
    const struct wsfs_stage *s, wsfs_entry_fn *fn, void *arg) PETRI_WUR;

/* Returns why the stage failed, naming the path, or "" when it did not. */
const char *wsfs_stage_error(const struct wsfs_stage *s);

/*
 * Removes the stage's directory (what was not committed: this aborts an
 * uncommitted stage) and frees s.  NULL is a no-op.
 */
void wsfs_stage_free(struct wsfs_stage *s);

#endif /* PETRI_WSFS_H */
