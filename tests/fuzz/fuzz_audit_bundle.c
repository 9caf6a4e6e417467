/*
 * fuzz_audit_bundle.c: the whole offline verifier (audit/verify.c) on a
 * hostile bundle: ustar index, manifest, checkpoints, rotations, records,
 * signature lines, blobs.  Pinned key: seed 32 x 0x42, "fuzz.petri/log",
 * so the seeds in corpus/audit_bundle/ (bundles exported from a log keyed
 * that way: full, partial with a key rotation, unsealed) verify and the
 * fuzzer can reach the deep checks.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ORIGIN "fuzz.petri/log"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct audit_verify_opts o;
	static int ready;
	struct audit_verify_result res;
	int pass;

	if (!ready) {
		unsigned char seed[AUDIT_SEED_LEN], pk[AUDIT_PUBKEY_LEN];
		unsigned char sk[AUDIT_SECKEY_LEN];

		if (sodium_init() < 0)
			return 0;
		memset(seed, 0x42, sizeof(seed));
		crypto_sign_seed_keypair(pk, sk, seed);
		sodium_memzero(sk, sizeof(sk));
		if (audit_key_init(&o.key, FUZZ_ORIGIN, pk) != 0)
			return 0;
		o.threads = 1;
		ready = 1;
	}
	/* both the strict and the partial-bundle paths */
	for (pass = 0; pass < 2; pass++) {
		o.partial = pass;
		if (audit_verify_bundle(data, size, &o, &res) == 0)
			audit_verify_result_free(&res);
	}
	return 0;
}
