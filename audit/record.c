/* record.c: audit record bytes: build, strict parse, leaf hash, signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "record.h"

#define RECORD_NFIELDS 8

static const char *const record_fields[RECORD_NFIELDS] = {
    "v",
    "origin",
    "seq",
    "prev",
    "type",
    "id",
    "time",
    "clock",
};

static int
record_is_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int
audit_record_type_valid(const char *type)
{
	size_t i;
	int words = 0, start = 1;

	for (i = 0; type[i] != '\0'; i++) {
		if (i >= AUDIT_TYPE_MAX)
			return 0;
		if (type[i] == '.') {
			if (start)
				return 0;
			start = 1;
			continue;
		}
		if (!record_is_lower(type[i]) ||
		    (start && !(type[i] >= 'a' && type[i] <= 'z')))
			return 0;
		if (start)
			words++;
		start = 0;
	}
	return !start && words >= 2;
}

int
audit_record_token_valid(const char *s, size_t len, size_t max, int upper)
{
	size_t i;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '_' || c == '-' ||
		        (upper && c >= 'A' && c <= 'Z')))
			return 0;
	}
	return 1;
}

int
audit_record_hex64_valid(const char *s, size_t len)
{
	size_t i;

	if (len != 2 * AUDIT_HASH_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
record_walk(
    json_t *j, int depth, int (*fn)(void *, const char *, int64_t), void *arg)
{
	const char *key;
	json_t *v, *blob, *sha, *size;
	size_t i;
	int r;

	if (depth > AUDIT_RECORD_MAX_DEPTH)
		return PETRI_ERR_INVAL;
	if (json_is_array(j)) {
		json_array_foreach (j, i, v)
			if ((r = record_walk(v, depth + 1, fn, arg)) != 0)
				return r;
		return 0;
	}
	if (!json_is_object(j))
		return 0;
	if ((blob = json_object_get(j, "blob")) != NULL) {
		int64_t sz = -1;

		sha = json_object_get(j, "sha256");
		size = json_object_get(j, "size");
		if (!json_is_true(blob) || !json_is_string(sha) ||
		    !audit_record_hex64_valid(
		        json_string_value(sha), json_string_length(sha)))
			return PETRI_ERR_INVAL;
		if (size != NULL) {
			if (!json_is_integer(size) ||
			    json_integer_value(size) < 0)
				return PETRI_ERR_INVAL;
			sz = json_integer_value(size);
		}
		if (fn != NULL &&
		    (r = fn(arg, json_string_value(sha), sz)) != 0)
			return r;
	}
	json_object_foreach (j, key, v)
		if ((r = record_walk(v, depth + 1, fn, arg)) != 0)
			return r;
	return 0;
}

int
audit_record_blob_refs(json_t *json,
    int (*fn)(void *arg, const char *sha256_hex, int64_t size), void *arg)
{
	return record_walk(json, 1, fn, arg);
}

json_t *
audit_blob_ref_new(const char *sha256_hex, uint64_t size)
{
	if (sha256_hex == NULL ||
	    !audit_record_hex64_valid(sha256_hex, strlen(sha256_hex)) ||
	    size > (uint64_t)INT64_MAX)
		return NULL;
	return json_pack("{s:s, s:I, s:b}", "sha256", sha256_hex, "size",
	    (json_int_t)size, "blob", 1);
}

int
audit_record_event_dump(json_t *event, char **out, size_t *lenp)
{
	const char *key;
	json_t *v;
	char *s;
	size_t i, len;

	*out = NULL;
	if (!json_is_object(event))
		return PETRI_ERR_INVAL;
	json_object_foreach (event, key, v)
		for (i = 0; i < RECORD_NFIELDS; i++)
			if (strcmp(key, record_fields[i]) == 0)
				return PETRI_ERR_INVAL;
	/* the event sits one level below the record */
	if (record_walk(event, 2, NULL, NULL) != 0)
		return PETRI_ERR_INVAL;
	if ((s = json_dumps(event, JSON_COMPACT)) == NULL)
		return PETRI_ERR_NOMEM;
	len = strlen(s);
	if (len > AUDIT_RECORD_MAX) {
		free(s);
		return PETRI_ERR_TOOBIG;
	}
	/* jansson escapes control characters; a raw newline is a bug */
	if (len < 2 || s[0] != '{' || s[len - 1] != '}' ||
	    memchr(s, '\n', len) != NULL || memchr(s, '\r', len) != NULL) {
		free(s);
		return PETRI_ERR_INVAL;
	}
	*out = s;
	*lenp = len;
	return 0;
}

