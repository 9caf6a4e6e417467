/* ca.c: the TLS interception CA: key and certificate files, leaf issuing. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "ca.h"
#include "util.h"

#define CA_KEY_FILE "ca.key"
#define CA_CERT_FILE "ca.pem"
#define CA_BACKDATE_ROOT_SEC 3600
#define CA_CN_MAX 64 /* ub-common-name */
#define CA_SPKI_PARSE_MAX 4096 /* larger input is not even parsed */

struct ca {
	EVP_PKEY *key;
	X509 *cert;
};

/* SubjectPublicKeyInfo of an id-ecPublicKey, prime256v1, 0x04 point. */
static const unsigned char ca_p256_spki_prefix[] = {0x30, 0x59, 0x30, 0x13,
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};

void
ca_free(struct ca *ca)
{
	if (ca == NULL)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca);
}

X509 *
ca_cert(const struct ca *ca)
{
	return ca != NULL ? ca->cert : NULL;
}

/* 1 when key is an EC key on P-256. */
static int
ca_key_is_p256(const EVP_PKEY *key)
{
	char group[32];
	size_t glen = 0;

	if (key == NULL || !EVP_PKEY_is_a(key, "EC"))
		return 0;
	if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

int
ca_spki_parse(const unsigned char *der, size_t len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	int r = PETRI_ERR_INVAL;

	*out = NULL;
	if (der == NULL || len == 0 || len > CA_SPKI_PARSE_MAX)
		return PETRI_ERR_INVAL;
	if (len != CA_SPKI_P256_LEN ||
	    memcmp(der, ca_p256_spki_prefix, sizeof(ca_p256_spki_prefix)) !=
	        0) {
		/* tell a well-formed other key from garbage, for the log */
		if ((k = d2i_PUBKEY(NULL, &p, (long)len)) != NULL &&
		    p == der + len)
			r = PETRI_ERR_UNSUPPORTED;
		EVP_PKEY_free(k);
		ERR_clear_error();
		return r;
	}
	/* the fixed prefix pins algorithm, named curve and point form */
	if ((k = d2i_PUBKEY(NULL, &p, (long)len)) == NULL || p != der + len ||
	    !ca_key_is_p256(k))
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_public_check(ctx) != 1)
		goto out;
	*out = k;
	k = NULL;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return r;
}

int
ca_host_check(const char *host, struct host *out)
{
	struct host h;
	size_t len;
	int r;

	if (host == NULL)
		return PETRI_ERR_INVAL;
	len = strnlen(host, POLICY_HOST_INPUT_MAX + 1);
	if (len > POLICY_HOST_INPUT_MAX)
		return PETRI_ERR_TOOBIG;
	if ((r = host_canon(host, len, &h, NULL)) != 0)
		return r;
	if (strcmp(h.name, host) != 0)
		return PETRI_ERR_INVAL;
	if (h.kind == HOST_KIND_NAME && addr_name_is_denied(h.name))
		return PETRI_ERR_PERM;
	if (h.kind == HOST_KIND_ADDR && h.addr.family != ADDR_V4 &&
	    h.addr.family != ADDR_V6)
		return PETRI_ERR_INVAL;
	if (out != NULL)
		*out = h;
	return 0;
}

/* A random positive 128-bit serial number. */
static int
ca_serial_set(X509 *x)
{
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	int r = PETRI_ERR_CRYPTO;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return r;
	if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL)
		return PETRI_ERR_NOMEM;
	if (!BN_is_zero(bn) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		r = 0;
	BN_free(bn);
	return r;
}

