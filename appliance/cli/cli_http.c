/*
 * cli_http.c: the CLI's HTTP client of the REST API, over libcurl.  The
 * API key goes in one header; the server's answer is bounded by the
 * caller's buffer; no redirect is followed and only http(s) is spoken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "util.h"

static size_t
cli_http_collect(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, p, sz * n) != 0)
		return 0;
	return sz * n;
}

long
cli_http(struct cli *c, const char *method, const char *path, const void *body,
    size_t len, const char *ctype, struct buf *out, char *err, size_t errlen)
{
	struct curl_slist *h = NULL, *nh;
	char url[4096], auth[600], ct[256];
	CURL *cu = NULL;
	long status = -1;
	CURLcode rc;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->url, path) >=
	    sizeof(url)) {
		snprintf(err, errlen, "URL too long");
		return -1;
	}
	if ((cu = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl failed to initialise");
		return -1;
	}
	if ((size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	        c->key) >= sizeof(auth)) {
		explicit_bzero(auth, sizeof(auth));
		curl_easy_cleanup(cu);
		snprintf(err, errlen, "API key too long");
		return -1;
	}
	/* libcurl keeps its own copy; ours is wiped at once */
	if ((nh = curl_slist_append(h, auth)) != NULL)
		h = nh;
	explicit_bzero(auth, sizeof(auth));
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		if ((nh = curl_slist_append(h, ct)) != NULL)
			h = nh;
	}
	if ((nh = curl_slist_append(h, "Expect:")) != NULL)
		h = nh;
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, cli_http_collect);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL) {
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(
		    cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	rc = curl_easy_perform(cu);
	if (rc != CURLE_OK)
		snprintf(err, errlen, "%s %s: %s", method, url,
		    curl_easy_strerror(rc));
	else
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
	explicit_bzero(auth, sizeof(auth));
	curl_slist_free_all(h);
	curl_easy_cleanup(cu);
	return rc == CURLE_OK ? status : -1;
}

long
cli_http_json(struct cli *c, const char *method, const char *path, json_t *body,
    json_t **reply, char *err, size_t errlen)
{
	struct buf out;
	json_error_t jerr;
	char *text = NULL;
	long st;

	*reply = NULL;
	buf_init(&out, CLI_MAX_REPLY);
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st = cli_http(c, method, path, text, text != NULL ? strlen(text) : 0,
	    text != NULL ? "application/json" : NULL, &out, err, errlen);
	if (text != NULL) /* it may hold a secret's value */
		explicit_bzero(text, strlen(text));
	free(text);
	if (st > 0 && out.len > 0)
		*reply = json_loadb((const char *)out.data, out.len,
		    JSON_REJECT_DUPLICATES, &jerr);
	buf_free(&out);
	return st;
}

void
cli_http_error(json_t *reply, long status, char *out, size_t outlen)
{
	json_t *e = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	if (msg != NULL)
		snprintf(out, outlen, "HTTP %ld %s: %s", status,
		    code != NULL ? code : "error", msg);
	else
		snprintf(out, outlen, "HTTP %ld: unexpected answer", status);
}
