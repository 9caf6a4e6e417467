/*
 * siem_format.c: renders audit records as json, cef, ocsf and ecs events
 * and frames them for syslog, HEC, JSON Lines and webhook batches.
 * Pure: no I/O, no globals.  Mappings are documented in docs/siem.md; the
 * field lists at the end are the ones the tests check.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "record.h"
#include "siem_format.h"
#include "util.h"

#define JW_DEPTH 8
#define MINIMAL_STR 16 /* bytes of a record string in a minimal event */
#define CMDLINE_MAX (64UL << 10) /* a rendered command line */
#define SIG_B64_LEN AUDIT_B64_LEN(AUDIT_SIG_LEN)

/* Rendering tiers. */
enum tier { T_FULL, T_SUMMARY, T_MINIMAL };

/* A record as the renderers see it. */
struct view {
	const struct siem_event *ev;
	enum tier tier;
	size_t cap; /* bytes of a record string (0: all) */
	int valid; /* the record parsed */
	struct audit_record rec;
	json_t *j; /* rec.json or NULL */
	const char *origin;
	const char *type;
	const char *time; /* RFC 3339, or NULL */
	int64_t usec;
	char leaf_hex[2 * AUDIT_HASH_LEN + 1];
	char sig_b64[SIG_B64_LEN];
	/* the json format's scan keeps its own copies */
	char origin_buf[AUDIT_ORIGIN_MAX + 1];
	char type_buf[AUDIT_TYPE_MAX + 1];
	char time_buf[PETRI_TIME_MAX];
	const char *key_id;
	int severity; /* RFC 5424 */
	int ocsf_class;
	int outcome; /* 1 success, 0 failure, -1 unknown */
};

/* --- small JSON writer ---------------------------------------------------- */

struct jw {
	struct buf *b;
	size_t cap;
	int depth;
	unsigned char first[JW_DEPTH];
	int err;
};

static void
jw_init(struct jw *w, struct buf *b, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->cap = cap;
	w->first[0] = 1;
}

static void
jw_put(struct jw *w, const void *p, size_t n)
{
	int r;

	if (w->err == 0 && (r = buf_append(w->b, p, n)) != 0)
		w->err = r;
}

static void
jw_puts(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

/* Separator and key (keys are literals of this file: no escaping). */
static void
jw_key(struct jw *w, const char *key)
{
	if (!w->first[w->depth])
		jw_put(w, ",", 1);
	w->first[w->depth] = 0;
	if (key != NULL) {
		jw_put(w, "\"", 1);
		jw_puts(w, key);
		jw_put(w, "\":", 2);
	}
}

static void
jw_open(struct jw *w, const char *key, char c)
{
	jw_key(w, key);
	jw_put(w, &c, 1);
	if (w->depth + 1 >= JW_DEPTH) {
		w->err = PETRI_ERR_INVAL;
		return;
	}
	w->first[++w->depth] = 1;
}

static void
jw_close(struct jw *w, char c)
{
	jw_put(w, &c, 1);
	if (w->depth > 0)
		w->depth--;
}

static void
jw_strn(struct jw *w, const char *key, const char *s, size_t n)
{
	int r;

	jw_key(w, key);
	if (w->err == 0 && (r = siem_json_escape(w->b, s, n, w->cap)) != 0)
		w->err = r;
}

/* A string member; skipped when s is NULL. */
static void
jw_str(struct jw *w, const char *key, const char *s)
{
	if (s != NULL)
		jw_strn(w, key, s, strlen(s));
}

/* An integrity string (never capped). */
static void
jw_strfull(struct jw *w, const char *key, const char *s)
{
	size_t cap = w->cap;

	w->cap = 0;
	jw_str(w, key, s);
	w->cap = cap;
}

/* The record bytes as a JSON string (never capped). */
static void
jw_rawstr(struct jw *w, const char *key, const struct siem_event *ev)
{
	size_t cap = w->cap;

	w->cap = 0;
	jw_strn(w, key, (const char *)ev->bytes, ev->len);
	w->cap = cap;
}

static void
jw_int(struct jw *w, const char *key, long long v)
{
	char num[32];

	jw_key(w, key);
	snprintf(num, sizeof(num), "%lld", v);
	jw_puts(w, num);
}

static void
jw_uint(struct jw *w, const char *key, unsigned long long v)
{
	char num[32];

	jw_key(w, key);
	snprintf(num, sizeof(num), "%llu", v);
	jw_puts(w, num);
}

static void
jw_bool(struct jw *w, const char *key, int v)
{
	jw_key(w, key);
	jw_puts(w, v ? "true" : "false");
}

static void
jw_raw(struct jw *w, const char *key, const void *p, size_t n)
{
	jw_key(w, key);
	jw_put(w, p, n);
}

/* --- escaping ------------------------------------------------------------- */

/* n cut to at most cap bytes (0: no cap) on a UTF-8 boundary. */
static size_t
utf8_cut(const char *s, size_t n, size_t cap)
{
	if (cap == 0 || n <= cap)
		return n;
	n = cap;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int
siem_json_escape(struct buf *b, const char *s, size_t n, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	char esc[6];
	int r;

	n = utf8_cut(s, n, cap);
	if ((r = buf_reserve(b, n + 2)) != 0 ||
	    (r = buf_append(b, "\"", 1)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t el = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if ((r = buf_append(b, s + run, i - run)) != 0)
			return r;
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
		}
		if ((r = buf_append(b, esc, el)) != 0)
			return r;
	}
	if ((r = buf_append(b, s + run, n - run)) != 0)
		return r;
	return buf_append(b, "\"", 1);
}

int
siem_cef_header_escape(struct buf *b, const char *s, size_t n, size_t cap)
{
	size_t i, run = 0;
	int r;

	n = utf8_cut(s, n, cap);
	for (i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '\\':
			rep = "\\\\";
			break;
		case '|':
			rep = "\\|";
			break;
		case '\r':
		case '\n':
			rep = " ";
			break;
		default:
			continue;
		}
		if ((r = buf_append(b, s + run, i - run)) != 0 ||
		    (r = buf_append_str(b, rep)) != 0)
			return r;
		run = i + 1;
	}
	return buf_append(b, s + run, n - run);
}

int
siem_cef_ext_escape(struct buf *b, const char *s, size_t n, size_t cap)
{
	size_t i, run = 0;
	int r;

	n = utf8_cut(s, n, cap);
	for (i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '\\':
			rep = "\\\\";
			break;
		case '=':
			rep = "\\=";
			break;
		case '\n':
			rep = "\\n";
			break;
		case '\r':
			rep = "\\r";
			break;
		default:
			continue;
		}
		if ((r = buf_append(b, s + run, i - run)) != 0 ||
		    (r = buf_append_str(b, rep)) != 0)
			return r;
		run = i + 1;
	}
	return buf_append(b, s + run, n - run);
}

/* RFC 5424 PARAM-VALUE: '"', '\' and ']' get a backslash. */
static int
sd_escape(struct buf *b, const char *s)
{
	size_t i, run = 0, n = strlen(s);
	int r;

	for (i = 0; i < n; i++) {
		if (s[i] != '"' && s[i] != '\\' && s[i] != ']')
			continue;
		if ((r = buf_append(b, s + run, i - run)) != 0 ||
		    (r = buf_append(b, "\\", 1)) != 0)
			return r;
		run = i;
	}
	return buf_append(b, s + run, n - run);
}

/* Appends s with every byte outside printable US-ASCII made '_'. */
static int
printusascii(struct buf *b, const char *s, size_t max)
{
	size_t i;
	char c;
	int r;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		c = (s[i] > 32 && s[i] < 127) ? s[i] : '_';
		if ((r = buf_append(b, &c, 1)) != 0)
			return r;
	}
	return 0;
}

/* --- record access -------------------------------------------------------- */

static json_t *
jpath(json_t *o, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return o != NULL ? json_object_get(o, path) : NULL;
}