/* Adds one extension from its OpenSSL configuration text. */
static int
ca_ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;
	int ok;

	if ((e = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return PETRI_ERR_CRYPTO;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : PETRI_ERR_CRYPTO;
}

/* Makes the self-signed CA certificate of key. */
static int
ca_root_make(EVP_PKEY *key, X509 **out)
{
	unsigned char rnd[4];
	char cn[CA_CN_MAX + 1], hex[9];
	X509_NAME *name = NULL;
	X509V3_CTX ctx;
	X509 *x = NULL;
	int r = PETRI_ERR_NOMEM;

	*out = NULL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return PETRI_ERR_CRYPTO;
	petri_hex(rnd, sizeof(rnd), hex);
	(void)snprintf(cn, sizeof(cn), "Petri interception CA %s", hex);
	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    (r = ca_serial_set(x)) != 0)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	        (const unsigned char *)"Petri", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -CA_BACKDATE_ROOT_SEC) ==
	        NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CA_ROOT_DAYS, 0, NULL) ==
	        NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((r = ca_ext_add(x, &ctx, NID_basic_constraints,
	         "critical,CA:TRUE,pathlen:0")) != 0 ||
	    (r = ca_ext_add(x, &ctx, NID_key_usage,
	         "critical,keyCertSign,cRLSign")) != 0 ||
	    (r = ca_ext_add(x, &ctx, NID_subject_key_identifier, "hash")) !=
	        0 ||
	    (r = ca_ext_add(
	         x, &ctx, NID_authority_key_identifier, "keyid:always")) != 0)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	*out = x;
	x = NULL;
	r = 0;
out:
	X509_NAME_free(name);
	X509_free(x);
	ERR_clear_error();
	return r;
}

/* Checks a loaded pair: P-256 CA, self-signed, matching, valid now. */
static int
ca_pair_check(EVP_PKEY *key, X509 *cert)
{
	if (!ca_key_is_p256(key) || X509_check_private_key(cert, key) != 1 ||
	    X509_verify(cert, key) != 1 || X509_check_ca(cert) < 1) {
		ERR_clear_error();
		return PETRI_ERR_CRYPTO;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0 ||
	    X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)
		return PETRI_ERR_STATE;
	return 0;
}

int
ca_ephemeral_new(struct ca **out)
{
	struct ca *ca;
	int r;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return PETRI_ERR_NOMEM;
	if ((ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		ca_free(ca);
		ERR_clear_error();
		return PETRI_ERR_CRYPTO;
	}
	if ((r = ca_root_make(ca->key, &ca->cert)) != 0) {
		ca_free(ca);
		return r;
	}
	*out = ca;
	return 0;
}

/* Never prompts for a passphrase: the key file is not encrypted. */
static int
ca_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Reads the CA key file: regular, owned by the effective uid, mode at most
 * 0600, at most CA_KEY_FILE_MAX bytes.  The text is wiped after parsing.
 */
static int
ca_key_load(const char *path, EVP_PKEY **out)
{
	struct stat st;
	char *text = NULL;
	size_t got = 0, cap = 0;
	ssize_t n;
	BIO *bio = NULL;
	int fd, r = PETRI_ERR_IO;

	*out = NULL;
	if ((fd = open(path,
	         O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)) <
	    0) {
		if (errno == ENOENT)
			return PETRI_ERR_NOTFOUND;
		return errno == ELOOP ? PETRI_ERR_PERM : PETRI_ERR_IO;
	}
	if (fstat(fd, &st) != 0)
		goto out;
	r = PETRI_ERR_PERM;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777 & ~(mode_t)0600) != 0)
		goto out;
	r = PETRI_ERR_TOOBIG;
	if (st.st_size < 0 || st.st_size > CA_KEY_FILE_MAX)
		goto out;
	r = PETRI_ERR_NOMEM;
	cap = (size_t)st.st_size + 1;
	if ((text = OPENSSL_secure_zalloc(cap)) == NULL)
		goto out;
	r = PETRI_ERR_IO;
	while (got < cap - 1) {
		n = read(fd, text + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r = PETRI_ERR_NOMEM;
	if ((bio = BIO_new_mem_buf(text, (int)got)) == NULL)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if ((*out = PEM_read_bio_PrivateKey(bio, NULL, ca_no_pass, NULL)) ==
	    NULL)
		goto out;
	r = 0;
out:
	close(fd);
	BIO_free(bio);
	if (text != NULL)
		OPENSSL_secure_clear_free(text, cap);
	ERR_clear_error();
	return r;
}

static int
ca_key_save(const char *path, EVP_PKEY *key)
{
	BIO *bio;
	char *p = NULL;
	long n;
	int r = PETRI_ERR_CRYPTO;

	/* a secure-heap memory BIO: cleared when freed */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return PETRI_ERR_NOMEM;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) ==
	        1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0)
		r = petri_file_write_atomic(path, p, (size_t)n, 0600);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

