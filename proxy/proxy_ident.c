/* proxy_ident.c: sandbox identities and their accounting (proxy_ident.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proxy_ident.h"
#include "util.h"

struct ident_rate {
	uint64_t host; /* FNV-1a of the canonical host; 0: free slot */
	int64_t second;
	uint64_t count;
};

struct proxy_ident {
	atomic_int refs;
	atomic_int revoked;
	char sandbox[PETRI_ID_MAX + 1];
	struct addr src;
	unsigned char token_hash[crypto_hash_sha256_BYTES];
	struct policy *policy;
	size_t nsecrets;
	struct proxy_secret_ref secrets[PROXY_SECRETS_MAX];

	pthread_mutex_t mu; /* guards what follows */
	uint64_t requests; /* in the current execution */
	uint64_t bytes_out;
	struct ident_rate rate[PROXY_RATE_SLOTS];
};

struct proxy_ident_table {
	pthread_mutex_t mu;
	size_t n;
	struct proxy_ident *v[PROXY_IDENTS_MAX];
};

static int
ident_name_ok(const char *s, size_t max)
{
	size_t i, n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '-'))
			return 0;
	}
	return 1;
}

/* Printable ASCII without space, min..max bytes. */
static int
ident_printable_ok(const char *s, size_t min, size_t max)
{
	size_t i, n = strnlen(s, max + 1);

	if (n < min || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
ident_token_ok(const char *s)
{
	return ident_printable_ok(s, 16, PROXY_TOKEN_MAX);
}

/* A header name token, as RFC 9110 5.6.2. */
static int
ident_header_ok(const char *s)
{
	size_t i, n = strnlen(s, PROXY_HTTP_NAME_MAX + 1);

	if (n == 0 || n > PROXY_HTTP_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') ||
		        strchr("!#$%&'*+-.^_`|~", c) != NULL))
			return 0;
	}
	return 1;
}

int
proxy_ident_new(const char *sandbox, const char *src, const char *token,
    struct policy *policy, const struct proxy_secret_ref *secrets,
    size_t nsecrets, struct proxy_ident **out)
{
	struct proxy_ident *id = NULL;
	size_t i, j;
	int r = PETRI_ERR_INVAL;

	*out = NULL;
	if (sandbox == NULL || src == NULL || token == NULL || policy == NULL ||
	    (nsecrets > 0 && secrets == NULL) || nsecrets > PROXY_SECRETS_MAX ||
	    !ident_name_ok(sandbox, PETRI_ID_MAX) || !ident_token_ok(token))
		goto fail;
	if ((id = calloc(1, sizeof(*id))) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto fail;
	}
	if (addr_parse(src, strlen(src), &id->src) != 0 || id->src.zoned)
		goto fail;
	for (i = 0; i < nsecrets; i++) {
		const struct proxy_secret_ref *s = &secrets[i];

		if (!ident_name_ok(s->name, PROXY_SECRET_NAME_MAX))
			goto fail;
		if (s->header[0] != '\0' && !ident_header_ok(s->header))
			goto fail;
		if (s->placeholder[0] != '\0' &&
		    (s->header[0] == '\0' ||
		        !ident_printable_ok(s->placeholder,
		            PROXY_PLACEHOLDER_MIN, PROXY_PLACEHOLDER_MAX)))
			goto fail;
		for (j = 0; j < i; j++)
			if (strcmp(secrets[j].name, s->name) == 0)
				goto fail;
		id->secrets[i] = *s;
	}
	id->nsecrets = nsecrets;
	petri_strlcpy(id->sandbox, sandbox, sizeof(id->sandbox));
	crypto_hash_sha256(
	    id->token_hash, (const unsigned char *)token, strlen(token));
	if (pthread_mutex_init(&id->mu, NULL) != 0) {
		r = PETRI_ERR_NOMEM;
		goto fail;
	}
	atomic_init(&id->refs, 1);
	atomic_init(&id->revoked, 0);
	id->policy = policy;
	*out = id;
	return 0;
fail:
	free(id);
	policy_free(policy);
	return r;
}

void
proxy_ident_ref(struct proxy_ident *id)
{
	atomic_fetch_add(&id->refs, 1);
}

void
proxy_ident_release(struct proxy_ident *id)
{
	if (id == NULL || atomic_fetch_sub(&id->refs, 1) != 1)
		return;
	policy_free(id->policy);
	pthread_mutex_destroy(&id->mu);
	sodium_memzero(id, sizeof(*id));
	free(id);
}

const char *
proxy_ident_sandbox(const struct proxy_ident *id)
{
	return id->sandbox;
}

const struct policy *
proxy_ident_policy(const struct proxy_ident *id)
{
	return id->policy;
}

size_t
proxy_ident_nsecrets(const struct proxy_ident *id)
{
	return id->nsecrets;
}

const struct proxy_secret_ref *
proxy_ident_secret(const struct proxy_ident *id, size_t i)
{
	return i < id->nsecrets ? &id->secrets[i] : NULL;
}

int
proxy_ident_revoked(const struct proxy_ident *id)
{
	return atomic_load(&((struct proxy_ident *)id)->revoked);
}

