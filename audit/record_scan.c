/*
 * record_scan.c: a validating, non-allocating scanner for audit records,
 * equivalent in verdict to audit_record_parse() (record.c, jansson).
 *
 * Recursive descent, one function per JSON production, depth bounded by
 * AUDIT_RECORD_MAX_DEPTH (so recursion is too).  Strings are decoded into
 * the scratch buffer (never longer than the record); object keys stay
 * there for the duplicate table, an open-addressed hash of (object, key)
 * whose slots are invalidated by a generation counter instead of cleared.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "record_scan.h"

#define SCAN_NFIELDS 8

static const char *const scan_fields[SCAN_NFIELDS] = {
    "v", "origin", "seq", "prev", "type", "id", "time", "clock"};

enum scan_type {
	ST_NONE,
	ST_OBJECT,
	ST_ARRAY,
	ST_STRING,
	ST_INT,
	ST_REAL,
	ST_TRUE,
	ST_FALSE,
	ST_NULL,
};

/* A scalar value as far as the checks need it. */
struct scan_val {
	enum scan_type type;
	int64_t i;
	size_t off, len; /* decoded string in scratch */
};

struct scan {
	const unsigned char *p, *end;
	struct audit_record_scratch *s;
	size_t used; /* scratch bytes holding keys and kept strings */
	uint32_t nobj;
	const char *why;
	int err;
	int (*ref)(void *, const char *, int64_t);
	void *arg;
	struct audit_record_scan *out;
};

static int
scan_fail(struct scan *sc, const char *why)
{
	if (sc->err == 0) {
		sc->err = PETRI_ERR_INVAL;
		sc->why = why;
	}
	return -1;
}

static void
scan_ws(struct scan *sc)
{
	while (sc->p < sc->end &&
	    (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' ||
	        *sc->p == '\r'))
		sc->p++;
}

static int
scan_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits of a \u escape at p. */
static long
scan_u4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;
	int i, d;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((d = scan_hexval(p[i])) < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static void
scan_put_utf8(unsigned char **w, uint32_t cp)
{
	unsigned char *o = *w;

	if (cp < 0x80)
		*o++ = (unsigned char)cp;
	else if (cp < 0x800) {
		*o++ = (unsigned char)(0xc0 | cp >> 6);
		*o++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (unsigned char)(0xe0 | cp >> 12);
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (unsigned char)(0xf0 | cp >> 18);
		*o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	*w = o;
}

/* The byte a one-letter escape stands for, or -1 ('u' and bad ones). */
static int
scan_escape_char(unsigned char e)
{
	switch (e) {
	case '"':
	case '\\':
	case '/':
		return e;
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	}
	return -1;
}

/*
 * Decodes the escape at *pp (its backslash) to *wp, a \u one with its
 * surrogate pair; advances both.  Returns 0 or scan_fail().
 */
static int
scan_escape(struct scan *sc, const unsigned char **pp, const unsigned char *end,
    unsigned char **wp)
{
	const unsigned char *p = *pp;
	long u, lo;
	int ch;

	if (end - p < 2)
		return scan_fail(sc, "bad escape");
	if ((ch = scan_escape_char(p[1])) >= 0) {
		*(*wp)++ = (unsigned char)ch;
		*pp = p + 2;
		return 0;
	}
	if (p[1] != 'u')
		return scan_fail(sc, "bad escape");
	if ((u = scan_u4(p + 2, end)) < 0)
		return scan_fail(sc, "bad \\u escape");
	p += 6;
	if (u == 0)
		return scan_fail(sc, "\\u0000 in string");
	if (u >= 0xdc00 && u <= 0xdfff)
		return scan_fail(sc, "lone low surrogate");
	if (u >= 0xd800 && u <= 0xdbff) {
		if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
		    (lo = scan_u4(p + 2, end)) < 0 || lo < 0xdc00 ||
		    lo > 0xdfff)
			return scan_fail(sc, "unpaired surrogate");
		p += 6;
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
	}
	scan_put_utf8(wp, (uint32_t)u);
	*pp = p;
	return 0;
}

/*
 * Copies the UTF-8 sequence at *pp (a lead byte >= 0x80) to *wp, checked
 * as jansson does: no overlong form, surrogate or code point past
 * U+10FFFF.  Advances both.  Returns 0 or scan_fail().
 */
static int
scan_utf8_seq(struct scan *sc, const unsigned char **pp,
    const unsigned char *end, unsigned char **wp)
{
	const unsigned char *p = *pp;
	unsigned char c = *p;
	size_t need, j;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
	} else
		return scan_fail(sc, "invalid UTF-8");
	if ((size_t)(end - p) <= need)
		return scan_fail(sc, "invalid UTF-8");
	for (j = 1; j <= need; j++) {
		if ((p[j] & 0xc0) != 0x80)
			return scan_fail(sc, "invalid UTF-8");
		cp = cp << 6 | (p[j] & 0x3f);
	}
	if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		return scan_fail(sc, "invalid UTF-8");
	memcpy(*wp, p, need + 1);
	*wp += need + 1;
	*pp = p + need + 1;
	return 0;
}

