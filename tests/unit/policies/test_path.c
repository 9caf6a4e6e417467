/*
 * test_path.c: request path normalisation and prefix matching (attack
 * case 8 of docs/egress-attacks.md: path tricks are normalised before matching).
 */
#include <string.h>

#include "path.h"
#include "unit.h"

/* Normalised s, or "!" when refused. */
static const char *
norm(const char *s)
{
	static char out[POLICY_REQ_PATH_MAX + 2];

	if (path_normalize(s, strlen(s), out, sizeof(out), NULL) != 0)
		return "!";
	return out;
}

/* 1 when the request target s, normalised, lies under prefix. */
static int
under(const char *prefix, const char *s)
{
	char out[POLICY_REQ_PATH_MAX + 2];

	if (path_normalize(s, strlen(s), out, sizeof(out), NULL) != 0)
		return -1;
	return path_prefix_match(prefix, out);
}

static void
test_plain(void)
{
	CHECK_STR(norm("/"), "/");
	CHECK_STR(norm(""), "/");
	CHECK_STR(norm("/v1/charges"), "/v1/charges");
	CHECK_STR(norm("/v1/"), "/v1/");
	CHECK_STR(norm("/v1/charges?limit=3&x=/../admin"), "/v1/charges");
	CHECK_STR(norm("/?q"), "/");
	CHECK_STR(norm("/a:b@c!$&'()*+,=-._~"), "/a:b@c!$&'()*+,=-._~");
	CHECK_STR(norm("/%7Euser/%41%62"), "/~user/Ab");
	CHECK_STR(norm("/a%20b/%c3%a9"), "/a%20b/%C3%A9");
	CHECK_STR(norm("/a%3fb"), "/a%3Fb");
	CHECK_STR(norm("/a%23b"), "/a%23b");
}

/* Case 8: the tricks against a rule for /v1/. */
static void
test_tricks(void)
{
	CHECK_STR(norm("/v1/../admin"), "/admin");
	CHECK_EQ(under("/v1/", "/v1/../admin"), 0);
	CHECK_STR(norm("/v1/%2e%2e/admin"), "/admin");
	CHECK_STR(norm("/v1/%2E%2E/admin"), "/admin");
	CHECK_STR(norm("/v1/.%2e/admin"), "/admin");
	CHECK_STR(norm("/v1/%2e./admin"), "/admin");
	CHECK_EQ(under("/v1/", "/v1/%2e%2e/admin"), 0);
	CHECK_STR(norm("/v1/./x"), "/v1/x");
	CHECK_STR(norm("/v1/%2e/x"), "/v1/x");
	CHECK_STR(norm("//v1//x"), "/v1/x");
	CHECK_STR(norm("/v1//x"), "/v1/x");
	CHECK_EQ(under("/v1/", "//v1/x"), 1);
	CHECK_STR(norm("///admin"), "/admin");
	/* "//" is collapsed before ".." so ".." climbs as far as it can */
	CHECK_STR(norm("/v1//../admin"), "/admin");
	CHECK_EQ(under("/v1/", "/v1//../admin"), 0);
	CHECK_STR(norm("/../../etc/passwd"), "/etc/passwd");
	CHECK_STR(norm("/v1/a/b/../../../x"), "/x");
	CHECK_STR(norm("/v1/.."), "/");
	CHECK_STR(norm("/v1/."), "/v1/");
	CHECK_STR(norm("/v1/a/.."), "/v1/");
	CHECK_STR(norm("/v1/a/../"), "/v1/");
	CHECK_STR(norm("/v1/..."), "/v1/...");
	CHECK_STR(norm("/v1/..a"), "/v1/..a");
	/* ';' path parameters refused, raw or encoded */
	CHECK_STR(norm("/v1;x/../admin"), "!");
	CHECK_STR(norm("/admin;/v1/"), "!");
	CHECK_STR(norm("/v1/x;jsessionid=1"), "!");
	CHECK_STR(norm("/v1/x%3bx"), "!");
	CHECK_EQ(under("/v1/", "/v1/x;y"), -1);
	/* encoded separators, NUL, controls, double encoding */
	CHECK_STR(norm("/v1%2f..%2fadmin"), "!");
	CHECK_STR(norm("/v1/%2F"), "!");
	CHECK_STR(norm("/v1/%00"), "!");
	CHECK_STR(norm("/v1/%0d%0aX:1"), "!");
	CHECK_STR(norm("/v1/%7f"), "!");
	CHECK_STR(norm("/v1/%252e%252e/admin"), "!");
	CHECK_STR(norm("/v1/%5c..%5cadmin"), "!");
	CHECK_STR(norm("/v1\\..\\admin"), "!");
	/* malformed escapes, raw bytes, forms that are not origin-form */
	CHECK_STR(norm("/v1/%"), "!");
	CHECK_STR(norm("/v1/%2"), "!");
	CHECK_STR(norm("/v1/%zz"), "!");
	CHECK_STR(norm("/v1/a b"), "!");
	CHECK_STR(norm("/v1/\x01"), "!");
	CHECK_STR(norm("/v1/\xc3\xa9"), "!");
	CHECK_STR(norm("/v1/<x>"), "!");
	CHECK_STR(norm("/v1/x#frag"), "!");
	CHECK_STR(norm("v1/x"), "!");
	CHECK_STR(norm("*"), "!");
	CHECK_STR(norm("http://h/v1/"), "!");
	CHECK_STR(norm("?x"), "!");
	/* case is kept and matters */
	CHECK_STR(norm("/V1/x"), "/V1/x");
	CHECK_EQ(under("/v1/", "/V1/x"), 0);
	CHECK_EQ(under("/v1/", "/%76%31/x"), 1);
}

