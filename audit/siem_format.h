/*
 * siem_format.h: how one audit record leaves Petri for a SIEM (pure: no
 * I/O, no globals).  Field mappings and example lines: docs/siem.md.
 *
 * A record is rendered in one of four formats, then framed for its sink:
 *
 *   json  {"origin","seq","type","time","leaf_hash","signature","key_id",
 *          "record":<the stored record bytes, verbatim, last member>}
 *   cef   CEF:0|Petri|petri|<version>|<type>|<name>|<severity>|<ext...>
 *   ocsf  OCSF 1.4 event: Process Activity 1007 / Script Activity 1009
 *         (exec.*, install.*), HTTP Activity 4002 (egress.*, net.*,
 *         secret.released), API Activity 6003 (everything else)
 *   ecs   Elastic Common Schema 8.11 document
 *
 * Every rendering carries origin, seq, leaf hash, signature and key id.
 * A rendering longer than the sink's max_event is replaced by a summary
 * (no raw record, strings capped at SIEM_SUMMARY_STR bytes) and, if still
 * too long, by the minimal event (integrity fields only), which always
 * fits in SIEM_EVENT_MIN bytes.  A record that does not parse (it never
 * happens with the keeper's own records) is rendered as a minimal event
 * with type "invalid" so that the seq still reaches the SIEM: no gaps.
 *
 * Frames:
 *   line    the event and "\n" (file sink, JSON Lines)
 *   syslog  RFC 6587 octet counting around an RFC 5424 message:
 *           "<len> <PRI>1 <time> <host> <app> - <type>
 *            [petri@32473 seq=".." hash=".." origin=".." sig=".."
 *            key=".."] <event>"
 *   hec     Splunk HEC {"time","host","source","sourcetype"[,"index"],
 *           "fields":{..},"event":<event>} and "\n"
 *   item    the event as one JSON value (webhook array member; a CEF
 *           line becomes a JSON string)
 */
#ifndef PETRI_SIEM_FORMAT_H
#define PETRI_SIEM_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "petri_err.h"

/* Limits of the renderings (see siem_bounds in docs/siem.md). */
#define SIEM_EVENT_MIN 4096 /* smallest max_event a sink may set */
#define SIEM_EVENT_MAX (8UL << 20) /* largest max_event */
#define SIEM_SUMMARY_STR 128 /* bytes of a string in a summary */
#define SIEM_FULL_ARGV 256 /* argv members rendered (= API_MAX_ARGV) */
#define SIEM_SUMMARY_ARGV 8 /* argv members in a summary */
#define SIEM_HOSTNAME_MAX 255 /* RFC 5424 HOSTNAME */
#define SIEM_APPNAME_MAX 48 /* RFC 5424 APP-NAME */
#define SIEM_MSGID_MAX 32 /* RFC 5424 MSGID */
#define SIEM_HEC_FIELD_MAX 128 /* host, source, sourcetype, index */
#define SIEM_SD_ID "petri@32473" /* structured data id (IANA PEN 32473) */
#define SIEM_VERSION "0.1.0" /* product version when a record has none */
#define SIEM_OCSF_VERSION "1.4.0"
#define SIEM_ECS_VERSION "8.11.0"

enum siem_format {
	SIEM_FORMAT_JSON = 0,
	SIEM_FORMAT_CEF,
	SIEM_FORMAT_OCSF,
	SIEM_FORMAT_ECS,
};

enum siem_frame {
	SIEM_FRAME_LINE = 0,
	SIEM_FRAME_SYSLOG,
	SIEM_FRAME_HEC,
	SIEM_FRAME_ITEM,
};

/* What siem_format_record() wrote. */
#define SIEM_RENDER_FULL 0
#define SIEM_RENDER_SUMMARY 1
#define SIEM_RENDER_MINIMAL 2

/* One stored record as a sink sees it (nothing owned). */
struct siem_event {
	uint64_t seq;
	const unsigned char *bytes; /* the record, len bytes */
	size_t len;
	const unsigned char *leaf; /* 32-byte leaf hash */
	const unsigned char *sig; /* 64-byte Ed25519 signature */
	const char *key_id; /* 8 hex digits of the signing key */
	const char *origin; /* the log's origin */
};

