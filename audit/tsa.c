/* tsa.c: RFC 3161 timestamps of checkpoints with OpenSSL (tsa.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sodium.h>

#include "checkpoint.h"
#include "tsa.h"

int
audit_tsa_digest(
    const char *note, size_t len, unsigned char out[AUDIT_HASH_LEN])
{
	size_t tlen;

	if (audit_note_open(note, len, NULL, &tlen) != 0)
		return PETRI_ERR_INVAL;
	crypto_hash_sha256(out, (const unsigned char *)note, tlen);
	return 0;
}

/* A TimeStampReq for digest and nonce (certReq true). */
static TS_REQ *
tsa_req_build(const unsigned char digest[AUDIT_HASH_LEN], uint64_t nonce)
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_INTEGER *n = ASN1_INTEGER_new();
	int ok;

	ok = req != NULL && mi != NULL && alg != NULL && n != NULL &&
	    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) &&
	    TS_MSG_IMPRINT_set_algo(mi, alg) &&
	    TS_MSG_IMPRINT_set_msg(
	        mi, (unsigned char *)(uintptr_t)digest, AUDIT_HASH_LEN) &&
	    ASN1_INTEGER_set_uint64(n, nonce) && TS_REQ_set_version(req, 1) &&
	    TS_REQ_set_msg_imprint(req, mi) && TS_REQ_set_nonce(req, n) &&
	    TS_REQ_set_cert_req(req, 1);
	TS_MSG_IMPRINT_free(mi);
	X509_ALGOR_free(alg);
	ASN1_INTEGER_free(n);
	if (!ok) {
		TS_REQ_free(req);
		return NULL;
	}
	return req;
}

int
audit_tsa_request(const unsigned char digest[AUDIT_HASH_LEN],
    unsigned char **der, size_t *len, uint64_t *nonce)
{
	TS_REQ *req;
	unsigned char *p;
	int n;

	*der = NULL;
	randombytes_buf(nonce, sizeof(*nonce));
	*nonce &= (uint64_t)INT64_MAX;
	if ((req = tsa_req_build(digest, *nonce)) == NULL)
		return PETRI_ERR_NOMEM;
	if ((n = i2d_TS_REQ(req, NULL)) <= 0 ||
	    (*der = malloc((size_t)n)) == NULL) {
		TS_REQ_free(req);
		return PETRI_ERR_NOMEM;
	}
	p = *der;
	n = i2d_TS_REQ(req, &p);
	TS_REQ_free(req);
	if (n <= 0) {
		free(*der);
		*der = NULL;
		return PETRI_ERR_NOMEM;
	}
	*len = (size_t)n;
	return 0;
}

/* A store holding the certificates of ca_file, or NULL. */
static X509_STORE *
tsa_store(const char *ca_file)
{
	X509_STORE *st = X509_STORE_new();

	if (st != NULL && X509_STORE_load_file(st, ca_file) != 1) {
		X509_STORE_free(st);
		return NULL;
	}
	return st;
}

