/*
 * sb_store.c: a caller's sandbox as the handlers of its sub-resources
 * (files, executions) load and touch it, below the handlers.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "util.h"

json_t *
api_sb_load(struct api_req *r, int seg)
{
	json_t *sb = NULL;
	const char *id = r->segs[seg];

	if (!petri_id_valid(id, "sb_") ||
	    db_sandbox_get(r->api->db, id, r->auth.tenant, &sb) != 0) {
		api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "sandbox %.40s not found", id);
		return NULL;
	}
	return sb;
}

void
api_sb_touch(struct api *a, json_t *sb)
{
	int64_t now = petri_now_usec();
	json_int_t ttl = json_integer_value(json_object_get(sb, "ttl_seconds"));
	char ts[PETRI_TIME_MAX];

	if (ttl <= 0)
		ttl = a->cfg->ttl_seconds;
	petri_time_rfc3339(now, ts);
	json_object_set_new(sb, "last_active_at", json_string(ts));
	petri_time_rfc3339(now + (int64_t)ttl * 1000000, ts);
	json_object_set_new(sb, "expires_at", json_string(ts));
	if (db_sandbox_update(a->db, sb) != 0)
		log_warn("state.db: cannot record activity of %s",
		    json_string_value(json_object_get(sb, "id")));
}
