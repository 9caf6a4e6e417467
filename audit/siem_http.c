/*
 * siem_http.c: the HTTPS transports, with libcurl: Splunk HTTP Event
 * Collector (POST <url>/services/collector/event, "Authorization: Splunk
 * <token>", a batch of event objects per request, optional indexer
 * acknowledgement polled on /services/collector/ack) and the webhook (POST
 * of a JSON array with "X-Petri-Signature: sha256=<hex HMAC-SHA256 of the
 * body>").  HTTPS only, peer and host verified, TLS 1.2 or newer, no
 * redirects, no proxies from the environment, timeouts on everything,
 * answers capped at SIEM_REPLY_MAX.  A batch is accepted on a 2xx answer
 * (HEC: code 0, and with ack on, once its ackId is acknowledged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "audit_bounds.h"
#include "http_out.h"
#include "log.h"
#include "siem_int.h"
#include "util.h"

#define HEC_PATH "/services/collector"
#define ACK_POLL_MIN_MS 100
#define ACK_POLL_MAX_MS 5000
#define UA "petri/" SIEM_VERSION

struct http_tp {
	CURL *curl;
	struct curl_slist *hdrs; /* fixed headers (HEC: with the token) */
	unsigned char *secret; /* token or HMAC key, sodium_malloc'd */
	size_t secret_len;
	unsigned char *keypem; /* client key PEM, sodium_malloc'd */
	size_t keylen;
	char url[SIEM_URL_MAX + 64];
	char ack_url[SIEM_URL_MAX + 128];
	char channel[37]; /* HEC request channel (a UUID) */
	struct buf reply;
	char errbuf[CURL_ERROR_SIZE];
};

static int
on_progress(
    void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return siem_stopping(arg) ? 1 : 0;
}

/* Printable ASCII of an answer, for an error message. */
static void
reply_text(const struct buf *b, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < b->len && o + 1 < outlen && o < 120; i++)
		out[o++] = b->data[i] >= 32 && b->data[i] < 127
		    ? (char)b->data[i]
		    : ' ';
	out[o] = '\0';
}

/* One POST; *status gets the HTTP status.  0 or an error with err set. */
static int
http_post(struct siem_sink *sk, const char *url, struct curl_slist *hdrs,
    const void *p, size_t len, long *status, char *err, size_t errlen)
{
	struct http_tp *t = sk->tpdata;
	CURLcode rc;

	*status = 0;
	buf_reset(&t->reply);
	t->errbuf[0] = '\0';
	curl_easy_setopt(t->curl, CURLOPT_URL, url);
	curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, p);
	curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(t->curl);
	curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
	if (rc != CURLE_OK) {
		if (siem_stopping(sk))
			return PETRI_ERR_STATE;
		jsonv_err_set(err, errlen, "POST %s: %s", sk->target,
		    t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(rc));
		return rc == CURLE_OPERATION_TIMEDOUT ? PETRI_ERR_TIMEOUT
		                                      : PETRI_ERR_UNAVAIL;
	}
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* --- HEC ------------------------------------------------------------------- */

/* Polls the ack endpoint until ack_id is acknowledged or time runs out. */
static int
hec_ack_wait(struct siem_sink *sk, int64_t ack_id, char *err, size_t errlen)
{
	struct http_tp *t = sk->tpdata;
	int64_t deadline = petri_mono_ms() + sk->cfg.ack_timeout_ms;
	char body[64], text[128];
	long status;
	int wait = ACK_POLL_MIN_MS, acked = 0, n, r;

	n = snprintf(
	    body, sizeof(body), "{\"acks\":[%lld]}", (long long)ack_id);
	for (;;) {
		if (siem_sleep(sk, wait) != 0)
			return PETRI_ERR_STATE;
		if ((r = http_post(sk, t->ack_url, t->hdrs, body, (size_t)n,
		         &status, err, errlen)) != 0)
			return r;
		if (status != 200) {
			reply_text(&t->reply, text, sizeof(text));
			jsonv_err_set(err, errlen,
			    "HEC ack query answered %ld: %s", status, text);
			return PETRI_ERR_UNAVAIL;
		}
		if (siem_hec_ack_parse(
		        t->reply.data, t->reply.len, ack_id, &acked) != 0) {
			jsonv_err_set(
			    err, errlen, "HEC ack query: unexpected answer");
			return PETRI_ERR_PROTO;
		}
		if (acked)
			return 0;
		if (petri_mono_ms() + wait > deadline) {
			jsonv_err_set(err, errlen,
			    "HEC: ackId %lld not acknowledged within %d ms",
			    (long long)ack_id, sk->cfg.ack_timeout_ms);
			return PETRI_ERR_TIMEOUT;
		}
		wait = wait * 2 > ACK_POLL_MAX_MS ? ACK_POLL_MAX_MS : wait * 2;
	}
}