/* The genTime of a TSTInfo as POSIX seconds. */
static int
tsa_gen_time(const TS_TST_INFO *tst, int64_t *out)
{
	const ASN1_GENERALIZEDTIME *t = TS_TST_INFO_get_time(tst);
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return PETRI_ERR_INVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* The token of a response, DER. */
static int
tsa_token_der(TS_RESP *resp, unsigned char **token, size_t *toklen)
{
	PKCS7 *p7 = TS_RESP_get_token(resp);
	unsigned char *p;
	int n;

	if (p7 == NULL || (n = i2d_PKCS7(p7, NULL)) <= 0 ||
	    (size_t)n > AUDIT_TSA_TOKEN_MAX)
		return PETRI_ERR_INVAL;
	if ((*token = malloc((size_t)n)) == NULL)
		return PETRI_ERR_NOMEM;
	p = *token;
	if (i2d_PKCS7(p7, &p) != n) {
		free(*token);
		*token = NULL;
		return PETRI_ERR_NOMEM;
	}
	*toklen = (size_t)n;
	return 0;
}

int
audit_tsa_reply_check(const unsigned char *der, size_t len,
    const unsigned char digest[AUDIT_HASH_LEN], uint64_t nonce,
    const char *ca_file, unsigned char **token, size_t *toklen,
    int64_t *gen_time)
{
	const unsigned char *p = der;
	TS_RESP *resp = NULL;
	TS_REQ *req = NULL;
	TS_VERIFY_CTX *ctx = NULL;
	X509_STORE *st = NULL;
	int r = PETRI_ERR_INVAL;

	*token = NULL;
	if (len > AUDIT_TSA_REPLY_MAX ||
	    (resp = d2i_TS_RESP(NULL, &p, (long)len)) == NULL ||
	    p != der + len ||
	    ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(
	        TS_RESP_get_status_info(resp))) > 1 /* granted(WithMods) */)
		goto out;
	r = PETRI_ERR_IO;
	if ((st = tsa_store(ca_file)) == NULL)
		goto out;
	r = PETRI_ERR_NOMEM;
	/* imprint and nonce as requested, plus the TSA's signature */
	if ((req = tsa_req_build(digest, nonce)) == NULL ||
	    (ctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL)) == NULL)
		goto out;
	TS_VERIFY_CTX_add_flags(ctx, TS_VFY_SIGNATURE);
	TS_VERIFY_CTX_set_store(ctx, st);
	st = NULL; /* the context owns it */
	r = PETRI_ERR_CRYPTO;
	if (TS_RESP_verify_response(ctx, resp) != 1)
		goto out;
	if ((r = tsa_gen_time(TS_RESP_get_tst_info(resp), gen_time)) != 0 ||
	    (r = tsa_token_der(resp, token, toklen)) != 0)
		goto out;
	r = 0;
out:
	TS_VERIFY_CTX_free(ctx);
	X509_STORE_free(st);
	TS_REQ_free(req);
	TS_RESP_free(resp);
	return r;
}

int
audit_tsa_token_verify(const unsigned char *token, size_t len,
    const unsigned char digest[AUDIT_HASH_LEN], const char *ca_file,
    int64_t *gen_time)
{
	const unsigned char *p = token;
	PKCS7 *p7 = NULL;
	TS_TST_INFO *tst = NULL;
	TS_VERIFY_CTX *ctx = NULL;
	X509_STORE *st = NULL;
	unsigned char *imp = NULL;
	int r = PETRI_ERR_INVAL;

	if (len > AUDIT_TSA_TOKEN_MAX ||
	    (p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL || p != token + len ||
	    (tst = PKCS7_to_TS_TST_INFO(p7)) == NULL)
		goto out;
	r = PETRI_ERR_IO;
	if ((st = tsa_store(ca_file)) == NULL)
		goto out;
	r = PETRI_ERR_NOMEM;
	if ((ctx = TS_VERIFY_CTX_new()) == NULL ||
	    (imp = OPENSSL_malloc(AUDIT_HASH_LEN)) == NULL)
		goto out;
	memcpy(imp, digest, AUDIT_HASH_LEN);
	TS_VERIFY_CTX_set_flags(
	    ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT);
	TS_VERIFY_CTX_set_imprint(ctx, imp, AUDIT_HASH_LEN);
	imp = NULL; /* owned by ctx */
	TS_VERIFY_CTX_set_store(ctx, st);
	st = NULL;
	r = PETRI_ERR_CRYPTO;
	if (TS_RESP_verify_token(ctx, p7) != 1)
		goto out;
	r = tsa_gen_time(tst, gen_time);
out:
	OPENSSL_free(imp);
	TS_VERIFY_CTX_free(ctx);
	X509_STORE_free(st);
	TS_TST_INFO_free(tst);
	PKCS7_free(p7);
	return r;
}
