/* checkpoint.c: C2SP signed notes, checkpoints and note keys. */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "checkpoint.h"
#include "util.h"

#define NOTE_ALG_ED25519 0x01
#define NOTE_ALG_COSIG_V1 0x04 /* c2sp.org/tlog-cosignature, Ed25519 */
#define NOTE_SIG_PREFIX "\xe2\x80\x94 " /* U+2014 EM DASH, space */
#define NOTE_SIG_PREFIX_LEN 4

int
audit_b64_encode(const void *in, size_t n, char *out, size_t outlen)
{
	if (outlen < AUDIT_B64_LEN(n))
		return PETRI_ERR_TOOBIG;
	sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int
audit_b64_decode(const char *s, size_t len, unsigned char *out, size_t outlen)
{
	char check[AUDIT_B64_LEN(AUDIT_NOTE_SIG_MAX)];
	const char *end = NULL;
	size_t got = 0;
	int r;

	/* canonical encodings only: exact length, re-encodes identically */
	if (outlen > AUDIT_NOTE_SIG_MAX || len != AUDIT_B64_LEN(outlen) - 1)
		return PETRI_ERR_INVAL;
	if (sodium_base642bin(out, outlen, s, len, NULL, &got, &end,
	        sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != outlen || end != s + len)
		return PETRI_ERR_INVAL;
	sodium_bin2base64(
	    check, sizeof(check), out, outlen, sodium_base64_VARIANT_ORIGINAL);
	/* also used on secret key seeds: constant time, wiped */
	r = sodium_memcmp(check, s, len) == 0 ? 0 : PETRI_ERR_INVAL;
	sodium_memzero(check, sizeof(check));
	if (r != 0)
		sodium_memzero(out, outlen);
	return r;
}

int
audit_key_name_valid(const char *name)
{
	size_t i;

	/* URL-like: never needs escaping in JSON, a note, or a path */
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= AUDIT_ORIGIN_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '~' || c == ':' || c == '/' || c == '-'))
			return 0;
	}
	return i > 0;
}

/* id = SHA-256(name || 0x0A || alg || pub)[:4]. */
static void
key_id_alg(const char *name, unsigned char alg,
    const unsigned char pub[AUDIT_PUBKEY_LEN],
    unsigned char id[AUDIT_KEY_ID_LEN])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	const unsigned char sep[2] = {'\n', alg};

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(
	    &st, (const unsigned char *)name, strlen(name));
	crypto_hash_sha256_update(&st, sep, sizeof(sep));
	crypto_hash_sha256_update(&st, pub, AUDIT_PUBKEY_LEN);
	crypto_hash_sha256_final(&st, h);
	memcpy(id, h, AUDIT_KEY_ID_LEN);
}

void
audit_key_id(const char *name, const unsigned char pub[AUDIT_PUBKEY_LEN],
    unsigned char id[AUDIT_KEY_ID_LEN])
{
	key_id_alg(name, NOTE_ALG_ED25519, pub, id);
}

int
audit_cosigner_key_init(struct audit_key *k, const char *name,
    const unsigned char pub[AUDIT_PUBKEY_LEN])
{
	if (!audit_key_name_valid(name))
		return PETRI_ERR_INVAL;
	petri_strlcpy(k->name, name, sizeof(k->name));
	memcpy(k->pub, pub, AUDIT_PUBKEY_LEN);
	key_id_alg(k->name, NOTE_ALG_COSIG_V1, k->pub, k->id);
	return 0;
}

int
audit_key_init(struct audit_key *k, const char *name,
    const unsigned char pub[AUDIT_PUBKEY_LEN])
{
	if (!audit_key_name_valid(name))
		return PETRI_ERR_INVAL;
	petri_strlcpy(k->name, name, sizeof(k->name));
	memcpy(k->pub, pub, AUDIT_PUBKEY_LEN);
	audit_key_id(k->name, k->pub, k->id);
	return 0;
}

void
audit_key_id_hex(const struct audit_key *k, char out[AUDIT_KEY_ID_HEX])
{
	petri_hex(k->id, AUDIT_KEY_ID_LEN, out);
}

