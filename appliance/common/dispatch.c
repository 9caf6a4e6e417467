/* dispatch.c: a receiver's handler table (dispatch.h). */
#include <stdarg.h>
#include <stdio.h>

#include "dispatch.h"
#include "log.h"
#include "petri_err.h"

const struct dispatch_entry *
dispatch_find(
    const struct dispatch_entry *t, size_t n, uint32_t type, unsigned int peer)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].type == type && (t[i].peers & peer) != 0)
			return &t[i];
	return NULL;
}

const struct dispatch_entry *
dispatch_get(const struct dispatch_entry *t, size_t n, const char *receiver,
    const char *peer_name, unsigned int peer, const struct ipc_msg *m)
{
	const struct dispatch_entry *d = dispatch_find(t, n, m->type, peer);

	if (d == NULL)
		fatal("%s: message type %u from %s has no handler", receiver,
		    m->type, peer_name);
	return d;
}

int
dispatch_check(const struct dispatch_entry *t, size_t n, unsigned int peer,
    const struct ipc_permit *permits, size_t npermits, uint32_t *bad)
{
	size_t i, j;

	for (i = 0; i < npermits; i++)
		if (dispatch_find(t, n, permits[i].type, peer) == NULL) {
			*bad = permits[i].type;
			return PETRI_ERR_INVAL;
		}
	for (i = 0; i < n; i++) {
		if ((t[i].peers & peer) == 0)
			continue;
		for (j = 0; j < npermits; j++)
			if (permits[j].type == t[i].type)
				break;
		if (j == npermits) {
			*bad = t[i].type;
			return PETRI_ERR_INVAL;
		}
	}
	return 0;
}

void
dispatch_require(const struct dispatch_entry *t, size_t n, const char *receiver,
    const char *peer_name, unsigned int peer, const struct ipc_permit *permits,
    size_t npermits)
{
	uint32_t bad = 0;

	if (dispatch_check(t, n, peer, permits, npermits, &bad) != 0)
		fatal("%s: the permit table from %s and the handler table "
		      "disagree on message type %u",
		    receiver, peer_name, bad);
}

int
dispatch_vread(
    const json_t *j, char *err, size_t errlen, const char *fmt, va_list ap)
{
	json_error_t je;

	if (j == NULL ||
	    json_vunpack_ex((json_t *)j, &je, JSON_STRICT, fmt, ap) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s",
			    j == NULL ? "no object" : je.text);
		return PETRI_ERR_PROTO;
	}
	return 0;
}

void
dispatch_read(
    const struct ipc_msg *m, const char *receiver, const char *fmt, ...)
{
	char why[JSON_ERROR_TEXT_LENGTH];
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = dispatch_vread(m->json, why, sizeof(why), fmt, ap);
	va_end(ap);
	if (e != 0)
		dispatch_malformed(m, receiver, why);
}

void
dispatch_malformed(
    const struct ipc_msg *m, const char *receiver, const char *why)
{
	fatal("%s: malformed message type %u: %s", receiver, m->type, why);
}

void
dispatch_ignore(void *ctx, struct ipc_msg *m)
{
	(void)ctx;
	(void)m;
}
