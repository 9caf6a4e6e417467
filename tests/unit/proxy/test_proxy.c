/*
 * test_proxy.c: the egress proxy in-process on 127.0.0.1, against local
 * upstreams, with a fake keeper (an interception CA made here, leaves
 * issued in-process, canary secrets), a counting resolver that maps test
 * names and a counting dialer that refuses anything but 127.0.0.1: no
 * packet can leave the machine even if the proxy had a bug.  Each case of
 * the attack catalogue (docs/egress-attacks.md) that can be exercised
 * without containers is its own test_caseNN function (19, 20 in full, and
 * 27 need containers).
 *
 * Upstreams: a TLS server (its own test CA) that echoes the request it
 * received and answers a few special paths (/v1/redirect, /v1/leak,
 * /v1/badframe, /v1/extra, /v1/close); a second one on another port; a
 * plain HTTP one; one with a certificate for the wrong name, one
 * self-signed, one that does not speak TLS.  Every request an upstream
 * receives is logged, so tests can see what arrived where.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "buf.h"
#include "policy.h"
#include "proxy.h"
#include "proxy_http.h"
#include "proxy_ident.h"
#include "util.h"
#include "unit.h"

/* The canaries: they may only ever be seen by the bound upstream. */
#define CANARY "sk_live_CANARY/7f3a+9c1e=5b2d4a60"
#define CANARY_AUTH "Bearer " CANARY
#define PH_CANARY "phsecret_CANARY9d8e7f6a5b4c"
#define CRLF_CANARY "crlfsecret_CANARY0a1b2c3d"
#define PH_A "PH_sandboxA_5f0c2b9e1d7a3c44"
#define PH_B "PH_sandboxB_77aa0e3bc1d2e5f6"
#define TOKEN_A "tokA_0123456789abcdef0123"
#define TOKEN_B "tokB_fedcba9876543210fedc"
#define TOKEN_C "tokC_aaaaaaaaaaaaaaaaaaaa"
#define TOKEN_D "tokD_bbbbbbbbbbbbbbbbbbbb"
#define TOKEN_F "tokF_dddddddddddddddddddd"
/* placeholders in the vault's form: sandbox F's, and another sandbox's */
#define VPH_F "petri_ph_ffffffffffffffffffffffffffffff23"
#define VPH_G "petri_ph_gggggggggggggggggggggggggggggg45"
#define VPH_CANARY "vphsecret_CANARY1a2b3c4d5e6f"

/* ---- PKI ---- */

static EVP_PKEY *ca_key, *ica_key; /* upstream CA, interception CA */
static X509 *ca_cert, *ica_cert;
static long serial = 1;
static char ca_file[] = "/tmp/petri-test-proxy-ca-XXXXXX";

