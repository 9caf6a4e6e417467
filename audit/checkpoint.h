/*
 * checkpoint.h: C2SP signed notes (c2sp.org/signed-note), transparency log
 * checkpoints (c2sp.org/tlog-checkpoint) and note keys (vkey/skey text).
 *
 *   <origin>\n<size>\n<base64 root>\n[extension lines]
 *   \n
 *   — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\n
 *
 * The key id is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || pubkey);
 * the signature covers the note text up to and including its last newline.
 * Parsers are strict and bounded (AUDIT_NOTE_MAX bytes, AUDIT_NOTE_MAX_SIGS
 * signature lines); no I/O.
 */
#ifndef PETRI_AUDIT_CHECKPOINT_H
#define PETRI_AUDIT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "audit_bounds.h"
#include "merkle.h"
#include "petri_err.h"

#define AUDIT_KEY_ID_LEN 4
#define AUDIT_PUBKEY_LEN 32 /* Ed25519 public key */
#define AUDIT_SECKEY_LEN 64 /* libsodium Ed25519 secret key (seed||pub) */
#define AUDIT_SEED_LEN 32
#define AUDIT_SIG_LEN 64 /* Ed25519 signature */
#define AUDIT_KEY_ID_HEX 9 /* 8 hex digits + NUL */
#define AUDIT_SKEY_MAX 256
#define AUDIT_NOTE_SIG_MAX 256 /* decoded bytes of one signature line */

/* A note verifier key: name, Ed25519 public key and the derived key id. */
struct audit_key {
	char name[AUDIT_ORIGIN_MAX + 1];
	unsigned char pub[AUDIT_PUBKEY_LEN];
	unsigned char id[AUDIT_KEY_ID_LEN];
};

/* A checkpoint body (extension lines are accepted and ignored). */
struct audit_checkpoint {
	char origin[AUDIT_ORIGIN_MAX + 1];
	uint64_t size;
	unsigned char root[AUDIT_HASH_LEN];
};

/*
 * Returns 1 when name may name a note key or a log: 1..AUDIT_ORIGIN_MAX
 * characters of [A-Za-z0-9._~:/-] (a subset of what C2SP allows, so that
 * a name never needs escaping).  Else 0.
 */
int audit_key_name_valid(const char *name);

/* id = first 4 bytes of SHA-256(name || 0x0A || 0x01 || pub). */
void audit_key_id(const char *name, const unsigned char pub[AUDIT_PUBKEY_LEN],
    unsigned char id[AUDIT_KEY_ID_LEN]);

/* Fills k from a name and public key.  Returns 0 or PETRI_ERR_INVAL. */
int audit_key_init(struct audit_key *k, const char *name,
    const unsigned char pub[AUDIT_PUBKEY_LEN]) PETRI_WUR;

/* Writes the key id as 8 lowercase hex digits and a NUL. */
void audit_key_id_hex(const struct audit_key *k, char out[AUDIT_KEY_ID_HEX]);

/*
 * Writes "<name>+<hex id>+<base64(0x01 || pub)>" (no newline) into out.
 * Returns 0 or PETRI_ERR_TOOBIG.
 */
int audit_vkey_format(
    const struct audit_key *k, char *out, size_t outlen) PETRI_WUR;

/*
 * Parses a verifier key of exactly len bytes (no newline), checking the
 * algorithm byte, the key length and that the id matches.
 * Returns 0 or PETRI_ERR_INVAL.
 */
int audit_vkey_parse(const char *s, size_t len, struct audit_key *k) PETRI_WUR;

/*
 * Writes the signer key "PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>"
 * (Go's golang.org/x/mod/sumdb/note format, no newline).  The caller wipes
 * out after use.  Returns 0, PETRI_ERR_INVAL or PETRI_ERR_TOOBIG.
 */
int audit_skey_format(const char *name,
    const unsigned char seed[AUDIT_SEED_LEN], char *out,
    size_t outlen) PETRI_WUR;

/*
 * Parses a signer key of exactly len bytes into its name, the Ed25519
 * secret key (seed || pub) and verifier key k; checks the id.  Wipes its
 * temporaries.  Returns 0 or PETRI_ERR_INVAL.
 */
int audit_skey_parse(const char *s, size_t len,
    unsigned char sk[AUDIT_SECKEY_LEN], struct audit_key *k) PETRI_WUR;

