/* docker.c: Docker Engine API client over the unix socket (libcurl). */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "bounds.h"
#include "buf.h"
#include "docker.h"
#include "util.h"

#define DOCKER_SUN_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
#define DOCKER_HIJACK_MAX_ERRBODY 8192 /* error body after a failed hijack */

struct docker {
	char sock[DOCKER_SUN_MAX];
	char vpath[16]; /* "/v1.41" */
	char base[64]; /* "http://docker/v1.41" */
	pthread_mutex_t mu; /* guards idle, nidle, st */
	CURL *idle[DOCKER_POOL_MAX];
	size_t nidle;
	struct docker_stats st;
};

struct docker_stream {
	CURL *h; /* CONNECT_ONLY handle owning the socket */
	int fd;
	int writable; /* stdin attached and not yet half-closed */
	int eof; /* dockerd closed its side */
	int err; /* sticky error */
	struct docker_demux dm;
	uint8_t *rbuf; /* DOCKER_STREAM_BUF raw bytes */
	size_t roff, rlen;
};

struct docker_wctx {
	struct buf *b;
	int err;
};

static void docker_err_set(const char *, ...) PETRI_PRINTF(1, 2);
static int docker_pathf(char *, size_t, const char *, ...) PETRI_PRINTF(3, 4);

static pthread_once_t docker_once = PTHREAD_ONCE_INIT;
static CURLcode docker_global_rc = CURLE_FAILED_INIT;
static _Thread_local char docker_err[DOCKER_ERRMSG_MAX];

/* Error messages. */

static void
docker_err_clear(void)
{
	docker_err[0] = '\0';
}

/* Copies n bytes of untrusted text, made safe to log. */
static void
docker_err_setn(const char *p, size_t n)
{
	size_t i;

	if (n > sizeof(docker_err) - 1)
		n = sizeof(docker_err) - 1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		docker_err[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	docker_err[n] = '\0';
}

static void
docker_err_set(const char *fmt, ...)
{
	char tmp[DOCKER_ERRMSG_MAX];
	va_list ap;

	tmp[0] = '\0';
	va_start(ap, fmt);
	(void)vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	docker_err_setn(tmp, strnlen(tmp, sizeof(tmp)));
}

const char *
docker_errmsg(void)
{
	return docker_err;
}

/* Validation of what goes into a URL. */

static int
docker_is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

/* A container or network id or name: [A-Za-z0-9][A-Za-z0-9_.-]*. */
static int
docker_ref_valid(const char *s)
{
	size_t i;

	if (s == NULL || !docker_is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		int ch = (unsigned char)s[i];

		if (i >= DOCKER_NAME_MAX)
			return 0;
		if (!docker_is_alnum(ch) && ch != '_' && ch != '.' && ch != '-')
			return 0;
	}
	return 1;
}

static int
docker_hex64_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

static int
docker_image_ref_valid(const char *s)
{
	size_t i;

	if (s == NULL || !docker_is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		int ch = (unsigned char)s[i];

		if (i >= DOCKER_IMAGE_REF_MAX)
			return 0;
		if (!docker_is_alnum(ch) && ch != '.' && ch != '_' &&
		    ch != '-' && ch != ':' && ch != '/' && ch != '@')
			return 0;
		if ((ch == '.' || ch == '/') && s[i + 1] == ch)
			return 0;
	}
	return s[i - 1] != '/';
}

/*
 * A request path: '/' first, printable ASCII without spaces or '#', and no
 * ".." before the query string.
 */
static int
docker_path_valid(const char *path)
{
	size_t i;
	int query = 0;

	if (path == NULL || path[0] != '/')
		return 0;
	for (i = 0; path[i] != '\0'; i++) {
		int ch = (unsigned char)path[i];

		if (i >= DOCKER_MAX_PATH)
			return 0;
		if (ch <= 0x20 || ch >= 0x7f || ch == '#')
			return 0;
		if (ch == '?')
			query = 1;
		if (!query && ch == '.' && path[i + 1] == '.')
			return 0;
	}
	return 1;
}

static int
docker_timeout_valid(int timeout_ms)
{
	return timeout_ms >= 0 && timeout_ms <= DOCKER_MAX_CALL_MS;
}

/* Appends s percent-encoded (RFC 3986 unreserved characters kept). */
static int
docker_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		char e[3];

		if (docker_is_alnum(ch) || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			if ((r = buf_append(b, s, 1)) != 0)
				return r;
			continue;
		}
		e[0] = '%';
		e[1] = hex[ch >> 4];
		e[2] = hex[ch & 0xf];
		if ((r = buf_append(b, e, 3)) != 0)
			return r;
	}
	return 0;
}

static int
docker_pathf(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen)
		return PETRI_ERR_TOOBIG;
	return 0;
}

/* Client, handle pool. */

static void
docker_global_init(void)
{
	docker_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
docker_new(
    const char *socket_path, const char *api_version, struct docker **out)
{
	struct docker *d = NULL;
	const char *v;
	size_t i;
	int dots = 0, digits = 0, r;

	*out = NULL;
	if (socket_path == NULL)
		socket_path = DOCKER_SOCKET_PATH;
	if (api_version == NULL)
		api_version = DOCKER_API_VERSION;
	if (socket_path[0] != '/' || strlen(socket_path) >= DOCKER_SUN_MAX)
		return PETRI_ERR_INVAL;
	/* "v" digits "." digits, short */
	v = api_version;
	if (v[0] != 'v' || strlen(v) > 8)
		return PETRI_ERR_INVAL;
	for (i = 1; v[i] != '\0'; i++) {
		if (v[i] == '.') {
			if (digits == 0 || dots++ > 0)
				return PETRI_ERR_INVAL;
			digits = 0;
		} else if (v[i] >= '0' && v[i] <= '9')
			digits++;
		else
			return PETRI_ERR_INVAL;
	}
	if (dots != 1 || digits == 0)
		return PETRI_ERR_INVAL;

	if (pthread_once(&docker_once, docker_global_init) != 0 ||
	    docker_global_rc != CURLE_OK)
		return PETRI_ERR_IO;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return PETRI_ERR_NOMEM;
	petri_strlcpy(d->sock, socket_path, sizeof(d->sock));
	if ((r = docker_pathf(d->vpath, sizeof(d->vpath), "/%s", v)) != 0 ||
	    (r = docker_pathf(
	         d->base, sizeof(d->base), "http://docker/%s", v)) != 0) {
		free(d);
		return PETRI_ERR_INVAL;
	}
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		free(d);
		return PETRI_ERR_NOMEM;
	}
	*out = d;
	return 0;
}

