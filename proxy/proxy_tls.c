/* proxy_tls.c: upstream verification and interception leaves (proxy_tls.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "proxy_tls.h"
#include "util.h"

static const unsigned char tls_alpn[] = "\x08http/1.1";

struct tls_leaf {
	char host[POLICY_HOST_MAX + 1]; /* "" for a free slot */
	SSL_CTX *ctx;
	int64_t expires_ms; /* monotonic */
};

struct proxy_tls {
	SSL_CTX *upstream;
	const struct proxy_keeper *keeper;
	pthread_mutex_t mu; /* guards what follows */
	uint64_t signed_count;
	struct tls_leaf leaves[PROXY_LEAF_CACHE_MAX];
};

int
proxy_tls_new(const char *ca_file, int no_system_roots,
    const struct proxy_keeper *keeper, struct proxy_tls **out)
{
	struct proxy_tls *t;
	int r = PETRI_ERR_CRYPTO;

	*out = NULL;
	if (keeper == NULL || keeper->leaf_sign == NULL ||
	    (no_system_roots && ca_file == NULL))
		return PETRI_ERR_INVAL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PETRI_ERR_NOMEM;
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return PETRI_ERR_NOMEM;
	}
	t->keeper = keeper;
	if ((t->upstream = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(t->upstream, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_options(
	    t->upstream, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(t->upstream, SSL_VERIFY_PEER, NULL);
	if (!no_system_roots &&
	    SSL_CTX_set_default_verify_paths(t->upstream) != 1)
		goto fail;
	if (ca_file != NULL &&
	    SSL_CTX_load_verify_locations(t->upstream, ca_file, NULL) != 1)
		goto fail;
	/* SSL_CTX_set_alpn_protos() returns 0 on success */
	if (SSL_CTX_set_alpn_protos(
	        t->upstream, tls_alpn, sizeof(tls_alpn) - 1) != 0)
		goto fail;
	*out = t;
	return 0;
fail:
	ERR_clear_error();
	proxy_tls_free(t);
	return r;
}

void
proxy_tls_free(struct proxy_tls *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < PROXY_LEAF_CACHE_MAX; i++)
		SSL_CTX_free(t->leaves[i].ctx);
	SSL_CTX_free(t->upstream);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

uint64_t
proxy_tls_leaves_signed(struct proxy_tls *t)
{
	uint64_t n;

	pthread_mutex_lock(&t->mu);
	n = t->signed_count;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* ALPN on the sandbox side: http/1.1 or nothing. */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, tls_alpn, sizeof(tls_alpn) - 1,
	        in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Reads the leaf certificate at the start of chain: a PEM chain (bio
 * left open on the rest, *pem set) or exactly one DER certificate.
 * Returns the certificate, or NULL.
 */
static X509 *
tls_leaf_decode(const struct buf *chain, BIO **bio, int *pem)
{
	const unsigned char *q;
	X509 *leaf;

	*bio = NULL;
	if (chain->len == 0 || chain->len > INT32_MAX)
		return NULL;
	*pem = chain->len > 10 && memcmp(chain->data, "-----BEGIN", 10) == 0;
	if (*pem) {
		if ((*bio = BIO_new_mem_buf(chain->data, (int)chain->len)) ==
		    NULL)
			return NULL;
		return PEM_read_bio_X509(*bio, NULL, NULL, NULL);
	}
	/* ca_issue_leaf_der(): one DER certificate, nothing after */
	q = chain->data;
	leaf = d2i_X509(NULL, &q, (long)chain->len);
	if (leaf != NULL && q != chain->data + chain->len) {
		X509_free(leaf);
		return NULL;
	}
	return leaf;
}

/*
 * The leaf names host h and lives past the margin; *lifetime_sec is how
 * long it may be cached.  Returns 0 or PETRI_ERR_CRYPTO with *why.
 */
static int
tls_leaf_check(
    X509 *leaf, const struct host *h, int64_t *lifetime_sec, const char **why)
{
	int days, secs;
	int64_t left;

	if (h->kind == HOST_KIND_ADDR
	        ? X509_check_ip_asc(leaf, h->name, 0) != 1
	        : X509_check_host(leaf, h->name, strlen(h->name),
	              X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1) {
		*why = "the keeper's leaf does not name the host";
		return PETRI_ERR_CRYPTO;
	}
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(leaf)) != 1)
		return PETRI_ERR_CRYPTO;
	left = (int64_t)days * 86400 + secs - PROXY_LEAF_MARGIN_SEC;
	if (left <= 0) {
		*why = "the keeper's leaf expires too soon";
		return PETRI_ERR_CRYPTO;
	}
	*lifetime_sec = left < PROXY_LEAF_TTL_SEC ? left : PROXY_LEAF_TTL_SEC;
	return 0;
}

/*
 * A server context for leaf (and the rest of a PEM chain in bio) with
 * key: TLS 1.2 or later, no compression, renegotiation, tickets or
 * session cache.  Returns it, or NULL with *why possibly set.
 */
static SSL_CTX *
tls_leaf_ctx(X509 *leaf, EVP_PKEY *key, BIO *bio, const char **why)
{
	SSL_CTX *ctx;
	X509 *x;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(ctx, leaf) != 1)
		goto fail;
	while (bio != NULL &&
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			goto fail;
		}
	ERR_clear_error(); /* the end of the PEM data */
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		*why = "the keeper's leaf is not for the generated key";
		goto fail;
	}
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * Generates a key, has the keeper sign it for h, builds a server context.
 * *lifetime_sec gets the seconds until the leaf must be replaced.
 */
static int
tls_leaf_make(struct proxy_tls *t, const struct host *h, SSL_CTX **out,
    int64_t *lifetime_sec, const char **why)
{
	EVP_PKEY *key = NULL;
	unsigned char *spki = NULL;
	struct buf chain;
	BIO *bio = NULL;
	X509 *leaf = NULL;
	int spki_len, pem = 0, r = PETRI_ERR_CRYPTO;

	*out = NULL;
	buf_init(&chain, PROXY_LEAF_CHAIN_MAX);
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		*why = "leaf key generation failed";
		goto out;
	}
	if ((spki_len = i2d_PUBKEY(key, &spki)) <= 0) {
		*why = "leaf key encoding failed";
		goto out;
	}
	if ((r = t->keeper->leaf_sign(t->keeper->ctx, h->name, spki,
	         (size_t)spki_len, &chain)) != 0) {
		*why = "the keeper did not sign a leaf";
		goto out;
	}
	r = PETRI_ERR_CRYPTO;
	*why = "the keeper's leaf is not valid";
	if ((leaf = tls_leaf_decode(&chain, &bio, &pem)) == NULL ||
	    tls_leaf_check(leaf, h, lifetime_sec, why) != 0 ||
	    (*out = tls_leaf_ctx(leaf, key, pem ? bio : NULL, why)) == NULL)
		goto out;
	r = 0;
	*why = NULL;
out:
	ERR_clear_error();
	X509_free(leaf);
	BIO_free(bio);
	OPENSSL_free(spki);
	EVP_PKEY_free(key);
	buf_free(&chain);
	return r;
}

int
proxy_tls_leaf(
    struct proxy_tls *t, const struct host *h, SSL_CTX **out, const char **why)
{
	struct tls_leaf *slot = NULL;
	int64_t now = petri_mono_ms(), life = 0;
	SSL_CTX *ctx = NULL;
	size_t i;
	int r;

	*out = NULL;
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < PROXY_LEAF_CACHE_MAX; i++) {
		struct tls_leaf *l = &t->leaves[i];

		if (l->ctx != NULL && strcmp(l->host, h->name) == 0 &&
		    l->expires_ms > now) {
			SSL_CTX_up_ref(l->ctx);
			*out = l->ctx;
			break;
		}
	}
	pthread_mutex_unlock(&t->mu);
	if (*out != NULL)
		return 0;

	/* Signed outside the lock: the keeper is a round trip away. */
	if ((r = tls_leaf_make(t, h, &ctx, &life, why)) != 0)
		return r;

	pthread_mutex_lock(&t->mu);
	t->signed_count++;
	for (i = 0; i < PROXY_LEAF_CACHE_MAX; i++) {
		struct tls_leaf *l = &t->leaves[i];

		if (l->ctx == NULL || strcmp(l->host, h->name) == 0 ||
		    l->expires_ms <= now) {
			slot = l;
			break;
		}
		if (slot == NULL || l->expires_ms < slot->expires_ms)
			slot = l;
	}
	SSL_CTX_free(slot->ctx);
	petri_strlcpy(slot->host, h->name, sizeof(slot->host));
	slot->ctx = ctx;
	slot->expires_ms = now + life * 1000;
	SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&t->mu);
	*out = ctx;
	return 0;
}

