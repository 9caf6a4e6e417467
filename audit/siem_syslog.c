/*
 * siem_syslog.c: the syslog transport: RFC 5424 messages with RFC 6587
 * octet counting over TCP, or over TLS (RFC 5425) with OpenSSL: TLS 1.2 or
 * newer, the server's certificate verified against ca_file (or the system
 * store) and its name against server_name (SNI sent for names), an
 * optional client certificate.
 *
 * Syslog has no application acknowledgement, so each batch is one
 * session: connect, send every frame, then close our side (TLS
 * close_notify, then a TCP half-close: syslog_send) and wait for the
 * receiver to close its side (syslog_confirm; the sink renders its next
 * batch meanwhile).  A receiver closes only after it has read everything before
 * our close, so a clean end of stream means the whole batch was taken;
 * a reset, an error or a timeout means the batch is sent again.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "siem_int.h"
#include "util.h"

/* Waits for events on fd until deadline (monotonic ms), checking stop. */
static int
wait_fd(const struct siem_sink *sk, int fd, short events, int64_t deadline)
{
	struct pollfd p;
	int64_t left;
	int n;

	for (;;) {
		if (siem_stopping(sk))
			return PETRI_ERR_STATE;
		if ((left = deadline - petri_mono_ms()) <= 0)
			return PETRI_ERR_TIMEOUT;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		n = poll(&p, 1, left < SIEM_POLL_MS ? (int)left : SIEM_POLL_MS);
		if (n < 0 && errno != EINTR)
			return PETRI_ERR_IO;
		if (n > 0)
			return 0;
	}
}

/* A non-blocking TCP connection to host:port, or -1 with err set. */
static int
tcp_connect(
    const struct siem_sink *sk, int64_t deadline, char *err, size_t errlen)
{
	const struct siem_sink_cfg *c = &sk->cfg;
	struct addrinfo hints, *res = NULL, *ai;
	socklen_t sl;
	int fd = -1, e = 0, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(c->host, c->port, &hints, &res)) != 0) {
		jsonv_err_set(err, errlen, "cannot resolve %s: %s", c->host,
		    gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (e == EINPROGRESS) {
			if ((r = wait_fd(sk, fd, POLLOUT, deadline)) != 0) {
				e = r == PETRI_ERR_TIMEOUT ? ETIMEDOUT
				                           : ECANCELED;
				close(fd);
				fd = -1;
				continue;
			}
			sl = sizeof(e);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) ==
			        0 &&
			    e == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		jsonv_err_set(
		    err, errlen, "connect to %s: %s", sk->target, strerror(e));
	return fd;
}

/* OpenSSL's reason for the last failure (no secret can be in it). */
static void
tls_reason(SSL *ssl, char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	long v;

	buf[0] = '\0';
	if (ssl != NULL && (v = SSL_get_verify_result(ssl)) != X509_V_OK)
		snprintf(buf, len, "certificate verification failed: %s",
		    X509_verify_cert_error_string(v));
	else if (e != 0)
		ERR_error_string_n(e, buf, len);
	else
		petri_strlcpy(buf, "connection closed", len);
	ERR_clear_error();
}

/* Runs one SSL call until it completes, waiting on the socket as asked. */
static int
tls_wait(const struct siem_sink *sk, SSL *ssl, int fd, int rc, int64_t deadline)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(sk, fd, POLLIN, deadline);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(sk, fd, POLLOUT, deadline);
	default:
		return PETRI_ERR_IO;
	}
}

static int
tls_start(const struct siem_sink *sk, SSL_CTX *ctx, int fd, SSL **sslp,
    int64_t deadline, char *err, size_t errlen)
{
	const struct siem_sink_cfg *c = &sk->cfg;
	unsigned char addr[16];
	char why[256];
	SSL *ssl;
	int rc, r, ip;

	*sslp = NULL;
	ERR_clear_error();
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		jsonv_err_set(err, errlen, "TLS: out of memory");
		return PETRI_ERR_NOMEM;
	}
	ip = inet_pton(AF_INET, c->server_name, addr) == 1 ||
	    inet_pton(AF_INET6, c->server_name, addr) == 1;
	if (ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(
		        SSL_get0_param(ssl), c->server_name) != 1)
			goto bad;
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set_tlsext_host_name(ssl, c->server_name) != 1 ||
		    SSL_set1_host(ssl, c->server_name) != 1)
			goto bad;
	}
	while ((rc = SSL_connect(ssl)) != 1) {
		if ((r = tls_wait(sk, ssl, fd, rc, deadline)) != 0) {
			if (r == PETRI_ERR_IO) {
				tls_reason(ssl, why, sizeof(why));
				jsonv_err_set(err, errlen,
				    "TLS handshake with %s: %s", sk->target,
				    why);
				r = PETRI_ERR_CRYPTO;
			} else
				jsonv_err_set(err, errlen,
				    "TLS handshake with %s: %s", sk->target,
				    petri_strerror(r));
			SSL_free(ssl);
			return r;
		}
	}
	*sslp = ssl;
	return 0;
