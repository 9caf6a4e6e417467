/*
 * cli_main.c: petri, the command-line client of the REST API.
 *
 *   petri [-u URL] [-k KEYFILE] COMMAND ...
 *
 * The API key comes from $PETRI_API_KEY, else from KEYFILE (default
 * $PETRI_KEY_FILE, else ./var/admin.token as `make run` writes it).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "cli.h"
#include "cli_admin.h"
#include "util.h"

struct sse_state {
	struct buf line;
	char event[32];
	struct buf data;
	int exit_code;
	int got_exit;
};

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: petri [-u URL] [-k KEYFILE] COMMAND ...\n"
	    "  sandbox create LANGUAGE [--label K=V]... [--ttl SECONDS]\n"
	    "                 [--policy NAME] [--secret NAME]...\n"
	    "  sandbox ls [--label K:V]\n"
	    "  sandbox get ID\n"
	    "  sandbox rm ID\n"
	    "  upload ID PATH [--to DIR]   file, directory or zip/tar/tar.gz\n"
	    "  sync DIR ID [--to DIR] [--delete]   send only what changed\n"
	    "  mcp   a Model Context Protocol server on stdin/stdout\n"
	    "  files ID [DIR]\n"
	    "  download ID PATH\n"
	    "  exec ID [--json] [--timeout MS] [--fresh] [--install "
	    "auto|skip|only]\n"
	    "          [--test] -- COMMAND...   (--test: COMMAND is the app, "
	    "or none)\n"
	    "  policy put NAME FILE|-   policy ls   policy get NAME   policy "
	    "rm NAME\n"
	    "  secret add NAME BINDING.json   (the value is read from stdin)\n"
	    "  secret rotate NAME [BINDING.json]   (a new value from stdin, or "
	    "-n)\n"
	    "  secret ls   secret get NAME   secret rm NAME\n"
	    "  keys create ROLE [--tenant T] [--name N]\n"
	    "  keys ls\n"
	    "  keys rm ID\n"
	    "  admin backup|restore|purge-instance|rotate-signing-key|"
	    "blob-retention ...\n");
	exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "petri: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/*
 * One call.  body (len bytes, may be NULL) with content type ctype.
 * Returns the HTTP status; *out gets the reply.  Exits when no answer came.
 */
static long
call(struct cli *c, const char *method, const char *path, const void *body,
    size_t len, const char *ctype, struct buf *out)
{
	char err[CLI_ERR_MAX];
	long st;

	if ((st = cli_http(
	         c, method, path, body, len, ctype, out, err, sizeof(err))) < 0)
		die("%s", err);
	return st;
}

/* Calls with a JSON body; prints an API error and exits on failure. */
static json_t *
call_json(struct cli *c, const char *method, const char *path, json_t *body,
    long want)
{
	struct buf out;
	json_error_t jerr;
	json_t *j = NULL;
	char *text = NULL;
	long st;

	buf_init(&out, CLI_MAX_REPLY);
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		die("out of memory");
	st = call(c, method, path, text, text != NULL ? strlen(text) : 0,
	    text != NULL ? "application/json" : NULL, &out);
	if (text != NULL) /* it may hold a secret's value */
		explicit_bzero(text, strlen(text));
	free(text);
	if (out.len > 0)
		j = json_loadb((const char *)out.data, out.len, 0, &jerr);
	/* want -1: any success with a body (200 or 201) */
	if (st != want && !(want == -1 && (st == 200 || st == 201))) {
		json_t *e = json_object_get(j, "error");

		die("%s %s: HTTP %ld: %s", method, path, st,
		    json_string_value(json_object_get(e, "message")) != NULL
		        ? json_string_value(json_object_get(e, "message"))
		        : "unexpected answer");
	}
	buf_free(&out);
	return j;
}

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

/* --- policies and secrets ----------------------------------------------------- */

/* A JSON object from a file ("-": stdin), at most 1 MiB. */
static json_t *
read_json_file(const char *path)
{
	json_error_t jerr;
	json_t *j;

	j = strcmp(path, "-") == 0
	    ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
	    : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_object(j))
		die("%s:%d: %s", path, jerr.line,
		    j == NULL ? jerr.text : "not a JSON object");
	return j;
}

