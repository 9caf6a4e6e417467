/*
 * witness_main.c: petri-witness, a small C2SP tlog-witness.
 *
 *   petri-witness keygen NAME KEYFILE
 *   petri-witness serve --key KEYFILE --state DIR --listen ADDR:PORT
 *                       --log VKEY [--log VKEY ...] [--prefix /PATH]
 *
 * It serves POST <prefix>/add-checkpoint (witness.c decides) and nothing
 * else.  Bodies are bounded (AUDIT_WITNESS_REQ_MAX), connections are
 * limited and time out; the key never leaves sodium_malloc'd memory.
 * Logs and the witness itself need no other configuration: the log's
 * signature is the only authentication the protocol has.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "log.h"
#include "util.h"
#include "witness.h"

#define WITNESS_MAX_CONNECTIONS 64
#define WITNESS_CONN_TIMEOUT_SEC 10
#define WITNESS_PREFIX_MAX 256

static const char usage_text[] =
    "usage: petri-witness keygen NAME KEYFILE\n"
    "       petri-witness serve --key KEYFILE --state DIR --listen ADDR:PORT\n"
    "                           --log VKEY [--log VKEY ...] [--prefix /PATH]\n"
    "\n"
    "A C2SP tlog-witness: cosigns a log's checkpoints (cosignature/v1) only\n"
    "when they are signed by the log and consistent with the last one it\n"
    "cosigned.  keygen writes KEYFILE (mode 0600) and KEYFILE.pub and prints\n"
    "the witness's verifier key.  --log is a log's verifier key (a file or\n"
    "the text); its name is the log's origin.\n";

struct wsrv {
	struct witness *w;
	char path[WITNESS_PREFIX_MAX + 32]; /* <prefix>/add-checkpoint */
};

/* A request body being received. */
struct wreq {
	char *body;
	size_t len;
	int toobig;
};

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

static int
cmd_keygen(int argc, char **argv)
{
	unsigned char seed[AUDIT_SEED_LEN], pk[AUDIT_PUBKEY_LEN];
	unsigned char sk[AUDIT_SECKEY_LEN];
	char skey[AUDIT_SKEY_MAX], vkey[AUDIT_VKEY_MAX + 2], pub[4200];
	struct audit_key k;
	size_t n;
	int r;

	if (argc != 4)
		usage();
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	if (audit_cosigner_key_init(&k, argv[2], pk) != 0 ||
	    audit_cosigner_skey_format(argv[2], seed, skey, sizeof(skey) - 1) !=
	        0 ||
	    audit_cosigner_vkey_format(&k, vkey, sizeof(vkey) - 1) != 0)
		fatal("%s: not a valid witness name", argv[2]);
	sodium_memzero(seed, sizeof(seed));
	n = strlen(skey);
	skey[n++] = '\n';
	r = petri_file_write_atomic(argv[3], skey, n, 0600);
	sodium_memzero(skey, sizeof(skey));
	if (r != 0)
		fatal("%s: cannot write the key", argv[3]);
	n = strlen(vkey);
	vkey[n++] = '\n';
	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", argv[3]) >=
	        sizeof(pub) ||
	    petri_file_write_atomic(pub, vkey, n, 0644) != 0)
		fatal("%s.pub: cannot write the public key", argv[3]);
	fwrite(vkey, 1, n, stdout);
	return 0;
}

/* A file's first line, or the argument itself when it is no file. */
static char *
arg_text(const char *arg, size_t max, size_t *lenp)
{
	char *t = NULL;
	int r;

	r = petri_file_read(arg, max, &t, lenp);
	if (r == PETRI_ERR_NOTFOUND && strchr(arg, '+') != NULL) {
		if ((t = strdup(arg)) == NULL)
			fatal("out of memory");
		*lenp = strlen(t);
		return t;
	}
	if (r != 0)
		fatal("%s: %s", arg, petri_strerror(r));
	while (*lenp > 0 && t[*lenp - 1] == '\n')
		t[--*lenp] = '\0';
	return t;
}

static void
key_load(const char *path, struct audit_key *k, unsigned char *sk)
{
	char *t = NULL;
	size_t len = 0;
	int r;

	if ((r = petri_file_read(path, AUDIT_SKEY_MAX + 2, &t, &len)) != 0)
		fatal("%s: %s", path, petri_strerror(r));
	if (len > 0 && t[len - 1] == '\n')
		len--;
	r = audit_cosigner_skey_parse(t, len, sk, k);
	sodium_memzero(t, len);
	free(t);
	if (r != 0)
		fatal("%s: not a witness signer key", path);
}