/*
 * Scans a string (p at its opening quote) and decodes it into the scratch
 * buffer at sc->used; keep advances sc->used past it.  The rules are
 * jansson's: UTF-8 without overlong forms or surrogates, no raw control
 * characters, valid escapes, paired surrogates, no \u0000.
 */
static int
scan_string(struct scan *sc, int keep, struct scan_val *v)
{
	unsigned char *w = sc->s->buf + sc->used, *start = w;
	const unsigned char *p = sc->p + 1, *end = sc->end;
	unsigned char c;

	for (;;) {
		if (p >= end)
			return scan_fail(sc, "unterminated string");
		c = *p;
		if (c == '"')
			break;
		if (c < 0x20)
			return scan_fail(sc, "control character in string");
		if (c == '\\') {
			if (scan_escape(sc, &p, end, &w) != 0)
				return -1;
		} else if (c < 0x80) {
			*w++ = c;
			p++;
		} else if (scan_utf8_seq(sc, &p, end, &w) != 0)
			return -1;
	}
	sc->p = p + 1;
	if (v != NULL) {
		v->type = ST_STRING;
		v->off = sc->used;
		v->len = (size_t)(w - start);
	}
	if (keep)
		sc->used += (size_t)(w - start);
	return 0;
}

/* A number, with jansson's integer range and real overflow rules. */
static int
scan_number(struct scan *sc, struct scan_val *v)
{
	const unsigned char *p = sc->p, *start = p, *end = sc->end;
	int real = 0, neg = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || !(*p >= '0' && *p <= '9'))
		return scan_fail(sc, "bad number");
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return scan_fail(sc, "leading zero");
	} else
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	if (p < end && *p == '.') {
		real = 1;
		p++;
		if (p >= end || !(*p >= '0' && *p <= '9'))
			return scan_fail(sc, "bad number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = 1;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !(*p >= '0' && *p <= '9'))
			return scan_fail(sc, "bad number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	sc->p = p;
	if (!real) {
		const unsigned char *d = start + neg;
		uint64_t u = 0,
		         lim = neg ? (uint64_t)INT64_MAX + 1
		                   : (uint64_t)INT64_MAX;

		for (; d < p; d++) {
			if (u > (lim - (uint64_t)(*d - '0')) / 10)
				return scan_fail(sc, "integer out of range");
			u = u * 10 + (uint64_t)(*d - '0');
		}
		if (v != NULL) {
			v->type = ST_INT;
			v->i = neg
			    ? (u == (uint64_t)INT64_MAX + 1 ? INT64_MIN
			                                    : -(int64_t)u)
			    : (int64_t)u;
		}
		return 0;
	}
	/* a real: only overflow is an error (strtod in the C locale) */
	{
		char *nb = (char *)sc->s->buf + sc->used, *e = NULL;
		size_t n = (size_t)(p - start);
		double d;

		memcpy(nb, start, n);
		nb[n] = '\0';
		errno = 0;
		d = strtod(nb, &e);
		if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
			return scan_fail(sc, "real number overflow");
	}
	if (v != NULL)
		v->type = ST_REAL;
	return 0;
}

static int
scan_literal(
    struct scan *sc, const char *lit, enum scan_type t, struct scan_val *v)
{
	size_t n = strlen(lit);

	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, lit, n) != 0)
		return scan_fail(sc, "invalid token");
	sc->p += n;
	if (v != NULL)
		v->type = t;
	return 0;
}

