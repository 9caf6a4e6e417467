/*
 * test_record.c: record bytes are exact and stable, the strict parser
 * rejects everything off-format, blob references are found and checked,
 * per-record signatures verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "record.h"
#include "unit.h"

static const unsigned char zero[AUDIT_HASH_LEN];
static const char sha_a[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char sha_b[] =
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";

/* 2026-11-22T01:51:04.123456Z */
#define T0 1795312264123456LL

static void
test_build_exact(void)
{
	static const char want[] =
	    "{\"v\":1,\"origin\":\"petri.test/log\",\"seq\":0,"
	    "\"prev\":"
	    "\"0000000000000000000000000000000000000000000000000000000000000000"
	    "\","
	    "\"type\":\"exec.finished\",\"id\":\"rec_abc\","
	    "\"time\":\"2026-11-22T01:51:04.123456Z\",\"clock\":\"system\","
	    "\"tenant\":\"t1\",\"argv\":[\"python3\",\"m\\u00e9.py\"],"
	    "\"exit_code\":0,\"stdout\":{\"sha256\":"
	    "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	    "\",\"size\":0,\"blob\":true,\"truncated\":false},"
	    "\"zeta\":\"\\u0001\\\"/\"}";
	json_t *ev, *ref;
	char *out = NULL;
	size_t len = 0;

	ev = json_object();
	json_object_set_new(ev, "tenant", json_string("t1"));
	json_object_set_new(
	    ev, "argv", json_pack("[s,s]", "python3", "m\xc3\xa9.py"));
	json_object_set_new(ev, "exit_code", json_integer(0));
	ref = audit_blob_ref_new(sha_a, 0);
	CHECK(ref != NULL);
	json_object_set_new(ref, "truncated", json_false());
	json_object_set_new(ev, "stdout", ref);
	json_object_set_new(ev, "zeta", json_string("\x01\"/"));
	CHECK(audit_record_build("petri.test/log", 0, zero, "exec.finished",
	          "rec_abc", T0, ev, &out, &len) == 0);
	/* jansson writes UTF-8 as is; the expected text uses \u00e9 for it */
	if (out != NULL) {
		char *p = strstr(out, "m\xc3\xa9.py");

		CHECK(p != NULL);
		if (p != NULL) {
			char fixed[1024];

			snprintf(fixed, sizeof(fixed), "%.*s\\u00e9%s",
			    (int)(p - out + 1), out, p + 3);
			CHECK_STR(fixed, want);
		}
		CHECK(len == strlen(out));
	}
	free(out);
	json_decref(ev);
}

static void
test_build_parse_roundtrip(void)
{
	struct audit_record rec;
	unsigned char prev[AUDIT_HASH_LEN];
	json_t *ev;
	char *out = NULL;
	size_t len;
	const char *err;

	randombytes_buf(prev, sizeof(prev));
	ev = json_pack("{s:s, s:i}", "sandbox", "sb_1", "n", 5);
	CHECK(audit_record_build("o", 42, prev, "sandbox.created", NULL, 0, ev,
	          &out, &len) == 0);
	CHECK(audit_record_parse(out, len, &rec, &err) == 0);
	CHECK(rec.seq == 42);
	CHECK(memcmp(rec.prev, prev, sizeof(prev)) == 0);
	CHECK_STR(rec.origin, "o");
	CHECK_STR(rec.type, "sandbox.created");
	CHECK(strncmp(rec.id, "rec_", 4) == 0 && strlen(rec.id) == 28);
	CHECK_STR(rec.clock, "system");
	CHECK(rec.time_usec > T0 - 400LL * 86400 * 1000000);
	CHECK(json_integer_value(json_object_get(rec.json, "n")) == 5);
	audit_record_clear(&rec);
	audit_record_clear(&rec);
	free(out);
	json_decref(ev);
}

