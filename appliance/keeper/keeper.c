/*
 * keeper.c: the keeper process.  It holds the audit signing key (and, with
 * the egress work, the vault master key and the interception CA key) and
 * parses nothing from outside: only typed messages from the other
 * processes.  It appends records, stores blobs, seals checkpoints every
 * second while records arrive, answers proofs and writes export bundles.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_log.h"
#include "binding.h"
#include "bounds.h"
#include "ca.h"
#include "dispatch.h"
#include "keeper_tsa.h"
#include "keeper_witness.h"
#include "log.h"
#include "procs.h"
#include "proto.h"
#include "proxy_bounds.h"
#include "siem.h" /* SIEM export */
#include "util.h"
#include "vault.h"

#define KEEPER_EXPORT_CHUNK (4UL << 20)
#define KEEPER_BLOB_MAX (IPC_MAX_FRAME - 65536)
#define KEEPER_EXPORT_COSIGN_MS 10000 /* an export waits for witnesses */

struct keeper {
	struct proc_ctx *ctx;
	struct audit_log *log;
	struct siem *siem; /* SIEM export: the sinks (audit/siem.h) */
	struct keeper_witness *wit; /* witnesses: cosignatures */
	struct keeper_tsa *tsa; /* RFC 3161 timestamps */
	struct ipc_chan *api;
	struct ipc_chan *proxy;
	struct vault *vault;
	struct ca *ca;
	char dir[4096];
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int inflight;
	int stopping;
};

struct kjob {
	struct keeper *k;
	struct ipc_chan *from; /* answers go back there */
	struct ipc_msg msg;
};

/* Record types only the keeper itself writes. */
static int
keeper_type_reserved(const char *type)
{
	return strncmp(type, "log.", 4) == 0 ||
	    strcmp(type, "blob.deleted") == 0 ||
	    strcmp(type, "secret.released") == 0 ||
	    strcmp(type, "audit.exported") == 0;
}

/* Reads m strictly (dispatch_read()): a malformed message is fatal. */
#define k_read(m, ...) dispatch_read((m), "keeper", __VA_ARGS__)

/* The channel the request being served came from (one per thread). */
static __thread struct ipc_chan *k_from;

static void
k_ok(struct keeper *k, uint32_t id, json_t *j, const void *d, size_t n)
{
	struct ipc_chan *c = k_from != NULL ? k_from : k->api;

	if (ipc_send(c, MSG_OK, id, j, d, n) != 0)
		log_warn("cannot answer a request");
	json_decref(j);
}

static void
k_err(struct keeper *k, uint32_t id, int code, const char *msg)
{
	struct ipc_chan *c = k_from != NULL ? k_from : k->api;

	if (proto_send_err(c, id, code, msg) != 0)
		log_warn("cannot answer a request");
}

static json_t *
entry_json(const struct audit_entry *e)
{
	char leaf[2 * AUDIT_HASH_LEN + 1], sig[128];

	petri_hex(e->leaf, sizeof(e->leaf), leaf);
	if (audit_b64_encode(e->sig, sizeof(e->sig), sig, sizeof(sig)) < 0)
		sig[0] = '\0';
	return json_pack("{s:I, s:s%, s:s, s:s, s:s}", "seq",
	    (json_int_t)e->seq, "record", (const char *)e->bytes, e->len,
	    "leaf_hash", leaf, "signature", sig, "key_id", e->key_id);
}

static json_t *
proof_json(const struct audit_merkle_proof *p)
{
	json_t *a = json_array();
	char hex[2 * AUDIT_HASH_LEN + 1];
	size_t i;

	for (i = 0; i < p->count; i++) {
		petri_hex(p->hash[i], AUDIT_HASH_LEN, hex);
		json_array_append_new(a, json_string(hex));
	}
	return a;
}

static void
do_append(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	const char *type = NULL;
	json_t *ev = NULL;
	struct audit_appended out;
	int e;

	k_read(m, "{s:s, s:o}", "type", &type, "event", &ev);
	if (!json_is_object(ev))
		dispatch_malformed(m, "keeper", "event: not an object");
	if (keeper_type_reserved(type)) {
		k_err(k, m->id, PETRI_ERR_INVAL, "bad record type or event");
		return;
	}
	if ((e = audit_log_append(k->log, type, ev, &out)) != 0) {
		log_warn(
		    "audit append of %s failed: %s", type, petri_strerror(e));
		k_err(k, m->id, e, "the audit log could not store the record");
		return;
	}
	k_ok(k, m->id,
	    json_pack("{s:I, s:s}", "seq", (json_int_t)out.seq, "leaf_hash",
	        out.leaf_hex),
	    NULL, 0);
}

static void
do_blob_put(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	char sha[PETRI_SHA256_HEX];
	int e;

	k_read(m, "{}");
	if ((e = audit_log_blob_put(k->log,
	         m->data != NULL ? m->data : (const unsigned char *)"",
	         m->datalen, sha)) != 0) {
		k_err(k, m->id, e, "cannot store the blob");
		return;
	}
	k_ok(k, m->id, json_pack("{s:s}", "sha256", sha), NULL, 0);
}