/* A string at a dotted path (NULL when absent or not a string). */
static const char *
vstr(const struct view *v, const char *path)
{
	return v->j != NULL ? json_string_value(jpath(v->j, path)) : NULL;
}

/* An integer at a path into *out; 0 when it is one, else -1. */
static int
vint(const struct view *v, const char *path, long long *out)
{
	json_t *x = v->j != NULL ? jpath(v->j, path) : NULL;

	if (!json_is_integer(x))
		return -1;
	*out = json_integer_value(x);
	return 0;
}

static int
vtrue(const struct view *v, const char *path)
{
	return v->j != NULL && json_is_true(jpath(v->j, path));
}

static int
type_is(const char *type, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(type, prefix, n) == 0 &&
	    (type[n] == '\0' || prefix[n - 1] == '.');
}

/* The verb of a type: what follows its last dot. */
static const char *
type_verb(const char *type)
{
	const char *d = strrchr(type, '.');

	return d != NULL ? d + 1 : type;
}

static int
type_network(const char *type)
{
	return type_is(type, "egress.") || type_is(type, "net.") ||
	    type_is(type, "network.") || type_is(type, "http.") ||
	    strcmp(type, "secret.released") == 0;
}

static int
type_process(const char *type)
{
	return type_is(type, "exec.") || type_is(type, "install.");
}

int
siem_severity(const char *type)
{
	static const char *const notice[] = {"key.created", "key.revoked",
	    "secret.created", "secret.rotated", "secret.deleted",
	    "secret.released", "policy.changed", "log.key_rotated",
	    "blob.deleted", "audit.exported", NULL};
	size_t i;

	if (strcmp(type, "egress.denied") == 0)
		return 4;
	for (i = 0; notice[i] != NULL; i++)
		if (strcmp(type, notice[i]) == 0)
			return 5;
	return 6;
}

int
siem_ocsf_class(const char *type, int script)
{
	if (type_process(type))
		return script && type_is(type, "exec.") ? 1009 : 1007;
	if (type_network(type))
		return 4002;
	return 6003;
}

/* Is s a literal IPv4 or IPv6 address? */
static int
is_ip(const char *s)
{
	unsigned char a[16];

	return s != NULL &&
	    (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1);
}

/*
 * Outcome: 1 success, 0 failure, -1 unknown.  Executions succeed with exit
 * code 0 and no error; denials fail; other actions happened, so succeed.
 */
static int
view_outcome(const struct view *v)
{
	long long code;
	const char *d;

	if (!v->valid)
		return -1;
	if (type_process(v->type)) {
		if (vstr(v, "error") != NULL || vtrue(v, "timed_out") ||
		    vtrue(v, "oom_killed"))
			return 0;
		if (vint(v, "exit_code", &code) != 0)
			return -1;
		return code == 0;
	}
	if (type_network(v->type)) {
		d = vstr(v, "decision");
		if (strcmp(v->type, "egress.denied") == 0 ||
		    (d != NULL && strcmp(d, "deny") == 0))
			return 0;
		return 1;
	}
	return 1;
}

/* --- record scan (the json format needs no parse tree) ----------------- */

/*
 * A non-allocating JSON validator for one record: RFC 8259 syntax, UTF-8
 * (RFC 3629: no overlong forms, no surrogates), nesting at most
 * AUDIT_RECORD_MAX_DEPTH, no raw CR or LF anywhere (the record bytes are
 * spliced verbatim into line- and octet-framed output).  It captures the
 * raw (still escaped) values of the top-level members origin, type and
 * time (strings) and seq (a number).
 */
struct scan {
	const unsigned char *p, *end;
	const unsigned char *origin, *type, *time, *seq;
	size_t origin_n, type_n, time_n, seq_n;
};

static int scan_value(
    struct scan *s, int depth, const unsigned char **v, size_t *vn);

static void
scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
		s->p++;
}

/* One UTF-8 sequence at s->p (not ASCII); advances past it. */
static int
scan_utf8(struct scan *s)
{
	const unsigned char *p = s->p;
	unsigned int c = p[0], cp, n, i;

	if (c >= 0xC2 && c <= 0xDF)
		n = 1, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 2, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 3, cp = c & 0x07;
	else
		return -1;
	if ((size_t)(s->end - p) <= n)
		return -1;
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
		return -1;
	s->p += n + 1;
	return 0;
}

static int
scan_hex4(const unsigned char *p)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		        (p[i] >= 'a' && p[i] <= 'f') ||
		        (p[i] >= 'A' && p[i] <= 'F')))
			return -1;
	return 0;
}

/* A string; *v, *vn get its contents without the quotes. */
static int
scan_string(struct scan *s, const unsigned char **v, size_t *vn)
{
	const unsigned char *start;

	if (s->p >= s->end || *s->p != '"')
		return -1;
	start = ++s->p;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p < 0x20)
			return -1;
		if (*s->p == '\\') {
			if (s->end - s->p < 2)
				return -1;
			if (s->p[1] == 'u') {
				if (s->end - s->p < 6 ||
				    scan_hex4(s->p + 2) != 0)
					return -1;
				s->p += 6;
			} else if (strchr("\"\\/bfnrt", s->p[1]) != NULL &&
			    s->p[1] != '\0')
				s->p += 2;
			else
				return -1;
		} else if (*s->p >= 0x80) {
			if (scan_utf8(s) != 0)
				return -1;
		} else
			s->p++;
	}
	if (s->p >= s->end)
		return -1;
	*v = start;
	*vn = (size_t)(s->p - start);
	s->p++;
	return 0;
}

static int
scan_digits(struct scan *s)
{
	const unsigned char *p = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > p ? 0 : -1;
}

static int
scan_number(struct scan *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (scan_digits(s) != 0)
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (scan_digits(s) != 0)
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (scan_digits(s) != 0)
			return -1;
	}
	return 0;
}

static int
scan_literal(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

/* An object or array body after its opening bracket. */
static int
scan_container(struct scan *s, int depth, int object)
{
	const unsigned char *k, *v;
	size_t kn, vn;
	char close = object ? '}' : ']';

	scan_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	for (;;) {
		k = NULL;
		kn = 0;
		if (object) {
			scan_ws(s);
			if (scan_string(s, &k, &kn) != 0)
				return -1;
			scan_ws(s);
			if (s->p >= s->end || *s->p++ != ':')
				return -1;
		}
		scan_ws(s);
		v = NULL;
		vn = 0;
		if (scan_value(s, depth + 1, &v, &vn) != 0)
			return -1;
		if (object && depth == 1 && v != NULL) {
			if (kn == 6 && memcmp(k, "origin", 6) == 0 &&
			    s->origin == NULL)
				s->origin = v, s->origin_n = vn;
			else if (kn == 4 && memcmp(k, "type", 4) == 0 &&
			    s->type == NULL)
				s->type = v, s->type_n = vn;
			else if (kn == 4 && memcmp(k, "time", 4) == 0 &&
			    s->time == NULL)
				s->time = v, s->time_n = vn;
			else if (kn == 3 && memcmp(k, "seq", 3) == 0 &&
			    s->seq == NULL)
				s->seq = v, s->seq_n = vn;
		}
		scan_ws(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == close) {
			s->p++;
			return 0;
		}
		if (*s->p++ != ',')
			return -1;
	}
}

/*
 * One value.  For a string, *v and *vn get its contents; for a number its
 * text; otherwise *v stays NULL.
 */
static int
scan_value(struct scan *s, int depth, const unsigned char **v, size_t *vn)
{
	const unsigned char *start = s->p;

	if (depth > AUDIT_RECORD_MAX_DEPTH || s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
		s->p++;
		return scan_container(s, depth, 1);
	case '[':
		s->p++;
		return scan_container(s, depth, 0);
	case '"':
		return scan_string(s, v, vn);
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		if (scan_number(s) != 0)
			return -1;
		*v = start;
		*vn = (size_t)(s->p - start);
		return 0;
	}
}

/* Copies a captured string without escapes, or with \" and \\ only. */
static int
scan_copy(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\') {
			if (i + 1 >= n || (p[i + 1] != '"' && p[i + 1] != '\\'))
				return -1;
			i++;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)p[i];
	}
	out[o] = '\0';
	return 0;
}