void
docker_free(struct docker *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nidle; i++)
		curl_easy_cleanup(d->idle[i]);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

void
docker_stats_get(struct docker *d, struct docker_stats *out)
{
	pthread_mutex_lock(&d->mu);
	*out = d->st;
	pthread_mutex_unlock(&d->mu);
}

/* Borrows the most recently used idle handle (warmest connection). */
static CURL *
docker_handle_get(struct docker *d)
{
	CURL *h = NULL;

	pthread_mutex_lock(&d->mu);
	if (d->nidle > 0)
		h = d->idle[--d->nidle];
	pthread_mutex_unlock(&d->mu);
	if (h == NULL)
		h = curl_easy_init();
	return h;
}

/* Gives a handle back; its connection stays open for the next call. */
static void
docker_handle_put(struct docker *d, CURL *h, long nconnects)
{
	if (h != NULL)
		curl_easy_reset(h); /* keeps the connection cache */
	pthread_mutex_lock(&d->mu);
	d->st.requests++;
	if (nconnects > 0)
		d->st.connects += (unsigned long long)nconnects;
	if (h != NULL && d->nidle < DOCKER_POOL_MAX) {
		d->idle[d->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&d->mu);
	if (h != NULL)
		curl_easy_cleanup(h);
}

/* Options every handle gets, for both requests and hijacks. */
static int
docker_handle_setup(
    struct docker *d, CURL *h, const char *url, long total_ms, char *ebuf)
{
	CURLcode c = CURLE_OK;

#define DOCKER_OPT(o, v)                                                       \
	do {                                                                   \
		if (c == CURLE_OK)                                             \
			c = curl_easy_setopt(h, o, v);                         \
	} while (0)
	DOCKER_OPT(CURLOPT_URL, url);
	DOCKER_OPT(CURLOPT_UNIX_SOCKET_PATH, d->sock);
#if LIBCURL_VERSION_NUM >= 0x075500
	DOCKER_OPT(CURLOPT_PROTOCOLS_STR, "http");
#endif
	DOCKER_OPT(CURLOPT_FOLLOWLOCATION, 0L);
	DOCKER_OPT(CURLOPT_NOSIGNAL, 1L);
	DOCKER_OPT(CURLOPT_PATH_AS_IS, 1L);
	DOCKER_OPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	DOCKER_OPT(CURLOPT_CONNECTTIMEOUT_MS, (long)DOCKER_CONNECT_TIMEOUT_MS);
	DOCKER_OPT(CURLOPT_TIMEOUT_MS, total_ms);
	DOCKER_OPT(CURLOPT_ERRORBUFFER, ebuf);
	DOCKER_OPT(CURLOPT_USERAGENT, "petri");
#undef DOCKER_OPT
	return c == CURLE_OK ? 0 : PETRI_ERR_IO;
}

/* Maps a failed transfer to a PETRI_ERR_* code and records the reason. */
static int
docker_curl_err(CURLcode cc, const char *ebuf)
{
	docker_err_set("%s", ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc));
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return PETRI_ERR_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return PETRI_ERR_UNAVAIL;
	case CURLE_FILESIZE_EXCEEDED:
		return PETRI_ERR_TOOBIG;
	case CURLE_OUT_OF_MEMORY:
		return PETRI_ERR_NOMEM;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_CONTENT_ENCODING:
		return PETRI_ERR_PROTO;
	default:
		return PETRI_ERR_IO;
	}
}

/*
 * Maps an HTTP error status.  409 means "name in use" on a .../create
 * endpoint and "wrong state" everywhere else.
 */
static int
docker_status_err(long status, const char *path)
{
	size_t n;

	if (status == 404)
		return PETRI_ERR_NOTFOUND;
	if (status == 409) {
		n = strcspn(path, "?");
		if (n >= 7 && strncmp(path + n - 7, "/create", 7) == 0)
			return PETRI_ERR_EXISTS;
		return PETRI_ERR_STATE;
	}
	return PETRI_ERR_IO;
}

/* Records the message of an error body: {"message": "..."} or raw text. */
static void
docker_err_from_body(long status, const void *p, size_t n)
{
	json_t *j = NULL, *m;

	if (n > 0)
		j = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && json_is_object(j) &&
	    (m = json_object_get(j, "message")) != NULL && json_is_string(m))
		docker_err_setn(json_string_value(m), json_string_length(m));
	else if (n > 0)
		docker_err_setn(p, n);
	else
		docker_err_set("HTTP status %ld", status);
	json_decref(j);
}

static size_t
docker_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct docker_wctx *w = arg;
	size_t n = size * nmemb;
	int r;

	if ((r = buf_append(w->b, p, n)) != 0) {
		w->err = r;
		return 0;
	}
	return n;
}

/* One HTTP exchange through a pooled handle; reply body into rb. */
static int
docker_perform(struct docker *d, const char *method, const char *path,
    const char *body, size_t bodylen, int timeout_ms, long *status,
    struct buf *rb)
{
	struct curl_slist *hdrs = NULL, *t;
	struct docker_wctx w = {rb, 0};
	char url[sizeof(d->base) + DOCKER_MAX_PATH];
	char ebuf[CURL_ERROR_SIZE];
	CURL *h = NULL;
	CURLcode cc = CURLE_OK;
	long nconn = 0;
	int r;