static void
test_build_rejects(void)
{
	json_t *ev = json_object(), *bad;
	char *out = NULL;
	size_t len;
	int i;

	CHECK(audit_record_build("bad origin", 0, zero, "a.b", NULL, 0, ev,
	          &out, &len) == PETRI_ERR_INVAL);
	CHECK(audit_record_build("o", 0, zero, "nodot", NULL, 0, ev, &out,
	          &len) == PETRI_ERR_INVAL);
	CHECK(audit_record_build("o", 0, zero, "A.b", NULL, 0, ev, &out,
	          &len) == PETRI_ERR_INVAL);
	CHECK(audit_record_build("o", 0, zero, "a.b", "bad id", 0, ev, &out,
	          &len) == PETRI_ERR_INVAL);
	bad = json_array();
	CHECK(audit_record_build("o", 0, zero, "a.b", NULL, 0, bad, &out,
	          &len) == PETRI_ERR_INVAL);
	json_decref(bad);
	/* an event may not carry an integrity field */
	bad = json_pack("{s:i}", "seq", 7);
	CHECK(audit_record_build("o", 0, zero, "a.b", NULL, 0, bad, &out,
	          &len) == PETRI_ERR_INVAL);
	json_decref(bad);
	/* malformed blob references */
	bad = json_pack("{s:{s:s,s:b}}", "x", "sha256", "abc", "blob", 1);
	CHECK(audit_record_build("o", 0, zero, "a.b", NULL, 0, bad, &out,
	          &len) == PETRI_ERR_INVAL);
	json_decref(bad);
	bad = json_pack("{s:{s:s,s:b}}", "x", "sha256", sha_a, "blob", 0);
	CHECK(audit_record_build("o", 0, zero, "a.b", NULL, 0, bad, &out,
	          &len) == PETRI_ERR_INVAL);
	json_decref(bad);
	bad = json_pack(
	    "{s:[{s:s,s:i,s:b}]}", "x", "sha256", sha_a, "size", -1, "blob", 1);
	CHECK(audit_record_build("o", 0, zero, "a.b", NULL, 0, bad, &out,
	          &len) == PETRI_ERR_INVAL);
	json_decref(bad);
	CHECK(audit_blob_ref_new("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B9"
	                         "34CA495991B7852B855",
	          1) == NULL);
	/* nesting */
	bad = json_object();
	for (i = 0; i < AUDIT_RECORD_MAX_DEPTH; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "d", bad);
		bad = o;
	}
	CHECK(audit_record_build("o", 0, zero, "a.b", NULL, 0, bad, &out,
	          &len) == PETRI_ERR_INVAL);
	json_decref(bad);
	/* size */
	{
		char *big = malloc(AUDIT_RECORD_MAX + 1);

		memset(big, 'a', AUDIT_RECORD_MAX);
		big[AUDIT_RECORD_MAX] = '\0';
		bad = json_pack("{s:s}", "big", big);
		CHECK(audit_record_build("o", 0, zero, "a.b", NULL, 0, bad,
		          &out, &len) == PETRI_ERR_TOOBIG);
		json_decref(bad);
		free(big);
	}
	CHECK(out == NULL);
	json_decref(ev);
}

static int
parse_rc(const char *s)
{
	struct audit_record rec;
	const char *err;
	int r;

	r = audit_record_parse(s, strlen(s), &rec, &err);
	if (r == 0)
		audit_record_clear(&rec);
	else
		CHECK(err != NULL);
	return r;
}

#define HDR_PREV                                                               \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define HDR_TIME "2026-11-22T01:51:04.123456Z"
#define GOOD                                                                   \
	"{\"v\":1,\"origin\":\"o\",\"seq\":3,\"prev\":\"" HDR_PREV             \
	"\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME            \
	"\",\"clock\":\"system\""