/*
 * Which of the named blobs the store lacks (the api sends only those).
 * Looks at the store's layout, blobs/<2 hex>/<64 hex> (audit_log.h).
 */
static void
do_blob_missing(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	json_t *want = NULL, *missing, *x;
	char path[4096];
	struct stat st;
	unsigned char raw[32];
	size_t i;

	k_read(m, "{s:o}", "sha256", &want);
	if (!json_is_array(want))
		dispatch_malformed(m, "keeper", "sha256: not an array");
	if (json_array_size(want) > 10000) {
		k_err(k, m->id, PETRI_ERR_INVAL, "bad blob list");
		return;
	}
	missing = json_array();
	json_array_foreach (want, i, x) {
		const char *h = json_string_value(x);

		if (h == NULL || strlen(h) != 64 ||
		    petri_unhex(h, raw, sizeof(raw)) != 0) {
			json_decref(missing);
			k_err(k, m->id, PETRI_ERR_INVAL, "bad blob name");
			return;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/blobs/%.2s/%s",
		        k->dir, h, h) >= sizeof(path) ||
		    stat(path, &st) != 0)
			json_array_append_new(missing, json_string(h));
	}
	k_ok(k, m->id, json_pack("{s:o}", "missing", missing), NULL, 0);
}

static void
do_blob_get(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	const char *sha = NULL;
	unsigned char *p = NULL;
	size_t n = 0;
	int e;

	k_read(m, "{s:s}", "sha256", &sha);
	e = audit_log_blob_get(k->log, sha, KEEPER_BLOB_MAX, &p, &n);
	if (e != 0) {
		k_err(k, m->id, e,
		    e == PETRI_ERR_NOTFOUND ? "no such blob"
		        : e == PETRI_ERR_TOOBIG
		        ? "blob larger than one answer; use "
		          "the export bundle"
		        : "cannot read the blob");
		return;
	}
	k_ok(k, m->id,
	    json_pack("{s:s, s:I}", "sha256", sha, "size", (json_int_t)n), p,
	    n);
	free(p);
}

static void
do_records(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	json_int_t from = 0, limit = 0;
	struct audit_entry *es = NULL;
	json_t *a;
	size_t n = 0, i;
	int e;

	k_read(m, "{s:I, s:I}", "from", &from, "limit", &limit);
	if (from < 0 || limit <= 0 || limit > AUDIT_LOG_MAX_RANGE) {
		k_err(k, m->id, PETRI_ERR_INVAL, "bad range");
		return;
	}
	if ((e = audit_log_records_get(
	         k->log, (uint64_t)from, (size_t)limit, &es, &n)) != 0) {
		k_err(k, m->id, e, "cannot read records");
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, entry_json(&es[i]));
	audit_entries_free(es, n);
	k_ok(k, m->id,
	    json_pack("{s:o, s:I}", "records", a, "size",
	        (json_int_t)audit_log_size(k->log)),
	    NULL, 0);
}

static void
do_record(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	json_int_t seq = -1;
	struct audit_merkle_proof proof;
	struct audit_entry ent;
	json_t *j;
	char *text = NULL;
	size_t tlen = 0;
	uint64_t size = 0;
	int e;

	k_read(m, "{s:I}", "seq", &seq);
	memset(&ent, 0, sizeof(ent));
	if (seq < 0 ||
	    (e = audit_log_record_get(k->log, (uint64_t)seq, &ent)) != 0) {
		k_err(k, m->id, PETRI_ERR_NOTFOUND, "no such record");
		return;
	}
	/* a proof needs a checkpoint that covers the record */
	e = audit_log_prove_inclusion(k->log, (uint64_t)seq, 0, &proof, &size);
	if (e == PETRI_ERR_NOTFOUND) {
		if (audit_log_checkpoint(k->log, 1) < 0)
			log_warn("cannot seal a checkpoint");
		keeper_witness_kick(k->wit);
		e = audit_log_prove_inclusion(
		    k->log, (uint64_t)seq, 0, &proof, &size);
	}
	j = entry_json(&ent);
	audit_entry_clear(&ent);
	if (e == 0 &&
	    audit_log_checkpoint_latest(k->log, &text, &tlen, NULL) == 0) {
		json_object_set_new(j, "inclusion",
		    json_pack("{s:I, s:I, s:o, "
		              "s:s%}",
		        "leaf_index", seq, "tree_size", (json_int_t)size,
		        "hashes", proof_json(&proof), "checkpoint", text,
		        tlen));
		free(text);
	}
	k_ok(k, m->id, j, NULL, 0);
}