static uint64_t
ident_host_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h == 0 ? 1 : h;
}

int
proxy_ident_admit(struct proxy_ident *id, const struct host *host,
    int64_t now_ms, const char **why)
{
	const struct policy_limits *lim = &id->policy->limits;
	struct ident_rate *slot = NULL, *oldest = NULL;
	uint64_t hh = ident_host_hash(host->name);
	int64_t sec = now_ms / 1000;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&id->mu);
	if (id->requests >= lim->max_requests) {
		*why = "max_requests reached for this execution";
		r = PETRI_ERR_LIMIT;
		goto out;
	}
	for (i = 0; i < PROXY_RATE_SLOTS; i++) {
		struct ident_rate *s = &id->rate[i];

		if (s->host == hh) {
			slot = s;
			break;
		}
		if (oldest == NULL || s->host == 0 ||
		    (oldest->host != 0 && s->second < oldest->second))
			oldest = s;
	}
	if (slot == NULL) {
		slot = oldest;
		slot->host = hh;
		slot->second = sec;
		slot->count = 0;
	}
	if (slot->second != sec) {
		slot->second = sec;
		slot->count = 0;
	}
	if (slot->count >= lim->rate_per_host) {
		*why = "rate_per_host reached";
		r = PETRI_ERR_LIMIT;
		goto out;
	}
	slot->count++;
	id->requests++;
out:
	pthread_mutex_unlock(&id->mu);
	return r;
}

int
proxy_ident_bytes_out(struct proxy_ident *id, uint64_t n)
{
	int r = 0;

	pthread_mutex_lock(&id->mu);
	if (n > id->policy->limits.max_bytes_out ||
	    id->bytes_out > id->policy->limits.max_bytes_out - n)
		r = PETRI_ERR_LIMIT;
	else
		id->bytes_out += n;
	pthread_mutex_unlock(&id->mu);
	return r;
}

int
proxy_ident_table_new(struct proxy_ident_table **out)
{
	struct proxy_ident_table *t;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PETRI_ERR_NOMEM;
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return PETRI_ERR_NOMEM;
	}
	*out = t;
	return 0;
}

void
proxy_ident_table_free(struct proxy_ident_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		atomic_store(&t->v[i]->revoked, 1);
		proxy_ident_release(t->v[i]);
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static int
ident_addr_eq(const struct addr *a, const struct addr *b)
{
	return a->family == b->family &&
	    memcmp(a->b, b->b, a->family == ADDR_V4 ? 4 : 16) == 0;
}

int
proxy_ident_table_add(struct proxy_ident_table *t, struct proxy_ident *id)
{
	size_t i;
	int r = 0;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i]->sandbox, id->sandbox) == 0 ||
		    ident_addr_eq(&t->v[i]->src, &id->src)) {
			r = PETRI_ERR_EXISTS;
			goto out;
		}
	if (t->n == PROXY_IDENTS_MAX) {
		r = PETRI_ERR_TOOBIG;
		goto out;
	}
	t->v[t->n++] = id;
	id = NULL;
out:
	pthread_mutex_unlock(&t->mu);
	proxy_ident_release(id);
	return r;
}

int
proxy_ident_table_remove(struct proxy_ident_table *t, const char *sandbox)
{
	struct proxy_ident *id = NULL;
	size_t i;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i]->sandbox, sandbox) == 0) {
			id = t->v[i];
			t->v[i] = t->v[--t->n];
			break;
		}
	pthread_mutex_unlock(&t->mu);
	if (id == NULL)
		return PETRI_ERR_NOTFOUND;
	atomic_store(&id->revoked, 1);
	proxy_ident_release(id);
	return 0;
}

int
proxy_ident_table_exec_begin(struct proxy_ident_table *t, const char *sandbox)
{
	size_t i;
	int r = PETRI_ERR_NOTFOUND;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i]->sandbox, sandbox) == 0) {
			pthread_mutex_lock(&t->v[i]->mu);
			t->v[i]->requests = 0;
			t->v[i]->bytes_out = 0;
			pthread_mutex_unlock(&t->v[i]->mu);
			r = 0;
			break;
		}
	pthread_mutex_unlock(&t->mu);
	return r;
}

int
proxy_ident_table_lookup(struct proxy_ident_table *t, const struct addr *src,
    const char *token, size_t toklen, struct proxy_ident **out)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	size_t i;
	int r = PETRI_ERR_PERM;

	*out = NULL;
	if (token == NULL || toklen == 0 || toklen > PROXY_TOKEN_MAX)
		return PETRI_ERR_PERM;
	crypto_hash_sha256(h, (const unsigned char *)token, toklen);
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n; i++) {
		struct proxy_ident *id = t->v[i];

		if (!ident_addr_eq(&id->src, src))
			continue;
		if (sodium_memcmp(id->token_hash, h, sizeof(h)) == 0) {
			proxy_ident_ref(id);
			*out = id;
			r = 0;
		}
		break;
	}
	pthread_mutex_unlock(&t->mu);
	sodium_memzero(h, sizeof(h));
	return r;
}
