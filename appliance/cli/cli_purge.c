/*
 * cli_purge.c: `petri admin purge-instance` (cli_admin.h).  What a stopped
 * instance leaves on a host: its containers and networks (labelled
 * petri.instance=<id>, the id in DATA/instance), the INPUT rules that
 * closed the host to each network's bridge, and workspace mounts.  They
 * are adopted only when the same data directory starts again; this
 * removes them when it will not.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "cli_admin.h"
#include "datadir.h"
#include "util.h"

#define PURGE_REPLY_MAX (16UL << 20)
#define PURGE_RULES_MAX (1UL << 20)
#define PURGE_IPTABLES "/usr/sbin/iptables"

struct purge {
	const char *sock;
	char instance[17];
	int containers, networks, rules, mounts;
};

static size_t
purge_body(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;

	return buf_append(b, p, sz * n) == 0 ? sz * n : 0;
}

/*
 * One request to the Docker engine; *out (when not NULL) gets the parsed
 * JSON answer.  Returns the HTTP status, or -1 when there was none.
 */
static long
purge_docker(
    struct purge *pg, const char *method, const char *path, json_t **out)
{
	char url[1024];
	struct buf b;
	long status = -1;
	CURL *h;

	if (out != NULL)
		*out = NULL;
	if ((h = curl_easy_init()) == NULL)
		return -1;
	buf_init(&b, PURGE_REPLY_MAX);
	snprintf(url, sizeof(url), "http://docker%s", path);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, pg->sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, purge_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (out != NULL && status >= 200 && status < 300)
		*out = json_loadb(
		    (const char *)b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
	curl_easy_cleanup(h);
	buf_free(&b);
	return status;
}

/* GET of a list of objects labelled with the instance; NULL on error. */
static json_t *
purge_list(struct purge *pg, const char *what)
{
	char path[256];
	json_t *list = NULL;

	/* filters={"label":["petri.instance=<id>"]}, URL-encoded */
	snprintf(path, sizeof(path),
	    "/%s?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22petri.instance%%3D"
	    "%s%%22%%5D%%7D",
	    what, pg->instance);
	if (purge_docker(pg, "GET", path, &list) != 200 ||
	    !json_is_array(list)) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* Whether s is a Docker object id (64 lowercase hex). */
static int
purge_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
purge_containers(struct purge *pg)
{
	json_t *list, *c;
	char path[128];
	const char *id;
	size_t i;
	long st;

	if ((list = purge_list(pg, "containers/json")) == NULL)
		return -1;
	json_array_foreach (list, i, c) {
		id = json_string_value(json_object_get(c, "Id"));
		if (!purge_id_valid(id))
			continue;
		snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
		st = purge_docker(pg, "DELETE", path, NULL);
		if (st == 204 || st == 404)
			pg->containers++;
		else
			fprintf(stderr, "petri admin: container %.12s: %ld\n",
			    id, st);
	}
	json_decref(list);
	return 0;
}

/*
 * Deletes every INPUT rule on bridge (the ones petrid inserted: "-i
 * BRIDGE ..."): `iptables -S INPUT`, then `iptables -D INPUT ...` of each
 * line that names it.  Rules of other interfaces are left alone.
 */
static void
purge_rules(struct purge *pg, const char *bridge)
{
	char *rules = malloc(PURGE_RULES_MAX), *line, *next, *tok, *end;
	char *argv[40], want[48];
	size_t n;

	if (rules == NULL)
		return;
	snprintf(want, sizeof(want), " -i %s ", bridge);
	{
		char *const list[] = {
		    PURGE_IPTABLES, "-w", "-S", "INPUT", NULL};

		if (cli_admin_run(list, rules, PURGE_RULES_MAX) != 0) {
			fprintf(stderr,
			    "petri admin: iptables -S failed: the "
			    "host rules stay\n");
			goto out;
		}
	}
	for (line = rules; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "-A INPUT ", 9) != 0 ||
		    strstr(line, want) == NULL)
			continue;
		argv[0] = PURGE_IPTABLES;
		argv[1] = "-w";
		argv[2] = "-D";
		n = 3;
		/* rules petrid wrote carry no quoted argument */
		for (tok = line + 3; tok != NULL && *tok != '\0' &&
		     n < sizeof(argv) / sizeof(argv[0]) - 1;
		     tok = end) {
			if ((end = strchr(tok, ' ')) != NULL)
				*end++ = '\0';
			if (*tok != '\0')
				argv[n++] = tok;
		}
		argv[n] = NULL;
		if (cli_admin_run(argv, NULL, 0) == 0)
			pg->rules++;
	}
out:
	free(rules);
}

