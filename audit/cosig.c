/* cosig.c: witness cosignatures and add-checkpoint bodies (cosig.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cosig.h"
#include "util.h"

#define COSIG_HEADER "cosignature/v1\ntime "
#define SIG_PREFIX "\xe2\x80\x94 " /* U+2014 EM DASH, space */
#define SIG_PREFIX_LEN 4

/* Decimal without sign or leading zero, at most 2^63 - 1. */
static int
cosig_dec_parse(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 19 || (n > 1 && p[0] == '0'))
		return PETRI_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return PETRI_ERR_INVAL;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return PETRI_ERR_INVAL;
	*out = v;
	return 0;
}

/* The signed message: header, time line, checkpoint text. */
static int
cosig_message(const char *text, size_t text_len, uint64_t ts,
    unsigned char **msg, size_t *msglen)
{
	char head[64];
	int n;

	n = snprintf(
	    head, sizeof(head), COSIG_HEADER "%llu\n", (unsigned long long)ts);
	if (n < 0 || (size_t)n >= sizeof(head) || text_len > AUDIT_NOTE_MAX)
		return PETRI_ERR_INVAL;
	if ((*msg = malloc((size_t)n + text_len)) == NULL)
		return PETRI_ERR_NOMEM;
	memcpy(*msg, head, (size_t)n);
	memcpy(*msg + n, text, text_len);
	*msglen = (size_t)n + text_len;
	return 0;
}

