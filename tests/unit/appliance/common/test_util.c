/* test_util.c: buffers, number parsing, hex, ids, time, UTF-8. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "config.h"
#include "unit.h"
#include "util.h"

static void
test_buf_bounds(void)
{
	struct buf b;
	char *s;

	buf_init(&b, 8);
	CHECK(buf_append(&b, "12345678", 8) == 0);
	CHECK(buf_append(&b, "9", 1) == PETRI_ERR_TOOBIG);
	CHECK(b.len == 8);
	CHECK((s = buf_cstr(&b)) != NULL && strcmp(s, "12345678") == 0);
	buf_consume(&b, 3);
	CHECK(b.len == 5 && memcmp(b.data, "45678", 5) == 0);
	CHECK(buf_printf(&b, "%d", 123) == 0 && b.len == 8);
	CHECK(buf_printf(&b, "%d", 4) == PETRI_ERR_TOOBIG);
	buf_free(&b);
	buf_init(&b, 0);
	CHECK((s = buf_cstr(&b)) != NULL && s[0] == '\0');
	buf_free(&b);
}

static void
test_strtonum(void)
{
	long long v;

	CHECK(petri_strtonum("42", 0, 100, &v) == 0 && v == 42);
	CHECK(petri_strtonum("-5", -10, 0, &v) == 0 && v == -5);
	CHECK(petri_strtonum("101", 0, 100, &v) == PETRI_ERR_INVAL);
	CHECK(petri_strtonum("", 0, 100, &v) == PETRI_ERR_INVAL);
	CHECK(petri_strtonum(" 1", 0, 100, &v) == PETRI_ERR_INVAL);
	CHECK(petri_strtonum("1x", 0, 100, &v) == PETRI_ERR_INVAL);
	CHECK(petri_strtonum("-", -1, 100, &v) == PETRI_ERR_INVAL);
	CHECK(petri_strtonum("99999999999999999999", 0, LLONG_MAX, &v) ==
	    PETRI_ERR_INVAL);
	CHECK(petri_strtonum("9223372036854775807", 0, LLONG_MAX, &v) == 0);
}

static void
test_hex_ids(void)
{
	unsigned char in[3] = {0x00, 0xab, 0xff}, out[3];
	char hex[7], id[64];

	petri_hex(in, 3, hex);
	CHECK_STR(hex, "00abff");
	CHECK(petri_unhex("00ABff", out, 3) == 0 && memcmp(in, out, 3) == 0);
	CHECK(petri_unhex("00abf", out, 3) == PETRI_ERR_INVAL);
	CHECK(petri_unhex("00abfg", out, 3) == PETRI_ERR_INVAL);
	CHECK(petri_id_new("sb_", id, sizeof(id)) == 0);
	CHECK(petri_id_valid(id, "sb_"));
	CHECK(!petri_id_valid(id, "ex_"));
	CHECK(!petri_id_valid("sb_../../etc", "sb_"));
	CHECK(!petri_id_valid("sb_AAAAAAAAAAAAAAAAAAAAAAAA", "sb_"));
	CHECK(petri_id_new("sb_", id, 10) == PETRI_ERR_TOOBIG);
}

static void
test_time(void)
{
	char ts[PETRI_TIME_MAX];
	int64_t u;

	petri_time_rfc3339(1763776264123456LL, ts);
	CHECK_STR(ts, "2025-11-22T01:51:04.123456Z");
	CHECK(petri_time_parse(ts, &u) == 0 && u == 1763776264123456LL);
	CHECK(petri_time_parse("2025-11-22T01:51:04Z", &u) == PETRI_ERR_INVAL);
	CHECK(petri_time_parse("2025-13-22T01:51:04.000000Z", &u) ==
	    PETRI_ERR_INVAL);
}

static void
test_utf8(void)
{
	struct buf b;

	buf_init(&b, 1024);
	CHECK(petri_utf8_sanitize("h\xc3\xa9llo", 6, &b) == 0);
	CHECK(b.len == 6 && memcmp(b.data, "h\xc3\xa9llo", 6) == 0);
	buf_reset(&b);
	/* a lone continuation byte, an overlong '/', a surrogate, a cut */
	CHECK(petri_utf8_sanitize("\x80"
	                          "\xc0\xaf"
	                          "\xed\xa0\x80"
	                          "\xe2\x82",
	          8, &b) == 0);
	CHECK(b.len == 3 * 8); /* every bad byte became U+FFFD */
	buf_reset(&b);
	CHECK(
	    petri_utf8_sanitize("\xf0\x9f\x98\x80", 4, &b) == 0 && b.len == 4);
	buf_free(&b);
}

static void
test_config(void)
{
	struct petri_config c;
	char err[256];
	json_t *doc;

	CHECK(config_parse(NULL, &c, err, sizeof(err)) == 0);
	CHECK(c.listen_port == 8080 && c.limits.memory_mb > 0);
	config_free(&c);
	doc = json_pack(
	    "{s:s, s:{s:i}}", "listen", "127.0.0.1:9000", "limits", "pids", 64);
	CHECK(config_parse(doc, &c, err, sizeof(err)) == 0);
	CHECK(c.listen_port == 9000 && c.limits.pids == 64);
	config_free(&c);
	json_decref(doc);
	doc = json_pack("{s:i}", "bogus", 1);
	CHECK(config_parse(doc, &c, err, sizeof(err)) == PETRI_ERR_INVAL);
	CHECK(strstr(err, "bogus") != NULL);
	json_decref(doc);
	doc = json_pack("{s:s}", "listen", "127.0.0.1");
	CHECK(config_parse(doc, &c, err, sizeof(err)) == PETRI_ERR_INVAL);
	json_decref(doc);
	doc = json_pack("{s:{s:i}}", "limits", "memory_mb", 1);
	CHECK(config_parse(doc, &c, err, sizeof(err)) == PETRI_ERR_INVAL);
	CHECK(strstr(err, "limits.memory_mb: must be an integer in 16..") !=
	    NULL);
	json_decref(doc);
}