static int
ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;
	int ok;

	if ((e = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* A certificate for pub, issued by issuer (NULL: self-signed). */
static X509 *
cert_make(EVP_PKEY *pub, const char *cn, const char *san, int is_ca,
    X509 *issuer, EVP_PKEY *issuer_key, long from, long to)
{
	X509V3_CTX ctx;
	X509_NAME *name;
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, pub);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(
	    name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(
	    x, issuer != NULL ? X509_get_subject_name(issuer) : name);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (!ext_add(x, &ctx, NID_basic_constraints,
	        is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    !ext_add(x, &ctx, NID_key_usage,
	        is_ca ? "critical,keyCertSign,cRLSign"
	              : "critical,digitalSignature") ||
	    !ext_add(x, &ctx, NID_subject_key_identifier, "hash") ||
	    (san != NULL && !ext_add(x, &ctx, NID_subject_alt_name, san)) ||
	    (!is_ca && !ext_add(x, &ctx, NID_ext_key_usage, "serverAuth")) ||
	    X509_sign(x, issuer_key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* A server context for a fresh key with a certificate made by cert_make. */
static SSL_CTX *
server_ctx(const char *cn, const char *san, X509 *issuer, EVP_PKEY *ikey)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	x = cert_make(
	    k, cn, san, 0, issuer, issuer != NULL ? ikey : k, -3600, 86400);
	if (x == NULL || SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, k) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	X509_free(x);
	EVP_PKEY_free(k);
	return ctx;
}

static int
pki_init(void)
{
	FILE *f;
	int fd;

	ca_key = EVP_EC_gen("P-256");
	ica_key = EVP_EC_gen("P-256");
	ca_cert = cert_make(ca_key, "Petri Test Upstream CA", NULL, 1, NULL,
	    ca_key, -3600, 86400);
	ica_cert = cert_make(ica_key, "Petri Test Interception CA", NULL, 1,
	    NULL, ica_key, -3600, 86400);
	if (ca_cert == NULL || ica_cert == NULL)
		return -1;
	if ((fd = mkstemp(ca_file)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	PEM_write_X509(f, ca_cert);
	fclose(f);
	return 0;
}

/* ---- fake keeper ---- */

struct tsecret {
	const char *sandbox, *name, *host;
	uint16_t *port;
	const char *header, *value, *raw;
	const char *placeholder; /* NULL: a header secret */
	const char *expect; /* the header value carrying the placeholder */
};

static uint16_t port_tls1, port_tls2, port_plain, port_wrong, port_self,
    port_raw, port_proxy;

static const struct tsecret secrets[] = {
    {"sb_a", "stripe", "api.bound.test", &port_tls1, "Authorization",
        CANARY_AUTH, CANARY, NULL, NULL},
    {"sb_a", "phkey", "api.bound.test", &port_tls1, "X-Api-Key", PH_CANARY,
        PH_CANARY, PH_A, PH_A},
    {"sb_a", "crlf", "crlf.test", &port_tls1, "Authorization",
        "Bearer x\r\nX-Injected: " CRLF_CANARY, CRLF_CANARY, NULL, NULL},
    {"sb_b", "phkey", "api.bound.test", &port_tls1, "X-Api-Key", PH_CANARY,
        PH_CANARY, PH_B, PH_B},
    {"sb_f", "vph", "api.bound.test", &port_tls1, "Authorization",
        "Bearer " VPH_CANARY, VPH_CANARY, VPH_F, "Bearer " VPH_F},
    {"sb_g", "vph", "api.bound.test", &port_tls1, "Authorization",
        "Bearer " VPH_CANARY, VPH_CANARY, VPH_G, "Bearer " VPH_G},
};

#define REPORTS_MAX 4096
static pthread_mutex_t k_mu = PTHREAD_MUTEX_INITIALIZER;
static int k_cred_calls, k_leaf_calls, k_nrep;
static struct proxy_record k_rep[REPORTS_MAX];
static struct proxy_cred_req k_last_req;
static atomic_int k_mark; /* reports before the last request was sent */

static int
k_leaf_sign(void *ctx, const char *host, const unsigned char *spki,
    size_t spki_len, struct buf *chain)
{
	const unsigned char *q = spki;
	struct addr a;
	char san[300];
	EVP_PKEY *pub;
	X509 *x = NULL;
	BIO *bio;
	BUF_MEM *mem;
	int r = PETRI_ERR_CRYPTO;

	(void)ctx;
	pthread_mutex_lock(&k_mu);
	k_leaf_calls++;
	pthread_mutex_unlock(&k_mu);
	if ((pub = d2i_PUBKEY(NULL, &q, (long)spki_len)) == NULL)
		return PETRI_ERR_CRYPTO;
	snprintf(san, sizeof(san), "%s:%s",
	    addr_parse(host, strlen(host), &a) == 0 ? "IP" : "DNS", host);
	x = cert_make(pub, host, san, 0, ica_cert, ica_key, -600, 86400);
	if (x != NULL && strcmp(host, "other.test") == 0) {
		/* the vault's IPC form: the DER leaf alone */
		unsigned char *der = NULL;
		int n = i2d_X509(x, &der);

		if (n > 0)
			r = buf_append(chain, der, (size_t)n);
		OPENSSL_free(der);
	} else if (x != NULL && (bio = BIO_new(BIO_s_mem())) != NULL) {
		if (PEM_write_bio_X509(bio, x) == 1 &&
		    PEM_write_bio_X509(bio, ica_cert) == 1) {
			BIO_get_mem_ptr(bio, &mem);
			r = buf_append(chain, mem->data, mem->length);
		}
		BIO_free(bio);
	}
	X509_free(x);
	EVP_PKEY_free(pub);
	return r;
}

/* Releases as the vault does: PERM when nothing is released here. */
static int
k_cred_get(void *ctx, const struct proxy_cred_req *req, struct proxy_cred *out)
{
	size_t i;

	(void)ctx;
	pthread_mutex_lock(&k_mu);
	k_cred_calls++;
	k_last_req = *req;
	pthread_mutex_unlock(&k_mu);
	if (strcmp(req->scheme, "https") != 0)
		return PETRI_ERR_PERM;
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		const struct tsecret *s = &secrets[i];

		if (strcmp(s->sandbox, req->sandbox) != 0 ||
		    strcmp(s->name, req->secret) != 0)
			continue;
		if ((s->placeholder == NULL) != (req->placeholder == NULL) ||
		    (s->placeholder != NULL &&
		        strcmp(s->placeholder, req->placeholder) != 0))
			return PETRI_ERR_PERM; /* not this sandbox's */
		if (strcmp(s->host, req->host) != 0 || *s->port != req->port)
			return PETRI_ERR_PERM;
		return proxy_cred_set(out, s->header, s->value,
		    strlen(s->value), s->raw, strlen(s->raw), s->expect,
		    s->expect != NULL ? strlen(s->expect) : 0);
	}
	return PETRI_ERR_NOTFOUND;
}

static void
k_report(void *ctx, const struct proxy_record *rec)
{
	(void)ctx;
	pthread_mutex_lock(&k_mu);
	if (k_nrep < REPORTS_MAX)
		k_rep[k_nrep++] = *rec;
	pthread_mutex_unlock(&k_mu);
}

static int
cred_calls(void)
{
	int n;

	pthread_mutex_lock(&k_mu);
	n = k_cred_calls;
	pthread_mutex_unlock(&k_mu);
	return n;
}

/*
 * The last report.  A request's report may follow its answer: wait (at
 * most 4 s) until a report arrived after the last request was sent.
 */
static struct proxy_record
last_report(void)
{
	struct proxy_record r;
	int i, n;

	for (i = 0; i < 400; i++) {
		pthread_mutex_lock(&k_mu);
		n = k_nrep;
		pthread_mutex_unlock(&k_mu);
		if (n > atomic_load(&k_mark))
			break;
		usleep(10000);
	}
	pthread_mutex_lock(&k_mu);
	if (k_nrep > 0)
		r = k_rep[k_nrep - 1];
	else {
		memset(&r, 0, sizeof(r));
		r.decision = r.reason = r.policy_hash = "";
	}
	pthread_mutex_unlock(&k_mu);
	return r;
}

/* ---- resolver and dialer ---- */

static pthread_mutex_t n_mu = PTHREAD_MUTEX_INITIALIZER;
static int n_resolves, n_rebind, n_dials, n_bad_dials;
static char n_last_name[300];
static struct addr n_last_dial;

static const char *const loopback_names[] = {"api.bound.test", "other.test",
    "evil.test", "crlf.test", "wrongname.test", "selfsigned.test",
    "plaintcp.test", "lim.test", NULL};

static int
t_resolve(void *ctx, const char *name, struct addr *out, size_t max, size_t *n)
{
	const char *a = NULL, *b = NULL;
	size_t i;

	(void)ctx;
	pthread_mutex_lock(&n_mu);
	n_resolves++;
	petri_strlcpy(n_last_name, name, sizeof(n_last_name));
	if (strcmp(name, "rebind.test") == 0)
		a = n_rebind++ == 0 ? "127.0.0.1" : "10.0.0.1";
	pthread_mutex_unlock(&n_mu);
	*n = 0;
	for (i = 0; loopback_names[i] != NULL; i++)
		if (strcmp(name, loopback_names[i]) == 0)
			a = "127.0.0.1";
	if (strcmp(name, "meta.test") == 0)
		a = "169.254.169.254";
	else if (strcmp(name, "meta6.test") == 0)
		a = "fd00:ec2::254";
	else if (strcmp(name, "private.test") == 0)
		a = "10.0.0.1";
	else if (strcmp(name, "cgnat.test") == 0)
		a = "100.64.0.1";
	else if (strcmp(name, "mixed.test") == 0) {
		a = "127.0.0.1";
		b = "10.0.0.1";
	}
	if (a == NULL || max < 2)
		return PETRI_ERR_NOTFOUND;
	if (addr_parse(a, strlen(a), &out[(*n)++]) != 0 ||
	    (b != NULL && addr_parse(b, strlen(b), &out[(*n)++]) != 0))
		return PETRI_ERR_INVAL;
	return 0;
}

static int
t_dial(void *ctx, const struct addr *a, uint16_t port, int timeout_ms)
{
	static const uint8_t lo[4] = {127, 0, 0, 1};

	pthread_mutex_lock(&n_mu);
	n_dials++;
	n_last_dial = *a;
	if (a->family != ADDR_V4 || memcmp(a->b, lo, 4) != 0) {
		n_bad_dials++;
		pthread_mutex_unlock(&n_mu);
		return PETRI_ERR_PERM; /* never off this machine */
	}
	pthread_mutex_unlock(&n_mu);
	return proxy_dial_tcp(ctx, a, port, timeout_ms);
}

static void
net_counts(int *resolves, int *dials)
{
	pthread_mutex_lock(&n_mu);
	*resolves = n_resolves;
	*dials = n_dials;
	pthread_mutex_unlock(&n_mu);
}

/* ---- upstream servers ---- */

struct tlog {
	int srv;
	char *head; /* NUL-terminated */
	char *body;
	size_t bodylen;
};

#define TLOG_MAX 4096
static pthread_mutex_t l_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tlog tlogs[TLOG_MAX];
static int ntlogs;

struct tsrv {
	SSL_CTX *ctx; /* NULL: plain */
	pthread_t th;
	pthread_mutex_t mu; /* guards fds, nfds */
	int id;
	int lfd;
	atomic_int active; /* connection threads */
	atomic_int accepted; /* connections accepted */
	int nfds;
	int fds[256];
	uint16_t port;
};

enum { SRV_TLS1, SRV_TLS2, SRV_PLAIN, SRV_WRONG, SRV_SELF, SRV_RAW, NSRV };
static struct tsrv srvs[NSRV];

struct tsrv_conn {
	struct tsrv *s;
	int fd;
	SSL *ssl;
};

static ssize_t
t_read(int fd, SSL *ssl, void *p, size_t n)
{
	if (ssl != NULL) {
		int r = SSL_read(ssl, p, (int)n);

		return r > 0
		    ? r
		    : (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
	}
	return recv(fd, p, n, 0);
}

static int
t_write(int fd, SSL *ssl, const void *p, size_t n)
{
	if (ssl != NULL)
		return SSL_write(ssl, p, (int)n) == (int)n ? 0 : -1;
	while (n > 0) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		if (r <= 0)
			return -1;
		p = (const char *)p + r;
		n -= (size_t)r;
	}
	return 0;
}

/* Posted by test_streaming when it has seen the first event. */
static sem_t stream_go;

/* Request bytes all upstreams received (after their TLS handshakes). */
static atomic_long srv_rx;

/* Reads one message (head + body by its framing) from fd/ssl into in. */
static int
t_read_msg(int fd, SSL *ssl, struct buf *in, int request, const char *method,
    struct proxy_http_head *h, struct buf *body, size_t *consumed)
{
	struct proxy_http_body b;
	size_t scanned = 0, hl = 0, pos, used, off, dlen;
	const char *why;
	char tmp[16384];
	ssize_t n;
	int r;

	for (;;) {
		r = proxy_http_head_end(
		    (const char *)in->data, in->len, &scanned, &hl, &why);
		if (r == 0)
			break;
		if (r != PETRI_ERR_TRUNCATED)
			return -1;
		if ((n = t_read(fd, ssl, tmp, sizeof(tmp))) <= 0)
			return in->len == 0 ? 1 : -1;
		if (request)
			atomic_fetch_add(&srv_rx, (long)n);
		if (buf_append(in, tmp, (size_t)n) != 0)
			return -1;
	}
	r = request
	    ? proxy_http_request_parse((const char *)in->data, hl, h, &why)
	    : proxy_http_response_parse(
	          (const char *)in->data, hl, method, h, &why);
	if (r != 0)
		return -1;
	proxy_http_body_init(&b, h);
	pos = hl;
	while (!proxy_http_body_done(&b)) {
		if (pos == in->len) {
			if ((n = t_read(fd, ssl, tmp, sizeof(tmp))) <= 0) {
				if (n == 0 && proxy_http_body_eof(&b) == 0)
					break;
				return -1;
			}
			if (request)
				atomic_fetch_add(&srv_rx, (long)n);
			if (buf_append(in, tmp, (size_t)n) != 0)
				return -1;
		}
		r = proxy_http_body_feed(&b, in->data + pos, in->len - pos,
		    &used, &off, &dlen, &why);
		if (r < 0)
			return -1;
		if (dlen > 0 &&
		    buf_append(body, in->data + pos + off, dlen) != 0)
			return -1;
		pos += used;
	}
	*consumed = pos;
	return 0;
}

static void
tlog_add(int srv, const char *head, size_t hl, const struct buf *body)
{
	pthread_mutex_lock(&l_mu);
	if (ntlogs < TLOG_MAX) {
		struct tlog *l = &tlogs[ntlogs++];

		l->srv = srv;
		l->head = strndup(head, hl);
		l->body = malloc(body->len + 1);
		if (l->body != NULL) {
			if (body->len > 0)
				memcpy(l->body, body->data, body->len);
			l->body[body->len] = '\0';
		}
		l->bodylen = body->len;
	}
	pthread_mutex_unlock(&l_mu);
}

static int
tlog_count(int srv)
{
	int i, n = 0;

	pthread_mutex_lock(&l_mu);
	for (i = 0; i < ntlogs; i++)
		n += srv < 0 || tlogs[i].srv == srv;
	pthread_mutex_unlock(&l_mu);
	return n;
}

/* A copy of the head (and body) of the request carrying "X-Test-Id: id". */
static int
tlog_find(const char *id, char *head, size_t hsz, char *body, size_t bsz)
{
	char needle[64];
	int i, found = 0;

	snprintf(needle, sizeof(needle), "X-Test-Id: %s\r\n", id);
	head[0] = '\0';
	if (body != NULL)
		body[0] = '\0';
	pthread_mutex_lock(&l_mu);
	for (i = ntlogs - 1; i >= 0; i--)
		if (tlogs[i].head != NULL && strstr(tlogs[i].head, needle)) {
			petri_strlcpy(head, tlogs[i].head, hsz);
			if (body != NULL && tlogs[i].body != NULL)
				petri_strlcpy(body, tlogs[i].body, bsz);
			found = 1;
			break;
		}
	pthread_mutex_unlock(&l_mu);
	return found;
}

static void
srv_respond(struct tsrv_conn *tc, const char *head, size_t hl,
    const struct proxy_http_head *h, const struct buf *body)
{
	char path[256], out[8192];
	const char *auth;
	struct buf resp;
	size_t n, i;
	int f, e = 0;

	buf_init(&resp, 1 << 22);
	n = h->path.len < sizeof(path) - 1 ? h->path.len : sizeof(path) - 1;
	memcpy(path, head + h->path.off, n);
	path[n] = '\0';
	if (strcmp(path, "/v1/redirect") == 0) {
		snprintf(out, sizeof(out),
		    "HTTP/1.1 302 Found\r\nLocation: https://evil.test:%u/steal"
		    "\r\nContent-Length: 0\r\n\r\n",
		    port_tls1);
		e |= buf_append_str(&resp, out);
	} else if (strcmp(path, "/v1/leak") == 0) {
		/* Echo the credential back in every form, in small chunks. */
		char b64[1024], enc[1024], val[512], chunk[64];
		struct buf pay;

		f = proxy_http_field_find(h, head, "authorization", 0);
		auth = f >= 0 ? head + h->fields[f].value.off : "";
		n = f >= 0 ? h->fields[f].value.len : 0;
		if (n >= sizeof(val))
			n = sizeof(val) - 1;
		memcpy(val, auth, n);
		val[n] = '\0';
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)val,
		    n, sodium_base64_VARIANT_ORIGINAL);
		for (i = 0, enc[0] = '\0'; i < n; i++)
			snprintf(enc + strlen(enc), sizeof(enc) - strlen(enc),
			    strchr("/+= ", val[i]) != NULL ? "%%%02x" : "%c",
			    (unsigned char)val[i]);
		buf_init(&pay, 1 << 16);
		e |= buf_printf(&pay,
		    "{\"raw\":\"%s\",\"b64\":\"%s\",\"url\":\"%s\"}", val, b64,
		    enc);
		e |= buf_printf(&resp,
		    "HTTP/1.1 200 OK\r\nX-Echo: %s\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
		    val);
		for (i = 0; i < pay.len; i += 7) {
			size_t k = pay.len - i < 7 ? pay.len - i : 7;

			snprintf(chunk, sizeof(chunk), "%zx\r\n", k);
			e |= buf_append_str(&resp, chunk);
			e |= buf_append(&resp, pay.data + i, k);
			e |= buf_append_str(&resp, "\r\n");
		}
		e |= buf_append_str(&resp, "0\r\n\r\n");
		buf_free(&pay);
	} else if (strcmp(path, "/v1/stream") == 0) {
		/* server-sent events: the second waits for the test's go */
		static const char first[] =
		    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
		    "Transfer-Encoding: chunked\r\n\r\nb\r\ndata: one\n\n\r\n";
		struct timespec ts;

		(void)t_write(tc->fd, tc->ssl, first, sizeof(first) - 1);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		(void)sem_timedwait(&stream_go, &ts);
		e |= buf_append_str(&resp, "b\r\ndata: two\n\n\r\n0\r\n\r\n");
	} else if (strcmp(path, "/v1/badframe") == 0) {
		e |= buf_append_str(&resp,
		    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding:"
		    " chunked\r\n\r\n0\r\n\r\n");
	} else if (strcmp(path, "/v1/extra") == 0) {
		e |= buf_append_str(&resp,
		    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200"
		    " OK\r\nContent-Length: 5\r\n\r\nevil!");
	} else if (strcmp(path, "/v1/big") == 0) {
		e |= buf_printf(&resp,
		    "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 1 << 20);
		for (i = 0; i < (1 << 20) / 64; i++)
			e |= buf_append_str(&resp,
			    "0123456789abcdef0123456789abcdef0123456789abcdef"
			    "0123456789abcde\n");
	} else {
		int close_after = strcmp(path, "/v1/close") == 0;

		e |= buf_printf(&resp,
		    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		    "Content-Length: %zu\r\n%s\r\n",
		    hl + body->len, close_after ? "Connection: close\r\n" : "");
		e |= buf_append(&resp, head, hl);
		e |= buf_append(&resp, body->data, body->len);
	}
	if (e == 0)
		(void)t_write(tc->fd, tc->ssl, resp.data, resp.len);
	buf_free(&resp);
}

static void *
tsrv_conn_main(void *arg)
{
	struct tsrv_conn *tc = arg;
	struct proxy_http_head *h = malloc(sizeof(*h));
	struct buf in, body;
	size_t used;
	char path[64];

	buf_init(&in, 1 << 24);
	buf_init(&body, 1 << 24);
	if (tc->s->ctx != NULL) {
		tc->ssl = SSL_new(tc->s->ctx);
		SSL_set_fd(tc->ssl, tc->fd);
		if (SSL_accept(tc->ssl) != 1)
			goto out;
	}
	for (;;) {
		buf_reset(&body);
		if (t_read_msg(
		        tc->fd, tc->ssl, &in, 1, NULL, h, &body, &used) != 0)
			break;
		tlog_add(tc->s->id, (const char *)in.data, h->head_len, &body);
		srv_respond(tc, (const char *)in.data, h->head_len, h, &body);
		snprintf(path, sizeof(path), "%.*s", (int)h->path.len,
		    (const char *)in.data + h->path.off);
		buf_consume(&in, used);
		if (strcmp(path, "/v1/close") == 0 ||
		    strcmp(path, "/v1/extra") == 0 ||
		    strcmp(path, "/v1/idleclose") == 0)
			break;
	}
out:
	if (tc->ssl != NULL) {
		SSL_shutdown(tc->ssl);
		SSL_free(tc->ssl);
	}
	pthread_mutex_lock(&tc->s->mu);
	for (int i = 0; i < tc->s->nfds; i++)
		if (tc->s->fds[i] == tc->fd)
			tc->s->fds[i] = tc->s->fds[--tc->s->nfds];
	close(tc->fd);
	pthread_mutex_unlock(&tc->s->mu);
	atomic_fetch_sub(&tc->s->active, 1);
	buf_free(&in);
	buf_free(&body);
	free(h);
	free(tc);
	ERR_clear_error();
	return NULL;
}

static void *
tsrv_main(void *arg)
{
	struct tsrv *s = arg;
	pthread_t th;
	int fd;

	for (;;) {
		struct tsrv_conn *tc;

		if ((fd = accept(s->lfd, NULL, NULL)) < 0)
			break;
		atomic_fetch_add(&s->accepted, 1);
		if ((tc = calloc(1, sizeof(*tc))) == NULL) {
			close(fd);
			continue;
		}
		tc->s = s;
		tc->fd = fd;
		pthread_mutex_lock(&s->mu);
		if (s->nfds < 256)
			s->fds[s->nfds++] = fd;
		pthread_mutex_unlock(&s->mu);
		atomic_fetch_add(&s->active, 1);
		if (pthread_create(&th, NULL, tsrv_conn_main, tc) != 0) {
			atomic_fetch_sub(&s->active, 1);
			close(fd);
			free(tc);
			continue;
		}
		pthread_detach(th);
	}
	return NULL;
}

static int
listen_local(const char *ip, uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static int
tsrv_start(struct tsrv *s, int id, SSL_CTX *ctx)
{
	s->id = id;
	s->ctx = ctx;
	pthread_mutex_init(&s->mu, NULL);
	if ((s->lfd = listen_local("127.0.0.1", &s->port)) < 0)
		return -1;
	return pthread_create(&s->th, NULL, tsrv_main, s);
}

static void
tsrv_stop(struct tsrv *s)
{
	int i;

	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->lfd);
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->nfds; i++)
		shutdown(s->fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&s->mu);
	while (atomic_load(&s->active) > 0)
		usleep(1000);
	SSL_CTX_free(s->ctx);
}

/* ---- the proxies ---- */

static struct proxy *P1, *P2;
static struct proxy_config cfg1, cfg2;
static struct proxy_ident_table *ids1, *ids2;
static struct addr_allowlist allow1;

static struct policy *
policy_load(const char *doc)
{
	struct policy *p = NULL;
	char err[POLICY_ERR_MAX];

	if (policy_parse(doc, strlen(doc), NULL, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "policy: %s\n", err);
		return NULL;
	}
	return p;
}

static int
ident_add(struct proxy_ident_table *t, const char *sb, const char *src,
    const char *token, const char *doc, const struct proxy_secret_ref *s,
    size_t ns)
{
	struct proxy_ident *id;
	struct policy *pol = policy_load(doc);

	if (pol == NULL ||
	    proxy_ident_new(sb, src, token, pol, s, ns, &id) != 0)
		return -1;
	return proxy_ident_table_add(t, id);
}

static int
proxies_start(void)
{
	static char pa[8192], pc[2048], pd[2048], p2[2048];
	struct proxy_secret_ref sa[3], sb[1], sf[1];

	/* The proxies first: a policy names P1's port (case 26). */
	if (proxy_ident_table_new(&ids1) != 0 ||
	    proxy_ident_table_new(&ids2) != 0)
		return -1;
	addr_allowlist_init(&allow1);
	if (addr_allowlist_add(&allow1, "127.0.0.1") != 0)
		return -1;
	cfg1.listen_addr = "127.0.0.1";
	cfg1.idents = ids1;
	cfg1.keeper.leaf_sign = k_leaf_sign;
	cfg1.keeper.cred_get = k_cred_get;
	cfg1.keeper.report = k_report;
	cfg1.resolver.resolve = t_resolve;
	cfg1.dialer.dial = t_dial;
	cfg1.allow = &allow1;
	cfg1.upstream_ca_file = ca_file;
	cfg1.no_system_roots = 1;
	cfg1.max_conns_per_src = 8;
	cfg1.io_timeout_ms = 5000;
	cfg2 = cfg1;
	cfg2.idents = ids2;
	cfg2.allow = NULL;
	if (proxy_new(&cfg1, &P1) != 0 || proxy_new(&cfg2, &P2) != 0)
		return -1;
	port_proxy = proxy_port(P1);
	snprintf(pa, sizeof(pa),
	    "{\"name\": \"test-a\", \"allow\": ["
	    "{\"host\": \"api.bound.test\", \"scheme\": \"https\", \"port\": "
	    "%u,"
	    " \"methods\": [\"GET\", \"POST\", \"HEAD\", \"PUT\"],"
	    " \"paths\": [\"/v1/\"]},"
	    "{\"host\": \"api.bound.test\", \"scheme\": \"http\", \"port\": "
	    "%u},"
	    "{\"host\": \"api.bound.test\", \"scheme\": \"https\", \"port\": "
	    "%u},"
	    "{\"host\": \"other.test\", \"scheme\": \"https\", \"port\": %u},"
	    "{\"host\": \"evil.test\", \"port\": %u},"
	    "{\"host\": \"crlf.test\", \"port\": %u},"
	    "{\"host\": \"wrongname.test\", \"port\": %u},"
	    "{\"host\": \"selfsigned.test\", \"port\": %u},"
	    "{\"host\": \"plaintcp.test\", \"port\": %u},"
	    "{\"host\": \"rebind.test\", \"port\": %u},"
	    "{\"host\": \"meta.test\"}, {\"host\": \"meta6.test\"},"
	    "{\"host\": \"private.test\"}, {\"host\": \"cgnat.test\"},"
	    "{\"host\": \"mixed.test\"},"
	    "{\"host\": \"10.0.0.1\"}, {\"host\": \"100.100.100.200\"},"
	    "{\"host\": \"169.254.169.254\"}, {\"host\": \"[fd00:ec2::254]\"},"
	    "{\"host\": \"127.0.0.1\", \"port\": %u}"
	    "], \"limits\": {\"rate_per_host\": 10000}}",
	    port_tls1, port_plain, port_tls2, port_tls1, port_tls1, port_tls1,
	    port_wrong, port_self, port_raw, port_tls1, port_proxy);
	snprintf(pc, sizeof(pc),
	    "{\"name\": \"test-c\", \"allow\": [{\"host\": \"lim.test\","
	    " \"port\": %u}], \"limits\": {\"rate_per_host\": 3,"
	    " \"max_requests\": 5}}",
	    port_tls1);
	snprintf(pd, sizeof(pd),
	    "{\"name\": \"test-d\", \"allow\": [{\"host\": \"lim.test\","
	    " \"port\": %u, \"methods\": [\"GET\", \"POST\"]}],"
	    " \"limits\": {\"max_body_bytes\": 1024, \"max_bytes_out\": 6000,"
	    " \"rate_per_host\": 10000}}",
	    port_tls1);
	snprintf(p2, sizeof(p2),
	    "{\"name\": \"test-ssrf\", \"allow\": ["
	    "{\"host\": \"169.254.169.254\"}, {\"host\": \"127.0.0.1\"},"
	    "{\"host\": \"127.0.0.1\", \"port\": 22}, {\"host\": \"0.0.0.0\"},"
	    "{\"host\": \"[::1]\"}, {\"host\": \"[::ffff:a9fe:a9fe]\"},"
	    "{\"host\": \"[64:ff9b::a9fe:a9fe]\"}, {\"host\": "
	    "\"[2002:a9fe:a9fe::]\"},"
	    "{\"host\": \"[2001:0:4136:e378:8000:63bf:3f57:fdf2]\"},"
	    "{\"host\": \"10.0.0.1\"}, {\"host\": \"192.168.1.1\"},"
	    "{\"host\": \"172.16.0.1\"}, {\"host\": \"100.64.0.1\"},"
	    "{\"host\": \"240.0.0.1\"}, {\"host\": \"[fc00::1]\"},"
	    "{\"host\": \"[fe80::1]\"}, {\"host\": \"100.100.100.200\"},"
	    "{\"host\": \"[fd00:ec2::254]\"}, {\"host\": \"meta.test\"}]}");

	memset(sa, 0, sizeof(sa));
	petri_strlcpy(sa[0].name, "stripe", sizeof(sa[0].name));
	petri_strlcpy(sa[1].name, "phkey", sizeof(sa[1].name));
	petri_strlcpy(sa[1].header, "X-Api-Key", sizeof(sa[1].header));
	petri_strlcpy(sa[1].placeholder, PH_A, sizeof(sa[1].placeholder));
	petri_strlcpy(sa[2].name, "crlf", sizeof(sa[2].name));
	memset(sb, 0, sizeof(sb));
	petri_strlcpy(sb[0].name, "phkey", sizeof(sb[0].name));
	petri_strlcpy(sb[0].header, "X-Api-Key", sizeof(sb[0].header));
	petri_strlcpy(sb[0].placeholder, PH_B, sizeof(sb[0].placeholder));
	memset(sf, 0, sizeof(sf));
	petri_strlcpy(sf[0].name, "vph", sizeof(sf[0].name));
	petri_strlcpy(sf[0].header, "Authorization", sizeof(sf[0].header));

	if (ident_add(ids1, "sb_a", "127.0.0.1", TOKEN_A, pa, sa, 3) != 0 ||
	    ident_add(ids1, "sb_b", "127.0.0.2", TOKEN_B, pa, sb, 1) != 0 ||
	    ident_add(ids1, "sb_c", "127.0.0.3", TOKEN_C, pc, NULL, 0) != 0 ||
	    ident_add(ids1, "sb_d", "127.0.0.4", TOKEN_D, pd, NULL, 0) != 0 ||
	    ident_add(ids1, "sb_f", "127.0.0.7", TOKEN_F, pa, sf, 1) != 0 ||
	    ident_add(ids2, "sb_a", "127.0.0.1", TOKEN_A, p2, NULL, 0) != 0)
		return -1;
	/* Identities may come and go while the proxies run. */
	if (proxy_start(P1) != 0 || proxy_start(P2) != 0)
		return -1;
	return 0;
}

/* ---- the sandbox side ---- */

struct tcli {
	int fd;
	SSL *ssl;
	SSL_CTX *ctx;
	struct buf in;
};

struct tresp {
	int status;
	char head[PROXY_HTTP_HEAD_MAX + 1];
	struct buf body;
};

static int
tcli_open(struct tcli *c, const char *src, struct proxy *p)
{
	struct sockaddr_in sa;

	memset(c, 0, sizeof(*c));
	buf_init(&c->in, 1 << 24);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, src, &sa.sin_addr);
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	sa.sin_port = htons(proxy_port(p));
	return connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
}

static void
tcli_close(struct tcli *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	buf_free(&c->in);
	c->fd = -1;
	c->ssl = NULL;
	c->ctx = NULL;
}

static int
tcli_send(struct tcli *c, const char *s, size_t n)
{
	pthread_mutex_lock(&k_mu);
	atomic_store(&k_mark, k_nrep);
	pthread_mutex_unlock(&k_mu);
	return t_write(c->fd, c->ssl, s, n);
}

/* Reads one response; status -1 when the connection ended first. */
static void
tcli_read(struct tcli *c, struct tresp *r, const char *method)
{
	struct proxy_http_head *h = malloc(sizeof(*h));
	size_t used = 0;

	r->status = -1;
	r->head[0] = '\0';
	buf_init(&r->body, 1 << 24);
	if (h == NULL ||
	    t_read_msg(c->fd, c->ssl, &c->in, 0, method, h, &r->body, &used) !=
	        0) {
		free(h);
		(void)buf_cstr(&r->body); /* "" for the checks */
		return;
	}
	r->status = h->status;
	snprintf(r->head, sizeof(r->head), "%.*s", (int)h->head_len,
	    (const char *)c->in.data);
	buf_consume(&c->in, used);
	free(h);
	(void)buf_cstr(&r->body);
}

static void
tresp_free(struct tresp *r)
{
	buf_free(&r->body);
}

static int
tcli_req(struct tcli *c, const char *req, struct tresp *r)
{
	char method[16];
	size_t i;

	for (i = 0; i < sizeof(method) - 1 && req[i] != ' '; i++)
		method[i] = req[i];
	method[i] = '\0';
	if (tcli_send(c, req, strlen(req)) != 0) {
		r->status = -1;
		r->head[0] = '\0';
		buf_init(&r->body, 16);
		(void)buf_cstr(&r->body);
		return -1;
	}
	tcli_read(c, r, method);
	return r->status;
}

static const char *
auth_header(const char *token)
{
	static char out[256];
	char user[128], b64[200];

	snprintf(user, sizeof(user), "sb:%s", token);
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)user,
	    strlen(user), sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, sizeof(out), "Proxy-Authorization: Basic %s\r\n", b64);
	return out;
}

/*
 * CONNECT authority through c with token (NULL: none), then TLS with sni
 * (NULL: none), verifying the leaf for verify_host (NULL: chain only).
 * Returns the CONNECT status, or 0 when the TLS handshake failed after 200.
 */
static int
tcli_tunnel(struct tcli *c, const char *authority, const char *token,
    const char *sni, const char *verify_host)
{
	char req[1024];
	struct tresp r;
	X509_STORE *st;
	int status;

	snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
	    authority, authority, token != NULL ? auth_header(token) : "");
	if (tcli_send(c, req, strlen(req)) != 0)
		return -1;
	tcli_read(c, &r, "CONNECT");
	status = r.status;
	tresp_free(&r);
	if (status != 200)
		return status;
	c->ctx = SSL_CTX_new(TLS_client_method());
	st = SSL_CTX_get_cert_store(c->ctx);
	X509_STORE_add_cert(st, ica_cert);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_alpn_protos(
	    c->ctx, (const unsigned char *)"\x08http/1.1", 9);
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	if (sni != NULL)
		SSL_set_tlsext_host_name(c->ssl, sni);
	if (verify_host != NULL)
		SSL_set1_host(c->ssl, verify_host);
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		return 0;
	}
	return 200;
}

