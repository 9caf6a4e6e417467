/*
 * tsa.h: RFC 3161 trusted timestamps of checkpoints, with OpenSSL's TS
 * API.  What is timestamped is the SHA-256 of the checkpoint's body (the
 * note text up to and including its last newline, no signature lines),
 * so the token binds the tree head, not any one set of signatures.
 *
 * The keeper asks a configured TSA (HTTP POST application/timestamp-query)
 * and keeps the token (the TimeStampToken, DER CMS SignedData) once it
 * verifies against the TSA's certificate; bundles carry it as
 * timestamps/<size>.tsr and petri-verify --tsa-cert checks it again.
 * No network code here.
 */
#ifndef PETRI_AUDIT_TSA_H
#define PETRI_AUDIT_TSA_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "petri_err.h"

#define AUDIT_TSA_TOKEN_MAX (64 * 1024) /* one token, DER */
#define AUDIT_TSA_REPLY_MAX (64 * 1024)

/*
 * The digest a checkpoint's timestamp covers: SHA-256 of the note text
 * (audit_note_open's text_len bytes).  Returns 0 or PETRI_ERR_INVAL.
 */
int audit_tsa_digest(
    const char *note, size_t len, unsigned char out[AUDIT_HASH_LEN]) PETRI_WUR;

/*
 * A DER TimeStampReq for digest (SHA-256), asking for the TSA's
 * certificate, with a fresh random nonce (*nonce).  *der is malloc'd;
 * caller frees.  Returns 0 or PETRI_ERR_NOMEM.
 */
int audit_tsa_request(const unsigned char digest[AUDIT_HASH_LEN],
    unsigned char **der, size_t *len, uint64_t *nonce) PETRI_WUR;

/*
 * Checks a DER TimeStampResp: granted, signed by a certificate that
 * chains to ca_file (a PEM file) with extendedKeyUsage timeStamping, for
 * digest and nonce.  On success *token gets the DER token (malloc'd) and
 * *gen_time its genTime (POSIX seconds).  Returns 0, PETRI_ERR_INVAL
 * (malformed, not granted), PETRI_ERR_CRYPTO (does not verify), _IO
 * (ca_file unreadable) or _NOMEM.
 */
int audit_tsa_reply_check(const unsigned char *der, size_t len,
    const unsigned char digest[AUDIT_HASH_LEN], uint64_t nonce,
    const char *ca_file, unsigned char **token, size_t *toklen,
    int64_t *gen_time) PETRI_WUR;

/*
 * Verifies a DER token (as stored) for digest against ca_file.
 * *gen_time gets its genTime.  Returns 0, PETRI_ERR_INVAL, _CRYPTO, _IO or
 * _NOMEM.
 */
int audit_tsa_token_verify(const unsigned char *token, size_t len,
    const unsigned char digest[AUDIT_HASH_LEN], const char *ca_file,
    int64_t *gen_time) PETRI_WUR;

#endif /* PETRI_AUDIT_TSA_H */
