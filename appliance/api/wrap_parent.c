/*
 * wrap_parent.c: the api's calling side of the parent protocol (the
 * privileged requests: workspace disks, the host firewall).
 */
#include "api.h"
#include "proto.h"
#include "wrap.h"

#define PARENT_TIMEOUT_MS 120000

int
wrap_parent_ws_prepare(struct api *a, const char *sandbox, long long disk_mb,
    int create, char *msg, size_t msglen)
{
	json_t *req =
	    json_pack("{s:s, s:b}", "sandbox", sandbox, "create", create != 0);

	if (req != NULL && disk_mb >= 0)
		json_object_set_new(
		    req, "disk_mb", json_integer((json_int_t)disk_mb));
	return api_ask(a->parent, MSG_PAR_WS_PREPARE, req, NULL, 0,
	    PARENT_TIMEOUT_MS, NULL, msg, msglen);
}

int
wrap_parent_ws_release(
    struct api *a, const char *sandbox, char *msg, size_t msglen)
{
	return api_ask(a->parent, MSG_PAR_WS_RELEASE,
	    json_pack("{s:s}", "sandbox", sandbox), NULL, 0, PARENT_TIMEOUT_MS,
	    NULL, msg, msglen);
}

int
wrap_parent_firewall(struct api *a, const char *bridge, const char *gateway,
    int port, char *msg, size_t msglen)
{
	return api_ask(a->parent, MSG_PAR_FIREWALL,
	    json_pack("{s:s, s:s, s:i}", "bridge", bridge, "gateway", gateway,
	        "port", port),
	    NULL, 0, 15000, NULL, msg, msglen);
}
