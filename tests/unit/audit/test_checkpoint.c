/*
 * test_checkpoint.c: signed notes, note keys and checkpoints against the
 * golang.org/x/mod/sumdb/note reference vector and the C2SP example, plus
 * strict-parser rejections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "checkpoint.h"
#include "util.h"
#include "unit.h"

/* golang.org/x/mod/sumdb/note note_test.go */
static const char go_vkey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_skey[] = "PRIVATE+KEY+PeterNeumann+c74f20a3+"
                              "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char go_text[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
static const char go_note[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnA"
    "M=\n";

/* c2sp.org/tlog-checkpoint example (signature from an unknown key) */
static const char c2sp_cp[] =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\xe2\x80\x94 example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

static void
test_go_vector(void)
{
	unsigned char sk[AUDIT_SECKEY_LEN];
	struct audit_key vk, sk_pub;
	char out[AUDIT_NOTE_MAX], hex[AUDIT_KEY_ID_HEX], vtext[AUDIT_VKEY_MAX];
	char skey[AUDIT_SKEY_MAX];
	size_t len = 0, tlen = 0;

	CHECK(audit_vkey_parse(go_vkey, strlen(go_vkey), &vk) == 0);
	CHECK_STR(vk.name, "PeterNeumann");
	audit_key_id_hex(&vk, hex);
	CHECK_STR(hex, "c74f20a3");
	CHECK(audit_vkey_format(&vk, vtext, sizeof(vtext)) == 0);
	CHECK_STR(vtext, go_vkey);

	CHECK(audit_skey_parse(go_skey, strlen(go_skey), sk, &sk_pub) == 0);
	CHECK(memcmp(sk_pub.pub, vk.pub, AUDIT_PUBKEY_LEN) == 0);
	CHECK(audit_skey_format("PeterNeumann", sk, skey, sizeof(skey)) == 0);
	CHECK_STR(skey, go_skey);

	/* Ed25519 is deterministic: the note must come out byte for byte */
	CHECK(audit_note_sign(go_text, strlen(go_text), &sk_pub, sk, out,
	          sizeof(out), &len) == 0);
	CHECK(len == strlen(go_note));
	CHECK_STR(out, go_note);
	CHECK(audit_note_open(go_note, strlen(go_note), &vk, &tlen) == 0);
	CHECK(tlen == strlen(go_text));

	/* one changed byte of text or signature breaks it */
	memcpy(out, go_note, sizeof(go_note));
	out[20] ^= 0x20;
	CHECK(audit_note_open(out, strlen(out), &vk, NULL) == PETRI_ERR_CRYPTO);
	memcpy(out, go_note, sizeof(go_note));
	out[strlen(out) - 10] = out[strlen(out) - 10] == 'A' ? 'B' : 'A';
	CHECK(audit_note_open(out, strlen(out), &vk, NULL) == PETRI_ERR_CRYPTO);
	sodium_memzero(sk, sizeof(sk));
}

/* As in Go's TestNewVerifier: every substring or changed byte is rejected. */
static void
test_vkey_manglings(void)
{
	char b[sizeof(go_vkey)];
	struct audit_key k;
	size_t n = strlen(go_vkey), i, j;
	int bad = 0;

	memcpy(b, go_vkey, sizeof(go_vkey));
	for (i = 0; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if ((i != 0 || j != n) &&
			    audit_vkey_parse(b + i, j - i, &k) == 0)
				bad++;
	for (i = 0; i < n; i++) {
		b[i]++;
		if (audit_vkey_parse(b, n, &k) == 0)
			bad++;
		b[i]--;
	}
	CHECK(bad == 0);
	CHECK(audit_vkey_parse(
	          "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
	          "LDE4izWy10TWBADKEY==",
	          72, &k) != 0);
	CHECK(audit_vkey_parse("PeterNeumann+173116ae+"
	                       "ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	          66, &k) != 0);
	CHECK(audit_vkey_parse(go_vkey, n, &k) == 0);
}

static void
test_key_names(void)
{
	CHECK(audit_key_name_valid("petri.example.com/log"));
	CHECK(!audit_key_name_valid(""));
	CHECK(!audit_key_name_valid("a b"));
	CHECK(!audit_key_name_valid("a+b"));
	CHECK(!audit_key_name_valid("a\nb"));
	CHECK(!audit_key_name_valid("caf\xc3\xa9"));
	CHECK(!audit_key_name_valid("a\"b"));
	CHECK(!audit_key_name_valid("a\\b"));
	CHECK(audit_key_name_valid("PeterNeumann"));
	CHECK(audit_key_name_valid("example.com/behind-the-sofa"));
}

static void
test_c2sp_example(void)
{
	struct audit_checkpoint cp;
	struct audit_key k;
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];

	CHECK(audit_checkpoint_parse(c2sp_cp, strlen(c2sp_cp), &cp) == 0);
	CHECK_STR(cp.origin, "example.com/behind-the-sofa");
	CHECK(cp.size == 20852163);
	/* not from our key: a verifier finds no signature by it */
	crypto_sign_keypair(pk, sk);
	CHECK(audit_key_init(&k, "example.com/behind-the-sofa", pk) == 0);
	CHECK(audit_checkpoint_verify(c2sp_cp, strlen(c2sp_cp), &k, &cp) ==
	    PETRI_ERR_NOTFOUND);
}

static void
make_key(
    struct audit_key *k, unsigned char sk[AUDIT_SECKEY_LEN], const char *name)
{
	unsigned char pk[AUDIT_PUBKEY_LEN];

	crypto_sign_keypair(pk, sk);
	if (audit_key_init(k, name, pk) != 0)
		abort();
}

static void
test_checkpoint_roundtrip(void)
{
	struct audit_checkpoint cp, got;
	struct audit_key k, other;
	unsigned char sk[AUDIT_SECKEY_LEN], osk[AUDIT_SECKEY_LEN];
	char note[AUDIT_NOTE_MAX], two[AUDIT_NOTE_MAX];
	char line[AUDIT_NOTE_MAX], *p;
	size_t len, olen;

	make_key(&k, sk, "petri.test/log");
	make_key(&other, osk, "witness.example");
	memset(&cp, 0, sizeof(cp));
	petri_strlcpy(cp.origin, "petri.test/log", sizeof(cp.origin));
	cp.size = 1234567;
	randombytes_buf(cp.root, sizeof(cp.root));
	CHECK(
	    audit_checkpoint_sign(&cp, &k, sk, note, sizeof(note), &len) == 0);
	CHECK(strncmp(note, "petri.test/log\n1234567\n", 23) == 0);
	CHECK(audit_checkpoint_verify(note, len, &k, &got) == 0);
	CHECK_STR(got.origin, cp.origin);
	CHECK(got.size == cp.size);
	CHECK(memcmp(got.root, cp.root, AUDIT_HASH_LEN) == 0);

	/* a cosignature by another key is ignored, ours still verifies */
	CHECK(audit_checkpoint_sign(
	          &cp, &other, osk, two, sizeof(two), &olen) == 0);
	p = strstr(two, "\n\n");
	CHECK(p != NULL);
	snprintf(line, sizeof(line), "%s%s", note, p + 2);
	CHECK(audit_checkpoint_verify(line, strlen(line), &k, &got) == 0);
	CHECK(audit_checkpoint_verify(line, strlen(line), &other, &got) == 0);
	/* signed only by the other key: not ours */
	CHECK(
	    audit_checkpoint_verify(two, olen, &k, &got) == PETRI_ERR_NOTFOUND);
	/* our name, our id, someone else's signature */
	{
		struct audit_key fake = other;
		unsigned char fsk[AUDIT_SECKEY_LEN];

		memcpy(fake.name, k.name, sizeof(k.name));
		memcpy(fake.id, k.id, sizeof(k.id));
		memcpy(fsk, osk, sizeof(fsk));
		CHECK(audit_checkpoint_sign(
		          &cp, &fake, fsk, two, sizeof(two), &olen) == 0);
		CHECK(audit_checkpoint_verify(two, olen, &k, &got) ==
		    PETRI_ERR_CRYPTO);
	}
	/* changed root */
	cp.root[0] ^= 1;
	CHECK(audit_checkpoint_sign(&cp, &k, sk, two, sizeof(two), &olen) == 0);
	memcpy(two + olen - 20, note + len - 20, 20);
	CHECK(audit_checkpoint_verify(two, olen, &k, &got) == PETRI_ERR_CRYPTO);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(osk, sizeof(osk));
}

/* Sign a hand-made body and expect the parser's verdict. */
static int
body_verdict(
    const struct audit_key *k, const unsigned char *sk, const char *body)
{
	struct audit_checkpoint cp;
	char note[AUDIT_NOTE_MAX];
	size_t len;

	if (audit_note_sign(
	        body, strlen(body), k, sk, note, sizeof(note), &len) != 0)
		return 99;
	return audit_checkpoint_verify(note, len, k, &cp);
}

static void
test_checkpoint_rejects(void)
{
	static const char root[] =
	    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
	struct audit_key k;
	struct audit_checkpoint cp;
	unsigned char sk[AUDIT_SECKEY_LEN];
	char body[512], note[AUDIT_NOTE_MAX], bad[AUDIT_NOTE_MAX];
	size_t len, i;

	make_key(&k, sk, "o");
	snprintf(body, sizeof(body), "o\n5\n%s\n", root);
	CHECK(body_verdict(&k, sk, body) == 0);
	snprintf(body, sizeof(body), "o\n5\n%s\nextension line\n", root);
	CHECK(body_verdict(&k, sk, body) == 0);
	snprintf(body, sizeof(body), "o\n0\n%s\n", root);
	CHECK(body_verdict(&k, sk, body) == 0);
	snprintf(body, sizeof(body), "o\n05\n%s\n", root);
	CHECK(body_verdict(&k, sk, body) == PETRI_ERR_INVAL);
	snprintf(body, sizeof(body), "o\n+5\n%s\n", root);
	CHECK(body_verdict(&k, sk, body) == PETRI_ERR_INVAL);
	snprintf(body, sizeof(body), "o\n9223372036854775808\n%s\n", root);
	CHECK(body_verdict(&k, sk, body) == PETRI_ERR_INVAL);
	snprintf(body, sizeof(body), "o\n99999999999999999999\n%s\n", root);
	CHECK(body_verdict(&k, sk, body) == PETRI_ERR_INVAL);
	snprintf(body, sizeof(body), "\n5\n%s\n", root);
	CHECK(body_verdict(&k, sk, body) != 0);
	snprintf(body, sizeof(body),
	    "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n");
	CHECK(body_verdict(&k, sk, body) == PETRI_ERR_INVAL);
	snprintf(body, sizeof(body),
	    "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n");
	CHECK(body_verdict(&k, sk, body) == PETRI_ERR_INVAL);
	snprintf(body, sizeof(body), "o\n5\n");
	CHECK(body_verdict(&k, sk, body) == PETRI_ERR_INVAL);
	snprintf(body, sizeof(body), "o\n5\n%s\r\n", root);
	CHECK(body_verdict(&k, sk, body) == 99);

	snprintf(body, sizeof(body), "o\n5\n%s\n", root);
	CHECK(audit_note_sign(
	          body, strlen(body), &k, sk, note, sizeof(note), &len) == 0);
	/* shape: missing final newline, no blank line, bad prefix */
	CHECK(
	    audit_checkpoint_verify(note, len - 1, &k, &cp) == PETRI_ERR_INVAL);
	memcpy(bad, note, len + 1);
	bad[strlen(body)] = 'x';
	CHECK(audit_checkpoint_verify(bad, len, &k, &cp) == PETRI_ERR_INVAL);
	memcpy(bad, note, len + 1);
	bad[strlen(body) + 1] = '-';
	CHECK(audit_checkpoint_verify(bad, len, &k, &cp) == PETRI_ERR_INVAL);
	/* a NUL or a control character anywhere */
	for (i = 0; i < len; i += 7) {
		memcpy(bad, note, len + 1);
		bad[i] = (char)(i % 2 ? 0x01 : 0x00);
		CHECK(audit_checkpoint_verify(bad, len, &k, &cp) != 0);
	}
	/* stripped signature line */
	CHECK(audit_checkpoint_verify(note, strlen(body) + 1, &k, &cp) ==
	    PETRI_ERR_INVAL);
	/* too many signature lines */
	{
		static const char extra[] = "\xe2\x80\x94 x AAAAAAAA\n";
		size_t blen = len;

		memcpy(bad, note, len);
		for (i = 0; i < AUDIT_NOTE_MAX_SIGS; i++) {
			memcpy(bad + blen, extra, sizeof(extra) - 1);
			blen += sizeof(extra) - 1;
		}
		CHECK(audit_checkpoint_verify(bad, blen, &k, &cp) ==
		    PETRI_ERR_INVAL);
		/* one fewer is still a note: ours verifies, others ignored */
		blen -= sizeof(extra) - 1;
		CHECK(audit_checkpoint_verify(bad, blen, &k, &cp) == 0);
	}
	CHECK(audit_checkpoint_verify(note, AUDIT_NOTE_MAX + 1, &k, &cp) ==
	    PETRI_ERR_TOOBIG);
	/* invalid UTF-8 */
	memcpy(bad, note, len + 1);
	bad[0] = (char)0xc0;
	CHECK(audit_checkpoint_verify(bad, len, &k, &cp) == PETRI_ERR_INVAL);
	sodium_memzero(sk, sizeof(sk));
}

static void
test_b64(void)
{
	unsigned char out[4];
	char enc[AUDIT_B64_LEN(4)];

	CHECK(audit_b64_encode("\x01\x02\x03\x04", 4, enc, sizeof(enc)) == 0);
	CHECK_STR(enc, "AQIDBA==");
	CHECK(audit_b64_decode("AQIDBA==", 8, out, 4) == 0);
	CHECK(memcmp(out, "\x01\x02\x03\x04", 4) == 0);
	CHECK(audit_b64_decode("AQIDBB==", 8, out, 4) != 0);
	CHECK(audit_b64_decode("AQIDBA=", 7, out, 4) != 0);
	CHECK(audit_b64_decode("AQIDBA==", 8, out, 3) != 0);
	CHECK(audit_b64_decode("AQID BA=", 8, out, 4) != 0);
	CHECK(audit_b64_encode("\x01\x02\x03\x04", 4, enc, 8) ==
	    PETRI_ERR_TOOBIG);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	UNIT_RUN(test_go_vector);
	UNIT_RUN(test_vkey_manglings);
	UNIT_RUN(test_key_names);
	UNIT_RUN(test_c2sp_example);
	UNIT_RUN(test_checkpoint_roundtrip);
	UNIT_RUN(test_checkpoint_rejects);
	UNIT_RUN(test_b64);
	return UNIT_DONE();
}