/*
 * The json format's view: the record must be one JSON object (the whole
 * bytes, no raw CR/LF), with origin, type and time strings of the right
 * form and a seq equal to the event's.
 */
static int
view_scan(struct view *v, const struct siem_event *ev)
{
	struct scan s;
	const unsigned char *x;
	char num[24];
	long long seq;

	memset(&s, 0, sizeof(s));
	s.p = ev->bytes;
	s.end = ev->bytes + ev->len;
	if (ev->len < 2 || ev->len > AUDIT_RECORD_MAX || *s.p != '{' ||
	    s.end[-1] != '}' || memchr(ev->bytes, '\n', ev->len) != NULL ||
	    memchr(ev->bytes, '\r', ev->len) != NULL)
		return -1;
	x = NULL;
	if (scan_value(&s, 1, &x, &s.seq_n) != 0 || s.p != s.end ||
	    s.origin == NULL || s.type == NULL || s.time == NULL ||
	    s.seq == NULL || s.seq_n >= sizeof(num))
		return -1;
	memcpy(num, s.seq, s.seq_n);
	num[s.seq_n] = '\0';
	if (petri_strtonum(num, 0, INT64_MAX, &seq) != 0 ||
	    (uint64_t)seq != ev->seq ||
	    scan_copy(s.origin, s.origin_n, v->origin_buf,
	        sizeof(v->origin_buf)) != 0 ||
	    scan_copy(s.type, s.type_n, v->type_buf, sizeof(v->type_buf)) !=
	        0 ||
	    !audit_record_type_valid(v->type_buf) ||
	    scan_copy(s.time, s.time_n, v->time_buf, sizeof(v->time_buf)) !=
	        0 ||
	    petri_time_parse(v->time_buf, &v->usec) != 0)
		return -1;
	v->origin = v->origin_buf;
	v->type = v->type_buf;
	v->time = v->time_buf;
	return 0;
}

/*
 * The view of one record: tree 1 parses it (audit_record_parse) for the
 * formats that map fields, tree 0 only scans it (the json format).
 */
static int
view_init(struct view *v, const struct siem_event *ev, int tree)
{
	memset(v, 0, sizeof(*v));
	v->ev = ev;
	v->key_id = ev->key_id != NULL ? ev->key_id : "";
	petri_hex(ev->leaf, AUDIT_HASH_LEN, v->leaf_hex);
	if (audit_b64_encode(
	        ev->sig, AUDIT_SIG_LEN, v->sig_b64, sizeof(v->sig_b64)) != 0)
		return PETRI_ERR_INVAL;
	if (ev->bytes == NULL)
		;
	else if (!tree)
		v->valid = view_scan(v, ev) == 0;
	else if (audit_record_parse(ev->bytes, ev->len, &v->rec, NULL) == 0 &&
	    v->rec.seq == ev->seq) {
		v->valid = 1;
		v->j = v->rec.json;
		v->origin = v->rec.origin;
		v->type = v->rec.type;
		v->time = v->rec.time;
		v->usec = v->rec.time_usec;
	}
	if (!v->valid) {
		v->origin = ev->origin != NULL ? ev->origin : "";
		v->type = "invalid";
		v->time = NULL;
	}
	v->severity = v->valid ? siem_severity(v->type) : 6;
	v->ocsf_class = siem_ocsf_class(v->type,
	    v->valid && json_is_object(json_object_get(v->j, "program")));
	v->outcome = view_outcome(v);
	return 0;
}

static void
view_tier(struct view *v, enum tier t)
{
	v->tier = t;
	v->cap = t == T_FULL ? 0
	    : t == T_SUMMARY ? SIEM_SUMMARY_STR
	                     : MINIMAL_STR;
}

/* The product version: the record's appliance.version, else ours. */
static const char *
view_version(const struct view *v)
{
	const char *s = vstr(v, "appliance.version");

	return s != NULL ? s : SIEM_VERSION;
}

/*
 * The command line: "command" when it is a string, else argv joined by
 * spaces; capped in summaries.  *name gets argv[0]'s last component.
 */
static int
view_cmdline(const struct view *v, struct buf *out, const char **name)
{
	json_t *argv = v->j != NULL ? json_object_get(v->j, "argv") : NULL;
	const char *s, *slash;
	size_t i, n, max;
	json_t *x;
	int r = 0;

	*name = NULL;
	if (json_is_array(argv) && json_array_size(argv) > 0 &&
	    (s = json_string_value(json_array_get(argv, 0))) != NULL) {
		slash = strrchr(s, '/');
		*name = slash != NULL && slash[1] != '\0' ? slash + 1 : s;
	}
	if ((s = vstr(v, "command")) != NULL)
		return buf_append(out, s, strlen(s));
	if (!json_is_array(argv))
		return 0;
	max = v->tier == T_FULL ? SIEM_FULL_ARGV : SIEM_SUMMARY_ARGV;
	json_array_foreach (argv, i, x) {
		if (i >= max || (s = json_string_value(x)) == NULL)
			break;
		n = json_string_length(x);
		if ((i > 0 && (r = buf_append(out, " ", 1)) != 0) ||
		    (r = buf_append(out, s, n)) != 0)
			return r;
	}
	return r;
}

/* --- json ------------------------------------------------------------------ */

static void
json_integrity(struct jw *w, const struct view *v)
{
	jw_strfull(w, "origin", v->origin);
	jw_uint(w, "seq", (unsigned long long)v->ev->seq);
	jw_strfull(w, "type", v->type);
	jw_strfull(w, "time", v->time);
	jw_strfull(w, "leaf_hash", v->leaf_hex);
	jw_strfull(w, "signature", v->sig_b64);
	jw_strfull(w, "key_id", v->key_id);
}

static void
render_json(struct jw *w, const struct view *v)
{
	jw_open(w, NULL, '{');
	json_integrity(w, v);
	if (!v->valid)
		jw_bool(w, "invalid", 1);
	else if (v->tier == T_FULL)
		jw_raw(w, "record", v->ev->bytes, v->ev->len);
	else {
		jw_bool(w, "truncated", 1);
		jw_uint(w, "record_size", (unsigned long long)v->ev->len);
	}
	jw_close(w, '}');
}

/* --- cef ------------------------------------------------------------------ */

/* A CEF extension writer: space-separated key=value pairs after the header. */
struct cw {
	struct buf *b;
	int first;
	int err;
};

static void
cw_kvn(struct cw *w, const char *key, const char *val, size_t n, size_t cap)
{
	int r = 0;

	if (val == NULL || w->err != 0)
		return;
	if ((!w->first && (r = buf_append(w->b, " ", 1)) != 0) ||
	    (r = buf_append_str(w->b, key)) != 0 ||
	    (r = buf_append(w->b, "=", 1)) != 0 ||
	    (r = siem_cef_ext_escape(w->b, val, n, cap)) != 0) {
		w->err = r;
		return;
	}
	w->first = 0;
}

static void
cw_kv(struct cw *w, const char *key, const char *val, size_t cap)
{
	if (val != NULL)
		cw_kvn(w, key, val, strlen(val), cap);
}

static void
cw_num(struct cw *w, const char *key, long long val)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", val);
	cw_kv(w, key, num, 0);
}

/* A labelled custom field: "<k>Label=<label> <k>=<value>". */
static void
cw_custom(
    struct cw *w, const char *k, const char *label, const char *val, size_t cap)
{
	char lk[32];

	if (val == NULL)
		return;
	snprintf(lk, sizeof(lk), "%sLabel", k);
	cw_kv(w, lk, label, 0);
	cw_kv(w, k, val, cap);
}

static void
cw_customnum(struct cw *w, const char *k, const char *label, long long val)
{
	char lk[32];

	snprintf(lk, sizeof(lk), "%sLabel", k);
	cw_kv(w, lk, label, 0);
	cw_num(w, k, val);
}

