/*
 * http_out.h: the one libcurl set-up of the appliance's outbound HTTP
 * clients (the SIEM HTTPS sinks, the witness and TSA clients of the
 * keeper): POST only, peer and host verified, no redirect, no proxy from
 * the environment, no signals, explicit timeouts, and an answer appended
 * to a buffer whose cap ends the transfer.
 */
#ifndef PETRI_HTTP_OUT_H
#define PETRI_HTTP_OUT_H

#include <curl/curl.h>

#include "buf.h"

struct http_out_cfg {
	const char *protocols; /* "https", or "http,https" */
	long connect_timeout_ms;
	long timeout_ms; /* the whole transfer */
	int keepalive; /* TCP keep-alive probes on the connection */
	const char *user_agent;
	struct buf *reply; /* the answer (NULL: set CURLOPT_WRITEDATA later) */
	/* NULL, or ends a transfer in flight when it returns non-zero */
	curl_xferinfo_callback progress;
	void *progress_arg;
};

/*
 * A new handle set up from cfg; the caller sets what is its own (URL,
 * headers, body, TLS trust anchors) and frees it with
 * curl_easy_cleanup().  Returns NULL when out of memory.
 */
CURL *http_out_new(const struct http_out_cfg *cfg);

/*
 * The write callback http_out_new() sets: appends to the struct buf in
 * arg; past its cap the transfer fails.
 */
size_t http_out_on_data(char *p, size_t size, size_t nmemb, void *arg);

#endif /* PETRI_HTTP_OUT_H */
