/*
 * fuzz_policy.c: libFuzzer target for policy documents: parse (with a
 * registry map), canonical form, evaluation.  Aborts when an invariant
 * breaks:
 *  - a failed parse leaves no policy; a parsed one has a 64-digit hash;
 *  - the canonical form parses and is a fixed point with as many rules;
 *  - every decision is consistent (allowed <=> return 0 <=> a valid rule
 *    index), and always-denied names are never allowed;
 *  - each exact-host rule allows a request built from it (its host, scheme,
 *    port, first method and first path).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_pypi[] = {
    "pypi.mirror.example", "files.mirror.example:8443"};
static const char *const fuzz_go[] = {"*.goproxy.example"};
static const struct policy_registry fuzz_regs[] = {
    {"pypi", fuzz_pypi, 2},
    {"npm", NULL, 0},
    {"go", fuzz_go, 1},
};
static const struct policy_registry_map fuzz_map = {fuzz_regs, 3};

/* Decides one request; aborts on an inconsistent decision. */
static int
fuzz_eval(const struct policy *p, const char *scheme, const char *host,
    uint16_t port, const char *method, const char *target)
{
	char path[POLICY_PATH_MAX + 2];
	struct egress_request req;
	struct policy_decision d;
	struct host h;
	int r;

	if (host_canon(host, strlen(host), &h, NULL) != 0)
		return -1;
	memset(&req, 0, sizeof(req));
	req.scheme = scheme;
	req.host = &h;
	req.port = port;
	req.method = method;
	if (target != NULL && strlen(target) < sizeof(path) &&
	    path_normalize(target, strlen(target), path, sizeof(path), NULL) ==
	        0)
		req.path = path;
	r = policy_eval(p, &req, &d);
	if ((r == 0) != (d.allow == 1) || d.why == NULL)
		abort();
	if (d.allow &&
	    (d.rule < 0 || (size_t)d.rule >= p->nrules ||
	        d.reason != POLICY_ALLOWED))
		abort();
	if (!d.allow && (d.rule != -1 || d.reason == POLICY_ALLOWED))
		abort();
	if (d.allow && h.kind == HOST_KIND_NAME && addr_name_is_denied(h.name))
		abort();
	return r;
}

static void
fuzz_rules(const struct policy *p)
{
	const struct policy_rule *r;
	const char *scheme;
	uint16_t port;
	size_t i;

	for (i = 0; i < p->nrules && i < 16; i++) {
		r = &p->rules[i];
		scheme = (r->schemes & POLICY_SCHEME_HTTPS) ? "https" : "http";
		port = r->port != 0 ? r->port : host_scheme_port(scheme);
		if (!r->host.wildcard &&
		    fuzz_eval(p, scheme, r->host.text, port,
		        r->nmethods ? r->methods[0] : "GET",
		        r->npaths ? r->paths[0] : "/") != 0)
			abort();
		(void)fuzz_eval(
		    p, scheme, r->host.host.name, port, "GET", "/v1/../admin");
		(void)fuzz_eval(p, scheme, r->host.host.name, port, NULL, NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL, *q = NULL;
	char err[POLICY_ERR_MAX], *c1 = NULL, *c2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (policy_parse((const char *)data, size, &fuzz_map, &p, err,
	        sizeof(err)) != 0) {
		if (p != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if (p == NULL || strlen(p->hash) != 64 || p->nrules < p->nallow)
		abort();
	if (policy_canonical(p, &c1, &l1) != 0)
		abort();
	if (policy_parse(c1, l1, &fuzz_map, &q, err, sizeof(err)) != 0)
		abort();
	if (policy_canonical(q, &c2, &l2) != 0 || l1 != l2 ||
	    memcmp(c1, c2, l1) != 0 || q->nrules != p->nrules)
		abort();
	fuzz_rules(p);
	(void)fuzz_eval(p, "https", "api.stripe.com", 443, "GET", "/v1/x");
	(void)fuzz_eval(p, "http", "metadata.google.internal", 80, "GET", "/");
	(void)fuzz_eval(p, "https", "localhost", 443, NULL, NULL);
	(void)fuzz_eval(p, "https", "169.254.169.254", 443, "GET", "/");
	(void)fuzz_eval(p, "https", "a.b.goproxy.example", 443, "HEAD", "/x");
	free(c1);
	free(c2);
	policy_free(p);
	policy_free(q);
	return 0;
}