static int
hec_send(struct siem_sink *sk, const unsigned char *p, size_t len,
    uint64_t first, size_t count, char *err, size_t errlen)
{
	struct http_tp *t = sk->tpdata;
	char text[128];
	int64_t ack_id;
	long status;
	int code, r;

	(void)first;
	(void)count;
	if ((r = http_post(
	         sk, t->url, t->hdrs, p, len, &status, err, errlen)) != 0)
		return r;
	if (siem_hec_reply_parse(t->reply.data, t->reply.len, &code, &ack_id) !=
	    0)
		code = -1;
	if (status != 200 || code != 0) {
		reply_text(&t->reply, text, sizeof(text));
		jsonv_err_set(err, errlen, "HEC answered %ld (code %d): %s",
		    status, code, text);
		return status == 429 || status >= 500 ? PETRI_ERR_UNAVAIL
		                                      : PETRI_ERR_PROTO;
	}
	if (!sk->cfg.ack)
		return 0;
	if (ack_id < 0) {
		jsonv_err_set(err, errlen,
		    "HEC gave no ackId: is indexer acknowledgement enabled "
		    "on the token?");
		return PETRI_ERR_PROTO;
	}
	return hec_ack_wait(sk, ack_id, err, errlen);
}

/* --- webhook --------------------------------------------------------------- */

