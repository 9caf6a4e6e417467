/*
 * path.h: request path normalisation and path-prefix matching.
 *
 * Path rules are decided on a normalised path, never on the raw target:
 *  1. the query ('?' and after) is cut off: it is never part of matching;
 *  2. percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are
 *     decoded, so "%2e%2e" is "..", and every other escape is kept with
 *     upper-case hex digits;
 *  3. refused: an encoded '/', '\\', '%', ';' or control character
 *     ("%2f", "%5c", "%25", "%3b", "%00"...), a raw ';' (path parameters,
 *     which servlet containers strip and others do not), a raw '\\', '#',
 *     bytes outside the RFC 3986 pchar set, malformed escapes;
 *  4. empty segments are removed ("//" is "/"), then dot segments (RFC 3986
 *     5.2.4): collapsing first means ".." climbs at least as far as any
 *     server's reading would, so a path that still lies under a prefix
 *     does so for every reading;
 *  5. case is kept: matching is case-sensitive.
 * A path that cannot be normalised matches no rule that has paths.  The proxy
 * forwards the normalised path (with the original query) upstream.
 * Pure: no I/O, no globals.
 */
#ifndef PETRI_PATH_H
#define PETRI_PATH_H

#include <stddef.h>

#include "petri_err.h"
#include "policy_bounds.h"

/*
 * Normalises the path of an origin-form request target (len bytes, no NUL
 * needed; "" is "/") into out, NUL-terminated.  The result is never longer
 * than the input (or 1 byte for ""), so outsz > len is enough.  On error
 * out is "" and *why (when why is not NULL) names the problem in static
 * text.  Returns 0, PETRI_ERR_INVAL (malformed or refused),
 * PETRI_ERR_TOOBIG (len > POLICY_REQ_PATH_MAX or outsz <= len).
 */
int path_normalize(const char *target, size_t len, char *out, size_t outsz,
    const char **why) PETRI_WUR;

/*
 * Returns 1 when the normalised path lies under prefix on a segment
 * boundary: a prefix ending in '/' matches every path that starts with it
 * ("/v1/" matches "/v1/x", not "/v1"); any other prefix matches itself and
 * what lies below it ("/v1" matches "/v1" and "/v1/x", not "/v10").
 * Returns 0 otherwise, and for NULL or empty arguments.
 */
int path_prefix_match(const char *prefix, const char *path) PETRI_WUR;

#endif /* PETRI_PATH_H */
