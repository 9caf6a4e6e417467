/*
 * api_upload.h: multipart/form-data uploads spooled to unlinked temporary
 * files as libmicrohttpd's post processor hands them over.  Accepted fields:
 * "file" (one or more file parts) and "path" (a target directory).
 */
#ifndef PETRI_API_UPLOAD_H
#define PETRI_API_UPLOAD_H

#include <stddef.h>

#include <microhttpd.h>

#include "bounds.h"
#include "petri_err.h"

#define API_UPLOAD_MAX_PARTS 1000

struct api_upload_part {
	char filename[WS_MAX_PATH + 1];
	int fd; /* unlinked temp file, rewound by _finish */
	size_t size;
};

struct api_upload {
	char tmp_dir[4096];
	size_t max; /* total bytes of all parts */
	size_t total;
	struct api_upload_part *parts;
	int nparts;
	char path[WS_MAX_PATH + 1];
	int have_path;
	int err; /* first PETRI_ERR_* met, 0 if none */
	char errmsg[256];
};

/* Starts an upload spooled in tmp_dir.  Returns NULL on failure. */
struct api_upload *api_upload_new(const char *tmp_dir, size_t max);

/* The MHD_PostDataIterator; cls is the upload. */
enum MHD_Result api_upload_iterate(void *cls, enum MHD_ValueKind kind,
    const char *key, const char *filename, const char *content_type,
    const char *transfer_encoding, const char *data, uint64_t off, size_t size);

/* Ends the upload: rewinds the files.  Returns 0 or the first error. */
int api_upload_finish(struct api_upload *u) PETRI_WUR;

/* The first error met, or 0. */
int api_upload_error(const struct api_upload *u);

/* Closes the files and frees the upload.  NULL is a no-op. */
void api_upload_free(struct api_upload *u);

#endif /* PETRI_API_UPLOAD_H */
