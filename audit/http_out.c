/* http_out.c: the outbound HTTP clients' libcurl set-up (http_out.h). */
#include "http_out.h"

size_t
http_out_on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, p, size * nmemb) != 0)
		return 0; /* past the cap: the transfer fails */
	return size * nmemb;
}

CURL *
http_out_new(const struct http_out_cfg *cfg)
{
	CURL *c = curl_easy_init();

	if (c == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, cfg->protocols);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
	if (cfg->keepalive)
		curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, cfg->user_agent);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_out_on_data);
	if (cfg->reply != NULL)
		curl_easy_setopt(c, CURLOPT_WRITEDATA, cfg->reply);
	if (cfg->progress != NULL) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, cfg->progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, cfg->progress_arg);
	}
	return c;
}
