/* supproto.c: engine <-> petri-init frames, pure (see supproto.h). */
#include <string.h>

#include "supproto.h"

static uint32_t
sup_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
sup_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static size_t
sup_strlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n <= max && s[n] != '\0')
		n++;
	return n;
}

size_t
sup_words_count(int type)
{
	switch (type) {
	case SUP_HELLO:
	case SUP_STARTED:
		return type == SUP_STARTED ? 3 : 2;
	case SUP_SIGNAL:
	case SUP_KILLED:
	case SUP_EXITED:
		return 2;
	default:
		return 0;
	}
}

int
sup_frame_parse(const uint8_t *p, size_t n, struct sup_frame *f, size_t *used)
{
	uint32_t len;
	size_t words;

	if (n < SUP_HDR_LEN)
		return 0;
	if (p[0] != SUP_PROTO_VERSION || p[2] != 0 || p[3] != 0)
		return SUP_ERR_PROTO;
	len = sup_get32(p + 4);
	if (p[1] != SUP_START && (words = sup_words_count(p[1])) == 0)
		return SUP_ERR_PROTO;
	if (len > SUP_FRAME_MAX)
		return SUP_ERR_TOOBIG;
	if (p[1] != SUP_START && len != words * 4)
		return SUP_ERR_PROTO;
	if (n - SUP_HDR_LEN < len)
		return 0;
	f->type = p[1];
	f->payload = p + SUP_HDR_LEN;
	f->len = len;
	*used = SUP_HDR_LEN + (size_t)len;
	return 1;
}

static void
sup_hdr_put(uint8_t *out, int type, size_t len)
{
	out[0] = SUP_PROTO_VERSION;
	out[1] = (uint8_t)type;
	out[2] = 0;
	out[3] = 0;
	sup_put32(out + 4, (uint32_t)len);
}

int
sup_words_encode(int type, const uint32_t *v, size_t nv, uint8_t *out,
    size_t cap, size_t *len)
{
	size_t i;

	if (type == SUP_START || nv == 0 || sup_words_count(type) != nv)
		return SUP_ERR_INVAL;
	if (cap < SUP_HDR_LEN + nv * 4)
		return SUP_ERR_TOOBIG;
	sup_hdr_put(out, type, nv * 4);
	for (i = 0; i < nv; i++)
		sup_put32(out + SUP_HDR_LEN + i * 4, v[i]);
	*len = SUP_HDR_LEN + nv * 4;
	return 0;
}

int
sup_words_decode(const struct sup_frame *f, uint32_t *v, size_t nv)
{
	size_t i;

	if (f->type == SUP_START || nv == 0 || sup_words_count(f->type) != nv ||
	    f->len != nv * 4)
		return SUP_ERR_PROTO;
	for (i = 0; i < nv; i++)
		v[i] = sup_get32(f->payload + i * 4);
	return 0;
}

/* Appends one counted string at *off; 0 or SUP_ERR_TOOBIG. */
static int
sup_str_put(uint8_t *out, size_t cap, size_t *off, const char *s)
{
	size_t n = sup_strlen(s, SUP_MAX_STR);

	if (n > SUP_MAX_STR)
		return SUP_ERR_TOOBIG;
	if (cap - *off < 4 || cap - *off - 4 < n)
		return SUP_ERR_TOOBIG;
	sup_put32(out + *off, (uint32_t)n);
	memcpy(out + *off + 4, s, n);
	*off += 4 + n;
	return 0;
}

int
sup_start_encode(uint32_t seq, uint32_t flags, const char *cwd,
    const char *const *argv, size_t nargv, const char *const *env, size_t nenv,
    uint8_t *out, size_t cap, size_t *len)
{
	size_t off = SUP_HDR_LEN + 12, i;
	int r;

	if (nargv == 0 || nargv > SUP_MAX_ARGV || nenv > SUP_MAX_ENV ||
	    (flags & ~(uint32_t)SUP_START_FLAGS) != 0 || cwd == NULL)
		return SUP_ERR_INVAL;
	if (cap > SUP_HDR_LEN + SUP_FRAME_MAX)
		cap = SUP_HDR_LEN + SUP_FRAME_MAX;
	if (cap < off)
		return SUP_ERR_TOOBIG;
	sup_put32(out + SUP_HDR_LEN, seq);
	sup_put32(out + SUP_HDR_LEN + 4, flags);
	sup_put32(out + SUP_HDR_LEN + 8, (uint32_t)(nargv << 16 | nenv));
	if ((r = sup_str_put(out, cap, &off, cwd)) != 0)
		return r;
	for (i = 0; i < nargv; i++)
		if (argv[i] == NULL ||
		    (r = sup_str_put(out, cap, &off, argv[i])) != 0)
			return argv[i] == NULL ? SUP_ERR_INVAL : r;
	for (i = 0; i < nenv; i++)
		if (env[i] == NULL ||
		    (r = sup_str_put(out, cap, &off, env[i])) != 0)
			return env[i] == NULL ? SUP_ERR_INVAL : r;
	sup_hdr_put(out, SUP_START, off - SUP_HDR_LEN);
	*len = off;
	return 0;
}

/* Copies the next counted string into the arena; NULL on any error. */
static char *
sup_str_get(const struct sup_frame *f, size_t *off, char *arena,
    size_t arenalen, size_t *aoff, int *err)
{
	uint32_t n;
	char *s;

	if (f->len - *off < 4) {
		*err = SUP_ERR_PROTO;
		return NULL;
	}
	n = sup_get32(f->payload + *off);
	*off += 4;
	if (n > SUP_MAX_STR || f->len - *off < n ||
	    memchr(f->payload + *off, '\0', n) != NULL) {
		*err = SUP_ERR_PROTO;
		return NULL;
	}
	if (arenalen - *aoff < (size_t)n + 1) {
		*err = SUP_ERR_TOOBIG;
		return NULL;
	}
	s = arena + *aoff;
	memcpy(s, f->payload + *off, n);
	s[n] = '\0';
	*off += n;
	*aoff += (size_t)n + 1;
	return s;
}

int
sup_start_decode(const struct sup_frame *f, struct sup_start *s, char *arena,
    size_t arenalen)
{
	size_t off = 12, aoff = 0, i;
	uint32_t counts;
	int err = SUP_ERR_PROTO;

	if (f->type != SUP_START || f->len < 12 || f->len > SUP_FRAME_MAX)
		return SUP_ERR_PROTO;
	memset(s, 0, sizeof(*s));
	s->seq = sup_get32(f->payload);
	s->flags = sup_get32(f->payload + 4);
	counts = sup_get32(f->payload + 8);
	s->nargv = counts >> 16;
	s->nenv = counts & 0xffff;
	if ((s->flags & ~(uint32_t)SUP_START_FLAGS) != 0 || s->nargv == 0 ||
	    s->nargv > SUP_MAX_ARGV || s->nenv > SUP_MAX_ENV)
		return SUP_ERR_PROTO;
	if ((s->cwd = sup_str_get(f, &off, arena, arenalen, &aoff, &err)) ==
	    NULL)
		return err;
	for (i = 0; i < s->nargv; i++)
		if ((s->argv[i] = sup_str_get(
		         f, &off, arena, arenalen, &aoff, &err)) == NULL)
			return err;
	for (i = 0; i < s->nenv; i++)
		if ((s->env[i] = sup_str_get(
		         f, &off, arena, arenalen, &aoff, &err)) == NULL)
			return err;
	s->argv[s->nargv] = NULL;
	s->env[s->nenv] = NULL;
	return off == f->len ? 0 : SUP_ERR_PROTO;
}
