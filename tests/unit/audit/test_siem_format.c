/*
 * test_siem_format.c: the SIEM renderings and frames (audit/siem_format.c):
 * CEF escaping of '|', '\', '=' and newlines (and a round trip through a
 * CEF parser), RFC 5424 messages with RFC 6587 octet counting and the
 * petri@32473 structured data, the json rendering's verbatim record (and
 * its signature checked from the exported line alone), OCSF and ECS
 * events against the documented field lists, summaries of oversized
 * records, invalid records, HEC and webhook frames, HEC answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "record.h"
#include "siem_format.h"
#include "unit.h"
#include "util.h"

#define ORIGIN "petri/test"

static unsigned char pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk[crypto_sign_SECRETKEYBYTES];

/* One signed record and the event a sink would see. */
struct rec {
	char *bytes;
	size_t len;
	unsigned char leaf[AUDIT_HASH_LEN];
	unsigned char sig[AUDIT_SIG_LEN];
	struct siem_event ev;
};

static void
rec_make(struct rec *r, uint64_t seq, const char *type, json_t *event)
{
	unsigned char prev[AUDIT_HASH_LEN];

	memset(r, 0, sizeof(*r));
	memset(prev, 0, sizeof(prev));
	if (audit_record_build(ORIGIN, seq, prev, type, NULL,
	        1767225600123456LL, event, &r->bytes, &r->len) != 0)
		abort();
	json_decref(event);
	audit_record_leaf(r->bytes, r->len, r->leaf);
	audit_record_sign(r->leaf, sk, r->sig);
	r->ev.seq = seq;
	r->ev.bytes = (const unsigned char *)r->bytes;
	r->ev.len = r->len;
	r->ev.leaf = r->leaf;
	r->ev.sig = r->sig;
	r->ev.key_id = "0a1b2c3d";
	r->ev.origin = ORIGIN;
}

static void
rec_free(struct rec *r)
{
	free(r->bytes);
}

/* An exec.finished record with hostile characters in its argv. */
static void
rec_exec(struct rec *r, uint64_t seq, int program)
{
	json_t *ev = json_pack("{s:s, s:{s:s, s:s}, s:s, s:{s:s, s:s},"
	                       " s:s, s:s, s:s, s:s, s:s}",
	    "tenant", "acme", "actor", "key", "key_abc", "role", "agent",
	    "source_ip", "127.0.0.1", "appliance", "instance", "inst1",
	    "version", "0.1.0", "sandbox", "sb_x", "language", "python",
	    "image", "petri/python:current", "runtime", "runc", "cwd",
	    "/sandbox");

	json_object_set_new(ev, "argv",
	    json_pack("[s, s, s]", "sh", "-c", "echo a|b \\ c=d\nline2\rend"));
	if (program)
		json_object_set_new(ev, "program",
		    json_pack("{s:s, s:i, s:b}", "sha256",
		        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		        "aaaa"
		        "aaaaaa",
		        "size", 12, "blob", 1));
	json_object_set_new(ev, "exec", json_string("ex_1"));
	json_object_set_new(ev, "exit_code", json_integer(3));
	json_object_set_new(ev, "duration_ms", json_integer(42));
	rec_make(r, seq, "exec.finished", ev);
}

static int
render(
    const struct siem_fmt_ctx *c, const struct siem_event *ev, struct buf *out)
{
	static struct buf scratch = {NULL, 0, 0, 0};

	buf_reset(out);
	/* every other call with a scratch buffer kept between calls */
	if ((out->len & 1) == 0 && scratch.max == 0)
		buf_init(&scratch, 1);
	return siem_format_record(c, ev, scratch.max ? &scratch : NULL, out);
}

static struct siem_fmt_ctx
ctx(enum siem_format f, enum siem_frame fr)
{
	struct siem_fmt_ctx c;

	memset(&c, 0, sizeof(c));
	c.format = f;
	c.frame = fr;
	c.max_event = 1 << 20;
	c.facility = 13;
	c.hostname = "host-1";
	return c;
}

/* --- CEF ------------------------------------------------------------------- */