/* "scheme://host[:port]path" of a network record into u. */
static int
cef_http_url(const struct view *v, struct buf *u)
{
	const char *scheme = vstr(v, "scheme"), *host = vstr(v, "host");
	const char *path = vstr(v, "path");
	long long port;
	int r;

	if (host == NULL)
		return 0;
	if ((r = buf_printf(
	         u, "%s://%s", scheme != NULL ? scheme : "https", host)) != 0)
		return r;
	if (vint(v, "port", &port) == 0 &&
	    (r = buf_printf(u, ":%lld", port)) != 0)
		return r;
	return buf_append_str(u, path != NULL ? path : "/");
}

static int
render_cef(struct buf *b, const struct view *v)
{
	static const int cefsev[8] = {10, 10, 9, 8, 7, 5, 3, 1};
	struct buf tmp;
	struct cw w = {b, 1, 0};
	char name[AUDIT_TYPE_MAX + 1], num[32], *p;
	const char *pname = NULL, *ver = view_version(v);
	size_t cap = v->cap;
	long long n;
	int r;

	buf_init(&tmp, CMDLINE_MAX);
	petri_strlcpy(name, v->type, sizeof(name));
	for (p = name; *p != '\0'; p++)
		if (*p == '.' || *p == '_')
			*p = ' ';
	snprintf(num, sizeof(num), "|%d|", cefsev[v->severity & 7]);
	if ((r = buf_append_str(b, "CEF:0|Petri|petri|")) != 0 ||
	    (r = siem_cef_header_escape(b, ver, strlen(ver), 64)) != 0 ||
	    (r = buf_append(b, "|", 1)) != 0 ||
	    (r = siem_cef_header_escape(b, v->type, strlen(v->type), 0)) != 0 ||
	    (r = buf_append(b, "|", 1)) != 0 ||
	    (r = siem_cef_header_escape(b, name, strlen(name), 0)) != 0 ||
	    (r = buf_append_str(b, num)) != 0)
		goto out;
	if (v->valid)
		cw_num(&w, "rt", (long long)(v->usec / 1000));
	cw_kv(&w, "externalId", vstr(v, "id"), cap);
	cw_kv(&w, "act", v->type, 0);
	if (v->outcome >= 0)
		cw_kv(&w, "outcome", v->outcome ? "success" : "failure", 0);
	cw_custom(&w, "cs1", "origin", v->origin, 0);
	cw_customnum(&w, "cn1", "seq", (long long)v->ev->seq);
	cw_custom(&w, "cs2", "leafHash", v->leaf_hex, 0);
	cw_custom(&w, "cs3", "signature", v->sig_b64, 0);
	cw_custom(&w, "cs4", "keyId", v->key_id, 0);
	if (!v->valid)
		cw_kv(&w, "reason", "invalid record", 0);
	if (!v->valid || v->tier == T_MINIMAL)
		goto done;
	cw_custom(&w, "cs5", "tenant", vstr(v, "tenant"), cap);
	cw_custom(&w, "cs6", "sandbox", vstr(v, "sandbox"), cap);
	cw_kv(&w, "suser", vstr(v, "actor.key"), cap);
	cw_kv(&w, "spriv", vstr(v, "actor.role"), cap);
	if (is_ip(vstr(v, "source_ip")))
		cw_kv(&w, "src", vstr(v, "source_ip"), 0);
	cw_kv(&w, "deviceExternalId", vstr(v, "appliance.instance"), cap);
	if (type_process(v->type)) {
		if (vint(v, "exit_code", &n) == 0)
			cw_customnum(&w, "cn2", "exitCode", n);
		if (vint(v, "duration_ms", &n) == 0)
			cw_customnum(&w, "cn3", "durationMs", n);
		if (view_cmdline(v, &tmp, &pname) == 0 && tmp.len > 0) {
			cw_kv(&w, "dproc", pname, cap);
			cw_kvn(&w, "msg", (const char *)tmp.data, tmp.len, cap);
		}
	}
	if (type_network(v->type)) {
		cw_kv(&w, "requestMethod", vstr(v, "method"), cap);
		buf_reset(&tmp);
		if (cef_http_url(v, &tmp) == 0 && tmp.len > 0)
			cw_kvn(&w, "request", (const char *)tmp.data, tmp.len,
			    cap);
		cw_kv(&w, "dhost", vstr(v, "host"), cap);
		if (vint(v, "port", &n) == 0)
			cw_num(&w, "dpt", n);
		cw_kv(&w, "app", vstr(v, "scheme"), cap);
		if (vint(v, "bytes_in", &n) == 0)
			cw_num(&w, "in", n);
		if (vint(v, "bytes_out", &n) == 0)
			cw_num(&w, "out", n);
		cw_kv(&w, "reason", vstr(v, "rule"), cap);
	}
done:
	r = w.err;
out:
	buf_free(&tmp);
	return r;
}

/* --- ocsf ------------------------------------------------------------------ */

struct ocsf_act {
	int id;
	const char *name;
};

static struct ocsf_act
ocsf_activity(const struct view *v)
{
	const char *verb = type_verb(v->type), *m;
	static const char *const methods[] = {"CONNECT", "DELETE", "GET",
	    "HEAD", "OPTIONS", "POST", "PUT", "TRACE", NULL};
	static const char *const mnames[] = {"Connect", "Delete", "Get", "Head",
	    "Options", "Post", "Put", "Trace"};
	struct ocsf_act a = {99, "Other"};
	size_t i;

	switch (v->ocsf_class) {
	case 1007:
		if (strcmp(verb, "started") == 0)
			a = (struct ocsf_act){1, "Launch"};
		else if (strcmp(verb, "finished") == 0)
			a = (struct ocsf_act){2, "Terminate"};
		break;
	case 1009:
		a = (struct ocsf_act){1, "Execute"};
		break;
	case 4002:
		if ((m = vstr(v, "method")) == NULL)
			break;
		for (i = 0; methods[i] != NULL; i++)
			if (strcmp(m, methods[i]) == 0)
				a = (struct ocsf_act){(int)i + 1, mnames[i]};
		break;
	default:
		if (strcmp(verb, "created") == 0 ||
		    strcmp(verb, "uploaded") == 0)
			a = (struct ocsf_act){1, "Create"};
		else if (strcmp(verb, "exported") == 0 ||
		    strcmp(verb, "released") == 0)
			a = (struct ocsf_act){2, "Read"};
		else if (strcmp(verb, "changed") == 0 ||
		    strcmp(verb, "rotated") == 0 ||
		    strcmp(verb, "key_rotated") == 0)
			a = (struct ocsf_act){3, "Update"};
		else if (strcmp(verb, "deleted") == 0 ||
		    strcmp(verb, "revoked") == 0 ||
		    strcmp(verb, "expired") == 0)
			a = (struct ocsf_act){4, "Delete"};
	}
	return a;
}

static void
ocsf_class_names(int cls, int *cat, const char **catname, const char **clsname)
{
	switch (cls) {
	case 1007:
		*cat = 1;
		*catname = "System Activity";
		*clsname = "Process Activity";
		break;
	case 1009:
		*cat = 1;
		*catname = "System Activity";
		*clsname = "Script Activity";
		break;
	case 4002:
		*cat = 4;
		*catname = "Network Activity";
		*clsname = "HTTP Activity";
		break;
	default:
		*cat = 6;
		*catname = "Application Activity";
		*clsname = "API Activity";
	}
}

/* OCSF script type_id of a sandbox language. */
static int
ocsf_script_type(const char *lang)
{
	if (lang == NULL)
		return 0;
	if (strcmp(lang, "python") == 0)
		return 3;
	if (strcmp(lang, "node") == 0 || strcmp(lang, "javascript") == 0)
		return 4;
	if (strcmp(lang, "shell") == 0 || strcmp(lang, "bash") == 0)
		return 6;
	return 99;
}