/* Registers key (decoded at off, len) of object obj; -1 on a duplicate. */
static int
scan_key_add(struct scan *sc, uint32_t obj, size_t off, size_t len)
{
	struct audit_record_scratch *s = sc->s;
	const unsigned char *k = s->buf + off;
	uint32_t h = 2166136261u ^ (obj * 0x9e3779b1u);
	size_t i, mask = s->nslot - 1;

	for (i = 0; i < len; i++)
		h = (h ^ k[i]) * 16777619u;
	for (i = h & mask;; i = (i + 1) & mask) {
		if (s->slot[i].gen != s->gen) {
			s->slot[i].gen = s->gen;
			s->slot[i].obj = obj;
			s->slot[i].off = (uint32_t)off;
			s->slot[i].len = (uint32_t)len;
			return 0;
		}
		if (s->slot[i].obj == obj && s->slot[i].len == len &&
		    memcmp(s->buf + s->slot[i].off, k, len) == 0)
			return scan_fail(sc, "duplicate key");
	}
}

static int scan_value(struct scan *, int, struct scan_val *);

/* Copies a decoded scratch string into a bounded C string. */
static int
scan_copy(struct scan *sc, const struct scan_val *v, char *dst, size_t max)
{
	if (v->type != ST_STRING || v->len > max ||
	    memchr(sc->s->buf + v->off, '\0', v->len) != NULL)
		return -1;
	memcpy(dst, sc->s->buf + v->off, v->len);
	dst[v->len] = '\0';
	return 0;
}

/* The integrity field number k of the root, with its value v. */
static int
scan_integrity(struct scan *sc, size_t k, const struct scan_val *v)
{
	struct audit_record_scan *o = sc->out;
	const char *s = (const char *)sc->s->buf + v->off;
	char canon[PETRI_TIME_MAX], hex[2 * AUDIT_HASH_LEN + 1];

	switch (k) {
	case 0:
		if (v->type != ST_INT || v->i != AUDIT_RECORD_VERSION)
			return scan_fail(sc, "unsupported record version");
		return 0;
	case 1:
		if (scan_copy(sc, v, o->origin, AUDIT_ORIGIN_MAX) != 0 ||
		    !audit_key_name_valid(o->origin))
			break;
		return 0;
	case 2:
		if (v->type != ST_INT || v->i < 0)
			break;
		o->seq = (uint64_t)v->i;
		return 0;
	case 3:
		if (v->type != ST_STRING ||
		    !audit_record_hex64_valid(s, v->len))
			break;
		memcpy(hex, s, v->len);
		hex[v->len] = '\0';
		if (petri_unhex(hex, o->prev, AUDIT_HASH_LEN) != 0)
			break;
		return 0;
	case 4:
		if (scan_copy(sc, v, o->type, AUDIT_TYPE_MAX) != 0 ||
		    !audit_record_type_valid(o->type))
			break;
		return 0;
	case 5:
		if (v->type != ST_STRING ||
		    !audit_record_token_valid(s, v->len, AUDIT_ID_MAX, 1))
			break;
		memcpy(o->id, s, v->len);
		o->id[v->len] = '\0';
		return 0;
	case 6:
		if (scan_copy(sc, v, o->time, PETRI_TIME_MAX - 1) != 0 ||
		    petri_time_parse(o->time, &o->time_usec) != 0)
			break;
		petri_time_rfc3339(o->time_usec, canon);
		if (strcmp(canon, o->time) != 0)
			break;
		return 0;
	default:
		if (v->type != ST_STRING ||
		    !audit_record_token_valid(s, v->len, AUDIT_CLOCK_MAX, 0))
			break;
		memcpy(o->clock, s, v->len);
		o->clock[v->len] = '\0';
		return 0;
	}
	return scan_fail(sc, "malformed integrity field");
}

static int
scan_key_is(struct scan *sc, size_t off, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(sc->s->buf + off, name, len) == 0;
}

/* The blob reference members of one object, as scan_object meets them. */
struct scan_blob {
	int has_blob, blob_true, sha_ok, size_bad;
	int64_t size;
	char sha[2 * AUDIT_HASH_LEN + 1];
};

