/* log.c: stderr logging (log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static char log_proc[16] = "petrid";
static int log_debug_on;
static int log_format = LOG_FORMAT_TEXT;

void
log_init(const char *procname, int debug)
{
	petri_strlcpy(log_proc, procname, sizeof(log_proc));
	log_debug_on = debug;
}

void
log_format_set(int format)
{
	log_format = format;
}

/*
 * Appends s to line[*off..n) for a quoted value: '"' and '\\' escaped,
 * control characters as \\uXXXX (JSON) or '?' (key=value).  Stops
 * (silently) when the line is full.
 */
static void
log_quote(char *line, size_t n, size_t *off, const char *s, int json)
{
	unsigned char c;
	int w;

	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\')
			w = snprintf(line + *off, n - *off, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			w = json ? snprintf(line + *off, n - *off, "\\u%04x", c)
			         : snprintf(line + *off, n - *off, "?");
		else
			w = snprintf(line + *off, n - *off, "%c", c);
		if (w < 0 || (size_t)w >= n - *off)
			return;
		*off += (size_t)w;
	}
}

static void log_vline(const char *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
log_vline(const char *level, const char *fmt, va_list ap)
{
	char msg[1024], line[2400], ts[PETRI_TIME_MAX];
	size_t i, off;
	int n;

	petri_time_rfc3339(petri_now_usec(), ts);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_format == LOG_FORMAT_KV || log_format == LOG_FORMAT_JSON) {
		int json = log_format == LOG_FORMAT_JSON;

		n = snprintf(line, sizeof(line),
		    json ? "{\"ts\":\"%s\",\"proc\":\"%s\",\"pid\":%d,"
		           "\"level\":\"%s\",\"msg\":\""
		         : "ts=%s proc=%s pid=%d level=%s msg=\"",
		    ts, log_proc, (int)getpid(), level);
		if (n < 0 || (size_t)n >= sizeof(line))
			return;
		off = (size_t)n;
		/* room for the closing quote (and brace) is kept */
		log_quote(line, sizeof(line) - 3, &off, msg, json);
		fprintf(stderr, "%.*s\"%s\n", (int)off, line, json ? "}" : "");
		return;
	}
	/* one event, one line: no control characters reach the log */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	fprintf(stderr, "%s %s[%d] %s: %s\n", ts, log_proc, (int)getpid(),
	    level, msg);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_vline("debug", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("warn", fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