static void
ocsf_process(struct jw *w, const struct view *v, struct buf *tmp)
{
	const char *pname = NULL;

	jw_open(w, "process", '{');
	jw_str(w, "uid",
	    vstr(v, "exec") != NULL     ? vstr(v, "exec")
	        : vstr(v, "id") != NULL ? vstr(v, "id")
	                                : "unknown");
	if (v->tier != T_MINIMAL && view_cmdline(v, tmp, &pname) == 0) {
		jw_str(w, "name", pname);
		if (tmp->len > 0)
			jw_strn(
			    w, "cmd_line", (const char *)tmp->data, tmp->len);
		jw_str(w, "working_directory", vstr(v, "cwd"));
	}
	jw_close(w, '}');
}

static void
ocsf_container(struct jw *w, const struct view *v)
{
	if (vstr(v, "sandbox") == NULL)
		return;
	jw_open(w, "container", '{');
	jw_str(w, "uid", vstr(v, "sandbox"));
	jw_str(w, "runtime", vstr(v, "runtime"));
	if (vstr(v, "image") != NULL) {
		jw_open(w, "image", '{');
		jw_str(w, "name", vstr(v, "image"));
		jw_str(w, "uid", vstr(v, "image_id"));
		jw_close(w, '}');
	}
	jw_close(w, '}');
}

static void
ocsf_http(struct jw *w, const struct view *v)
{
	const char *d = vstr(v, "decision");
	long long n;
	int deny = v->outcome == 0;

	jw_open(w, "http_request", '{');
	jw_str(w, "http_method", vstr(v, "method"));
	jw_open(w, "url", '{');
	jw_str(w, "scheme", vstr(v, "scheme"));
	jw_str(w, "hostname", vstr(v, "host"));
	if (vint(v, "port", &n) == 0)
		jw_int(w, "port", n);
	jw_str(w, "path", vstr(v, "path"));
	jw_close(w, '}');
	jw_close(w, '}');
	if (vint(v, "status", &n) == 0) {
		jw_open(w, "http_response", '{');
		jw_int(w, "code", n);
		jw_close(w, '}');
	}
	jw_open(w, "dst_endpoint", '{');
	jw_str(w, "hostname", vstr(v, "host"));
	if (vint(v, "port", &n) == 0)
		jw_int(w, "port", n);
	jw_close(w, '}');
	if (vint(v, "bytes_in", &n) == 0 || vint(v, "bytes_out", &n) == 0) {
		jw_open(w, "traffic", '{');
		if (vint(v, "bytes_in", &n) == 0)
			jw_int(w, "bytes_in", n);
		if (vint(v, "bytes_out", &n) == 0)
			jw_int(w, "bytes_out", n);
		jw_close(w, '}');
	}
	jw_int(w, "action_id", deny ? 2 : 1);
	jw_str(w, "action", deny ? "Denied" : "Allowed");
	jw_int(w, "disposition_id", deny ? 2 : 1);
	jw_str(w, "disposition", deny ? "Blocked" : "Allowed");
	if (vstr(v, "rule") != NULL || d != NULL) {
		jw_open(w, "firewall_rule", '{');
		jw_str(w, "name", vstr(v, "rule"));
		jw_str(w, "desc", d);
		jw_close(w, '}');
	}
}

/* The OCSF base attributes: activity, category, class, type, severity. */
static void
ocsf_base(struct jw *w, const struct view *v)
{
	static const char *const sevname[4] = {
	    "Unknown", "Informational", "Low", "Medium"};
	struct ocsf_act act = ocsf_activity(v);
	const char *catname, *clsname;
	char tname[96 + 64];
	int cat, sev = v->severity <= 4 ? 3 : v->severity == 5 ? 2 : 1;

	ocsf_class_names(v->ocsf_class, &cat, &catname, &clsname);
	snprintf(tname, sizeof(tname), "%s: %s", clsname, act.name);
	jw_int(w, "activity_id", act.id);
	jw_str(w, "activity_name", act.name);
	jw_int(w, "category_uid", cat);
	jw_str(w, "category_name", catname);
	jw_int(w, "class_uid", v->ocsf_class);
	jw_str(w, "class_name", clsname);
	jw_int(w, "type_uid", (long long)v->ocsf_class * 100 + act.id);
	jw_str(w, "type_name", tname);
	jw_int(w, "severity_id", sev);
	jw_str(w, "severity", sevname[sev]);
	jw_int(w, "status_id", v->outcome < 0 ? 0 : v->outcome ? 1 : 2);
	jw_str(w, "status",
	    v->outcome < 0   ? "Unknown"
	        : v->outcome ? "Success"
	                     : "Failure");
	jw_int(w, "time", v->valid ? (long long)(v->usec / 1000) : 0);
	jw_strfull(w, "message", v->type);
}

/* "metadata": the product, the log and the event's place in it. */
static void
ocsf_metadata(struct jw *w, const struct view *v)
{
	jw_open(w, "metadata", '{');
	jw_str(w, "version", SIEM_OCSF_VERSION);
	jw_open(w, "product", '{');
	jw_str(w, "name", "Petri");
	jw_str(w, "vendor_name", "Petri");
	jw_str(w, "version", view_version(v));
	jw_close(w, '}');
	jw_str(w, "uid", vstr(v, "id") != NULL ? vstr(v, "id") : "");
	jw_strfull(w, "log_name", v->origin);
	jw_uint(w, "sequence", (unsigned long long)v->ev->seq);
	jw_strfull(w, "event_code", v->type);
	jw_strfull(w, "original_time", v->time);
	jw_close(w, '}');
}

/* "actor" (the API key and its tenant) and "device" (the appliance). */
static void
ocsf_actor_device(struct jw *w, const struct view *v)
{
	const char *s = vstr(v, "actor.key");

	jw_open(w, "actor", '{');
	jw_open(w, "user", '{');
	jw_str(w, "uid", s != NULL ? s : "system");
	jw_str(w, "type", vstr(v, "actor.role"));
	if (vstr(v, "tenant") != NULL) {
		jw_open(w, "org", '{');
		jw_str(w, "uid", vstr(v, "tenant"));
		jw_close(w, '}');
	}
	jw_close(w, '}');
	jw_str(w, "app_name", "petri");
	jw_close(w, '}');

	jw_open(w, "device", '{');
	jw_int(w, "type_id", 1);
	jw_str(w, "type", "Server");
	jw_str(w, "uid", vstr(v, "appliance.instance"));
	jw_close(w, '}');
}

/* "http_request"... for HTTP Activity; else where the request came from. */
static void
ocsf_source(struct jw *w, const struct view *v)
{
	const char *s;

	if (v->ocsf_class == 4002) {
		ocsf_http(w, v);
		if (vstr(v, "sandbox") != NULL) {
			jw_open(w, "src_endpoint", '{');
			jw_str(w, "uid", vstr(v, "sandbox"));
			jw_close(w, '}');
		}
		return;
	}
	s = vstr(v, "source_ip");
	jw_open(w, "src_endpoint", '{');
	if (is_ip(s))
		jw_str(w, "ip", s);
	else
		jw_str(w, "name", s != NULL ? s : "local");
	jw_close(w, '}');
}

/*
 * "script" of an execution.  The code itself stays in the appliance's
 * blob store: script_content names it ("petri-blob:sha256:<hex>").
 */
static void
ocsf_script(struct jw *w, const struct view *v)
{
	const char *s = vstr(v, "language");
	char content[96];

	jw_open(w, "script", '{');
	jw_int(w, "type_id", ocsf_script_type(s));
	jw_str(w, "type", s != NULL ? s : "Other");
	jw_str(w, "uid", vstr(v, "exec"));
	s = vstr(v, "program.sha256");
	snprintf(content, sizeof(content), "petri-blob:sha256:%.64s",
	    s != NULL ? s : "");
	jw_str(w, "script_content", content);
	if (s != NULL) {
		jw_open(w, "hashes", '[');
		jw_open(w, NULL, '{');
		jw_int(w, "algorithm_id", 3);
		jw_str(w, "algorithm", "SHA-256");
		jw_str(w, "value", s);
		jw_close(w, '}');
		jw_close(w, ']');
	}
	jw_close(w, '}');
}