static void
test_parse_rejects(void)
{
	CHECK(parse_rc(GOOD "}") == 0);
	CHECK(parse_rc(GOOD ",\"k\":[1,{\"a\":null}]}") == 0);
	CHECK(parse_rc(GOOD ",\"k\":1,\"k\":2}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD ",\"v\":1}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD "}\n") == PETRI_ERR_INVAL);
	CHECK(parse_rc(" " GOOD "}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD ",\n\"k\":1}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD "}}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD ",\"k\":\"\\u0000\"}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD ",\"k\\u0000\":1}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD ",\"k\":\"\xff\"}") == PETRI_ERR_INVAL);
	/* order and presence of integrity fields */
	CHECK(
	    parse_rc("{\"origin\":\"o\",\"v\":1,\"seq\":3,\"prev\":\"" HDR_PREV
	             "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	             "\",\"clock\":\"system\"}") == PETRI_ERR_INVAL);
	CHECK(
	    parse_rc("{\"v\":1,\"origin\":\"o\",\"seq\":3,\"prev\":\"" HDR_PREV
	             "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	             "\"}") == PETRI_ERR_INVAL);
	/* types and formats */
	CHECK(
	    parse_rc("{\"v\":2,\"origin\":\"o\",\"seq\":3,\"prev\":\"" HDR_PREV
	             "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	             "\",\"clock\":\"system\"}") == PETRI_ERR_INVAL);
	CHECK(
	    parse_rc("{\"v\":1,\"origin\":\"o\",\"seq\":-1,\"prev\":\"" HDR_PREV
	             "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	             "\",\"clock\":\"system\"}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(
	          "{\"v\":1,\"origin\":\"o\",\"seq\":3.0,\"prev\":\"" HDR_PREV
	          "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	          "\",\"clock\":\"system\"}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(
	          "{\"v\":1,\"origin\":\"o\",\"seq\":\"3\",\"prev\":\"" HDR_PREV
	          "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	          "\",\"clock\":\"system\"}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(
	          "{\"v\":1,\"origin\":\"o\",\"seq\":3,\"prev\":\"" HDR_PREV
	          "0\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	          "\",\"clock\":\"system\"}") == PETRI_ERR_INVAL);
	CHECK(
	    parse_rc("{\"v\":1,\"origin\":\"o\",\"seq\":3,\"prev\":\"" HDR_PREV
	             "\",\"type\":\"ab\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	             "\",\"clock\":\"system\"}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(
	          "{\"v\":1,\"origin\":\"o o\",\"seq\":3,\"prev\":\"" HDR_PREV
	          "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	          "\",\"clock\":\"system\"}") == PETRI_ERR_INVAL);
	CHECK(
	    parse_rc("{\"v\":1,\"origin\":\"o\",\"seq\":3,\"prev\":\"" HDR_PREV
	             "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"2026-02-"
	             "31T01:51:04.123456Z"
	             "\",\"clock\":\"system\"}") == PETRI_ERR_INVAL);
	CHECK(
	    parse_rc("{\"v\":1,\"origin\":\"o\",\"seq\":3,\"prev\":\"" HDR_PREV
	             "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"" HDR_TIME
	             "\",\"clock\":\"\"}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD ",\"x\":{\"blob\":true,\"sha256\":\"00\"}}") ==
	    PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD ",\"x\":{\"blob\":1,\"sha256\":\"" HDR_PREV
	                    "\"}}") == PETRI_ERR_INVAL);
	CHECK(parse_rc(GOOD ",\"x\":{\"blob\":true,\"sha256\":\"" HDR_PREV
	                    "\"}}") == 0);
	CHECK(parse_rc("[]") == PETRI_ERR_INVAL);
	CHECK(parse_rc("{}") == PETRI_ERR_INVAL);
	CHECK(parse_rc("") == PETRI_ERR_INVAL);
}

