/* path.c: request path normalisation and prefix matching. */
#include <string.h>

#include "path.h"

static int
path_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
path_unreserved(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* pchar minus ';' (RFC 3986: unreserved, sub-delims, ':' and '@'). */
static int
path_char_ok(int c)
{
	if (path_unreserved(c))
		return 1;
	switch (c) {
	case '!':
	case '$':
	case '&':
	case '\'':
	case '(':
	case ')':
	case '*':
	case '+':
	case ',':
	case '=':
	case ':':
	case '@':
	case '/':
		return 1;
	default:
		return 0;
	}
}

/* Decodes and checks target[0..len) into out; returns the decoded length. */
static int
path_decode(
    const char *s, size_t len, char *out, size_t *outlen, const char **why)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int hi, lo, v;

		if (c == ';') {
			*why = "';' (path parameters) is not allowed in a path";
			return PETRI_ERR_INVAL;
		}
		if (c == '\\') {
			*why = "'\\' is not allowed in a path";
			return PETRI_ERR_INVAL;
		}
		if (c != '%') {
			if (!path_char_ok(c)) {
				*why = "character not allowed in a path";
				return PETRI_ERR_INVAL;
			}
			out[o++] = (char)c;
			continue;
		}
		if (len - i < 3 || (hi = path_hexval(s[i + 1])) < 0 ||
		    (lo = path_hexval(s[i + 2])) < 0) {
			*why = "malformed percent-escape in a path";
			return PETRI_ERR_INVAL;
		}
		i += 2;
		v = hi << 4 | lo;
		if (v == '/' || v == '\\') {
			*why = "encoded '/' or '\\' is not allowed in a path";
			return PETRI_ERR_INVAL;
		}
		if (v == '%') {
			*why = "encoded '%' (double encoding) is not allowed "
			       "in a path";
			return PETRI_ERR_INVAL;
		}
		if (v == ';') {
			*why = "encoded ';' is not allowed in a path";
			return PETRI_ERR_INVAL;
		}
		if (v < 0x20 || v == 0x7f) {
			*why = "encoded control character (or %00) in a path";
			return PETRI_ERR_INVAL;
		}
		if (path_unreserved(v)) {
			out[o++] = (char)v;
			continue;
		}
		out[o++] = '%';
		out[o++] = hx[hi];
		out[o++] = hx[lo];
	}
	*outlen = o;
	return 0;
}

/*
 * Removes empty and dot segments of the decoded path p[0..n) in place;
 * p[0] is '/'.  Returns the new length.
 */
static size_t
path_segments(char *p, size_t n)
{
	size_t r = 0, w = 0, start, seg;
	int trailing = 0;

	while (r < n) {
		while (r < n && p[r] == '/')
			r++;
		if (r == n) {
			trailing = 1;
			break;
		}
		start = r;
		while (r < n && p[r] != '/')
			r++;
		seg = r - start;
		if (seg == 1 && p[start] == '.') {
			trailing = 1;
			continue;
		}
		if (seg == 2 && p[start] == '.' && p[start + 1] == '.') {
			while (w > 0 && p[w - 1] != '/')
				w--;
			if (w > 0)
				w--;
			trailing = 1;
			continue;
		}
		p[w++] = '/';
		memmove(p + w, p + start, seg);
		w += seg;
		trailing = 0;
	}
	if (trailing || w == 0)
		p[w++] = '/';
	return w;
}

int
path_normalize(
    const char *target, size_t len, char *out, size_t outsz, const char **why)
{
	const char *w = NULL, *q;
	size_t plen, n = 0;
	int r;

	if (why != NULL)
		*why = NULL;
	if (out == NULL || outsz == 0)
		return PETRI_ERR_TOOBIG;
	out[0] = '\0';
	if (target == NULL && len != 0)
		return PETRI_ERR_INVAL;
	if (len > POLICY_REQ_PATH_MAX || outsz <= len || outsz < 2) {
		w = "path too long";
		r = PETRI_ERR_TOOBIG;
		goto out;
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
		return 0;
	}
	plen = len;
	if ((q = memchr(target, '?', len)) != NULL)
		plen = (size_t)(q - target);
	if (memchr(target, '#', plen) != NULL) {
		w = "'#' is not allowed in a request target";
		r = PETRI_ERR_INVAL;
		goto out;
	}
	if (plen == 0 || target[0] != '/') {
		w = "path must start with '/'";
		r = PETRI_ERR_INVAL;
		goto out;
	}
	if ((r = path_decode(target, plen, out, &n, &w)) != 0)
		goto out;
	n = path_segments(out, n);
	out[n] = '\0';
	return 0;
out:
	out[0] = '\0';
	if (why != NULL)
		*why = w;
	return r;
}

int
path_prefix_match(const char *prefix, const char *path)
{
	size_t pl;

	if (prefix == NULL || path == NULL || prefix[0] == '\0')
		return 0;
	pl = strnlen(prefix, POLICY_PATH_MAX + 1);
	if (pl > POLICY_PATH_MAX || strncmp(path, prefix, pl) != 0)
		return 0;
	if (prefix[pl - 1] == '/')
		return 1;
	return path[pl] == '\0' || path[pl] == '/';
}