/* "api" and "resources" of API Activity. */
static void
ocsf_api(struct jw *w, const struct view *v)
{
	jw_open(w, "api", '{');
	jw_strfull(w, "operation", v->type);
	jw_open(w, "service", '{');
	jw_str(w, "name", "petri");
	jw_close(w, '}');
	jw_open(w, "request", '{');
	jw_str(w, "uid", vstr(v, "id") != NULL ? vstr(v, "id") : "");
	jw_close(w, '}');
	jw_close(w, '}');
	if (vstr(v, "sandbox") != NULL) {
		jw_open(w, "resources", '[');
		jw_open(w, NULL, '{');
		jw_str(w, "type", "sandbox");
		jw_str(w, "uid", vstr(v, "sandbox"));
		jw_close(w, '}');
		jw_close(w, ']');
	}
}

/*
 * The "petri" object of ECS and OCSF (under key): integrity, tenant,
 * sandbox, and whether the event was invalid or cut.
 */
static void
petri_block(struct jw *w, const struct view *v, const char *key)
{
	jw_open(w, key, '{');
	json_integrity(w, v);
	jw_str(w, "tenant", vstr(v, "tenant"));
	jw_str(w, "sandbox", vstr(v, "sandbox"));
	if (!v->valid)
		jw_bool(w, "invalid", 1);
	if (v->tier != T_FULL)
		jw_bool(w, "truncated", 1);
	jw_close(w, '}');
}

/* "unmapped.petri": integrity and what OCSF has no place for. */
static void
ocsf_unmapped(struct jw *w, const struct view *v)
{
	jw_open(w, "unmapped", '{');
	petri_block(w, v, "petri");
	jw_close(w, '}');
}

static void
render_ocsf(struct jw *w, const struct view *v)
{
	struct buf tmp;
	long long n;

	buf_init(&tmp, CMDLINE_MAX);
	jw_open(w, NULL, '{');
	ocsf_base(w, v);
	ocsf_metadata(w, v);
	ocsf_actor_device(w, v);
	ocsf_source(w, v);
	if (v->ocsf_class == 1007 || v->ocsf_class == 1009) {
		ocsf_process(w, v, &tmp);
		if (vint(v, "exit_code", &n) == 0)
			jw_int(w, "exit_code", n);
		if (vint(v, "duration_ms", &n) == 0)
			jw_int(w, "duration", n);
	}
	if (v->ocsf_class == 1009)
		ocsf_script(w, v);
	if (v->ocsf_class == 6003)
		ocsf_api(w, v);
	if (v->ocsf_class != 4002 && v->tier != T_MINIMAL)
		ocsf_container(w, v);
	ocsf_unmapped(w, v);
	if (v->tier == T_FULL && v->valid)
		jw_rawstr(w, "raw_data", v->ev);
	jw_close(w, '}');
	buf_free(&tmp);
}

/* --- ecs ------------------------------------------------------------------- */

static void
ecs_category(
    const struct view *v, const char **cat, const char **typ, const char **typ2)
{
	const char *verb = type_verb(v->type);

	*typ2 = NULL;
	if (type_process(v->type) || type_is(v->type, "serve.")) {
		*cat = "process";
		*typ = strcmp(verb, "started") == 0 ? "start"
		    : strcmp(verb, "finished") == 0 ||
		        strcmp(verb, "stopped") == 0
		    ? "end"
		    : "info";
	} else if (type_network(v->type)) {
		*cat = "network";
		*typ = "connection";
		*typ2 = v->outcome == 0 ? "denied" : "allowed";
	} else {
		if (type_is(v->type, "key.") || type_is(v->type, "secret."))
			*cat = "iam";
		else if (type_is(v->type, "files.") ||
		    type_is(v->type, "blob."))
			*cat = "file";
		else if (type_is(v->type, "sandbox."))
			*cat = "host";
		else
			*cat = "configuration";
		if (strcmp(*cat, "host") == 0)
			*typ = strcmp(verb, "created") == 0 ? "start"
			    : strcmp(verb, "deleted") == 0 ||
			        strcmp(verb, "expired") == 0
			    ? "end"
			    : "info";
		else if (strcmp(verb, "created") == 0 ||
		    strcmp(verb, "uploaded") == 0)
			*typ = "creation";
		else if (strcmp(verb, "deleted") == 0 ||
		    strcmp(verb, "revoked") == 0)
			*typ = "deletion";
		else if (strcmp(verb, "changed") == 0 ||
		    strcmp(verb, "rotated") == 0 ||
		    strcmp(verb, "key_rotated") == 0)
			*typ = "change";
		else if (strcmp(verb, "exported") == 0)
			*typ = "access";
		else
			*typ = "info";
	}
}

/* "@timestamp", "ecs", "message" and "event". */
static void
ecs_event(struct jw *w, const struct view *v)
{
	static const int cefsev[8] = {10, 10, 9, 8, 7, 5, 3, 1};
	const char *cat, *typ, *typ2;
	long long n;

	ecs_category(v, &cat, &typ, &typ2);
	jw_strfull(w, "@timestamp",
	    v->time != NULL ? v->time : "1970-01-01T00:00:00.000000Z");
	jw_open(w, "ecs", '{');
	jw_str(w, "version", SIEM_ECS_VERSION);
	jw_close(w, '}');
	jw_strfull(w, "message", v->type);

	jw_open(w, "event", '{');
	jw_str(w, "kind", "event");
	jw_open(w, "category", '[');
	jw_str(w, NULL, cat);
	jw_close(w, ']');
	jw_open(w, "type", '[');
	jw_str(w, NULL, typ);
	jw_str(w, NULL, typ2);
	jw_close(w, ']');
	jw_strfull(w, "action", v->type);
	jw_str(w, "outcome",
	    v->outcome < 0   ? "unknown"
	        : v->outcome ? "success"
	                     : "failure");
	jw_str(w, "dataset", "petri.audit");
	jw_str(w, "module", "petri");
	jw_strfull(w, "provider", v->origin);
	jw_str(w, "id", vstr(v, "id") != NULL ? vstr(v, "id") : "");
	jw_uint(w, "sequence", (unsigned long long)v->ev->seq);
	jw_strfull(w, "hash", v->leaf_hex);
	jw_int(w, "severity", cefsev[v->severity & 7]);
	if (vint(v, "duration_ms", &n) == 0 && n >= 0 && n < (long long)9e12)
		jw_int(w, "duration", n * 1000000);
	if (v->tier == T_FULL && v->valid)
		jw_rawstr(w, "original", v->ev);
	jw_close(w, '}');
}

/* "observer", "user"; past the minimal tier its organization, host, source. */
static void
ecs_who(struct jw *w, const struct view *v)
{
	const char *s;

	jw_open(w, "observer", '{');
	jw_str(w, "vendor", "Petri");
	jw_str(w, "product", "petri");
	jw_str(w, "version", view_version(v));
	jw_close(w, '}');

	jw_open(w, "user", '{');
	s = vstr(v, "actor.key");
	jw_str(w, "id", s != NULL ? s : "system");
	if (vstr(v, "actor.role") != NULL) {
		jw_open(w, "roles", '[');
		jw_str(w, NULL, vstr(v, "actor.role"));
		jw_close(w, ']');
	}
	jw_close(w, '}');
	if (v->tier == T_MINIMAL)
		return;
	if (vstr(v, "tenant") != NULL) {
		jw_open(w, "organization", '{');
		jw_str(w, "id", vstr(v, "tenant"));
		jw_close(w, '}');
	}
	if (vstr(v, "appliance.instance") != NULL) {
		jw_open(w, "host", '{');
		jw_str(w, "id", vstr(v, "appliance.instance"));
		jw_close(w, '}');
	}
	s = vstr(v, "source_ip");
	if (s != NULL && !type_network(v->type)) {
		jw_open(w, "source", '{');
		jw_str(w, is_ip(s) ? "ip" : "address", s);
		jw_close(w, '}');
	}
}