/* Notes what member key = val means: a blob reference's part, new_key. */
static void
scan_member_note(struct scan *sc, int depth, const struct scan_val *key,
    const struct scan_val *val, struct scan_blob *bl)
{
	if (scan_key_is(sc, key->off, key->len, "blob")) {
		bl->has_blob = 1;
		bl->blob_true = val->type == ST_TRUE;
	} else if (scan_key_is(sc, key->off, key->len, "sha256")) {
		bl->sha_ok = val->type == ST_STRING &&
		    audit_record_hex64_valid(
		        (const char *)sc->s->buf + val->off, val->len);
		if (bl->sha_ok) {
			memcpy(bl->sha, sc->s->buf + val->off, val->len);
			bl->sha[val->len] = '\0';
		}
		if (depth == 1 && bl->sha_ok &&
		    petri_unhex(bl->sha, sc->out->sha256, AUDIT_HASH_LEN) == 0)
			sc->out->has_sha256 = 1;
	} else if (scan_key_is(sc, key->off, key->len, "size")) {
		bl->size_bad = val->type != ST_INT || val->i < 0;
		bl->size = val->i;
	} else if (depth == 1 && scan_key_is(sc, key->off, key->len, "new_key"))
		sc->out->has_new_key =
		    scan_copy(sc, val, sc->out->new_key, AUDIT_VKEY_MAX) == 0;
}

/* At an object's end: a blob reference is whole, and is reported. */
static int
scan_blob_end(struct scan *sc, const struct scan_blob *bl)
{
	int r;

	if (!bl->has_blob)
		return 0;
	if (!bl->blob_true || !bl->sha_ok || bl->size_bad)
		return scan_fail(sc, "bad blob reference or nesting");
	if (sc->ref != NULL && (r = sc->ref(sc->arg, bl->sha, bl->size)) != 0) {
		sc->err = r;
		sc->why = "blob reference callback failed";
		return -1;
	}
	return 0;
}

static int
scan_object(struct scan *sc, int depth)
{
	struct scan_val key, val;
	struct scan_blob bl = {.size = -1};
	uint32_t obj = sc->nobj++;
	size_t nkeys = 0, mark;
	int want;

	sc->p++;
	scan_ws(sc);
	if (sc->p < sc->end && *sc->p == '}') {
		sc->p++;
		goto done;
	}
	for (;;) {
		scan_ws(sc);
		if (sc->p >= sc->end || *sc->p != '"')
			return scan_fail(sc, "object key expected");
		if (scan_string(sc, 1, &key) != 0 ||
		    scan_key_add(sc, obj, key.off, key.len) != 0)
			return -1;
		scan_ws(sc);
		if (sc->p >= sc->end || *sc->p != ':')
			return scan_fail(sc, "':' expected");
		sc->p++;
		scan_ws(sc);
		/* the members whose values matter: kept while checked */
		want = (depth == 1 && nkeys < SCAN_NFIELDS) ||
		    scan_key_is(sc, key.off, key.len, "blob") ||
		    scan_key_is(sc, key.off, key.len, "sha256") ||
		    scan_key_is(sc, key.off, key.len, "size") ||
		    (depth == 1 &&
		        scan_key_is(sc, key.off, key.len, "new_key"));
		mark = sc->used;
		memset(&val, 0, sizeof(val));
		if (scan_value(sc, depth + 1, want ? &val : NULL) != 0)
			return -1;
		if (depth == 1 && nkeys < SCAN_NFIELDS) {
			if (!scan_key_is(
			        sc, key.off, key.len, scan_fields[nkeys]))
				return scan_fail(sc,
				    "integrity fields missing "
				    "or out of order");
			if (scan_integrity(sc, nkeys, &val) != 0)
				return -1;
		}
		scan_member_note(sc, depth, &key, &val, &bl);
		sc->used = mark; /* the value's text is no longer needed */
		nkeys++;
		scan_ws(sc);
		if (sc->p < sc->end && *sc->p == ',') {
			sc->p++;
			continue;
		}
		if (sc->p < sc->end && *sc->p == '}') {
			sc->p++;
			break;
		}
		return scan_fail(sc, "',' or '}' expected");
	}
done:
	if (depth == 1 && nkeys < SCAN_NFIELDS)
		return scan_fail(
		    sc, "integrity fields missing or out of order");
	return scan_blob_end(sc, &bl);
}