static int
vkey_format_alg(
    const struct audit_key *k, unsigned char alg, char *out, size_t outlen)
{
	unsigned char raw[1 + AUDIT_PUBKEY_LEN];
	char b64[AUDIT_B64_LEN(sizeof(raw))], id[AUDIT_KEY_ID_HEX];
	int n;

	raw[0] = alg;
	memcpy(raw + 1, k->pub, AUDIT_PUBKEY_LEN);
	if (audit_b64_encode(raw, sizeof(raw), b64, sizeof(b64)) != 0)
		return PETRI_ERR_TOOBIG;
	audit_key_id_hex(k, id);
	n = snprintf(out, outlen, "%s+%s+%s", k->name, id, b64);
	if (n < 0 || (size_t)n >= outlen)
		return PETRI_ERR_TOOBIG;
	return 0;
}

int
audit_vkey_format(const struct audit_key *k, char *out, size_t outlen)
{
	return vkey_format_alg(k, NOTE_ALG_ED25519, out, outlen);
}

int
audit_cosigner_vkey_format(const struct audit_key *k, char *out, size_t outlen)
{
	return vkey_format_alg(k, NOTE_ALG_COSIG_V1, out, outlen);
}

/*
 * Splits s[0..len) at '+' into nparts parts (the last takes the rest).
 * Returns 0 or PETRI_ERR_INVAL when a separator is missing.
 */
static int
key_split(
    const char *s, size_t len, const char **part, size_t *plen, int nparts)
{
	const char *end = s + len, *p;
	int i;

	for (i = 0; i < nparts - 1; i++) {
		if ((p = memchr(s, '+', (size_t)(end - s))) == NULL)
			return PETRI_ERR_INVAL;
		part[i] = s;
		plen[i] = (size_t)(p - s);
		s = p + 1;
	}
	part[i] = s;
	plen[i] = (size_t)(end - s);
	return 0;
}

/* Copies a name part into out (NUL-terminated) and validates it. */
static int
key_name_copy(const char *p, size_t n, char out[AUDIT_ORIGIN_MAX + 1])
{
	if (n == 0 || n > AUDIT_ORIGIN_MAX || memchr(p, '\0', n) != NULL)
		return PETRI_ERR_INVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return audit_key_name_valid(out) ? 0 : PETRI_ERR_INVAL;
}

/* Parses the 8 lowercase hex digits of a key id. */
static int
key_id_parse(const char *p, size_t n, unsigned char id[AUDIT_KEY_ID_LEN])
{
	char hex[AUDIT_KEY_ID_HEX];
	size_t i;

	if (n != 8)
		return PETRI_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		        (p[i] >= 'a' && p[i] <= 'f')))
			return PETRI_ERR_INVAL;
	memcpy(hex, p, 8);
	hex[8] = '\0';
	return petri_unhex(hex, id, AUDIT_KEY_ID_LEN);
}

static int
vkey_parse_alg(
    const char *s, size_t len, unsigned char alg, struct audit_key *k)
{
	const char *part[3];
	size_t plen[3];
	unsigned char raw[1 + AUDIT_PUBKEY_LEN], id[AUDIT_KEY_ID_LEN];
	struct audit_key t;

	if (len > AUDIT_VKEY_MAX || key_split(s, len, part, plen, 3) != 0 ||
	    key_name_copy(part[0], plen[0], t.name) != 0 ||
	    key_id_parse(part[1], plen[1], id) != 0 ||
	    audit_b64_decode(part[2], plen[2], raw, sizeof(raw)) != 0 ||
	    raw[0] != alg)
		return PETRI_ERR_INVAL;
	memcpy(t.pub, raw + 1, AUDIT_PUBKEY_LEN);
	key_id_alg(t.name, alg, t.pub, t.id);
	if (memcmp(t.id, id, AUDIT_KEY_ID_LEN) != 0)
		return PETRI_ERR_INVAL;
	*k = t;
	return 0;
}

int
audit_vkey_parse(const char *s, size_t len, struct audit_key *k)
{
	return vkey_parse_alg(s, len, NOTE_ALG_ED25519, k);
}

int
audit_cosigner_vkey_parse(const char *s, size_t len, struct audit_key *k)
{
	return vkey_parse_alg(s, len, NOTE_ALG_COSIG_V1, k);
}