static void
cosig_be64(uint64_t v, unsigned char out[8])
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
cosig_get_be64(const unsigned char in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

int
audit_cosig_sign(const char *text, size_t text_len, const struct audit_key *k,
    const unsigned char sk[AUDIT_SECKEY_LEN], uint64_t ts, char *line,
    size_t linelen, size_t *lenp)
{
	unsigned char blob[AUDIT_COSIG_BLOB_LEN], *msg = NULL;
	char b64[AUDIT_B64_LEN(AUDIT_COSIG_BLOB_LEN)];
	size_t msglen = 0;
	int n, r;

	if (ts > AUDIT_COSIG_TIME_MAX || text_len == 0 ||
	    text[text_len - 1] != '\n' || !audit_key_name_valid(k->name))
		return PETRI_ERR_INVAL;
	if ((r = cosig_message(text, text_len, ts, &msg, &msglen)) != 0)
		return r;
	memcpy(blob, k->id, AUDIT_KEY_ID_LEN);
	cosig_be64(ts, blob + AUDIT_KEY_ID_LEN);
	crypto_sign_detached(
	    blob + AUDIT_KEY_ID_LEN + 8, NULL, msg, msglen, sk);
	free(msg);
	if (audit_b64_encode(blob, sizeof(blob), b64, sizeof(b64)) != 0)
		return PETRI_ERR_TOOBIG;
	n = snprintf(line, linelen, SIG_PREFIX "%s %s\n", k->name, b64);
	if (n < 0 || (size_t)n >= linelen)
		return PETRI_ERR_TOOBIG;
	if (lenp != NULL)
		*lenp = (size_t)n;
	return 0;
}

/*
 * Checks one signature line l[0..n) (without its newline) against k.
 * Returns 0 valid, 1 another key's, or PETRI_ERR_CRYPTO.
 */
static int
cosig_line_check(const char *l, size_t n, const char *text, size_t tlen,
    const struct audit_key *k, uint64_t *ts)
{
	unsigned char blob[AUDIT_COSIG_BLOB_LEN], any[AUDIT_NOTE_SIG_MAX];
	unsigned char *msg = NULL;
	size_t klen = strlen(k->name), msglen = 0, got = 0;
	const char *b64;
	int ok;

	/* audit_note_open() checked the shape: prefix, name, space, base64 */
	if (n < SIG_PREFIX_LEN + klen + 1 ||
	    memcmp(l + SIG_PREFIX_LEN, k->name, klen) != 0 ||
	    l[SIG_PREFIX_LEN + klen] != ' ')
		return 1;
	b64 = l + SIG_PREFIX_LEN + klen + 1;
	/* audit_note_open() checked that it is canonical base64 */
	if (sodium_base642bin(any, sizeof(any), b64, (size_t)(l + n - b64),
	        NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got < AUDIT_KEY_ID_LEN || memcmp(any, k->id, AUDIT_KEY_ID_LEN) != 0)
		return 1; /* another key's line */
	if (got != AUDIT_COSIG_BLOB_LEN)
		return PETRI_ERR_CRYPTO;
	memcpy(blob, any, sizeof(blob));
	*ts = cosig_get_be64(blob + AUDIT_KEY_ID_LEN);
	if (*ts > AUDIT_COSIG_TIME_MAX ||
	    cosig_message(text, tlen, *ts, &msg, &msglen) != 0)
		return PETRI_ERR_CRYPTO;
	ok = crypto_sign_verify_detached(
	         blob + AUDIT_KEY_ID_LEN + 8, msg, msglen, k->pub) == 0;
	free(msg);
	return ok ? 0 : PETRI_ERR_CRYPTO;
}

int
audit_cosig_verify(const char *note, size_t len, const struct audit_key *k,
    struct audit_cosig *out)
{
	const char *line, *nl, *end = note + len;
	size_t tlen;
	uint64_t ts = 0;
	int r, found = 0;

	if ((r = audit_note_open(note, len, NULL, &tlen)) != 0)
		return r;
	for (line = note + tlen + 1; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		r = cosig_line_check(
		    line, (size_t)(nl - line), note, tlen, k, &ts);
		if (r < 0)
			return r;
		if (r == 0 && !found) {
			found = 1;
			if (out != NULL) {
				out->timestamp = ts;
				out->off = (size_t)(line - note);
				out->len = (size_t)(nl - line) + 1;
			}
		}
	}
	return found ? 0 : PETRI_ERR_NOTFOUND;
}

int
audit_cosig_count(
    const char *note, size_t len, const struct audit_key *keys, size_t n)
{
	size_t i, j;
	int count = 0, r;

	if ((r = audit_note_open(note, len, NULL, NULL)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(keys[j].name, keys[i].name) == 0 &&
			    memcmp(keys[j].pub, keys[i].pub,
			        AUDIT_PUBKEY_LEN) == 0)
				break;
		if (j < i)
			continue; /* the same key given twice */
		if (audit_cosig_verify(note, len, &keys[i], NULL) == 0)
			count++;
	}
	return count;
}

int
audit_witness_req_parse(
    const char *body, size_t len, struct audit_witness_req *req)
{
	const char *p = body, *end = body + len, *nl;

	if (len > AUDIT_WITNESS_REQ_MAX)
		return PETRI_ERR_TOOBIG;
	memset(req, 0, sizeof(*req));
	if ((nl = memchr(p, '\n', len)) == NULL || nl - p < 5 ||
	    memcmp(p, "old ", 4) != 0 ||
	    cosig_dec_parse(p + 4, (size_t)(nl - p - 4), &req->old_size) != 0)
		return PETRI_ERR_INVAL;
	for (p = nl + 1;; p = nl + 1) {
		if (p >= end ||
		    (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return PETRI_ERR_INVAL;
		if (nl == p)
			break; /* the blank line */
		if (req->proof.count == AUDIT_WITNESS_PROOF_MAX ||
		    audit_b64_decode(p, (size_t)(nl - p),
		        req->proof.hash[req->proof.count], AUDIT_HASH_LEN) != 0)
			return PETRI_ERR_INVAL;
		req->proof.count++;
	}
	req->note = nl + 1;
	req->note_len = (size_t)(end - req->note);
	return req->note_len > 0 ? 0 : PETRI_ERR_INVAL;
}

int
audit_witness_req_encode(uint64_t old_size,
    const struct audit_merkle_proof *proof, const char *note, size_t note_len,
    char **out, size_t *lenp)
{
	char b64[AUDIT_B64_LEN(AUDIT_HASH_LEN)], *p;
	size_t i, cap, o;
	int n;

	*out = NULL;
	if (proof->count > AUDIT_WITNESS_PROOF_MAX ||
	    old_size > (uint64_t)INT64_MAX || note_len > AUDIT_NOTE_MAX)
		return PETRI_ERR_INVAL;
	cap = 32 + proof->count * 45 + 1 + note_len + 1;
	if ((p = malloc(cap)) == NULL)
		return PETRI_ERR_NOMEM;
	n = snprintf(p, cap, "old %llu\n", (unsigned long long)old_size);
	o = (size_t)n;
	for (i = 0; i < proof->count; i++) {
		if (audit_b64_encode(proof->hash[i], AUDIT_HASH_LEN, b64,
		        sizeof(b64)) != 0) {
			free(p);
			return PETRI_ERR_TOOBIG;
		}
		n = snprintf(p + o, cap - o, "%s\n", b64);
		o += (size_t)n;
	}
	p[o++] = '\n';
	memcpy(p + o, note, note_len);
	o += note_len;
	p[o] = '\0';
	*out = p;
	if (lenp != NULL)
		*lenp = o;
	return 0;
}

int
audit_witness_size_parse(const char *body, size_t len, uint64_t *size)
{
	if (len < 2 || body[len - 1] != '\n')
		return PETRI_ERR_INVAL;
	return cosig_dec_parse(body, len - 1, size);
}