static int
listen_parse(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1 ||
	    petri_strtonum(colon + 1, 1, 65535, &port) != 0)
		return -1;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

static enum MHD_Result
wsrv_reply(struct MHD_Connection *c, int status, const char *type,
    const char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(
	    len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
wsrv_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct wsrv *s = cls;
	struct wreq *q = *con_cls;
	struct witness_answer a;

	(void)version;
	if (q == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return MHD_NO;
		*con_cls = q;
		return MHD_YES;
	}
	if (*size > 0) {
		if (q->toobig || q->len + *size > AUDIT_WITNESS_REQ_MAX) {
			q->toobig = 1;
		} else {
			char *nb = realloc(q->body, q->len + *size + 1);

			if (nb == NULL)
				return MHD_NO;
			q->body = nb;
			memcpy(q->body + q->len, data, *size);
			q->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(url, s->path) != 0)
		return wsrv_reply(c, 404, "text/plain", "not found\n", 10);
	if (strcmp(method, "POST") != 0)
		return wsrv_reply(c, 405, "text/plain", "use POST\n", 9);
	if (q->toobig)
		return wsrv_reply(c, 413, "text/plain", "body too large\n", 15);
	witness_add_checkpoint(s->w, q->body != NULL ? q->body : "", q->len,
	    (uint64_t)time(NULL), &a);
	return wsrv_reply(c, a.status, a.type, a.body, a.len);
}

static void
wsrv_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode code)
{
	struct wreq *q = *con_cls;

	(void)cls;
	(void)c;
	(void)code;
	if (q != NULL) {
		free(q->body);
		free(q);
	}
	*con_cls = NULL;
}

/* Parses serve's options and follows the logs; exits on any error. */
static void
serve_setup(int argc, char **argv, struct wsrv *s, struct sockaddr_in *sa)
{
	const char *keyf = NULL, *state = NULL, *listen = NULL, *prefix = "";
	unsigned char *sk;
	struct audit_key k;
	char *t;
	size_t len;
	int i, r, nlogs = 0;

	for (i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--key") == 0)
			keyf = argv[++i];
		else if (strcmp(argv[i], "--state") == 0)
			state = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0)
			listen = argv[++i];
		else if (strcmp(argv[i], "--prefix") == 0)
			prefix = argv[++i];
		else if (strcmp(argv[i], "--log") == 0)
			i++, nlogs++;
		else
			usage();
	}
	if (keyf == NULL || state == NULL || listen == NULL || nlogs == 0 ||
	    strlen(prefix) >= WITNESS_PREFIX_MAX ||
	    (prefix[0] != '\0' && prefix[0] != '/'))
		usage();
	if (listen_parse(listen, sa) != 0)
		fatal("--listen: want IPv4ADDR:PORT");
	snprintf(s->path, sizeof(s->path), "%s/add-checkpoint",
	    strcmp(prefix, "/") == 0 ? "" : prefix);
	if ((sk = sodium_malloc(AUDIT_SECKEY_LEN)) == NULL)
		fatal("out of memory");
	key_load(keyf, &k, sk);
	r = witness_new(&k, sk, state, &s->w);
	sodium_free(sk);
	if (r != 0)
		fatal(
		    "%s: cannot open the state: %s", state, petri_strerror(r));
	for (i = 2; i < argc; i += 2) {
		if (strcmp(argv[i], "--log") != 0)
			continue;
		t = arg_text(argv[i + 1], AUDIT_VKEY_MAX + 2, &len);
		if ((r = witness_log_add(s->w, t, len)) != 0)
			fatal("--log %s: %s", argv[i + 1],
			    r == PETRI_ERR_STATE
			        ? "the saved checkpoint is not "
			          "that log's"
			        : petri_strerror(r));
		free(t);
	}
}

static int
cmd_serve(int argc, char **argv)
{
	struct wsrv s;
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	sigset_t set;
	int sig;

	memset(&s, 0, sizeof(s));
	serve_setup(argc, argv, &s, &sa);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
	    NULL, NULL, wsrv_access, &s, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)WITNESS_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)WITNESS_CONN_TIMEOUT_SEC,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, wsrv_completed, NULL, MHD_OPTION_END);
	if (d == NULL)
		fatal("cannot listen on that address");
	log_info("witness ready: POST %s", s.path);
	while (sigwait(&set, &sig) != 0)
		;
	log_info("witness stopping");
	MHD_stop_daemon(d);
	witness_free(s.w);
	return 0;
}

int
main(int argc, char **argv)
{
	log_init("petri-witness", 0);
	if (sodium_init() < 0)
		fatal("libsodium cannot start");
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc, argv);
	usage();
	return 2;
}
