/* log.c: stderr logging. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static char log_proc[16] = "petrid";
static int log_debug_on;

void
log_init(const char *procname, int debug)
{
	petri_strlcpy(log_proc, procname, sizeof(log_proc));
	log_debug_on = debug;
}

static void log_vline(const char *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
log_vline(const char *level, const char *fmt, va_list ap)
{
	char line[1024], ts[PETRI_TIME_MAX];
	int n;
	size_t i;

	petri_time_rfc3339(petri_now_usec(), ts);
	n = snprintf(line, sizeof(line), "%s %s[%d] %s: ", ts, log_proc,
	    (int)getpid(), level);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* one event, one line: no control characters reach the log */
	for (i = (size_t)n; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	fprintf(stderr, "%s\n", line);
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
