/*
 * fuzz_audit_record.c: the two audit record parsers on hostile bytes, and
 * against each other: audit_record_parse() (jansson, used by the keeper
 * and `petri-verify show`) and audit_record_scan() (the verifier's
 * scanner) must accept the same inputs and extract the same fields and
 * blob references.  Seeds in corpus/audit_record/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "record.h"
#include "record_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct refsum {
	int n;
	int64_t sizes;
	unsigned char x[AUDIT_HASH_LEN];
};

static int
sum_ref(void *arg, const char *hex, int64_t size)
{
	struct refsum *r = arg;
	unsigned char h[AUDIT_HASH_LEN];
	size_t i;

	if (petri_unhex(hex, h, sizeof(h)) != 0)
		__builtin_trap();
	for (i = 0; i < sizeof(h); i++)
		r->x[i] ^= h[i];
	r->sizes += size;
	r->n++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct audit_record_scratch scratch;
	static int ready;
	struct audit_record rec;
	struct audit_record_scan sc;
	struct refsum a, b;
	unsigned char leaf[AUDIT_HASH_LEN];
	int ra, rb;

	if (!ready) {
		if (sodium_init() < 0)
			return 0;
		ready = 1;
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ra = audit_record_parse(data, size, &rec, NULL);
	rb = audit_record_scan(data, size, &sc, &scratch, sum_ref, &b, NULL);
	if ((ra == 0) != (rb == 0))
		__builtin_trap();
	if (ra != 0)
		return 0;
	if (audit_record_blob_refs(rec.json, sum_ref, &a) != 0)
		__builtin_trap(); /* the parser already accepted them */
	if (a.n != b.n || a.sizes != b.sizes ||
	    memcmp(a.x, b.x, sizeof(a.x)) != 0 || rec.seq != sc.seq ||
	    memcmp(rec.prev, sc.prev, AUDIT_HASH_LEN) != 0 ||
	    strcmp(rec.origin, sc.origin) != 0 ||
	    strcmp(rec.type, sc.type) != 0 || strcmp(rec.id, sc.id) != 0 ||
	    strcmp(rec.time, sc.time) != 0 || strcmp(rec.clock, sc.clock) != 0)
		__builtin_trap();
	audit_record_leaf(data, size, leaf);
	audit_record_clear(&rec);
	return 0;
}