/* A tunnel from sandbox A to api.bound.test on the first TLS upstream. */
static int
tunnel_bound(struct tcli *c)
{
	char auth[64];

	snprintf(auth, sizeof(auth), "api.bound.test:%u", port_tls1);
	if (tcli_open(c, "127.0.0.1", P1) != 0)
		return -1;
	return tcli_tunnel(
	    c, auth, TOKEN_A, "api.bound.test", "api.bound.test");
}

/* "X-Test-Id: N" for a fresh N. */
static const char *
test_id(char *out, size_t n)
{
	static atomic_int next = 1;

	snprintf(out, n, "t%d", atomic_fetch_add(&next, 1));
	return out;
}

/* Sends a GET path with extra header lines on an open tunnel (host:port). */
static int
tunnel_get(struct tcli *c, const char *host, uint16_t port, const char *path,
    const char *extra, const char *id, struct tresp *r)
{
	char req[8192];

	snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: %s:%u\r\nX-Test-Id: %s\r\n%s\r\n", path,
	    host, port, id, extra != NULL ? extra : "");
	return tcli_req(c, req, r);
}

/* ---- the attack catalogue ---- */

/* 1: a secret or placeholder sent to an unbound host. */
static void
test_case01_unbound_host(void)
{
	char auth[64], id[16], head[8192], extra[256];
	struct tcli c;
	struct tresp r;
	struct proxy_record rec;

	snprintf(auth, sizeof(auth), "other.test:%u", port_tls1);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(
	    tcli_tunnel(&c, auth, TOKEN_A, "other.test", "other.test"), 200);
	/* allowed but unbound: no credential arrives */
	CHECK_EQ(tunnel_get(&c, "other.test", port_tls1, "/x", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, "Authorization") == NULL);
	CHECK(strstr(head, CANARY) == NULL);
	rec = last_report();
	CHECK_STR(rec.secrets, "");
	CHECK_STR(rec.decision, "allow");
	/* the placeholder in its header to an unbound host: 403, logged */
	snprintf(extra, sizeof(extra), "X-Api-Key: %s\r\n", PH_A);
	CHECK_EQ(tunnel_get(&c, "other.test", port_tls1, "/x", extra,
	             test_id(id, sizeof(id)), &r),
	    403);
	CHECK(strstr((char *)r.body.data, "not valid") != NULL);
	tresp_free(&r);
	CHECK(!tlog_find(id, head, sizeof(head), NULL, 0));
	rec = last_report();
	CHECK_STR(rec.decision, "deny");
	CHECK_EQ(rec.status, 403);
	tcli_close(&c);

	/* a host without any rule: refused at CONNECT */
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(
	    tcli_tunnel(&c, "api.unbound.test:443", TOKEN_A, NULL, NULL), 403);
	rec = last_report();
	CHECK_STR(rec.method, "CONNECT");
	CHECK_STR(rec.reason, "no rule for host");
	tcli_close(&c);
}