static int
webhook_send(struct siem_sink *sk, const unsigned char *p, size_t len,
    uint64_t first, size_t count, char *err, size_t errlen)
{
	struct http_tp *t = sk->tpdata;
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[2 * sizeof(mac) + 1], h[192], text[128];
	struct curl_slist *hdrs = NULL, *x;
	long status;
	int r;

	crypto_auth_hmacsha256_init(&st, t->secret, t->secret_len);
	crypto_auth_hmacsha256_update(&st, p, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	petri_hex(mac, sizeof(mac), hex);
	hdrs = t->hdrs; /* appended to below, detached after */
	snprintf(h, sizeof(h), "X-Petri-Signature: sha256=%s", hex);
	x = curl_slist_append(NULL, h);
	snprintf(
	    h, sizeof(h), "X-Petri-Timestamp: %lld", (long long)time(NULL));
	x = x != NULL ? curl_slist_append(x, h) : NULL;
	snprintf(h, sizeof(h), "X-Petri-Seq: %llu-%llu",
	    (unsigned long long)first, (unsigned long long)(first + count - 1));
	x = x != NULL ? curl_slist_append(x, h) : NULL;
	if (x == NULL) {
		jsonv_err_set(err, errlen, "webhook: out of memory");
		return PETRI_ERR_NOMEM;
	}
	/* chain the fixed headers behind the per-request ones */
	{
		struct curl_slist *last = x;

		while (last->next != NULL)
			last = last->next;
		last->next = hdrs;
		r = http_post(sk, t->url, x, p, len, &status, err, errlen);
		last->next = NULL;
	}
	curl_slist_free_all(x);
	if (r != 0)
		return r;
	if (status < 200 || status > 299) {
		reply_text(&t->reply, text, sizeof(text));
		jsonv_err_set(
		    err, errlen, "webhook answered %ld: %s", status, text);
		return status == 429 || status >= 500 ? PETRI_ERR_UNAVAIL
		                                      : PETRI_ERR_PROTO;
	}
	return 0;
}

/* --- set-up ---------------------------------------------------------------- */

static void
uuid4(char out[37])
{
	unsigned char u[16];
	char hex[33];

	randombytes_buf(u, sizeof(u));
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	petri_hex(u, sizeof(u), hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

/* The HEC event and ack URLs from the configured one. */
static int
hec_urls(struct http_tp *t, const char *url)
{
	const char *path = strchr(url + 8, '/'), *svc;
	size_t n;

	if (path == NULL || strcmp(path, "/") == 0) {
		n = path != NULL ? (size_t)(path - url) : strlen(url);
		if ((size_t)snprintf(t->url, sizeof(t->url),
		        "%.*s" HEC_PATH "/event", (int)n,
		        url) >= sizeof(t->url) ||
		    (size_t)snprintf(t->ack_url, sizeof(t->ack_url),
		        "%.*s" HEC_PATH "/ack?channel=%s", (int)n, url,
		        t->channel) >= sizeof(t->ack_url))
			return PETRI_ERR_TOOBIG;
		return 0;
	}
	if (petri_strlcpy(t->url, url, sizeof(t->url)) >= sizeof(t->url))
		return PETRI_ERR_TOOBIG;
	n = (svc = strstr(path, HEC_PATH)) != NULL
	    ? (size_t)(svc - url) + strlen(HEC_PATH)
	    : (size_t)(path - url);
	if ((size_t)snprintf(t->ack_url, sizeof(t->ack_url),
	        "%.*s%s/ack?channel=%s", (int)n, url,
	        svc != NULL ? "" : HEC_PATH, t->channel) >= sizeof(t->ack_url))
		return PETRI_ERR_TOOBIG;
	return 0;
}

static void
http_fini(struct siem_sink *sk)
{
	struct http_tp *t = sk->tpdata;
	struct curl_slist *h;

	if (t == NULL)
		return;
	if (t->curl != NULL)
		curl_easy_cleanup(t->curl);
	/* the token lives in a header copy too: wipe it before freeing */
	for (h = t->hdrs; h != NULL; h = h->next)
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(t->hdrs);
	if (t->secret != NULL)
		sodium_free(t->secret);
	if (t->keypem != NULL)
		sodium_free(t->keypem);
	buf_free(&t->reply);
	free(t);
	sk->tpdata = NULL;
}

/* The sink's secret, client key and URL(s); messages name the sink. */
static int
http_files_load(
    struct siem_sink *sk, struct http_tp *t, char *err, size_t errlen)
{
	const struct siem_sink_cfg *c = &sk->cfg;
	int r;

	if ((r = siem_secret_read(c->secret_file, SIEM_SECRET_MAX, &t->secret,
	         &t->secret_len)) != 0) {
		jsonv_err_set(err, errlen, "sink %s: cannot read %s %s: %s",
		    c->name,
		    c->type == SIEM_HEC ? "token_file" : "hmac_key_file",
		    c->secret_file, petri_strerror(r));
		return r;
	}
	if (c->type == SIEM_WEBHOOK && t->secret_len < SIEM_HMAC_MIN) {
		jsonv_err_set(err, errlen,
		    "sink %s: hmac_key_file must hold at least %d bytes",
		    c->name, SIEM_HMAC_MIN);
		return PETRI_ERR_INVAL;
	}
	if (c->key_file[0] != '\0' &&
	    (r = siem_secret_read(
	         c->key_file, SIEM_KEYFILE_MAX, &t->keypem, &t->keylen)) != 0) {
		jsonv_err_set(err, errlen,
		    "sink %s: cannot read key_file %s: %s", c->name,
		    c->key_file, petri_strerror(r));
		return r;
	}
	if (c->type == SIEM_HEC) {
		if (strpbrk((const char *)t->secret, "\r\n") != NULL) {
			jsonv_err_set(err, errlen,
			    "sink %s: token_file must hold one line", c->name);
			return PETRI_ERR_INVAL;
		}
		r = hec_urls(t, c->url);
	} else
		r = petri_strlcpy(t->url, c->url, sizeof(t->url)) >=
		        sizeof(t->url)
		    ? PETRI_ERR_TOOBIG
		    : 0;
	if (r != 0)
		jsonv_err_set(err, errlen, "sink %s: url too long", c->name);
	return r;
}

/* The fixed headers; the HEC token goes through sodium memory only. */
static int
http_headers_make(struct siem_sink *sk, struct http_tp *t)
{
	char *auth, h[64 + AUDIT_ORIGIN_MAX];
	size_t alen;

	if (sk->cfg.type == SIEM_HEC) {
		alen = strlen("Authorization: Splunk ") + t->secret_len + 1;
		if ((auth = sodium_malloc(alen)) == NULL)
			return PETRI_ERR_NOMEM;
		snprintf(auth, alen, "Authorization: Splunk %s",
		    (const char *)t->secret);
		t->hdrs = curl_slist_append(NULL, auth);
		sodium_free(auth);
		snprintf(
		    h, sizeof(h), "X-Splunk-Request-Channel: %s", t->channel);
		if (t->hdrs != NULL)
			t->hdrs = curl_slist_append(t->hdrs, h);
	} else {
		snprintf(h, sizeof(h), "X-Petri-Origin: %s", siem_origin(sk));
		t->hdrs = curl_slist_append(NULL, h);
	}
	if (t->hdrs == NULL ||
	    (t->hdrs = curl_slist_append(
	         t->hdrs, "Content-Type: application/json")) == NULL ||
	    (t->hdrs = curl_slist_append(t->hdrs, "Expect:")) == NULL)
		return PETRI_ERR_NOMEM;
	return 0;
}

/*
 * The handle: https only, verified, no redirect or proxy, TLS 1.2 or
 * later, the sink's timeouts, optional client certificate.
 */
static int
http_curl_make(struct siem_sink *sk, struct http_tp *t)
{
	const struct siem_sink_cfg *c = &sk->cfg;
	const struct http_out_cfg hc = {
	    .protocols = "https",
	    .connect_timeout_ms = (long)c->timeout_ms,
	    .timeout_ms = (long)c->timeout_ms,
	    .keepalive = 1,
	    .user_agent = UA,
	    .reply = &t->reply,
	    .progress = on_progress,
	    .progress_arg = sk,
	};
	struct curl_blob blob;

	if ((t->curl = http_out_new(&hc)) == NULL)
		return PETRI_ERR_NOMEM;
	curl_easy_setopt(
	    t->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file[0] != '\0')
		curl_easy_setopt(t->curl, CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file[0] != '\0') {
		blob.data = t->keypem;
		blob.len = t->keylen;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(t->curl, CURLOPT_SSLCERT, c->cert_file);
		curl_easy_setopt(t->curl, CURLOPT_SSLKEYTYPE, "PEM");
		curl_easy_setopt(t->curl, CURLOPT_SSLKEY_BLOB, &blob);
	}
	curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, t->errbuf);
	return 0;
}

static int
http_init(struct siem_sink *sk, char *err, size_t errlen)
{
	struct http_tp *t;
	int r;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PETRI_ERR_NOMEM;
	sk->tpdata = t;
	buf_init(&t->reply, SIEM_REPLY_MAX);
	uuid4(t->channel);
	if ((r = http_files_load(sk, t, err, errlen)) != 0 ||
	    (r = http_headers_make(sk, t)) != 0)
		return r;
	return http_curl_make(sk, t);
}

const struct siem_transport siem_hec_transport = {
    http_init,
    hec_send,
    NULL,
    http_fini,
};

const struct siem_transport siem_webhook_transport = {
    http_init,
    webhook_send,
    NULL,
    http_fini,
};