static int
ca_cert_save(const char *path, X509 *cert)
{
	BIO *bio;
	char *p = NULL;
	long n;
	int r = PETRI_ERR_CRYPTO;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return PETRI_ERR_NOMEM;
	if (PEM_write_bio_X509(bio, cert) == 1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0)
		r = petri_file_write_atomic(path, p, (size_t)n, 0644);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

static int
ca_cert_load(const char *path, X509 **out)
{
	char *text = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int r;

	*out = NULL;
	if ((r = petri_file_read(path, CA_CERT_FILE_MAX, &text, &len)) != 0)
		return r;
	r = PETRI_ERR_NOMEM;
	if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if ((*out = PEM_read_bio_X509(bio, NULL, ca_no_pass, NULL)) == NULL)
		goto out;
	r = 0;
out:
	BIO_free(bio);
	free(text);
	ERR_clear_error();
	return r;
}

int
ca_open(const char *dir, struct ca **out)
{
	char kpath[PATH_MAX], cpath[PATH_MAX];
	struct ca *ca = NULL;
	struct stat st;
	int r, rc;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return PETRI_ERR_INVAL;
	if ((r = petri_path_join(kpath, sizeof(kpath), dir, CA_KEY_FILE)) !=
	        0 ||
	    (r = petri_path_join(cpath, sizeof(cpath), dir, CA_CERT_FILE)) != 0)
		return r;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return PETRI_ERR_IO;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return PETRI_ERR_IO;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return PETRI_ERR_NOMEM;
	r = ca_key_load(kpath, &ca->key);
	if (r == PETRI_ERR_NOTFOUND) {
		/* no key: a first start, unless a certificate is left over */
		r = PETRI_ERR_STATE;
		if (lstat(cpath, &st) == 0 || errno != ENOENT)
			goto out;
		r = PETRI_ERR_CRYPTO;
		if ((ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ==
		    NULL)
			goto out;
		if ((r = ca_key_save(kpath, ca->key)) != 0)
			goto out;
	} else if (r != 0)
		goto out;
	if ((rc = ca_cert_load(cpath, &ca->cert)) == PETRI_ERR_NOTFOUND) {
		if ((r = ca_root_make(ca->key, &ca->cert)) != 0 ||
		    (r = ca_cert_save(cpath, ca->cert)) != 0)
			goto out;
	} else if ((r = rc) != 0)
		goto out;
	if ((r = ca_pair_check(ca->key, ca->cert)) != 0)
		goto out;
	*out = ca;
	ca = NULL;
out:
	ca_free(ca);
	ERR_clear_error();
	return r;
}

int
ca_cert_pem(const struct ca *ca, char **out, size_t *lenp)
{
	BIO *bio;
	char *p = NULL;
	long n;
	int r = PETRI_ERR_CRYPTO;

	*out = NULL;
	*lenp = 0;
	if (ca == NULL || ca->cert == NULL)
		return PETRI_ERR_INVAL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return PETRI_ERR_NOMEM;
	if (PEM_write_bio_X509(bio, ca->cert) == 1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0) {
		r = PETRI_ERR_NOMEM;
		if ((*out = malloc((size_t)n + 1)) != NULL) {
			memcpy(*out, p, (size_t)n);
			(*out)[n] = '\0';
			*lenp = (size_t)n;
			r = 0;
		}
	}
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

/* subjectAltName: one dNSName or iPAddress. */
static int
ca_san_add(X509 *x, const struct host *h, int critical)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	ASN1_OCTET_STRING *ip = NULL;
	int r = PETRI_ERR_NOMEM;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL)
		goto out;
	if (h->kind == HOST_KIND_ADDR) {
		if ((ip = ASN1_OCTET_STRING_new()) == NULL ||
		    ASN1_OCTET_STRING_set(
		        ip, h->addr.b, h->addr.family == ADDR_V4 ? 4 : 16) != 1)
			goto out;
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		ip = NULL;
	} else {
		if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(ia5, h->name, (int)strlen(h->name)) != 1)
			goto out;
		GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
		ia5 = NULL;
	}
	if (sk_GENERAL_NAME_push(gens, gn) <= 0)
		goto out;
	gn = NULL;
	r = PETRI_ERR_CRYPTO;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical,
	        X509V3_ADD_DEFAULT) != 1)
		goto out;
	r = 0;
