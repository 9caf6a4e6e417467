/*
 * test_record_scan.c: the verifier's record scanner gives the same verdict
 * and the same fields as the jansson-based parser, on real records, on
 * JSON edge cases and on many random mutations of real records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "record.h"
#include "record_scan.h"
#include "unit.h"

static struct audit_record_scratch scratch;

struct refsum {
	int n;
	unsigned char x[AUDIT_HASH_LEN];
	int64_t sizes;
};

static int
sum_ref(void *arg, const char *hex, int64_t size)
{
	struct refsum *r = arg;
	unsigned char h[AUDIT_HASH_LEN];
	size_t i;

	if (petri_unhex(hex, h, sizeof(h)) != 0)
		return -99;
	for (i = 0; i < sizeof(h); i++)
		r->x[i] ^= h[i];
	r->sizes += size;
	r->n++;
	return 0;
}

/* Both parsers on one input: 1 when they agree. */
static int
agree(const void *p, size_t n)
{
	struct audit_record rec;
	struct audit_record_scan sc;
	struct refsum a, b;
	int ra, rb, ok = 1;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ra = audit_record_parse(p, n, &rec, NULL);
	rb = audit_record_scan(p, n, &sc, &scratch, sum_ref, &b, NULL);
	if ((ra == 0) != (rb == 0)) {
		fprintf(stderr, "disagree (parse %d, scan %d): %.*s\n", ra, rb,
		    (int)(n > 300 ? 300 : n), (const char *)p);
		ok = 0;
	} else if (ra == 0) {
		json_t *k;

		if (audit_record_blob_refs(rec.json, sum_ref, &a) != 0)
			ok = 0;
		ok = ok && a.n == b.n && a.sizes == b.sizes &&
		    memcmp(a.x, b.x, sizeof(a.x)) == 0 && rec.seq == sc.seq &&
		    memcmp(rec.prev, sc.prev, AUDIT_HASH_LEN) == 0 &&
		    strcmp(rec.origin, sc.origin) == 0 &&
		    strcmp(rec.type, sc.type) == 0 &&
		    strcmp(rec.id, sc.id) == 0 &&
		    strcmp(rec.time, sc.time) == 0 &&
		    rec.time_usec == sc.time_usec &&
		    strcmp(rec.clock, sc.clock) == 0;
		k = json_object_get(rec.json, "new_key");
		if (json_is_string(k) &&
		    json_string_length(k) <= AUDIT_VKEY_MAX)
			ok = ok && sc.has_new_key &&
			    strcmp(json_string_value(k), sc.new_key) == 0;
		if (!ok)
			fprintf(stderr, "fields differ: %.*s\n",
			    (int)(n > 300 ? 300 : n), (const char *)p);
	}
	if (ra == 0)
		audit_record_clear(&rec);
	return ok;
}

#define P "0000000000000000000000000000000000000000000000000000000000000000"
#define HEAD                                                                   \
	"{\"v\":1,\"origin\":\"o\",\"seq\":3,\"prev\":\"" P                    \
	"\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"2026-11-22T01:51:04." \
	"123456Z\""                                                            \
	",\"clock\":\"system\""

