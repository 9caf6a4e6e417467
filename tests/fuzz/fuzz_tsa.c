/*
 * fuzz_tsa.c: RFC 3161 bytes from outside: a TSA's reply
 * (audit_tsa_reply_check) and a bundle's token (audit_tsa_token_verify).
 * Both parse the DER before they need the CA file, which does not exist
 * here: what is fuzzed is the parsing and the checks before the chain.
 * Seeds in corpus/tsa/: a reply and a token from `openssl ts -reply`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tsa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char digest[AUDIT_HASH_LEN];
	unsigned char *tok = NULL;
	size_t toklen = 0;
	int64_t gen = 0;

	if (audit_tsa_reply_check(data, size, digest, 1,
	        "/nonexistent/petri-fuzz-ca.pem", &tok, &toklen, &gen) == 0)
		abort(); /* no CA: nothing may verify */
	free(tok);
	if (audit_tsa_token_verify(data, size, digest,
	        "/nonexistent/petri-fuzz-ca.pem", &gen) == 0)
		abort();
	return 0;
}