static void
test_cef_escape(void)
{
	struct buf b;

	buf_init(&b, 4096);
	CHECK(siem_cef_header_escape(&b, "a|b\\c\nd\re=f", 11, 0) == 0);
	CHECK(b.len == strlen("a\\|b\\\\c d e=f"));
	CHECK(memcmp(b.data, "a\\|b\\\\c d e=f", b.len) == 0);
	buf_reset(&b);
	CHECK(siem_cef_ext_escape(&b, "a=b\\c\nd\re|f", 11, 0) == 0);
	CHECK(b.len == strlen("a\\=b\\\\c\\nd\\re|f"));
	CHECK(memcmp(b.data, "a\\=b\\\\c\\nd\\re|f", b.len) == 0);
	/* caps cut on a UTF-8 boundary: "é" is two bytes */
	buf_reset(&b);
	CHECK(siem_cef_ext_escape(&b, "ab\xc3\xa9", 4, 3) == 0);
	CHECK(b.len == 2 && memcmp(b.data, "ab", 2) == 0);
	buf_reset(&b);
	CHECK(siem_json_escape(&b, "q\"\\\x01\n", 5, 0) == 0);
	CHECK(b.len == strlen("\"q\\\"\\\\\\u0001\\n\""));
	CHECK(memcmp(b.data, "\"q\\\"\\\\\\u0001\\n\"", b.len) == 0);
	buf_free(&b);
}

/*
 * A small CEF parser: splits the header on unescaped '|' and the
 * extension into key=value pairs, unescaping both.  Returns the number of
 * extension pairs, or -1 when the line is malformed.
 */
#define CEF_MAXKV 64
struct cef {
	char hdr[8][512];
	char key[CEF_MAXKV][64];
	char val[CEF_MAXKV][4096];
	int n;
};

static int
cef_parse(const char *s, size_t len, struct cef *c)
{
	size_t i = 0, o;
	int f, k;

	memset(c, 0, sizeof(*c));
	for (f = 0; f < 7; f++) {
		o = 0;
		while (i < len && s[i] != '|') {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			else if (s[i] == '\n' || s[i] == '\r')
				return -1;
			if (o + 1 < sizeof(c->hdr[f]))
				c->hdr[f][o++] = s[i];
			i++;
		}
		if (i >= len)
			return -1;
		i++; /* the '|' */
	}
	/* extension: key=value, values end before " key=" */
	for (k = 0; i < len && k < CEF_MAXKV; k++) {
		o = 0;
		while (i < len && s[i] != '=') {
			if (o + 1 < sizeof(c->key[k]))
				c->key[k][o++] = s[i];
			i++;
		}
		if (i++ >= len)
			return -1;
		o = 0;
		while (i < len) {
			size_t j;

			if (s[i] == '\n' || s[i] == '\r')
				return -1;
			if (s[i] == '\\' && i + 1 < len) {
				char e = s[i + 1];

				c->val[k][o++] = e == 'n' ? '\n'
				    : e == 'r'            ? '\r'
				                          : e;
				i += 2;
				continue;
			}
			if (s[i] == '=')
				return -1; /* unescaped '=' in a value */
			if (s[i] == ' ') {
				/* a space followed by key= ends the value */
				for (j = i + 1; j < len && s[j] != ' ' &&
				     s[j] != '=' && s[j] != '\\';
				     j++)
					;
				if (j < len && s[j] == '=' && j > i + 1)
					break;
			}
			if (o + 1 < sizeof(c->val[k]))
				c->val[k][o++] = s[i];
			i++;
		}
		if (i < len)
			i++; /* the space */
	}
	c->n = k;
	return k;
}

static const char *
cef_get(const struct cef *c, const char *key)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->key[i], key) == 0)
			return c->val[i];
	return NULL;
}