static void
do_checkpoint(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	char *text = NULL;
	size_t len = 0;
	int e;

	k_read(m, "{}");
	e = audit_log_checkpoint_latest(k->log, &text, &len, NULL);
	if (e == PETRI_ERR_NOTFOUND) {
		if (audit_log_checkpoint(k->log, 1) < 0)
			log_warn("cannot seal a checkpoint");
		keeper_witness_kick(k->wit);
		e = audit_log_checkpoint_latest(k->log, &text, &len, NULL);
	}
	if (e != 0) {
		k_err(k, m->id, e, "no checkpoint");
		return;
	}
	k_ok(k, m->id, json_object(), text, len);
	free(text);
}

static void
do_consistency(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	json_int_t from = 0, to = 0;
	struct audit_merkle_proof proof;
	int e;

	k_read(m, "{s:I, s:I}", "from", &from, "to", &to);
	if (from < 1 || to < from ||
	    (e = audit_log_prove_consistency(
	         k->log, (uint64_t)from, (uint64_t)to, &proof)) != 0) {
		k_err(k, m->id, PETRI_ERR_INVAL,
		    "sizes must satisfy 1 <= from "
		    "<= to <= the log's size");
		return;
	}
	k_ok(k, m->id,
	    json_pack("{s:I, s:I, s:o}", "from", from, "to", to, "hashes",
	        proof_json(&proof)),
	    NULL, 0);
}

/*
 * Before an export: seal the current size and give the witnesses a
 * bounded time to cosign it, so that the bundle's newest checkpoint
 * carries a quorum when they are reachable.  Never fails the export.
 */
static void
keeper_export_cosign(struct keeper *k)
{
	struct audit_checkpoint cp;

	if (audit_log_checkpoint(k->log, 1) < 0)
		log_warn("cannot seal a checkpoint");
	if (audit_log_checkpoint_latest(k->log, NULL, NULL, &cp) == 0 &&
	    keeper_witness_wait(k->wit, cp.size, KEEPER_EXPORT_COSIGN_MS) != 0)
		log_warn("export: no witness quorum for size %llu yet",
		    (unsigned long long)cp.size);
	if (keeper_tsa_wait(k->tsa, cp.size, KEEPER_EXPORT_COSIGN_MS) != 0)
		log_warn("export: no timestamp for size %llu yet",
		    (unsigned long long)cp.size);
}