static const char *const cases[] = {
    HEAD "}",
    HEAD ",\"k\":[1,{\"a\":null}]}",
    HEAD ",\"k\":1,\"k\":2}",
    HEAD ",\"k\":1,\"\\u006b\":2}",
    HEAD ",\"o\":{\"k\":1,\"k\":2}}",
    HEAD ",\"o\":{\"k\":1},\"p\":{\"k\":2}}",
    HEAD ",\"s\":\"\\ud83d\\ude00\"}",
    HEAD ",\"s\":\"\\ud83d\"}",
    HEAD ",\"s\":\"\\ude00\"}",
    HEAD ",\"s\":\"\\ud83d\\u0041\"}",
    HEAD ",\"s\":\"\\u0000\"}",
    HEAD ",\"s\":\"\\x\"}",
    HEAD ",\"s\":\"\\u12\"}",
    HEAD ",\"s\":\"\t\"}",
    HEAD ",\"s\":\"\x7f\"}",
    HEAD ",\"s\":\"\xc0\x80\"}",
    HEAD ",\"s\":\"\xed\xa0\x80\"}",
    HEAD ",\"s\":\"\xf4\x90\x80\x80\"}",
    HEAD ",\"s\":\"\xe2\x82\xac\"}",
    HEAD ",\"n\":-0}",
    HEAD ",\"n\":01}",
    HEAD ",\"n\":1.}",
    HEAD ",\"n\":.5}",
    HEAD ",\"n\":1e}",
    HEAD ",\"n\":1e+5}",
    HEAD ",\"n\":-}",
    HEAD ",\"n\":1e400}",
    HEAD ",\"n\":-1e400}",
    HEAD ",\"n\":1e-400}",
    HEAD ",\"n\":9223372036854775807}",
    HEAD ",\"n\":9223372036854775808}",
    HEAD ",\"n\":-9223372036854775808}",
    HEAD ",\"n\":-9223372036854775809}",
    HEAD ",\"t\":tru}",
    HEAD ",\"t\":truex}",
    HEAD ",\"t\":nul}",
    HEAD ",}",
    HEAD ",\"a\":[1,]}",
    HEAD ",\"a\":[1 2]}",
    HEAD ",\"a\" 1}",
    HEAD " ,\t\"a\" : [ 1 , 2 ] }",
    HEAD "}}",
    HEAD ",\"x\":{\"blob\":true,\"sha256\":\"" P "\"}}",
    HEAD ",\"x\":{\"blob\":true,\"sha256\":\"" P "\",\"size\":4}}",
    HEAD ",\"x\":{\"blob\":true,\"sha256\":\"" P "\",\"size\":-4}}",
    HEAD ",\"x\":{\"blob\":true,\"sha256\":\"" P "\",\"size\":4.0}}",
    HEAD ",\"x\":{\"blob\":1,\"sha256\":\"" P "\"}}",
    HEAD ",\"x\":{\"blob\":true}}",
    HEAD ",\"x\":{\"blob\":true,\"sha256\":\"" P "0\"}}",
    HEAD ",\"x\":[{\"size\":\"x\",\"blob\":true,\"sha256\":\"" P "\"}]}",
    HEAD ",\"x\":{\"sha256\":\"nothex\"}}",
    HEAD ",\"new_key\":\"o+12345678+AAAA\"}",
    "{\"v\":1,\"origin\":\"o\"}",
    "{\"\\u0076\":1,\"origin\":\"o\",\"seq\":3,\"prev\":\"" P
    "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"2026-11-22T01:51:04."
    "123456Z\""
    ",\"clock\":\"system\"}",
    "{\"v\":1,\"origin\":\"o\\/p\",\"seq\":3,\"prev\":\"" P
    "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"2026-11-22T01:51:04."
    "123456Z\""
    ",\"clock\":\"system\"}",
    "{\"v\":1.0,\"origin\":\"o\",\"seq\":3,\"prev\":\"" P
    "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"2026-11-22T01:51:04."
    "123456Z\""
    ",\"clock\":\"system\"}",
    "{\"v\":1,\"origin\":\"o\",\"seq\":3,\"prev\":\"" P
    "\",\"type\":\"a.b\",\"id\":\"rec_x\",\"time\":\"2026-02-30T01:51:04."
    "123456Z\""
    ",\"clock\":\"system\"}",
    "{}",
    "{\"v\":1",
};

static void
test_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(agree(cases[i], strlen(cases[i])));
}