/* 2: CONNECT a, then Host: b or an absolute URI to b. */
static void
test_case02_connect_host_mismatch(void)
{
	char id[16], head[8192], req[1024];
	struct tcli c;
	struct tresp r;
	int before = tlog_count(-1);

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "other.test", port_tls1, "/v1/echo", NULL,
	             test_id(id, sizeof(id)), &r),
	    421);
	tresp_free(&r);
	/* a bodyless refusal keeps the tunnel: the next request is decided
	 * on its own */
	snprintf(req, sizeof(req),
	    "GET https://other.test:%u/v1/echo HTTP/1.1\r\nHost: "
	    "api.bound.test:%u\r\n\r\n",
	    port_tls1, port_tls1);
	CHECK_EQ(tcli_req(&c, req, &r), 421);
	tresp_free(&r);
	snprintf(req, sizeof(req),
	    "GET http://api.bound.test:%u/v1/echo HTTP/1.1\r\nHost: "
	    "api.bound.test:%u\r\n\r\n",
	    port_tls1, port_tls1);
	CHECK_EQ(tcli_req(&c, req, &r), 421);
	tresp_free(&r);
	CHECK_EQ(tlog_count(-1), before);
	/* the same authority in absolute form is fine */
	snprintf(req, sizeof(req),
	    "GET https://API.bound.test:%u/v1/echo HTTP/1.1\r\nHost: "
	    "api.bound.test:%u\r\nX-Test-Id: %s\r\n\r\n",
	    port_tls1, port_tls1, test_id(id, sizeof(id)));
	CHECK_EQ(tcli_req(&c, req, &r), 200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strncmp(head, "GET /v1/echo HTTP/1.1\r\n", 23) == 0);
	tcli_close(&c);
}

/* 3: CONNECT evil, then Host: the bound host. */
static void
test_case03_connect_evil_host_bound(void)
{
	char auth[64], extra[256];
	struct tcli c;
	struct tresp r;
	int calls, before = tlog_count(-1);

	snprintf(auth, sizeof(auth), "evil.test:%u", port_tls1);
	snprintf(extra, sizeof(extra), "X-Api-Key: %s\r\n", PH_A);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_A, "evil.test", "evil.test"), 200);
	calls = cred_calls();
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", extra,
	             "c3", &r),
	    421);
	tresp_free(&r);
	CHECK_EQ(cred_calls(), calls);
	CHECK_EQ(tlog_count(-1), before);
	tcli_close(&c);
	/* and a plain-http rule never opens a tunnel (scheme https) */
	snprintf(auth, sizeof(auth), "api.bound.test:%u", port_plain);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_A, NULL, NULL), 403);
	tcli_close(&c);
}

/* 4: SNI differs from the CONNECT host (domain fronting). */
static void
test_case04_sni_mismatch(void)
{
	char auth[64];
	struct tcli c;
	struct tresp r;
	int before = tlog_count(-1), calls = cred_calls();

	snprintf(auth, sizeof(auth), "api.bound.test:%u", port_tls1);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	/* the client does not check names: fronting through a lax client */
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_A, "other.test", NULL), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", NULL,
	             "c4", &r),
	    421);
	CHECK(strstr((char *)r.body.data, "server name") != NULL);
	tresp_free(&r);
	CHECK_EQ(tlog_count(-1), before);
	CHECK_EQ(cred_calls(), calls);
	tcli_close(&c);
	/* a client that checks names refuses the leaf itself */
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_A, "other.test", "other.test"), 0);
	tcli_close(&c);
}

/* 5: every request of a kept-alive tunnel is decided again. */
static void
test_case05_keepalive_reevaluated(void)
{
	char id[16], head[8192];
	struct tcli c;
	struct tresp r;
	struct proxy_record rec;

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, "Authorization: " CANARY_AUTH "\r\n") != NULL);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/admin", NULL,
	             test_id(id, sizeof(id)), &r),
	    403);
	tresp_free(&r);
	CHECK(!tlog_find(id, head, sizeof(head), NULL, 0));
	rec = last_report();
	CHECK_STR(rec.reason, "path not allowed");
	CHECK_EQ(
	    tcli_req(&c,
	        "DELETE /v1/echo HTTP/1.1\r\nHost: api.bound.test\r\n\r\n", &r),
	    421); /* default port 443 is not the tunnel's */
	tresp_free(&r);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	tcli_close(&c);
}

/* 6: the bound host answers 302 to evil: relayed, never followed. */
static void
test_case06_redirect_not_followed(void)
{
	char auth[64], id[16], head[8192];
	struct tcli c;
	struct tresp r;
	int before = tlog_count(SRV_TLS1);

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/redirect",
	             NULL, test_id(id, sizeof(id)), &r),
	    302);
	CHECK(strstr(r.head, "Location: https://evil.test:") != NULL);
	tresp_free(&r);
	CHECK_EQ(tlog_count(SRV_TLS1), before + 1);
	tcli_close(&c);
	/* the client's follow-up is a request of its own: no secret */
	snprintf(auth, sizeof(auth), "evil.test:%u", port_tls1);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_A, "evil.test", "evil.test"), 200);
	CHECK_EQ(tunnel_get(&c, "evil.test", port_tls1, "/steal", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, CANARY) == NULL);
	CHECK(strstr(head, "Authorization") == NULL);
	tcli_close(&c);
}

/* 7: look-alike hosts match canonically only. */
static void
test_case07_lookalikes(void)
{
	static const char *const denied[] = {"api.bound.test.evil.test",
	    "evilbound.test", "xn--pi-7ld.bound.test", "api.bound.test:443",
	    "api.bound.test:0", NULL};
	char auth[128], id[16], head[8192];
	struct tcli c;
	struct tresp r;
	int i, res0, dial0, res1, dial1;

	/* upper case and a trailing dot are the same host */
	snprintf(auth, sizeof(auth), "API.Bound.TEST.:%u", port_tls1);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(
	    tcli_tunnel(&c, auth, TOKEN_A, "api.bound.test", "api.bound.test"),
	    200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, "Authorization: " CANARY_AUTH) != NULL);
	tcli_close(&c);
	net_counts(&res0, &dial0);
	for (i = 0; denied[i] != NULL; i++) {
		/* names get the upstream's port; ports are spelt out */
		if (strchr(denied[i], ':') == NULL)
			snprintf(
			    auth, sizeof(auth), "%s:%u", denied[i], port_tls1);
		else if (strcmp(denied[i], "api.bound.test:0") == 0)
			snprintf(
			    auth, sizeof(auth), "%s%u", denied[i], port_tls1);
		else
			petri_strlcpy(auth, denied[i], sizeof(auth));
		CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
		r.status = tcli_tunnel(&c, auth, TOKEN_A, NULL, NULL);
		if (r.status != 403 && r.status != 400) {
			fprintf(stderr, "  %s -> %d\n", auth, r.status);
			CHECK(0);
		}
		tcli_close(&c);
	}
	/* a homograph in raw UTF-8 is not a host at all */
	snprintf(auth, sizeof(auth), "\xd0\xb0pi.bound.test:%u", port_tls1);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_A, NULL, NULL), 400);
	tcli_close(&c);
	net_counts(&res1, &dial1);
	CHECK_EQ(res1, res0);
	CHECK_EQ(dial1, dial0);
}

/* 8: path tricks are normalised before the path rules. */
static void
test_case08_path_tricks(void)
{
	static const char *const denied[] = {"/v1/../admin", "/v1/%2e%2e/admin",
	    "/v1/%2E%2E/admin", "/v1;x/echo", "/V1/echo", "/v1/%2fadmin",
	    "/v1/..%2fadmin", "/v1/%252e%252e/admin", "/v1\\..\\admin",
	    "/v1//..//admin", NULL};
	char id[16], head[8192];
	struct tcli c;
	struct tresp r;
	int i;

	CHECK_EQ(tunnel_bound(&c), 200);
	for (i = 0; denied[i] != NULL; i++) {
		if (tunnel_get(&c, "api.bound.test", port_tls1, denied[i], NULL,
		        test_id(id, sizeof(id)), &r) != 403) {
			fprintf(stderr, "  %s -> %d\n", denied[i], r.status);
			CHECK(0);
		}
		tresp_free(&r);
		if (r.status < 0) {
			tcli_close(&c);
			CHECK_EQ(tunnel_bound(&c), 200);
		}
		CHECK(!tlog_find(id, head, sizeof(head), NULL, 0));
	}
	/* what is allowed goes upstream normalised, query as sent */
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1,
	             "//v1/./x/%7Ea/../echo?q=%2e%2e&r", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strncmp(head, "GET /v1/x/echo?q=%2e%2e&r HTTP/1.1\r\n", 36) == 0);
	CHECK_STR(last_report().path, "/v1/x/echo?q=&r");
	tcli_close(&c);
}