	*status = 0;
	ebuf[0] = '\0';
	if ((r = docker_pathf(url, sizeof(url), "%s%s", d->base, path)) != 0)
		return PETRI_ERR_INVAL;
	if ((h = docker_handle_get(d)) == NULL)
		return PETRI_ERR_NOMEM;
	if ((r = docker_handle_setup(d, h, url,
	         timeout_ms ? timeout_ms : DOCKER_TIMEOUT_MS, ebuf)) != 0)
		goto out;
	/* JSON, or no Content-Type at all (curl would add a form type) */
	if ((t = curl_slist_append(hdrs,
	         body != NULL ? "Content-Type: application/json"
	                      : "Content-Type:")) == NULL)
		goto nomem;
	hdrs = t;
	/* never wait for "100 Continue" */
	if ((t = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto nomem;
	hdrs = t;
	cc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (cc == CURLE_OK)
		cc =
		    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, docker_write_cb);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(
		    h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)DOCKER_MAX_REPLY);
	if (cc == CURLE_OK && strcmp(method, "GET") == 0)
		cc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (cc == CURLE_OK) {
		if (strcmp(method, "POST") != 0)
			cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (cc == CURLE_OK &&
		    (body != NULL || strcmp(method, "POST") == 0))
			cc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)bodylen);
		if (cc == CURLE_OK &&
		    (body != NULL || strcmp(method, "POST") == 0))
			cc = curl_easy_setopt(
			    h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
	}
	if (cc != CURLE_OK) {
		r = docker_curl_err(cc, ebuf);
		goto out;
	}
	if ((cc = curl_easy_perform(h)) != CURLE_OK) {
		if (cc == CURLE_WRITE_ERROR && w.err != 0) {
			r = w.err;
			docker_err_set("reply over %lu bytes",
			    (unsigned long)DOCKER_MAX_REPLY);
		} else
			r = docker_curl_err(cc, ebuf);
		(void)curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status) != CURLE_OK ||
	    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn) != CURLE_OK) {
		r = PETRI_ERR_IO;
		goto out;
	}
	r = 0;
	goto out;
nomem:
	r = PETRI_ERR_NOMEM;
out:
	docker_handle_put(d, h, nconn);
	curl_slist_free_all(hdrs);
	return r;
}

int
docker_request(struct docker *d, const char *method, const char *path,
    json_t *body, int timeout_ms, long *status, json_t **reply)
{
	struct buf rb;
	json_error_t jerr;
	json_t *j;
	char *text = NULL;
	size_t textlen = 0;
	long code = 0;
	int r;

	docker_err_clear();
	buf_init(&rb, DOCKER_MAX_REPLY);
	if (status != NULL)
		*status = 0;
	if (reply != NULL)
		*reply = NULL;
	if (d == NULL || method == NULL || !docker_path_valid(path) ||
	    !docker_timeout_valid(timeout_ms) ||
	    (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	        strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0) ||
	    (body != NULL && strcmp(method, "GET") == 0)) {
		docker_err_set("invalid request");
		return PETRI_ERR_INVAL;
	}
	if (body != NULL) {
		if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
			docker_err_set("body not serialisable");
			r = PETRI_ERR_INVAL;
			goto out;
		}
		if ((textlen = strlen(text)) > DOCKER_MAX_REPLY) {
			docker_err_set("request body too large");
			r = PETRI_ERR_TOOBIG;
			goto out;
		}
	}
	if ((r = docker_perform(
	         d, method, path, text, textlen, timeout_ms, &code, &rb)) != 0)
		goto out;
	if (status != NULL)
		*status = code;
	if ((code >= 200 && code <= 299) || code == 304) {
		if (reply == NULL || rb.len == 0)
			goto out;
		j = json_loadb((const char *)rb.data, rb.len,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (j == NULL) {
			docker_err_set("malformed JSON reply: %s", jerr.text);
			r = PETRI_ERR_PROTO;
			goto out;
		}
		*reply = j;
	} else if (code >= 400 && code <= 599) {
		docker_err_from_body(code, rb.data, rb.len);
		r = docker_status_err(code, path);
	} else {
		docker_err_set("unexpected HTTP status %ld", code);
		r = PETRI_ERR_PROTO;
	}
out:
	free(text);
	buf_free(&rb);
	return r;
}

/* docker_request() that insists on a JSON object or array reply. */
static int
docker_call(struct docker *d, const char *method, const char *path,
    json_t *body, int timeout_ms, json_type want, json_t **out)
{
	json_t *j = NULL;
	int r;

	if ((r = docker_request(d, method, path, body, timeout_ms, NULL, &j)) !=
	    0)
		return r;
	if (j == NULL || json_typeof(j) != want) {
		docker_err_set("unexpected reply shape");
		json_decref(j);
		return PETRI_ERR_PROTO;
	}
	*out = j;
	return 0;
}

/* Copies a 64-hex "Id" out of a reply object. */
static int
docker_reply_id(json_t *j, char id[DOCKER_ID_MAX])
{
	json_t *v = json_object_get(j, "Id");

	if (v == NULL || !json_is_string(v) ||
	    !docker_hex64_valid(json_string_value(v))) {
		docker_err_set("reply without a valid Id");
		return PETRI_ERR_PROTO;
	}
	petri_strlcpy(id, json_string_value(v), DOCKER_ID_MAX);
	return 0;
}

/* Helpers. */

int
docker_ping(struct docker *d)
{
	return docker_request(
	    d, "GET", "/_ping", NULL, DOCKER_CONNECT_TIMEOUT_MS, NULL, NULL);
}

int
docker_version(struct docker *d, json_t **out)
{
	*out = NULL;
	return docker_call(d, "GET", "/version", NULL, 0, JSON_OBJECT, out);
}

static int
docker_bad_arg(void)
{
	docker_err_set("invalid argument");
	return PETRI_ERR_INVAL;
}

int
docker_container_create(
    struct docker *d, const char *name, json_t *config, char id[DOCKER_ID_MAX])
{
	char path[DOCKER_MAX_PATH];
	json_t *j = NULL;
	int r;

	id[0] = '\0';
	if ((name != NULL && !docker_ref_valid(name)) || config == NULL ||
	    !json_is_object(config))
		return docker_bad_arg();
	if (name != NULL)
		r = docker_pathf(
		    path, sizeof(path), "/containers/create?name=%s", name);
	else
		r = docker_pathf(path, sizeof(path), "/containers/create");
	if (r != 0)
		return docker_bad_arg();
	if ((r = docker_call(d, "POST", path, config, 0, JSON_OBJECT, &j)) != 0)
		return r;
	r = docker_reply_id(j, id);
	json_decref(j);
	return r;
}

/* POST to /containers/{ref}/<what><query> with no body and no reply. */
static int
docker_container_post(struct docker *d, const char *ref, const char *what,
    const char *query, int timeout_ms)
{
	char path[DOCKER_MAX_PATH];

	if (!docker_ref_valid(ref) ||
	    docker_pathf(path, sizeof(path), "/containers/%s/%s%s", ref, what,
	        query) != 0)
		return docker_bad_arg();
	return docker_request(d, "POST", path, NULL, timeout_ms, NULL, NULL);
}

int
docker_container_start(struct docker *d, const char *ref)
{
	return docker_container_post(d, ref, "start", "", 0);
}