/* Each refusal names the field's path and what it must be. */
static void
test_config_refusals(void)
{
	static const char *const bad[][2] = {
	    {"[]", "configuration: must be a JSON object"},
	    {"{\"listen\":8080}", "listen: must be a string ADDRESS:PORT"},
	    {"{\"listen\":\"x:0\"}", "listen: expected ADDRESS:PORT"},
	    {"{\"data_dir\":\"\"}", "data_dir: must be a string of 1 to"},
	    {"{\"runtime\":\"kata\"}", "runtime: must be \"runc\" or"},
	    {"{\"images\":{\"ruby\":\"r\"}}", "images: unknown field \"ruby\""},
	    {"{\"images\":{\"go\":1}}",
	        "images.go: must be an image reference"},
	    {"{\"pool\":{\"java\":257}}",
	        "pool.java: must be an integer in "
	        "0..256"},
	    {"{\"limits\":{\"cpus\":0}}", "limits.cpus: must be a number in"},
	    {"{\"limits\":{\"cpus\":\"1\"}}", "limits.cpus: must be a number"},
	    {"{\"limits\":{\"swap\":1}}", "limits: unknown field \"swap\""},
	    {"{\"ttl_seconds\":5}", "ttl_seconds: must be an integer in 10.."},
	    {"{\"debug\":1}", "debug: must be true or false"},
	    {"{\"egress\":{\"port\":0}}", "egress.port"},
	};
	struct petri_config c;
	char err[256];
	json_t *doc;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		doc = json_loads(bad[i][0], JSON_REJECT_DUPLICATES, NULL);
		CHECK(doc != NULL);
		CHECK(
		    config_parse(doc, &c, err, sizeof(err)) == PETRI_ERR_INVAL);
		if (strstr(err, bad[i][1]) == NULL) {
			fprintf(stderr, "  %s -> \"%s\", want \"%s\"\n",
			    bad[i][0], err, bad[i][1]);
			CHECK(0);
		}
		json_decref(doc);
	}
	/* a pool names only the languages kept warm; images keep defaults */
	doc = json_loads("{\"pool\":{\"go\":3},\"images\":{\"node\":"
	                 "\"n:1\"}}",
	    0, NULL);
	CHECK(config_parse(doc, &c, err, sizeof(err)) == 0);
	CHECK(c.pool[0] == 0 && c.pool[2] == 3 && c.pool[3] == 0);
	CHECK_STR(c.images[1], "n:1");
	CHECK_STR(c.images[0], "petri/python:current");
	CHECK(c.output_max == EXEC_DEFAULT_OUTPUT_MAX);
	config_free(&c);
	json_decref(doc);
}

static void
test_deadline(void)
{
	struct timespec now, ts;

	clock_gettime(CLOCK_MONOTONIC, &now);
	petri_deadline(CLOCK_MONOTONIC, 2500, &ts);
	CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
	CHECK(ts.tv_sec >= now.tv_sec + 2 && ts.tv_sec <= now.tv_sec + 4);
	petri_deadline(CLOCK_MONOTONIC, 999, &ts);
	CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
	CHECK(ts.tv_sec <= now.tv_sec + 2);
	petri_deadline(CLOCK_REALTIME, 0, &ts);
	CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
}

static void *
t_alloc(size_t n)
{
	return malloc(n);
}

static int t_released;

static void
t_release(void *p)
{
	t_released++;
	free(p);
}

static void
test_file_read_with(void)
{
	char path[] = "/tmp/test_util.XXXXXX";
	void *p = NULL;
	size_t n = 0;
	int fd;

	CHECK((fd = mkstemp(path)) >= 0);
	CHECK(write(fd, "secret\n", 7) == 7);
	close(fd);
	CHECK(
	    petri_file_read_with(path, 0, 64, t_alloc, t_release, &p, &n) == 0);
	CHECK(n == 7 && memcmp(p, "secret\n", 8) == 0);
	t_release(p);
	t_released = 0;
	CHECK(petri_file_read_with(path, 0, 6, t_alloc, t_release, &p, &n) ==
	    PETRI_ERR_TOOBIG);
	CHECK(p == NULL && t_released == 0);
	unlink(path);
	CHECK(petri_file_read_with(path, 0, 64, t_alloc, t_release, &p, &n) ==
	    PETRI_ERR_NOTFOUND);
	CHECK(petri_file_read_with("/tmp", 0, 64, t_alloc, t_release, &p, &n) ==
	    PETRI_ERR_IO);
}

int
main(void)
{
	UNIT_RUN(test_buf_bounds);
	UNIT_RUN(test_strtonum);
	UNIT_RUN(test_hex_ids);
	UNIT_RUN(test_time);
	UNIT_RUN(test_deadline);
	UNIT_RUN(test_file_read_with);
	UNIT_RUN(test_utf8);
	UNIT_RUN(test_config);
	UNIT_RUN(test_config_refusals);
	return UNIT_DONE();
}