int
audit_record_build_dumped(const char *origin, uint64_t seq,
    const unsigned char prev[AUDIT_HASH_LEN], const char *type, const char *id,
    int64_t time_usec, const char *ev, size_t evlen, char **out, size_t *lenp)
{
	char idbuf[AUDIT_ID_MAX + 1], ts[PETRI_TIME_MAX];
	char prevhex[2 * AUDIT_HASH_LEN + 1];
	char head[AUDIT_ORIGIN_MAX + AUDIT_TYPE_MAX + AUDIT_ID_MAX + 256];
	char *s;
	size_t len;
	int n;

	*out = NULL;
	/* origin, type and id never need JSON escaping: checked here */
	if (!audit_key_name_valid(origin) || !audit_record_type_valid(type) ||
	    seq > (uint64_t)INT64_MAX || evlen < 2 || ev[0] != '{' ||
	    ev[evlen - 1] != '}')
		return PETRI_ERR_INVAL;
	if (id == NULL) {
		if (petri_id_new(
		        AUDIT_RECORD_ID_PREFIX, idbuf, sizeof(idbuf)) != 0)
			return PETRI_ERR_INVAL;
		id = idbuf;
	} else if (!audit_record_token_valid(id, strlen(id), AUDIT_ID_MAX, 1))
		return PETRI_ERR_INVAL;
	petri_time_rfc3339(time_usec > 0 ? time_usec : petri_now_usec(), ts);
	petri_hex(prev, AUDIT_HASH_LEN, prevhex);
	/* exactly what json_dumps(JSON_COMPACT) writes for these fields */
	n = snprintf(head, sizeof(head),
	    "{\"v\":%d,\"origin\":\"%s\",\"seq\":%llu,\"prev\":\"%s\","
	    "\"type\":\"%s\",\"id\":\"%s\",\"time\":\"%s\",\"clock\":\"%s\"",
	    AUDIT_RECORD_VERSION, origin, (unsigned long long)seq, prevhex,
	    type, id, ts, AUDIT_RECORD_CLOCK);
	if (n < 0 || (size_t)n >= sizeof(head))
		return PETRI_ERR_INVAL;
	/* "{}" adds nothing; "{...}" adds "," and its members */
	len = (size_t)n + (evlen == 2 ? 1 : evlen);
	if (len > AUDIT_RECORD_MAX)
		return PETRI_ERR_TOOBIG;
	if ((s = malloc(len + 1)) == NULL)
		return PETRI_ERR_NOMEM;
	memcpy(s, head, (size_t)n);
	if (evlen == 2)
		s[n] = '}';
	else {
		s[n] = ',';
		memcpy(s + n + 1, ev + 1, evlen - 1);
	}
	s[len] = '\0';
	*out = s;
	*lenp = len;
	return 0;
}

int
audit_record_build(const char *origin, uint64_t seq,
    const unsigned char prev[AUDIT_HASH_LEN], const char *type, const char *id,
    int64_t time_usec, json_t *event, char **out, size_t *lenp)
{
	char *ev = NULL;
	size_t evlen = 0;
	int r;

	*out = NULL;
	if (!audit_key_name_valid(origin) || !audit_record_type_valid(type))
		return PETRI_ERR_INVAL;
	if ((r = audit_record_event_dump(event, &ev, &evlen)) != 0)
		return r;
	r = audit_record_build_dumped(
	    origin, seq, prev, type, id, time_usec, ev, evlen, out, lenp);
	free(ev);
	return r;
}

static int
record_fail(const char **err, const char *why)
{
	if (err != NULL)
		*err = why;
	return PETRI_ERR_INVAL;
}

/* The value and length of a string member, or NULL for another type. */
static const char *
record_str(json_t *v, size_t *lenp)
{
	if (!json_is_string(v))
		return NULL;
	*lenp = json_string_length(v);
	return json_string_value(v);
}

