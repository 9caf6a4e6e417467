/*
 * test_policy.c: policy documents (strict parsing, clear errors, over-broad
 * patterns, registry presets, limits, hash and canonical form), evaluation
 * (docs/egress-attacks.md, cases 7, 8, 10, 21, 28) and the shipped
 * example policies.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "path.h"
#include "policy.h"
#include "util.h"
#include "unit.h"

static const char *const pypi_hosts[] = {
    "pypi.mirror.corp.example",
    "files.mirror.corp.example:8443",
};
static const char *const go_hosts[] = {"*.goproxy.corp.example"};
static const char *const gems_hosts[] = {"gems.corp.example"};
static const struct policy_registry test_regs[] = {
    {"pypi", pypi_hosts, 2},
    {"npm", NULL, 0},
    {"go", go_hosts, 1},
    {"rubygems", gems_hosts, 1},
};
static const struct policy_registry_map test_map = {test_regs, 4};

/* The example of docs/policies.md. */
static const char egress_example[] =
    "{ \"name\": \"payments-agent\", \"default\": \"deny\",\n"
    "  \"allow\": [\n"
    "    {\"host\": \"api.stripe.com\", \"methods\": [\"GET\", \"POST\"], "
    "\"paths\": [\"/v1/\"]},\n"
    "    {\"host\": \"*.internal-mirror.example\", \"port\": 443}\n"
    "  ],\n"
    "  \"registries\": [\"pypi\"],\n"
    "  \"limits\": {\"max_body_bytes\": 1048576, \"max_requests\": 200} }\n";

static struct policy *
load(const char *doc, const struct policy_registry_map *map)
{
	struct policy *p = NULL;
	char err[POLICY_ERR_MAX];

	if (policy_parse(doc, strlen(doc), map, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "  unexpected parse error: %s\n", err);
		return NULL;
	}
	return p;
}

/* Parses doc expecting failure code want with msg in the message. */
static int
refused(const char *doc, int want, const char *msg)
{
	struct policy *p = (struct policy *)1;
	char err[POLICY_ERR_MAX];
	int r;

	r = policy_parse(doc, strlen(doc), &test_map, &p, err, sizeof(err));
	if (p != NULL) {
		policy_free(p);
		return 0;
	}
	if (r != want || strstr(err, msg) == NULL) {
		fprintf(stderr, "  %s\n  -> %d \"%s\", want %d \"%s\"\n", doc,
		    r, err, want, msg);
		return 0;
	}
	return 1;
}

/* Evaluates one request; returns the reason, sets *rule. */
static enum policy_reason
eval(const struct policy *p, const char *scheme, const char *authority,
    const char *method, const char *target, long *rule)
{
	static char path[POLICY_REQ_PATH_MAX + 1];
	struct egress_request req;
	struct policy_decision d;
	struct host h;
	uint16_t port;
	int r;

	*rule = -2;
	if (host_authority_parse(
	        authority, strlen(authority), scheme, &h, &port, NULL) != 0)
		return POLICY_DENY_INVALID;
	memset(&req, 0, sizeof(req));
	req.scheme = scheme;
	req.host = &h;
	req.port = port;
	req.method = method;
	req.path = NULL;
	if (target != NULL &&
	    path_normalize(target, strlen(target), path, sizeof(path), NULL) ==
	        0)
		req.path = path;
	r = policy_eval(p, &req, &d);
	*rule = d.rule;
	if ((r == 0) != (d.allow == 1) || d.why == NULL ||
	    strcmp(d.why, policy_reason_str(d.reason)) != 0)
		return POLICY_DENY_INVALID;
	if (d.allow && (d.reason != POLICY_ALLOWED || d.rule < 0))
		return POLICY_DENY_INVALID;
	if (!d.allow && (d.rule != -1 || r != PETRI_ERR_PERM))
		return POLICY_DENY_INVALID;
	return d.reason;
}

