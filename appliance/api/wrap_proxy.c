/*
 * wrap_proxy.c: the api's calling side of the proxy protocol (sandbox
 * identities and per-execution counters).  The proxy's reports come the
 * other way and are egress.c's.
 */
#include <string.h>

#include "api.h"
#include "proto.h"
#include "wrap.h"

#define PROXY_TIMEOUT_MS 15000

static int
proxy_ask(struct api *a, uint32_t type, json_t *req, const void *data, size_t n,
    json_t **reply, char *msg, size_t msglen)
{
	return api_ask(
	    a->proxy, type, req, data, n, PROXY_TIMEOUT_MS, reply, msg, msglen);
}

int
wrap_proxy_listen(
    struct api *a, const char *address, int *port, char *msg, size_t msglen)
{
	json_t *rep = NULL;
	int e;

	if ((e = proxy_ask(a, MSG_PRX_LISTEN,
	         json_pack("{s:s}", "address", address), NULL, 0, &rep, msg,
	         msglen)) != 0)
		return e;
	if (json_unpack(rep, "{s:i}", "port", port) != 0 || *port <= 0 ||
	    *port > 65535)
		e = PETRI_ERR_PROTO;
	json_decref(rep);
	return e;
}

int
wrap_proxy_ident_set(struct api *a, const char *sandbox, const char *src,
    json_t *token, json_t *secrets, const char *policy, char *msg,
    size_t msglen)
{
	return proxy_ask(a, MSG_PRX_IDENT_SET,
	    json_pack("{s:s, s:s, s:O, s:o}", "sandbox", sandbox, "src", src,
	        "token", token, "secrets", secrets),
	    policy, strlen(policy), NULL, msg, msglen);
}

int
wrap_proxy_ident_del(struct api *a, const char *sandbox)
{
	return proxy_ask(a, MSG_PRX_IDENT_DEL,
	    json_pack("{s:s}", "sandbox", sandbox), NULL, 0, NULL, NULL, 0);
}

int
wrap_proxy_exec_begin(struct api *a, const char *sandbox)
{
	return proxy_ask(a, MSG_PRX_EXEC_BEGIN,
	    json_pack("{s:s}", "sandbox", sandbox), NULL, 0, NULL, NULL, 0);
}

int
wrap_proxy_sync(struct api *a)
{
	return proxy_ask(
	    a, MSG_PRX_SYNC, json_object(), NULL, 0, NULL, NULL, 0);
}