static int
scan_array(struct scan *sc, int depth)
{
	sc->p++;
	scan_ws(sc);
	if (sc->p < sc->end && *sc->p == ']') {
		sc->p++;
		return 0;
	}
	for (;;) {
		scan_ws(sc);
		if (scan_value(sc, depth + 1, NULL) != 0)
			return -1;
		scan_ws(sc);
		if (sc->p < sc->end && *sc->p == ',') {
			sc->p++;
			continue;
		}
		if (sc->p < sc->end && *sc->p == ']') {
			sc->p++;
			return 0;
		}
		return scan_fail(sc, "',' or ']' expected");
	}
}

/* Any value at depth (the record object is depth 1). */
static int
scan_value(struct scan *sc, int depth, struct scan_val *v)
{
	struct scan_val tmp;

	if (v == NULL)
		v = &tmp;
	v->type = ST_NONE;
	if (depth > AUDIT_RECORD_MAX_DEPTH)
		return scan_fail(sc, "bad blob reference or nesting");
	if (sc->p >= sc->end)
		return scan_fail(sc, "value expected");
	switch (*sc->p) {
	case '{':
		v->type = ST_OBJECT;
		return scan_object(sc, depth);
	case '[':
		v->type = ST_ARRAY;
		return scan_array(sc, depth);
	case '"':
		/* decoded at sc->used; the caller resets used afterwards */
		return scan_string(sc, v != &tmp, v);
	case 't':
		return scan_literal(sc, "true", ST_TRUE, v);
	case 'f':
		return scan_literal(sc, "false", ST_FALSE, v);
	case 'n':
		return scan_literal(sc, "null", ST_NULL, v);
	default:
		return scan_number(sc, v);
	}
}

/* Grows the scratch space for a record of len bytes. */
static int
scan_reserve(struct audit_record_scratch *s, size_t len)
{
	size_t need = len + 64, nslot = 64, i;

	if (s->cap < need) {
		unsigned char *b = realloc(s->buf, need);

		if (b == NULL)
			return PETRI_ERR_NOMEM;
		s->buf = b;
		s->cap = need;
	}
	/* at most one key per 4 bytes ("":0,); the table at most half full */
	while (nslot < 2 * (len / 4 + 1))
		nslot *= 2;
	if (s->nslot < nslot) {
		void *t = reallocarray(s->slot, nslot, sizeof(*s->slot));

		if (t == NULL)
			return PETRI_ERR_NOMEM;
		s->slot = t;
		s->nslot = nslot;
		for (i = 0; i < nslot; i++)
			s->slot[i].gen = 0;
		s->gen = 0;
	}
	if (++s->gen == 0) {
		for (i = 0; i < s->nslot; i++)
			s->slot[i].gen = 0;
		s->gen = 1;
	}
	return 0;
}

void
audit_record_scratch_free(struct audit_record_scratch *s)
{
	free(s->buf);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

int
audit_record_scan(const void *bytes, size_t len, struct audit_record_scan *out,
    struct audit_record_scratch *scratch,
    int (*ref)(void *arg, const char *sha256_hex, int64_t size), void *arg,
    const char **why)
{
	const unsigned char *b = bytes;
	struct scan sc;
	int r;

	memset(out, 0, sizeof(*out));
	if (why != NULL)
		*why = NULL;
	if (len > AUDIT_RECORD_MAX) {
		if (why != NULL)
			*why = "record too large";
		return PETRI_ERR_TOOBIG;
	}
	if (len < 2 || b[0] != '{' || b[len - 1] != '}') {
		if (why != NULL)
			*why = "not a JSON object";
		return PETRI_ERR_INVAL;
	}
	if (memchr(b, '\n', len) != NULL || memchr(b, '\r', len) != NULL) {
		if (why != NULL)
			*why = "raw line break in record";
		return PETRI_ERR_INVAL;
	}
	if ((r = scan_reserve(scratch, len)) != 0)
		return r;
	memset(&sc, 0, sizeof(sc));
	sc.p = b;
	sc.end = b + len;
	sc.s = scratch;
	sc.ref = ref;
	sc.arg = arg;
	sc.out = out;
	if (scan_object(&sc, 1) != 0 || sc.p != sc.end) {
		if (sc.err == 0)
			scan_fail(&sc, "trailing bytes after the record");
		if (why != NULL)
			*why = sc.why;
		return sc.err;
	}
	return 0;
}
