/*
 * proxy_bench.c: the egress proxy's cost, side by side in one run: the
 * same client against the same loopback HTTPS upstream, (1) directly,
 * (2) through Petri's proxy (CONNECT, TLS interception with a leaf from an
 * in-process keeper, policy decided per request, header injection,
 * response scanning) and (3) through mitmproxy's mitmdump (with an addon
 * that sets the same header) when it is installed.  Kept-alive
 * connections; requests/s and latency percentiles per mode, for one
 * connection and for several in parallel.
 *
 * Everything listens on 127.0.0.1; nothing leaves the machine.  The keeper
 * is in-process here: in petrid each injected request adds one IPC round
 * trip to the keeper (a unix socket), which this figure does not include.
 *
 * Usage: proxy_bench [-d seconds] [-c conns] [-o mode] [-M]
 * (-o: run only "direct", "petri" or "mitmproxy"; -M: skip mitmproxy).
 * Prints one JSON object on stdout and a table on stderr.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

extern char **environ;

#define BENCH_TOKEN "benchtoken_0123456789abcdef"
#define BENCH_SRC0 10 /* worker i is sandbox i at 127.0.0.<10 + i> */
#define BENCH_SECRET "sk_bench_0123456789abcdef0123456789"
#define BENCH_BODY                                                             \
	"{\"id\":\"ch_0123456789\",\"object\":\"charge\",\"amount\":42}"

static EVP_PKEY *ca_key, *ica_key;
static X509 *ca_cert, *ica_cert;
static long serial = 1;
static char tmpdir[] = "/tmp/petri-proxy-bench-XXXXXX";
static char ca_path[512];
static uint16_t up_port;
static atomic_int running = 1;

/* ---- certificates ---- */

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

static X509 *
cert_make(EVP_PKEY *pub, const char *cn, const char *san, int is_ca,
    X509 *issuer, EVP_PKEY *issuer_key)
{
	X509V3_CTX ctx;
	X509_NAME *name;
	X509 *x = X509_new();

	if (x == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
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
	    (!is_ca &&
	        !ext_add(x, &ctx, NID_authority_key_identifier, "keyid")) ||
	    (san != NULL && !ext_add(x, &ctx, NID_subject_alt_name, san)) ||
	    (!is_ca && !ext_add(x, &ctx, NID_ext_key_usage, "serverAuth")) ||
	    X509_sign(x, issuer_key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
pem_write(const char *path, X509 *x)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	PEM_write_X509(f, x);
	return fclose(f);
}

/* ---- the in-process keeper ---- */

static atomic_int reports;

static int
k_leaf_sign(void *ctx, const char *host, const unsigned char *spki,
    size_t spki_len, struct buf *chain)
{
	const unsigned char *q = spki;
	struct addr a;
	char san[300];
	EVP_PKEY *pub;
	X509 *x;
	BIO *bio;
	BUF_MEM *mem;
	int r = PETRI_ERR_CRYPTO;

	(void)ctx;
	if ((pub = d2i_PUBKEY(NULL, &q, (long)spki_len)) == NULL)
		return PETRI_ERR_CRYPTO;
	snprintf(san, sizeof(san), "%s:%s",
	    addr_parse(host, strlen(host), &a) == 0 ? "IP" : "DNS", host);
	x = cert_make(pub, host, san, 0, ica_cert, ica_key);
	if (x != NULL && (bio = BIO_new(BIO_s_mem())) != NULL) {
		if (PEM_write_bio_X509(bio, x) == 1) {
			BIO_get_mem_ptr(bio, &mem);
			r = buf_append(chain, mem->data, mem->length);
		}
		BIO_free(bio);
	}
	X509_free(x);
	EVP_PKEY_free(pub);
	return r;
}

static int
k_cred_get(void *ctx, const struct proxy_cred_req *req, struct proxy_cred *out)
{
	static const char value[] = "Bearer " BENCH_SECRET;

	(void)ctx;
	(void)req;
	return proxy_cred_set(out, "Authorization", value, sizeof(value) - 1,
	    BENCH_SECRET, sizeof(BENCH_SECRET) - 1, NULL, 0);
}

static void
k_report(void *ctx, const struct proxy_record *rec)
{
	(void)ctx;
	(void)rec;
	atomic_fetch_add(&reports, 1);
}

/* ---- the upstream ---- */

static SSL_CTX *up_ctx;

static void *
up_conn(void *arg)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\n"
	                           "Content-Type: application/json\r\n"
	                           "Content-Length: 52\r\n\r\n" BENCH_BODY;
	int fd = (int)(intptr_t)arg;
	char in[16384];
	size_t len = 0, scanned = 0, hl;
	const char *why;
	SSL *ssl = SSL_new(up_ctx);
	int n, one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1)
		goto out;
	for (;;) {
		if ((n = SSL_read(ssl, in + len, (int)(sizeof(in) - len))) <= 0)
			break;
		len += (size_t)n;
		while (proxy_http_head_end(in, len, &scanned, &hl, &why) == 0) {
			if (SSL_write(ssl, resp, sizeof(resp) - 1) <= 0)
				goto out;
			memmove(in, in + hl, len - hl);
			len -= hl;
			scanned = 0;
		}
		if (len == sizeof(in))
			break;
	}
out:
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return NULL;
}