bad:
	SSL_free(ssl);
	jsonv_err_set(
	    err, errlen, "TLS: cannot set the server name %s", c->server_name);
	return PETRI_ERR_CRYPTO;
}

/* Writes all of p; progress pushes the deadline forward. */
static int
send_all(const struct siem_sink *sk, int fd, SSL *ssl, const unsigned char *p,
    size_t len, char *err, size_t errlen)
{
	int64_t deadline = petri_mono_ms() + sk->cfg.timeout_ms;
	size_t off = 0;
	ssize_t n;
	char why[256];
	int rc, r;

	while (off < len) {
		size_t chunk = len - off > (1U << 30) ? (1U << 30) : len - off;

		if (ssl != NULL) {
			ERR_clear_error();
			rc = SSL_write(ssl, p + off, (int)chunk);
			if (rc > 0) {
				off += (size_t)rc;
				deadline = petri_mono_ms() + sk->cfg.timeout_ms;
				continue;
			}
			if ((r = tls_wait(sk, ssl, fd, rc, deadline)) != 0) {
				if (r == PETRI_ERR_IO) {
					tls_reason(ssl, why, sizeof(why));
					jsonv_err_set(err, errlen,
					    "send to %s: %s", sk->target, why);
				} else
					jsonv_err_set(err, errlen,
					    "send to %s: %s", sk->target,
					    petri_strerror(r));
				return r;
			}
			continue;
		}
		n = send(fd, p + off, chunk, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			deadline = petri_mono_ms() + sk->cfg.timeout_ms;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = wait_fd(sk, fd, POLLOUT, deadline)) != 0) {
				jsonv_err_set(err, errlen, "send to %s: %s",
				    sk->target, petri_strerror(r));
				return r;
			}
			continue;
		}
		jsonv_err_set(
		    err, errlen, "send to %s: %s", sk->target, strerror(errno));
		return PETRI_ERR_IO;
	}
	return 0;
}

/*
 * After the receiver's end of stream: its close must not have crossed our
 * last bytes.  A receiver that closed before they arrived answers them
 * with a reset (they were never read); one that closed after reading
 * everything leaves the connection closed without an error.  Waits for
 * the connection to close, then checks for a reset.
 */
static int
session_confirmed(const struct siem_sink *sk, int fd, int64_t deadline,
    char *err, size_t errlen)
{
	struct tcp_info ti;
	socklen_t len;
	int e = 0;

	for (;;) {
		len = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
			break;
		if (ti.tcpi_state == TCP_CLOSE)
			break;
		if (siem_stopping(sk) || petri_mono_ms() >= deadline) {
			jsonv_err_set(err, errlen,
			    "%s did not acknowledge the end of the session",
			    sk->target);
			return PETRI_ERR_TIMEOUT;
		}
		usleep(1000);
	}
	len = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0 || e != 0) {
		jsonv_err_set(err, errlen,
		    "%s closed the session before reading all of it: %s",
		    sk->target, strerror(e != 0 ? e : errno));
		return PETRI_ERR_IO;
	}
	return 0;
}

/* The state of a syslog sink: its TLS context and the open session. */
struct syslog_tp {
	SSL_CTX *ctx; /* NULL without TLS */
	int fd; /* the session between send and confirm, or -1 */
	SSL *ssl;
};

static void
session_free(struct syslog_tp *t)
{
	SSL_free(t->ssl);
	t->ssl = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* Closes our side: TLS close_notify, then a TCP half-close. */
static int
session_close_write(
    const struct siem_sink *sk, int fd, SSL *ssl, char *err, size_t errlen)
{
	int64_t deadline = petri_mono_ms() + sk->cfg.timeout_ms;
	int rc, r;

	if (ssl != NULL) {
		ERR_clear_error();
		while ((rc = SSL_shutdown(ssl)) < 0) {
			if (SSL_get_error(ssl, rc) != SSL_ERROR_WANT_WRITE)
				break; /* the read side is handled by confirm */
			if ((r = wait_fd(sk, fd, POLLOUT, deadline)) != 0) {
				jsonv_err_set(err, errlen, "close %s: %s",
				    sk->target, petri_strerror(r));
				return r;
			}
		}
		ERR_clear_error();
	}
	if (shutdown(fd, SHUT_WR) != 0) {
		jsonv_err_set(
		    err, errlen, "close %s: %s", sk->target, strerror(errno));
		return PETRI_ERR_IO;
	}
	return 0;
}

/*
 * Reads until the receiver closes its side.  0 only for a clean end of
 * stream after every byte was taken (session_confirmed).
 */
static int
session_wait(const struct siem_sink *sk, int fd, char *err, size_t errlen)
{
	int64_t deadline = petri_mono_ms() + sk->cfg.timeout_ms;
	unsigned char junk[4096];
	ssize_t n;
	int r;

	for (;;) {
		n = read(fd, junk, sizeof(junk));
		if (n == 0)
			return session_confirmed(sk, fd, deadline, err, errlen);
		if (n > 0)
			continue; /* TLS records, or nothing of interest */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			jsonv_err_set(err, errlen,
			    "%s closed the session before reading all of "
			    "it: %s",
			    sk->target, strerror(errno));
			return PETRI_ERR_IO;
		}
		if ((r = wait_fd(sk, fd, POLLIN, deadline)) != 0) {
			jsonv_err_set(err, errlen,
			    "%s did not confirm the session: %s", sk->target,
			    petri_strerror(r));
			return r;
		}
	}
}

