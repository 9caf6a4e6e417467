/* witness.c: the tlog-witness state machine (witness.h). */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "util.h"
#include "witness.h"

#define WITNESS_EVIDENCE_MAX 1000 /* kept per run: a bound on the disk */
#define WITNESS_TYPE_SIZE "text/x.tlog.size"
#define WITNESS_TYPE_TEXT "text/plain; charset=utf-8"

struct witness_log {
	struct audit_key key; /* the log's first verifier key; name = origin */
	struct audit_key more[WITNESS_LOG_KEYS - 1]; /* rotated keys */
	size_t nmore;
	uint64_t size; /* newest cosigned size, 0 before the first */
	unsigned char root[AUDIT_HASH_LEN];
	char path[WITNESS_STATE_MAX + 64];
};

struct witness {
	struct audit_key key;
	unsigned char *sk; /* sodium_malloc'd */
	char dir[WITNESS_STATE_MAX];
	pthread_mutex_t mu;
	struct witness_log logs[WITNESS_MAX_LOGS];
	size_t nlogs;
	unsigned evidence;
};

int
witness_new(const struct audit_key *k, const unsigned char sk[AUDIT_SECKEY_LEN],
    const char *dir, struct witness **wp)
{
	struct witness *w;
	char ev[WITNESS_STATE_MAX + 16];

	*wp = NULL;
	if (strlen(dir) + 16 >= WITNESS_STATE_MAX)
		return PETRI_ERR_INVAL;
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    petri_path_join(ev, sizeof(ev), dir, "evidence") != 0 ||
	    (mkdir(ev, 0700) != 0 && errno != EEXIST))
		return PETRI_ERR_IO;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return PETRI_ERR_NOMEM;
	if ((w->sk = sodium_malloc(AUDIT_SECKEY_LEN)) == NULL) {
		free(w);
		return PETRI_ERR_NOMEM;
	}
	memcpy(w->sk, sk, AUDIT_SECKEY_LEN);
	w->key = *k;
	petri_strlcpy(w->dir, dir, sizeof(w->dir));
	pthread_mutex_init(&w->mu, NULL);
	*wp = w;
	return 0;
}