/* 9: plain http to a bound host never gets a credential. */
static void
test_case09_plain_http(void)
{
	char req[1024], id[16], head[8192];
	struct tcli c;
	struct tresp r;
	int calls = cred_calls();

	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	snprintf(req, sizeof(req),
	    "GET http://api.bound.test:%u/v1/echo HTTP/1.1\r\nHost: "
	    "api.bound.test:%u\r\nX-Test-Id: %s\r\n%s\r\n",
	    port_plain, port_plain, test_id(id, sizeof(id)),
	    auth_header(TOKEN_A));
	CHECK_EQ(tcli_req(&c, req, &r), 200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, CANARY) == NULL);
	CHECK(strstr(head, "Authorization") == NULL);
	CHECK_EQ(cred_calls(), calls);
	CHECK_STR(last_report().scheme, "http");
	/* a placeholder over plain http is refused outright */
	snprintf(req, sizeof(req),
	    "GET http://api.bound.test:%u/v1/echo HTTP/1.1\r\nHost: "
	    "api.bound.test:%u\r\nX-Api-Key: %s\r\nX-Test-Id: %s\r\n\r\n",
	    port_plain, port_plain, PH_A, test_id(id, sizeof(id)));
	CHECK_EQ(tcli_req(&c, req, &r), 403);
	CHECK(strstr((char *)r.body.data, "plain http") != NULL);
	tresp_free(&r);
	CHECK(!tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK_EQ(cred_calls(), calls);
	tcli_close(&c);
}

/* 10: the bound host on another port is another destination. */
static void
test_case10_other_port(void)
{
	char auth[64], id[16], head[8192];
	struct tcli c;
	struct tresp r;

	snprintf(auth, sizeof(auth), "api.bound.test:%u", port_tls2);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(
	    tcli_tunnel(&c, auth, TOKEN_A, "api.bound.test", "api.bound.test"),
	    200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls2, "/v1/echo", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, CANARY) == NULL);
	pthread_mutex_lock(&k_mu);
	CHECK_EQ(k_last_req.port, port_tls2);
	pthread_mutex_unlock(&k_mu);
	tcli_close(&c);
}

/* 11: the placeholder in the body, query or URL is not substituted. */
static void
test_case11_placeholder_body_query(void)
{
	char req[2048], id[16], head[8192], body[8192];
	struct tcli c;
	struct tresp r;

	CHECK_EQ(tunnel_bound(&c), 200);
	snprintf(req, sizeof(req),
	    "POST /v1/%s/echo?key=%s HTTP/1.1\r\nHost: api.bound.test:%u\r\n"
	    "X-Test-Id: %s\r\nContent-Length: %zu\r\n\r\nkey=%s",
	    PH_A, PH_A, port_tls1, test_id(id, sizeof(id)), strlen(PH_A) + 4,
	    PH_A);
	CHECK_EQ(tcli_req(&c, req, &r), 200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), body, sizeof(body)));
	CHECK(strstr(head, "/v1/" PH_A "/echo?key=" PH_A) != NULL);
	CHECK_STR(body, "key=" PH_A);
	CHECK(strstr(head, PH_CANARY) == NULL);
	CHECK(strstr(body, PH_CANARY) == NULL);
	tcli_close(&c);
}

/* 12: the placeholder in echoing headers is not substituted. */
static void
test_case12_placeholder_echo_headers(void)
{
	char id[16], head[8192];
	struct tcli c;
	struct tresp r;

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	             "User-Agent: " PH_A "\r\nReferer: https://x/" PH_A
	             "\r\nCookie: k=" PH_A "\r\n",
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, "User-Agent: " PH_A "\r\n") != NULL);
	CHECK(strstr(head, "Referer: https://x/" PH_A "\r\n") != NULL);
	CHECK(strstr(head, "Cookie: k=" PH_A "\r\n") != NULL);
	CHECK(strstr(head, PH_CANARY) == NULL);
	tcli_close(&c);
}

/* 13: encoded or split placeholders are not substituted. */
static void
test_case13_placeholder_encoded(void)
{
	char id[16], head[8192], body[8192], extra[256], b64[128], req[2048];
	struct tcli c;
	struct tresp r;

	CHECK_EQ(tunnel_bound(&c), 200);
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)PH_A,
	    strlen(PH_A), sodium_base64_VARIANT_ORIGINAL);
	snprintf(extra, sizeof(extra), "X-Api-Key: %s\r\n", b64);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", extra,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, PH_CANARY) == NULL);
	CHECK(strstr(head, b64) != NULL);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	             "X-Api-Key: PH%5FsandboxA%5F5f0c2b9e1d7a3c44\r\n",
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, PH_CANARY) == NULL);
	/* split across chunks of a body */
	snprintf(req, sizeof(req),
	    "POST /v1/echo HTTP/1.1\r\nHost: api.bound.test:%u\r\n"
	    "X-Test-Id: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "6\r\nPH_san\r\n%zx\r\n%s\r\n0\r\n\r\n",
	    port_tls1, test_id(id, sizeof(id)), strlen(PH_A) - 6, &PH_A[6]);
	CHECK_EQ(tcli_req(&c, req, &r), 200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), body, sizeof(body)));
	CHECK_STR(body, PH_A);
	CHECK(strstr(head, "Transfer-Encoding: chunked\r\n") != NULL);
	/* the placeholder inside another value of its header: refused */
	CHECK_EQ(
	    tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	        "X-Api-Key: key=" PH_A "\r\n", test_id(id, sizeof(id)), &r),
	    403);
	tresp_free(&r);
	CHECK(!tlog_find(id, head, sizeof(head), NULL, 0));
	/* control: the literal placeholder in its header is substituted */
	snprintf(extra, sizeof(extra), "X-Api-Key: %s\r\n", PH_A);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", extra,
	             test_id(id, sizeof(id)), &r),
	    200);
	CHECK(strstr((char *)r.body.data, PH_CANARY) == NULL); /* masked */
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, "X-Api-Key: " PH_CANARY "\r\n") != NULL);
	CHECK(strstr(head, PH_A) == NULL);
	CHECK_STR(last_report().secrets, "stripe,phkey");
	tcli_close(&c);
}

/* 14: the upstream echoes the secret: masked, and reported. */
static void
test_case14_echo_redacted(void)
{
	char b64[256];
	struct tcli c;
	struct tresp r;
	struct proxy_record rec;

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/leak", NULL,
	             "c14", &r),
	    200);
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)CANARY_AUTH,
	    strlen(CANARY_AUTH), sodium_base64_VARIANT_ORIGINAL);
	CHECK(strstr(r.head, CANARY) == NULL);
	CHECK(strstr(r.head, "X-Echo: Bearer *****") != NULL);
	CHECK(r.body.len > 0);
	CHECK(strstr((char *)r.body.data, CANARY) == NULL);
	CHECK(strstr((char *)r.body.data, "CANARY%2f") == NULL);
	CHECK(strstr((char *)r.body.data, "\"url\":\"Bearer%20****") != NULL);
	CHECK(strstr((char *)r.body.data, "\"raw\":\"Bearer ****") != NULL);
	/* the base64 of "Bearer <secret>" keeps only its first characters */
	CHECK(strstr((char *)r.body.data, b64) == NULL);
	CHECK(strstr((char *)r.body.data, "\"b64\":\"QmVhcmVy") != NULL);
	tresp_free(&r);
	rec = last_report();
	CHECK(rec.redactions >= 4);
	CHECK_STR(rec.secrets, "stripe");
	tcli_close(&c);
}

/* 15: CR/LF in client values and in injected values. */
static void
test_case15_crlf(void)
{
	char auth[64];
	struct tcli c;
	struct tresp r;
	int before = tlog_count(-1);

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(
	    tcli_req(&c,
	        "GET /v1/echo HTTP/1.1\r\nHost: a\r\nX-A: b\rX-B: c\r\n\r\n",
	        &r),
	    400);
	tresp_free(&r);
	tcli_close(&c);
	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(
	    tcli_req(&c,
	        "GET /v1/echo HTTP/1.1\r\nHost: a\r\nX-A: b\nX-B: c\r\n\r\n",
	        &r),
	    400);
	tresp_free(&r);
	tcli_close(&c);
	/* the keeper hands out a value with CRLF: never sent */
	snprintf(auth, sizeof(auth), "crlf.test:%u", port_tls1);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_A, "crlf.test", "crlf.test"), 200);
	CHECK_EQ(
	    tunnel_get(&c, "crlf.test", port_tls1, "/x", NULL, "c15", &r), 502);
	CHECK(strstr((char *)r.body.data, CRLF_CANARY) == NULL);
	tresp_free(&r);
	CHECK_EQ(tlog_count(-1), before);
	tcli_close(&c);
}

/* 16: the client's own Authorization (two of them) is replaced. */
static void
test_case16_client_auth_replaced(void)
{
	char id[16], head[8192];
	const char *p;
	struct tcli c;
	struct tresp r;
	int n = 0;

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	             "Authorization: Bearer mine\r\nauthorization: Basic "
	             "Zm9vOmJhcg==\r\nConnection: keep-alive\r\n",
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	for (p = head; (p = strcasestr(p, "authorization:")) != NULL; p++)
		n++;
	CHECK_EQ(n, 1);
	CHECK(strstr(head, "Authorization: " CANARY_AUTH "\r\n") != NULL);
	CHECK(strstr(head, "mine") == NULL);
	CHECK(strstr(head, "Connection") == NULL);
	CHECK(strstr(head, "Accept-Encoding: identity\r\n") != NULL);
	tcli_close(&c);
}

/* 17: proxy credentials and Proxy-* fields are never forwarded. */
static void
test_case17_proxy_headers_stripped(void)
{
	char req[1024], id[16], head[8192];
	struct tcli c;
	struct tresp r;

	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	snprintf(req, sizeof(req),
	    "GET http://api.bound.test:%u/v1/echo HTTP/1.1\r\nHost: "
	    "api.bound.test:%u\r\nX-Test-Id: %s\r\nProxy-Connection: "
	    "keep-alive\r\nProxy-Foo: x\r\nConnection: X-Gone\r\nX-Gone: 1\r\n"
	    "%s\r\n",
	    port_plain, port_plain, test_id(id, sizeof(id)),
	    auth_header(TOKEN_A));
	CHECK_EQ(tcli_req(&c, req, &r), 200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strcasestr(head, "proxy-") == NULL);
	CHECK(strstr(head, "X-Gone") == NULL);
	CHECK(strstr(head, TOKEN_A) == NULL);
	tcli_close(&c);
	/* inside a tunnel too */
	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	             auth_header(TOKEN_A), test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strcasestr(head, "proxy-") == NULL);
	tcli_close(&c);
}

/* 18: a token or placeholder replayed from another sandbox. */
static void
test_case18_replay(void)
{
	char auth[64], id[16], head[8192], extra[256];
	struct tcli c;
	struct tresp r;

	snprintf(auth, sizeof(auth), "api.bound.test:%u", port_tls1);
	/* A's token from B's address */
	CHECK_EQ(tcli_open(&c, "127.0.0.2", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_A, NULL, NULL), 407);
	tcli_close(&c);
	CHECK_STR(last_report().reason, "proxy credentials not valid");
	/* no token, a wrong token, an unknown address */
	CHECK_EQ(tcli_open(&c, "127.0.0.2", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, NULL, NULL, NULL), 407);
	tcli_close(&c);
	CHECK_EQ(tcli_open(&c, "127.0.0.2", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, "tokB_fedcba9876543210fedX", NULL, NULL),
	    407);
	tcli_close(&c);
	CHECK_EQ(tcli_open(&c, "127.0.0.9", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_B, NULL, NULL), 407);
	tcli_close(&c);
	/* B with its own token sends A's placeholder: worthless */
	CHECK_EQ(tcli_open(&c, "127.0.0.2", P1), 0);
	CHECK_EQ(
	    tcli_tunnel(&c, auth, TOKEN_B, "api.bound.test", "api.bound.test"),
	    200);
	snprintf(extra, sizeof(extra), "X-Api-Key: %s\r\n", PH_A);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", extra,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, "X-Api-Key: " PH_A "\r\n") != NULL);
	CHECK(strstr(head, PH_CANARY) == NULL);
	/* and its own placeholder works */
	snprintf(extra, sizeof(extra), "X-Api-Key: %s\r\n", PH_B);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", extra,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, "X-Api-Key: " PH_CANARY "\r\n") != NULL);
	tcli_close(&c);
	/* a second request on one connection with another sandbox's token */
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	snprintf(extra, sizeof(extra),
	    "GET http://api.bound.test:%u/v1/echo HTTP/1.1\r\nHost: "
	    "api.bound.test:%u\r\n%s\r\n",
	    port_plain, port_plain, auth_header(TOKEN_A));
	CHECK_EQ(tcli_req(&c, extra, &r), 200);
	tresp_free(&r);
	snprintf(extra, sizeof(extra),
	    "GET http://api.bound.test:%u/v1/echo HTTP/1.1\r\nHost: "
	    "api.bound.test:%u\r\n%s\r\n",
	    port_plain, port_plain, auth_header(TOKEN_B));
	CHECK_EQ(tcli_req(&c, extra, &r), 407);
	tresp_free(&r);
	tcli_close(&c);
}