static int
purge_networks(struct purge *pg)
{
	json_t *list, *nw, *opt;
	char path[128], bridge[32];
	const char *id, *name;
	size_t i;
	long st;

	if ((list = purge_list(pg, "networks")) == NULL)
		return -1;
	json_array_foreach (list, i, nw) {
		id = json_string_value(json_object_get(nw, "Id"));
		if (!purge_id_valid(id))
			continue;
		opt = json_object_get(nw, "Options");
		name = json_string_value(
		    json_object_get(opt, "com.docker.network.bridge.name"));
		if (name != NULL && strlen(name) < sizeof(bridge) &&
		    strspn(name,
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		        "0123456789-_.") == strlen(name))
			petri_strlcpy(bridge, name, sizeof(bridge));
		else
			snprintf(bridge, sizeof(bridge), "br-%.12s", id);
		if (geteuid() == 0)
			purge_rules(pg, bridge);
		snprintf(path, sizeof(path), "/networks/%s", id);
		st = purge_docker(pg, "DELETE", path, NULL);
		if (st == 204 || st == 404)
			pg->networks++;
		else
			fprintf(stderr, "petri admin: network %.12s: %ld\n", id,
			    st);
	}
	json_decref(list);
	return 0;
}

/* Unmounts what is mounted on DATA/workspaces/<sandbox>. */
static void
purge_mounts(struct purge *pg, const char *data)
{
	char root[PATH_MAX], p[PATH_MAX];
	struct stat rst, st;
	struct dirent *de;
	DIR *d;

	if (petri_path_join(root, sizeof(root), data, "workspaces") != 0 ||
	    stat(root, &rst) != 0 || (d = opendir(root)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!petri_id_valid(de->d_name, "sb_") ||
		    petri_path_join(p, sizeof(p), root, de->d_name) != 0 ||
		    lstat(p, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		/* a mount point: another device than its parent */
		if (st.st_dev != rst.st_dev && umount2(p, MNT_DETACH) == 0)
			pg->mounts++;
	}
	closedir(d);
}

/* Reads DATA/instance (16 lowercase hex) into pg->instance. */
static int
purge_instance_read(struct purge *pg, const char *data)
{
	char path[PATH_MAX], *text = NULL;
	size_t len, i;
	int r = -1;

	if (petri_path_join(path, sizeof(path), data, "instance") != 0 ||
	    petri_file_read(path, 64, &text, &len) != 0)
		return -1;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len != 16)
		goto out;
	for (i = 0; i < 16; i++)
		if (!((text[i] >= '0' && text[i] <= '9') ||
		        (text[i] >= 'a' && text[i] <= 'f')))
			goto out;
	memcpy(pg->instance, text, 16);
	pg->instance[16] = '\0';
	r = 0;
out:
	free(text);
	return r;
}

int
cli_admin_purge(int argc, char **argv)
{
	struct purge pg;
	const char *data = NULL;
	int i, lockfd = -1, e, r = 1;

	memset(&pg, 0, sizeof(pg));
	pg.sock = "/var/run/docker.sock";
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
			data = argv[++i];
		else if (strcmp(argv[i], "--docker-socket") == 0 &&
		    i + 1 < argc)
			pg.sock = argv[++i];
		else
			data = NULL, i = argc;
	}
	if (data == NULL) {
		fprintf(stderr,
		    "usage: petri admin purge-instance --data-dir "
		    "DATA [--docker-socket PATH]\n");
		return 2;
	}
	if (purge_instance_read(&pg, data) != 0) {
		fprintf(stderr,
		    "petri admin: %s/instance: unreadable or not "
		    "an instance id\n",
		    data);
		return 1;
	}
	if ((e = datadir_lock(data, &lockfd)) != 0) {
		fprintf(stderr, "petri admin: %s: %s\n", data,
		    e == PETRI_ERR_STATE
		        ? "its petrid is running: stop it first"
		        : "cannot take its lock");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (purge_containers(&pg) != 0 || purge_networks(&pg) != 0) {
		fprintf(stderr,
		    "petri admin: the Docker engine at %s does not "
		    "answer\n",
		    pg.sock);
		goto out;
	}
	if (geteuid() == 0)
		purge_mounts(&pg, data);
	printf("purged instance %s: %d containers, %d networks, %d firewall "
	       "rules, %d workspace mounts removed\n",
	    pg.instance, pg.containers, pg.networks, pg.rules, pg.mounts);
	r = 0;
out:
	curl_global_cleanup();
	close(lockfd);
	return r;
}