/* "process" of an execution: command line, arguments (bounded), exit. */
static void
ecs_process(struct jw *w, const struct view *v, struct buf *tmp)
{
	const char *pname = NULL;
	json_t *argv, *x;
	long long n;
	size_t i;

	jw_open(w, "process", '{');
	jw_str(w, "entity_id", vstr(v, "exec"));
	if (view_cmdline(v, tmp, &pname) == 0) {
		jw_str(w, "name", pname);
		if (tmp->len > 0)
			jw_strn(w, "command_line", (const char *)tmp->data,
			    tmp->len);
	}
	argv = json_object_get(v->j, "argv");
	if (json_is_array(argv)) {
		jw_open(w, "args", '[');
		json_array_foreach (argv, i, x) {
			if (i >= (v->tier == T_FULL ? SIEM_FULL_ARGV
			                            : SIEM_SUMMARY_ARGV))
				break;
			if (json_is_string(x))
				jw_strn(w, NULL, json_string_value(x),
				    json_string_length(x));
		}
		jw_close(w, ']');
		jw_int(w, "args_count", (long long)json_array_size(argv));
	}
	jw_str(w, "working_directory", vstr(v, "cwd"));
	if (vint(v, "exit_code", &n) == 0)
		jw_int(w, "exit_code", n);
	jw_close(w, '}');
}

/* "container": the sandbox. */
static void
ecs_container(struct jw *w, const struct view *v)
{
	jw_open(w, "container", '{');
	jw_str(w, "id", vstr(v, "sandbox"));
	jw_str(w, "runtime", vstr(v, "runtime"));
	if (vstr(v, "image") != NULL) {
		jw_open(w, "image", '{');
		jw_str(w, "name", vstr(v, "image"));
		jw_close(w, '}');
	}
	jw_close(w, '}');
}

/* "url", "destination", "http", "rule" of an egress request. */
static void
ecs_network(struct jw *w, const struct view *v)
{
	long long n;

	if (vstr(v, "host") != NULL) {
		jw_open(w, "url", '{');
		jw_str(w, "scheme", vstr(v, "scheme"));
		jw_str(w, "domain", vstr(v, "host"));
		if (vint(v, "port", &n) == 0)
			jw_int(w, "port", n);
		jw_str(w, "path", vstr(v, "path"));
		jw_close(w, '}');
		jw_open(w, "destination", '{');
		jw_str(w, "domain", vstr(v, "host"));
		if (vint(v, "port", &n) == 0)
			jw_int(w, "port", n);
		if (vint(v, "bytes_in", &n) == 0)
			jw_int(w, "bytes", n);
		jw_close(w, '}');
	}
	if (vstr(v, "method") != NULL || vint(v, "status", &n) == 0) {
		jw_open(w, "http", '{');
		if (vstr(v, "method") != NULL) {
			jw_open(w, "request", '{');
			jw_str(w, "method", vstr(v, "method"));
			jw_close(w, '}');
		}
		if (vint(v, "status", &n) == 0) {
			jw_open(w, "response", '{');
			jw_int(w, "status_code", n);
			jw_close(w, '}');
		}
		jw_close(w, '}');
	}
	if (vstr(v, "rule") != NULL) {
		jw_open(w, "rule", '{');
		jw_str(w, "name", vstr(v, "rule"));
		jw_close(w, '}');
	}
}

static void
render_ecs(struct jw *w, const struct view *v)
{
	struct buf tmp;

	buf_init(&tmp, CMDLINE_MAX);
	jw_open(w, NULL, '{');
	ecs_event(w, v);
	ecs_who(w, v);
	if (v->tier != T_MINIMAL && type_process(v->type))
		ecs_process(w, v, &tmp);
	if (v->tier != T_MINIMAL && vstr(v, "sandbox") != NULL)
		ecs_container(w, v);
	if (v->tier != T_MINIMAL && type_network(v->type))
		ecs_network(w, v);
	petri_block(w, v, "petri");
	jw_close(w, '}');
	buf_free(&tmp);
}

/* --- framing --------------------------------------------------------------- */

static int
render(const struct siem_fmt_ctx *c, struct view *v, struct buf *msg)
{
	struct jw w;

	buf_reset(msg);
	if (c->format == SIEM_FORMAT_CEF)
		return render_cef(msg, v);
	jw_init(&w, msg, v->cap);
	switch (c->format) {
	case SIEM_FORMAT_JSON:
		render_json(&w, v);
		break;
	case SIEM_FORMAT_OCSF:
		render_ocsf(&w, v);
		break;
	case SIEM_FORMAT_ECS:
		render_ecs(&w, v);
		break;
	default:
		return PETRI_ERR_INVAL;
	}
	return w.err;
}

static int
frame_syslog(const struct siem_fmt_ctx *c, const struct view *v,
    const struct buf *msg, struct buf *out)
{
	size_t mark = out->len, total, plen;
	char num[32];
	int r = 0;

	/* header and message first, then the octet count in front */
	snprintf(num, sizeof(num), "<%d>1 ", c->facility * 8 + v->severity);
	r |= buf_append_str(out, num);
	r |= buf_append_str(out, v->time != NULL ? v->time : "-");
	r |= buf_append(out, " ", 1);
	if (c->hostname != NULL && c->hostname[0] != '\0')
		r |= printusascii(out, c->hostname, SIEM_HOSTNAME_MAX);
	else
		r |= buf_append(out, "-", 1);
	r |= buf_append(out, " ", 1);
	r |= printusascii(out,
	    c->app_name != NULL && c->app_name[0] != '\0' ? c->app_name
	                                                  : "petri",
	    SIEM_APPNAME_MAX);
	r |= buf_append(out, " - ", 3);
	r |= printusascii(out, v->type, SIEM_MSGID_MAX);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v->ev->seq);
	r |= buf_append_str(out, " [" SIEM_SD_ID " seq=\"");
	r |= buf_append_str(out, num);
	r |= buf_append_str(out, "\" hash=\"");
	r |= buf_append_str(out, v->leaf_hex);
	r |= buf_append_str(out, "\" origin=\"");
	r |= sd_escape(out, v->origin);
	r |= buf_append_str(out, "\" sig=\"");
	r |= buf_append_str(out, v->sig_b64);
	r |= buf_append_str(out, "\" key=\"");
	r |= sd_escape(out, v->key_id);
	r |= buf_append_str(out, "\"] ");
	r |= buf_append(out, msg->data, msg->len);
	if (r != 0) {
		out->len = mark;
		return PETRI_ERR_TOOBIG;
	}
	total = out->len - mark;
	plen = (size_t)snprintf(num, sizeof(num), "%zu ", total);
	if ((r = buf_reserve(out, plen)) != 0) {
		out->len = mark;
		return r;
	}
	memmove(out->data + mark + plen, out->data + mark, total);
	memcpy(out->data + mark, num, plen);
	out->len += plen;
	return 0;
}

/* A rendered event as a JSON value: as is, or a CEF line as a string. */
static int
frame_value(
    const struct siem_fmt_ctx *c, const struct buf *msg, struct buf *out)
{
	if (c->format == SIEM_FORMAT_CEF)
		return siem_json_escape(
		    out, (const char *)msg->data, msg->len, 0);
	return buf_append(out, msg->data, msg->len);
}