int
proxy_tls_connect(struct proxy_tls *t, int fd, const struct host *h, SSL **out,
    const char **why)
{
	const unsigned char *alpn = NULL;
	unsigned int alpnlen = 0;
	SSL *ssl = NULL;
	long vr;
	int ok;

	*out = NULL;
	*why = "TLS set-up failed";
	if ((ssl = SSL_new(t->upstream)) == NULL || SSL_set_fd(ssl, fd) != 1)
		goto fail;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (h->kind == HOST_KIND_ADDR)
		ok =
		    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), h->name);
	else
		ok = SSL_set_tlsext_host_name(ssl, h->name) == 1 &&
		    SSL_set1_host(ssl, h->name) == 1;
	if (!ok)
		goto fail;
	if (SSL_connect(ssl) != 1) {
		vr = SSL_get_verify_result(ssl);
		*why = vr != X509_V_OK ? X509_verify_cert_error_string(vr)
		                       : "upstream TLS handshake failed";
		goto fail;
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK ||
	    SSL_get0_peer_certificate(ssl) == NULL) {
		*why = "upstream certificate not verified";
		goto fail;
	}
	SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
	if (alpnlen != 0 &&
	    (alpnlen != 8 || memcmp(alpn, "http/1.1", 8) != 0)) {
		*why = "upstream chose a protocol other than http/1.1";
		goto fail;
	}
	*out = ssl;
	*why = NULL;
	return 0;
fail:
	ERR_clear_error();
	SSL_free(ssl);
	return PETRI_ERR_CRYPTO;
}

int
proxy_tls_accept(SSL_CTX *ctx, int fd, SSL **out, char *sni, size_t snilen)
{
	const char *name;
	SSL *ssl;

	*out = NULL;
	sni[0] = '\0';
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_accept(ssl) != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		return PETRI_ERR_CRYPTO;
	}
	/* An SNI too long to copy must not read as "no SNI". */
	if ((name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) !=
	        NULL &&
	    petri_strlcpy(sni, name, snilen) >= snilen)
		petri_strlcpy(sni, "?", snilen);
	*out = ssl;
	return 0;
}