static int
skey_format_alg(const char *name, unsigned char alg,
    const unsigned char seed[AUDIT_SEED_LEN], char *out, size_t outlen)
{
	unsigned char raw[1 + AUDIT_SEED_LEN], pk[AUDIT_PUBKEY_LEN];
	unsigned char sk[AUDIT_SECKEY_LEN];
	char b64[AUDIT_B64_LEN(sizeof(raw))], id[AUDIT_KEY_ID_HEX];
	struct audit_key k;
	int n, r = PETRI_ERR_TOOBIG;

	crypto_sign_seed_keypair(pk, sk, seed);
	if (audit_key_init(&k, name, pk) != 0) {
		r = PETRI_ERR_INVAL;
		goto out;
	}
	key_id_alg(k.name, alg, k.pub, k.id);
	raw[0] = alg;
	memcpy(raw + 1, seed, AUDIT_SEED_LEN);
	if (audit_b64_encode(raw, sizeof(raw), b64, sizeof(b64)) != 0)
		goto out;
	audit_key_id_hex(&k, id);
	n = snprintf(out, outlen, "PRIVATE+KEY+%s+%s+%s", name, id, b64);
	if (n < 0 || (size_t)n >= outlen) {
		sodium_memzero(out, outlen);
		goto out;
	}
	r = 0;
out:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(b64, sizeof(b64));
	return r;
}

int
audit_skey_format(const char *name, const unsigned char seed[AUDIT_SEED_LEN],
    char *out, size_t outlen)
{
	return skey_format_alg(name, NOTE_ALG_ED25519, seed, out, outlen);
}

int
audit_cosigner_skey_format(const char *name,
    const unsigned char seed[AUDIT_SEED_LEN], char *out, size_t outlen)
{
	return skey_format_alg(name, NOTE_ALG_COSIG_V1, seed, out, outlen);
}

static int
skey_parse_alg(const char *s, size_t len, unsigned char alg,
    unsigned char sk[AUDIT_SECKEY_LEN], struct audit_key *k)
{
	const char *part[5];
	size_t plen[5];
	unsigned char raw[1 + AUDIT_SEED_LEN], pk[AUDIT_PUBKEY_LEN];
	unsigned char id[AUDIT_KEY_ID_LEN];
	struct audit_key t;
	int r = PETRI_ERR_INVAL;

	if (len > AUDIT_SKEY_MAX || key_split(s, len, part, plen, 5) != 0 ||
	    plen[0] != 7 || memcmp(part[0], "PRIVATE", 7) != 0 ||
	    plen[1] != 3 || memcmp(part[1], "KEY", 3) != 0 ||
	    key_name_copy(part[2], plen[2], t.name) != 0 ||
	    key_id_parse(part[3], plen[3], id) != 0 ||
	    audit_b64_decode(part[4], plen[4], raw, sizeof(raw)) != 0 ||
	    raw[0] != alg)
		goto out;
	crypto_sign_seed_keypair(pk, sk, raw + 1);
	if (audit_key_init(&t, t.name, pk) == 0)
		key_id_alg(t.name, alg, t.pub, t.id);
	if (!audit_key_name_valid(t.name) ||
	    memcmp(t.id, id, AUDIT_KEY_ID_LEN) != 0) {
		sodium_memzero(sk, AUDIT_SECKEY_LEN);
		goto out;
	}
	*k = t;
	r = 0;
out:
	sodium_memzero(raw, sizeof(raw));
	return r;
}

int
audit_skey_parse(const char *s, size_t len, unsigned char sk[AUDIT_SECKEY_LEN],
    struct audit_key *k)
{
	return skey_parse_alg(s, len, NOTE_ALG_ED25519, sk, k);
}

int
audit_cosigner_skey_parse(const char *s, size_t len,
    unsigned char sk[AUDIT_SECKEY_LEN], struct audit_key *k)
{
	return skey_parse_alg(s, len, NOTE_ALG_COSIG_V1, sk, k);
}

/*
 * Checks that p[0..n) is UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF) without ASCII control characters other than '\n'.
 */
