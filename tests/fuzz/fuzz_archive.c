/*
 * fuzz_archive.c: the archive reader (upload_archive) on arbitrary bytes, with
 * a sink that reads every entry's content and throws it away, once as is
 * and once with strip=1.  Every entry handed over must be valid: a
 * normalised non-empty path, a known type, a link target where needed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upload_archive.h"
#include "wspath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                         \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

static int
sink(void *arg, const struct upload_archive_entry *e,
    struct upload_archive_reader *r)
{
	unsigned char buf[8192];
	struct wspath wp, lp;
	size_t len;
	ssize_t n;

	(void)arg;
	FUZZ_ASSERT(e->path != NULL);
	len = strlen(e->path);
	FUZZ_ASSERT(len > 0);
	FUZZ_ASSERT(wspath_normalise(&wp, e->path, len, 0, 0) == (int)len);
	FUZZ_ASSERT(strcmp(wp.path, e->path) == 0);
	switch (e->type) {
	case UPLOAD_ARCHIVE_FILE:
	case UPLOAD_ARCHIVE_DIR:
		FUZZ_ASSERT(e->link == NULL);
		break;
	case UPLOAD_ARCHIVE_SYMLINK:
		FUZZ_ASSERT(e->link != NULL);
		FUZZ_ASSERT(wspath_link_target(&wp, e->link, strlen(e->link),
		                &lp) == (int)strlen(e->link));
		break;
	case UPLOAD_ARCHIVE_HARDLINK:
		FUZZ_ASSERT(e->link != NULL);
		FUZZ_ASSERT(wspath_normalise(&lp, e->link, strlen(e->link), 0,
		                0) == (int)strlen(e->link));
		break;
	default:
		abort();
	}
	while ((n = upload_archive_data_read(r, buf, sizeof(buf))) > 0)
		FUZZ_ASSERT(e->type == UPLOAD_ARCHIVE_FILE);
	return n < 0 ? (int)n : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct upload_archive_opts o;
	struct upload_archive_err err;
	int r;

	memset(&o, 0, sizeof(o));
	o.max_total = 32UL << 20; /* keep one run short */
	r = upload_archive_read_mem(data, size, &o, sink, NULL, &err);
	FUZZ_ASSERT(r <= 0 && r >= PETRI_ERR_MIN);
	FUZZ_ASSERT(r == err.code);
	FUZZ_ASSERT((r == 0) == (err.msg[0] == '\0'));
	FUZZ_ASSERT(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
	o.strip = 1;
	r = upload_archive_read_mem(data, size, &o, sink, NULL, &err);
	FUZZ_ASSERT(r == err.code);
	return 0;
}