static void
do_export(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	json_int_t from = 0, to = 0;
	const char *actor = NULL, *tenant = NULL;
	struct audit_export_info info;
	char path[4096], name[64];
	unsigned char *chunk = NULL;
	json_t *ev;
	int fd = -1, e;
	ssize_t n;

	k_read(m, "{s:I, s:I, s:s, s:s}", "from", &from, "to", &to, "actor",
	    &actor, "tenant", &tenant);
	if (from < 0 || to < -1) {
		k_err(k, m->id, PETRI_ERR_INVAL, "bad range");
		return;
	}
	keeper_export_cosign(k);
	snprintf(name, sizeof(name), "export-%d-%u.tar", (int)getpid(), m->id);
	if (petri_path_join(path, sizeof(path), k->dir, name) != 0) {
		k_err(k, m->id, PETRI_ERR_TOOBIG, "path too long");
		return;
	}
	if ((e = audit_log_export(k->log, (uint64_t)from,
	         to < 0 ? 0 : (uint64_t)to, path, &info)) != 0) {
		k_err(k, m->id, e,
		    e == PETRI_ERR_INVAL ? "from is past to" : "export failed");
		return;
	}
	ev = json_pack("{s:s, s:{s:s, s:s}, s:I, s:I, s:I, s:I}", "tenant",
	    tenant, "actor", "key", actor, "role", "auditor", "from",
	    (json_int_t)info.from, "to", (json_int_t)info.to, "tree_size",
	    (json_int_t)info.tree_size, "blobs", (json_int_t)info.blobs);
	e = audit_log_append(k->log, "audit.exported", ev, NULL);
	json_decref(ev);
	if (e != 0) {
		unlink(path);
		k_err(k, m->id, e, "cannot record the export");
		return;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (chunk = malloc(KEEPER_EXPORT_CHUNK)) == NULL) {
		k_err(k, m->id, PETRI_ERR_IO, "cannot read the bundle");
		goto out;
	}
	unlink(path);
	for (;;) {
		size_t got = 0;

		while (got < KEEPER_EXPORT_CHUNK) {
			n = read(fd, chunk + got, KEEPER_EXPORT_CHUNK - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		k_ok(k, m->id,
		    json_pack("{s:b}", "more", got == KEEPER_EXPORT_CHUNK),
		    chunk, got);
		if (got < KEEPER_EXPORT_CHUNK)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(chunk);
}

static void
do_pubkey(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	struct audit_log_key *keys = NULL;
	struct audit_key cur;
	char vkey[AUDIT_VKEY_MAX + 1], hex[2 * AUDIT_PUBKEY_LEN + 1];
	char ts[PETRI_TIME_MAX];
	json_t *hist;
	size_t n = 0, i;

	k_read(m, "{}");
	if (audit_log_public_key(k->log, &cur) != 0 ||
	    audit_vkey_format(&cur, vkey, sizeof(vkey)) < 0 ||
	    audit_log_keys(k->log, &keys, &n) != 0) {
		k_err(k, m->id, PETRI_ERR_IO, "no key");
		return;
	}
	petri_hex(cur.pub, sizeof(cur.pub), hex);
	hist = json_array();
	for (i = 0; i < n; i++) {
		char v[AUDIT_VKEY_MAX + 1];

		if (audit_vkey_format(&keys[i].key, v, sizeof(v)) < 0)
			continue;
		petri_time_rfc3339(keys[i].created_usec, ts);
		json_array_append_new(hist,
		    json_pack("{s:s, s:I, s:s}", "vkey", v, "first_seq",
		        (json_int_t)keys[i].first_seq, "created_at", ts));
	}
	free(keys);
	k_ok(k, m->id,
	    json_pack("{s:s, s:s, s:s, s:s, s:o}", "origin", cur.name,
	        "algorithm", "Ed25519", "vkey", vkey, "public_key_hex", hex,
	        "history", hist),
	    NULL, 0);
}

static void
do_status(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	struct audit_checkpoint cp;
	uint64_t cps = 0;

	k_read(m, "{}");
	if (audit_log_checkpoint_latest(k->log, NULL, NULL, &cp) == 0)
		cps = cp.size;
	/* SIEM export: each sink's cursor, lag and errors */
	k_ok(k, m->id,
	    json_pack("{s:I, s:I, s:o*, s:o*, s:o*}", "size",
	        (json_int_t)audit_log_size(k->log), "checkpoint_size",
	        (json_int_t)cps, "sinks", siem_status(k->siem), "witnesses",
	        keeper_witness_status(k->wit, cps), "tsa",
	        keeper_tsa_status(k->tsa)),
	    NULL, 0);
}

/* Rotates the audit signing key: the old key signs the log.key_rotated. */
static void
do_rotate_key(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	struct audit_key old, neu;
	struct audit_appended app;
	char oid[AUDIT_KEY_ID_HEX], nid[AUDIT_KEY_ID_HEX];
	int e;

	k_read(m, "{}");
	if (audit_log_public_key(k->log, &old) != 0 ||
	    (e = audit_log_rotate_key(k->log, &app)) != 0) {
		k_err(k, m->id, PETRI_ERR_UNAVAIL, "the key was not rotated");
		return;
	}
	if (audit_log_public_key(k->log, &neu) != 0) {
		k_err(k, m->id, PETRI_ERR_STATE, "no key after the rotation");
		return;
	}
	audit_key_id_hex(&old, oid);
	audit_key_id_hex(&neu, nid);
	log_info("audit signing key rotated: %s -> %s (record %llu)", oid, nid,
	    (unsigned long long)app.seq);
	k_ok(k, m->id,
	    json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)app.seq,
	        "leaf_hash", app.leaf_hex, "key_id", oid, "new_key_id", nid),
	    NULL, 0);
}

#define KEEPER_RETAIN_BATCH 512
#define KEEPER_RETAIN_MAX 100000 /* erasures per request */

/*
 * Blob retention: erases every blob that only records sealed before
 * before_usec name, each erasure a blob.deleted record first.
 */
static void
do_blob_retain(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	json_int_t before = 0;
	const char *reason = NULL;
	char(*names)[PETRI_SHA256_HEX] = NULL;
	uint64_t *seqs = NULL, cursor = UINT64_MAX;
	size_t n, i, erased = 0;
	int e = 0, complete = 0;

	k_read(m, "{s:I, s:s}", "before_usec", &before, "reason", &reason);
	if (before <= 0 || strlen(reason) > 200) {
		k_err(k, m->id, PETRI_ERR_INVAL, "bad retention request");
		return;
	}
	names = calloc(KEEPER_RETAIN_BATCH, sizeof(*names));
	seqs = calloc(KEEPER_RETAIN_BATCH, sizeof(*seqs));
	while (names != NULL && seqs != NULL && e == 0 &&
	    erased < KEEPER_RETAIN_MAX) {
		if ((e = audit_log_blobs_before(k->log, (int64_t)before, cursor,
		         names, seqs, KEEPER_RETAIN_BATCH, &n)) != 0)
			break;
		if (n == 0) {
			complete = 1;
			break;
		}
		for (i = 0; i < n && e == 0; i++) {
			e = audit_log_blob_delete(
			    k->log, names[i], reason, NULL);
			if (e == 0)
				erased++;
			else if (e == PETRI_ERR_NOTFOUND)
				e = 0; /* erased before */
		}
		cursor = seqs[n - 1];
	}
	free(names);
	free(seqs);
	if (e != 0 || (!complete && erased < KEEPER_RETAIN_MAX)) {
		k_err(k, m->id, e != 0 ? e : PETRI_ERR_NOMEM,
		    "retention stopped");
		return;
	}
	log_info("blob retention: %zu blobs erased (%s)", erased, reason);
	k_ok(k, m->id,
	    json_pack("{s:I, s:b}", "erased", (json_int_t)erased, "complete",
	        complete),
	    NULL, 0);
}

/* --- the vault (api) ------------------------------------------------------ */

/* Wipes the bytes of a JSON string in place (a secret value). */
static void
k_wipe_string(json_t *v)
{
	if (json_is_string(v) && json_string_length(v) > 0)
		sodium_memzero((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
}

static void
do_secret_put(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	const char *tenant = NULL, *name = NULL;
	json_t *value = NULL, *binding = NULL;
	int rotate = 0;
	struct vault_meta meta;
	char err[256] = "", *btext = NULL;
	int e;

	memset(&meta, 0, sizeof(meta));
	k_read(m, "{s:s, s:s, s:b, s?o, s?o}", "tenant", &tenant, "name", &name,
	    "rotate", &rotate, "value", &value, "binding", &binding);
	if ((value != NULL && !json_is_string(value)) ||
	    (binding != NULL && !json_is_object(binding)))
		dispatch_malformed(m, "keeper", "value or binding");
	if ((!rotate && (value == NULL || binding == NULL)) ||
	    (rotate && value == NULL && binding == NULL)) {
		k_wipe_string(value);
		k_err(k, m->id, PETRI_ERR_INVAL, "bad secret request");
		return;
	}
	if (binding != NULL &&
	    (btext = json_dumps(binding, JSON_COMPACT | JSON_ENCODE_ANY)) ==
	        NULL) {
		k_wipe_string(value);
		k_err(k, m->id, PETRI_ERR_NOMEM, "out of memory");
		return;
	}
	if (rotate)
		e = vault_secret_rotate(k->vault, tenant, name,
		    value != NULL ? json_string_value(value) : NULL,
		    value != NULL ? json_string_length(value) : 0, btext,
		    btext != NULL ? strlen(btext) : 0, &meta, err, sizeof(err));
	else
		e = vault_secret_create(k->vault, tenant, name,
		    json_string_value(value), json_string_length(value), btext,
		    strlen(btext), &meta, err, sizeof(err));
	k_wipe_string(value);
	free(btext);
	if (e != 0) {
		k_err(k, m->id, e, err[0] != '\0' ? err : petri_strerror(e));
		return;
	}
	k_ok(k, m->id, json_pack("{s:o}", "secret", vault_meta_json(&meta)),
	    NULL, 0);
	vault_meta_clear(&meta);
}

static void
do_secret_del(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	const char *tenant = NULL, *name = NULL;
	int e;

	k_read(m, "{s:s, s:s}", "tenant", &tenant, "name", &name);
	if ((e = vault_secret_delete(k->vault, tenant, name)) != 0) {
		k_err(k, m->id, e, petri_strerror(e));
		return;
	}
	k_ok(k, m->id, json_object(), NULL, 0);
}

static void
do_secret_list(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	const char *tenant = NULL, *name = NULL;
	struct vault_meta one, *list = NULL;
	json_t *a;
	size_t i, n = 0;
	int e;

	k_read(m, "{s:s, s?s}", "tenant", &tenant, "name", &name);
	memset(&one, 0, sizeof(one));
	if (name != NULL) {
		if ((e = vault_secret_get(k->vault, tenant, name, &one)) != 0) {
			k_err(k, m->id, e, petri_strerror(e));
			return;
		}
		a = json_pack("[o]", vault_meta_json(&one));
		vault_meta_clear(&one);
	} else {
		if ((e = vault_secret_list(k->vault, tenant, &list, &n)) != 0) {
			k_err(k, m->id, e, petri_strerror(e));
			return;
		}
		a = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(a, vault_meta_json(&list[i]));
		vault_meta_list_free(list, n);
	}
	k_ok(k, m->id, json_pack("{s:o}", "secrets", a), NULL, 0);
}

/* What a grant gives the sandbox: the proxy's view and the container's. */
static json_t *
grant_json(struct keeper *k, const char *tenant, const char *name,
    const struct vault_grant *g)
{
	struct vault_meta meta;
	struct vault_binding *b = NULL;
	char header[VAULT_HEADER_MAX + 1] = "";
	const char *inject;
	json_t *j;

	if (g->inject == VAULT_INJECT_PLACEHOLDER) {
		memset(&meta, 0, sizeof(meta));
		if (vault_secret_get(k->vault, tenant, name, &meta) != 0)
			return NULL;
		if (vault_binding_parse(
		        meta.binding, meta.binding_len, &b, NULL, 0) == 0) {
			petri_strlcpy(header, b->header, sizeof(header));
			vault_binding_free(b);
		}
		vault_meta_clear(&meta);
		if (header[0] == '\0')
			return NULL;
	}
	inject = g->inject == VAULT_INJECT_PLACEHOLDER ? "placeholder"
	    : g->inject == VAULT_INJECT_BASIC          ? "basic"
	                                               : "header";
	j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", name, "inject",
	    inject, "header", header, "env", g->env, "placeholder",
	    g->placeholder);
	return j;
}

static void
do_grant(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	const char *tenant = NULL, *sandbox = NULL;
	json_t *names = NULL, *v, *out, *g;
	struct vault_grant grant;
	char msg[160];
	size_t i;
	int e;

	k_read(m, "{s:s, s:s, s:o}", "tenant", &tenant, "sandbox", &sandbox,
	    "names", &names);
	if (!json_is_array(names))
		dispatch_malformed(m, "keeper", "names: not an array");
	if (json_array_size(names) > PROXY_SECRETS_MAX) {
		k_err(k, m->id, PETRI_ERR_INVAL, "bad grant request");
		return;
	}
	out = json_array();
	json_array_foreach (names, i, v) {
		memset(&grant, 0, sizeof(grant));
		e = json_is_string(v)
		    ? vault_grant_add(k->vault, tenant, sandbox,
		          json_string_value(v), &grant)
		    : PETRI_ERR_INVAL;
		if (e == 0 &&
		    (g = grant_json(k, tenant, json_string_value(v), &grant)) !=
		        NULL)
			json_array_append_new(out, g);
		else if (e == 0)
			e = PETRI_ERR_DB;
		sodium_memzero(&grant, sizeof(grant));
		if (e != 0) {
			if (vault_sandbox_revoke(k->vault, sandbox) != 0)
				log_warn("%s: cannot undo its grants", sandbox);
			json_decref(out);
			snprintf(msg, sizeof(msg), "secrets[%zu]: %s", i,
			    e == PETRI_ERR_NOTFOUND ? "no such secret"
			                            : petri_strerror(e));
			k_err(k, m->id, e, msg);
			return;
		}
	}
	/* placeholders travel once, to the api, for the container's env */
	k_ok(k, m->id, json_pack("{s:o}", "grants", out), NULL, 0);
}

static void
do_revoke(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	const char *sandbox = NULL;
	int e;

	k_read(m, "{s:s}", "sandbox", &sandbox);
	if ((e = vault_sandbox_revoke(k->vault, sandbox)) != 0) {
		k_err(k, m->id, e, petri_strerror(e));
		return;
	}
	k_ok(k, m->id, json_object(), NULL, 0);
}

/* --- the proxy ------------------------------------------------------------ */

static void
do_leaf(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	const char *host = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	int e;

	k_read(m, "{s:s}", "host", &host);
	if (m->data == NULL) {
		k_err(k, m->id, PETRI_ERR_INVAL, "bad leaf request");
		return;
	}
	if ((e = ca_issue_leaf_der(
	         k->ca, host, m->data, m->datalen, &der, &len)) != 0) {
		k_err(k, m->id, e, petri_strerror(e));
		return;
	}
	k_ok(k, m->id, json_object(), der, len);
	free(der);
}

/*
 * One credential for one request.  The keeper decides (grant, binding),
 * records the release, and only then hands the value over: a release the
 * log cannot hold is refused.
 */
static void
do_cred(void *arg, struct ipc_msg *m)
{
	struct keeper *k = arg;
	const char *sandbox = NULL, *secret = NULL, *ph = NULL;
	json_int_t port = 0;
	struct vault_request req;
	struct vault_credential *c = NULL;
	struct audit_appended app;
	char tenant[VAULT_TENANT_MAX + 1];
	unsigned char *out = NULL;
	size_t n;
	json_t *ev;
	int e;

	memset(&req, 0, sizeof(req));
	k_read(m, "{s:s, s:s, s:s, s:s, s:I, s:s, s?s, s?s}", "sandbox",
	    &sandbox, "secret", &secret, "scheme", &req.scheme, "host",
	    &req.host, "port", &port, "method", &req.method, "placeholder", &ph,
	    "path", &req.path);
	if (port < 1 || port > 65535) {
		k_err(k, m->id, PETRI_ERR_INVAL, "bad credential request");
		return;
	}
	req.port = (uint16_t)port;
	if (req.path == NULL)
		req.path = "";
	if (ph != NULL) {
		e = vault_placeholder_resolve(k->vault, sandbox, ph, &req, &c);
		if (e == 0 && strcmp(c->name, secret) != 0)
			e = PETRI_ERR_PERM;
	} else if ((e = vault_sandbox_tenant(k->vault, sandbox, tenant)) == 0)
		e = vault_release(k->vault, tenant, sandbox, secret, &req, &c);
	if (e != 0) {
		vault_credential_free(c);
		k_err(k, m->id, e, "not released");
		return;
	}
	ev = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:I}", "name", c->name,
	    "tenant", c->tenant, "sandbox", sandbox, "host", req.host, "port",
	    (int)req.port, "method", req.method, "version",
	    (json_int_t)c->version);
	if (ev == NULL ||
	    (e = audit_log_append(k->log, "secret.released", ev, &app)) != 0) {
		json_decref(ev);
		vault_credential_free(c);
		log_warn("cannot record a secret release: refused");
		k_err(k, m->id, PETRI_ERR_UNAVAIL, "audit log unavailable");
		return;
	}
	json_decref(ev);
	n = c->value_len + c->secret_len + c->expect_len;
	if ((out = sodium_malloc(n > 0 ? n : 1)) == NULL) {
		vault_credential_free(c);
		k_err(k, m->id, PETRI_ERR_NOMEM, "out of memory");
		return;
	}
	memcpy(out, c->value, c->value_len);
	memcpy(out + c->value_len, c->secret, c->secret_len);
	memcpy(out + c->value_len + c->secret_len, c->expect, c->expect_len);
	k_ok(k, m->id,
	    json_pack("{s:s, s:I, s:I, s:I}", "header", c->header, "value_len",
	        (json_int_t)c->value_len, "raw_len", (json_int_t)c->secret_len,
	        "expect_len", (json_int_t)c->expect_len),
	    out, n);
	sodium_memzero(out, n);
	sodium_free(out);
	vault_credential_free(c);
}