static int
note_text_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t need, j;
		uint32_t cp;

		if (c < 0x80) {
			if (c < 0x20 && c != '\n')
				return 0;
			i++;
			continue;
		}
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
			return 0;
		if (n - i <= need)
			return 0;
		for (j = 1; j <= need; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if ((need == 2 &&
		        (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += need + 1;
	}
	return 1;
}

int
audit_note_sign(const char *text, size_t text_len, const struct audit_key *k,
    const unsigned char sk[AUDIT_SECKEY_LEN], char *out, size_t outlen,
    size_t *lenp)
{
	unsigned char blob[AUDIT_KEY_ID_LEN + AUDIT_SIG_LEN];
	char b64[AUDIT_B64_LEN(sizeof(blob))];
	size_t nlen = strlen(k->name), blen, need;
	char *p;

	if (text_len == 0 || text[text_len - 1] != '\n' ||
	    !note_text_valid((const unsigned char *)text, text_len) ||
	    !audit_key_name_valid(k->name))
		return PETRI_ERR_INVAL;
	/* the text may not contain the blank line that ends it */
	if (text_len >= 2 && memmem(text, text_len, "\n\n", 2) != NULL)
		return PETRI_ERR_INVAL;
	memcpy(blob, k->id, AUDIT_KEY_ID_LEN);
	crypto_sign_detached(blob + AUDIT_KEY_ID_LEN, NULL,
	    (const unsigned char *)text, text_len, sk);
	if (audit_b64_encode(blob, sizeof(blob), b64, sizeof(b64)) != 0)
		return PETRI_ERR_TOOBIG;
	blen = strlen(b64);
	need = text_len + 1 + NOTE_SIG_PREFIX_LEN + nlen + 1 + blen + 1;
	if (need + 1 > outlen || need > AUDIT_NOTE_MAX)
		return PETRI_ERR_TOOBIG;
	p = out;
	memcpy(p, text, text_len);
	p += text_len;
	*p++ = '\n';
	memcpy(p, NOTE_SIG_PREFIX, NOTE_SIG_PREFIX_LEN);
	p += NOTE_SIG_PREFIX_LEN;
	memcpy(p, k->name, nlen);
	p += nlen;
	*p++ = ' ';
	memcpy(p, b64, blen);
	p += blen;
	*p++ = '\n';
	*p = '\0';
	if (lenp != NULL)
		*lenp = need;
	return 0;
}

/* Finds the last "\n\n" in p[0..n); returns its offset or -1. */
static long
note_split(const char *p, size_t n)
{
	size_t i;

	for (i = n; i >= 2; i--)
		if (p[i - 2] == '\n' && p[i - 1] == '\n')
			return (long)(i - 2);
	return -1;
}

/*
 * Decodes canonical base64 of any length up to max bytes.
 * Returns the decoded length or -1.
 */
static long
note_b64_decode_any(const char *s, size_t len, unsigned char *out, size_t max)
{
	size_t n;

	if (len == 0 || len % 4 != 0)
		return -1;
	n = len / 4 * 3;
	if (s[len - 1] == '=')
		n--;
	if (s[len - 2] == '=')
		n--;
	if (n > max || audit_b64_decode(s, len, out, n) != 0)
		return -1;
	return (long)n;
}

int
audit_note_open(
    const char *note, size_t len, const struct audit_key *k, size_t *text_len)
{
	unsigned char blob[AUDIT_NOTE_SIG_MAX];
	const char *end, *line, *nl, *sp;
	size_t tlen, nsigs = 0, klen = 0;
	long split, blen;
	int found = 0;

	if (len > AUDIT_NOTE_MAX)
		return PETRI_ERR_TOOBIG;
	if (!note_text_valid((const unsigned char *)note, len) ||
	    (split = note_split(note, len)) < 0)
		return PETRI_ERR_INVAL;
	tlen = (size_t)split + 1;
	if ((size_t)split + 2 >= len || note[len - 1] != '\n')
		return PETRI_ERR_INVAL;
	if (k != NULL)
		klen = strlen(k->name);
	end = note + len;
	for (line = note + split + 2; line < end; line = nl + 1) {
		const char *name, *b64;
		size_t namelen;

		nl = memchr(line, '\n', (size_t)(end - line));
		if (++nsigs > AUDIT_NOTE_MAX_SIGS)
			return PETRI_ERR_INVAL;
		if ((size_t)(nl - line) < NOTE_SIG_PREFIX_LEN ||
		    memcmp(line, NOTE_SIG_PREFIX, NOTE_SIG_PREFIX_LEN) != 0)
			return PETRI_ERR_INVAL;
		name = line + NOTE_SIG_PREFIX_LEN;
		if ((sp = memchr(name, ' ', (size_t)(nl - name))) == NULL)
			return PETRI_ERR_INVAL;
		namelen = (size_t)(sp - name);
		b64 = sp + 1;
		/* every line: a name without '+', then key id || signature */
		if (namelen == 0 || memchr(name, '+', namelen) != NULL ||
		    (blen = note_b64_decode_any(b64, (size_t)(nl - b64), blob,
		         sizeof(blob))) < AUDIT_KEY_ID_LEN + 1)
			return PETRI_ERR_INVAL;
		if (k == NULL || namelen != klen ||
		    memcmp(name, k->name, klen) != 0 ||
		    memcmp(blob, k->id, AUDIT_KEY_ID_LEN) != 0)
			continue; /* another signer: ignored */
		if (blen != AUDIT_KEY_ID_LEN + AUDIT_SIG_LEN ||
		    crypto_sign_verify_detached(blob + AUDIT_KEY_ID_LEN,
		        (const unsigned char *)note, tlen, k->pub) != 0)
			return PETRI_ERR_CRYPTO;
		found = 1;
	}
	if (text_len != NULL)
		*text_len = tlen;
	if (k != NULL && !found)
		return PETRI_ERR_NOTFOUND;
	return 0;
}

int
audit_checkpoint_sign(const struct audit_checkpoint *cp,
    const struct audit_key *k, const unsigned char sk[AUDIT_SECKEY_LEN],
    char *out, size_t outlen, size_t *lenp)
{
	char body[AUDIT_ORIGIN_MAX + 64 + AUDIT_B64_LEN(AUDIT_HASH_LEN)];
	char b64[AUDIT_B64_LEN(AUDIT_HASH_LEN)];
	int n;

	if (!audit_key_name_valid(cp->origin) ||
	    cp->size > AUDIT_MERKLE_MAX_SIZE)
		return PETRI_ERR_INVAL;
	if (audit_b64_encode(cp->root, AUDIT_HASH_LEN, b64, sizeof(b64)) != 0)
		return PETRI_ERR_TOOBIG;
	n = snprintf(body, sizeof(body), "%s\n%llu\n%s\n", cp->origin,
	    (unsigned long long)cp->size, b64);
	if (n < 0 || (size_t)n >= sizeof(body))
		return PETRI_ERR_TOOBIG;
	return audit_note_sign(body, (size_t)n, k, sk, out, outlen, lenp);
}

/* Parses the body lines of a checkpoint (text of tlen bytes). */
static int
checkpoint_body_parse(
    const char *text, size_t tlen, struct audit_checkpoint *cp)
{
	const char *p = text, *end = text + tlen, *nl;
	uint64_t size = 0;
	size_t n, i;

	/* origin */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return PETRI_ERR_INVAL;
	n = (size_t)(nl - p);
	if (n == 0 || n > AUDIT_ORIGIN_MAX || memchr(p, '\0', n) != NULL)
		return PETRI_ERR_INVAL;
	memcpy(cp->origin, p, n);
	cp->origin[n] = '\0';
	p = nl + 1;
	/* size: decimal, no sign, no leading zero */
	if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return PETRI_ERR_INVAL;
	n = (size_t)(nl - p);
	if (n == 0 || n > 19 || (n > 1 && p[0] == '0'))
		return PETRI_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return PETRI_ERR_INVAL;
		size = size * 10 + (uint64_t)(p[i] - '0');
	}
	if (size > AUDIT_MERKLE_MAX_SIZE)
		return PETRI_ERR_INVAL;
	cp->size = size;
	p = nl + 1;
	/* root */
	if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    audit_b64_decode(p, (size_t)(nl - p), cp->root, AUDIT_HASH_LEN) !=
	        0)
		return PETRI_ERR_INVAL;
	p = nl + 1;
	/* extension lines: opaque, but never empty */
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || nl == p)
			return PETRI_ERR_INVAL;
		p = nl + 1;
	}
	return 0;
}

int
audit_checkpoint_parse(
    const char *note, size_t len, struct audit_checkpoint *cp)
{
	size_t tlen;
	int r;

	if ((r = audit_note_open(note, len, NULL, &tlen)) != 0)
		return r;
	return checkpoint_body_parse(note, tlen, cp);
}

int
audit_checkpoint_verify(const char *note, size_t len, const struct audit_key *k,
    struct audit_checkpoint *cp)
{
	struct audit_checkpoint t;
	size_t tlen;
	int r;

	if ((r = audit_note_open(note, len, NULL, &tlen)) != 0 ||
	    (r = checkpoint_body_parse(note, tlen, &t)) != 0 ||
	    (r = audit_note_open(note, len, k, NULL)) != 0)
		return r;
	*cp = t;
	return 0;
}