static void
test_depth(void)
{
	char buf[4096];
	int i, n, d;

	for (d = AUDIT_RECORD_MAX_DEPTH - 2; d <= AUDIT_RECORD_MAX_DEPTH + 1;
	     d++) {
		n = snprintf(buf, sizeof(buf), "%s,\"d\":", HEAD);
		for (i = 0; i < d; i++)
			buf[n++] = i % 2 ? '[' : '{';
		for (i = d - 1; i >= 0; i--) {
			if (i % 2 == 0) {
				/* an object needs a member before it closes */
				memmove(buf + n, "\"k\":1", 5);
				n += 5;
			}
			buf[n++] = i % 2 ? ']' : '}';
		}
		buf[n++] = '}';
		buf[n] = '\0';
		CHECK(agree(buf, (size_t)n));
	}
}

/* Real records of every shape the store writes, then mutated at random. */
static void
test_mutations(void)
{
	unsigned char prev[AUDIT_HASH_LEN];
	static const char *sha =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char *rec = NULL, *m;
	size_t len, i, k, bad = 0;
	json_t *ev;
	static const char alphabet[] = "{}[]\":,\\u0aAeE.-+ \t0123456789tfn";

	randombytes_buf(prev, sizeof(prev));
	ev = json_pack("{s:s, s:{s:s, s:[i, f, b, n]}, s:o, s:[o], s:s}",
	    "tenant", "t\xc3\xa9", "a", "b", "\x01\"\\/", "c", 1, 2.5, 1,
	    "stdout", audit_blob_ref_new(sha, 7), "code",
	    audit_blob_ref_new(sha, 9), "new_key", "o+00000000+AAAA");
	CHECK(ev != NULL);
	CHECK(audit_record_build("petri.test/log", 9, prev, "log.key_rotated",
	          NULL, 0, ev, &rec, &len) == 0);
	json_decref(ev);
	if (rec == NULL)
		return;
	CHECK(agree(rec, len));
	m = malloc(len + 8);
	for (i = 0; i < 20000; i++) {
		memcpy(m, rec, len);
		for (k = 0; k < 1 + i % 3; k++) {
			size_t at = 1 + randombytes_uniform((uint32_t)len - 2);

			m[at] = i % 5 == 0 ? (char)randombytes_uniform(256)
			                   : alphabet[randombytes_uniform(
			                         sizeof(alphabet) - 1)];
		}
		if (!agree(m, len))
			bad++;
	}
	CHECK(bad == 0);
	free(m);
	free(rec);
}

/* Build output equals jansson's own dump of the merged object. */
static void
test_splice_equals_jansson(void)
{
	unsigned char prev[AUDIT_HASH_LEN];
	json_t *ev, *all;
	const char *k;
	json_t *v;
	char *a = NULL, *b;
	size_t len;
	int i;

	for (i = 0; i < 3; i++) {
		randombytes_buf(prev, sizeof(prev));
		ev = i == 0  ? json_object()
		    : i == 1 ? json_pack("{s:s}", "x", "\xe2\x82\xac\t")
		             : json_pack("{s:{s:[]},s:f}", "a", "b", "c", 0.1);
		CHECK(audit_record_build("o", 7, prev, "a.b", "rec_1",
		          1795312264123456LL, ev, &a, &len) == 0);
		all = json_pack("{s:i, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "v",
		    1, "origin", "o", "seq", 7, "prev", "", "type", "a.b", "id",
		    "rec_1", "time", "2026-11-22T01:51:04.123456Z", "clock",
		    "system");
		{
			char hex[65];

			petri_hex(prev, sizeof(prev), hex);
			json_object_set_new(all, "prev", json_string(hex));
		}
		json_object_foreach (ev, k, v)
			json_object_set(all, k, v);
		b = json_dumps(all, JSON_COMPACT);
		CHECK(a != NULL && b != NULL && strcmp(a, b) == 0);
		free(a);
		free(b);
		json_decref(all);
		json_decref(ev);
	}
}

int
main(void)
{
	int r;

	if (sodium_init() < 0)
		return 1;
	UNIT_RUN(test_cases);
	UNIT_RUN(test_depth);
	UNIT_RUN(test_mutations);
	UNIT_RUN(test_splice_equals_jansson);
	r = UNIT_DONE();
	audit_record_scratch_free(&scratch);
	return r;
}
