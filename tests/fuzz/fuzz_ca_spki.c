/*
 * fuzz_ca_spki.c: libFuzzer target for what the proxy sends the keeper to
 * get a leaf: a host and a DER SubjectPublicKeyInfo.  Input: one byte n,
 * then n bytes of host, then the SPKI.  Aborts when an invariant breaks:
 *  - a parsed SPKI is an EC P-256 key of exactly CA_SPKI_P256_LEN bytes
 *    whose re-encoding is the input;
 *  - a host that passes ca_host_check() is its own canonical form;
 *  - issuing succeeds exactly when both pass, and the leaf parses, chains
 *    to the CA and names the host (dNSName or iPAddress) alone;
 *  - a failure leaves no output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ca *fuzz_ca;

static void
fuzz_check_leaf(const unsigned char *der, size_t len, const char *host,
    const struct host *h)
{
	const unsigned char *p = der;
	X509 *x;
	int r;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		abort();
	if (X509_verify(x, X509_get0_pubkey(ca_cert(fuzz_ca))) != 1)
		abort();
	if (h->kind == HOST_KIND_ADDR)
		r = X509_check_ip_asc(x, host, 0);
	else
		r = X509_check_host(
		    x, host, strlen(host), X509_CHECK_FLAG_NO_WILDCARDS, NULL);
	if (r != 1)
		abort();
	X509_free(x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[256];
	unsigned char *der = NULL, *re = NULL;
	const unsigned char *spki;
	EVP_PKEY *k = NULL;
	struct host h;
	size_t n, slen, dlen = 0;
	int hr, sr, ir, rl;

	if (fuzz_ca == NULL && ca_ephemeral_new(&fuzz_ca) != 0)
		abort();
	if (size == 0)
		return 0;
	n = data[0];
	if (n > size - 1)
		n = size - 1;
	memcpy(host, data + 1, n);
	host[n] = '\0';
	spki = data + 1 + n;
	slen = size - 1 - n;

	hr = ca_host_check(host, &h);
	if (hr == 0 && strcmp(h.name, host) != 0)
		abort();
	sr = ca_spki_parse(spki, slen, &k);
	if ((sr == 0) != (k != NULL))
		abort();
	if (sr == 0) {
		if (slen != CA_SPKI_P256_LEN || !EVP_PKEY_is_a(k, "EC") ||
		    (rl = i2d_PUBKEY(k, &re)) != (int)slen ||
		    memcmp(re, spki, slen) != 0)
			abort();
		OPENSSL_free(re);
	}
	EVP_PKEY_free(k);

	ir = ca_issue_leaf_der(fuzz_ca, host, spki, slen, &der, &dlen);
	if ((ir == 0) != (hr == 0 && sr == 0))
		abort();
	if (ir != 0 && (der != NULL || dlen != 0))
		abort();
	if (ir == 0)
		fuzz_check_leaf(der, dlen, host, &h);
	free(der);
	ERR_clear_error();
	return 0;
}