int
audit_record_parse(
    const void *bytes, size_t len, struct audit_record *rec, const char **err)
{
	const unsigned char *b = bytes;
	char canon[PETRI_TIME_MAX];
	json_error_t jerr;
	json_t *j, *val[RECORD_NFIELDS];
	const char *s;
	void *it;
	size_t i, n;

	memset(rec, 0, sizeof(*rec));
	if (err != NULL)
		*err = NULL;
	if (len > AUDIT_RECORD_MAX) {
		if (err != NULL)
			*err = "record too large";
		return PETRI_ERR_TOOBIG;
	}
	if (len < 2 || b[0] != '{' || b[len - 1] != '}')
		return record_fail(err, "not a JSON object");
	if (memchr(b, '\n', len) != NULL || memchr(b, '\r', len) != NULL)
		return record_fail(err, "raw line break in record");
	/* jansson passes over a NUL byte after a number; the scanner does not */
	if (memchr(b, '\0', len) != NULL)
		return record_fail(err, "NUL byte in record");
	if ((j = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return record_fail(err, "invalid JSON or duplicate key");
	rec->json = j;
	if (!json_is_object(j))
		goto bad_shape;
	it = json_object_iter(j);
	for (i = 0; i < RECORD_NFIELDS; i++) {
		if (it == NULL ||
		    strcmp(json_object_iter_key(it), record_fields[i]) != 0 ||
		    json_object_iter_key_len(it) != strlen(record_fields[i]))
			goto bad_shape;
		val[i] = json_object_iter_value(it);
		it = json_object_iter_next(j, it);
	}
	if (!json_is_integer(val[0]) ||
	    json_integer_value(val[0]) != AUDIT_RECORD_VERSION) {
		audit_record_clear(rec);
		return record_fail(err, "unsupported record version");
	}
	if ((s = record_str(val[1], &n)) == NULL || n > AUDIT_ORIGIN_MAX)
		goto bad_field;
	memcpy(rec->origin, s, n + 1);
	if (!audit_key_name_valid(rec->origin))
		goto bad_field;
	if (!json_is_integer(val[2]) || json_integer_value(val[2]) < 0)
		goto bad_field;
	rec->seq = (uint64_t)json_integer_value(val[2]);
	if ((s = record_str(val[3], &n)) == NULL ||
	    !audit_record_hex64_valid(s, n) ||
	    petri_unhex(s, rec->prev, AUDIT_HASH_LEN) != 0)
		goto bad_field;
	if ((s = record_str(val[4], &n)) == NULL || n > AUDIT_TYPE_MAX)
		goto bad_field;
	memcpy(rec->type, s, n + 1);
	if (!audit_record_type_valid(rec->type))
		goto bad_field;
	if ((s = record_str(val[5], &n)) == NULL ||
	    !audit_record_token_valid(s, n, AUDIT_ID_MAX, 1))
		goto bad_field;
	memcpy(rec->id, s, n + 1);
	if ((s = record_str(val[6], &n)) == NULL || n >= PETRI_TIME_MAX ||
	    petri_time_parse(s, &rec->time_usec) != 0)
		goto bad_field;
	memcpy(rec->time, s, n + 1);
	petri_time_rfc3339(rec->time_usec, canon);
	if (strcmp(canon, rec->time) != 0)
		goto bad_field;
	if ((s = record_str(val[7], &n)) == NULL ||
	    !audit_record_token_valid(s, n, AUDIT_CLOCK_MAX, 0))
		goto bad_field;
	memcpy(rec->clock, s, n + 1);
	if (record_walk(j, 1, NULL, NULL) != 0) {
		audit_record_clear(rec);
		return record_fail(err, "bad blob reference or nesting");
	}
	return 0;
bad_shape:
	audit_record_clear(rec);
	return record_fail(err, "integrity fields missing or out of order");
bad_field:
	audit_record_clear(rec);
	return record_fail(err, "malformed integrity field");
}

void
audit_record_clear(struct audit_record *rec)
{
	json_decref(rec->json);
	rec->json = NULL;
}

void
audit_record_leaf(
    const void *bytes, size_t len, unsigned char leaf[AUDIT_HASH_LEN])
{
	audit_merkle_leaf_hash(bytes, len, leaf);
}

void
audit_record_sign(const unsigned char leaf[AUDIT_HASH_LEN],
    const unsigned char sk[AUDIT_SECKEY_LEN], unsigned char sig[AUDIT_SIG_LEN])
{
	crypto_sign_detached(sig, NULL, leaf, AUDIT_HASH_LEN, sk);
}

int
audit_record_sig_verify(const unsigned char leaf[AUDIT_HASH_LEN],
    const unsigned char sig[AUDIT_SIG_LEN],
    const unsigned char pub[AUDIT_PUBKEY_LEN])
{
	return crypto_sign_verify_detached(sig, leaf, AUDIT_HASH_LEN, pub) == 0
	    ? 0
	    : PETRI_ERR_CRYPTO;
}