static void
test_cef_record(void)
{
	struct siem_fmt_ctx c = ctx(SIEM_FORMAT_CEF, SIEM_FRAME_LINE);
	struct rec r;
	struct buf b;
	struct cef *cef = calloc(1, sizeof(*cef));
	char leaf[65], sig[AUDIT_B64_LEN(64)];
	const char *s;

	buf_init(&b, 1 << 20);
	rec_exec(&r, 7, 0);
	CHECK(render(&c, &r.ev, &b) == SIEM_RENDER_FULL);
	CHECK(b.len > 0 && b.data[b.len - 1] == '\n');
	/* exactly one line: escaped newlines only */
	CHECK(memchr(b.data, '\n', b.len - 1) == NULL);
	CHECK(memchr(b.data, '\r', b.len) == NULL);
	CHECK(cef != NULL &&
	    cef_parse((const char *)b.data, b.len - 1, cef) > 10);
	CHECK_STR(cef->hdr[0], "CEF:0");
	CHECK_STR(cef->hdr[1], "Petri");
	CHECK_STR(cef->hdr[2], "petri");
	CHECK_STR(cef->hdr[3], "0.1.0");
	CHECK_STR(cef->hdr[4], "exec.finished");
	CHECK_STR(cef->hdr[5], "exec finished");
	CHECK_STR(cef->hdr[6], "3");
	petri_hex(r.leaf, 32, leaf);
	CHECK(audit_b64_encode(r.sig, 64, sig, sizeof(sig)) == 0);
	CHECK((s = cef_get(cef, "cs1")) != NULL && strcmp(s, ORIGIN) == 0);
	CHECK((s = cef_get(cef, "cn1Label")) != NULL && strcmp(s, "seq") == 0);
	CHECK((s = cef_get(cef, "cn1")) != NULL && strcmp(s, "7") == 0);
	CHECK((s = cef_get(cef, "cs2")) != NULL && strcmp(s, leaf) == 0);
	CHECK((s = cef_get(cef, "cs3")) != NULL && strcmp(s, sig) == 0);
	CHECK((s = cef_get(cef, "cs4")) != NULL && strcmp(s, "0a1b2c3d") == 0);
	CHECK((s = cef_get(cef, "msg")) != NULL &&
	    strcmp(s, "sh -c echo a|b \\ c=d\nline2\rend") == 0);
	CHECK(
	    (s = cef_get(cef, "outcome")) != NULL && strcmp(s, "failure") == 0);
	CHECK((s = cef_get(cef, "cn2")) != NULL && strcmp(s, "3") == 0);
	CHECK((s = cef_get(cef, "src")) != NULL && strcmp(s, "127.0.0.1") == 0);
	CHECK((s = cef_get(cef, "rt")) != NULL &&
	    strcmp(s, "1767225600123") == 0);
	/* the raw bytes show the escapes */
	CHECK(strstr((const char *)b.data, "c\\=d\\nline2\\rend") != NULL);
	CHECK(strstr((const char *)b.data, "a|b \\\\ c") != NULL);
	rec_free(&r);
	free(cef);
	buf_free(&b);
}

/* A type with a '|' cannot exist, but a version could carry one. */
static void
test_cef_header_fields(void)
{
	struct siem_fmt_ctx c = ctx(SIEM_FORMAT_CEF, SIEM_FRAME_LINE);
	struct rec r;
	struct buf b;
	struct cef *cef = calloc(1, sizeof(*cef));

	buf_init(&b, 1 << 20);
	rec_make(&r, 1, "sandbox.created",
	    json_pack("{s:{s:s}, s:s}", "appliance", "version", "1|2\\3\n",
	        "sandbox", "sb=1"));
	CHECK(render(&c, &r.ev, &b) == 0);
	CHECK(strstr((const char *)b.data, "|petri|1\\|2\\\\3 |") != NULL);
	CHECK(
	    cef != NULL && cef_parse((const char *)b.data, b.len - 1, cef) > 0);
	CHECK_STR(cef->hdr[3], "1|2\\3 ");
	CHECK(cef_get(cef, "cs6") != NULL &&
	    strcmp(cef_get(cef, "cs6"), "sb=1") == 0);
	rec_free(&r);
	free(cef);
	buf_free(&b);
}

/* --- syslog ---------------------------------------------------------------- */

static void
test_syslog_frame(void)
{
	struct siem_fmt_ctx c = ctx(SIEM_FORMAT_JSON, SIEM_FRAME_SYSLOG);
	struct rec r;
	struct buf b;
	char leaf[65], want[512], sig[AUDIT_B64_LEN(64)];
	const char *p, *sp, *msg;
	long long n;
	json_t *j;

	buf_init(&b, 1 << 20);
	rec_exec(&r, 12, 0);
	CHECK(render(&c, &r.ev, &b) == 0);
	/* "<len> " then exactly len octets, no trailer */
	p = (const char *)b.data;
	sp = memchr(p, ' ', b.len);
	CHECK(sp != NULL);
	if (sp == NULL)
		goto out;
	{
		char num[16];

		CHECK((size_t)(sp - p) < sizeof(num));
		memcpy(num, p, (size_t)(sp - p));
		num[sp - p] = '\0';
		CHECK(petri_strtonum(num, 1, 1 << 30, &n) == 0);
	}
	CHECK((size_t)n == b.len - (size_t)(sp - p) - 1);
	petri_hex(r.leaf, 32, leaf);
	CHECK(audit_b64_encode(r.sig, 64, sig, sizeof(sig)) == 0);
	/* PRI 13*8+6, version 1, record time, host, app, -, type */
	snprintf(want, sizeof(want),
	    "<110>1 2026-01-01T00:00:00.123456Z host-1 petri - exec.finished "
	    "[petri@32473 seq=\"12\" hash=\"%s\" origin=\"" ORIGIN
	    "\" sig=\"%s\" key=\"0a1b2c3d\"] {",
	    leaf, sig);
	CHECK(strncmp(sp + 1, want, strlen(want)) == 0);
	msg = sp + 1 + strlen(want) - 1;
	CHECK(
	    (j = json_loadb(msg, b.len - (size_t)(msg - p), 0, NULL)) != NULL);
	CHECK(json_integer_value(json_object_get(j, "seq")) == 12);
	json_decref(j);
	/* two frames back to back stay separable */
	CHECK(siem_format_record(&c, &r.ev, NULL, &b) == 0);
	CHECK(b.len == 2 * ((size_t)n + (size_t)(sp - p) + 1));
	/* a warning for a denial: PRI 13*8+4 */
	rec_free(&r);
	rec_make(&r, 3, "egress.denied",
	    json_pack("{s:s, s:s}", "host", "evil.example", "method", "GET"));
	c.hostname = NULL;
	c.app_name = "app with space";
	CHECK(render(&c, &r.ev, &b) == 0);
	CHECK(strstr((const char *)b.data,
	          "<108>1 2026-01-01T00:00:00.123456Z - app_with_space - "
	          "egress.denied [") != NULL);
out:
	rec_free(&r);
	buf_free(&b);
}

