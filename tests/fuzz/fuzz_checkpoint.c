/*
 * fuzz_checkpoint.c: every note-shaped parser of the audit log on the same
 * hostile input: signed note / checkpoint (parse, and verify against a
 * fixed key), verifier and signer keys, single-proof documents.
 * Seeds in corpus/checkpoint/: checkpoints by the fixed key below, the Go
 * sumdb/note vector, the C2SP example, keys and proofs.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "checkpoint.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed fuzzing key: seed 32 x 0x42, name "fuzz.petri/log". */
#define FUZZ_ORIGIN "fuzz.petri/log"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct audit_key key;
	static int ready;
	struct audit_checkpoint cp;
	struct audit_proof_doc d;
	struct audit_key k;
	unsigned char sk[AUDIT_SECKEY_LEN];
	size_t tlen;

	if (!ready) {
		unsigned char seed[AUDIT_SEED_LEN], pk[AUDIT_PUBKEY_LEN];

		if (sodium_init() < 0)
			return 0;
		memset(seed, 0x42, sizeof(seed));
		crypto_sign_seed_keypair(pk, sk, seed);
		if (audit_key_init(&key, FUZZ_ORIGIN, pk) != 0)
			return 0;
		ready = 1;
	}
	/* each must answer without crashing; a parsed note has a text */
	if (audit_note_open((const char *)data, size, NULL, &tlen) == 0 &&
	    (tlen == 0 || tlen >= size))
		__builtin_trap();
	if (audit_checkpoint_parse((const char *)data, size, &cp) == 0 &&
	    cp.size > AUDIT_MERKLE_MAX_SIZE)
		__builtin_trap();
	if (audit_checkpoint_verify((const char *)data, size, &key, &cp) == 0 &&
	    strcmp(cp.origin, FUZZ_ORIGIN) != 0 && cp.origin[0] == '\0')
		__builtin_trap();
	if (audit_vkey_parse((const char *)data, size, &k) == 0 &&
	    !audit_key_name_valid(k.name))
		__builtin_trap();
	if (audit_skey_parse((const char *)data, size, sk, &k) == 0)
		sodium_memzero(sk, sizeof(sk));
	if (audit_proof_parse((const char *)data, size, &d) == 0 &&
	    d.proof.count > AUDIT_MERKLE_MAX_PROOF)
		__builtin_trap();
	return 0;
}
