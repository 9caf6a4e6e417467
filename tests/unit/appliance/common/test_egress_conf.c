/* test_egress_conf.c: the "egress" section of the configuration. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "egress_conf.h"
#include "unit.h"

static int
parse(const char *text, struct egress_conf *ec, char *err, size_t errlen)
{
	json_t *doc = NULL;
	int r;

	if (text != NULL && (doc = json_loads(text, 0, NULL)) == NULL)
		return -999;
	err[0] = '\0';
	r = egress_conf_parse(doc, ec, err, errlen);
	json_decref(doc);
	return r;
}

static void
test_defaults(void)
{
	struct egress_conf *ec = calloc(1, sizeof(*ec));
	char err[256];

	CHECK(parse(NULL, ec, err, sizeof(err)) == 0);
	CHECK(ec->port == EGRESS_DEFAULT_PORT && ec->map.n == 0);
	CHECK(ec->allow.n == 0 && ec->upstream_ca_file[0] == '\0');
	CHECK(ec->system_roots == 1 && ec->map.no_system == 0);
	free(ec);
}

static void
test_full(void)
{
	struct egress_conf *ec = calloc(1, sizeof(*ec));
	struct addr a;
	size_t n = 0;
	char err[256];

	CHECK(parse("{\"port\": 8443, \"resolve\": {\"API.Payments.Test.\": "
	            "\"127.0.0.1\", \"v6.test\": \"::1\"}, "
	            "\"allow_addresses\": [\"127.0.0.1\", \"::1\"], "
	            "\"upstream_ca_file\": \"/etc/ca.pem\", "
	            "\"system_resolver\": false, \"system_roots\": false}",
	          ec, err, sizeof(err)) == 0);
	CHECK(ec->port == 8443 && ec->map.n == 2 && ec->allow.n == 2);
	CHECK(ec->map.no_system == 1 && ec->system_roots == 0);
	CHECK_STR(ec->upstream_ca_file, "/etc/ca.pem");
	/* names are canonical in the map, and only the map answers */
	CHECK(proxy_resolve_default(&ec->map, "api.payments.test", &a, 1, &n) ==
	        0 &&
	    n == 1);
	CHECK(
	    proxy_resolve_default(&ec->map, "elsewhere.test", &a, 1, &n) != 0);
	free(ec);
}

static void
test_refused(void)
{
	static const char *const bad[] = {
	    "[]",
	    "{\"bogus\": 1}",
	    "{\"port\": 0}",
	    "{\"port\": 65536}",
	    "{\"port\": \"3128\"}",
	    "{\"resolve\": []}",
	    "{\"resolve\": {\"a.test\": \"not-an-address\"}}",
	    "{\"resolve\": {\"a.test\": 1}}",
	    "{\"resolve\": {\"bad name!\": \"127.0.0.1\"}}",
	    "{\"allow_addresses\": \"127.0.0.1\"}",
	    "{\"allow_addresses\": [\"169.254.169.254\"]}",
	    "{\"allow_addresses\": [\"0.0.0.0\"]}",
	    "{\"allow_addresses\": [\"224.0.0.1\"]}",
	    "{\"allow_addresses\": [\"10.0.0.0/8\"]}",
	    "{\"upstream_ca_file\": \"relative.pem\"}",
	    "{\"system_resolver\": 0}",
	    "{\"system_roots\": false}",
	};
	struct egress_conf *ec = calloc(1, sizeof(*ec));
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], ec, err, sizeof(err));

		CHECK(r == PETRI_ERR_INVAL);
		CHECK(strncmp(err, "egress", 6) == 0);
		if (r != PETRI_ERR_INVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
	}
	free(ec);
}

static void
test_in_config(void)
{
	struct petri_config cfg;
	json_t *doc = json_loads("{\"egress\": {\"port\": 0}}", 0, NULL);
	char err[256];

	CHECK(config_parse(doc, &cfg, err, sizeof(err)) == PETRI_ERR_INVAL);
	CHECK(strstr(err, "egress.port") != NULL);
	json_decref(doc);
}

int
main(void)
{
	UNIT_RUN(test_defaults);
	UNIT_RUN(test_full);
	UNIT_RUN(test_refused);
	UNIT_RUN(test_in_config);
	return UNIT_DONE();
}