static void
test_syslog_sd_escape(void)
{
	struct siem_fmt_ctx c = ctx(SIEM_FORMAT_CEF, SIEM_FRAME_SYSLOG);
	struct buf b;
	unsigned char leaf[32] = {0}, sig[64] = {0};
	struct siem_event ev = {5, (const unsigned char *)"nope", 4, leaf, sig,
	    "k\"]", "a]b\"c\\d"};

	buf_init(&b, 1 << 16);
	/* not a record: still delivered, as an invalid minimal event */
	CHECK(render(&c, &ev, &b) >= 0);
	CHECK(strstr((const char *)b.data, "origin=\"a\\]b\\\"c\\\\d\" sig=") !=
	    NULL);
	CHECK(strstr((const char *)b.data, "key=\"k\\\"\\]\"]") != NULL);
	CHECK(strstr((const char *)b.data, ">1 - host-1 petri - invalid [") !=
	    NULL);
	CHECK(strstr((const char *)b.data, "reason=invalid record") != NULL);
	buf_free(&b);
}

/* --- json ------------------------------------------------------------------ */

static void
test_json_verbatim(void)
{
	struct siem_fmt_ctx c = ctx(SIEM_FORMAT_JSON, SIEM_FRAME_LINE);
	struct rec r;
	struct buf b;
	unsigned char leaf[32], sig[64];
	const char *p, *rec;
	json_t *j;
	size_t rlen;

	buf_init(&b, 1 << 20);
	rec_exec(&r, 9, 0);
	CHECK(render(&c, &r.ev, &b) == 0);
	CHECK((j = json_loadb((const char *)b.data, b.len, 0, NULL)) != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "origin")), ORIGIN);
	CHECK(json_integer_value(json_object_get(j, "seq")) == 9);
	CHECK_STR(
	    json_string_value(json_object_get(j, "type")), "exec.finished");
	CHECK(json_object_get(j, "leaf_hash") != NULL);
	CHECK(json_object_get(j, "key_id") != NULL);
	CHECK(json_is_object(json_object_get(j, "record")));
	/* the record's bytes sit verbatim after ',"record":', last member */
	p = (const char *)b.data;
	rec = strstr(p, ",\"record\":");
	CHECK(rec != NULL);
	if (rec != NULL) {
		rec += 10;
		rlen = b.len - (size_t)(rec - p) - 2; /* "}\n" */
		CHECK(rlen == r.len && memcmp(rec, r.bytes, rlen) == 0);
		/* the line alone verifies: leaf hash and signature */
		audit_record_leaf(rec, rlen, leaf);
		CHECK(petri_unhex(
		          json_string_value(json_object_get(j, "leaf_hash")),
		          sig, 32) == 0 &&
		    memcmp(sig, leaf, 32) == 0);
		CHECK(audit_b64_decode(
		          json_string_value(json_object_get(j, "signature")),
		          88, sig, 64) == 0);
		CHECK(crypto_sign_verify_detached(sig, leaf, 32, pk) == 0);
	}
	json_decref(j);
	rec_free(&r);
	buf_free(&b);
}

/* --- OCSF / ECS ------------------------------------------------------------ */

static json_t *
jpath(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		if ((size_t)(dot - path) >= sizeof(key))
			return NULL;
		memcpy(key, path, (size_t)(dot - path));
		key[dot - path] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return o != NULL ? json_object_get(o, path) : NULL;
}

static int
fields_present(json_t *j, const char *const *fields)
{
	int ok = 1;

	for (; *fields != NULL; fields++)
		if (jpath(j, *fields) == NULL) {
			fprintf(stderr, "missing field %s\n", *fields);
			ok = 0;
		}
	return ok;
}

