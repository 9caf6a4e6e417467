/* witness_conf.c: the "audit" configuration (witness_conf.h). */
#include <stdio.h>
#include <string.h>

#include "witness_conf.h"
#include "util.h"

static int
wconf_url_valid(const char *u)
{
	size_t i, n = strlen(u);

	if (n > AUDIT_WITNESS_URL_MAX)
		return 0;
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 ||
		    (unsigned char)u[i] >= 0x7f || u[i] == '?' || u[i] == '#')
			return 0;
	/* a host must follow the scheme */
	u += u[4] == 's' ? 8 : 7;
	return *u != '\0' && *u != '/' && *u != ':';
}

static int
wconf_one(const json_t *o, size_t i, struct audit_witness_conf *c, char *err,
    size_t errlen)
{
	struct audit_witness_cfg *w = &c->w[i];
	const char *k, *url, *vkey;
	json_t *v;
	size_t j;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "audit.witnesses[%zu]: an object", i);
		return PETRI_ERR_INVAL;
	}
	json_object_foreach ((json_t *)o, k, v) {
		if (strcmp(k, "url") != 0 && strcmp(k, "vkey") != 0) {
			snprintf(err, errlen,
			    "audit.witnesses[%zu]: unknown key \"%.32s\"", i,
			    k);
			return PETRI_ERR_INVAL;
		}
	}
	url = json_string_value(json_object_get(o, "url"));
	vkey = json_string_value(json_object_get(o, "vkey"));
	if (url == NULL || !wconf_url_valid(url)) {
		snprintf(err, errlen,
		    "audit.witnesses[%zu].url: an http or https URL without "
		    "query",
		    i);
		return PETRI_ERR_INVAL;
	}
	if (vkey == NULL ||
	    audit_cosigner_vkey_parse(vkey, strlen(vkey), &w->key) != 0) {
		snprintf(err, errlen,
		    "audit.witnesses[%zu].vkey: a witness verifier key "
		    "(<name>+<id>+<base64>, cosignature/v1)",
		    i);
		return PETRI_ERR_INVAL;
	}
	for (j = 0; j < i; j++)
		if (strcmp(c->w[j].key.name, w->key.name) == 0) {
			snprintf(err, errlen,
			    "audit.witnesses[%zu]: witness %s given twice", i,
			    w->key.name);
			return PETRI_ERR_INVAL;
		}
	petri_strlcpy(w->url, url, sizeof(w->url));
	petri_strlcpy(w->vkey, vkey, sizeof(w->vkey));
	return 0;
}

/* audit.tsa: {"url", "ca_file", "interval_ms", "timeout_ms"}. */
static int
wconf_tsa(const json_t *o, struct audit_tsa_cfg *t, char *err, size_t errlen)
{
	const char *k, *url, *ca;
	json_t *v;

	t->interval_ms = 60000;
	t->timeout_ms = AUDIT_WITNESS_TIMEOUT_DEFAULT_MS;
	if (o == NULL)
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "audit.tsa: an object");
		return PETRI_ERR_INVAL;
	}
	json_object_foreach ((json_t *)o, k, v) {
		if (strcmp(k, "url") != 0 && strcmp(k, "ca_file") != 0 &&
		    strcmp(k, "interval_ms") != 0 &&
		    strcmp(k, "timeout_ms") != 0) {
			snprintf(
			    err, errlen, "audit.tsa: unknown key \"%.32s\"", k);
			return PETRI_ERR_INVAL;
		}
	}
	url = json_string_value(json_object_get(o, "url"));
	ca = json_string_value(json_object_get(o, "ca_file"));
	if (url == NULL || !wconf_url_valid(url)) {
		snprintf(err, errlen, "audit.tsa.url: an http or https URL");
		return PETRI_ERR_INVAL;
	}
	if (ca == NULL || ca[0] != '/' || strlen(ca) > AUDIT_WITNESS_URL_MAX) {
		snprintf(err, errlen,
		    "audit.tsa.ca_file: the absolute path of the PEM "
		    "certificate(s) that issue the TSA's certificate");
		return PETRI_ERR_INVAL;
	}
	if (((v = json_object_get(o, "interval_ms")) != NULL &&
	        (!json_is_integer(v) || json_integer_value(v) < 1000 ||
	            json_integer_value(v) > 86400000)) ||
	    ((v = json_object_get(o, "timeout_ms")) != NULL &&
	        (!json_is_integer(v) || json_integer_value(v) < 100 ||
	            json_integer_value(v) > 60000))) {
		snprintf(err, errlen,
		    "audit.tsa: interval_ms 1000..86400000, timeout_ms "
		    "100..60000");
		return PETRI_ERR_INVAL;
	}
	if ((v = json_object_get(o, "interval_ms")) != NULL)
		t->interval_ms = (int)json_integer_value(v);
	if ((v = json_object_get(o, "timeout_ms")) != NULL)
		t->timeout_ms = (int)json_integer_value(v);
	petri_strlcpy(t->url, url, sizeof(t->url));
	petri_strlcpy(t->ca_file, ca, sizeof(t->ca_file));
	return 0;
}

int
audit_witness_conf_parse(
    const json_t *audit, struct audit_witness_conf *c, char *err, size_t errlen)
{
	const char *k;
	json_t *v, *ws;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = AUDIT_WITNESS_TIMEOUT_DEFAULT_MS;
	if (audit == NULL)
		return 0;
	if (!json_is_object(audit)) {
		snprintf(err, errlen, "audit: must be an object");
		return PETRI_ERR_INVAL;
	}
	json_object_foreach ((json_t *)audit, k, v) {
		if (strcmp(k, "witnesses") != 0 && strcmp(k, "tsa") != 0 &&
		    strcmp(k, "witness_quorum") != 0 &&
		    strcmp(k, "witness_timeout_ms") != 0) {
			snprintf(
			    err, errlen, "audit: unknown key \"%.32s\"", k);
			return PETRI_ERR_INVAL;
		}
	}
	ws = json_object_get(audit, "witnesses");
	if (ws != NULL &&
	    (!json_is_array(ws) || json_array_size(ws) > AUDIT_WITNESS_MAX)) {
		snprintf(err, errlen, "audit.witnesses: a list of at most %d",
		    AUDIT_WITNESS_MAX);
		return PETRI_ERR_INVAL;
	}
	json_array_foreach (ws, i, v) {
		if (wconf_one(v, i, c, err, errlen) != 0)
			return PETRI_ERR_INVAL;
		c->n++;
	}
	c->quorum = (int)c->n;
	if ((v = json_object_get(audit, "witness_quorum")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > (json_int_t)c->n) {
			snprintf(err, errlen,
			    "audit.witness_quorum: 1 to the number of "
			    "witnesses (%zu)",
			    c->n);
			return PETRI_ERR_INVAL;
		}
		c->quorum = (int)json_integer_value(v);
	}
	if ((v = json_object_get(audit, "witness_timeout_ms")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 100 ||
		    json_integer_value(v) > 60000) {
			snprintf(err, errlen,
			    "audit.witness_timeout_ms: 100 to 60000");
			return PETRI_ERR_INVAL;
		}
		c->timeout_ms = (int)json_integer_value(v);
	}
	return wconf_tsa(json_object_get(audit, "tsa"), &c->tsa, err, errlen);
}