static int
cmd_policy(struct cli *c, int argc, char **argv)
{
	char path[600];
	json_t *j, *body;

	if (strcmp(argv[0], "ls") == 0 && argc == 1) {
		j = call_json(c, "GET", "/v1/policies", NULL, 200);
		print_json(j);
		json_decref(j);
		return 0;
	}
	if (argc < 2 || strlen(argv[1]) > 128)
		usage();
	snprintf(path, sizeof(path), "/v1/policies/%s", argv[1]);
	if (strcmp(argv[0], "put") == 0 && argc == 3) {
		body = read_json_file(argv[2]);
		/* 201 for a first version, 200 for a new one */
		j = call_json(c, "PUT", path, body, -1);
		print_json(j);
		json_decref(j);
		json_decref(body);
	} else if (strcmp(argv[0], "get") == 0 && argc == 2) {
		j = call_json(c, "GET", path, NULL, 200);
		print_json(j);
		json_decref(j);
	} else if (strcmp(argv[0], "rm") == 0 && argc == 2)
		json_decref(call_json(c, "DELETE", path, NULL, 204));
	else
		usage();
	return 0;
}

/* The secret's value: stdin up to the first newline (never argv). */
static json_t *
read_secret_value(void)
{
	char buf[8194];
	size_t n;
	json_t *v;

	n = fread(buf, 1, sizeof(buf) - 1, stdin);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
		die("no value on standard input");
	v = json_string(buf);
	explicit_bzero(buf, sizeof(buf));
	if (v == NULL)
		die("the value is not UTF-8");
	return v;
}

static int
cmd_secret(struct cli *c, int argc, char **argv)
{
	char path[600];
	json_t *j, *body;

	if (strcmp(argv[0], "ls") == 0 && argc == 1) {
		j = call_json(c, "GET", "/v1/secrets", NULL, 200);
		print_json(j);
		json_decref(j);
		return 0;
	}
	if (argc < 2 || strlen(argv[1]) > 128)
		usage();
	snprintf(path, sizeof(path), "/v1/secrets/%s", argv[1]);
	if (strcmp(argv[0], "add") == 0 && argc == 3) {
		body = read_json_file(argv[2]);
		json_object_set_new(body, "name", json_string(argv[1]));
		json_object_set_new(body, "value", read_secret_value());
		j = call_json(c, "POST", "/v1/secrets", body, 201);
	} else if (strcmp(argv[0], "rotate") == 0 && (argc == 2 || argc == 3)) {
		if (argc == 3 && strcmp(argv[2], "-n") != 0) {
			body = read_json_file(argv[2]);
			json_object_set_new(body, "value", read_secret_value());
		} else if (argc == 3)
			body = json_object(); /* binding only: none given */
		else
			body = json_pack("{s:o}", "value", read_secret_value());
		j = call_json(c, "PUT", path, body, 200);
	} else if (strcmp(argv[0], "get") == 0 && argc == 2) {
		body = NULL;
		j = call_json(c, "GET", path, NULL, 200);
	} else if (strcmp(argv[0], "rm") == 0 && argc == 2) {
		json_decref(call_json(c, "DELETE", path, NULL, 204));
		return 0;
	} else
		usage();
	print_json(j);
	json_decref(j);
	json_decref(body);
	return 0;
}

/* --- upload ---------------------------------------------------------------- */