/*
 * 11-13, 18 with placeholders in the vault's form, which the proxy finds
 * in the declared header and the keeper resolves: only the sandbox's own,
 * only in exactly the secret's format.
 */
static void
test_placeholder_vault_form(void)
{
	char auth[64], id[16], head[8192];
	struct tcli c;
	struct tresp r;
	int calls;

	snprintf(auth, sizeof(auth), "api.bound.test:%u", port_tls1);
	CHECK_EQ(tcli_open(&c, "127.0.0.7", P1), 0);
	CHECK_EQ(
	    tcli_tunnel(&c, auth, TOKEN_F, "api.bound.test", "api.bound.test"),
	    200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	             "Authorization: Bearer " VPH_F "\r\n",
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, "Authorization: Bearer " VPH_CANARY "\r\n") != NULL);
	CHECK(strstr(head, VPH_F) == NULL);
	pthread_mutex_lock(&k_mu);
	CHECK_STR(k_last_req.secret, "vph");
	pthread_mutex_unlock(&k_mu);
	/* another sandbox's placeholder (case 18) */
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	             "Authorization: Bearer " VPH_G "\r\n",
	             test_id(id, sizeof(id)), &r),
	    403);
	tresp_free(&r);
	CHECK(!tlog_find(id, head, sizeof(head), NULL, 0));
	/* not exactly the format */
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	             "Authorization: Token " VPH_F "\r\n",
	             test_id(id, sizeof(id)), &r),
	    403);
	CHECK(strstr((char *)r.body.data, "format") != NULL);
	tresp_free(&r);
	CHECK(!tlog_find(id, head, sizeof(head), NULL, 0));
	/* elsewhere than the declared header: the keeper is not even asked */
	calls = cred_calls();
	CHECK_EQ(
	    tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	        "X-Other: Bearer " VPH_F "\r\n", test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK_EQ(cred_calls(), calls);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	CHECK(strstr(head, "X-Other: Bearer " VPH_F "\r\n") != NULL);
	CHECK(strstr(head, VPH_CANARY) == NULL);
	tcli_close(&c);
}

/* Expects 403 without any lookup or dial for CONNECT authority on p. */
static void
refused_early(struct proxy *p, const char *authority, int want_resolves)
{
	struct tcli c;
	int res0, dial0, res1, dial1, st;

	net_counts(&res0, &dial0);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", p), 0);
	st = tcli_tunnel(&c, authority, TOKEN_A, NULL, NULL);
	if (st != 403 && st != 400) {
		fprintf(stderr, "  CONNECT %s -> %d\n", authority, st);
		CHECK(0);
	}
	tcli_close(&c);
	net_counts(&res1, &dial1);
	CHECK_EQ(dial1, dial0);
	if (res1 - res0 != want_resolves) {
		fprintf(stderr, "  CONNECT %s: %d lookups\n", authority,
		    res1 - res0);
		CHECK(0);
	}
}

/* 21: cloud metadata, whatever the spelling or name. */
static void
test_case21_metadata(void)
{
	char req[512];
	struct tcli c;
	struct tresp r;

	refused_early(P1, "169.254.169.254:443", 0);
	CHECK(strstr(last_report().reason, "metadata") != NULL);
	refused_early(P1, "[fd00:ec2::254]:443", 0);
	refused_early(P1, "100.100.100.200:443", 0);
	refused_early(P1, "meta.test:443", 1);
	CHECK(strstr(last_report().reason, "metadata") != NULL);
	refused_early(P1, "meta6.test:443", 1);
	refused_early(P1, "metadata.google.internal:443", 0);
	refused_early(P2, "169.254.169.254:443", 0);
	/* plain http to the metadata address */
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	snprintf(req, sizeof(req),
	    "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n"
	    "Host: 169.254.169.254\r\n%s\r\n",
	    auth_header(TOKEN_A));
	CHECK_EQ(tcli_req(&c, req, &r), 403);
	tresp_free(&r);
	tcli_close(&c);
}

/* 22: IPv4 spellings are parsed and denied (P2 allow-lists nothing). */
static void
test_case22_ipv4_spellings(void)
{
	static const char *const v[] = {"2852039166", "0xA9FEA9FE",
	    "0251.0376.0251.0376", "169.254.43518", "0xa9.0xfe.0xa9.0xfe",
	    "127.1", "0", "0x7f000001", "017700000001", "127.0.0.1", NULL};
	char auth[64], req[512];
	struct tcli c;
	struct tresp r;
	int i;

	for (i = 0; v[i] != NULL; i++) {
		snprintf(auth, sizeof(auth), "%s:443", v[i]);
		refused_early(P2, auth, 0);
	}
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P2), 0);
	snprintf(req, sizeof(req),
	    "GET http://2852039166/ HTTP/1.1\r\nHost: 2852039166\r\n%s\r\n",
	    auth_header(TOKEN_A));
	CHECK_EQ(tcli_req(&c, req, &r), 403);
	tresp_free(&r);
	tcli_close(&c);
}

/* 23: IPv6 embeddings are unwrapped and denied. */
static void
test_case23_ipv6_embeddings(void)
{
	static const char *const v[] = {"[::ffff:169.254.169.254]",
	    "[::ffff:a9fe:a9fe]", "[64:ff9b::169.254.169.254]",
	    "[2002:a9fe:a9fe::]", "[2001:0:4136:e378:8000:63bf:3f57:fdf2]",
	    "[::1]", "[fe80::1]", "[fe80::1%25eth0]", "[::127.0.0.1]", NULL};
	char auth[128];
	int i;

	for (i = 0; v[i] != NULL; i++) {
		snprintf(auth, sizeof(auth), "%s:443", v[i]);
		refused_early(P2, auth, 0);
	}
}

/* 24: private, CGNAT and reserved ranges. */
static void
test_case24_private_ranges(void)
{
	static const char *const v[] = {"10.0.0.1", "192.168.1.1", "172.16.0.1",
	    "100.64.0.1", "240.0.0.1", "[fc00::1]", "0.0.0.0", NULL};
	char auth[64];
	int i;

	for (i = 0; v[i] != NULL; i++) {
		snprintf(auth, sizeof(auth), "%s:443", v[i]);
		refused_early(P2, auth, 0);
	}
	refused_early(P1, "10.0.0.1:443", 0);
	refused_early(P1, "private.test:443", 1);
	CHECK_STR(last_report().reason, "destination is a private address");
	refused_early(P1, "cgnat.test:443", 1);
	/* one bad address among good ones denies the name */
	refused_early(P1, "mixed.test:443", 1);
	pthread_mutex_lock(&n_mu);
	CHECK_EQ(n_bad_dials, 0);
	pthread_mutex_unlock(&n_mu);
}

/* 25: DNS rebinding: the validated address is the one dialled, again. */
static void
test_case25_rebinding(void)
{
	char auth[64], id[16], head[8192];
	struct tcli c;
	struct tresp r;
	int res0, dial0, res1, dial1;

	snprintf(auth, sizeof(auth), "rebind.test:%u", port_tls1);
	net_counts(&res0, &dial0);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	CHECK_EQ(
	    tcli_tunnel(&c, auth, TOKEN_A, "rebind.test", "rebind.test"), 200);
	/* the upstream closes after each answer: each request redials */
	CHECK_EQ(tunnel_get(&c, "rebind.test", port_tls1, "/v1/close", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK_EQ(tunnel_get(&c, "rebind.test", port_tls1, "/v1/close", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	tcli_close(&c);
	net_counts(&res1, &dial1);
	CHECK_EQ(res1 - res0, 1); /* one lookup, never a second */
	CHECK_EQ(dial1 - dial0, 2);
	pthread_mutex_lock(&n_mu);
	CHECK_EQ(n_last_dial.family, ADDR_V4);
	CHECK_EQ(n_last_dial.b[0], 127);
	CHECK_EQ(n_bad_dials, 0);
	pthread_mutex_unlock(&n_mu);
	/* a fresh CONNECT looks up again, gets the private address: 403 */
	refused_early(P1, auth, 1);
}

/* 26: the proxy itself and other local ports. */
static void
test_case26_proxy_itself(void)
{
	char auth[64];

	snprintf(auth, sizeof(auth), "127.0.0.1:%u", port_proxy);
	refused_early(P1, auth, 0);
	CHECK_STR(last_report().reason, "destination is the proxy itself");
	snprintf(auth, sizeof(auth), "127.0.0.1:%u", proxy_port(P2));
	refused_early(P2, auth, 0);
	refused_early(P2, "127.0.0.1:22", 0);
	refused_early(P2, "[::1]:443", 0);
}

/* 28: names of denied hosts are never resolved (DNS exfiltration). */
static void
test_case28_dns_exfil(void)
{
	char req[512];
	struct tcli c;
	struct tresp r;
	int res0, dial0, res1, dial1;

	refused_early(P1, "c2VjcmV0ZGF0YQ.attacker.test:443", 0);
	refused_early(P1, "c2VjcmV0ZGF0YQ.attacker.test:80", 0);
	net_counts(&res0, &dial0);
	CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
	snprintf(req, sizeof(req),
	    "GET http://c2VjcmV0ZGF0YQ.attacker.test/ HTTP/1.1\r\nHost: "
	    "c2VjcmV0ZGF0YQ.attacker.test\r\n%s\r\n",
	    auth_header(TOKEN_A));
	CHECK_EQ(tcli_req(&c, req, &r), 403);
	tresp_free(&r);
	tcli_close(&c);
	net_counts(&res1, &dial1);
	CHECK_EQ(res1, res0);
	CHECK_EQ(dial1, dial0);
	pthread_mutex_lock(&n_mu);
	CHECK(strstr(n_last_name, "attacker") == NULL);
	pthread_mutex_unlock(&n_mu);
}

/* 29: request smuggling through the proxy. */
static void
test_case29_smuggling(void)
{
	static const struct {
		const char *extra;
		const char *body;
		int want;
	} bad[] = {
	    {"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
	        "0\r\n\r\nX", 400},
	    {"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
	        "8\r\nSMUGGLED\r\n0\r\n\r\n", 400},
	    {"Transfer-Encoding: xchunked\r\n", "0\r\n\r\n", 501},
	    {"Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n", 501},
	    {"Transfer-Encoding : chunked\r\n", "0\r\n\r\n", 400},
	    {"Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n",
	        "0\r\n\r\n", 400},
	    {"Content-Length: 0\r\nContent-Length: 5\r\n", "hello", 400},
	    {"Content-Length: 5, 5\r\n", "hello", 400},
	    {"Transfer-Encoding: chunked\r\n",
	        "10000000000000005\r\nhello\r\n0\r\n\r\n", 413},
	    {"Transfer-Encoding: chunked\r\n", "5\nhello\n0\n\n", 400},
	};
	char req[2048], id[16], head[8192];
	struct tcli c;
	struct tresp r;
	size_t i;
	long before;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		before = atomic_load(&srv_rx);
		CHECK_EQ(tunnel_bound(&c), 200);
		snprintf(req, sizeof(req),
		    "POST /v1/echo HTTP/1.1\r\nHost: api.bound.test:%u\r\n%s"
		    "\r\n%s",
		    port_tls1, bad[i].extra, bad[i].body);
		if (tcli_req(&c, req, &r) != bad[i].want) {
			fprintf(stderr, "  smuggling case %zu -> %d\n", i,
			    r.status);
			CHECK(0);
		}
		tresp_free(&r);
		/* the connection is closed after a framing error */
		CHECK_EQ(tcli_req(&c, "GET /v1/echo HTTP/1.1\r\n\r\n", &r), -1);
		tresp_free(&r);
		tcli_close(&c);
		/* nothing reached the upstream, not even the head */
		CHECK_EQ(atomic_load(&srv_rx), before);
	}
	/* pipelined: each request is decided on its own */
	CHECK_EQ(tunnel_bound(&c), 200);
	snprintf(req, sizeof(req),
	    "POST /v1/echo HTTP/1.1\r\nHost: api.bound.test:%u\r\n"
	    "Content-Length: 4\r\nX-Test-Id: pipe1\r\n\r\nbody"
	    "GET /admin HTTP/1.1\r\nHost: api.bound.test:%u\r\n"
	    "X-Test-Id: pipe2\r\n\r\n"
	    "GET /v1/echo HTTP/1.1\r\nHost: api.bound.test:%u\r\n"
	    "X-Test-Id: pipe3\r\n\r\n",
	    port_tls1, port_tls1, port_tls1);
	CHECK_EQ(tcli_send(&c, req, strlen(req)), 0);
	tcli_read(&c, &r, "POST");
	CHECK_EQ(r.status, 200);
	CHECK(strstr((char *)r.body.data, "pipe2") == NULL);
	tresp_free(&r);
	tcli_read(&c, &r, "GET");
	CHECK_EQ(r.status, 403);
	tresp_free(&r);
	tcli_read(&c, &r, "GET");
	CHECK_EQ(r.status, 200);
	tresp_free(&r);
	CHECK(tlog_find("pipe1", head, sizeof(head), NULL, 0));
	CHECK(!tlog_find("pipe2", head, sizeof(head), NULL, 0));
	CHECK(tlog_find("pipe3", head, sizeof(head), NULL, 0));
	/* the upstream's framing is read as strictly */
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/badframe",
	             NULL, test_id(id, sizeof(id)), &r),
	    502);
	tresp_free(&r);
	tcli_close(&c);
	/* an upstream that sends a second, unasked response */
	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/extra", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	CHECK_STR((char *)r.body.data, "ok");
	tresp_free(&r);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	CHECK(strstr((char *)r.body.data, "evil!") == NULL);
	tresp_free(&r);
	tcli_close(&c);
}

/* 30: WebSocket, Upgrade, h2c and HTTP/2 are refused. */
static void
test_case30_upgrade(void)
{
	struct tcli c;
	struct tresp r;
	int before = tlog_count(-1);

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/ws",
	             "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	             "Sec-WebSocket-Version: 13\r\n"
	             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
	             "c30a", &r),
	    403);
	CHECK(strstr((char *)r.body.data, "upgrade") != NULL);
	tresp_free(&r);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/x",
	             "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
	             "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n",
	             "c30b", &r),
	    403);
	tresp_free(&r);
	CHECK_EQ(tcli_req(&c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &r), 505);
	tresp_free(&r);
	tcli_close(&c);
	CHECK_EQ(tlog_count(-1), before);
}