static void
test_parse_depth(void)
{
	char buf[2048];
	int i, n;

	/* the record object is depth 1; the limit counts it */
	n = snprintf(buf, sizeof(buf), "%s,\"d\":", GOOD);
	for (i = 0; i < AUDIT_RECORD_MAX_DEPTH - 1; i++)
		buf[n++] = '[';
	for (i = 0; i < AUDIT_RECORD_MAX_DEPTH - 1; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	buf[n] = '\0';
	CHECK(parse_rc(buf) == 0);
	n = snprintf(buf, sizeof(buf), "%s,\"d\":", GOOD);
	for (i = 0; i < AUDIT_RECORD_MAX_DEPTH; i++)
		buf[n++] = '[';
	for (i = 0; i < AUDIT_RECORD_MAX_DEPTH; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	buf[n] = '\0';
	CHECK(parse_rc(buf) == PETRI_ERR_INVAL);
}

struct refs {
	int n;
	char sha[4][65];
	int64_t size[4];
};

static int
collect(void *arg, const char *sha, int64_t size)
{
	struct refs *r = arg;

	if (r->n >= 4)
		return -99;
	memcpy(r->sha[r->n], sha, 65);
	r->size[r->n++] = size;
	return 0;
}

static void
test_blob_refs(void)
{
	struct audit_record rec;
	struct refs r;
	char *out = NULL;
	size_t len;
	json_t *ev;

	ev = json_pack("{s:o, s:{s:[o,{s:s}]}}", "stdout",
	    audit_blob_ref_new(sha_a, 10), "code", "files",
	    audit_blob_ref_new(sha_b, 20), "sha256", sha_a);
	CHECK(ev != NULL);
	CHECK(audit_record_build(
	          "o", 1, zero, "exec.finished", NULL, 0, ev, &out, &len) == 0);
	CHECK(audit_record_parse(out, len, &rec, NULL) == 0);
	memset(&r, 0, sizeof(r));
	CHECK(audit_record_blob_refs(rec.json, collect, &r) == 0);
	CHECK(r.n == 2);
	CHECK_STR(r.sha[0], sha_a);
	CHECK(r.size[0] == 10);
	CHECK_STR(r.sha[1], sha_b);
	CHECK(r.size[1] == 20);
	audit_record_clear(&rec);
	free(out);
	json_decref(ev);
}

static void
test_signature(void)
{
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	unsigned char pk2[AUDIT_PUBKEY_LEN], sk2[AUDIT_SECKEY_LEN];
	unsigned char leaf[AUDIT_HASH_LEN], sig[AUDIT_SIG_LEN];
	static const char rec[] = "{\"v\":1}";
	unsigned char want[AUDIT_HASH_LEN];

	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	audit_record_leaf(rec, strlen(rec), leaf);
	audit_merkle_leaf_hash(rec, strlen(rec), want);
	CHECK(memcmp(leaf, want, sizeof(want)) == 0);
	audit_record_sign(leaf, sk, sig);
	CHECK(audit_record_sig_verify(leaf, sig, pk) == 0);
	CHECK(audit_record_sig_verify(leaf, sig, pk2) == PETRI_ERR_CRYPTO);
	sig[10] ^= 4;
	CHECK(audit_record_sig_verify(leaf, sig, pk) == PETRI_ERR_CRYPTO);
	sig[10] ^= 4;
	leaf[0] ^= 1;
	CHECK(audit_record_sig_verify(leaf, sig, pk) == PETRI_ERR_CRYPTO);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk2, sizeof(sk2));
}

static void
test_type_names(void)
{
	CHECK(audit_record_type_valid("exec.finished"));
	CHECK(audit_record_type_valid("log.key_rotated"));
	CHECK(audit_record_type_valid("a.b.c2"));
	CHECK(!audit_record_type_valid("a."));
	CHECK(!audit_record_type_valid(".a"));
	CHECK(!audit_record_type_valid("a..b"));
	CHECK(!audit_record_type_valid("a.1b"));
	CHECK(!audit_record_type_valid("a-b.c"));
	CHECK(!audit_record_type_valid(""));
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	UNIT_RUN(test_build_exact);
	UNIT_RUN(test_build_parse_roundtrip);
	UNIT_RUN(test_build_rejects);
	UNIT_RUN(test_parse_rejects);
	UNIT_RUN(test_parse_depth);
	UNIT_RUN(test_blob_refs);
	UNIT_RUN(test_signature);
	UNIT_RUN(test_type_names);
	return UNIT_DONE();
}