static json_t *
render_json_doc(
    enum siem_format f, const struct siem_event *ev, size_t max, int *tier)
{
	struct siem_fmt_ctx c = ctx(f, SIEM_FRAME_ITEM);
	struct buf b;
	json_t *j = NULL;

	c.max_event = max;
	buf_init(&b, 16 << 20);
	*tier = siem_format_record(&c, ev, NULL, &b);
	if (*tier >= 0)
		j = json_loadb(
		    (const char *)b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
	if (*tier >= 0 && b.len > max)
		*tier = -100;
	buf_free(&b);
	return j;
}

static void
check_ocsf(const struct siem_event *ev, int cls, int act)
{
	json_t *j;
	int tier;

	j = render_json_doc(SIEM_FORMAT_OCSF, ev, 1 << 20, &tier);
	CHECK(tier == SIEM_RENDER_FULL && j != NULL);
	if (j == NULL)
		return;
	CHECK(json_integer_value(json_object_get(j, "class_uid")) == cls);
	CHECK(json_integer_value(json_object_get(j, "activity_id")) == act);
	CHECK(json_integer_value(json_object_get(j, "type_uid")) ==
	    cls * 100 + act);
	CHECK(fields_present(j, siem_ocsf_fields(cls)));
	CHECK(json_integer_value(jpath(j, "metadata.sequence")) ==
	    (json_int_t)ev->seq);
	CHECK(json_integer_value(jpath(j, "unmapped.petri.seq")) ==
	    (json_int_t)ev->seq);
	/* the raw record rides along in full renderings */
	CHECK(json_string_length(json_object_get(j, "raw_data")) == ev->len &&
	    memcmp(json_string_value(json_object_get(j, "raw_data")), ev->bytes,
	        ev->len) == 0);
	json_decref(j);
}

static void
test_ocsf_classes(void)
{
	struct rec r;

	rec_exec(&r, 1, 0);
	CHECK(siem_ocsf_class("exec.finished", 0) == 1007);
	check_ocsf(&r.ev, 1007, 2);
	rec_free(&r);
	rec_exec(&r, 2, 1);
	check_ocsf(&r.ev, 1009, 1);
	rec_free(&r);
	rec_make(&r, 3, "egress.denied",
	    json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "sandbox", "sb_1",
	        "method", "POST", "host", "api.example", "port", 443, "path",
	        "/v1", "rule", "default-deny"));
	check_ocsf(&r.ev, 4002, 6);
	rec_free(&r);
	rec_make(&r, 4, "sandbox.created",
	    json_pack("{s:s, s:{s:s, s:s}, s:s}", "tenant", "t", "actor", "key",
	        "k", "role", "admin", "sandbox", "sb_2"));
	check_ocsf(&r.ev, 6003, 1);
	rec_free(&r);
	rec_make(&r, 5, "key.revoked", json_pack("{s:s}", "tenant", "t"));
	check_ocsf(&r.ev, 6003, 4);
	rec_free(&r);
	rec_make(&r, 6, "exec.started", json_pack("{s:s}", "exec", "ex_2"));
	check_ocsf(&r.ev, 1007, 1);
	rec_free(&r);
}

static void
test_ecs_fields(void)
{
	static const char *const exec_fields[] = {"process.args",
	    "process.command_line", "process.exit_code", "process.name",
	    "container.id", "event.duration", "event.original", NULL};
	struct rec r;
	json_t *j;
	int tier;

	rec_exec(&r, 21, 0);
	j = render_json_doc(SIEM_FORMAT_ECS, &r.ev, 1 << 20, &tier);
	CHECK(tier == 0 && j != NULL);
	CHECK(fields_present(j, siem_ecs_fields));
	CHECK(fields_present(j, exec_fields));
	CHECK_STR(json_string_value(jpath(j, "event.outcome")), "failure");
	CHECK(json_integer_value(jpath(j, "event.duration")) == 42000000);
	CHECK_STR(
	    json_string_value(json_array_get(jpath(j, "event.category"), 0)),
	    "process");
	CHECK(json_array_size(jpath(j, "process.args")) == 3);
	json_decref(j);
	rec_free(&r);
	rec_make(&r, 22, "egress.denied",
	    json_pack("{s:s, s:s, s:i}", "host", "x.example", "method", "GET",
	        "status", 403));
	j = render_json_doc(SIEM_FORMAT_ECS, &r.ev, 1 << 20, &tier);
	CHECK(j != NULL && fields_present(j, siem_ecs_fields));
	CHECK(json_integer_value(jpath(j, "http.response.status_code")) == 403);
	CHECK_STR(json_string_value(json_array_get(jpath(j, "event.type"), 1)),
	    "denied");
	json_decref(j);
	rec_free(&r);
}

/* --- oversized and invalid records ----------------------------------------- */