/* What the keeper does, for whom: the api and the proxy. */
static const struct dispatch_entry keeper_handlers[] = {
    {MSG_KPR_APPEND, PEER_API, do_append, 0},
    {MSG_KPR_BLOB_PUT, PEER_API, do_blob_put, 0},
    {MSG_KPR_BLOB_GET, PEER_API, do_blob_get, 0},
    {MSG_KPR_RECORDS, PEER_API, do_records, 0},
    {MSG_KPR_RECORD, PEER_API, do_record, 0},
    {MSG_KPR_CHECKPOINT, PEER_API, do_checkpoint, 0},
    {MSG_KPR_CONSISTENCY, PEER_API, do_consistency, 0},
    {MSG_KPR_EXPORT, PEER_API, do_export, 0},
    {MSG_KPR_PUBKEY, PEER_API, do_pubkey, 0},
    {MSG_KPR_STATUS, PEER_API, do_status, 0},
    {MSG_KPR_BLOB_MISSING, PEER_API, do_blob_missing, 0},
    {MSG_KPR_ROTATE_KEY, PEER_API, do_rotate_key, 0},
    {MSG_KPR_BLOB_RETAIN, PEER_API, do_blob_retain, 0},
    {MSG_KPR_SECRET_PUT, PEER_API, do_secret_put, 0},
    {MSG_KPR_SECRET_DEL, PEER_API, do_secret_del, 0},
    {MSG_KPR_SECRET_LIST, PEER_API, do_secret_list, 0},
    {MSG_KPR_GRANT, PEER_API, do_grant, 0},
    {MSG_KPR_REVOKE, PEER_API, do_revoke, 0},
    {MSG_KPR_LEAF, PEER_PROXY, do_leaf, 0},
    {MSG_KPR_CRED, PEER_PROXY, do_cred, 0},
};
#define KEEPER_NHANDLERS (sizeof(keeper_handlers) / sizeof(keeper_handlers[0]))

