/*
 * audit_bounds.h: every limit the audit log enforces, in one place.
 *
 * These belong with the others in appliance/common/bounds.h; they live here until
 * the audit section is merged there.  The verifier applies the same limits
 * to bundles it did not write, so none of them may be raised without also
 * reading docs/audit-format.md.
 */
#ifndef PETRI_AUDIT_BOUNDS_H
#define PETRI_AUDIT_BOUNDS_H

/* Records */
#define AUDIT_RECORD_MAX (4UL << 20) /* bytes of one record */
#define AUDIT_RECORD_MAX_DEPTH 32 /* JSON nesting inside a record */
#define AUDIT_ORIGIN_MAX 128 /* log name, also the key name */
#define AUDIT_TYPE_MAX 64 /* "exec.finished" */
#define AUDIT_ID_MAX 64 /* record id */
#define AUDIT_CLOCK_MAX 32 /* clock source name */

/* Signed notes and checkpoints */
#define AUDIT_NOTE_MAX 8192 /* a whole signed note */
#define AUDIT_NOTE_MAX_SIGS 32 /* signature lines in a note */
#define AUDIT_VKEY_MAX 256 /* "<name>+<id>+<base64 key>" */

/* Blobs */
#define AUDIT_BLOB_MAX (64UL << 20) /* one blob (= WS_MAX_FILE) */

/* Keeper-side store */
#define AUDIT_LOG_MAX_RANGE 1000 /* records per range fetch */
#define AUDIT_CHECKPOINT_MIN_MS 1000 /* unforced checkpoint interval */
#define AUDIT_LOG_MAX_BATCH 4096 /* records per group commit */

/* Export bundles */
#define AUDIT_BUNDLE_MAX_MEMBERS (1UL << 22) /* tar members */
#define AUDIT_BUNDLE_MAX_MANIFEST (64UL << 10)
#define AUDIT_BUNDLE_MAX_CHECKPOINTS 1024 /* checkpoints in one bundle */
#define AUDIT_BUNDLE_MAX_ROTATIONS 4096 /* rotations shipped in a bundle */

#endif /* PETRI_AUDIT_BOUNDS_H */
