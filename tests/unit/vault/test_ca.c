/*
 * test_ca.c: the interception CA: leaves chain to the CA alone, name the
 * host (dNSName or iPAddress), carry the leaf extensions; strict SPKI and
 * host checks; the key and certificate files.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "unit.h"
#include "util.h"

static char tmpdir[256];

static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static EVP_PKEY *
key_new(const char *type, const char *param)
{
	EVP_PKEY *k;

	if (param != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, param);
	else if (strcmp(type, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)2048);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (k == NULL)
		abort();
	return k;
}

/* DER SubjectPublicKeyInfo of k; caller frees with OPENSSL_free(). */
static unsigned char *
spki_of(EVP_PKEY *k, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	if (n <= 0)
		abort();
	*len = (size_t)n;
	return der;
}

/* X509_verify_cert against a store holding only the CA certificate. */
static int
verify(X509 *root, X509 *leaf, const char *host, const char *ip)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *vp;
	int ok;

	if (store == NULL || ctx == NULL ||
	    X509_STORE_add_cert(store, root) != 1 ||
	    X509_STORE_CTX_init(ctx, store, leaf, NULL) != 1)
		abort();
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
	if (host != NULL)
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
	if (ip != NULL)
		X509_VERIFY_PARAM_set1_ip_asc(vp, ip);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok == 1;
}

/* Issues through the DER interface and parses the answer. */
static X509 *
issue_der(struct ca *ca, const char *host, EVP_PKEY *k, int *rv)
{
	unsigned char *spki, *der = NULL;
	const unsigned char *p;
	size_t slen, dlen = 0;
	X509 *x = NULL;

	spki = spki_of(k, &slen);
	*rv = ca_issue_leaf_der(ca, host, spki, slen, &der, &dlen);
	OPENSSL_free(spki);
	if (*rv != 0) {
		if (der != NULL || dlen != 0)
			unit_cur_failed++;
		return NULL;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)dlen);
	if (x == NULL || p != der + dlen)
		unit_cur_failed++;
	free(der);
	return x;
}

/* The only SAN of x: type and value (DNS text or IP bytes). */
static int
san_only(X509 *x, int *type, unsigned char *val, size_t *vlen)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *gn;
	ASN1_STRING *s;
	int crit = -1;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL || sk_GENERAL_NAME_num(gens) != 1) {
		GENERAL_NAMES_free(gens);
		return -1;
	}
	gn = sk_GENERAL_NAME_value(gens, 0);
	s = (ASN1_STRING *)GENERAL_NAME_get0_value(gn, type);
	*vlen = (size_t)ASN1_STRING_length(s);
	memcpy(val, ASN1_STRING_get0_data(s), *vlen);
	val[*vlen] = '\0';
	GENERAL_NAMES_free(gens);
	return crit;
}