/* 31: upstreams with bad certificates: aborted before any request. */
static void
test_case31_bad_upstream_cert(void)
{
	static const struct {
		const char *host;
		uint16_t *port;
		int srv;
	} v[] = {{"wrongname.test", &port_wrong, SRV_WRONG},
	    {"selfsigned.test", &port_self, SRV_SELF},
	    {"plaintcp.test", &port_raw, SRV_RAW}};
	char auth[64];
	struct tcli c;
	size_t i;
	int st;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(auth, sizeof(auth), "%s:%u", v[i].host, *v[i].port);
		CHECK_EQ(tcli_open(&c, "127.0.0.1", P1), 0);
		st = tcli_tunnel(&c, auth, TOKEN_A, NULL, NULL);
		CHECK_EQ(st, 502);
		tcli_close(&c);
		CHECK(atomic_load(&srvs[v[i].srv].accepted) > 0);
		CHECK_EQ(tlog_count(v[i].srv), 0);
	}
	CHECK(strstr(last_report().reason, "wrong version") != NULL ||
	    strstr(last_report().reason, "handshake") != NULL);
}

/* 32: huge heads and bodies are capped. */
static void
test_case32_huge(void)
{
	char req[1024];
	struct buf big;
	struct tcli c;
	struct tresp r;
	size_t i;

	CHECK_EQ(tunnel_bound(&c), 200);
	buf_init(&big, 1 << 20);
	CHECK(buf_printf(&big,
	          "GET /v1/echo HTTP/1.1\r\nHost: api.bound.test:"
	          "%u\r\n",
	          port_tls1) == 0);
	for (i = 0; big.len < PROXY_HTTP_HEAD_MAX + 1000; i++)
		CHECK(buf_printf(&big, "X-Filler-%zu: %0200d\r\n", i, 0) == 0);
	CHECK(buf_append_str(&big, "\r\n") == 0);
	CHECK_EQ(tcli_send(&c, (char *)big.data, big.len), 0);
	tcli_read(&c, &r, "GET");
	CHECK_EQ(r.status, 413);
	tresp_free(&r);
	tcli_close(&c);
	buf_free(&big);
	/* sandbox D: max_body_bytes 1024 */
	CHECK_EQ(tcli_open(&c, "127.0.0.4", P1), 0);
	snprintf(req, sizeof(req), "lim.test:%u", port_tls1);
	CHECK_EQ(tcli_tunnel(&c, req, TOKEN_D, "lim.test", "lim.test"), 200);
	snprintf(req, sizeof(req),
	    "POST /x HTTP/1.1\r\nHost: lim.test:%u\r\nContent-Length: 1025\r\n"
	    "\r\n",
	    port_tls1);
	CHECK_EQ(tcli_req(&c, req, &r), 413);
	tresp_free(&r);
	tcli_close(&c);
	CHECK_EQ(tcli_open(&c, "127.0.0.4", P1), 0);
	snprintf(req, sizeof(req), "lim.test:%u", port_tls1);
	CHECK_EQ(tcli_tunnel(&c, req, TOKEN_D, "lim.test", "lim.test"), 200);
	buf_init(&big, 1 << 20);
	CHECK(buf_printf(&big,
	          "POST /x HTTP/1.1\r\nHost: lim.test:%u\r\nTransfer-Encoding: "
	          "chunked\r\n\r\n",
	          port_tls1) == 0);
	for (i = 0; i < 3; i++)
		CHECK(buf_printf(&big, "200\r\n%0512d\r\n", 0) == 0);
	CHECK(buf_append_str(&big, "0\r\n\r\n") == 0);
	CHECK_EQ(tcli_send(&c, (char *)big.data, big.len), 0);
	tcli_read(&c, &r, "POST");
	CHECK_EQ(r.status, 413);
	tresp_free(&r);
	buf_free(&big);
	tcli_close(&c);
}

/* 33: bulk exfiltration through an allowed host: byte caps, methods. */
static void
test_case33_bulk_exfil(void)
{
	char req[4096], auth[64];
	struct tcli c;
	struct tresp r;
	int i, st = 0;

	snprintf(auth, sizeof(auth), "lim.test:%u", port_tls1);
	CHECK_EQ(proxy_ident_table_exec_begin(ids1, "sb_d"), 0);
	CHECK_EQ(tcli_open(&c, "127.0.0.4", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_D, "lim.test", "lim.test"), 200);
	CHECK_EQ(
	    tunnel_get(&c, "lim.test", port_tls1, "/x", NULL, "c33m", &r), 200);
	tresp_free(&r);
	snprintf(req, sizeof(req),
	    "PUT /x HTTP/1.1\r\nHost: lim.test:%u\r\n\r\n", port_tls1);
	CHECK_EQ(tcli_req(&c, req, &r), 403);
	CHECK(strstr((char *)r.body.data, "method not allowed") != NULL);
	tresp_free(&r);
	for (i = 0; i < 20; i++) {
		snprintf(req, sizeof(req),
		    "POST /x HTTP/1.1\r\nHost: lim.test:%u\r\n"
		    "Content-Length: 1000\r\n\r\n%01000d",
		    port_tls1, 0);
		st = tcli_req(&c, req, &r);
		tresp_free(&r);
		if (st != 200)
			break;
	}
	CHECK_EQ(st, 429);
	CHECK(i >= 3 && i <= 6);
	CHECK_STR(
	    last_report().reason, "max_bytes_out reached for this execution");
	tcli_close(&c);
	/* a new execution starts a new window */
	CHECK_EQ(proxy_ident_table_exec_begin(ids1, "sb_d"), 0);
	CHECK_EQ(tcli_open(&c, "127.0.0.4", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_D, "lim.test", "lim.test"), 200);
	CHECK_EQ(tcli_req(&c, req, &r), 200);
	tresp_free(&r);
	tcli_close(&c);
}

/* 34: a flood of connections; other sandboxes unaffected. */
static void
test_case34_flood(void)
{
	struct tcli flood[8], c;
	struct tresp r;
	struct proxy_stats st0, st1;
	char auth[64];
	int i, n429 = 0;

	proxy_stats(P1, &st0);
	for (i = 0; i < 8; i++)
		CHECK_EQ(tcli_open(&flood[i], "127.0.0.5", P1), 0);
	/* until the proxy has accepted all eight */
	for (i = 0; i < 400; i++) {
		proxy_stats(P1, &st1);
		if (st1.conns_total >= st0.conns_total + 8)
			break;
		usleep(5000);
	}
	CHECK_EQ(tcli_open(&c, "127.0.0.5", P1), 0);
	tcli_read(&c, &r, "GET");
	CHECK_EQ(r.status, 429);
	tresp_free(&r);
	tcli_close(&c);
	proxy_stats(P1, &st1);
	CHECK_EQ(st1.conns_refused, st0.conns_refused + 1);
	/* sandbox B gets through meanwhile */
	snprintf(auth, sizeof(auth), "api.bound.test:%u", port_tls1);
	CHECK_EQ(tcli_open(&c, "127.0.0.2", P1), 0);
	CHECK_EQ(
	    tcli_tunnel(&c, auth, TOKEN_B, "api.bound.test", "api.bound.test"),
	    200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", NULL,
	             "c34", &r),
	    200);
	tresp_free(&r);
	tcli_close(&c);
	for (i = 0; i < 8; i++)
		tcli_close(&flood[i]);
	/* sandbox C: rate_per_host 3, max_requests 5 */
	snprintf(auth, sizeof(auth), "lim.test:%u", port_tls1);
	CHECK_EQ(proxy_ident_table_exec_begin(ids1, "sb_c"), 0);
	CHECK_EQ(tcli_open(&c, "127.0.0.3", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, TOKEN_C, "lim.test", "lim.test"), 200);
	for (i = 0; i < 4; i++) {
		if (tunnel_get(&c, "lim.test", port_tls1, "/x", NULL, "c34r",
		        &r) == 429)
			n429++;
		tresp_free(&r);
	}
	/* three in the same second at most (the fourth may fall in the
	 * next second on a slow machine) */
	CHECK(n429 <= 1);
	if (n429 == 1)
		CHECK_STR(last_report().reason, "rate_per_host reached");
	usleep(1100 * 1000);
	for (i = 0; i < 3; i++) {
		if (tunnel_get(&c, "lim.test", port_tls1, "/x", NULL, "c34r",
		        &r) == 429)
			n429++;
		tresp_free(&r);
	}
	CHECK(n429 >= 1);
	CHECK_STR(last_report().reason,
	    "max_requests reached for this "
	    "execution");
	tcli_close(&c);
}

/* ---- behaviour around the catalogue ---- */

static void
test_expect_continue(void)
{
	char req[1024], id[16], head[8192], body[64];
	struct tcli c;
	struct tresp r;

	CHECK_EQ(tunnel_bound(&c), 200);
	snprintf(req, sizeof(req),
	    "POST /v1/echo HTTP/1.1\r\nHost: api.bound.test:%u\r\n"
	    "Expect: 100-continue\r\nContent-Length: 5\r\nX-Test-Id: "
	    "%s\r\n\r\n",
	    port_tls1, test_id(id, sizeof(id)));
	CHECK_EQ(tcli_send(&c, req, strlen(req)), 0);
	tcli_read(&c, &r, "POST");
	CHECK_EQ(r.status, 100);
	tresp_free(&r);
	CHECK_EQ(tcli_send(&c, "hello", 5), 0);
	tcli_read(&c, &r, "POST");
	CHECK_EQ(r.status, 200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), body, sizeof(body)));
	CHECK(strcasestr(head, "expect") == NULL);
	CHECK_STR(body, "hello");
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo",
	             "Expect: teapot\r\n", "exp", &r),
	    417);
	tresp_free(&r);
	tcli_close(&c);
}