static void
test_prefix(void)
{
	CHECK_EQ(path_prefix_match("/v1/", "/v1/x"), 1);
	CHECK_EQ(path_prefix_match("/v1/", "/v1/"), 1);
	CHECK_EQ(path_prefix_match("/v1/", "/v1"), 0);
	CHECK_EQ(path_prefix_match("/v1/", "/v10/x"), 0);
	CHECK_EQ(path_prefix_match("/v1", "/v1"), 1);
	CHECK_EQ(path_prefix_match("/v1", "/v1/"), 1);
	CHECK_EQ(path_prefix_match("/v1", "/v1/x/y"), 1);
	CHECK_EQ(path_prefix_match("/v1", "/v10"), 0);
	CHECK_EQ(path_prefix_match("/v1", "/v1x"), 0);
	CHECK_EQ(path_prefix_match("/v1", "/v"), 0);
	CHECK_EQ(path_prefix_match("/", "/anything"), 1);
	CHECK_EQ(path_prefix_match("/", "/"), 1);
	CHECK_EQ(path_prefix_match("/v1/charges", "/v1/charges/ch_1"), 1);
	CHECK_EQ(path_prefix_match("/v1/charges", "/v1/chargesx"), 0);
	CHECK_EQ(path_prefix_match("", "/"), 0);
	CHECK_EQ(path_prefix_match(NULL, "/"), 0);
	CHECK_EQ(path_prefix_match("/", NULL), 0);
}

static void
test_bounds(void)
{
	static char big[POLICY_REQ_PATH_MAX + 2];
	char small[4];
	const char *why = NULL;

	memset(big, 'a', sizeof(big));
	big[0] = '/';
	CHECK_EQ(path_normalize(big, POLICY_REQ_PATH_MAX, small, 0, NULL),
	    PETRI_ERR_TOOBIG);
	{
		static char out[POLICY_REQ_PATH_MAX + 1];

		CHECK_EQ(path_normalize(
		             big, POLICY_REQ_PATH_MAX, out, sizeof(out), NULL),
		    0);
		CHECK_EQ(strlen(out), POLICY_REQ_PATH_MAX);
		CHECK_EQ(path_normalize(big, POLICY_REQ_PATH_MAX + 1, out,
		             sizeof(out), &why),
		    PETRI_ERR_TOOBIG);
		CHECK(why != NULL);
		CHECK_STR(out, "");
	}
	CHECK_EQ(path_normalize("/abcd", 5, small, sizeof(small), NULL),
	    PETRI_ERR_TOOBIG);
	CHECK_EQ(path_normalize("/ab", 3, small, sizeof(small), NULL), 0);
	CHECK_STR(small, "/ab");
	CHECK_EQ(path_normalize("", 0, small, 2, NULL), 0);
	CHECK_STR(small, "/");
	/* len is honoured: the bytes after it are not read */
	CHECK_EQ(path_normalize("/v1/x/../y", 5, small, sizeof(small), NULL),
	    PETRI_ERR_TOOBIG);
	CHECK_EQ(path_normalize("/v1;", 3, small, sizeof(small), NULL), 0);
	CHECK_STR(small, "/v1");
	CHECK_EQ(path_normalize("/v1/%2e%2e", 10, small, sizeof(small), &why),
	    PETRI_ERR_TOOBIG);
}

static void
test_idempotent(void)
{
	static const char *const t[] = {
	    "/v1/../admin",
	    "/a/./b//c/%7e/%41",
	    "/a%20b/../c%2a/",
	    "//x/..//y/.",
	    "/v1/%C3%A9/%c3%a9",
	};
	char a[64], b[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_EQ(
		    path_normalize(t[i], strlen(t[i]), a, sizeof(a), NULL), 0);
		CHECK_EQ(path_normalize(a, strlen(a), b, sizeof(b), NULL), 0);
		CHECK_STR(a, b);
	}
}

int
main(void)
{
	UNIT_RUN(test_plain);
	UNIT_RUN(test_tricks);
	UNIT_RUN(test_prefix);
	UNIT_RUN(test_bounds);
	UNIT_RUN(test_idempotent);
	return UNIT_DONE();
}
