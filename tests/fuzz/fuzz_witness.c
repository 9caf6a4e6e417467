/*
 * fuzz_witness.c: the witness's hostile inputs.  The bytes are an
 * add-checkpoint body (audit_witness_req_parse, then the whole witness
 * state machine against a fixed log key, in a throw-away state
 * directory), a note with cosignature lines (audit_cosig_verify and
 * audit_cosig_count against a fixed cosigner key), a cosigner key, and a
 * 409 answer body.
 * Seeds in corpus/witness/: requests from size 0 and with a proof, a
 * cosigned checkpoint, keys.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "checkpoint.h"
#include "cosig.h"
#include "witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed keys: seed 32 x 0x42 for "fuzz.petri/log" (as fuzz_checkpoint),
 * seed 32 x 0x43 for the witness "fuzz.petri/witness". */
#define FUZZ_ORIGIN "fuzz.petri/log"
#define FUZZ_WITNESS "fuzz.petri/witness"

static struct witness *fz_w;
static struct audit_key fz_wk;
static char fz_dir[64];

/* Removes the throw-away state directory at exit (two levels). */
static void
fuzz_rm(const char *dir)
{
	char p[512];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%.200s", dir, e->d_name);
		if (unlink(p) != 0)
			fuzz_rm(p);
	}
	closedir(d);
	rmdir(dir);
}

static void
fuzz_cleanup(void)
{
	witness_free(fz_w);
	fuzz_rm(fz_dir);
}

static int
fuzz_setup(void)
{
	unsigned char seed[AUDIT_SEED_LEN], pk[AUDIT_PUBKEY_LEN];
	unsigned char sk[AUDIT_SECKEY_LEN];
	char v[AUDIT_VKEY_MAX + 1];
	struct audit_key lk;

	if (sodium_init() < 0)
		return -1;
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	if (audit_key_init(&lk, FUZZ_ORIGIN, pk) != 0 ||
	    audit_vkey_format(&lk, v, sizeof(v)) != 0)
		return -1;
	memset(seed, 0x43, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	if (audit_cosigner_key_init(&fz_wk, FUZZ_WITNESS, pk) != 0)
		return -1;
	/* state in memory only matters; files go to a per-process dir */
	snprintf(fz_dir, sizeof(fz_dir), "/tmp/petri-fuzz-witness-%d",
	    (int)getpid());
	if (witness_new(&fz_wk, sk, fz_dir, &fz_w) != 0 ||
	    witness_log_add(fz_w, v, strlen(v)) != 0)
		return -1;
	atexit(fuzz_cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct audit_witness_req req;
	struct witness_answer a;
	struct audit_key k;
	unsigned char sk[AUDIT_SECKEY_LEN];
	const char *p = (const char *)data;
	uint64_t n;

	if (!ready) {
		if (fuzz_setup() != 0)
			return 0;
		ready = 1;
	}
	if (audit_witness_req_parse(p, size, &req) == 0 && req.note_len > size)
		abort();
	witness_add_checkpoint(fz_w, p, size, 1700000000, &a);
	if (a.status == 0 || a.len >= sizeof(a.body))
		abort();
	if (audit_cosig_verify(p, size, &fz_wk, NULL) == 0 &&
	    audit_cosig_count(p, size, &fz_wk, 1) != 1)
		abort();
	if (audit_cosigner_vkey_parse(p, size, &k) == 0 &&
	    !audit_key_name_valid(k.name))
		abort();
	if (audit_cosigner_skey_parse(p, size, sk, &k) == 0)
		sodium_memzero(sk, sizeof(sk));
	if (audit_witness_size_parse(p, size, &n) == 0 && n > INT64_MAX)
		abort();
	return 0;
}
