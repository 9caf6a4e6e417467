/* api_upload.c: multipart uploads spooled to temporary files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_upload.h"
#include "util.h"

struct api_upload *
api_upload_new(const char *tmp_dir, size_t max)
{
	struct api_upload *u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	if (petri_strlcpy(u->tmp_dir, tmp_dir, sizeof(u->tmp_dir)) >=
	    sizeof(u->tmp_dir)) {
		free(u);
		return NULL;
	}
	u->max = max;
	return u;
}

static enum MHD_Result
api_upload_fail(struct api_upload *u, int err, const char *msg)
{
	if (u->err == 0) {
		u->err = err;
		petri_strlcpy(u->errmsg, msg, sizeof(u->errmsg));
	}
	return MHD_NO;
}

enum MHD_Result
api_upload_iterate(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *content_type,
    const char *transfer_encoding, const char *data, uint64_t off, size_t size)
{
	struct api_upload *u = cls;
	struct api_upload_part *p, *np;

	(void)kind;
	(void)content_type;
	(void)transfer_encoding;
	if (u->err != 0)
		return MHD_NO;
	if (key == NULL)
		return api_upload_fail(
		    u, PETRI_ERR_INVAL, "unnamed form field");
	if (size > u->max - u->total)
		return api_upload_fail(u, PETRI_ERR_TOOBIG, "upload too large");
	u->total += size;
	if (strcmp(key, "path") == 0 && filename == NULL) {
		size_t have = off == 0 ? 0 : strlen(u->path);

		if (off != have || have + size > WS_MAX_PATH)
			return api_upload_fail(
			    u, PETRI_ERR_INVAL, "form field \"path\" too long");
		memcpy(u->path + have, data, size);
		u->path[have + size] = '\0';
		if (strlen(u->path) != have + size)
			return api_upload_fail(u, PETRI_ERR_INVAL,
			    "form field \"path\" contains NUL");
		u->have_path = 1;
		return MHD_YES;
	}
	if (strcmp(key, "file") != 0)
		return api_upload_fail(u, PETRI_ERR_INVAL,
		    "unknown form field (expected \"file\" or \"path\")");
	if (off == 0) {
		if (u->nparts >= API_UPLOAD_MAX_PARTS)
			return api_upload_fail(
			    u, PETRI_ERR_TOOBIG, "too many file parts");
		if (filename == NULL || filename[0] == '\0')
			return api_upload_fail(
			    u, PETRI_ERR_INVAL, "file part without a filename");
		np = reallocarray(u->parts, (size_t)u->nparts + 1, sizeof(*np));
		if (np == NULL)
			return api_upload_fail(
			    u, PETRI_ERR_NOMEM, "out of memory");
		u->parts = np;
		p = &u->parts[u->nparts];
		memset(p, 0, sizeof(*p));
		if (petri_strlcpy(p->filename, filename, sizeof(p->filename)) >=
		    sizeof(p->filename))
			return api_upload_fail(
			    u, PETRI_ERR_INVAL, "file name too long");
		if ((p->fd = open(
		         u->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
			return api_upload_fail(
			    u, PETRI_ERR_IO, "cannot spool the upload");
		u->nparts++;
	}
	if (u->nparts == 0)
		return api_upload_fail(u, PETRI_ERR_INVAL, "malformed form");
	p = &u->parts[u->nparts - 1];
	if (off != p->size)
		return api_upload_fail(u, PETRI_ERR_INVAL, "malformed form");
	if (size > 0 && petri_write_all(p->fd, data, size) != 0)
		return api_upload_fail(
		    u, PETRI_ERR_IO, "cannot spool the upload");
	p->size += size;
	return MHD_YES;
}

int
api_upload_finish(struct api_upload *u)
{
	int i;

	if (u->err != 0)
		return u->err;
	for (i = 0; i < u->nparts; i++)
		if (lseek(u->parts[i].fd, 0, SEEK_SET) != 0)
			return PETRI_ERR_IO;
	return 0;
}

int
api_upload_error(const struct api_upload *u)
{
	return u->err;
}

void
api_upload_free(struct api_upload *u)
{
	int i;

	if (u == NULL)
		return;
	for (i = 0; i < u->nparts; i++)
		if (u->parts[i].fd >= 0)
			close(u->parts[i].fd);
	free(u->parts);
	free(u);
}