int
docker_container_stop(struct docker *d, const char *ref, int timeout_sec)
{
	char q[32];

	if (timeout_sec < 0 || timeout_sec > 3600 ||
	    docker_pathf(q, sizeof(q), "?t=%d", timeout_sec) != 0)
		return docker_bad_arg();
	return docker_container_post(
	    d, ref, "stop", q, timeout_sec * 1000 + DOCKER_TIMEOUT_MS);
}

int
docker_container_kill(struct docker *d, const char *ref, const char *signal)
{
	char q[32];
	size_t i;

	if (signal == NULL)
		signal = "KILL";
	for (i = 0; signal[i] != '\0'; i++)
		if (i >= 15 ||
		    !((signal[i] >= 'A' && signal[i] <= 'Z') ||
		        (signal[i] >= '0' && signal[i] <= '9')))
			return docker_bad_arg();
	if (i == 0 || docker_pathf(q, sizeof(q), "?signal=%s", signal) != 0)
		return docker_bad_arg();
	return docker_container_post(d, ref, "kill", q, 0);
}

int
docker_container_remove(
    struct docker *d, const char *ref, int force, int volumes)
{
	char path[DOCKER_MAX_PATH];

	docker_err_clear();
	if (!docker_ref_valid(ref) ||
	    docker_pathf(path, sizeof(path), "/containers/%s?force=%d&v=%d",
	        ref, force ? 1 : 0, volumes ? 1 : 0) != 0)
		return docker_bad_arg();
	return docker_request(d, "DELETE", path, NULL, 0, NULL, NULL);
}

int
docker_container_inspect(struct docker *d, const char *ref, json_t **out)
{
	char path[DOCKER_MAX_PATH];

	*out = NULL;
	if (!docker_ref_valid(ref) ||
	    docker_pathf(path, sizeof(path), "/containers/%s/json", ref) != 0)
		return docker_bad_arg();
	return docker_call(d, "GET", path, NULL, 0, JSON_OBJECT, out);
}

int
docker_container_list(struct docker *d, const char *label, json_t **out)
{
	struct buf path;
	json_t *filters = NULL;
	char *fj = NULL, *p;
	size_t i;
	int r;

	*out = NULL;
	buf_init(&path, DOCKER_MAX_PATH);
	if (label == NULL || label[0] == '\0')
		return docker_bad_arg();
	for (i = 0; label[i] != '\0'; i++)
		if (i >= DOCKER_LABEL_MAX || (unsigned char)label[i] < 0x20 ||
		    label[i] == 0x7f)
			return docker_bad_arg();
	if ((filters = json_pack("{s:[s]}", "label", label)) == NULL ||
	    (fj = json_dumps(filters, JSON_COMPACT)) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto out;
	}
	if ((r = buf_append_str(&path, "/containers/json?all=1&filters=")) !=
	        0 ||
	    (r = docker_urlenc(&path, fj)) != 0)
		goto out;
	if ((p = buf_cstr(&path)) == NULL) {
		r = PETRI_ERR_TOOBIG;
		goto out;
	}
	r = docker_call(d, "GET", p, NULL, 0, JSON_ARRAY, out);
out:
	json_decref(filters);
	free(fj);
	buf_free(&path);
	return r;
}

int
docker_container_wait(struct docker *d, const char *ref, const char *condition,
    int timeout_ms, int *exit_code)
{
	char path[DOCKER_MAX_PATH];
	json_t *j = NULL, *v;
	json_int_t code;
	int r;

	if (exit_code != NULL)
		*exit_code = -1;
	if (condition == NULL)
		condition = "not-running";
	if (!docker_ref_valid(ref) || timeout_ms <= 0 ||
	    timeout_ms > DOCKER_MAX_CALL_MS ||
	    (strcmp(condition, "not-running") != 0 &&
	        strcmp(condition, "next-exit") != 0 &&
	        strcmp(condition, "removed") != 0) ||
	    docker_pathf(path, sizeof(path), "/containers/%s/wait?condition=%s",
	        ref, condition) != 0)
		return docker_bad_arg();
	if ((r = docker_call(
	         d, "POST", path, NULL, timeout_ms, JSON_OBJECT, &j)) != 0)
		return r;
	v = json_object_get(j, "StatusCode");
	if (v == NULL || !json_is_integer(v) ||
	    (code = json_integer_value(v)) < INT_MIN || code > INT_MAX) {
		docker_err_set("wait reply without a valid StatusCode");
		r = PETRI_ERR_PROTO;
	} else if (exit_code != NULL)
		*exit_code = (int)code;
	json_decref(j);
	return r;
}

int
docker_network_create(
    struct docker *d, const char *name, json_t *config, char id[DOCKER_ID_MAX])
{
	json_t *body = NULL, *j = NULL;
	int r;

	id[0] = '\0';
	if (!docker_ref_valid(name) ||
	    (config != NULL && !json_is_object(config)))
		return docker_bad_arg();
	body = config != NULL ? json_copy(config) : json_object();
	if (body == NULL ||
	    json_object_set_new(body, "Name", json_string(name)) != 0 ||
	    (json_object_get(body, "CheckDuplicate") == NULL &&
	        json_object_set_new(body, "CheckDuplicate", json_true()) !=
	            0)) {
		json_decref(body);
		return PETRI_ERR_NOMEM;
	}
	r = docker_call(
	    d, "POST", "/networks/create", body, 0, JSON_OBJECT, &j);
	json_decref(body);
	if (r != 0)
		return r;
	r = docker_reply_id(j, id);
	json_decref(j);
	return r;
}

int
docker_network_inspect(struct docker *d, const char *ref, json_t **out)
{
	char path[DOCKER_MAX_PATH];

	*out = NULL;
	if (!docker_ref_valid(ref) ||
	    docker_pathf(path, sizeof(path), "/networks/%s", ref) != 0)
		return docker_bad_arg();
	return docker_call(d, "GET", path, NULL, 0, JSON_OBJECT, out);
}

int
docker_network_remove(struct docker *d, const char *ref)
{
	char path[DOCKER_MAX_PATH];

	if (!docker_ref_valid(ref) ||
	    docker_pathf(path, sizeof(path), "/networks/%s", ref) != 0)
		return docker_bad_arg();
	return docker_request(d, "DELETE", path, NULL, 0, NULL, NULL);
}