static void
test_large_response_and_head(void)
{
	struct tcli c;
	struct tresp r;

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/big", NULL,
	             "big", &r),
	    200);
	CHECK_EQ(r.body.len, 1 << 20);
	tresp_free(&r);
	CHECK_EQ(
	    tcli_req(&c,
	        "HEAD /v1/echo HTTP/1.1\r\nHost: api.bound.test\r\n\r\n", &r),
	    421);
	tresp_free(&r);
	tcli_close(&c);
}

/*
 * A streamed response with a credential injected (so it is scanned): each
 * event reaches the client before the upstream sends the next one.
 */
static void
test_streaming(void)
{
	struct timeval tv = {3, 0};
	char req[512], in[4096];
	size_t len = 0;
	struct tcli c;
	int n, sent = 0;

	CHECK_EQ(tunnel_bound(&c), 200);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req),
	    "GET /v1/stream HTTP/1.1\r\nHost: api.bound.test:%u\r\n\r\n",
	    port_tls1);
	CHECK_EQ(tcli_send(&c, req, strlen(req)), 0);
	while (len < sizeof(in) - 1 &&
	    (n = SSL_read(c.ssl, in + len, (int)(sizeof(in) - 1 - len))) > 0) {
		len += (size_t)n;
		in[len] = '\0';
		if (!sent && strstr(in, "data: one") != NULL) {
			sem_post(&stream_go);
			sent = 1;
		}
		if (strstr(in, "0\r\n\r\n") != NULL)
			break;
	}
	CHECK(sent);
	CHECK(strstr(in, "data: two") != NULL);
	CHECK(strstr(in, "Transfer-Encoding: chunked\r\n") != NULL);
	CHECK_STR(last_report().secrets, "stripe");
	if (!sent)
		sem_post(&stream_go);
	tcli_close(&c);
}

/* An upstream that drops an idle kept-alive connection: redialled. */
static void
test_stale_upstream(void)
{
	char id[16], head[8192];
	struct tcli c;
	struct tresp r;
	int res0, dial0, res1, dial1;

	CHECK_EQ(tunnel_bound(&c), 200);
	net_counts(&res0, &dial0);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/idleclose",
	             NULL, test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	usleep(50000);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1, "/v1/echo", NULL,
	             test_id(id, sizeof(id)), &r),
	    200);
	tresp_free(&r);
	CHECK(tlog_find(id, head, sizeof(head), NULL, 0));
	net_counts(&res1, &dial1);
	CHECK_EQ(dial1 - dial0, 1);
	CHECK_EQ(res1, res0);
	tcli_close(&c);
}

static void
test_report_fields(void)
{
	struct tcli c;
	struct tresp r;
	struct proxy_record rec;

	CHECK_EQ(tunnel_bound(&c), 200);
	CHECK_EQ(tunnel_get(&c, "api.bound.test", port_tls1,
	             "/v1/echo?token=" CANARY "&page=2", NULL, "rep", &r),
	    200);
	tresp_free(&r);
	rec = last_report();
	CHECK_STR(rec.sandbox, "sb_a");
	CHECK_STR(rec.src, "127.0.0.1");
	CHECK_STR(rec.method, "GET");
	CHECK_STR(rec.scheme, "https");
	CHECK_STR(rec.host, "api.bound.test");
	CHECK_EQ(rec.port, port_tls1);
	CHECK_STR(rec.path, "/v1/echo?token=&page=");
	CHECK_EQ(rec.status, 200);
	CHECK_STR(rec.decision, "allow");
	CHECK_EQ(rec.rule, 0);
	CHECK_STR(rec.secrets, "stripe");
	CHECK(rec.bytes_out > 0 && rec.bytes_in > 0);
	CHECK_EQ(strlen(rec.policy_hash), 64);
	tcli_close(&c);
}

static void
test_leaf_cache(void)
{
	struct proxy_stats st0, st1;
	struct tcli c;

	CHECK_EQ(tunnel_bound(&c), 200);
	tcli_close(&c);
	proxy_stats(P1, &st0);
	CHECK_EQ(tunnel_bound(&c), 200);
	tcli_close(&c);
	CHECK_EQ(tunnel_bound(&c), 200);
	tcli_close(&c);
	proxy_stats(P1, &st1);
	CHECK_EQ(st1.leaves_signed, st0.leaves_signed);
}

static void
test_revoked_identity(void)
{
	char auth[64], doc[512];
	struct proxy_secret_ref none[1];
	struct tcli c;
	struct tresp r;

	snprintf(doc, sizeof(doc),
	    "{\"name\": \"e\", \"allow\": [{\"host\": \"lim.test\", \"port\": "
	    "%u}]}",
	    port_tls1);
	CHECK_EQ(ident_add(ids1, "sb_e", "127.0.0.6", "tokE_cccccccccccccccccc",
	             doc, none, 0),
	    0);
	snprintf(auth, sizeof(auth), "lim.test:%u", port_tls1);
	CHECK_EQ(tcli_open(&c, "127.0.0.6", P1), 0);
	CHECK_EQ(tcli_tunnel(&c, auth, "tokE_cccccccccccccccccc", "lim.test",
	             "lim.test"),
	    200);
	CHECK_EQ(
	    tunnel_get(&c, "lim.test", port_tls1, "/x", NULL, "rv1", &r), 200);
	tresp_free(&r);
	CHECK_EQ(proxy_ident_table_remove(ids1, "sb_e"), 0);
	CHECK_EQ(
	    tunnel_get(&c, "lim.test", port_tls1, "/x", NULL, "rv2", &r), 407);
	tresp_free(&r);
	tcli_close(&c);
	CHECK_EQ(proxy_ident_table_remove(ids1, "sb_e"), PETRI_ERR_NOTFOUND);
}

/* The canaries: only at the bound upstream, never reported. */
static void
test_canary_only_at_bound_upstream(void)
{
	char hostline[64];
	int i, seen = 0;

	snprintf(hostline, sizeof(hostline), "Host: api.bound.test:%u\r\n",
	    port_tls1);
	pthread_mutex_lock(&l_mu);
	for (i = 0; i < ntlogs; i++) {
		const struct tlog *l = &tlogs[i];
		int has = strstr(l->head, CANARY) != NULL ||
		    strstr(l->head, PH_CANARY) != NULL ||
		    strstr(l->head, VPH_CANARY) != NULL ||
		    strstr(l->head, CRLF_CANARY) != NULL ||
		    (l->body != NULL &&
		        (strstr(l->body, CANARY) != NULL ||
		            strstr(l->body, PH_CANARY) != NULL));

		if (!has)
			continue;
		seen++;
		if (l->srv != SRV_TLS1 || strstr(l->head, hostline) == NULL ||
		    strstr(l->head, CRLF_CANARY) != NULL) {
			fprintf(stderr, "  canary at server %d:\n%s\n", l->srv,
			    l->head);
			CHECK(0);
		}
	}
	pthread_mutex_unlock(&l_mu);
	CHECK(seen > 0);
	pthread_mutex_lock(&k_mu);
	for (i = 0; i < k_nrep; i++) {
		const struct proxy_record *rec = &k_rep[i];

		CHECK(memmem(rec, sizeof(*rec), "CANARY", 6) == NULL);
		CHECK(strstr(rec->reason, "CANARY") == NULL);
	}
	pthread_mutex_unlock(&k_mu);
	pthread_mutex_lock(&n_mu);
	CHECK_EQ(n_bad_dials, 0);
	pthread_mutex_unlock(&n_mu);
}

int
main(void)
{
	const char *san = "DNS:api.bound.test,DNS:other.test,DNS:evil.test,"
	                  "DNS:crlf.test,DNS:rebind.test,DNS:lim.test,"
	                  "IP:127.0.0.1";
	int i;

	signal(SIGPIPE, SIG_IGN);
	sem_init(&stream_go, 0, 0);
	if (sodium_init() < 0 || pki_init() != 0) {
		fprintf(stderr, "test set-up failed\n");
		return 1;
	}
	if (tsrv_start(&srvs[SRV_TLS1], SRV_TLS1,
	        server_ctx("upstream", san, ca_cert, ca_key)) != 0 ||
	    tsrv_start(&srvs[SRV_TLS2], SRV_TLS2,
	        server_ctx("upstream2", san, ca_cert, ca_key)) != 0 ||
	    tsrv_start(&srvs[SRV_PLAIN], SRV_PLAIN, NULL) != 0 ||
	    tsrv_start(&srvs[SRV_WRONG], SRV_WRONG,
	        server_ctx("not-this", "DNS:not-this.test", ca_cert, ca_key)) !=
	        0 ||
	    tsrv_start(&srvs[SRV_SELF], SRV_SELF,
	        server_ctx("selfsigned.test", "DNS:selfsigned.test", NULL,
	            NULL)) != 0 ||
	    tsrv_start(&srvs[SRV_RAW], SRV_RAW, NULL) != 0) {
		fprintf(stderr, "upstream set-up failed\n");
		return 1;
	}
	port_tls1 = srvs[SRV_TLS1].port;
	port_tls2 = srvs[SRV_TLS2].port;
	port_plain = srvs[SRV_PLAIN].port;
	port_wrong = srvs[SRV_WRONG].port;
	port_self = srvs[SRV_SELF].port;
	port_raw = srvs[SRV_RAW].port;
	if (proxies_start() != 0) {
		fprintf(stderr, "proxy set-up failed\n");
		return 1;
	}

	UNIT_RUN(test_case01_unbound_host);
	UNIT_RUN(test_case02_connect_host_mismatch);
	UNIT_RUN(test_case03_connect_evil_host_bound);
	UNIT_RUN(test_case04_sni_mismatch);
	UNIT_RUN(test_case05_keepalive_reevaluated);
	UNIT_RUN(test_case06_redirect_not_followed);
	UNIT_RUN(test_case07_lookalikes);
	UNIT_RUN(test_case08_path_tricks);
	UNIT_RUN(test_case09_plain_http);
	UNIT_RUN(test_case10_other_port);
	UNIT_RUN(test_case11_placeholder_body_query);
	UNIT_RUN(test_case12_placeholder_echo_headers);
	UNIT_RUN(test_case13_placeholder_encoded);
	UNIT_RUN(test_case14_echo_redacted);
	UNIT_RUN(test_case15_crlf);
	UNIT_RUN(test_case16_client_auth_replaced);
	UNIT_RUN(test_case17_proxy_headers_stripped);
	UNIT_RUN(test_case18_replay);
	UNIT_RUN(test_placeholder_vault_form);
	UNIT_RUN(test_case21_metadata);
	UNIT_RUN(test_case22_ipv4_spellings);
	UNIT_RUN(test_case23_ipv6_embeddings);
	UNIT_RUN(test_case24_private_ranges);
	UNIT_RUN(test_case25_rebinding);
	UNIT_RUN(test_case26_proxy_itself);
	UNIT_RUN(test_case28_dns_exfil);
	UNIT_RUN(test_case29_smuggling);
	UNIT_RUN(test_case30_upgrade);
	UNIT_RUN(test_case31_bad_upstream_cert);
	UNIT_RUN(test_case32_huge);
	UNIT_RUN(test_case33_bulk_exfil);
	UNIT_RUN(test_case34_flood);
	UNIT_RUN(test_expect_continue);
	UNIT_RUN(test_large_response_and_head);
	UNIT_RUN(test_stale_upstream);
	UNIT_RUN(test_streaming);
	UNIT_RUN(test_report_fields);
	UNIT_RUN(test_leaf_cache);
	UNIT_RUN(test_revoked_identity);
	UNIT_RUN(test_canary_only_at_bound_upstream);

	proxy_free(P1);
	proxy_free(P2);
	proxy_ident_table_free(ids1);
	proxy_ident_table_free(ids2);
	for (i = 0; i < NSRV; i++)
		tsrv_stop(&srvs[i]);
	pthread_mutex_lock(&l_mu);
	for (i = 0; i < ntlogs; i++) {
		free(tlogs[i].head);
		free(tlogs[i].body);
	}
	pthread_mutex_unlock(&l_mu);
	X509_free(ca_cert);
	X509_free(ica_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ica_key);
	unlink(ca_file);
	return UNIT_DONE();
}