void
witness_free(struct witness *w)
{
	if (w == NULL)
		return;
	sodium_free(w->sk); /* wipes */
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* <dir>/log-<first 16 bytes of SHA-256(origin) in hex>.cp */
static int
witness_log_path(
    const struct witness *w, const char *origin, char *out, size_t outlen)
{
	char sha[PETRI_SHA256_HEX], name[64];

	petri_sha256_hex(origin, strlen(origin), sha);
	snprintf(name, sizeof(name), "log-%.32s.cp", sha);
	return petri_path_join(out, outlen, w->dir, name);
}

/* A checkpoint signed by any key of the log. */
static int
witness_log_verify(const struct witness_log *l, const char *note, size_t len,
    struct audit_checkpoint *cp)
{
	size_t i;
	int r;

	if ((r = audit_checkpoint_verify(note, len, &l->key, cp)) == 0)
		return 0;
	for (i = 0; i < l->nmore; i++)
		if (audit_checkpoint_verify(note, len, &l->more[i], cp) == 0)
			return 0;
	return r;
}

int
witness_log_add(struct witness *w, const char *vkey, size_t len)
{
	struct witness_log *l;
	struct audit_checkpoint cp;
	struct audit_key k;
	char *note = NULL;
	size_t i, nlen = 0;
	int r;

	if (audit_vkey_parse(vkey, len, &k) != 0)
		return PETRI_ERR_INVAL;
	for (i = 0; i < w->nlogs; i++) {
		l = &w->logs[i];
		if (strcmp(l->key.name, k.name) != 0)
			continue;
		/* another key of a followed log (after a rotation) */
		if (l->nmore == WITNESS_LOG_KEYS - 1)
			return PETRI_ERR_LIMIT;
		l->more[l->nmore++] = k;
		return 0;
	}
	if (w->nlogs == WITNESS_MAX_LOGS)
		return PETRI_ERR_LIMIT;
	l = &w->logs[w->nlogs];
	memset(l, 0, sizeof(*l));
	l->key = k;
	if (witness_log_path(w, l->key.name, l->path, sizeof(l->path)) != 0)
		return PETRI_ERR_INVAL;
	r = petri_file_read(l->path, AUDIT_NOTE_MAX, &note, &nlen);
	if (r == PETRI_ERR_NOTFOUND) {
		w->nlogs++;
		return 0;
	}
	if (r != 0)
		return PETRI_ERR_IO;
	r = witness_log_verify(l, note, nlen, &cp);
	free(note);
	if (r != 0 || strcmp(cp.origin, l->key.name) != 0)
		return PETRI_ERR_STATE;
	l->size = cp.size;
	memcpy(l->root, cp.root, AUDIT_HASH_LEN);
	w->nlogs++;
	return 0;
}

static struct witness_log *
witness_log_find(struct witness *w, const char *origin)
{
	size_t i;

	for (i = 0; i < w->nlogs; i++)
		if (strcmp(w->logs[i].key.name, origin) == 0)
			return &w->logs[i];
	return NULL;
}

static void
witness_answer_set(struct witness_answer *a, int status, const char *msg)
{
	a->status = status;
	a->type = WITNESS_TYPE_TEXT;
	a->len = (size_t)snprintf(a->body, sizeof(a->body), "%s\n", msg);
}

/* 409 with our size, as text/x.tlog.size. */
static void
witness_answer_size(struct witness_answer *a, uint64_t size)
{
	a->status = 409;
	a->type = WITNESS_TYPE_SIZE;
	a->len = (size_t)snprintf(
	    a->body, sizeof(a->body), "%llu\n", (unsigned long long)size);
}

/*
 * Keeps a refused request that the log signed (mutex held): it proves a
 * fork or a bad proof.  Bounded per run; failures only logged.
 */
static void
witness_evidence_keep(struct witness *w, const struct witness_log *l,
    const char *body, size_t len, uint64_t size, uint64_t now, const char *why)
{
	char sha[PETRI_SHA256_HEX], name[128], path[WITNESS_STATE_MAX + 160];

	log_warn("log %s: refused size %llu: %s", l->key.name,
	    (unsigned long long)size, why);
	if (w->evidence >= WITNESS_EVIDENCE_MAX)
		return;
	petri_sha256_hex(l->key.name, strlen(l->key.name), sha);
	snprintf(name, sizeof(name), "evidence/%.32s-%llu-%llu-%u.txt", sha,
	    (unsigned long long)size, (unsigned long long)now, w->evidence);
	if (petri_path_join(path, sizeof(path), w->dir, name) != 0 ||
	    petri_file_write_atomic(path, body, len, 0600) != 0)
		log_warn("cannot keep the evidence of a refused checkpoint");
	else
		w->evidence++;
}

/*
 * The checks that need the state (mutex held).  Returns 0 when the
 * checkpoint may be cosigned (and is then persisted), else fills *a.
 */
static int
witness_check_locked(struct witness *w, struct witness_log *l,
    const struct audit_witness_req *req, const struct audit_checkpoint *cp,
    const char *body, size_t len, uint64_t now, struct witness_answer *a)
{
	if (req->old_size != l->size) {
		witness_answer_size(a, l->size);
		return -1;
	}
	if (req->old_size == 0 && req->proof.count != 0) {
		witness_answer_set(
		    a, 400, "the proof must be empty from size 0");
		return -1;
	}
	if (req->old_size == cp->size &&
	    memcmp(l->root, cp->root, AUDIT_HASH_LEN) != 0) {
		witness_evidence_keep(w, l, body, len, cp->size, now,
		    "same size, another root: a fork");
		witness_answer_size(a, l->size);
		return -1;
	}
	if (req->old_size > 0 &&
	    audit_merkle_consistency_verify(
	        req->old_size, cp->size, l->root, cp->root, &req->proof) != 0) {
		witness_evidence_keep(w, l, body, len, cp->size, now,
		    "the consistency proof does not verify");
		witness_answer_set(
		    a, 422, "the consistency proof does not verify");
		return -1;
	}
	if (petri_file_write_atomic(l->path, req->note, req->note_len, 0600) !=
	    0) {
		witness_answer_set(a, 500, "cannot persist the checkpoint");
		return -1;
	}
	l->size = cp->size;
	memcpy(l->root, cp->root, AUDIT_HASH_LEN);
	return 0;
}

void
witness_add_checkpoint(struct witness *w, const char *body, size_t len,
    uint64_t now, struct witness_answer *a)
{
	struct audit_witness_req req;
	struct audit_checkpoint cp;
	struct witness_log *l;
	size_t tlen = 0;
	int r;

	memset(a, 0, sizeof(*a));
	if (audit_witness_req_parse(body, len, &req) != 0 ||
	    audit_checkpoint_parse(req.note, req.note_len, &cp) != 0 ||
	    audit_note_open(req.note, req.note_len, NULL, &tlen) != 0) {
		witness_answer_set(a, 400, "malformed add-checkpoint body");
		return;
	}
	if ((l = witness_log_find(w, cp.origin)) == NULL) {
		witness_answer_set(a, 404, "unknown log origin");
		return;
	}
	if (witness_log_verify(l, req.note, req.note_len, &cp) != 0) {
		witness_answer_set(a, 403, "not signed by the log's key");
		return;
	}
	if (req.old_size > cp.size) {
		witness_answer_set(a, 400, "old size past the checkpoint");
		return;
	}
	pthread_mutex_lock(&w->mu);
	r = witness_check_locked(w, l, &req, &cp, body, len, now, a);
	pthread_mutex_unlock(&w->mu);
	if (r != 0)
		return;
	if (audit_cosig_sign(req.note, tlen, &w->key, w->sk, now, a->body,
	        sizeof(a->body), &a->len) != 0) {
		witness_answer_set(a, 500, "cannot cosign");
		return;
	}
	a->status = 200;
	a->type = WITNESS_TYPE_TEXT;
}

int
witness_log_latest(
    struct witness *w, const char *origin, uint64_t *size, char **note)
{
	struct witness_log *l;
	size_t n;
	int r = 0;

	if (note != NULL)
		*note = NULL;
	pthread_mutex_lock(&w->mu);
	if ((l = witness_log_find(w, origin)) == NULL)
		r = PETRI_ERR_NOTFOUND;
	else {
		*size = l->size;
		if (note != NULL && l->size > 0 &&
		    petri_file_read(l->path, AUDIT_NOTE_MAX, note, &n) != 0)
			r = PETRI_ERR_IO;
	}
	pthread_mutex_unlock(&w->mu);
	return r;
}
