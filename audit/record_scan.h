/*
 * record_scan.h: a validating scanner for audit records, for verifiers
 * that check millions of them.  It accepts and rejects exactly what
 * audit_record_parse() (jansson, JSON_REJECT_DUPLICATES) does, but builds
 * no tree and allocates nothing once its scratch space has grown: strict
 * RFC 8259 grammar, UTF-8, escapes and surrogate pairs, integer range, real
 * overflow, duplicate keys (compared decoded), nesting, the integrity
 * fields and blob references (record.h).  The two are fuzzed against each
 * other (tests/fuzz/fuzz_audit_record.c).  Pure; no I/O.
 */
#ifndef PETRI_AUDIT_RECORD_SCAN_H
#define PETRI_AUDIT_RECORD_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "audit_bounds.h"
#include "checkpoint.h"
#include "merkle.h"
#include "petri_err.h"
#include "util.h"

/* What a scan extracts. */
struct audit_record_scan {
	uint64_t seq;
	unsigned char prev[AUDIT_HASH_LEN];
	char origin[AUDIT_ORIGIN_MAX + 1];
	char type[AUDIT_TYPE_MAX + 1];
	char id[AUDIT_ID_MAX + 1];
	char time[PETRI_TIME_MAX];
	int64_t time_usec;
	char clock[AUDIT_CLOCK_MAX + 1];
	/* top-level members some types carry (decoded) */
	int has_new_key; /* "new_key": string, <= AUDIT_VKEY_MAX */
	char new_key[AUDIT_VKEY_MAX + 1];
	int has_sha256; /* "sha256": 64 lowercase hex */
	unsigned char sha256[AUDIT_HASH_LEN];
};

/*
 * Reusable working memory of one scanning thread.  Zero it before first
 * use; free with audit_record_scratch_free().
 */
struct audit_record_scratch {
	unsigned char *buf; /* decoded keys and strings */
	size_t cap;
	struct {
		uint32_t gen, obj, off, len;
	} * slot; /* duplicate-key table */
	size_t nslot;
	uint32_t gen;
};

/* Frees the scratch space; it may be reused after zeroing. */
void audit_record_scratch_free(struct audit_record_scratch *s);

/*
 * Scans record bytes.  On success fills out and calls ref(arg, sha256_hex,
 * size) for every blob reference (size -1 when absent; order unspecified),
 * stopping at the first non-zero result of ref, which is returned.
 * Returns 0; PETRI_ERR_TOOBIG, PETRI_ERR_INVAL (with a static reason in
 * *why when why is not NULL) or PETRI_ERR_NOMEM.
 */
int audit_record_scan(const void *bytes, size_t len,
    struct audit_record_scan *out, struct audit_record_scratch *scratch,
    int (*ref)(void *arg, const char *sha256_hex, int64_t size), void *arg,
    const char **why) PETRI_WUR;

#endif /* PETRI_AUDIT_RECORD_SCAN_H */