static void
test_summary_and_minimal(void)
{
	static const enum siem_format fmts[4] = {SIEM_FORMAT_JSON,
	    SIEM_FORMAT_CEF, SIEM_FORMAT_OCSF, SIEM_FORMAT_ECS};
	struct siem_fmt_ctx c;
	struct rec r;
	struct buf b;
	char *big = malloc(200000);
	json_t *ev, *j;
	int i, tier;

	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(big, 'x', 199999);
	big[199999] = '\0';
	ev = json_pack("{s:s, s:{s:s, s:s}, s:[s, s]}", "tenant", big, "prompt",
	    "text", big, "sha256", "00", "argv", "python3", big);
	rec_make(&r, 30, "exec.finished", ev);
	buf_init(&b, 1 << 20);
	for (i = 0; i < 4; i++) {
		c = ctx(fmts[i], SIEM_FRAME_LINE);
		c.max_event = SIEM_EVENT_MIN;
		tier = render(&c, &r.ev, &b);
		CHECK(tier == SIEM_RENDER_SUMMARY);
		CHECK(b.len <= SIEM_EVENT_MIN + 1);
		if (fmts[i] != SIEM_FORMAT_JSON)
			CHECK(
			    strstr((const char *)b.data, "xxxxxxxxx") != NULL);
		if (fmts[i] == SIEM_FORMAT_CEF)
			continue;
		j = json_loadb((const char *)b.data, b.len, 0, NULL);
		CHECK(j != NULL);
		if (fmts[i] == SIEM_FORMAT_OCSF)
			CHECK(fields_present(j, siem_ocsf_fields(1007)));
		if (fmts[i] == SIEM_FORMAT_ECS)
			CHECK(fields_present(j, siem_ecs_fields));
		if (fmts[i] == SIEM_FORMAT_JSON)
			CHECK(json_is_true(json_object_get(j, "truncated")) &&
			    json_integer_value(json_object_get(
			        j, "record_size")) == (json_int_t)r.len);
		json_decref(j);
	}
	/* the full rendering still fits a larger bound */
	c = ctx(SIEM_FORMAT_ECS, SIEM_FRAME_LINE);
	c.max_event = 4 << 20;
	b.max = 8 << 20;
	CHECK(render(&c, &r.ev, &b) == SIEM_RENDER_FULL);
	rec_free(&r);
	buf_free(&b);
	free(big);
}

static void
test_invalid_record(void)
{
	unsigned char leaf[32] = {1}, sig[64] = {2};
	struct siem_event ev = {44, (const unsigned char *)"{\"v\":1}", 7, leaf,
	    sig, "deadbeef", ORIGIN};
	json_t *j;
	int tier;

	j = render_json_doc(SIEM_FORMAT_JSON, &ev, SIEM_EVENT_MIN, &tier);
	CHECK(tier >= 0 && j != NULL);
	CHECK(json_is_true(json_object_get(j, "invalid")));
	CHECK(json_integer_value(json_object_get(j, "seq")) == 44);
	CHECK_STR(json_string_value(json_object_get(j, "origin")), ORIGIN);
	json_decref(j);
	j = render_json_doc(SIEM_FORMAT_OCSF, &ev, SIEM_EVENT_MIN, &tier);
	CHECK(tier >= 0 && j != NULL &&
	    fields_present(j, siem_ocsf_fields(6003)));
	json_decref(j);
	j = render_json_doc(SIEM_FORMAT_ECS, &ev, SIEM_EVENT_MIN, &tier);
	CHECK(tier >= 0 && j != NULL && fields_present(j, siem_ecs_fields));
	json_decref(j);
}

/*
 * The json format scans records instead of parsing them: what it accepts
 * is spliced verbatim, everything else becomes an invalid minimal event.
 */
static int
json_verbatim(const char *rec, uint64_t seq)
{
	struct siem_fmt_ctx c = ctx(SIEM_FORMAT_JSON, SIEM_FRAME_LINE);
	unsigned char leaf[32] = {0}, sig[64] = {0};
	struct siem_event ev = {seq, (const unsigned char *)rec, strlen(rec),
	    leaf, sig, "00000000", ORIGIN};
	struct buf b;
	json_t *j;
	int ok;

	buf_init(&b, 1 << 20);
	if (siem_format_record(&c, &ev, NULL, &b) < 0) {
		buf_free(&b);
		return -1;
	}
	j = json_loadb((const char *)b.data, b.len, 0, NULL);
	ok = j != NULL && json_object_get(j, "record") != NULL;
	if (j == NULL || (!ok && !json_is_true(json_object_get(j, "invalid"))))
		ok = -1; /* neither spliced nor flagged: a bug */
	json_decref(j);
	buf_free(&b);
	return ok;
}