static void *
kjob_main(void *arg)
{
	struct kjob *j = arg;
	struct keeper *k = j->k;
	struct ipc_msg *m = &j->msg;
	int proxy = j->from == k->proxy;

	k_from = j->from;
	dispatch_get(keeper_handlers, KEEPER_NHANDLERS, "keeper",
	    proxy ? "proxy" : "api", proxy ? PEER_PROXY : PEER_API, m)
	    ->fn(k, m);
	k_from = NULL;
	if (m->data != NULL)
		sodium_memzero(m->data, m->datalen);
	ipc_msg_clear(m);
	free(j);
	pthread_mutex_lock(&k->lock);
	if (--k->inflight == 0)
		pthread_cond_broadcast(&k->idle);
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

static void
keeper_request(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct keeper *k = arg;
	struct kjob *j;
	pthread_attr_t at;
	pthread_t t;

	if (m == NULL) {
		/* a peer is gone: the daemon is stopping */
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatal("out of memory");
	j->k = k;
	j->from = c;
	j->msg = *m;
	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&k->lock);
	k->inflight++;
	pthread_mutex_unlock(&k->lock);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 512 * 1024);
	if (pthread_create(&t, &at, kjob_main, j) != 0) {
		if (proto_send_err(
		        c, j->msg.id, PETRI_ERR_LIMIT, "keeper busy") != 0)
			log_warn("cannot answer a request");
		ipc_msg_clear(&j->msg);
		free(j);
		pthread_mutex_lock(&k->lock);
		k->inflight--;
		pthread_mutex_unlock(&k->lock);
	}
	pthread_attr_destroy(&at);
}

