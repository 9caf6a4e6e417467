/* bundle.c: audit bundle manifest and line formats. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "bundle.h"

static json_t *
bundle_range_json(const struct audit_bundle_range *r)
{
	char hex[2 * AUDIT_HASH_LEN + 1];
	json_t *a;
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < r->count; i++) {
		petri_hex(r->hash[i], AUDIT_HASH_LEN, hex);
		if (json_array_append_new(a, json_string(hex)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int
audit_bundle_manifest_encode(
    const struct audit_bundle_manifest *m, char **out, size_t *lenp)
{
	json_t *j;
	char *s;

	*out = NULL;
	if (!audit_key_name_valid(m->origin) || m->from > m->to ||
	    m->to > AUDIT_MERKLE_MAX_SIZE ||
	    m->tree_size > AUDIT_MERKLE_MAX_SIZE)
		return PETRI_ERR_INVAL;
	j = json_pack("{s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:o*, s:o*}",
	    "format", AUDIT_BUNDLE_FORMAT, "version", AUDIT_BUNDLE_VERSION,
	    "origin", m->origin, "created", m->created, "from",
	    (json_int_t)m->from, "to", (json_int_t)m->to, "tree_size",
	    (json_int_t)m->tree_size, "left", bundle_range_json(&m->left),
	    "right", bundle_range_json(&m->right));
	if (j == NULL || json_object_size(j) != 9) {
		json_decref(j);
		return PETRI_ERR_NOMEM;
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return PETRI_ERR_NOMEM;
	*out = s;
	*lenp = strlen(s);
	return 0;
}

static int
bundle_range_parse(json_t *a, size_t want, struct audit_bundle_range *r)
{
	json_t *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) != want ||
	    want > sizeof(r->hash) / sizeof(r->hash[0]))
		return PETRI_ERR_INVAL;
	json_array_foreach (a, i, v) {
		if (!json_is_string(v) ||
		    json_string_length(v) != 2 * AUDIT_HASH_LEN ||
		    petri_unhex(
		        json_string_value(v), r->hash[i], AUDIT_HASH_LEN) != 0)
			return PETRI_ERR_INVAL;
	}
	r->count = want;
	return 0;
}

static int
bundle_u64(json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return PETRI_ERR_INVAL;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int
audit_bundle_manifest_parse(
    const void *p, size_t len, struct audit_bundle_manifest *m)
{
	struct audit_merkle_range lr, rr;
	json_error_t jerr;
	json_t *j;
	const char *format = NULL, *origin = NULL, *created = NULL;
	json_t *from = NULL, *to = NULL, *tree = NULL, *left = NULL;
	json_t *right = NULL;
	int version = 0, r = PETRI_ERR_INVAL;

	memset(m, 0, sizeof(*m));
	if (len > AUDIT_BUNDLE_MAX_MANIFEST)
		return PETRI_ERR_TOOBIG;
	if ((j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return PETRI_ERR_INVAL;
	if (json_unpack(j, "{s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o !}",
	        "format", &format, "version", &version, "origin", &origin,
	        "created", &created, "from", &from, "to", &to, "tree_size",
	        &tree, "left", &left, "right", &right) != 0)
		goto out;
	if (strcmp(format, AUDIT_BUNDLE_FORMAT) != 0 ||
	    version != AUDIT_BUNDLE_VERSION ||
	    strlen(origin) > AUDIT_ORIGIN_MAX ||
	    !audit_key_name_valid(origin) || strlen(created) >= PETRI_TIME_MAX)
		goto out;
	petri_strlcpy(m->origin, origin, sizeof(m->origin));
	petri_strlcpy(m->created, created, sizeof(m->created));
	if (bundle_u64(from, &m->from) != 0 || bundle_u64(to, &m->to) != 0 ||
	    bundle_u64(tree, &m->tree_size) != 0 || m->from > m->to ||
	    m->to > AUDIT_MERKLE_MAX_SIZE)
		goto out;
	if (audit_merkle_range_decompose(0, m->from, &lr) != 0 ||
	    bundle_range_parse(left, lr.count, &m->left) != 0)
		goto out;
	if (m->tree_size > m->to) {
		if (audit_merkle_range_decompose(m->to, m->tree_size, &rr) !=
		        0 ||
		    bundle_range_parse(right, rr.count, &m->right) != 0)
			goto out;
	} else if (bundle_range_parse(right, 0, &m->right) != 0)
		goto out;
	r = 0;
out:
	json_decref(j);
	return r;
}

size_t
audit_bundle_sig_line(
    uint64_t seq, const unsigned char sig[AUDIT_SIG_LEN], char *out)
{
	char b64[AUDIT_B64_LEN(AUDIT_SIG_LEN)];
	int n;

	sodium_bin2base64(b64, sizeof(b64), sig, AUDIT_SIG_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out, AUDIT_BUNDLE_SIG_LINE_MAX, "%llu %s\n",
	    (unsigned long long)seq, b64);
	return n < 0 ? 0 : (size_t)n;
}

/* Strict decimal: no sign, no leading zero, <= AUDIT_MERKLE_MAX_SIZE. */
static int
bundle_dec(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return PETRI_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PETRI_ERR_INVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > AUDIT_MERKLE_MAX_SIZE)
		return PETRI_ERR_INVAL;
	*out = v;
	return 0;
}