int
docker_image_inspect(struct docker *d, const char *ref, json_t **out)
{
	char path[DOCKER_MAX_PATH];

	*out = NULL;
	if (!docker_image_ref_valid(ref) ||
	    docker_pathf(path, sizeof(path), "/images/%s/json", ref) != 0)
		return docker_bad_arg();
	return docker_call(d, "GET", path, NULL, 0, JSON_OBJECT, out);
}

int
docker_image_id(struct docker *d, const char *ref, char id[DOCKER_IMAGE_ID_MAX])
{
	json_t *j = NULL, *v;
	const char *s;
	int r;

	id[0] = '\0';
	if ((r = docker_image_inspect(d, ref, &j)) != 0)
		return r;
	v = json_object_get(j, "Id");
	if (v == NULL || !json_is_string(v) ||
	    strncmp((s = json_string_value(v)), "sha256:", 7) != 0 ||
	    !docker_hex64_valid(s + 7)) {
		docker_err_set("image reply without a valid Id");
		r = PETRI_ERR_PROTO;
	} else
		petri_strlcpy(id, s, DOCKER_IMAGE_ID_MAX);
	json_decref(j);
	return r;
}

int
docker_exec_create(struct docker *d, const char *ref, json_t *spec,
    char exec_id[DOCKER_ID_MAX])
{
	char path[DOCKER_MAX_PATH];
	json_t *j = NULL, *tty;
	int r;

	exec_id[0] = '\0';
	if (!docker_ref_valid(ref) || spec == NULL || !json_is_object(spec) ||
	    ((tty = json_object_get(spec, "Tty")) != NULL &&
	        !json_is_false(tty)) ||
	    docker_pathf(path, sizeof(path), "/containers/%s/exec", ref) != 0)
		return docker_bad_arg();
	if ((r = docker_call(d, "POST", path, spec, 0, JSON_OBJECT, &j)) != 0)
		return r;
	r = docker_reply_id(j, exec_id);
	json_decref(j);
	return r;
}

int
docker_exec_inspect(struct docker *d, const char *exec_id, int *running,
    int *exit_code, long *pid)
{
	char path[DOCKER_MAX_PATH];
	json_t *j = NULL, *vr, *ve, *vp;
	json_int_t ec = -1, p = 0;
	int r;

	if (running != NULL)
		*running = 0;
	if (exit_code != NULL)
		*exit_code = -1;
	if (pid != NULL)
		*pid = 0;
	if (!docker_hex64_valid(exec_id) ||
	    docker_pathf(path, sizeof(path), "/exec/%s/json", exec_id) != 0)
		return docker_bad_arg();
	if ((r = docker_call(d, "GET", path, NULL, 0, JSON_OBJECT, &j)) != 0)
		return r;
	vr = json_object_get(j, "Running");
	ve = json_object_get(j, "ExitCode");
	vp = json_object_get(j, "Pid");
	if (vr == NULL || !json_is_boolean(vr) ||
	    (ve != NULL && !json_is_null(ve) && !json_is_integer(ve)) ||
	    (vp != NULL && !json_is_integer(vp)))
		goto proto;
	if (ve != NULL && json_is_integer(ve))
		ec = json_integer_value(ve);
	if (vp != NULL)
		p = json_integer_value(vp);
	if (ec < -1 || ec > 255 || p < 0 || p > INT_MAX)
		goto proto;
	if (json_is_true(vr))
		ec = -1;
	if (running != NULL)
		*running = json_is_true(vr);
	if (exit_code != NULL)
		*exit_code = (int)ec;
	if (pid != NULL)
		*pid = (long)p;
	json_decref(j);
	return 0;
proto:
	docker_err_set("malformed exec inspect reply");
	json_decref(j);
	return PETRI_ERR_PROTO;
}

/* Hijacked streams. */

static int
docker_remaining(int64_t deadline)
{
	int64_t left = deadline - petri_mono_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits for events on fd until deadline.  0 ready, or TIMEOUT / IO. */
static int
docker_wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int n, ms;

	for (;;) {
		ms = docker_remaining(deadline);
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0; /* errors and hangups surface in recv/send */
		if (n == 0)
			return PETRI_ERR_TIMEOUT;
		if (errno != EINTR)
			return PETRI_ERR_IO;
	}
}

/*
 * Sends what fits now.  Returns 0 with *done set (0 when the socket is
 * full) or PETRI_ERR_IO.
 */
static int
docker_send_some(CURL *h, const void *p, size_t n, size_t *done)
{
	CURLcode cc;

	*done = 0;
	if (n == 0)
		return 0;
	cc = curl_easy_send(h, p, n, done);
	if (cc == CURLE_AGAIN) {
		*done = 0;
		return 0;
	}
	if (cc != CURLE_OK) {
		docker_err_set("send: %s", curl_easy_strerror(cc));
		return PETRI_ERR_IO;
	}
	return 0;
}

static int
docker_send_all(CURL *h, int fd, const void *p, size_t n, int64_t deadline)
{
	const uint8_t *q = p;
	size_t done;
	int r;

	while (n > 0) {
		if ((r = docker_send_some(h, q, n, &done)) != 0)
			return r;
		q += done;
		n -= done;
		if (n > 0 && done == 0 &&
		    (r = docker_wait_fd(fd, POLLOUT, deadline)) != 0)
			return r;
	}
	return 0;
}

/*
 * Receives into p[0..cap) once data is there or deadline passes.
 * Returns the count (> 0), 0 at EOF, PETRI_ERR_TIMEOUT or PETRI_ERR_IO.
 */
static long
docker_recv_some(CURL *h, int fd, uint8_t *p, size_t cap, int64_t deadline)
{
	CURLcode cc;
	size_t n;
	int r;

	for (;;) {
		n = 0;
		cc = curl_easy_recv(h, p, cap, &n);
		if (cc == CURLE_OK)
			return (long)n;
		if (cc != CURLE_AGAIN) {
			docker_err_set("recv: %s", curl_easy_strerror(cc));
			return PETRI_ERR_IO;
		}
		if ((r = docker_wait_fd(fd, POLLIN, deadline)) != 0)
			return r;
	}
}