out:
	ASN1_IA5STRING_free(ia5);
	ASN1_OCTET_STRING_free(ip);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return r;
}

int
ca_issue_leaf(
    struct ca *ca, const char *host, EVP_PKEY *leaf_pub, int days, X509 **out)
{
	unsigned char *spki = NULL;
	EVP_PKEY *pub = NULL;
	X509_NAME *name = NULL;
	X509V3_CTX ctx;
	struct host h;
	X509 *x = NULL;
	time_t end;
	int n, r;

	*out = NULL;
	if (ca == NULL || ca->key == NULL || ca->cert == NULL ||
	    leaf_pub == NULL || days < 1 || days > CA_LEAF_MAX_DAYS)
		return PETRI_ERR_INVAL;
	if ((r = ca_host_check(host, &h)) != 0)
		return r;
	/* only the public half, through the strict SPKI parser */
	if ((n = i2d_PUBKEY(leaf_pub, &spki)) <= 0) {
		ERR_clear_error();
		return PETRI_ERR_INVAL;
	}
	r = ca_spki_parse(spki, (size_t)n, &pub);
	OPENSSL_free(spki);
	if (r != 0)
		return r;
	r = PETRI_ERR_STATE;
	if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0)
		goto out;
	r = PETRI_ERR_NOMEM;
	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    (r = ca_serial_set(x)) != 0)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if (strlen(h.name) <= CA_CN_MAX &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)h.name, -1, -1, 0) != 1)
		goto out;
	end = time(NULL) + (time_t)days * 86400;
	if (X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -CA_LEAF_BACKDATE_SEC) ==
	        NULL ||
	    X509_set_pubkey(x, pub) != 1)
		goto out;
	if (X509_cmp_time(X509_get0_notAfter(ca->cert), &end) < 0) {
		if (X509_set1_notAfter(x, X509_get0_notAfter(ca->cert)) != 1)
			goto out;
	} else if (X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ==
	    NULL)
		goto out;
	X509V3_set_ctx(&ctx, ca->cert, x, NULL, NULL, 0);
	if ((r = ca_ext_add(
	         x, &ctx, NID_basic_constraints, "critical,CA:FALSE")) != 0 ||
	    (r = ca_ext_add(
	         x, &ctx, NID_key_usage, "critical,digitalSignature")) != 0 ||
	    (r = ca_ext_add(x, &ctx, NID_ext_key_usage, "serverAuth")) != 0 ||
	    (r = ca_ext_add(x, &ctx, NID_subject_key_identifier, "hash")) !=
	        0 ||
	    (r = ca_ext_add(
	         x, &ctx, NID_authority_key_identifier, "keyid:always")) != 0 ||
	    (r = ca_san_add(x, &h, X509_NAME_entry_count(name) == 0)) != 0)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if (X509_sign(x, ca->key, EVP_sha256()) <= 0)
		goto out;
	*out = x;
	x = NULL;
	r = 0;
out:
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return r;
}

int
ca_issue_leaf_der(struct ca *ca, const char *host, const unsigned char *spki,
    size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *der = NULL;
	EVP_PKEY *pub = NULL;
	X509 *x = NULL;
	int n, r;

	*out = NULL;
	*outlen = 0;
	if (ca == NULL)
		return PETRI_ERR_INVAL;
	if ((r = ca_host_check(host, NULL)) != 0 ||
	    (r = ca_spki_parse(spki, len, &pub)) != 0)
		return r;
	if ((r = ca_issue_leaf(ca, host, pub, CA_LEAF_DAYS, &x)) != 0)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if ((n = i2d_X509(x, &der)) <= 0)
		goto out;
	r = PETRI_ERR_NOMEM;
	if ((*out = malloc((size_t)n)) == NULL)
		goto out;
	memcpy(*out, der, (size_t)n);
	*outlen = (size_t)n;
	r = 0;
out:
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return r;
}