/*
 * Connects, sends the whole batch and closes our side; the session stays
 * open for syslog_confirm().
 */
static int
syslog_send(struct siem_sink *sk, const unsigned char *p, size_t len,
    uint64_t first, size_t count, char *err, size_t errlen)
{
	struct syslog_tp *t = sk->tpdata;
	int r;

	(void)first;
	(void)count;
	session_free(t);
	if ((t->fd = tcp_connect(
	         sk, petri_mono_ms() + sk->cfg.timeout_ms, err, errlen)) < 0)
		return PETRI_ERR_UNAVAIL;
	if (t->ctx != NULL &&
	    (r = tls_start(sk, t->ctx, t->fd, &t->ssl,
	         petri_mono_ms() + sk->cfg.timeout_ms, err, errlen)) != 0)
		goto fail;
	if ((r = send_all(sk, t->fd, t->ssl, p, len, err, errlen)) != 0 ||
	    (r = session_close_write(sk, t->fd, t->ssl, err, errlen)) != 0)
		goto fail;
	return 0;
fail:
	session_free(t);
	return r;
}

/* Waits for the receiver to end the session cleanly; ends it anyway. */
static int
syslog_confirm(struct siem_sink *sk, char *err, size_t errlen)
{
	struct syslog_tp *t = sk->tpdata;
	int r;

	if (t->fd < 0) {
		jsonv_err_set(err, errlen, "no session to confirm");
		return PETRI_ERR_STATE;
	}
	r = session_wait(sk, t->fd, err, errlen);
	session_free(t);
	return r;
}

/* Never prompts for a pass phrase: encrypted keys are refused. */
static int
no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1;
}

static int
syslog_init(struct siem_sink *sk, char *err, size_t errlen)
{
	const struct siem_sink_cfg *c = &sk->cfg;
	struct syslog_tp *t;
	unsigned char *pem = NULL;
	EVP_PKEY *pkey = NULL;
	SSL_CTX *ctx = NULL;
	BIO *bio = NULL;
	char why[256];
	size_t len;
	int r = PETRI_ERR_CRYPTO;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PETRI_ERR_NOMEM;
	t->fd = -1;
	sk->tpdata = t;
	if (!c->tls)
		return 0;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		jsonv_err_set(
		    err, errlen, "sink %s: cannot set up TLS", c->name);
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_options(
	    ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (c->ca_file[0] != '\0'
	        ? SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1
	        : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_reason(NULL, why, sizeof(why));
		jsonv_err_set(err, errlen,
		    "sink %s: cannot load ca_file %s: %s", c->name, c->ca_file,
		    why);
		goto out;
	}
	if (c->cert_file[0] != '\0') {
		if (SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) !=
		    1) {
			tls_reason(NULL, why, sizeof(why));
			jsonv_err_set(err, errlen,
			    "sink %s: cannot load cert_file %s: %s", c->name,
			    c->cert_file, why);
			goto out;
		}
		if ((r = siem_secret_read(
		         c->key_file, SIEM_KEYFILE_MAX, &pem, &len)) != 0) {
			jsonv_err_set(err, errlen,
			    "sink %s: cannot read key_file %s: %s", c->name,
			    c->key_file, petri_strerror(r));
			goto out;
		}
		r = PETRI_ERR_CRYPTO;
		if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
		    (pkey = PEM_read_bio_PrivateKey(
		         bio, NULL, no_passphrase, NULL)) == NULL ||
		    SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			jsonv_err_set(err, errlen,
			    "sink %s: key_file %s is not an unencrypted PEM "
			    "key matching cert_file",
			    c->name, c->key_file);
			goto out;
		}
	}
	t->ctx = ctx;
	ctx = NULL;
	r = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	if (pem != NULL)
		sodium_free(pem);
	SSL_CTX_free(ctx);
	return r;
}

static void
syslog_fini(struct siem_sink *sk)
{
	struct syslog_tp *t = sk->tpdata;

	if (t == NULL)
		return;
	session_free(t);
	SSL_CTX_free(t->ctx);
	free(t);
	sk->tpdata = NULL;
}

const struct siem_transport siem_syslog_transport = {
    syslog_init,
    syslog_send,
    syslog_confirm,
    syslog_fini,
};
