/* util.c: small shared helpers. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bounds.h"
#include "buf.h"
#include "util.h"

static const char petri_b32[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t
petri_strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t len = strlen(src);

	if (dsize != 0) {
		size_t n = len < dsize - 1 ? len : dsize - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

int
petri_strtonum(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;
	int neg = 0, digits = 0;

	if (s == NULL || *s == '\0')
		return PETRI_ERR_INVAL;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; *s != '\0'; s++) {
		int d;

		if (*s < '0' || *s > '9')
			return PETRI_ERR_INVAL;
		d = *s - '0';
		if (v > (LLONG_MAX - d) / 10)
			return PETRI_ERR_INVAL;
		v = v * 10 + d;
		if (++digits > 19)
			return PETRI_ERR_INVAL;
	}
	if (digits == 0)
		return PETRI_ERR_INVAL;
	if (neg)
		v = -v;
	if (v < min || v > max)
		return PETRI_ERR_INVAL;
	*out = v;
	return 0;
}

void
petri_hex(const void *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
petri_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
petri_unhex(const char *hex, void *out, size_t outlen)
{
	unsigned char *o = out;
	size_t i;

	if (strlen(hex) != 2 * outlen)
		return PETRI_ERR_INVAL;
	for (i = 0; i < outlen; i++) {
		int hi = petri_hexval(hex[2 * i]),
		    lo = petri_hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return PETRI_ERR_INVAL;
		o[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
petri_sha256_hex(const void *p, size_t n, char out[PETRI_SHA256_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, p, n);
	petri_hex(h, sizeof(h), out);
}

int
petri_id_new(const char *prefix, char *out, size_t outlen)
{
	unsigned char rnd[PETRI_ID_RANDOM_CHARS];
	size_t plen = strlen(prefix), i;

	if (outlen < plen + PETRI_ID_RANDOM_CHARS + 1)
		return PETRI_ERR_TOOBIG;
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(out, prefix, plen);
	for (i = 0; i < PETRI_ID_RANDOM_CHARS; i++)
		out[plen + i] = petri_b32[rnd[i] & 31];
	out[plen + PETRI_ID_RANDOM_CHARS] = '\0';
	return 0;
}

int
petri_id_valid(const char *id, const char *prefix)
{
	size_t plen = strlen(prefix), i;

	if (id == NULL || strncmp(id, prefix, plen) != 0)
		return 0;
	if (strlen(id) != plen + PETRI_ID_RANDOM_CHARS)
		return 0;
	for (i = plen; id[i] != '\0'; i++)
		if (strchr(petri_b32, id[i]) == NULL)
			return 0;
	return 1;
}

int64_t
petri_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
petri_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
petri_time_rfc3339(int64_t usec, char out[PETRI_TIME_MAX])
{
	/* clamp to 0000..9999 years' worth of the epoch: always formattable */
	const int64_t max = 253402300799LL * 1000000 + 999999;
	time_t t;
	struct tm tm;
	char tmp[128];

	if (usec < 0)
		usec = 0;
	if (usec > max)
		usec = max;
	t = (time_t)(usec / 1000000);
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(usec % 1000000));
	petri_strlcpy(out, tmp, PETRI_TIME_MAX);
}

int
petri_time_parse(const char *s, int64_t *usec)
{
	struct tm tm;
	long long f[7];
	static const int width[7] = {4, 2, 2, 2, 2, 2, 6};
	static const char sep[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
	int i, j;
	time_t t;

	if (strlen(s) != 27)
		return PETRI_ERR_INVAL;
	for (i = 0; i < 7; i++) {
		f[i] = 0;
		for (j = 0; j < width[i]; j++, s++) {
			if (*s < '0' || *s > '9')
				return PETRI_ERR_INVAL;
			f[i] = f[i] * 10 + (*s - '0');
		}
		if (*s++ != sep[i])
			return PETRI_ERR_INVAL;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)f[0] - 1900;
	tm.tm_mon = (int)f[1] - 1;
	tm.tm_mday = (int)f[2];
	tm.tm_hour = (int)f[3];
	tm.tm_min = (int)f[4];
	tm.tm_sec = (int)f[5];
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 ||
	    f[4] > 59 || f[5] > 60)
		return PETRI_ERR_INVAL;
	t = timegm(&tm);
	*usec = (int64_t)t * 1000000 + f[6];
	return 0;
}

int
petri_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return PETRI_ERR_IO;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
petri_file_write_atomic(const char *path, const void *p, size_t n, int mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd = -1, dfd = -1, r = PETRI_ERR_IO;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    sizeof(tmp))
		return PETRI_ERR_TOOBIG;
	if (petri_strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return PETRI_ERR_TOOBIG;
	if ((fd = mkstemp(tmp)) < 0)
		return PETRI_ERR_IO;
	if (fchmod(fd, (mode_t)mode) != 0 || petri_write_all(fd, p, n) != 0 ||
	    fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	tmp[0] = '\0';
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		(void)fsync(dfd);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp[0] != '\0' && r != 0)
		unlink(tmp);
	return r;
}

int
petri_file_read(const char *path, size_t max, char **out, size_t *lenp)
{
	void *p = NULL;
	int r;

	r = petri_file_read_with(path, O_NOFOLLOW, max, malloc, free, &p, lenp);
	*out = p;
	return r;
}

int
petri_file_read_with(const char *path, int oflags, size_t max,
    void *(*alloc)(size_t), void (*release)(void *), void **out, size_t *lenp)
{
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	int fd, r = PETRI_ERR_IO;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | oflags)) < 0)
		return errno == ENOENT ? PETRI_ERR_NOTFOUND : PETRI_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((size_t)st.st_size > max) {
		r = PETRI_ERR_TOOBIG;
		goto out;
	}
	if ((p = alloc((size_t)st.st_size + 1)) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	p[got] = '\0';
	*out = p;
	p = NULL;
	if (lenp != NULL)
		*lenp = got;
	r = 0;
out:
	if (p != NULL)
		release(p);
	close(fd);
	return r;
}

void
petri_deadline(int clk, int ms, struct timespec *ts)
{
	clock_gettime((clockid_t)clk, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int
petri_path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return PETRI_ERR_TOOBIG;
	}
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p (n bytes left), or 0. */
static size_t
petri_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

int
petri_utf8_sanitize(const void *in, size_t n, struct buf *out)
{
	const unsigned char *p = in;
	size_t i = 0, start = 0, k;
	int r;

	while (i < n) {
		if ((k = petri_utf8_seq(p + i, n - i)) > 0) {
			i += k;
			continue;
		}
		if ((r = buf_append(out, p + start, i - start)) != 0 ||
		    (r = buf_append(out, "\xef\xbf\xbd", 3)) != 0)
			return r;
		start = ++i;
	}
	return buf_append(out, p + start, i - start);
}