static void
test_parse_example(void)
{
	struct policy *p;
	const struct policy_rule *r;

	if ((p = load(egress_example, &test_map)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_STR(p->name, "payments-agent");
	CHECK_EQ(p->nallow, 2);
	CHECK_EQ(p->nrules, 4);
	r = &p->rules[0];
	CHECK_STR(r->host.text, "api.stripe.com");
	CHECK_EQ(r->schemes, POLICY_SCHEME_HTTP | POLICY_SCHEME_HTTPS);
	CHECK_EQ(r->port, 0);
	CHECK_EQ(r->nmethods, 2);
	CHECK_STR(r->methods[1], "POST");
	CHECK_EQ(r->npaths, 1);
	CHECK_STR(r->paths[0], "/v1/");
	CHECK_STR(r->registry, "");
	r = &p->rules[1];
	CHECK_STR(r->host.text, "*.internal-mirror.example");
	CHECK_EQ(r->port, 443);
	CHECK_EQ(r->nmethods, 0);
	CHECK_EQ(r->npaths, 0);
	r = &p->rules[2];
	CHECK_STR(r->host.text, "pypi.mirror.corp.example");
	CHECK_STR(r->registry, "pypi");
	CHECK_EQ(r->nmethods, 2);
	CHECK_STR(r->methods[0], "GET");
	CHECK_STR(r->methods[1], "HEAD");
	CHECK_EQ(p->rules[3].port, 8443);
	CHECK_EQ(p->limits.max_body_bytes, 1048576);
	CHECK_EQ(p->limits.max_requests, 200);
	CHECK_EQ(p->limits.max_bytes_out, POLICY_DEFAULT_MAX_BYTES_OUT);
	CHECK_EQ(p->limits.rate_per_host, POLICY_DEFAULT_RATE_PER_HOST);
	CHECK_EQ(strlen(p->hash), 64);
	policy_free(p);
	policy_free(NULL);
}

static void
test_parse_errors(void)
{
	/* JSON itself */
	CHECK(refused("", PETRI_ERR_INVAL, "JSON error"));
	CHECK(refused("{", PETRI_ERR_INVAL, "JSON error at line 1"));
	CHECK(refused("[]", PETRI_ERR_INVAL, "must be a JSON object"));
	CHECK(refused("{\"name\":\"a\"} x", PETRI_ERR_INVAL, "JSON error"));
	CHECK(refused(
	    "{\"name\":\"a\",\"name\":\"b\"}", PETRI_ERR_INVAL, "duplicate"));
	CHECK(refused("{\"name\":\"a\\u0000\"}", PETRI_ERR_INVAL, "JSON"));
	/* top level */
	CHECK(refused("{\"name\":\"a\",\"allw\":[]}", PETRI_ERR_INVAL,
	    "policy: unknown field \"allw\""));
	CHECK(refused("{}", PETRI_ERR_INVAL, "name: required"));
	CHECK(refused("{\"name\":\"\"}", PETRI_ERR_INVAL, "name"));
	CHECK(refused("{\"name\":\"a b\"}", PETRI_ERR_INVAL, "name"));
	CHECK(refused("{\"name\":\"-a\"}", PETRI_ERR_INVAL, "name"));
	CHECK(refused("{\"name\":7}", PETRI_ERR_INVAL, "name"));
	CHECK(refused("{\"name\":\"a\",\"default\":\"allow\"}", PETRI_ERR_INVAL,
	    "default: only \"deny\""));
	CHECK(refused(
	    "{\"name\":\"a\",\"default\":null}", PETRI_ERR_INVAL, "default"));
	CHECK(refused("{\"name\":\"a\",\"allow\":{}}", PETRI_ERR_INVAL,
	    "allow: must be an array"));
	/* rules */
	CHECK(refused("{\"name\":\"a\",\"allow\":[1]}", PETRI_ERR_INVAL,
	    "allow[0]: must be an object"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{}]}", PETRI_ERR_INVAL,
	    "allow[0].host: required"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"method\":[\"GET\"]}]}",
	    PETRI_ERR_INVAL, "allow[0]: unknown field \"method\""));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\"},"
	              "{\"host\":\"a_b.c\"}]}",
	    PETRI_ERR_INVAL, "allow[1].host: \"a_b.c\": '_'"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"scheme\":\"ftp\"}]}",
	    PETRI_ERR_INVAL, "allow[0].scheme"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"scheme\":\"HTTPS\"}]}",
	    PETRI_ERR_INVAL, "allow[0].scheme"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"port\":0}]}",
	    PETRI_ERR_INVAL, "allow[0].port"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"port\":65536}]}",
	    PETRI_ERR_INVAL, "allow[0].port"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"port\":\"443\"}]}",
	    PETRI_ERR_INVAL, "allow[0].port"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"port\":443.0}]}",
	    PETRI_ERR_INVAL, "allow[0].port"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"methods\":[\"get\"]}]}",
	    PETRI_ERR_INVAL, "allow[0].methods[0]: must be an upper-case"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"methods\":[]}]}",
	    PETRI_ERR_INVAL, "non-empty"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"methods\":\"GET\"}]}",
	    PETRI_ERR_INVAL, "allow[0].methods"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"methods\":[\"GET\",\"GET\"]}]}",
	    PETRI_ERR_INVAL, "duplicate method"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"methods\":[\"CONNECT\"]}]}",
	    PETRI_ERR_INVAL, "CONNECT"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"methods\":[\"G ET\"]}]}",
	    PETRI_ERR_INVAL, "methods[0]"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"paths\":[]}]}",
	    PETRI_ERR_INVAL, "non-empty"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"paths\":[\"v1\"]}]}",
	    PETRI_ERR_INVAL, "allow[0].paths[0]: path must start"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"paths\":[\"\"]}]}",
	    PETRI_ERR_INVAL, "allow[0].paths[0]"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"paths\":[\"/v1/../admin\"]}]}",
	    PETRI_ERR_INVAL, "not in normal form; write \"/admin\""));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"paths\":[\"/%7euser\"]}]}",
	    PETRI_ERR_INVAL, "write \"/~user\""));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"paths\":[\"/v1;x\"]}]}",
	    PETRI_ERR_INVAL, "';'"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"paths\":[\"/v1?x=1\"]}]}",
	    PETRI_ERR_INVAL, "query"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"paths\":[\"/a\",\"/a\"]}]}",
	    PETRI_ERR_INVAL, "duplicate path"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"paths\":[7]}]}",
	    PETRI_ERR_INVAL, "paths[0]: must be a string"));
	/* registries */
	CHECK(refused("{\"name\":\"a\",\"registries\":\"pypi\"}",
	    PETRI_ERR_INVAL, "registries: must be an array"));
	CHECK(refused("{\"name\":\"a\",\"registries\":[\"cargo\"]}",
	    PETRI_ERR_INVAL, "registries[0]: unknown registry \"cargo\""));
	CHECK(refused("{\"name\":\"a\",\"registries\":[\"PyPI\"]}",
	    PETRI_ERR_INVAL, "registries[0]"));
	CHECK(refused("{\"name\":\"a\",\"registries\":[\"npm\",\"npm\"]}",
	    PETRI_ERR_INVAL, "duplicate registry"));
	/* limits */
	CHECK(refused("{\"name\":\"a\",\"limits\":[]}", PETRI_ERR_INVAL,
	    "limits: must be an object"));
	CHECK(refused("{\"name\":\"a\",\"limits\":{\"max_body\":1}}",
	    PETRI_ERR_INVAL, "limits: unknown field \"max_body\""));
	CHECK(refused("{\"name\":\"a\",\"limits\":{\"max_requests\":-1}}",
	    PETRI_ERR_INVAL, "limits.max_requests"));
	CHECK(refused("{\"name\":\"a\",\"limits\":{\"max_requests\":1.5}}",
	    PETRI_ERR_INVAL, "limits.max_requests"));
	CHECK(refused("{\"name\":\"a\",\"limits\":{\"max_requests\":"
	              "1000001}}",
	    PETRI_ERR_INVAL, "limits.max_requests"));
	CHECK(refused("{\"name\":\"a\",\"limits\":{\"rate_per_host\":0}}",
	    PETRI_ERR_INVAL, "limits.rate_per_host"));
	CHECK(refused("{\"name\":\"a\",\"limits\":{\"max_body_bytes\":"
	              "99999999999999999999999}}",
	    PETRI_ERR_INVAL, "JSON error"));
	CHECK(refused("{\"name\":\"a\",\"limits\":{\"max_bytes_out\":"
	              "true}}",
	    PETRI_ERR_INVAL, "limits.max_bytes_out"));
}

