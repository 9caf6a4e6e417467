/*
 * ca.h: the TLS interception CA of the keeper process.
 *
 * An EC P-256 CA key and a self-signed CA certificate (basicConstraints
 * critical CA:TRUE, pathlen:0; keyUsage critical keyCertSign, cRLSign;
 * subject and authority key identifiers; valid CA_ROOT_DAYS) are created at
 * first start in the keeper's keys directory: ca.key (PKCS#8 PEM, 0600) and
 * ca.pem (the certificate, 0644: containers trust it).  The key never
 * leaves the keeper.  No nameConstraints: the hosts a CA must sign for
 * follow the policies, which change without a new CA; containers trust
 * this CA for nothing but the proxy's leaves anyway.
 *
 * Leaves (ca_issue_leaf()): EC P-256 public key of the caller, one host as
 * SAN (dNSName, or iPAddress for an IP literal), subject CN = the host when
 * it fits in 64 bytes (else an empty subject and a critical SAN), random
 * 128-bit serial, notBefore CA_LEAF_BACKDATE_SEC back, notAfter `days`
 * ahead (never past the CA's), basicConstraints critical CA:FALSE, keyUsage
 * critical digitalSignature, extendedKeyUsage serverAuth, subject and
 * authority key identifiers, signed ECDSA-SHA256.
 *
 * IPC form: the proxy keeps its own leaf key pair and sends the keeper the
 * DER SubjectPublicKeyInfo of the public key and the host; the keeper
 * answers the DER certificate (ca_issue_leaf_der()).
 *
 * A struct ca is read-only after it is made: issuing from several threads
 * at once is safe.
 */
#ifndef PETRI_CA_H
#define PETRI_CA_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "host.h"
#include "petri_err.h"
#include "vault_bounds.h"

struct ca;

/*
 * Opens the CA in dir (created 0700 when absent): loads dir/ca.key and
 * dir/ca.pem, or creates both when neither exists.  When ca.key exists
 * without ca.pem (a crash between the two writes) the certificate is made
 * again from the key; ca.pem without ca.key is refused (remove ca.pem to
 * start a new CA).  ca.key must be a regular file (no symlink) owned by the
 * effective uid, mode at most 0600.  The loaded pair must be an EC P-256
 * CA certificate that signs itself, matches the key and is valid now.
 * Caller frees with ca_free().  Returns 0, PETRI_ERR_PERM (key file mode or
 * owner), PETRI_ERR_STATE (ca.pem without ca.key, expired CA),
 * PETRI_ERR_CRYPTO (malformed or mismatched files), PETRI_ERR_TOOBIG,
 * PETRI_ERR_IO, PETRI_ERR_NOMEM, PETRI_ERR_INVAL.
 */
int ca_open(const char *dir, struct ca **out) PETRI_WUR;

/*
 * Creates a CA that lives in memory only (tests, fuzzing).  Caller frees
 * with ca_free().  Returns 0, PETRI_ERR_CRYPTO or PETRI_ERR_NOMEM.
 */
int ca_ephemeral_new(struct ca **out) PETRI_WUR;

/* Frees a CA (OpenSSL clears the key's memory).  NULL is a no-op. */
void ca_free(struct ca *ca);

/* The CA certificate; owned by ca, valid until ca_free(). */
X509 *ca_cert(const struct ca *ca);

/*
 * Writes the CA certificate as PEM into *out (caller frees with free()),
 * *lenp bytes, NUL-terminated.  Returns 0, PETRI_ERR_CRYPTO or _NOMEM.
 */
int ca_cert_pem(const struct ca *ca, char **out, size_t *lenp) PETRI_WUR;

/*
 * Parses the len bytes of a DER SubjectPublicKeyInfo that must be an EC
 * P-256 public key, named curve, uncompressed point on the curve, nothing
 * else and nothing after it (CA_SPKI_P256_LEN bytes).  On success *out is
 * the key (caller frees with EVP_PKEY_free()).  Returns 0,
 * PETRI_ERR_UNSUPPORTED (another well-formed key type or curve, or a
 * compressed point), PETRI_ERR_INVAL (malformed) or PETRI_ERR_NOMEM.
 */
int ca_spki_parse(
    const unsigned char *der, size_t len, EVP_PKEY **out) PETRI_WUR;

/*
 * Checks that host (NUL-terminated) is a canonical host a leaf may name:
 * host_canon() gives it back unchanged (lower case, no trailing dot, no
 * brackets, IP literals in addr_format() form), and it is not a name
 * addr_name_is_denied() refuses.  Fills *out (may be NULL).  Returns 0,
 * PETRI_ERR_INVAL (malformed or not canonical), PETRI_ERR_PERM (always
 * denied) or PETRI_ERR_TOOBIG.
 */
int ca_host_check(const char *host, struct host *out) PETRI_WUR;

/*
 * Issues a leaf for host (ca_host_check()) and the EC P-256 public key of
 * leaf_pub (only its public half is used) valid for days (1 to
 * CA_LEAF_MAX_DAYS).  *out is the certificate (caller frees with
 * X509_free()).  Returns 0, PETRI_ERR_INVAL, PETRI_ERR_PERM,
 * PETRI_ERR_TOOBIG, PETRI_ERR_UNSUPPORTED (not a P-256 key),
 * PETRI_ERR_STATE (the CA has expired), PETRI_ERR_CRYPTO or
 * PETRI_ERR_NOMEM.
 */
int ca_issue_leaf(struct ca *ca, const char *host, EVP_PKEY *leaf_pub, int days,
    X509 **out) PETRI_WUR;

/*
 * The IPC form of ca_issue_leaf(): the public key is the len bytes of a
 * DER SubjectPublicKeyInfo (ca_spki_parse()), the validity CA_LEAF_DAYS,
 * and the answer the DER certificate in *out (caller frees with free()),
 * *outlen bytes.  Returns as ca_issue_leaf().
 */
int ca_issue_leaf_der(struct ca *ca, const char *host,
    const unsigned char *spki, size_t len, unsigned char **out,
    size_t *outlen) PETRI_WUR;

#endif /* PETRI_CA_H */
