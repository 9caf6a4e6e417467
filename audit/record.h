/*
 * record.h: the audit record format (docs/audit-format.md).
 *
 * A record is compact UTF-8 JSON, one object, produced only by the keeper.
 * Its integrity fields come first, in this order:
 *
 *   {"v":1,"origin":"<log>","seq":N,"prev":"<64 hex>","type":"<a.b>",
 *    "id":"rec_...","time":"<RFC 3339 us UTC>","clock":"system", ...event}
 *
 * then the event's own fields in the order the caller inserted them.
 * Verifiers hash the stored bytes and never re-serialise:
 *
 *   leaf hash  h(seq) = SHA-256(0x00 || record bytes)   (RFC 9162 leaf)
 *   prev       h(seq - 1), or 64 zeros for seq 0
 *   signature  Ed25519 over the 32-byte h(seq), 64 bytes, kept beside
 *              the record (never inside it)
 *
 * Blob references: anywhere inside the event, an object with a member
 * "blob" is a reference to a content-addressed blob, and then must be
 *
 *   {"sha256":"<64 lowercase hex of the blob bytes>","size":N,"blob":true}
 *
 * ("size" optional but always written by audit_blob_ref_new(); other
 * members such as "truncated" may sit beside them).  The member name
 * "blob" is reserved for this use in every event.  The record bytes never
 * contain a raw newline (0x0A) or carriage return (0x0D).
 *
 * Pure: no I/O.  jansson objects keep insertion order, which is what gives
 * the event fields their order.
 */
#ifndef PETRI_AUDIT_RECORD_H
#define PETRI_AUDIT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit_bounds.h"
#include "checkpoint.h"
#include "merkle.h"
#include "petri_err.h"
#include "util.h"

#define AUDIT_RECORD_VERSION 1
#define AUDIT_RECORD_CLOCK "system"
#define AUDIT_RECORD_ID_PREFIX "rec_"

/* Event types the audit store itself writes. */
#define AUDIT_TYPE_LOG_STARTED "log.started"
#define AUDIT_TYPE_KEY_ROTATED "log.key_rotated"
#define AUDIT_TYPE_BLOB_DELETED "blob.deleted"

/* The integrity fields of a parsed record, and the whole record as JSON. */
struct audit_record {
	uint64_t seq;
	unsigned char prev[AUDIT_HASH_LEN];
	char origin[AUDIT_ORIGIN_MAX + 1];
	char type[AUDIT_TYPE_MAX + 1];
	char id[AUDIT_ID_MAX + 1];
	char time[PETRI_TIME_MAX];
	int64_t time_usec;
	char clock[AUDIT_CLOCK_MAX + 1];
	json_t *json; /* owned; the whole record */
};

/* Returns 1 when type is "<word>.<word>[.<word>...]" of [a-z0-9_], else 0. */
int audit_record_type_valid(const char *type);

/*
 * Returns 1 when s[0..len) is 1..max characters of [a-z0-9_-] (and A-Z when
 * upper): the shape of "id" (upper) and "clock".  Else 0.
 */
int audit_record_token_valid(const char *s, size_t len, size_t max, int upper);

/* Returns 1 when s[0..len) is exactly 64 lowercase hex digits, else 0. */
int audit_record_hex64_valid(const char *s, size_t len);

/*
 * Builds the exact bytes of record seq: integrity fields, then every field
 * of event (a JSON object, not modified) in its order.  id NULL makes a
 * fresh "rec_..." id; time_usec <= 0 means now.  *out gets the bytes
 * (NUL-terminated, caller frees with free()), *lenp their length.
 * Same as audit_record_event_dump() then audit_record_build_dumped().
 * Returns 0; PETRI_ERR_INVAL when origin, type or event is malformed (an
 * event key that is an integrity field, a bad blob reference, nesting past
 * AUDIT_RECORD_MAX_DEPTH); PETRI_ERR_TOOBIG past AUDIT_RECORD_MAX;
 * PETRI_ERR_NOMEM.
 */
int audit_record_build(const char *origin, uint64_t seq,
    const unsigned char prev[AUDIT_HASH_LEN], const char *type, const char *id,
    int64_t time_usec, json_t *event, char **out, size_t *lenp) PETRI_WUR;

/*
 * Checks an event (see audit_record_build) and writes it as compact JSON,
 * "{...}", into *out (NUL-terminated, caller frees with free()).  The
 * expensive half of building a record, independent of seq and prev.
 * Returns 0, PETRI_ERR_INVAL, PETRI_ERR_TOOBIG or PETRI_ERR_NOMEM.
 */
int audit_record_event_dump(json_t *event, char **out, size_t *lenp) PETRI_WUR;

/*
 * Builds record bytes from an event dumped by audit_record_event_dump()
 * (ev, evlen bytes): the integrity fields, then the event's members.
 * Returns as audit_record_build().
 */
int audit_record_build_dumped(const char *origin, uint64_t seq,
    const unsigned char prev[AUDIT_HASH_LEN], const char *type, const char *id,
    int64_t time_usec, const char *ev, size_t evlen, char **out,
    size_t *lenp) PETRI_WUR;

/*
 * Parses record bytes strictly: at most AUDIT_RECORD_MAX bytes, '{' first
 * and '}' last, no raw CR/LF, valid UTF-8 JSON without duplicate keys, the
 * integrity fields first in the order above with their types and formats,
 * valid blob references, nesting at most AUDIT_RECORD_MAX_DEPTH.
 * On success rec owns the parsed JSON (free with audit_record_clear()).
 * Returns 0, PETRI_ERR_TOOBIG or PETRI_ERR_INVAL; when err is not NULL it
 * gets a short reason (static string).
 */
int audit_record_parse(const void *bytes, size_t len, struct audit_record *rec,
    const char **err) PETRI_WUR;

/* Releases what audit_record_parse() allocated; safe to call twice. */
void audit_record_clear(struct audit_record *rec);

/*
 * Calls fn(arg, sha256_hex, size) for each blob reference in a record or
 * event, depth first in document order (size -1 when absent); stops at and
 * returns the first non-zero result of fn.  Returns 0, that result, or
 * PETRI_ERR_INVAL for a malformed reference or nesting past the limit.
 */
int audit_record_blob_refs(json_t *json,
    int (*fn)(void *arg, const char *sha256_hex, int64_t size),
    void *arg) PETRI_WUR;

/*
 * A new blob reference {"sha256":..,"size":..,"blob":true}; add further
 * members with json_object_set_new().  Returns NULL for a malformed hash or
 * on allocation failure.  Caller owns the reference (json_decref()).
 */
json_t *audit_blob_ref_new(const char *sha256_hex, uint64_t size);

/* leaf = SHA-256(0x00 || bytes). */
void audit_record_leaf(
    const void *bytes, size_t len, unsigned char leaf[AUDIT_HASH_LEN]);

/* sig = Ed25519(sk, leaf): the per-record signature. */
void audit_record_sign(const unsigned char leaf[AUDIT_HASH_LEN],
    const unsigned char sk[AUDIT_SECKEY_LEN], unsigned char sig[AUDIT_SIG_LEN]);

/* Returns 0 when sig is pub's signature of leaf, else PETRI_ERR_CRYPTO. */
int audit_record_sig_verify(const unsigned char leaf[AUDIT_HASH_LEN],
    const unsigned char sig[AUDIT_SIG_LEN],
    const unsigned char pub[AUDIT_PUBKEY_LEN]) PETRI_WUR;

#endif /* PETRI_AUDIT_RECORD_H */