static void
test_issue_verify(void)
{
	struct ca *ca = NULL, *other = NULL;
	EVP_PKEY *k = key_new("EC", "P-256");
	unsigned char val[300];
	const ASN1_OCTET_STRING *aki, *ski;
	const ASN1_INTEGER *ser1, *ser2;
	BIGNUM *bn;
	X509 *x, *y;
	time_t now = time(NULL), t;
	size_t vlen = 0;
	int type = 0, rv, crit, cmp;

	CHECK_EQ(ca_ephemeral_new(&ca), 0);
	CHECK_EQ(ca_ephemeral_new(&other), 0);
	x = issue_der(ca, "api.example.com", k, &rv);
	CHECK_EQ(rv, 0);
	CHECK(x != NULL);
	if (x == NULL)
		goto out;
	CHECK(verify(ca_cert(ca), x, "api.example.com", NULL));
	CHECK(!verify(ca_cert(ca), x, "other.example.com", NULL));
	CHECK(!verify(ca_cert(ca), x, "example.com", NULL));
	CHECK(!verify(ca_cert(other), x, "api.example.com", NULL));
	/* signed by the CA key, over the caller's key */
	CHECK_EQ(X509_verify(x, X509_get0_pubkey(ca_cert(ca))), 1);
	CHECK_EQ(EVP_PKEY_eq(X509_get0_pubkey(x), k), 1);
	/* SAN: one dNSName, not critical (the subject has the CN) */
	crit = san_only(x, &type, val, &vlen);
	CHECK_EQ(crit, 0);
	CHECK_EQ(type, GEN_DNS);
	CHECK_STR((char *)val, "api.example.com");
	/* extensions */
	CHECK_EQ(X509_check_ca(x), 0);
	CHECK(X509_get_extension_flags(x) & EXFLAG_BCONS);
	CHECK(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	CHECK(!(X509_get_key_usage(x) & KU_KEY_CERT_SIGN));
	CHECK(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	CHECK(!(X509_get_extended_key_usage(x) & XKU_CODE_SIGN));
	aki = X509_get0_authority_key_id(x);
	ski = X509_get0_subject_key_id(ca_cert(ca));
	CHECK(
	    aki != NULL && ski != NULL && ASN1_OCTET_STRING_cmp(aki, ski) == 0);
	CHECK(X509_get0_subject_key_id(x) != NULL);
	CHECK_EQ(X509_get_version(x), X509_VERSION_3);
	CHECK_EQ(X509_NAME_cmp(X509_get_issuer_name(x),
	             X509_get_subject_name(ca_cert(ca))),
	    0);
	CHECK_EQ(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	/* validity: 5 minutes back, one day ahead */
	t = now - CA_LEAF_BACKDATE_SEC + 5;
	CHECK(X509_cmp_time(X509_get0_notBefore(x), &t) < 0);
	t = now - CA_LEAF_BACKDATE_SEC - 5;
	CHECK(X509_cmp_time(X509_get0_notBefore(x), &t) > 0);
	t = now + 86400 + 5;
	CHECK(X509_cmp_time(X509_get0_notAfter(x), &t) < 0);
	t = now + 86400 - 5;
	CHECK(X509_cmp_time(X509_get0_notAfter(x), &t) > 0);
	/* serials: random, 128 bits, different each time */
	y = issue_der(ca, "api.example.com", k, &rv);
	CHECK(y != NULL);
	if (y != NULL) {
		ser1 = X509_get0_serialNumber(x);
		ser2 = X509_get0_serialNumber(y);
		CHECK(ASN1_INTEGER_cmp(ser1, ser2) != 0);
		bn = ASN1_INTEGER_to_BN(ser1, NULL);
		CHECK(bn != NULL && BN_num_bits(bn) > 96 &&
		    BN_num_bits(bn) <= 128 && !BN_is_negative(bn));
		BN_free(bn);
		cmp = X509_cmp(x, y);
		CHECK(cmp != 0);
		X509_free(y);
	}
	X509_free(x);
	/* the EVP_PKEY interface, with a longer validity */
	x = NULL;
	CHECK_EQ(ca_issue_leaf(ca, "a.example.org", k, 7, &x), 0);
	CHECK(x != NULL && verify(ca_cert(ca), x, "a.example.org", NULL));
	t = now + 7 * 86400 + 5;
	CHECK(x != NULL && X509_cmp_time(X509_get0_notAfter(x), &t) < 0);
	X509_free(x);
	x = NULL;
	CHECK_EQ(ca_issue_leaf(ca, "a.example.org", k, 0, &x), PETRI_ERR_INVAL);
	CHECK_EQ(
	    ca_issue_leaf(ca, "a.example.org", k, CA_LEAF_MAX_DAYS + 1, &x),
	    PETRI_ERR_INVAL);
	CHECK_EQ(
	    ca_issue_leaf(ca, "a.example.org", NULL, 1, &x), PETRI_ERR_INVAL);
	CHECK_EQ(
	    ca_issue_leaf(NULL, "a.example.org", k, 1, &x), PETRI_ERR_INVAL);
	CHECK(x == NULL);
out:
	EVP_PKEY_free(k);
	ca_free(ca);
	ca_free(other);
	ca_free(NULL);
}

static void
test_ip_san(void)
{
	static const unsigned char v4[4] = {127, 0, 0, 1};
	static const unsigned char v6[16] = {
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct ca *ca = NULL;
	EVP_PKEY *k = key_new("EC", "P-256");
	unsigned char val[300];
	size_t vlen = 0;
	int type = 0, rv;
	X509 *x;

	CHECK_EQ(ca_ephemeral_new(&ca), 0);
	x = issue_der(ca, "127.0.0.1", k, &rv);
	CHECK_EQ(rv, 0);
	if (x != NULL) {
		(void)san_only(x, &type, val, &vlen);
		CHECK_EQ(type, GEN_IPADD);
		CHECK(vlen == 4 && memcmp(val, v4, 4) == 0);
		CHECK(verify(ca_cert(ca), x, NULL, "127.0.0.1"));
		CHECK(!verify(ca_cert(ca), x, NULL, "127.0.0.2"));
		X509_free(x);
	}
	x = issue_der(ca, "2001:db8::1", k, &rv);
	CHECK_EQ(rv, 0);
	if (x != NULL) {
		(void)san_only(x, &type, val, &vlen);
		CHECK_EQ(type, GEN_IPADD);
		CHECK(vlen == 16 && memcmp(val, v6, 16) == 0);
		CHECK(verify(ca_cert(ca), x, NULL, "2001:db8::1"));
		X509_free(x);
	}
	/* non-canonical spellings of addresses are refused */
	CHECK(issue_der(ca, "[::1]", k, &rv) == NULL);
	CHECK_EQ(rv, PETRI_ERR_INVAL);
	CHECK(issue_der(ca, "0x7f000001", k, &rv) == NULL);
	CHECK_EQ(rv, PETRI_ERR_INVAL);
	CHECK(issue_der(ca, "127.1", k, &rv) == NULL);
	CHECK_EQ(rv, PETRI_ERR_INVAL);
	CHECK(issue_der(ca, "2001:DB8::1", k, &rv) == NULL);
	CHECK_EQ(rv, PETRI_ERR_INVAL);
	EVP_PKEY_free(k);
	ca_free(ca);
}

static void
test_long_name(void)
{
	struct ca *ca = NULL;
	EVP_PKEY *k = key_new("EC", "P-256");
	unsigned char val[300];
	char host[300];
	size_t vlen = 0;
	int type = 0, rv;
	X509 *x;

	/* 4 labels of 63 + 3 dots = 255 > 253: use 3 of 63 and one of 61 */
	memset(host, 'a', sizeof(host));
	host[63] = '.';
	host[127] = '.';
	host[191] = '.';
	host[253] = '\0';
	CHECK_EQ(ca_ephemeral_new(&ca), 0);
	x = issue_der(ca, host, k, &rv);
	CHECK_EQ(rv, 0);
	if (x != NULL) {
		/* too long for a CN: empty subject, critical SAN */
		CHECK_EQ(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
		CHECK_EQ(san_only(x, &type, val, &vlen), 1);
		CHECK_STR((char *)val, host);
		CHECK(verify(ca_cert(ca), x, host, NULL));
		X509_free(x);
	}
	EVP_PKEY_free(k);
	ca_free(ca);
}

static void
test_spki_refused(void)
{
	struct ca *ca = NULL;
	EVP_PKEY *p384 = key_new("EC", "P-384");
	EVP_PKEY *rsa = key_new("RSA", NULL);
	EVP_PKEY *ed = key_new("ED25519", NULL);
	EVP_PKEY *p256 = key_new("EC", "P-256");
	EVP_PKEY *out = NULL;
	unsigned char *spki, *der = NULL, buf[200];
	size_t len, dlen = 0, i;
	X509 *x = NULL;
	int rv;

	CHECK_EQ(ca_ephemeral_new(&ca), 0);
	/* other key types and curves */
	CHECK(issue_der(ca, "api.example.com", p384, &rv) == NULL);
	CHECK_EQ(rv, PETRI_ERR_UNSUPPORTED);
	CHECK(issue_der(ca, "api.example.com", rsa, &rv) == NULL);
	CHECK_EQ(rv, PETRI_ERR_UNSUPPORTED);
	CHECK(issue_der(ca, "api.example.com", ed, &rv) == NULL);
	CHECK_EQ(rv, PETRI_ERR_UNSUPPORTED);
	CHECK_EQ(ca_issue_leaf(ca, "api.example.com", p384, 1, &x),
	    PETRI_ERR_UNSUPPORTED);
	CHECK_EQ(ca_issue_leaf(ca, "api.example.com", rsa, 1, &x),
	    PETRI_ERR_UNSUPPORTED);
	CHECK(x == NULL);
	/* the good one parses */
	spki = spki_of(p256, &len);
	CHECK_EQ(len, CA_SPKI_P256_LEN);
	CHECK_EQ(ca_spki_parse(spki, len, &out), 0);
	CHECK(out != NULL && EVP_PKEY_eq(out, p256) == 1);
	EVP_PKEY_free(out);
	out = NULL;
	/* truncated, trailing bytes, not on the curve, garbage */
	memcpy(buf, spki, len);
	CHECK_EQ(ca_spki_parse(buf, len - 1, &out), PETRI_ERR_INVAL);
	buf[len] = 0;
	CHECK_EQ(ca_spki_parse(buf, len + 1, &out), PETRI_ERR_INVAL);
	buf[len - 1] ^= 1;
	CHECK_EQ(ca_spki_parse(buf, len, &out), PETRI_ERR_INVAL);
	buf[len - 1] ^= 1;
	buf[40] ^= 0x55;
	CHECK_EQ(ca_spki_parse(buf, len, &out), PETRI_ERR_INVAL);
	buf[40] ^= 0x55;
	buf[1] = 0x5a; /* wrong outer length */
	CHECK_EQ(ca_spki_parse(buf, len, &out), PETRI_ERR_INVAL);
	memset(buf + 27, 0, 64); /* the point (0, 0) */
	buf[1] = 0x59;
	CHECK_EQ(ca_spki_parse(buf, len, &out), PETRI_ERR_INVAL);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 37 + 11);
	CHECK_EQ(ca_spki_parse(buf, sizeof(buf), &out), PETRI_ERR_INVAL);
	CHECK_EQ(ca_spki_parse(buf, 0, &out), PETRI_ERR_INVAL);
	CHECK_EQ(ca_spki_parse(NULL, 91, &out), PETRI_ERR_INVAL);
	CHECK(out == NULL);
	CHECK_EQ(ca_issue_leaf_der(
	             ca, "api.example.com", buf, sizeof(buf), &der, &dlen),
	    PETRI_ERR_INVAL);
	CHECK(der == NULL && dlen == 0);
	OPENSSL_free(spki);
	/* compressed point and explicit curve parameters: refused */
	CHECK_EQ(EVP_PKEY_set_utf8_string_param(p256,
	             OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"),
	    1);
	spki = spki_of(p256, &len);
	CHECK(len < CA_SPKI_P256_LEN);
	CHECK_EQ(ca_spki_parse(spki, len, &out), PETRI_ERR_UNSUPPORTED);
	OPENSSL_free(spki);
	CHECK_EQ(
	    EVP_PKEY_set_utf8_string_param(p256,
	        OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed"),
	    1);
	CHECK_EQ(EVP_PKEY_set_utf8_string_param(
	             p256, OSSL_PKEY_PARAM_EC_ENCODING, "explicit"),
	    1);
	spki = spki_of(p256, &len);
	CHECK(len > CA_SPKI_P256_LEN);
	CHECK(ca_spki_parse(spki, len, &out) != 0);
	CHECK(out == NULL);
	OPENSSL_free(spki);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p256);
	ca_free(ca);
}

static void
test_host_refused(void)
{
	static const struct {
		const char *host;
		int rv;
	} cases[] = {
	    {"API.example.com", PETRI_ERR_INVAL},
	    {"api.example.com.", PETRI_ERR_INVAL},
	    {"*.example.com", PETRI_ERR_INVAL},
	    {"", PETRI_ERR_INVAL},
	    {"a b.example.com", PETRI_ERR_INVAL},
	    {"api.example.com:443", PETRI_ERR_INVAL},
	    {"api.example.com\r\nx", PETRI_ERR_INVAL},
	    {"xn--80ak6aa92e.com", 0},
	    {"ex\xc3\xa4mple.com", PETRI_ERR_INVAL},
	    {"localhost", PETRI_ERR_PERM},
	    {"a.localhost", PETRI_ERR_PERM},
	    {"metadata.google.internal", PETRI_ERR_PERM},
	    {"fe80::1%eth0", PETRI_ERR_PERM},
	    {"api.example.com", 0},
	    {"10.0.0.1", 0},
	};
	char big[400];
	size_t i;
	struct host h;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rv = ca_host_check(cases[i].host, &h);

		if (rv != cases[i].rv)
			fprintf(stderr, "host %zu: %d\n", i, rv);
		CHECK_EQ(rv, cases[i].rv);
	}
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(ca_host_check(big, NULL), PETRI_ERR_TOOBIG);
	CHECK_EQ(ca_host_check(NULL, NULL), PETRI_ERR_INVAL);
	CHECK_EQ(ca_host_check("api.example.com", &h), 0);
	CHECK_EQ(h.kind, HOST_KIND_NAME);
}

static void
fresh_dir(char *dir, size_t dlen)
{
	if (tmpdir[0] != '\0')
		(void)nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/petri-ca-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		abort();
	snprintf(dir, dlen, "%s/keys", tmpdir);
}

static void
test_files(void)
{
	char dir[300], kpath[400], cpath[400], lpath[400], *pem = NULL;
	char *file = NULL;
	size_t plen = 0, flen = 0;
	struct ca *ca = NULL, *ca2 = NULL;
	EVP_PKEY *k = key_new("EC", "P-256");
	struct stat st;
	X509 *x;
	int rv;

	fresh_dir(dir, sizeof(dir));
	snprintf(kpath, sizeof(kpath), "%s/ca.key", dir);
	snprintf(cpath, sizeof(cpath), "%s/ca.pem", dir);
	snprintf(lpath, sizeof(lpath), "%s/ca.key.link", dir);
	CHECK_EQ(ca_open(dir, &ca), 0);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700);
	CHECK(stat(kpath, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(stat(cpath, &st) == 0 && (st.st_mode & 07777) == 0644);
	if (ca == NULL)
		goto out;
	/* the CA certificate */
	CHECK_EQ(X509_check_ca(ca_cert(ca)), 1);
	CHECK_EQ(X509_get_pathlen(ca_cert(ca)), 0);
	CHECK(X509_get_key_usage(ca_cert(ca)) & KU_KEY_CERT_SIGN);
	CHECK(!(X509_get_key_usage(ca_cert(ca)) & KU_DIGITAL_SIGNATURE));
	CHECK(X509_get0_subject_key_id(ca_cert(ca)) != NULL);
	CHECK(EVP_PKEY_is_a(X509_get0_pubkey(ca_cert(ca)), "EC"));
	CHECK_EQ(X509_check_issued(ca_cert(ca), ca_cert(ca)), X509_V_OK);
	/* the exported PEM is the file */
	CHECK_EQ(ca_cert_pem(ca, &pem, &plen), 0);
	CHECK_EQ(petri_file_read(cpath, 65536, &file, &flen), 0);
	CHECK(pem != NULL && file != NULL && plen == flen &&
	    memcmp(pem, file, plen) == 0);
	CHECK(pem != NULL && strstr(pem, "PRIVATE") == NULL);
	free(file);
	file = NULL;
	/* reopening loads the same CA; its leaves chain to the first */
	CHECK_EQ(ca_open(dir, &ca2), 0);
	CHECK(ca2 != NULL && X509_cmp(ca_cert(ca), ca_cert(ca2)) == 0);
	x = issue_der(ca2, "api.example.com", k, &rv);
	CHECK(x != NULL && verify(ca_cert(ca), x, "api.example.com", NULL));
	X509_free(x);
	ca_free(ca2);
	ca2 = NULL;
	/* key file mode, owner, symlink */
	CHECK_EQ(chmod(kpath, 0644), 0);
	CHECK_EQ(ca_open(dir, &ca2), PETRI_ERR_PERM);
	CHECK_EQ(chmod(kpath, 0640), 0);
	CHECK_EQ(ca_open(dir, &ca2), PETRI_ERR_PERM);
	CHECK_EQ(chmod(kpath, 0400), 0);
	CHECK_EQ(ca_open(dir, &ca2), 0);
	ca_free(ca2);
	ca2 = NULL;
	CHECK_EQ(chmod(kpath, 0600), 0);
	if (geteuid() == 0) {
		CHECK_EQ(chown(kpath, 65534, 65534), 0);
		CHECK_EQ(ca_open(dir, &ca2), PETRI_ERR_PERM);
		CHECK_EQ(chown(kpath, 0, 0), 0);
	}
	CHECK_EQ(rename(kpath, lpath), 0);
	CHECK_EQ(symlink(lpath, kpath), 0);
	CHECK_EQ(ca_open(dir, &ca2), PETRI_ERR_PERM);
	CHECK_EQ(unlink(kpath), 0);
	CHECK_EQ(rename(lpath, kpath), 0);
	/* a lost certificate is made again from the key */
	CHECK_EQ(unlink(cpath), 0);
	CHECK_EQ(ca_open(dir, &ca2), 0);
	CHECK(ca2 != NULL &&
	    EVP_PKEY_eq(X509_get0_pubkey(ca_cert(ca)),
	        X509_get0_pubkey(ca_cert(ca2))) == 1);
	CHECK(access(cpath, F_OK) == 0);
	ca_free(ca2);
	ca2 = NULL;
	/* a certificate without its key is refused, not replaced */
	CHECK_EQ(unlink(kpath), 0);
	CHECK_EQ(ca_open(dir, &ca2), PETRI_ERR_STATE);
	CHECK(access(kpath, F_OK) != 0);
	/* a malformed key */
	CHECK_EQ(petri_file_write_atomic(kpath, "garbage\n", 8, 0600), 0);
	CHECK_EQ(ca_open(dir, &ca2), PETRI_ERR_CRYPTO);
	/* a key that does not match the certificate */
	{
		BIO *b = BIO_new(BIO_s_mem());
		char *p = NULL;
		long n;

		CHECK(PEM_write_bio_PrivateKey(
		          b, k, NULL, NULL, 0, NULL, NULL) == 1);
		n = BIO_get_mem_data(b, &p);
		CHECK_EQ(petri_file_write_atomic(kpath, p, (size_t)n, 0600), 0);
		BIO_free(b);
		CHECK_EQ(ca_open(dir, &ca2), PETRI_ERR_CRYPTO);
	}
	CHECK(ca2 == NULL);
	CHECK_EQ(ca_open(NULL, &ca2), PETRI_ERR_INVAL);
out:
	free(pem);
	EVP_PKEY_free(k);
	ca_free(ca);
}

struct thr {
	struct ca *ca;
	EVP_PKEY *k;
	int fails;
};

static void *
thr_run(void *arg)
{
	struct thr *t = arg;
	X509 *x;
	int i;

	for (i = 0; i < 50; i++) {
		x = NULL;
		if (ca_issue_leaf(t->ca, "api.example.com", t->k, 1, &x) != 0 ||
		    !verify(ca_cert(t->ca), x, "api.example.com", NULL))
			t->fails++;
		X509_free(x);
	}
	return NULL;
}

/* One CA, several issuing threads. */
static void
test_threads(void)
{
	struct ca *ca = NULL;
	struct thr t[4];
	pthread_t th[4];
	int i;

	CHECK_EQ(ca_ephemeral_new(&ca), 0);
	for (i = 0; i < 4; i++) {
		t[i].ca = ca;
		t[i].k = key_new("EC", "P-256");
		t[i].fails = 0;
		CHECK_EQ(pthread_create(&th[i], NULL, thr_run, &t[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(t[i].fails, 0);
		EVP_PKEY_free(t[i].k);
	}
	ca_free(ca);
}

int
main(void)
{
	UNIT_RUN(test_issue_verify);
	UNIT_RUN(test_ip_san);
	UNIT_RUN(test_long_name);
	UNIT_RUN(test_spki_refused);
	UNIT_RUN(test_host_refused);
	UNIT_RUN(test_files);
	UNIT_RUN(test_threads);
	if (tmpdir[0] != '\0')
		(void)nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return UNIT_DONE();
}