/* Reads the error body after a failed hijack, for docker_errmsg(). */
static void
docker_hijack_errbody(struct docker_stream *s,
    const struct docker_http_head *hd, int64_t deadline)
{
	size_t want, have;
	long n;

	have = s->rlen - hd->headlen;
	want = DOCKER_HIJACK_MAX_ERRBODY;
	if (hd->content_length >= 0 &&
	    (unsigned long long)hd->content_length < want)
		want = (size_t)hd->content_length;
	if (hd->chunked)
		want = 0; /* not worth a chunk decoder: status says enough */
	while (have < want && s->rlen < DOCKER_STREAM_BUF) {
		n = docker_recv_some(s->h, s->fd, s->rbuf + s->rlen,
		    DOCKER_STREAM_BUF - s->rlen, deadline);
		if (n <= 0)
			break;
		s->rlen += (size_t)n;
		have += (size_t)n;
	}
	if (have > want)
		have = want;
	docker_err_from_body(hd->status, s->rbuf + hd->headlen, have);
}

/* Connects a new handle of s to Docker's socket, connection only: the
 * socket is then ours (s->fd). */
static int
docker_hijack_connect(struct docker *d, struct docker_stream *s)
{
	curl_socket_t sock = CURL_SOCKET_BAD;
	char ebuf[CURL_ERROR_SIZE];
	char url[sizeof(d->base) + 2];
	CURLcode cc;

	ebuf[0] = '\0';
	if ((s->h = curl_easy_init()) == NULL)
		return PETRI_ERR_NOMEM;
	if (docker_pathf(url, sizeof(url), "%s/", d->base) != 0 ||
	    docker_handle_setup(
	        d, s->h, url, DOCKER_CONNECT_TIMEOUT_MS, ebuf) != 0 ||
	    curl_easy_setopt(s->h, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK)
		return PETRI_ERR_IO;
	cc = curl_easy_perform(s->h);
	(void)curl_easy_setopt(s->h, CURLOPT_ERRORBUFFER, NULL);
	if (cc != CURLE_OK)
		return docker_curl_err(cc, ebuf);
	if (curl_easy_getinfo(s->h, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK ||
	    sock == CURL_SOCKET_BAD) {
		docker_err_set("no socket after connect");
		return PETRI_ERR_IO;
	}
	s->fd = (int)sock;
	return 0;
}

/* Sends "POST path" with body and the upgrade headers. */
static int
docker_hijack_send(struct docker *d, struct docker_stream *s, const char *path,
    const char *body, int64_t deadline)
{
	struct buf req;
	int r;

	buf_init(&req, DOCKER_MAX_PATH + 1024);
	if ((r = buf_printf(&req,
	         "POST %s%s HTTP/1.1\r\n"
	         "Host: docker\r\n"
	         "User-Agent: petri\r\n"
	         "Content-Type: application/json\r\n"
	         "Connection: Upgrade\r\n"
	         "Upgrade: tcp\r\n"
	         "Content-Length: %zu\r\n"
	         "\r\n"
	         "%s",
	         d->vpath, path, strlen(body), body)) == 0 &&
	    (r = docker_send_all(s->h, s->fd, req.data, req.len, deadline)) ==
	        PETRI_ERR_IO)
		r = PETRI_ERR_UNAVAIL;
	buf_free(&req);
	return r;
}

/* Reads the reply head, at most DOCKER_HIJACK_MAX_HEAD bytes, into *hd;
 * what came past it stays in s->rbuf. */
static int
docker_hijack_head(
    struct docker_stream *s, struct docker_http_head *hd, int64_t deadline)
{
	long n;
	int r;

	for (;;) {
		r = docker_http_head_parse((const char *)s->rbuf, s->rlen, hd);
		if (r == 0)
			return 0;
		if (r != PETRI_ERR_TRUNCATED) {
			docker_err_set("malformed reply head");
			return PETRI_ERR_PROTO;
		}
		n = docker_recv_some(s->h, s->fd, s->rbuf + s->rlen,
		    DOCKER_HIJACK_MAX_HEAD - s->rlen, deadline);
		if (n == 0) {
			docker_err_set("connection closed before a reply");
			return PETRI_ERR_UNAVAIL;
		}
		if (n < 0)
			return n == PETRI_ERR_IO ? PETRI_ERR_UNAVAIL : (int)n;
		s->rlen += (size_t)n;
	}
}

/* The error of a reply head that did not take the upgrade (not 101/200),
 * or 0. */
static int
docker_hijack_status(struct docker_stream *s, const struct docker_http_head *hd,
    const char *path, int64_t deadline)
{
	if (hd->status == 101 || hd->status == 200)
		return 0;
	if (hd->status >= 400) {
		docker_hijack_errbody(s, hd, deadline);
		return docker_status_err(hd->status, path);
	}
	docker_err_set("unexpected HTTP status %d", hd->status);
	return PETRI_ERR_PROTO;
}

/*
 * Opens a new connection, sends "POST path" with body and the upgrade
 * headers, and reads the reply head.  On 101/200 the connection becomes the
 * stream; bytes read past the head stay buffered in it.
 */
static int
docker_hijack(struct docker *d, const char *path, const char *body,
    int with_stdin, struct docker_stream **out)
{
	struct docker_stream *s = NULL;
	struct docker_http_head hd;
	int64_t deadline;
	int r;

	*out = NULL;
	deadline = petri_mono_ms() + DOCKER_TIMEOUT_MS;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->rbuf = malloc(DOCKER_STREAM_BUF)) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto out;
	}
	s->fd = -1;
	docker_demux_init(&s->dm);
	if ((r = docker_hijack_connect(d, s)) != 0 ||
	    (r = docker_hijack_send(d, s, path, body, deadline)) != 0 ||
	    (r = docker_hijack_head(s, &hd, deadline)) != 0 ||
	    (r = docker_hijack_status(s, &hd, path, deadline)) != 0)
		goto out;
	s->roff = hd.headlen;
	s->writable = with_stdin ? 1 : 0;
	pthread_mutex_lock(&d->mu);
	d->st.streams++;
	pthread_mutex_unlock(&d->mu);
	*out = s;
	s = NULL;
	r = 0;
out:
	docker_stream_free(s);
	return r;
}

int
docker_exec_start(struct docker *d, const char *exec_id, int with_stdin,
    struct docker_stream **out)
{
	char path[DOCKER_MAX_PATH];

	*out = NULL;
	docker_err_clear();
	if (!docker_hex64_valid(exec_id) ||
	    docker_pathf(path, sizeof(path), "/exec/%s/start", exec_id) != 0)
		return docker_bad_arg();
	return docker_hijack(
	    d, path, "{\"Detach\":false,\"Tty\":false}", with_stdin, out);
}

