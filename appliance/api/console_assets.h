/*
 * console_assets.h: the auditor console's static files, compiled into the
 * api from appliance/api/console/ by tools/embed.c (the table ends with a
 * NULL name).
 */
#ifndef PETRI_CONSOLE_ASSETS_H
#define PETRI_CONSOLE_ASSETS_H

#include <stddef.h>

struct console_asset {
	const char *name; /* base name: "index.html", "console.js", ... */
	const unsigned char *data;
	size_t len;
};

extern const struct console_asset console_assets[];

#endif /* PETRI_CONSOLE_ASSETS_H */