#define REC_HEAD                                                               \
	"{\"v\":1,\"origin\":\"petri/t\",\"seq\":3,\"prev\":\"00\",\"type\":"  \
	"\"exec.finished\",\"id\":\"rec_x\",\"time\":"                         \
	"\"2026-01-01T00:00:00.000001Z\""

static void
test_json_scan(void)
{
	char deep[256];
	int i;

	CHECK(json_verbatim(REC_HEAD "}", 3) == 1);
	CHECK(json_verbatim(REC_HEAD ",\"a\":[1,-2.5e+3,0,true,false,null,"
	                             "{\"b\":\"\\u00e9\\n\\\"\"}],"
	                             "\"c\":\"\xc3\xa9\xf0\x9f\x98\x80\"}",
	          3) == 1);
	CHECK(json_verbatim(REC_HEAD " ,\t\"sp\" : 1 }", 3) == 1);
	/* an escaped origin is still read */
	CHECK(json_verbatim("{\"v\":1,\"origin\":\"a\\\"b\",\"seq\":3,"
	                    "\"type\":\"x.y\",\"time\":"
	                    "\"2026-01-01T00:00:00.000001Z\"}",
	          3) == 1);
	/* the wrong position, a bad type or time */
	CHECK(json_verbatim(REC_HEAD "}", 4) == 0);
	CHECK(json_verbatim("{\"v\":1,\"origin\":\"o\",\"seq\":3,\"type\":"
	                    "\"Bad Type\",\"time\":\"2026-01-01T00:00:00."
	                    "000001Z\"}",
	          3) == 0);
	CHECK(json_verbatim("{\"v\":1,\"origin\":\"o\",\"seq\":3,\"type\":"
	                    "\"x.y\",\"time\":\"yesterday\"}",
	          3) == 0);
	/* not JSON, or JSON that would break the framing */
	CHECK(json_verbatim(REC_HEAD ",\"a\":}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\"a\":01}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\"a\":tru}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\"a\":\"\\x\"}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\"a\":\"\\u12\"}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\"a\":\"\x01\"}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\n\"a\":1}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\"a\":1}\r", 3) == 0);
	CHECK(json_verbatim(REC_HEAD "} {}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",}", 3) == 0);
	CHECK(json_verbatim("[" REC_HEAD "}]", 3) == 0);
	/* UTF-8: overlong, surrogate, past U+10FFFF, cut */
	CHECK(json_verbatim(REC_HEAD ",\"a\":\"\xc0\xaf\"}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\"a\":\"\xed\xa0\x80\"}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\"a\":\"\xf4\x90\x80\x80\"}", 3) == 0);
	CHECK(json_verbatim(REC_HEAD ",\"a\":\"\xe2\x82\"}", 3) == 0);
	/* nesting: the record itself is level 1 */
	for (i = 0; i < 31; i++)
		deep[i] = '[';
	for (; i < 62; i++)
		deep[i] = ']';
	deep[i] = '\0';
	{
		char rec[512];

		snprintf(rec, sizeof(rec), REC_HEAD ",\"d\":%s}", deep);
		CHECK(json_verbatim(rec, 3) == 1);
		snprintf(rec, sizeof(rec), REC_HEAD ",\"d\":[%s]}", deep);
		CHECK(json_verbatim(rec, 3) == 0);
	}
}

/* --- HEC and webhook frames ------------------------------------------------ */

static void
test_hec_and_item(void)
{
	struct siem_fmt_ctx c = ctx(SIEM_FORMAT_JSON, SIEM_FRAME_HEC);
	struct rec r;
	struct buf b;
	json_t *j;

	buf_init(&b, 1 << 20);
	rec_exec(&r, 50, 0);
	c.hec_index = "main";
	CHECK(render(&c, &r.ev, &b) == 0);
	CHECK(b.data[b.len - 1] == '\n');
	CHECK((j = json_loadb((const char *)b.data, b.len, 0, NULL)) != NULL);
	CHECK(json_real_value(json_object_get(j, "time")) > 1767225600.0);
	CHECK_STR(json_string_value(json_object_get(j, "host")), "host-1");
	CHECK_STR(
	    json_string_value(json_object_get(j, "source")), "petri:" ORIGIN);
	CHECK_STR(
	    json_string_value(json_object_get(j, "sourcetype")), "petri:json");
	CHECK_STR(json_string_value(json_object_get(j, "index")), "main");
	CHECK_STR(json_string_value(jpath(j, "fields.petri_seq")), "50");
	CHECK(json_integer_value(jpath(j, "event.seq")) == 50);
	json_decref(j);
	/* CEF in HEC: the event is a string */
	c.format = SIEM_FORMAT_CEF;
	c.hec_index = NULL;
	CHECK(render(&c, &r.ev, &b) == 0);
	CHECK((j = json_loadb((const char *)b.data, b.len, 0, NULL)) != NULL);
	CHECK(json_is_string(json_object_get(j, "event")) &&
	    strncmp(json_string_value(json_object_get(j, "event")), "CEF:0|",
	        6) == 0);
	CHECK(json_object_get(j, "index") == NULL);
	json_decref(j);
	/* webhook items */
	c.frame = SIEM_FRAME_ITEM;
	CHECK(render(&c, &r.ev, &b) == 0);
	CHECK(b.data[0] == '"');
	c.format = SIEM_FORMAT_OCSF;
	CHECK(render(&c, &r.ev, &b) == 0);
	CHECK(b.data[0] == '{' && b.data[b.len - 1] == '}');
	rec_free(&r);
	buf_free(&b);
}

static void
test_errors(void)
{
	struct siem_fmt_ctx c = ctx(SIEM_FORMAT_JSON, SIEM_FRAME_LINE);
	struct rec r;
	struct buf b;

	rec_exec(&r, 60, 0);
	buf_init(&b, 100);
	CHECK(buf_append(&b, "keep", 4) == 0);
	CHECK(siem_format_record(&c, &r.ev, NULL, &b) == PETRI_ERR_TOOBIG);
	CHECK(b.len == 4 && memcmp(b.data, "keep", 4) == 0);
	c.max_event = 100;
	CHECK(siem_format_record(&c, &r.ev, NULL, &b) == PETRI_ERR_INVAL);
	c.max_event = 1 << 20;
	c.facility = 24;
	CHECK(siem_format_record(&c, &r.ev, NULL, &b) == PETRI_ERR_INVAL);
	CHECK(siem_format_from_name("json") == SIEM_FORMAT_JSON);
	CHECK(siem_format_from_name("ecs") == SIEM_FORMAT_ECS);
	CHECK(siem_format_from_name("xml") == PETRI_ERR_INVAL);
	CHECK_STR(siem_format_name(SIEM_FORMAT_OCSF), "ocsf");
	CHECK(siem_severity("egress.denied") == 4);
	CHECK(siem_severity("key.revoked") == 5);
	CHECK(siem_severity("exec.finished") == 6);
	rec_free(&r);
	buf_free(&b);
}

static void
test_hec_replies(void)
{
	int code, acked;
	int64_t ack;

	CHECK(siem_hec_reply_parse(
	          "{\"text\":\"Success\",\"code\":0}", 27, &code, &ack) == 0 &&
	    code == 0 && ack == -1);
	CHECK(siem_hec_reply_parse(
	          "{\"text\":\"Success\",\"code\":0,\"ackId\":7}", 37, &code,
	          &ack) == 0 &&
	    ack == 7);
	CHECK(siem_hec_reply_parse("{\"code\":\"0\"}", 12, &code, &ack) ==
	    PETRI_ERR_PROTO);
	CHECK(siem_hec_reply_parse("{\"code\":0,\"code\":1}", 19, &code,
	          &ack) == PETRI_ERR_PROTO);
	CHECK(siem_hec_reply_parse("not json", 8, &code, &ack) ==
	    PETRI_ERR_PROTO);
	CHECK(
	    siem_hec_ack_parse("{\"acks\":{\"7\":true}}", 19, 7, &acked) == 0 &&
	    acked == 1);
	CHECK(siem_hec_ack_parse("{\"acks\":{\"7\":false}}", 20, 7, &acked) ==
	        0 &&
	    acked == 0);
	CHECK(siem_hec_ack_parse("{\"acks\":{}}", 11, 7, &acked) == 0 &&
	    acked == 0);
	CHECK(siem_hec_ack_parse("{\"acks\":[]}", 11, 7, &acked) ==
	    PETRI_ERR_PROTO);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(pk, sk);
	UNIT_RUN(test_cef_escape);
	UNIT_RUN(test_cef_record);
	UNIT_RUN(test_cef_header_fields);
	UNIT_RUN(test_syslog_frame);
	UNIT_RUN(test_syslog_sd_escape);
	UNIT_RUN(test_json_verbatim);
	UNIT_RUN(test_ocsf_classes);
	UNIT_RUN(test_ecs_fields);
	UNIT_RUN(test_summary_and_minimal);
	UNIT_RUN(test_invalid_record);
	UNIT_RUN(test_json_scan);
	UNIT_RUN(test_hec_and_item);
	UNIT_RUN(test_errors);
	UNIT_RUN(test_hec_replies);
	return UNIT_DONE();
}