static void *
keeper_sealer(void *arg)
{
	struct keeper *k = arg;

	for (;;) {
		usleep(AUDIT_CHECKPOINT_MIN_MS * 1000);
		if (k->stopping)
			break;
		switch (audit_log_checkpoint(k->log, 0)) {
		case 0:
			break;
		case 1:
			keeper_witness_kick(k->wit);
			break;
		default:
			log_warn("cannot seal a checkpoint");
		}
	}
	return NULL;
}

/*
 * The vault (keeper/vault/vault.db under keeper/keys/vault.key) and the
 * interception CA (keeper/ca/).  The CA certificate, and nothing else, is
 * copied to <data>/public/ca.pem, which containers mount read-only.
 */
static void
keeper_egress_open(struct keeper *k)
{
	char vdir[4096], key[4096], cadir[4096], pub[4096], *pem = NULL;
	size_t len;
	int e;

	if (petri_path_join(vdir, sizeof(vdir), k->dir, "vault") != 0 ||
	    petri_path_join(key, sizeof(key), k->dir, "keys/vault.key") != 0 ||
	    petri_path_join(cadir, sizeof(cadir), k->dir, "ca") != 0 ||
	    petri_path_join(
	        pub, sizeof(pub), k->ctx->cfg.data_dir, "public/ca.pem") != 0)
		fatal("path too long");
	if ((e = vault_open(vdir, key, &k->vault)) != 0)
		fatal(
		    "cannot open the vault in %s: %s", vdir, petri_strerror(e));
	if ((e = ca_open(cadir, &k->ca)) != 0)
		fatal("cannot open the interception CA in %s: %s", cadir,
		    petri_strerror(e));
	if ((e = ca_cert_pem(k->ca, &pem, &len)) != 0 ||
	    (e = petri_file_write_atomic(pub, pem, len, 0644)) != 0)
		fatal("cannot publish the CA certificate to %s: %s", pub,
		    petri_strerror(e));
	free(pem);
	log_info("vault and interception CA ready");
}