static int
is_archive_name(const char *p)
{
	static const char *const ext[] = {
	    ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", NULL};
	size_t n = strlen(p), i;

	for (i = 0; ext[i] != NULL; i++) {
		size_t m = strlen(ext[i]);

		if (n > m && strcmp(p + n - m, ext[i]) == 0)
			return 1;
	}
	return 0;
}

static la_ssize_t
ar_write(struct archive *a, void *arg, const void *p, size_t n)
{
	(void)a;
	return buf_append(arg, p, n) == 0 ? (la_ssize_t)n : -1;
}

/* Packs a directory into a tar.gz in memory (regular files, dirs, links). */
static void
pack_dir(const char *dir, struct buf *out)
{
	struct archive *disk, *a;
	struct archive_entry *en;
	int r;

	a = archive_write_new();
	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open2(a, out, NULL, ar_write, NULL, NULL) !=
	    ARCHIVE_OK)
		die("archive: %s", archive_error_string(a));
	disk = archive_read_disk_new();
	archive_read_disk_set_standard_lookup(disk);
	archive_read_disk_set_behavior(
	    disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	if (chdir(dir) != 0)
		die("%s: %s", dir, strerror(errno));
	if (archive_read_disk_open(disk, ".") != ARCHIVE_OK)
		die("%s: %s", dir, archive_error_string(disk));
	for (;;) {
		char buf[65536];
		ssize_t n;
		int fd;

		en = archive_entry_new();
		r = archive_read_next_header2(disk, en);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(en);
			break;
		}
		if (r != ARCHIVE_OK)
			die("%s", archive_error_string(disk));
		archive_read_disk_descend(disk);
		if (strcmp(archive_entry_pathname(en), ".") == 0 ||
		    strstr(archive_entry_pathname(en), "/.git/") != NULL) {
			archive_entry_free(en);
			continue;
		}
		archive_entry_set_uid(en, 0);
		archive_entry_set_gid(en, 0);
		archive_entry_set_uname(en, NULL);
		archive_entry_set_gname(en, NULL);
		if (archive_write_header(a, en) != ARCHIVE_OK)
			die("%s", archive_error_string(a));
		if (archive_entry_filetype(en) == AE_IFREG) {
			if ((fd = open(archive_entry_sourcepath(en),
			         O_RDONLY | O_CLOEXEC)) < 0)
				die("%s: %s", archive_entry_sourcepath(en),
				    strerror(errno));
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				if (archive_write_data(a, buf, (size_t)n) < 0)
					die("%s", archive_error_string(a));
			close(fd);
		}
		archive_entry_free(en);
	}
	archive_read_close(disk);
	archive_read_free(disk);
	if (archive_write_close(a) != ARCHIVE_OK)
		die("%s", archive_error_string(a));
	archive_write_free(a);
}

static int
cmd_upload(struct cli *c, int argc, char **argv)
{
	struct stat st;
	struct buf body, out;
	char path[4096], *text = NULL;
	const char *id, *src, *base, *to = NULL;
	long status;
	size_t len;
	int i;

	if (argc < 2)
		usage();
	id = argv[0];
	src = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else
			usage();
	}
	if (stat(src, &st) != 0)
		die("%s: %s", src, strerror(errno));
	buf_init(&body, CLI_MAX_UPLOAD);
	buf_init(&out, CLI_MAX_REPLY);
	if (S_ISDIR(st.st_mode) || is_archive_name(src)) {
		if (S_ISDIR(st.st_mode)) {
			char cwd[4096];

			if (getcwd(cwd, sizeof(cwd)) == NULL)
				die("getcwd: %s", strerror(errno));
			pack_dir(src, &body);
			if (chdir(cwd) != 0)
				die("chdir: %s", strerror(errno));
		} else {
			if (petri_file_read(src, CLI_MAX_UPLOAD, &text, &len) !=
			    0)
				die("%s: cannot read", src);
			if (buf_append(&body, text, len) != 0)
				die("%s: too large", src);
			free(text);
		}
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/upload", id);
		status = call(c, "POST", path, body.data, body.len,
		    "application/octet-stream", &out);
	} else {
		if (petri_file_read(src, CLI_MAX_UPLOAD, &text, &len) != 0)
			die("%s: cannot read", src);
		base = strrchr(src, '/') != NULL ? strrchr(src, '/') + 1 : src;
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/files/%s%s%s",
		    id, to != NULL ? to : "", to != NULL ? "/" : "", base);
		status = call(c, "PUT", path, text, len,
		    "application/octet-stream", &out);
		free(text);
	}
	fwrite(out.data, 1, out.len, status == 201 ? stdout : stderr);
	printf("\n");
	buf_free(&body);
	buf_free(&out);
	return status == 201 ? 0 : 1;
}

/* --- exec ------------------------------------------------------------------ */