/*
 * Signs note text (text_len bytes ending in '\n') with key k / secret key
 * sk and writes text, blank line and one signature line into out
 * (NUL-terminated; *lenp gets the length without the NUL).
 * Returns 0, PETRI_ERR_INVAL or PETRI_ERR_TOOBIG.
 */
int audit_note_sign(const char *text, size_t text_len,
    const struct audit_key *k, const unsigned char sk[AUDIT_SECKEY_LEN],
    char *out, size_t outlen, size_t *lenp) PETRI_WUR;

/*
 * Opens a signed note of len bytes: checks its shape (UTF-8, no control
 * characters but newline, text, blank line, 1..AUDIT_NOTE_MAX_SIGS lines
 * "— <name> <base64>") and, when k is not NULL, requires a valid signature
 * by k.  Signature lines from other keys are ignored.  *text_len gets the
 * length of the signed text.
 * Returns 0; PETRI_ERR_INVAL (malformed) or PETRI_ERR_TOOBIG; with a key,
 * PETRI_ERR_NOTFOUND when no line is from k, PETRI_ERR_CRYPTO when a line
 * from k does not verify.
 */
int audit_note_open(const char *note, size_t len, const struct audit_key *k,
    size_t *text_len) PETRI_WUR;

/*
 * Formats cp as a checkpoint body and signs it (see audit_note_sign).
 * Returns 0, PETRI_ERR_INVAL or PETRI_ERR_TOOBIG.
 */
int audit_checkpoint_sign(const struct audit_checkpoint *cp,
    const struct audit_key *k, const unsigned char sk[AUDIT_SECKEY_LEN],
    char *out, size_t outlen, size_t *lenp) PETRI_WUR;

/*
 * Parses a signed checkpoint without checking signatures: note shape, then
 * origin line, size (decimal, no leading zero, <= AUDIT_MERKLE_MAX_SIZE),
 * canonical base64 of 32 bytes, non-empty extension lines.
 * Returns 0 or PETRI_ERR_INVAL / PETRI_ERR_TOOBIG.
 */
int audit_checkpoint_parse(
    const char *note, size_t len, struct audit_checkpoint *cp) PETRI_WUR;

/*
 * audit_checkpoint_parse() plus a valid signature by k (see
 * audit_note_open for the codes).  cp is filled only on success.
 */
int audit_checkpoint_verify(const char *note, size_t len,
    const struct audit_key *k, struct audit_checkpoint *cp) PETRI_WUR;

/*
 * Cosigner keys (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1): the
 * same text forms as the log's keys, with the algorithm byte 0x04 in the
 * key id hash and in the encoded key.  A witness's key is never a log's.
 */

/* As audit_key_init, with a cosigner key id. */
int audit_cosigner_key_init(struct audit_key *k, const char *name,
    const unsigned char pub[AUDIT_PUBKEY_LEN]) PETRI_WUR;

/* As audit_vkey_format / _parse, for a cosigner verifier key. */
int audit_cosigner_vkey_format(
    const struct audit_key *k, char *out, size_t outlen) PETRI_WUR;
int audit_cosigner_vkey_parse(
    const char *s, size_t len, struct audit_key *k) PETRI_WUR;

/* As audit_skey_format / _parse, for a cosigner signer key. */
int audit_cosigner_skey_format(const char *name,
    const unsigned char seed[AUDIT_SEED_LEN], char *out,
    size_t outlen) PETRI_WUR;
int audit_cosigner_skey_parse(const char *s, size_t len,
    unsigned char sk[AUDIT_SECKEY_LEN], struct audit_key *k) PETRI_WUR;

/*
 * Decodes canonical standard base64 (with padding) of exactly outlen
 * bytes (outlen <= AUDIT_NOTE_SIG_MAX).  Returns 0 or PETRI_ERR_INVAL.
 */
int audit_b64_decode(
    const char *s, size_t len, unsigned char *out, size_t outlen) PETRI_WUR;

/*
 * Encodes n bytes as standard base64 with padding into out (size >=
 * AUDIT_B64_LEN(n)).  Returns 0 or PETRI_ERR_TOOBIG.
 */
#define AUDIT_B64_LEN(n) ((((n) + 2) / 3) * 4 + 1)
int audit_b64_encode(
    const void *in, size_t n, char *out, size_t outlen) PETRI_WUR;

#endif /* PETRI_AUDIT_CHECKPOINT_H */
