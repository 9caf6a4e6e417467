/*
 * fuzz_audit_record.c: the audit record parser (audit/record.c) on hostile
 * bytes: strict parse, then the blob-reference walk and the leaf hash.
 * Seeds in corpus/audit_record/: records from a real log, edge cases.
 */
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
count_ref(void *arg, const char *sha, int64_t size)
{
	(void)sha;
	(void)size;
	(*(int *)arg)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct audit_record rec;
	unsigned char leaf[AUDIT_HASH_LEN];
	const char *why = NULL;
	int refs = 0;

	if (!ready) {
		if (sodium_init() < 0)
			return 0;
		ready = 1;
	}
	if (audit_record_parse(data, size, &rec, &why) != 0)
		return 0;
	if (audit_record_blob_refs(rec.json, count_ref, &refs) != 0)
		__builtin_trap(); /* the parser already accepted them */
	audit_record_leaf(data, size, leaf);
	audit_record_clear(&rec);
	return 0;
}