int
keeper_main(struct proc_ctx *ctx)
{
	struct keeper k;
	struct timespec ts;
	char origin[AUDIT_ORIGIN_MAX + 1], err[512];
	pthread_t sealer;
	int e;

	memset(&k, 0, sizeof(k));
	k.ctx = ctx;
	pthread_mutex_init(&k.lock, NULL);
	pthread_cond_init(&k.idle, NULL);
	umask(077);
	if (petri_path_join(
	        k.dir, sizeof(k.dir), ctx->cfg.data_dir, "keeper") != 0)
		fatal("path too long");
	snprintf(origin, sizeof(origin), "petri/%s", ctx->instance);
	if ((e = audit_log_open(k.dir, origin, &k.log)) != 0)
		fatal("cannot open the audit log in %s: %s", k.dir,
		    petri_strerror(e));
	log_info("audit log %s open at size %llu", origin,
	    (unsigned long long)audit_log_size(k.log));
	/* witnesses: a thread each, cosigning the checkpoints */
	if ((e = keeper_witness_start(json_object_get(ctx->cfg.raw, "audit"),
	         k.log, &k.wit, err, sizeof(err))) != 0)
		fatal("cannot start the witness client: %s", err);
	if ((e = keeper_tsa_start(json_object_get(ctx->cfg.raw, "audit"), k.log,
	         &k.tsa, err, sizeof(err))) != 0)
		fatal("cannot start the timestamp client: %s", err);
	/* SIEM export: start the sinks of the configuration */
	if ((e = siem_open(json_object_get(ctx->cfg.raw, "sinks"), k.log, k.dir,
	         origin, &k.siem, err, sizeof(err))) != 0)
		fatal("cannot start the SIEM sinks: %s", err);
	keeper_egress_open(&k);
	if (pthread_create(&sealer, NULL, keeper_sealer, &k) != 0)
		fatal("cannot start the checkpoint timer");
	dispatch_require(keeper_handlers, KEEPER_NHANDLERS, "keeper", "api",
	    PEER_API, proto_keeper_from_api, proto_keeper_from_api_n);
	dispatch_require(keeper_handlers, KEEPER_NHANDLERS, "keeper", "proxy",
	    PEER_PROXY, proto_keeper_from_proxy, proto_keeper_from_proxy_n);
	k.api = ipc_chan_new(PROC_FD_PEER_API, "api", 1, proto_keeper_from_api,
	    proto_keeper_from_api_n, keeper_request, &k);
	if (k.api == NULL || ipc_chan_start(k.api) != 0)
		fatal("cannot start the api channel");
	k.proxy = ipc_chan_new(PROC_FD_KEEPER_PROXY, "proxy", 1,
	    proto_keeper_from_proxy, proto_keeper_from_proxy_n, keeper_request,
	    &k);
	if (k.proxy == NULL || ipc_chan_start(k.proxy) != 0)
		fatal("cannot start the proxy channel");
	log_info("keeper ready");
	proc_wait_term();
	log_info("keeper stopping: sealing the log");
	k.stopping = 1;
	pthread_join(sealer, NULL);
	/* let appends in flight finish before the final checkpoint */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&k.lock);
	while (k.inflight > 0)
		if (pthread_cond_timedwait(&k.idle, &k.lock, &ts) != 0)
			break;
	pthread_mutex_unlock(&k.lock);
	siem_close(k.siem); /* SIEM export: stop the sinks, save cursors */
	keeper_witness_stop(k.wit);
	keeper_tsa_stop(k.tsa);
	vault_close(k.vault);
	ca_free(k.ca);
	audit_log_close(k.log);
	return 0;
}
