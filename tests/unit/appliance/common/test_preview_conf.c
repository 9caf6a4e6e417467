/* test_preview_conf.c: the "preview" configuration section. */
#include <string.h>

#include "preview_conf.h"
#include "unit.h"

static int
parse(const char *text, struct preview_conf *c)
{
	json_t *j = text != NULL ? json_loads(text, 0, NULL) : NULL;
	char err[256];
	int r = preview_conf_parse(j, c, err, sizeof(err));

	json_decref(j);
	return r;
}

static void
test_defaults(void)
{
	struct preview_conf c;

	CHECK(parse(NULL, &c) == 0);
	CHECK_STR(c.listen_host, "127.0.0.1");
	CHECK(c.listen_port == 8081 && c.public_port == 8081);
	CHECK_STR(c.domain, "localhost");
	CHECK_STR(c.scheme, "http");
	CHECK(c.ttl_seconds == 3600 && c.report_seconds == 60);
}

static void
test_domain(void)
{
	struct preview_conf c;

	CHECK(parse("{\"domain\": \"preview.example.org\", \"listen\": "
	            "\"0.0.0.0:9000\"}",
	          &c) == 0);
	CHECK_STR(c.scheme, "https");
	CHECK(c.public_port == 0 && c.listen_port == 9000);
	CHECK(parse("{\"domain\": \"p.example.org\", \"scheme\": \"http\", "
	            "\"public_port\": 8443}",
	          &c) == 0);
	CHECK_STR(c.scheme, "http");
	CHECK(c.public_port == 8443);
}

static void
test_refused(void)
{
	struct preview_conf c;
	const char *bad[] = {"[]", "{\"bogus\": 1}", "{\"listen\": \"x\"}",
	    "{\"listen\": \"1.2.3.4:0\"}", "{\"domain\": \"Upper.org\"}",
	    "{\"domain\": \"a..b\"}", "{\"domain\": \"-a.b\"}",
	    "{\"domain\": \"a-.b\"}", "{\"domain\": \"\"}",
	    "{\"domain\": \"a b\"}", "{\"scheme\": \"ftp\"}",
	    "{\"ttl_seconds\": 0}",
	    "{\"ttl_seconds\": 100, "
	    "\"max_ttl_seconds\": 10}",
	    "{\"report_interval_seconds\": 0}", "{\"public_port\": 70000}",
	    "{\"ttl_seconds\": \"5\"}"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse(bad[i], &c) == PETRI_ERR_INVAL);
}

int
main(void)
{
	UNIT_RUN(test_defaults);
	UNIT_RUN(test_domain);
	UNIT_RUN(test_refused);
	return UNIT_DONE();
}