static void
test_overbroad(void)
{
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"*\"}]}",
	    PETRI_ERR_PERM,
	    "allow[0].host: \"*\": pattern \"*\" is too broad"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"*.com\"}]}",
	    PETRI_ERR_PERM, "allow[0].host: \"*.com\": wildcard too broad"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\"},"
	              "{\"host\":\"*.io.\"}]}",
	    PETRI_ERR_PERM, "allow[1].host"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"*.*.com\"}]}",
	    PETRI_ERR_INVAL, "'*' is only allowed"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"localhost\"}]}",
	    PETRI_ERR_PERM, "always denied"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":"
	              "\"metadata.google.internal\"}]}",
	    PETRI_ERR_PERM, "always denied"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":"
	              "\"*.x.localhost\"}]}",
	    PETRI_ERR_PERM, "always-denied"));
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":"
	              "\"[fe80::1%25eth0]\"}]}",
	    PETRI_ERR_PERM, "zone"));
}

/* Registry presets: expansion, empty presets, operator map errors. */
static void
test_registries(void)
{
	static const char *const bad_hosts[] = {"*.com"};
	static const char *const bad_port[] = {"a.example:0"};
	static const char *const v6_hosts[] = {
	    "[2001:db8::1]:8080", "2001:db8::2"};
	static const struct policy_registry bad[] = {{"pypi", bad_hosts, 1}};
	static const struct policy_registry badp[] = {{"pypi", bad_port, 1}};
	static const struct policy_registry v6[] = {{"maven", v6_hosts, 2}};
	struct policy_registry_map m;
	struct policy *p = NULL;
	char err[POLICY_ERR_MAX];
	long rule;
	const char *doc = "{\"name\":\"r\",\"registries\":[\"pypi\",\"npm\","
	                  "\"go\",\"maven\",\"rubygems\"]}";

	/* No map: presets expand to nothing, names are still checked */
	p = load("{\"name\":\"r\",\"registries\":[\"pypi\",\"npm\",\"go\","
	         "\"maven\"]}",
	    NULL);
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_EQ(p->nregistries, 4);
		CHECK_EQ(p->nrules, 0);
		CHECK_EQ(eval(p, "https", "pypi.public.example", "GET",
		             "/simple/", &rule),
		    POLICY_DENY_HOST);
		policy_free(p);
	}
	CHECK_EQ(policy_parse(doc, strlen(doc), NULL, &p, err, sizeof(err)),
	    PETRI_ERR_INVAL);
	CHECK(strstr(err, "rubygems") != NULL);
	/* With the operator's map */
	if ((p = load(doc, &test_map)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_EQ(p->nallow, 0);
	CHECK_EQ(p->nrules, 4); /* pypi 2, npm 0, go 1, maven 0, gems 1 */
	CHECK_EQ(eval(p, "https", "pypi.mirror.corp.example", "GET",
	             "/simple/requests/", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(rule, 0);
	CHECK_EQ(
	    eval(p, "https", "pypi.mirror.corp.example", "HEAD", "/x", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "https", "pypi.mirror.corp.example", "POST", "/x", &rule),
	    POLICY_DENY_METHOD);
	CHECK_EQ(eval(p, "https", "pypi.mirror.corp.example:8443", "GET", "/",
	             &rule),
	    POLICY_DENY_PORT);
	CHECK_EQ(eval(p, "https", "files.mirror.corp.example:8443", "GET",
	             "/p.whl", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(rule, 1);
	CHECK_EQ(eval(p, "https", "files.mirror.corp.example", "GET", "/p.whl",
	             &rule),
	    POLICY_DENY_PORT);
	CHECK_EQ(
	    eval(p, "https", "sum.goproxy.corp.example", "GET", "/x", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(rule, 2);
	CHECK_STR(p->rules[2].registry, "go");
	CHECK_EQ(eval(p, "https", "goproxy.corp.example", "GET", "/x", &rule),
	    POLICY_DENY_HOST);
	CHECK_EQ(eval(p, "https", "npm.public.example", "GET", "/x", &rule),
	    POLICY_DENY_HOST);
	policy_free(p);
	/* Errors in the operator's map are reported against the preset */
	m.v = bad;
	m.n = 1;
	CHECK_EQ(policy_parse(doc, strlen(doc), &m, &p, err, sizeof(err)),
	    PETRI_ERR_INVAL);
	doc = "{\"name\":\"r\",\"registries\":[\"pypi\"]}";
	CHECK_EQ(policy_parse(doc, strlen(doc), &m, &p, err, sizeof(err)),
	    PETRI_ERR_PERM);
	CHECK(strstr(err, "registry pypi: host \"*.com\"") != NULL);
	m.v = badp;
	CHECK_EQ(policy_parse(doc, strlen(doc), &m, &p, err, sizeof(err)),
	    PETRI_ERR_INVAL);
	CHECK(strstr(err, "invalid port") != NULL);
	m.v = v6;
	doc = "{\"name\":\"r\",\"registries\":[\"maven\"]}";
	p = load(doc, &m);
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_EQ(p->nrules, 2);
		CHECK_EQ(p->rules[0].port, 8080);
		CHECK_STR(p->rules[0].host.text, "2001:db8::1");
		CHECK_EQ(p->rules[1].port, 0);
		CHECK_STR(p->rules[1].host.text, "2001:db8::2");
		policy_free(p);
	}
}

static void
test_eval(void)
{
	struct policy *p;
	long rule;

	if ((p = load(egress_example, &test_map)) == NULL) {
		CHECK(0);
		return;
	}
	/* methods and paths */
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com", "GET", "/v1/charges", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(rule, 0);
	CHECK_EQ(eval(p, "https", "api.stripe.com:443", "POST",
	             "/v1/charges?amount=1", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com", "DELETE", "/v1/charges", &rule),
	    POLICY_DENY_METHOD);
	CHECK_EQ(rule, -1);
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com", "get", "/v1/charges", &rule),
	    POLICY_DENY_METHOD);
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com", "GET", "/v2/charges", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(eval(p, "https", "api.stripe.com", "GET", "/v1", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(eval(p, "https", "api.stripe.com", "GET", "/", &rule),
	    POLICY_DENY_PATH);
	/* case 8: path tricks */
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com", "GET", "/v1/../admin", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(eval(p, "https", "api.stripe.com", "GET", "/v1/%2e%2e/admin",
	             &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com", "GET", "/v1//../admin", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com", "GET", "/v1;x/../admin", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(eval(p, "https", "api.stripe.com", "GET", "/v1/x;y", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com", "GET", "/V1/charges", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com", "GET", "//v1/charges", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(eval(p, "https", "api.stripe.com", "GET", "/v1/a/../b", &rule),
	    POLICY_ALLOWED);
	/* case 7: look-alikes */
	CHECK_EQ(eval(p, "https", "API.STRIPE.COM.", "GET", "/v1/x", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "https", "api.stripe.com.evil.net", "GET", "/v1/x", &rule),
	    POLICY_DENY_HOST);
	CHECK_EQ(eval(p, "https", "evilstripe.com", "GET", "/v1/x", &rule),
	    POLICY_DENY_HOST);
	CHECK_EQ(
	    eval(p, "https", "xn--pi-stripe-9ib.com", "GET", "/v1/x", &rule),
	    POLICY_DENY_HOST);
	CHECK_EQ(
	    eval(p, "https", "\xd0\xb0pi.stripe.com", "GET", "/v1/x", &rule),
	    POLICY_DENY_INVALID);
	/* case 10: bound host on another port; scheme default ports */
	CHECK_EQ(eval(p, "https", "api.stripe.com:8443", "GET", "/v1/x", &rule),
	    POLICY_DENY_PORT);
	CHECK_EQ(eval(p, "https", "api.stripe.com:80", "GET", "/v1/x", &rule),
	    POLICY_DENY_PORT);
	CHECK_EQ(eval(p, "http", "api.stripe.com", "GET", "/v1/x", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(eval(p, "http", "api.stripe.com:443", "GET", "/v1/x", &rule),
	    POLICY_DENY_PORT);
	/* wildcard rule with an explicit port */
	CHECK_EQ(eval(p, "https", "pkgs.internal-mirror.example", "PUT",
	             "/any/thing", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(rule, 1);
	CHECK_EQ(eval(p, "http", "pkgs.internal-mirror.example:443", "GET", "/",
	             &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "http", "pkgs.internal-mirror.example", "GET", "/", &rule),
	    POLICY_DENY_PORT);
	CHECK_EQ(eval(p, "https", "internal-mirror.example", "GET", "/", &rule),
	    POLICY_DENY_HOST);
	/* an unnormalisable path still passes rules without paths */
	CHECK_EQ(eval(p, "https", "a.internal-mirror.example", "GET",
	             "/x;y=%00", &rule),
	    POLICY_ALLOWED);
	/* connection level (CONNECT): host, scheme and port only */
	CHECK_EQ(eval(p, "https", "api.stripe.com:443", NULL, NULL, &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(eval(p, "https", "api.stripe.com:8443", NULL, NULL, &rule),
	    POLICY_DENY_PORT);
	CHECK_EQ(eval(p, "https", "evil.net:443", NULL, NULL, &rule),
	    POLICY_DENY_HOST);
	/* cases 21, 26, 28: no rule, no resolution */
	CHECK_EQ(eval(p, "http", "169.254.169.254", "GET", "/", &rule),
	    POLICY_DENY_HOST);
	CHECK_EQ(eval(p, "http", "metadata.google.internal", "GET", "/", &rule),
	    POLICY_DENY_NAME);
	CHECK_EQ(eval(p, "http", "localhost:8080", "GET", "/", &rule),
	    POLICY_DENY_NAME);
	CHECK_EQ(eval(p, "https", "exfil-data.attacker.tld", "GET", "/", &rule),
	    POLICY_DENY_HOST);
	policy_free(p);
}

/* Schemes, ordering, always-denied names behind a wildcard. */
static void
test_eval_more(void)
{
	struct policy *p;
	struct policy_decision d;
	struct egress_request req;
	struct host h;
	long rule;
	const char *doc =
	    "{\"name\":\"m\",\"allow\":["
	    "{\"host\":\"api.example.com\",\"scheme\":\"https\","
	    "\"methods\":[\"GET\"],\"paths\":[\"/v1\",\"/v2/\"]},"
	    "{\"host\":\"api.example.com\",\"scheme\":\"https\","
	    "\"methods\":[\"POST\"],\"paths\":[\"/v1/upload\"]},"
	    "{\"host\":\"plain.example.com\",\"scheme\":\"http\"},"
	    "{\"host\":\"*.google.internal\"},"
	    "{\"host\":\"127.0.0.1\",\"port\":8443},"
	    "{\"host\":\"[::1]\",\"port\":8443}]}";

	if ((p = load(doc, NULL)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_EQ(eval(p, "https", "api.example.com", "GET", "/v1", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(rule, 0);
	CHECK_EQ(eval(p, "https", "api.example.com", "GET", "/v10", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(eval(p, "https", "api.example.com", "GET", "/v2", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(eval(p, "https", "api.example.com", "GET", "/v2/x", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "https", "api.example.com", "POST", "/v1/upload/x", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(rule, 1);
	CHECK_EQ(
	    eval(p, "https", "api.example.com", "POST", "/v1/other", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(eval(p, "https", "api.example.com", "PUT", "/v1", &rule),
	    POLICY_DENY_METHOD);
	CHECK_EQ(eval(p, "http", "api.example.com", "GET", "/v1", &rule),
	    POLICY_DENY_SCHEME);
	CHECK_EQ(eval(p, "http", "plain.example.com", "GET", "/", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(eval(p, "https", "plain.example.com", "GET", "/", &rule),
	    POLICY_DENY_SCHEME);
	CHECK_EQ(eval(p, "https", "db.google.internal", "GET", "/", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "https", "metadata.google.internal", "GET", "/", &rule),
	    POLICY_DENY_NAME);
	/* IP literal rules: any spelling matches, the port must too */
	CHECK_EQ(eval(p, "https", "127.0.0.1:8443", "GET", "/", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(rule, 4);
	CHECK_EQ(eval(p, "https", "2130706433:8443", "GET", "/", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "https", "127.0.0.1", "GET", "/", &rule), POLICY_DENY_PORT);
	CHECK_EQ(
	    eval(p, "https", "[0::1]:8443", "GET", "/", &rule), POLICY_ALLOWED);
	CHECK_EQ(rule, 5);
	CHECK_EQ(eval(p, "https", "[::ffff:127.0.0.1]:8443", "GET", "/", &rule),
	    POLICY_DENY_HOST);
	/* malformed requests are denied */
	CHECK_EQ(host_canon("api.example.com", 15, &h, NULL), 0);
	memset(&req, 0, sizeof(req));
	req.host = &h;
	req.port = 443;
	req.method = "GET";
	req.path = "/v1";
	CHECK_EQ(policy_eval(p, &req, &d), PETRI_ERR_INVAL);
	CHECK_EQ(d.allow, 0);
	CHECK_EQ(d.reason, POLICY_DENY_INVALID);
	req.scheme = "ftp";
	CHECK_EQ(policy_eval(p, &req, &d), PETRI_ERR_INVAL);
	req.scheme = "HTTPS";
	CHECK_EQ(policy_eval(p, &req, &d), PETRI_ERR_INVAL);
	req.scheme = "https";
	req.port = 0;
	CHECK_EQ(policy_eval(p, &req, &d), PETRI_ERR_INVAL);
	req.port = 443;
	CHECK_EQ(policy_eval(p, &req, &d), 0);
	CHECK_EQ(d.allow, 1);
	CHECK_STR(d.why, "allowed");
	CHECK_EQ(policy_eval(NULL, &req, &d), PETRI_ERR_INVAL);
	CHECK_EQ(d.allow, 0);
	CHECK_EQ(policy_eval(p, NULL, &d), PETRI_ERR_INVAL);
	CHECK_EQ(policy_eval(p, &req, NULL), PETRI_ERR_INVAL);
	memset(&h, 0, sizeof(h));
	CHECK_EQ(policy_eval(p, &req, &d), PETRI_ERR_INVAL);
	CHECK_STR(policy_reason_str(POLICY_DENY_HOST), "no rule for host");
	CHECK_STR(policy_reason_str(POLICY_DENY_METHOD), "method not allowed");
	CHECK_STR(policy_reason_str(POLICY_DENY_PATH), "path not allowed");
	CHECK_STR(policy_reason_str(POLICY_DENY_PORT), "port not allowed");
	policy_free(p);
}

static void
test_default(void)
{
	struct policy *p = NULL;
	char hex[PETRI_SHA256_HEX];
	long rule;

	CHECK_EQ(policy_default_new(&p), 0);
	if (p == NULL)
		return;
	CHECK_STR(p->name, "deny-all");
	CHECK_EQ(p->nrules, 0);
	petri_sha256_hex(
	    POLICY_DENY_ALL_JSON, sizeof(POLICY_DENY_ALL_JSON) - 1, hex);
	CHECK_STR(p->hash, hex);
	CHECK_STR(p->hash,
	    "6fdcfa15f044950ad2233f1551a6d84ffabecc05305fe9c5c2af5b52e35f2688");
	CHECK_EQ(eval(p, "https", "api.stripe.com", "GET", "/", &rule),
	    POLICY_DENY_HOST);
	CHECK_EQ(eval(p, "https", "93.184.216.34", NULL, NULL, &rule),
	    POLICY_DENY_HOST);
	policy_free(p);
}

/* The policy hash: SHA-256 of the exact bytes; the canonical form. */
static void
test_hash_canonical(void)
{
	static const char reformatted[] =
	    "{\"limits\":{\"max_requests\":200,\"max_body_bytes\":1048576},"
	    "\"registries\":[\"pypi\"],\"default\":\"deny\",\"allow\":["
	    "{\"paths\":[\"/v1/\"],\"methods\":[\"GET\",\"POST\"],"
	    "\"host\":\"API.Stripe.com.\"},"
	    "{\"port\":443,\"host\":\"*.INTERNAL-mirror.example\"}],"
	    "\"name\":\"payments-agent\"}";
	struct policy *a = NULL, *b = NULL, *c = NULL;
	char *ca = NULL, *cb = NULL, *cc = NULL, hex[PETRI_SHA256_HEX];
	size_t la = 0, lb = 0, lc = 0;

	a = load(egress_example, &test_map);
	b = load(reformatted, &test_map);
	if (a == NULL || b == NULL) {
		CHECK(0);
		goto out;
	}
	petri_sha256_hex(egress_example, strlen(egress_example), hex);
	CHECK_STR(a->hash, hex);
	CHECK(strcmp(a->hash, b->hash) != 0);
	policy_free(c);
	c = load(egress_example, NULL);
	CHECK(c != NULL && strcmp(a->hash, c->hash) == 0);
	CHECK_EQ(policy_canonical(a, &ca, &la), 0);
	CHECK_EQ(policy_canonical(b, &cb, &lb), 0);
	if (ca == NULL || cb == NULL) {
		CHECK(0);
		goto out;
	}
	CHECK_STR(ca, cb);
	CHECK_EQ(la, strlen(ca));
	CHECK_STR(ca,
	    "{\"allow\":[{\"host\":\"api.stripe.com\",\"methods\":[\"GET\","
	    "\"POST\"],\"paths\":[\"/v1/\"]},{\"host\":"
	    "\"*.internal-mirror.example\",\"port\":443}],\"default\":\"deny\","
	    "\"limits\":{\"max_body_bytes\":1048576,\"max_bytes_out\":16777216,"
	    "\"max_requests\":200,\"rate_per_host\":50},\"name\":"
	    "\"payments-agent\",\"registries\":[\"pypi\"]}");
	/* canonical is a fixed point */
	policy_free(c);
	c = load(ca, &test_map);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_EQ(policy_canonical(c, &cc, &lc), 0);
		CHECK(cc != NULL && strcmp(ca, cc) == 0);
		CHECK_EQ(c->nrules, a->nrules);
	}
out:
	free(ca);
	free(cb);
	free(cc);
	policy_free(a);
	policy_free(b);
	policy_free(c);
}

static void
test_bounds(void)
{
	struct policy *p = NULL;
	struct buf b;
	char err[POLICY_ERR_MAX];
	size_t i;
	int r;

	/* 256 rules load, 257 do not */
	buf_init(&b, POLICY_MAX_DOC + 16);
	r = buf_append_str(&b, "{\"name\":\"big\",\"allow\":[");
	for (i = 0; r == 0 && i < POLICY_MAX_RULES; i++)
		r = buf_printf(
		    &b, "%s{\"host\":\"h%zu.example\"}", i ? "," : "", i);
	r |= buf_append_str(&b, "]}");
	CHECK_EQ(r, 0);
	CHECK_EQ(
	    policy_parse((char *)b.data, b.len, NULL, &p, err, sizeof(err)), 0);
	CHECK(p != NULL && p->nrules == POLICY_MAX_RULES);
	policy_free(p);
	b.len -= 2;
	r = buf_append_str(&b, ",{\"host\":\"one.more\"}]}");
	CHECK_EQ(r, 0);
	CHECK_EQ(
	    policy_parse((char *)b.data, b.len, NULL, &p, err, sizeof(err)),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err, "more than 256 rules") != NULL);
	/* 256 allow rules + a registry expansion is too many */
	buf_reset(&b);
	r = buf_append_str(&b,
	    "{\"name\":\"big\",\"registries\":[\"go\"],"
	    "\"allow\":[");
	for (i = 0; r == 0 && i < POLICY_MAX_RULES; i++)
		r = buf_printf(
		    &b, "%s{\"host\":\"h%zu.example\"}", i ? "," : "", i);
	r |= buf_append_str(&b, "]}");
	CHECK_EQ(policy_parse(
	             (char *)b.data, b.len, &test_map, &p, err, sizeof(err)),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err, "registries are expanded") != NULL);
	/* methods: 16 ok, 17 not */
	buf_reset(&b);
	r = buf_append_str(&b,
	    "{\"name\":\"m\",\"allow\":[{\"host\":\"a.b\","
	    "\"methods\":[");
	for (i = 0; r == 0 && i < POLICY_MAX_METHODS + 1; i++)
		r = buf_printf(&b, "%s\"M%c\"", i ? "," : "", (int)('A' + i));
	r |= buf_append_str(&b, "]}]}");
	CHECK_EQ(
	    policy_parse((char *)b.data, b.len, NULL, &p, err, sizeof(err)),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err, "allow[0].methods: more than 16") != NULL);
	/* a method token longer than 20 */
	CHECK(refused("{\"name\":\"a\",\"allow\":[{\"host\":\"a.b\","
	              "\"methods\":[\"ABCDEFGHIJKLMNOPQRSTU\"]}]}",
	    PETRI_ERR_INVAL, "methods[0]"));
	/* paths: 64 ok, 65 not; 1024 bytes ok, 1025 not */
	buf_reset(&b);
	r = buf_append_str(&b,
	    "{\"name\":\"m\",\"allow\":[{\"host\":\"a.b\","
	    "\"paths\":[");
	for (i = 0; r == 0 && i < POLICY_MAX_PATHS; i++)
		r = buf_printf(&b, "%s\"/p%zu\"", i ? "," : "", i);
	r |= buf_append_str(&b, "]}]}");
	CHECK_EQ(
	    policy_parse((char *)b.data, b.len, NULL, &p, err, sizeof(err)), 0);
	CHECK(p != NULL && p->rules[0].npaths == POLICY_MAX_PATHS);
	policy_free(p);
	b.len -= 4;
	r = buf_append_str(&b, ",\"/one-more\"]}]}");
	CHECK_EQ(
	    policy_parse((char *)b.data, b.len, NULL, &p, err, sizeof(err)),
	    PETRI_ERR_TOOBIG);
	CHECK(strstr(err, "more than 64 paths") != NULL);
	for (i = 0; i < 2; i++) {
		size_t j;

		buf_reset(&b);
		r = buf_append_str(&b,
		    "{\"name\":\"m\",\"allow\":[{\"host\":"
		    "\"a.b\",\"paths\":[\"/");
		for (j = 0; r == 0 && j < POLICY_PATH_MAX - 1 + i; j++)
			r = buf_append(&b, "x", 1);
		r |= buf_append_str(&b, "\"]}]}");
		CHECK_EQ(r, 0);
		CHECK_EQ(policy_parse(
		             (char *)b.data, b.len, NULL, &p, err, sizeof(err)),
		    i == 0 ? 0 : PETRI_ERR_TOOBIG);
		policy_free(p);
	}
	/* host name length */
	CHECK(refused(
	    "{\"name\":\"a\",\"allow\":[{\"host\":\"aaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b\"}]}",
	    PETRI_ERR_INVAL, "longer than 63"));
	/* registries: more than 16 names */
	buf_reset(&b);
	r = buf_append_str(&b, "{\"name\":\"m\",\"registries\":[");
	for (i = 0; r == 0 && i < POLICY_MAX_REGISTRIES + 1; i++)
		r = buf_printf(&b, "%s\"r%zu\"", i ? "," : "", i);
	r |= buf_append_str(&b, "]}");
	CHECK_EQ(
	    policy_parse((char *)b.data, b.len, NULL, &p, err, sizeof(err)),
	    PETRI_ERR_TOOBIG);
	/* the document itself */
	CHECK_EQ(
	    policy_parse("{}", POLICY_MAX_DOC + 1, NULL, &p, err, sizeof(err)),
	    PETRI_ERR_TOOBIG);
	CHECK_EQ(
	    policy_parse(NULL, 0, NULL, &p, err, sizeof(err)), PETRI_ERR_INVAL);
	/* no error buffer is fine */
	CHECK_EQ(policy_parse("{}", 2, NULL, &p, NULL, 0), PETRI_ERR_INVAL);
	CHECK(p == NULL);
	buf_free(&b);
}

/* Reads a shipped example; NULL when it cannot be read. */
static char *
example(const char *name, size_t *lenp)
{
	const char *dir = getenv("PETRI_SRCDIR");
	char path[512];
	char *doc = NULL;

	if ((size_t)snprintf(path, sizeof(path), "%s/policies/examples/%s",
	        dir != NULL ? dir : ".", name) >= sizeof(path))
		return NULL;
	if (petri_file_read(path, POLICY_MAX_DOC, &doc, lenp) != 0) {
		fprintf(stderr,
		    "  cannot read %s (run from the repository "
		    "root or set PETRI_SRCDIR)\n",
		    path);
		return NULL;
	}
	return doc;
}

static void
test_examples(void)
{
	static const char *const mirror[] = {"mirror.corp.example"};
	static const struct policy_registry pypi[] = {{"pypi", mirror, 1}};
	static const struct policy_registry_map pm = {pypi, 1};
	struct policy *p = NULL, *d = NULL;
	char err[POLICY_ERR_MAX];
	char *doc;
	size_t len = 0;
	long rule;

	/* deny-all.json is the built-in default, byte for byte */
	if ((doc = example("deny-all.json", &len)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_EQ(len, sizeof(POLICY_DENY_ALL_JSON) - 1);
	CHECK(memcmp(doc, POLICY_DENY_ALL_JSON, len) == 0);
	CHECK_EQ(policy_parse(doc, len, NULL, &p, err, sizeof(err)), 0);
	CHECK_EQ(policy_default_new(&d), 0);
	CHECK(p != NULL && d != NULL && strcmp(p->hash, d->hash) == 0);
	CHECK(p != NULL && p->nrules == 0);
	policy_free(p);
	policy_free(d);
	free(doc);
	p = NULL;

	if ((doc = example("api-client.json", &len)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_EQ(policy_parse(doc, len, NULL, &p, err, sizeof(err)), 0);
	free(doc);
	if (p == NULL) {
		fprintf(stderr, "  api-client.json: %s\n", err);
		CHECK(0);
		return;
	}
	CHECK_STR(p->name, "api-client");
	CHECK_EQ(p->limits.max_requests, 200);
	CHECK_EQ(
	    eval(p, "https", "api.payments.test", "POST", "/v1/charges", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "https", "api.payments.test", "GET", "/v1/x?y=1", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "https", "api.payments.test", "DELETE", "/v1/x", &rule),
	    POLICY_DENY_METHOD);
	CHECK_EQ(eval(p, "https", "api.payments.test", "GET", "/admin", &rule),
	    POLICY_DENY_PATH);
	CHECK_EQ(eval(p, "http", "api.payments.test", "GET", "/v1/", &rule),
	    POLICY_DENY_SCHEME);
	CHECK_EQ(
	    eval(p, "https", "status.payments.test", "GET", "/health", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(rule, 1);
	CHECK_EQ(
	    eval(p, "https", "status.payments.test", "GET", "/healthz", &rule),
	    POLICY_DENY_PATH);
	policy_free(p);
	p = NULL;

	if ((doc = example("registries-only.json", &len)) == NULL) {
		CHECK(0);
		return;
	}
	CHECK_EQ(policy_parse(doc, len, NULL, &p, err, sizeof(err)), 0);
	CHECK(p != NULL && p->nregistries == 4 && p->nrules == 0);
	policy_free(p);
	p = NULL;
	CHECK_EQ(policy_parse(doc, len, &pm, &p, err, sizeof(err)), 0);
	free(doc);
	if (p == NULL) {
		CHECK(0);
		return;
	}
	CHECK_EQ(p->nrules, 1);
	CHECK_EQ(eval(p, "https", "mirror.corp.example", "GET",
	             "/simple/requests/", &rule),
	    POLICY_ALLOWED);
	CHECK_EQ(
	    eval(p, "https", "pypi.public.example", "GET", "/simple/", &rule),
	    POLICY_DENY_HOST);
	policy_free(p);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	UNIT_RUN(test_parse_example);
	UNIT_RUN(test_parse_errors);
	UNIT_RUN(test_overbroad);
	UNIT_RUN(test_registries);
	UNIT_RUN(test_eval);
	UNIT_RUN(test_eval_more);
	UNIT_RUN(test_default);
	UNIT_RUN(test_hash_canonical);
	UNIT_RUN(test_bounds);
	UNIT_RUN(test_examples);
	return UNIT_DONE();
}