int
docker_container_attach(struct docker *d, const char *ref, int with_stdin,
    struct docker_stream **out)
{
	char path[DOCKER_MAX_PATH];

	*out = NULL;
	docker_err_clear();
	if (!docker_ref_valid(ref) ||
	    docker_pathf(path, sizeof(path),
	        "/containers/%s/attach?stream=1&stdin=%d&stdout=1&stderr=1",
	        ref, with_stdin ? 1 : 0) != 0)
		return docker_bad_arg();
	return docker_hijack(d, path, "", with_stdin, out);
}

int
docker_stream_fd(const struct docker_stream *s)
{
	return s->fd;
}

int
docker_stream_pending(const struct docker_stream *s)
{
	return s->roff < s->rlen;
}

int
docker_stream_read(
    struct docker_stream *s, int timeout_ms, int *which, struct buf *out)
{
	struct docker_chunk c;
	int64_t deadline;
	size_t used, max;
	long n;
	int r;

	docker_err_clear();
	*which = -1;
	buf_reset(out);
	if (!docker_timeout_valid(timeout_ms) || out->max == 0)
		return docker_bad_arg();
	if (s->err != 0)
		return s->err;
	deadline = petri_mono_ms() + timeout_ms;
	max = out->max < DOCKER_MAX_FRAME ? out->max : DOCKER_MAX_FRAME;
	for (;;) {
		if (s->roff < s->rlen) {
			r = docker_demux_step(&s->dm, s->rbuf + s->roff,
			    s->rlen - s->roff, max, &used, &c);
			s->roff += used;
			if (r < 0) {
				docker_err_set("malformed stream frame header");
				return s->err = r;
			}
			if (r == 1) {
				if ((r = buf_append(out, c.p, c.len)) != 0)
					return s->err = r;
				*which = c.stream;
				return 1;
			}
		}
		s->roff = s->rlen = 0;
		if (s->eof) {
			if ((r = docker_demux_end(&s->dm)) != 0) {
				docker_err_set("stream ended inside a frame");
				s->err = r;
			}
			return r;
		}
		n = docker_recv_some(
		    s->h, s->fd, s->rbuf, DOCKER_STREAM_BUF, deadline);
		if (n == PETRI_ERR_TIMEOUT)
			return PETRI_ERR_TIMEOUT;
		if (n < 0)
			return s->err = (int)n;
		if (n == 0)
			s->eof = 1;
		s->rlen = (size_t)n;
	}
}

/*
 * dockerd only half-closes a hijacked connection when the process ends and
 * stops reading it: after the output's EOF a write would just wait, so say
 * so at once.
 */
static int
docker_stream_can_write(const struct docker_stream *s)
{
	if (!s->writable) {
		docker_err_set("stream has no open stdin");
		return 0;
	}
	if (s->eof || s->err != 0) {
		docker_err_set("stream has ended");
		return 0;
	}
	return 1;
}

int
docker_stream_write_some(
    struct docker_stream *s, const void *p, size_t n, size_t *done)
{
	*done = 0;
	docker_err_clear();
	if (!docker_stream_can_write(s))
		return PETRI_ERR_STATE;
	return docker_send_some(s->h, p, n, done);
}

int
docker_stream_write(
    struct docker_stream *s, const void *p, size_t n, int timeout_ms)
{
	docker_err_clear();
	if (!docker_timeout_valid(timeout_ms))
		return docker_bad_arg();
	if (!docker_stream_can_write(s))
		return PETRI_ERR_STATE;
	return docker_send_all(s->h, s->fd, p, n,
	    petri_mono_ms() + (timeout_ms ? timeout_ms : DOCKER_TIMEOUT_MS));
}

int
docker_stream_close_write(struct docker_stream *s)
{
	docker_err_clear();
	if (!s->writable)
		return 0;
	s->writable = 0;
	if (shutdown(s->fd, SHUT_WR) != 0) {
		docker_err_set("shutdown: %s", strerror(errno));
		return PETRI_ERR_IO;
	}
	return 0;
}

void
docker_stream_free(struct docker_stream *s)
{
	if (s == NULL)
		return;
	if (s->h != NULL)
		curl_easy_cleanup(s->h); /* closes the socket */
	free(s->rbuf);
	free(s);
}

/* The demultiplexer (pure). */

void
docker_demux_init(struct docker_demux *dm)
{
	memset(dm, 0, sizeof(*dm));
}

int
docker_demux_step(struct docker_demux *dm, const uint8_t *p, size_t n,
    size_t max, size_t *used, struct docker_chunk *c)
{
	size_t off = 0, take;

	*used = 0;
	c->stream = -1;
	c->p = NULL;
	c->len = 0;
	if (dm->err != 0)
		return dm->err;
	if (max == 0)
		return PETRI_ERR_INVAL;
	if (max > DOCKER_MAX_FRAME)
		max = DOCKER_MAX_FRAME;
	while (off < n) {
		if (dm->left == 0) {
			/* collecting a header */
			take = sizeof(dm->hdr) - dm->hdrlen;
			if (take > n - off)
				take = n - off;
			memcpy(dm->hdr + dm->hdrlen, p + off, take);
			dm->hdrlen += take;
			off += take;
			if (dm->hdrlen < sizeof(dm->hdr))
				break;
			if (dm->hdr[0] > DOCKER_STREAM_SYSERR ||
			    dm->hdr[1] != 0 || dm->hdr[2] != 0 ||
			    dm->hdr[3] != 0) {
				*used = off;
				return dm->err = PETRI_ERR_PROTO;
			}
			dm->stream = dm->hdr[0];
			dm->left = (uint32_t)dm->hdr[4] << 24 |
			    (uint32_t)dm->hdr[5] << 16 |
			    (uint32_t)dm->hdr[6] << 8 | (uint32_t)dm->hdr[7];
			dm->hdrlen = 0;
			continue; /* an empty frame: the next header follows */
		}
		take = n - off;
		if (take > dm->left)
			take = dm->left;
		if (take > max)
			take = max;
		c->stream = dm->stream;
		c->p = p + off;
		c->len = take;
		dm->left -= (uint32_t)take;
		*used = off + take;
		return 1;
	}
	*used = off;
	return 0;
}