int
audit_bundle_sig_parse(const char *line, size_t len, uint64_t *seq,
    unsigned char sig[AUDIT_SIG_LEN])
{
	const char *sp;

	if ((sp = memchr(line, ' ', len)) == NULL ||
	    bundle_dec(line, (size_t)(sp - line), seq) != 0)
		return PETRI_ERR_INVAL;
	sp++;
	return audit_b64_decode(
	    sp, (size_t)(line + len - sp), sig, AUDIT_SIG_LEN);
}

void
audit_bundle_cp_name(uint64_t size, char out[AUDIT_BUNDLE_CP_NAME_MAX])
{
	snprintf(out, AUDIT_BUNDLE_CP_NAME_MAX, "%s%020llu.txt",
	    AUDIT_BUNDLE_CP_PREFIX, (unsigned long long)size);
}

void
audit_bundle_ts_name(uint64_t size, char out[AUDIT_BUNDLE_CP_NAME_MAX])
{
	snprintf(out, AUDIT_BUNDLE_CP_NAME_MAX, "%s%020llu.tsr",
	    AUDIT_BUNDLE_TS_PREFIX, (unsigned long long)size);
}

/* "<prefix><20 digits><ext>" back to the size. */
static int
bundle_sized_name_parse(
    const char *name, const char *prefix, const char *ext, uint64_t *size)
{
	size_t plen = strlen(prefix), i;
	uint64_t v = 0;

	if (strlen(name) != plen + 20 + strlen(ext) ||
	    strncmp(name, prefix, plen) != 0 ||
	    strcmp(name + plen + 20, ext) != 0)
		return PETRI_ERR_INVAL;
	for (i = plen; i < plen + 20; i++) {
		if (name[i] < '0' || name[i] > '9' ||
		    v > (AUDIT_MERKLE_MAX_SIZE - 9) / 10)
			return PETRI_ERR_INVAL;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*size = v;
	return 0;
}

int
audit_bundle_cp_name_parse(const char *name, uint64_t *size)
{
	return bundle_sized_name_parse(
	    name, AUDIT_BUNDLE_CP_PREFIX, ".txt", size);
}

int
audit_bundle_ts_name_parse(const char *name, uint64_t *size)
{
	return bundle_sized_name_parse(
	    name, AUDIT_BUNDLE_TS_PREFIX, ".tsr", size);
}

int
audit_bundle_rotation_encode(
    const struct audit_bundle_rotation *rot, char **out, size_t *lenp)
{
	char sig[AUDIT_B64_LEN(AUDIT_SIG_LEN)], hex[2 * AUDIT_HASH_LEN + 1];
	char *b64 = NULL, *s = NULL;
	size_t blen, i;
	json_t *j = NULL, *proof;
	int r = PETRI_ERR_NOMEM;

	*out = NULL;
	if (rot->len > AUDIT_RECORD_MAX)
		return PETRI_ERR_INVAL;
	blen =
	    sodium_base64_encoded_len(rot->len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(blen)) == NULL)
		goto out;
	sodium_bin2base64(
	    b64, blen, rot->bytes, rot->len, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(sig, sizeof(sig), rot->sig, AUDIT_SIG_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((proof = json_array()) == NULL)
		goto out;
	for (i = 0; i < rot->proof.count; i++) {
		petri_hex(rot->proof.hash[i], AUDIT_HASH_LEN, hex);
		if (json_array_append_new(proof, json_string(hex)) != 0) {
			json_decref(proof);
			goto out;
		}
	}
	if ((j = json_pack("{s:I, s:s, s:s, s:o}", "seq", (json_int_t)rot->seq,
	         "record", b64, "sig", sig, "proof", proof)) == NULL)
		goto out;
	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		goto out;
	blen = strlen(s);
	/* room for the newline: json_dumps() left exactly blen + 1 bytes */
	{
		char *t = realloc(s, blen + 2);

		if (t == NULL)
			goto out;
		s = t;
	}
	s[blen] = '\n';
	s[blen + 1] = '\0';
	*out = s;
	*lenp = blen + 1;
	s = NULL;
	r = 0;
out:
	free(s);
	free(b64);
	json_decref(j);
	return r;
}

int
audit_bundle_rotation_parse(
    const char *line, size_t len, struct audit_bundle_rotation *rot)
{
	json_error_t jerr;
	json_t *j, *proof, *v;
	json_int_t seq = -1;
	const char *rec = NULL, *sig = NULL;
	size_t rlen, i;
	int r = PETRI_ERR_INVAL;

	memset(rot, 0, sizeof(*rot));
	if (len > 2 * AUDIT_RECORD_MAX)
		return PETRI_ERR_TOOBIG;
	if ((j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return PETRI_ERR_INVAL;
	if (json_unpack(j, "{s:I, s:s%, s:s, s:o !}", "seq", &seq, "record",
	        &rec, &rlen, "sig", &sig, "proof", &proof) != 0 ||
	    seq < 0 || !json_is_array(proof) ||
	    json_array_size(proof) > AUDIT_MERKLE_MAX_PROOF)
		goto out;
	rot->seq = (uint64_t)seq;
	if (audit_b64_decode(sig, strlen(sig), rot->sig, AUDIT_SIG_LEN) != 0)
		goto out;
	json_array_foreach (proof, i, v) {
		if (!json_is_string(v) ||
		    json_string_length(v) != 2 * AUDIT_HASH_LEN ||
		    petri_unhex(json_string_value(v), rot->proof.hash[i],
		        AUDIT_HASH_LEN) != 0)
			goto out;
	}
	rot->proof.count = json_array_size(proof);
	if ((rot->bytes = malloc(rlen / 4 * 3 + 1)) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto out;
	}
	{
		const char *end = NULL;

		if (sodium_base642bin(rot->bytes, rlen / 4 * 3 + 1, rec, rlen,
		        NULL, &rot->len, &end,
		        sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    end != rec + rlen || rot->len > AUDIT_RECORD_MAX)
			goto out;
	}
	r = 0;
out:
	if (r != 0)
		audit_bundle_rotation_clear(rot);
	json_decref(j);
	return r;
}

void
audit_bundle_rotation_clear(struct audit_bundle_rotation *rot)
{
	free(rot->bytes);
	rot->bytes = NULL;
	rot->len = 0;
}