static int
frame_hec(const struct siem_fmt_ctx *c, const struct view *v,
    const struct buf *msg, struct buf *out)
{
	struct jw w;
	char num[64], src[AUDIT_ORIGIN_MAX + 16], st[32];
	const char *host = c->hec_host != NULL ? c->hec_host : c->hostname;

	jw_init(&w, out, 0);
	jw_open(&w, NULL, '{');
	if (v->valid) {
		snprintf(num, sizeof(num), "%lld.%06lld",
		    (long long)(v->usec / 1000000),
		    (long long)(v->usec % 1000000));
		jw_raw(&w, "time", num, strlen(num));
	}
	if (host != NULL && host[0] != '\0')
		jw_str(&w, "host", host);
	snprintf(src, sizeof(src), "petri:%s", v->origin);
	jw_str(&w, "source", c->hec_source != NULL ? c->hec_source : src);
	snprintf(st, sizeof(st), "petri:%s", siem_format_name(c->format));
	jw_str(&w, "sourcetype",
	    c->hec_sourcetype != NULL ? c->hec_sourcetype : st);
	jw_str(&w, "index", c->hec_index);
	jw_open(&w, "fields", '{');
	jw_str(&w, "petri_origin", v->origin);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v->ev->seq);
	jw_str(&w, "petri_seq", num);
	jw_str(&w, "petri_leaf_hash", v->leaf_hex);
	jw_close(&w, '}');
	jw_key(&w, "event");
	if (w.err == 0)
		w.err = frame_value(c, msg, out);
	jw_close(&w, '}');
	jw_put(&w, "\n", 1);
	return w.err;
}

int
siem_format_record(const struct siem_fmt_ctx *c, const struct siem_event *ev,
    struct buf *scratch, struct buf *out)
{
	static const enum tier tiers[3] = {T_FULL, T_SUMMARY, T_MINIMAL};
	struct view v;
	struct buf own, *msg = scratch != NULL ? scratch : &own;
	size_t mark = out->len, hint, keep_max = 0;
	int i, r = PETRI_ERR_INVAL;

	if (c == NULL || ev == NULL || ev->leaf == NULL || ev->sig == NULL ||
	    c->max_event < SIEM_EVENT_MIN || c->max_event > SIEM_EVENT_MAX ||
	    c->facility < 0 || c->facility > 23 ||
	    (int)c->format < SIEM_FORMAT_JSON ||
	    (int)c->format > SIEM_FORMAT_ECS)
		return PETRI_ERR_INVAL;
	if ((r = view_init(&v, ev, c->format != SIEM_FORMAT_JSON)) != 0)
		return r;
	/* the event is rendered alone first: its bound is max_event */
	if (msg == &own)
		buf_init(&own, c->max_event);
	else {
		keep_max = msg->max;
		msg->max = c->max_event;
		buf_reset(msg);
	}
	hint = ev->len * 2 + 2048;
	if (buf_reserve(msg, hint < c->max_event ? hint : c->max_event) != 0) {
		r = PETRI_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < 3; i++) {
		view_tier(&v, tiers[i]);
		if ((r = render(c, &v, msg)) == 0)
			break;
		if (r != PETRI_ERR_TOOBIG)
			goto out;
	}
	if (r != 0)
		goto out;
	switch (c->frame) {
	case SIEM_FRAME_LINE:
		if ((r = buf_append(out, msg->data, msg->len)) == 0)
			r = buf_append(out, "\n", 1);
		break;
	case SIEM_FRAME_SYSLOG:
		r = frame_syslog(c, &v, msg, out);
		break;
	case SIEM_FRAME_HEC:
		r = frame_hec(c, &v, msg, out);
		break;
	case SIEM_FRAME_ITEM:
		r = frame_value(c, msg, out);
		break;
	default:
		r = PETRI_ERR_INVAL;
	}
	if (r == 0)
		r = (int)v.tier;
out:
	if (r < 0)
		out->len = mark;
	if (msg == &own)
		buf_free(&own);
	else {
		buf_reset(msg);
		msg->max = keep_max;
	}
	audit_record_clear(&v.rec);
	return r;
}

int
siem_format_from_name(const char *name)
{
	if (name == NULL)
		return PETRI_ERR_INVAL;
	if (strcmp(name, "json") == 0)
		return SIEM_FORMAT_JSON;
	if (strcmp(name, "cef") == 0)
		return SIEM_FORMAT_CEF;
	if (strcmp(name, "ocsf") == 0)
		return SIEM_FORMAT_OCSF;
	if (strcmp(name, "ecs") == 0)
		return SIEM_FORMAT_ECS;
	return PETRI_ERR_INVAL;
}

const char *
siem_format_name(enum siem_format f)
{
	static const char *const names[] = {"json", "cef", "ocsf", "ecs"};

	return (int)f >= 0 && (int)f < 4 ? names[f] : "?";
}

/* --- HEC answers ----------------------------------------------------------- */

int
siem_hec_reply_parse(const void *p, size_t len, int *code, int64_t *ack_id)
{
	json_t *j, *c, *a;
	json_error_t err;
	int r = PETRI_ERR_PROTO;

	*code = -1;
	*ack_id = -1;
	if (p == NULL || len == 0 || len > 65536)
		return PETRI_ERR_PROTO;
	if ((j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return PETRI_ERR_PROTO;
	c = json_object_get(j, "code");
	a = json_object_get(j, "ackId");
	if (json_is_integer(c) && json_integer_value(c) >= 0 &&
	    json_integer_value(c) < 1000000 &&
	    (a == NULL || (json_is_integer(a) && json_integer_value(a) >= 0))) {
		*code = (int)json_integer_value(c);
		if (a != NULL)
			*ack_id = (int64_t)json_integer_value(a);
		r = 0;
	}
	json_decref(j);
	return r;
}

int
siem_hec_ack_parse(const void *p, size_t len, int64_t ack_id, int *acked)
{
	json_t *j, *acks, *v;
	json_error_t err;
	char key[32];
	int r = PETRI_ERR_PROTO;

	*acked = 0;
	if (p == NULL || len == 0 || len > 65536 || ack_id < 0)
		return PETRI_ERR_PROTO;
	if ((j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return PETRI_ERR_PROTO;
	acks = json_object_get(j, "acks");
	if (json_is_object(acks)) {
		snprintf(key, sizeof(key), "%lld", (long long)ack_id);
		v = json_object_get(acks, key);
		if (v == NULL || json_is_boolean(v)) {
			*acked = json_is_true(v);
			r = 0;
		}
	}
	json_decref(j);
	return r;
}

/* --- documented field lists ------------------------------------------------ */

#define OCSF_COMMON                                                            \
	"activity_id", "activity_name", "category_uid", "category_name",       \
	    "class_uid", "class_name", "type_uid", "type_name", "severity_id", \
	    "severity", "status_id", "time", "message", "metadata.version",    \
	    "metadata.product.name", "metadata.product.vendor_name",           \
	    "metadata.product.version", "metadata.uid", "metadata.log_name",   \
	    "metadata.sequence", "metadata.event_code", "actor.user.uid",      \
	    "device.type_id", "unmapped.petri.origin", "unmapped.petri.seq",   \
	    "unmapped.petri.type", "unmapped.petri.leaf_hash",                 \
	    "unmapped.petri.signature", "unmapped.petri.key_id"

static const char *const ocsf_process_fields[] = {
    OCSF_COMMON, "src_endpoint", "process.uid", NULL};
static const char *const ocsf_script_fields[] = {OCSF_COMMON, "src_endpoint",
    "process.uid", "script.type_id", "script.script_content", NULL};
static const char *const ocsf_http_fields[] = {OCSF_COMMON, "http_request",
    "http_request.url", "dst_endpoint", "action_id", "disposition_id", NULL};
static const char *const ocsf_api_fields[] = {OCSF_COMMON, "src_endpoint",
    "api.operation", "api.service.name", "api.request.uid", NULL};

const char *const *
siem_ocsf_fields(int ocsf_class)
{
	switch (ocsf_class) {
	case 1007:
		return ocsf_process_fields;
	case 1009:
		return ocsf_script_fields;
	case 4002:
		return ocsf_http_fields;
	case 6003:
		return ocsf_api_fields;
	default:
		return NULL;
	}
}

const char *const siem_ecs_fields[] = {"@timestamp", "ecs.version", "message",
    "event.kind", "event.category", "event.type", "event.action",
    "event.outcome", "event.dataset", "event.module", "event.provider",
    "event.id", "event.sequence", "event.hash", "event.severity",
    "observer.vendor", "observer.product", "observer.version", "user.id",
    "petri.origin", "petri.seq", "petri.type", "petri.leaf_hash",
    "petri.signature", "petri.key_id", NULL};
