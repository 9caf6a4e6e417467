/*
 * wspath.h: the rules for paths inside a sandbox workspace.  Pure: no I/O,
 * no globals.
 *
 * A workspace path is relative to the workspace root, which the container
 * sees as /sandbox.  Its normalised form has components separated by one
 * '/', no leading or trailing '/', no "." or ".." and no empty component;
 * the workspace root itself is the empty string.  A normalised path is a
 * fixed point: normalising it again gives the same bytes.
 *
 * Rules applied to client input (HTTP paths, multipart fields, archive
 * entry names):
 *   - the bytes are valid UTF-8 (no overlong forms, no surrogates, nothing
 *     past U+10FFFF); no NUL, no C0 or C1 control character, no DEL;
 *   - backslash is rejected.  It is a legal byte in a Linux file name but a
 *     separator to Windows tools and most zip writers of old, so accepting
 *     it would give one name two readings;
 *   - absolute paths are rejected.  With WSPATH_SANDBOX the container's own
 *     spelling "/sandbox" or "/sandbox/..." is accepted and that prefix
 *     removed (archive entries never get this: they must be relative);
 *   - a ".." component is rejected wherever it is, even where it would stay
 *     inside the workspace;
 *   - "." and empty components ("a//b", "./a", "a/.") are dropped;
 *   - a trailing '/' is accepted only with WSPATH_DIR (the path names a
 *     directory); wspath.dir records that it was there;
 *   - the normalised path has at most WS_MAX_PATH bytes, WS_MAX_DEPTH
 *     components and WS_MAX_NAME bytes per component; the input at most
 *     WSPATH_MAX_INPUT bytes;
 *   - no component may be named ".petri", in any letter case: the name is
 *     reserved for Petri's own metadata;
 *   - the empty path (the workspace root) is accepted only with WSPATH_ROOT.
 */
#ifndef PETRI_WSPATH_H
#define PETRI_WSPATH_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "petri_err.h"

#define WSPATH_ROOT 0x01 /* the empty path (workspace root) is valid */
#define WSPATH_DIR 0x02 /* a trailing '/' is valid */
#define WSPATH_SANDBOX 0x04 /* strip a leading "/sandbox" component */

#define WSPATH_RESERVED ".petri"
#define WSPATH_MAX_INPUT (2 * WS_MAX_PATH) /* bytes of raw input */

struct wspath {
	char path[WS_MAX_PATH + 1]; /* NUL-terminated result */
	size_t len; /* strlen(path) */
	size_t depth; /* number of components */
	int dir; /* the input ended with '/' */
	const char *why; /* on error: static reason, for humans */
};

/*
 * Validates the inlen bytes at in (which may hold a NUL: that is an error,
 * not the end) against the rules above, drops the first `strip` components
 * (as tar --strip-components does; the byte rules, '..' and the length
 * of one component are checked on the dropped components too, the reserved
 * name and the path limits only on what is kept) and writes the normalised
 * result to wp.
 * Returns the length of wp->path (0 for the workspace root, or when strip
 * dropped every component: only possible with WSPATH_ROOT), or
 * PETRI_ERR_PATH with wp->why set when a rule or limit is broken, or
 * PETRI_ERR_INVAL when in or wp is NULL.
 */
int wspath_normalise(struct wspath *wp, const char *in, size_t inlen,
    unsigned int flags, size_t strip) PETRI_WUR;

/*
 * Checks the target of a symbolic link stored at the normalised path link.
 * The target must be relative; it is resolved lexically from the link's
 * directory and must stay inside the workspace at every step (a ".." above
 * the root is an error) and obey the rules above.  On success out->path is
 * the canonical text to store as the link target: as many "../" as needed
 * to climb from the link's directory to the deepest directory it shares
 * with the resolved path, then the rest of that path, with no other "..";
 * "." when the link points at its own directory.  out->depth is the depth
 * of the resolved path.  Storing the canonical text (not the original)
 * means a ".." can never be applied after a link in the middle of the
 * target, so other links cannot make the kernel's reading differ from this
 * one as long as the link's own parents are real directories.
 * Returns out->len, or PETRI_ERR_PATH with out->why set.
 */
int wspath_link_target(const struct wspath *link, const char *target,
    size_t tlen, struct wspath *out) PETRI_WUR;

/*
 * Returns 1 when the component name (n bytes) is the reserved ".petri" in
 * any letter case, else 0.
 */
int wspath_name_reserved(const char *name, size_t n);

/*
 * Copies the untrusted string s (NULL reads as "") into dst (size n > 0)
 * for an error message: printable ASCII is kept, every other byte becomes
 * '?', and more than max bytes (or what dst holds) are cut with "...".
 * The result is safe to log and to put in a JSON string.
 */
void wspath_quote(char *dst, size_t n, const char *s, size_t max);

/*
 * A set of normalised paths with the kind of object each names, for
 * checking that a list of entries (an archive, a staged upload) is
 * consistent before anything is written: a path cannot be a file and a
 * directory, and a file or link cannot be the parent of anything.  Parents
 * of a path are recorded as directories when it is added.  Lookups use a
 * keyed hash, so crafted names cannot make them slow.
 */
enum wspath_kind {
	WSPATH_KIND_NONE = 0,
	WSPATH_KIND_DIR,
	WSPATH_KIND_FILE,
	WSPATH_KIND_LINK,
};

struct wspath_tree;

/*
 * Returns an empty tree that holds at most max_nodes paths (parents
 * counted), or NULL when out of memory.  Caller frees with
 * wspath_tree_free().
 */
struct wspath_tree *wspath_tree_new(size_t max_nodes);

/* Frees t; NULL is a no-op. */
void wspath_tree_free(struct wspath_tree *t);

/*
 * Records the non-empty normalised path wp as an object of the given kind
 * carrying the caller's value val.  Returns
 *   0 when the path is new, or a directory seen again (which keeps val);
 *   1 when a file or link replaces an earlier file or link at the same
 *     path: the later one wins, *oldval (if not NULL) gets the earlier
 *     value;
 *   PETRI_ERR_EXISTS when a directory would replace a file or link, or the
 *     reverse;
 *   PETRI_ERR_PATH when a parent is a file or link in the tree, or wp is
 *     empty;
 *   PETRI_ERR_TOOBIG when max_nodes would be passed; PETRI_ERR_NOMEM.
 * On error *why (if not NULL) gets a static reason and the tree is
 * unchanged except that parents may have been added.
 */
int wspath_tree_add(struct wspath_tree *t, const struct wspath *wp,
    enum wspath_kind kind, uint64_t val, uint64_t *oldval,
    const char **why) PETRI_WUR;

/*
 * Looks up wp.  Returns its kind (WSPATH_KIND_NONE when absent) and puts
 * its value in *val (if not NULL).
 */
enum wspath_kind wspath_tree_get(
    const struct wspath_tree *t, const struct wspath *wp, uint64_t *val);

/* Replaces the value of a recorded path.  Returns 0 or PETRI_ERR_NOTFOUND. */
int wspath_tree_set(
    struct wspath_tree *t, const struct wspath *wp, uint64_t val) PETRI_WUR;

#endif /* PETRI_WSPATH_H */