static int
listen_local(uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 256) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void *
up_main(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;
	pthread_t th;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		if (pthread_create(&th, NULL, up_conn, (void *)(intptr_t)fd) !=
		    0) {
			close(fd);
			continue;
		}
		pthread_detach(th);
	}
	return NULL;
}

/* ---- the client ---- */

enum { MODE_DIRECT, MODE_PETRI, MODE_MITM, NMODES };
static const char *const mode_names[NMODES] = {"direct", "petri", "mitmproxy"};

struct worker {
	int mode;
	int src; /* connects from 127.0.0.<src>: one sandbox each */
	uint16_t proxy_port;
	X509 *trust; /* the CA the client trusts for the server it sees */
	int64_t *lat; /* microseconds */
	size_t nlat, caplat;
	int failed;
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Connects from 127.0.0.<src> (0: any) to 127.0.0.1:port. */
static int
tcp_connect(int src, uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (src > 0) {
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 + (uint32_t)src);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fd);
			return -1;
		}
	}
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads one response head and its Content-Length body. */
static int
read_response(SSL *ssl, char *in, size_t cap, size_t *len)
{
	size_t scanned = 0, hl;
	struct proxy_http_head h;
	const char *why;
	int n;

	for (;;) {
		if (proxy_http_head_end(in, *len, &scanned, &hl, &why) == 0)
			break;
		if (*len == cap ||
		    (n = SSL_read(ssl, in + *len, (int)(cap - *len))) <= 0)
			return -1;
		*len += (size_t)n;
	}
	if (proxy_http_response_parse(in, hl, "GET", &h, &why) != 0 ||
	    h.status != 200 || h.framing != PROXY_HTTP_BODY_LENGTH) {
		fprintf(stderr, "proxy_bench: unexpected answer: %.*s\n",
		    (int)(hl < 512 ? hl : 512), in);
		return -1;
	}
	while (*len < hl + h.content_length) {
		if (*len == cap ||
		    (n = SSL_read(ssl, in + *len, (int)(cap - *len))) <= 0)
			return -1;
		*len += (size_t)n;
	}
	memmove(in, in + hl + h.content_length, *len - hl - h.content_length);
	*len -= hl + h.content_length;
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char req[512], in[16384], b64[128];
	size_t len = 0;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd, n, measuring = 0;
	int64_t t0, start;

	fd = tcp_connect(
	    w->src, w->mode == MODE_DIRECT ? up_port : w->proxy_port);
	if (fd < 0)
		goto fail;
	if (w->mode != MODE_DIRECT) {
		sodium_bin2base64(b64, sizeof(b64),
		    (const unsigned char *)"sb:" BENCH_TOKEN,
		    sizeof("sb:" BENCH_TOKEN) - 1,
		    sodium_base64_VARIANT_ORIGINAL);
		n = snprintf(req, sizeof(req),
		    "CONNECT 127.0.0.1:%u HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
		    "Proxy-Authorization: Basic %s\r\n\r\n",
		    up_port, up_port, b64);
		if (send(fd, req, (size_t)n, 0) != n)
			goto fail;
		/* "HTTP/1.1 200 ..." up to the blank line */
		for (len = 0; len < sizeof(in) - 1;) {
			if (recv(fd, in + len, 1, 0) != 1)
				goto fail;
			len++;
			if (len >= 4 &&
			    memcmp(in + len - 4, "\r\n\r\n", 4) == 0)
				break;
		}
		if (len < 12 || memcmp(in + 9, "200", 3) != 0)
			goto fail;
		len = 0;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), w->trust);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x08http/1.1", 9);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
	if (SSL_connect(ssl) != 1)
		goto fail;
	n = snprintf(req, sizeof(req),
	    "GET /v1/charges/ch_0123456789 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
	    "User-Agent: proxy_bench\r\nAccept: application/json\r\n\r\n",
	    up_port);
	start = now_us();
	while (atomic_load(&running)) {
		if (!measuring && now_us() - start > 300000)
			measuring = 1; /* after a 0.3 s warm-up */
		t0 = now_us();
		if (SSL_write(ssl, req, n) != n ||
		    read_response(ssl, in, sizeof(in), &len) != 0)
			goto fail;
		if (!measuring)
			continue;
		if (w->nlat == w->caplat) {
			size_t nc = w->caplat ? 2 * w->caplat : 65536;
			int64_t *nl = realloc(w->lat, nc * sizeof(*nl));

			if (nl == NULL)
				goto fail;
			w->lat = nl;
			w->caplat = nc;
		}
		w->lat[w->nlat++] = now_us() - t0;
	}
	goto out;