int
docker_demux_feed(struct docker_demux *dm, const uint8_t *p, size_t n,
    docker_demux_cb cb, void *arg)
{
	struct docker_chunk c;
	size_t used;
	int r;

	while (n > 0) {
		r = docker_demux_step(dm, p, n, DOCKER_MAX_FRAME, &used, &c);
		if (r < 0)
			return r;
		p += used;
		n -= used;
		if (r == 1 && (r = cb(arg, &c)) != 0)
			return r;
	}
	return dm->err;
}

int
docker_demux_end(const struct docker_demux *dm)
{
	if (dm->err != 0)
		return dm->err;
	if (dm->hdrlen != 0 || dm->left != 0)
		return PETRI_ERR_TRUNCATED;
	return 0;
}

/* The hijack reply head parser (pure). */

static int
docker_is_tchar(int ch)
{
	return docker_is_alnum(ch) ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Case-insensitive search for a short needle in p[0..n). */
static int
docker_has_token(const char *p, size_t n, const char *needle)
{
	size_t i, k = strlen(needle);

	for (i = 0; i + k <= n; i++)
		if (strncasecmp(p + i, needle, k) == 0)
			return 1;
	return 0;
}

/*
 * Where the head in p[0..n) ends (past its empty line) into *end, after
 * refusing early what cannot become a status line.  Returns 0, or
 * PETRI_ERR_PROTO / TOOBIG / TRUNCATED as docker_http_head_parse().
 */
static int
docker_head_end(const char *p, size_t n, size_t *end)
{
	static const char v10[] = "HTTP/1.0 ", v11[] = "HTTP/1.1 ";
	size_t i, lim, k = n < 9 ? n : 9;

	*end = 0;
	for (i = 0; i < k; i++)
		if (p[i] != v11[i] && p[i] != v10[i])
			return PETRI_ERR_PROTO;
	lim = n < DOCKER_HIJACK_MAX_HEAD ? n : DOCKER_HIJACK_MAX_HEAD;
	for (i = 0; i + 4 <= lim; i++) {
		if (p[i] == '\0')
			return PETRI_ERR_PROTO;
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' &&
		    p[i + 3] == '\n') {
			*end = i + 4;
			return 0;
		}
	}
	return n >= DOCKER_HIJACK_MAX_HEAD ? PETRI_ERR_TOOBIG
	                                   : PETRI_ERR_TRUNCATED;
}

/*
 * The status line "HTTP/1.x NNN[ reason]" of a head ending at end: the
 * status into h, the offset of its CR into *le.  0 or PETRI_ERR_PROTO.
 */
static int
docker_head_status(
    const char *p, size_t end, struct docker_http_head *h, size_t *le)
{
	size_t i;

	if (end < 12 + 4 ||
	    (strncmp(p, "HTTP/1.0 ", 9) != 0 &&
	        strncmp(p, "HTTP/1.1 ", 9) != 0))
		return PETRI_ERR_PROTO;
	for (i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return PETRI_ERR_PROTO;
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (h->status < 100)
		return PETRI_ERR_PROTO;
	for (*le = 12; !(p[*le] == '\r' && p[*le + 1] == '\n'); (*le)++) {
		unsigned char ch = (unsigned char)p[*le];

		if (*le == 12 && ch != ' ')
			return PETRI_ERR_PROTO;
		if (ch != '\t' && (ch < 0x20 || ch == 0x7f))
			return PETRI_ERR_PROTO;
	}
	return 0;
}

/* A Content-Length value p[vs..ve): digits, at most 18; one already seen
 * (*cl not -1) must be the same.  0 or PETRI_ERR_PROTO. */
static int
docker_head_length(const char *p, size_t vs, size_t ve, long long *cl)
{
	long long v;
	size_t i;

	if (ve == vs || ve - vs > 18)
		return PETRI_ERR_PROTO;
	for (v = 0, i = vs; i < ve; i++) {
		if (p[i] < '0' || p[i] > '9')
			return PETRI_ERR_PROTO;
		v = v * 10 + (p[i] - '0');
	}
	if (*cl != -1 && *cl != v)
		return PETRI_ERR_PROTO;
	*cl = v;
	return 0;
}

/*
 * One header line starting at ls (the head's CRLF CRLF bounds the scan):
 * a token name, a colon, a value of no control byte; Content-Length into
 * *cl, Transfer-Encoding into *te and h->chunked.  The offset of its CR
 * into *le.  0 or PETRI_ERR_PROTO.
 */
static int
docker_head_field(const char *p, size_t ls, size_t *le, long long *cl, int *te,
    struct docker_http_head *h)
{
	size_t i, ne, vs, ve;

	for (*le = ls; !(p[*le] == '\r' && p[*le + 1] == '\n'); (*le)++)
		;
	for (ne = ls; ne < *le && docker_is_tchar((unsigned char)p[ne]); ne++)
		;
	if (ne == ls || ne >= *le || p[ne] != ':')
		return PETRI_ERR_PROTO;
	for (vs = ne + 1; vs < *le && (p[vs] == ' ' || p[vs] == '\t'); vs++)
		;
	for (ve = *le; ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'); ve--)
		;
	for (i = vs; i < ve; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch != '\t' && (ch < 0x20 || ch == 0x7f))
			return PETRI_ERR_PROTO;
	}
	if (ne - ls == 14 && strncasecmp(p + ls, "Content-Length", 14) == 0)
		return docker_head_length(p, vs, ve, cl);
	if (ne - ls == 17 &&
	    strncasecmp(p + ls, "Transfer-Encoding", 17) == 0) {
		*te = 1;
		if (docker_has_token(p + vs, ve - vs, "chunked"))
			h->chunked = 1;
	}
	return 0;
}

int
docker_http_head_parse(const char *p, size_t n, struct docker_http_head *h)
{
	size_t end, ls, le;
	long long cl = -1;
	int te = 0, r;

	h->status = 0;
	h->headlen = 0;
	h->content_length = -1;
	h->chunked = 0;
	if ((r = docker_head_end(p, n, &end)) != 0 ||
	    (r = docker_head_status(p, end, h, &le)) != 0)
		return r;
	/* header lines up to the empty one at end - 2 */
	for (ls = le + 2; ls < end - 2; ls = le + 2)
		if ((r = docker_head_field(p, ls, &le, &cl, &te, h)) != 0)
			return r;
	if (te && cl != -1)
		return PETRI_ERR_PROTO;
	h->content_length = cl;
	h->headlen = end;
	return 0;
}