/* How a sink renders and frames its events (nothing owned). */
struct siem_fmt_ctx {
	enum siem_format format;
	enum siem_frame frame;
	size_t max_event; /* bytes of one rendered event, >= SIEM_EVENT_MIN */
	/* syslog */
	int facility; /* 0..23 */
	const char *hostname; /* RFC 5424 HOSTNAME; NULL or "" writes "-" */
	const char *app_name; /* NULL: "petri" */
	/* hec */
	const char *hec_host; /* NULL: hostname, else omitted */
	const char *hec_source; /* NULL: "petri:<origin>" */
	const char *hec_sourcetype; /* NULL: "petri:<format>" */
	const char *hec_index; /* NULL: omitted (the token's default) */
};

/*
 * Maps a format name ("json", "cef", "ocsf", "ecs") to its value.
 * Returns the format or PETRI_ERR_INVAL.
 */
int siem_format_from_name(const char *name);

/* The name of a format ("json", ...); "?" when out of range. */
const char *siem_format_name(enum siem_format f);

/*
 * Renders ev as c->format, framed as c->frame, and appends it to out.
 * scratch (may be NULL) is a work buffer kept between calls to spare an
 * allocation per record; its contents are not kept.  Returns
 * SIEM_RENDER_FULL, _SUMMARY or _MINIMAL (what fitted in c->max_event),
 * or PETRI_ERR_INVAL (a bad context), _TOOBIG (out's maximum) or _NOMEM;
 * on error out is left as it was.
 */
int siem_format_record(const struct siem_fmt_ctx *c,
    const struct siem_event *ev, struct buf *scratch,
    struct buf *out) PETRI_WUR;

/*
 * The RFC 5424 severity of a record type: 4 (warning) for denials, 5
 * (notice) for changes of keys, secrets, policies and the log, else 6
 * (informational).  CEF severity is 7, 5, 3 and OCSF severity_id 3, 2, 1.
 */
int siem_severity(const char *type);

/*
 * ArcSight CEF escaping, appended to b.  Header fields: '\' and '|' get a
 * backslash, CR and LF become a space.  Extension values: '\' and '='
 * get a backslash, LF becomes "\n" and CR "\r" (two characters each).
 * At most cap input bytes (0: all), cut on a UTF-8 boundary.
 * Returns 0 or a buf_append() error.
 */
int siem_cef_header_escape(
    struct buf *b, const char *s, size_t n, size_t cap) PETRI_WUR;
int siem_cef_ext_escape(
    struct buf *b, const char *s, size_t n, size_t cap) PETRI_WUR;

/*
 * Appends s (n bytes, UTF-8) as a JSON string literal with its quotes,
 * escaping '"', '\' and control characters.  At most cap input bytes (0:
 * all), cut on a UTF-8 boundary.  Returns 0 or a buf_append() error.
 */
int siem_json_escape(
    struct buf *b, const char *s, size_t n, size_t cap) PETRI_WUR;

/*
 * The fields every OCSF and ECS event carries (dotted paths, NULL
 * terminated), in full renderings and summaries alike; docs/siem.md lists
 * the same.  ocsf_class is 1007, 1009, 4002 or 6003.  Returns NULL for an
 * unknown class.
 */
const char *const *siem_ocsf_fields(int ocsf_class);
extern const char *const siem_ecs_fields[];

/*
 * The OCSF class a record type maps to; script is 1 when an exec record
 * ran submitted code (a "program" member) rather than a command.
 */
int siem_ocsf_class(const char *type, int script);

/*
 * Parses Splunk HEC's answer to an event POST (at most len bytes of JSON,
 * untrusted): {"text":..,"code":N[,"ackId":N]}.  *code gets the code and
 * *ack_id the ackId (-1 when absent).  Returns 0 or PETRI_ERR_PROTO.
 */
int siem_hec_reply_parse(
    const void *p, size_t len, int *code, int64_t *ack_id) PETRI_WUR;

/*
 * Parses HEC's answer to an ack query {"acks":{"<id>":true|false,...}}
 * (untrusted) and reports whether ack_id is acknowledged: *acked 1 or 0.
 * Returns 0 or PETRI_ERR_PROTO.
 */
int siem_hec_ack_parse(
    const void *p, size_t len, int64_t ack_id, int *acked) PETRI_WUR;

#endif /* PETRI_SIEM_FORMAT_H */