fail:
	w->failed = 1;
	ERR_print_errors_fp(stderr);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

struct result {
	int ok;
	double rps;
	double p50, p99; /* microseconds */
};

static struct result
run(int mode, int conns, double seconds, uint16_t proxy_port, X509 *trust)
{
	struct result res = {0, 0, 0, 0};
	struct worker *w = calloc((size_t)conns, sizeof(*w));
	pthread_t *th = calloc((size_t)conns, sizeof(*th));
	int64_t *all = NULL;
	size_t n = 0, k;
	int i, failed = 0;

	if (w == NULL || th == NULL)
		goto out;
	atomic_store(&running, 1);
	for (i = 0; i < conns; i++) {
		w[i].mode = mode;
		w[i].proxy_port = proxy_port;
		w[i].trust = trust;
		w[i].src = BENCH_SRC0 + i;
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	usleep((useconds_t)((seconds + 0.3) * 1e6));
	atomic_store(&running, 0);
	for (i = 0; i < conns; i++) {
		pthread_join(th[i], NULL);
		failed |= w[i].failed;
		n += w[i].nlat;
	}
	if (failed || n == 0 || (all = malloc(n * sizeof(*all))) == NULL)
		goto out;
	for (i = 0, k = 0; i < conns; i++) {
		memcpy(all + k, w[i].lat, w[i].nlat * sizeof(*all));
		k += w[i].nlat;
	}
	qsort(all, n, sizeof(*all), cmp64);
	res.ok = 1;
	res.rps = (double)n / seconds;
	res.p50 = (double)all[n / 2];
	res.p99 = (double)all[(n * 99) / 100];
out:
	for (i = 0; w != NULL && i < conns; i++)
		free(w[i].lat);
	free(w);
	free(th);
	free(all);
	return res;
}

/* ---- mitmproxy ---- */

static pid_t
mitm_start(uint16_t port, X509 **ca)
{
	char portbuf[16], confopt[600], caopt[600], addon[560], pem[560];
	char *argv[16];
	struct stat st;
	pid_t pid;
	FILE *f;
	int i, fd;

	snprintf(addon, sizeof(addon), "%s/inject.py", tmpdir);
	if ((f = fopen(addon, "w")) == NULL)
		return -1;
	fprintf(f,
	    "def request(flow):\n"
	    "    flow.request.headers[\"Authorization\"] = "
	    "\"Bearer %s\"\n",
	    BENCH_SECRET);
	fclose(f);
	snprintf(portbuf, sizeof(portbuf), "%u", port);
	snprintf(confopt, sizeof(confopt), "confdir=%s/mitm", tmpdir);
	snprintf(
	    caopt, sizeof(caopt), "ssl_verify_upstream_trusted_ca=%s", ca_path);
	i = 0;
	argv[i++] = "mitmdump";
	argv[i++] = "--listen-host";
	argv[i++] = "127.0.0.1";
	argv[i++] = "--listen-port";
	argv[i++] = portbuf;
	argv[i++] = "--set";
	argv[i++] = confopt;
	argv[i++] = "--set";
	argv[i++] = caopt;
	argv[i++] = "--set";
	argv[i++] = "http2=false";
	argv[i++] = "-q";
	argv[i++] = "-s";
	argv[i++] = addon;
	argv[i] = NULL;
	if (posix_spawnp(&pid, "mitmdump", NULL, NULL, argv, environ) != 0)
		return -1;
	/* wait for its CA and its port */
	snprintf(pem, sizeof(pem), "%s/mitm/mitmproxy-ca-cert.pem", tmpdir);
	for (i = 0; i < 200; i++) {
		if (stat(pem, &st) == 0 && (fd = tcp_connect(0, port)) >= 0) {
			close(fd);
			break;
		}
		usleep(50000);
	}
	if (i == 200 || (f = fopen(pem, "r")) == NULL) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	*ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return *ca != NULL ? pid : -1;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int
main(int argc, char **argv)
{
	static const int conn_levels_default[] = {1, 8};
	double seconds = 3.0;
	int conn_levels[2] = {conn_levels_default[0], conn_levels_default[1]};
	int nlevels = 2, want_mitm = 1, ch, i, m, lfd, only = -1, first;
	struct result res[NMODES][2];
	struct proxy_ident_table *ids = NULL;
	struct proxy_ident *id = NULL;
	struct policy *pol = NULL;
	struct addr_allowlist allow;
	struct proxy_config cfg;
	struct proxy *px = NULL;
	X509 *mitm_ca = NULL;
	pid_t mitm = -1;
	uint16_t mitm_port = 0;
	char doc[512], err[POLICY_ERR_MAX];
	pthread_t up_th;
	EVP_PKEY *k;
	X509 *x;

	while ((ch = getopt(argc, argv, "d:c:o:M")) != -1) {
		switch (ch) {
		case 'd':
			seconds = strtod(optarg, NULL);
			break;
		case 'c':
			conn_levels[0] = (int)strtol(optarg, NULL, 10);
			nlevels = 1;
			break;
		case 'M':
			want_mitm = 0;
			break;
		case 'o':
			for (m = 0; m < NMODES; m++)
				if (strcmp(optarg, mode_names[m]) == 0)
					only = m;
			if (only < 0) {
				fprintf(stderr, "proxy_bench: no mode %s\n",
				    optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr,
			    "usage: proxy_bench [-d s] [-c n] "
			    "[-o mode] [-M]\n");
			return 2;
		}
	}
	if (seconds <= 0 || seconds > 600 || conn_levels[0] < 1 ||
	    conn_levels[0] > 64) {
		fprintf(stderr, "proxy_bench: bad arguments\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL)
		return 1;
	memset(res, 0, sizeof(res));

	/* PKI, upstream */
	ca_key = EVP_EC_gen("P-256");
	ica_key = EVP_EC_gen("P-256");
	ca_cert = cert_make(ca_key, "bench upstream CA", NULL, 1, NULL, ca_key);
	ica_cert =
	    cert_make(ica_key, "bench interception CA", NULL, 1, NULL, ica_key);
	k = EVP_EC_gen("P-256");
	x = cert_make(k, "127.0.0.1", "IP:127.0.0.1", 0, ca_cert, ca_key);
	snprintf(ca_path, sizeof(ca_path), "%s/upstream-ca.pem", tmpdir);
	up_ctx = SSL_CTX_new(TLS_server_method());
	if (ca_cert == NULL || ica_cert == NULL || x == NULL ||
	    pem_write(ca_path, ca_cert) != 0 ||
	    SSL_CTX_use_certificate(up_ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(up_ctx, k) != 1 ||
	    (lfd = listen_local(&up_port)) < 0 ||
	    pthread_create(&up_th, NULL, up_main, (void *)(intptr_t)lfd) != 0) {
		fprintf(stderr, "proxy_bench: upstream set-up failed\n");
		return 1;
	}
	X509_free(x);
	EVP_PKEY_free(k);

	/* Petri's proxy */
	snprintf(doc, sizeof(doc),
	    "{\"name\": \"bench\", \"allow\": [{\"host\": \"127.0.0.1\", "
	    "\"scheme\": \"https\", \"port\": %u, \"methods\": [\"GET\"], "
	    "\"paths\": [\"/v1/\"]}], \"limits\": {\"rate_per_host\": 10000,"
	    " \"max_requests\": 1000000, \"max_bytes_out\": 4294967296}}",
	    up_port);
	addr_allowlist_init(&allow);
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen_addr = "127.0.0.1";
	cfg.keeper.leaf_sign = k_leaf_sign;
	cfg.keeper.cred_get = k_cred_get;
	cfg.keeper.report = k_report;
	cfg.allow = &allow;
	cfg.upstream_ca_file = ca_path;
	cfg.no_system_roots = 1;
	if (addr_allowlist_add(&allow, "127.0.0.1") != 0 ||
	    proxy_ident_table_new(&ids) != 0) {
		fprintf(stderr, "proxy_bench: proxy set-up failed\n");
		return 1;
	}
	/* One sandbox per client connection, as many sandboxes would be:
	 * a policy caps one sandbox's requests to a host per second. */
	for (i = 0; i < 64; i++) {
		char sb[32], src[32];

		snprintf(sb, sizeof(sb), "sb_bench%d", i);
		snprintf(src, sizeof(src), "127.0.0.%d", BENCH_SRC0 + i);
		if (policy_parse(
		        doc, strlen(doc), NULL, &pol, err, sizeof(err)) != 0 ||
		    proxy_ident_new(sb, src, BENCH_TOKEN, pol,
		        (const struct proxy_secret_ref[]){{"bench", "", ""}}, 1,
		        &id) != 0 ||
		    proxy_ident_table_add(ids, id) != 0) {
			fprintf(stderr, "proxy_bench: proxy set-up failed\n");
			return 1;
		}
	}
	cfg.idents = ids;
	if (proxy_new(&cfg, &px) != 0 || proxy_start(px) != 0) {
		fprintf(stderr, "proxy_bench: proxy start failed\n");
		return 1;
	}

	/* mitmproxy, when installed */
	if (want_mitm && (only < 0 || only == MODE_MITM) &&
	    (lfd = listen_local(&mitm_port)) >= 0) {
		close(lfd);
		mitm = mitm_start(mitm_port, &mitm_ca);
		if (mitm < 0)
			fprintf(stderr,
			    "proxy_bench: mitmdump not available, "
			    "skipped\n");
	}

	for (i = 0; i < nlevels; i++) {
		if (only < 0 || only == MODE_DIRECT)
			res[MODE_DIRECT][i] = run(
			    MODE_DIRECT, conn_levels[i], seconds, 0, ca_cert);
		if (only < 0 || only == MODE_PETRI)
			res[MODE_PETRI][i] = run(MODE_PETRI, conn_levels[i],
			    seconds, proxy_port(px), ica_cert);
		if (mitm > 0)
			res[MODE_MITM][i] = run(MODE_MITM, conn_levels[i],
			    seconds, mitm_port, mitm_ca);
	}

	fprintf(stderr, "%-10s %6s %12s %10s %10s\n", "mode", "conns",
	    "requests/s", "p50 us", "p99 us");
	printf("{\"bench\": \"proxy\", \"seconds\": %.1f, \"results\": [",
	    seconds);
	first = 1;
	for (i = 0; i < nlevels; i++)
		for (m = 0; m < NMODES; m++) {
			struct result *r = &res[m][i];

			if (!r->ok)
				continue;
			fprintf(stderr, "%-10s %6d %12.0f %10.0f %10.0f\n",
			    mode_names[m], conn_levels[i], r->rps, r->p50,
			    r->p99);
			printf("%s{\"mode\": \"%s\", \"conns\": %d, \"rps\": "
			       "%.0f, "
			       "\"p50_us\": %.0f, \"p99_us\": %.0f}",
			    first ? "" : ", ", mode_names[m], conn_levels[i],
			    r->rps, r->p50, r->p99);
			first = 0;
		}
	printf("], \"summary\": [");
	first = 1;
	for (i = 0; i < nlevels; i++) {
		struct result *d = &res[MODE_DIRECT][i],
		              *p = &res[MODE_PETRI][i], *t = &res[MODE_MITM][i];

		if (!d->ok || !p->ok)
			continue;
		fprintf(stderr, "conns %d: petri adds p50 %.0f us, p99 %.0f us",
		    conn_levels[i], p->p50 - d->p50, p->p99 - d->p99);
		printf("%s{\"conns\": %d, \"petri_added_p50_us\": %.0f, "
		       "\"petri_added_p99_us\": %.0f",
		    first ? "" : ", ", conn_levels[i], p->p50 - d->p50,
		    p->p99 - d->p99);
		if (t->ok) {
			fprintf(stderr,
			    "; mitmproxy adds p50 %.0f us; petri/mitmproxy "
			    "throughput %.1fx",
			    t->p50 - d->p50, p->rps / t->rps);
			printf(", \"mitmproxy_added_p50_us\": %.0f, "
			       "\"petri_vs_mitmproxy_rps\": %.1f",
			    t->p50 - d->p50, p->rps / t->rps);
		}
		fprintf(stderr, "\n");
		printf("}");
		first = 0;
	}
	printf("]}\n");

	if (mitm > 0) {
		kill(mitm, SIGTERM);
		waitpid(mitm, NULL, 0);
	}
	X509_free(mitm_ca);
	proxy_free(px);
	proxy_ident_table_free(ids);
	(void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