static void
sse_dispatch(struct sse_state *s)
{
	json_error_t jerr;
	json_t *d;

	if (s->event[0] == '\0')
		return;
	d = json_loadb(
	    (const char *)s->data.data, s->data.len, JSON_DECODE_ANY, &jerr);
	if (d != NULL) {
		if (strcmp(s->event, "stdout") == 0 && json_is_string(d)) {
			fwrite(json_string_value(d), 1, json_string_length(d),
			    stdout);
			fflush(stdout);
		} else if ((strcmp(s->event, "stderr") == 0 ||
		               strcmp(s->event, "install") == 0) &&
		    json_is_string(d)) {
			fwrite(json_string_value(d), 1, json_string_length(d),
			    stderr);
		} else if (strcmp(s->event, "exit") == 0) {
			json_t *x = json_object_get(d, "exit_code");

			s->got_exit = 1;
			s->exit_code =
			    json_is_integer(x) ? (int)json_integer_value(x) : 1;
			if (json_is_true(json_object_get(d, "timed_out")))
				fprintf(stderr, "petri: timed out\n");
			if (json_is_true(json_object_get(d, "oom_killed")))
				fprintf(stderr,
				    "petri: killed: out of "
				    "memory\n");
			if (json_is_true(json_object_get(d, "truncated")))
				fprintf(stderr, "petri: output truncated\n");
		}
		json_decref(d);
	}
	s->event[0] = '\0';
	buf_reset(&s->data);
}

static size_t
sse_chunk(char *p, size_t sz, size_t n, void *arg)
{
	struct sse_state *s = arg;
	size_t i, len = sz * n;

	for (i = 0; i < len; i++) {
		if (p[i] != '\n') {
			if (buf_append(&s->line, p + i, 1) != 0)
				return 0;
			continue;
		}
		if (s->line.len == 0)
			sse_dispatch(s);
		else if (s->line.len > 7 &&
		    memcmp(s->line.data, "event: ", 7) == 0) {
			size_t m = s->line.len - 7 < sizeof(s->event) - 1
			    ? s->line.len - 7
			    : sizeof(s->event) - 1;

			memcpy(s->event, s->line.data + 7, m);
			s->event[m] = '\0';
		} else if (s->line.len > 6 &&
		    memcmp(s->line.data, "data: ", 6) == 0) {
			if (buf_append(&s->data, s->line.data + 6,
			        s->line.len - 6) != 0)
				return 0;
		}
		buf_reset(&s->line);
	}
	return len;
}

static int
cmd_exec(struct cli *c, int argc, char **argv)
{
	struct sse_state s;
	struct curl_slist *h = NULL;
	const char *id;
	json_t *body, *av;
	char url[4096], auth[600], *text;
	int i, as_json = 0, fresh = 0, test = 0;
	const char *install = NULL;
	long timeout = -1, status = 0;
	CURL *cu;

	if (argc < 1)
		usage();
	id = argv[0];
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (strcmp(argv[i], "--fresh") == 0)
			fresh = 1;
		else if (strcmp(argv[i], "--test") == 0)
			test = 1;
		else if (strcmp(argv[i], "--install") == 0 && i + 1 < argc)
			install = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			long long v;

			if (petri_strtonum(argv[++i], 1, 3600000, &v) != 0)
				usage();
			timeout = (long)v;
		} else
			break;
	}
	if (i >= argc && !test)
		usage();
	body = json_object();
	if (test)
		json_object_set_new(body, "test", json_true());
	if (install != NULL)
		json_object_set_new(body, "install", json_string(install));
	if (i >= argc)
		; /* test mode without an app */
	else if (argc - i == 1 || test)
		json_object_set_new(body, "command", json_string(argv[i]));
	else {
		av = json_array();
		for (; i < argc; i++)
			json_array_append_new(av, json_string(argv[i]));
		json_object_set_new(body, "argv", av);
	}
	if (timeout > 0)
		json_object_set_new(body, "timeout_ms", json_integer(timeout));
	if (fresh)
		json_object_set_new(body, "fresh", json_true());
	snprintf(url, sizeof(url), "/v1/sandboxes/%s/exec", id);
	if (as_json) {
		json_t *r = call_json(c, "POST", url, body, 200);

		print_json(r);
		i = (int)json_integer_value(json_object_get(r, "exit_code"));
		json_decref(r);
		json_decref(body);
		return i;
	}
	/* streamed: Server-Sent Events */
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	snprintf(url, sizeof(url), "%s/v1/sandboxes/%s/exec", c->url, id);
	memset(&s, 0, sizeof(s));
	buf_init(&s.line, 8UL << 20);
	buf_init(&s.data, 8UL << 20);
	if ((cu = curl_easy_init()) == NULL || text == NULL)
		die("out of memory");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->key);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: text/event-stream");
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, sse_chunk);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L);
	if (curl_easy_perform(cu) != CURLE_OK)
		die("exec: connection failed");
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(cu);
	free(text);
	if (status != 200) {
		fwrite(s.line.data, 1, s.line.len, stderr);
		die("exec: HTTP %ld", status);
	}
	buf_free(&s.line);
	buf_free(&s.data);
	if (!s.got_exit)
		die("exec: the stream ended without an exit event");
	return s.exit_code;
}

/* --- main ------------------------------------------------------------------ */

static void
load_key(struct cli *c, const char *keyfile)
{
	const char *env = getenv("PETRI_API_KEY");
	char *text = NULL;
	size_t len;

	if (env != NULL && env[0] != '\0') {
		petri_strlcpy(c->key, env, sizeof(c->key));
		return;
	}
	if (keyfile == NULL)
		keyfile = getenv("PETRI_KEY_FILE");
	if (keyfile == NULL)
		keyfile = "var/admin.token";
	if (petri_file_read(keyfile, sizeof(c->key) - 1, &text, &len) != 0)
		die("no API key: set PETRI_API_KEY or pass -k KEYFILE (%s "
		    "unreadable)",
		    keyfile);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	petri_strlcpy(c->key, text, sizeof(c->key));
	free(text);
}

int
main(int argc, char **argv)
{
	struct cli c;
	const char *keyfile = NULL;
	char path[4096];
	json_t *j, *body;
	int ch, i, r = 0;

	memset(&c, 0, sizeof(c));
	c.url = getenv("PETRI_URL") != NULL ? getenv("PETRI_URL")
	                                    : "http://127.0.0.1:8080";
	while ((ch = getopt(argc, argv, "+u:k:h")) != -1) {
		switch (ch) {
		case 'u':
			c.url = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "admin") == 0 && argc >= 2 &&
	    strcmp(argv[1], "rotate-signing-key") != 0 &&
	    strcmp(argv[1], "blob-retention") != 0)
		return cli_admin_main(argc - 1, argv + 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	load_key(&c, keyfile);
	if (strcmp(argv[0], "sandbox") == 0 && argc >= 2) {
		if (strcmp(argv[1], "create") == 0 && argc >= 3) {
			json_t *labels = json_object();

			body = json_pack("{s:s}", "language", argv[2]);
			for (i = 3; i < argc; i++) {
				char *eq;

				if (strcmp(argv[i], "--label") == 0 &&
				    i + 1 < argc &&
				    (eq = strchr(argv[i + 1], '=')) != NULL) {
					*eq = '\0';
					json_object_set_new(labels, argv[i + 1],
					    json_string(eq + 1));
					i++;
				} else if (strcmp(argv[i], "--policy") == 0 &&
				    i + 1 < argc) {
					json_object_set_new(body, "policy",
					    json_string(argv[++i]));
				} else if (strcmp(argv[i], "--secret") == 0 &&
				    i + 1 < argc) {
					if (json_object_get(body, "secrets") ==
					    NULL)
						json_object_set_new(body,
						    "secrets", json_array());
					json_array_append_new(
					    json_object_get(body, "secrets"),
					    json_string(argv[++i]));
				} else if (strcmp(argv[i], "--ttl") == 0 &&
				    i + 1 < argc) {
					long long v;

					if (petri_strtonum(
					        argv[++i], 1, 1 << 30, &v) != 0)
						usage();
					json_object_set_new(body, "ttl_seconds",
					    json_integer(v));
				} else
					usage();
			}
			json_object_set_new(body, "labels", labels);
			j = call_json(&c, "POST", "/v1/sandboxes", body, 201);
			printf("%s\n",
			    json_string_value(json_object_get(j, "id")));
			json_decref(j);
			json_decref(body);
		} else if (strcmp(argv[1], "ls") == 0) {
			snprintf(path, sizeof(path), "/v1/sandboxes%s%s",
			    argc >= 4 && strcmp(argv[2], "--label") == 0
			        ? "?label="
			        : "",
			    argc >= 4 ? argv[3] : "");
			j = call_json(&c, "GET", path, NULL, 200);
			print_json(j);
			json_decref(j);
		} else if (strcmp(argv[1], "get") == 0 && argc == 3) {
			snprintf(
			    path, sizeof(path), "/v1/sandboxes/%s", argv[2]);
			j = call_json(&c, "GET", path, NULL, 200);
			print_json(j);
			json_decref(j);
		} else if (strcmp(argv[1], "rm") == 0 && argc == 3) {
			snprintf(
			    path, sizeof(path), "/v1/sandboxes/%s", argv[2]);
			json_decref(call_json(&c, "DELETE", path, NULL, 204));
		} else
			usage();
	} else if (strcmp(argv[0], "sync") == 0) {
		r = cli_sync_cmd(&c, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "mcp") == 0 && argc == 1) {
		r = cli_mcp_main(&c);
	} else if (strcmp(argv[0], "upload") == 0) {
		r = cmd_upload(&c, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "files") == 0 && argc >= 2) {
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/files%s%s",
		    argv[1], argc >= 3 ? "?path=" : "",
		    argc >= 3 ? argv[2] : "");
		j = call_json(&c, "GET", path, NULL, 200);
		print_json(j);
		json_decref(j);
	} else if (strcmp(argv[0], "download") == 0 && argc == 3) {
		struct buf out;
		long st;

		buf_init(&out, CLI_MAX_REPLY);
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/files/%s",
		    argv[1], argv[2]);
		st = call(&c, "GET", path, NULL, 0, NULL, &out);
		fwrite(out.data, 1, out.len, st == 200 ? stdout : stderr);
		r = st == 200 ? 0 : 1;
		buf_free(&out);
	} else if (strcmp(argv[0], "exec") == 0) {
		r = cmd_exec(&c, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "policy") == 0 && argc >= 2) {
		r = cmd_policy(&c, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "secret") == 0 && argc >= 2) {
		r = cmd_secret(&c, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "keys") == 0 && argc >= 2) {
		if (strcmp(argv[1], "create") == 0 && argc >= 3) {
			body = json_pack("{s:s}", "role", argv[2]);
			for (i = 3; i + 1 < argc; i += 2) {
				if (strcmp(argv[i], "--tenant") == 0)
					json_object_set_new(body, "tenant",
					    json_string(argv[i + 1]));
				else if (strcmp(argv[i], "--name") == 0)
					json_object_set_new(body, "name",
					    json_string(argv[i + 1]));
				else
					usage();
			}
			if (i != argc)
				usage();
			j = call_json(&c, "POST", "/v1/keys", body, 201);
			print_json(j);
			json_decref(j);
			json_decref(body);
		} else if (strcmp(argv[1], "ls") == 0) {
			j = call_json(&c, "GET", "/v1/keys", NULL, 200);
			print_json(j);
			json_decref(j);
		} else if (strcmp(argv[1], "rm") == 0 && argc == 3) {
			snprintf(path, sizeof(path), "/v1/keys/%s", argv[2]);
			json_decref(call_json(&c, "DELETE", path, NULL, 204));
		} else
			usage();
	} else if (strcmp(argv[0], "admin") == 0 && argc == 2 &&
	    strcmp(argv[1], "rotate-signing-key") == 0) {
		body = json_object();
		j = call_json(&c, "POST", "/v1/audit/rotate-key", body, 200);
		print_json(j);
		json_decref(j);
		json_decref(body);
	} else if (strcmp(argv[0], "admin") == 0 && argc == 4 &&
	    strcmp(argv[1], "blob-retention") == 0 &&
	    strcmp(argv[2], "--older-than-days") == 0) {
		long long days;

		if (petri_strtonum(argv[3], 1, 36500, &days) != 0)
			usage();
		body = json_pack("{s:I}", "older_than_days", (json_int_t)days);
		j = call_json(&c, "POST", "/v1/audit/retention", body, 200);
		print_json(j);
		json_decref(j);
		json_decref(body);
	} else
		usage();
	curl_global_cleanup();
	return r;
}
