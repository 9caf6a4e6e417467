/*
 * proxyd.c: the proxy process (user _petri_prx).  It runs the egress proxy
 * (proxy/proxy.h) on the sandbox network's gateway address.  Everything
 * secret or persistent is behind the keeper: leaf certificates are signed
 * there (the CA key never comes here) and each credential is asked for,
 * one request at a time.  The api tells it where to listen and who the
 * sandboxes are (source address, proxy token, policy, secret names), and
 * hears of every request it handled.
 *
 * The process holds, at most, one credential per request in flight, in
 * locked memory that is wiped once the request is written; it is not
 * dumpable.
 */
#include <sys/prctl.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "egress_conf.h"
#include "dispatch.h"
#include "log.h"
#include "policy.h"
#include "procs.h"
#include "proto.h"
#include "proxy.h"
#include "util.h"

#define PRX_KEEPER_TIMEOUT_MS 10000

struct prx {
	struct proc_ctx *ctx;
	struct ipc_chan *api;
	struct ipc_chan *keeper;
	struct egress_conf *conf;
	struct registries *regs; /* the policies' "registries" presets */
	struct proxy_ident_table *idents;
	struct proxy_config pcfg;
	pthread_mutex_t lock; /* proxy, listen */
	struct proxy *proxy;
	char listen[ADDR_TEXT_MAX];
};

/* --- the keeper interface ------------------------------------------------- */

static int
prx_leaf_sign(void *ctx, const char *host, const unsigned char *spki,
    size_t spki_len, struct buf *chain)
{
	struct prx *x = ctx;
	struct ipc_msg m;
	int r;

	if ((r = ipc_request(x->keeper, MSG_KPR_LEAF,
	         json_pack("{s:s}", "host", host), spki, spki_len,
	         PRX_KEEPER_TIMEOUT_MS, &m)) != 0)
		return r;
	if ((r = proto_result(&m, NULL, 0)) == 0)
		r = m.datalen > 0 ? buf_append(chain, m.data, m.datalen)
		                  : PETRI_ERR_PROTO;
	ipc_msg_clear(&m);
	return r;
}

static int
prx_cred_get(
    void *ctx, const struct proxy_cred_req *req, struct proxy_cred *out)
{
	struct prx *x = ctx;
	struct ipc_msg m;
	json_error_t je;
	json_t *j;
	json_int_t vl = 0, rl = 0, el = 0;
	const char *header = NULL;
	int r;

	j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "sandbox", req->sandbox,
	    "secret", req->secret, "scheme", req->scheme, "host", req->host,
	    "port", (int)req->port, "method", req->method);
	if (j == NULL)
		return PETRI_ERR_NOMEM;
	if (req->placeholder != NULL)
		json_object_set_new(
		    j, "placeholder", json_string(req->placeholder));
	if (req->path != NULL)
		json_object_set_new(j, "path", json_string(req->path));
	r = ipc_request(
	    x->keeper, MSG_KPR_CRED, j, NULL, 0, PRX_KEEPER_TIMEOUT_MS, &m);
	json_decref(j);
	if (r != 0)
		return r;
	if ((r = proto_result(&m, NULL, 0)) == 0) {
		/* the keeper's answer, as do_cred() sends it */
		if (json_unpack_ex(m.json, &je, JSON_STRICT,
		        "{s:s, s:I, s:I, s:I}", "header", &header, "value_len",
		        &vl, "raw_len", &rl, "expect_len", &el) != 0 ||
		    vl < 0 || rl <= 0 || el < 0 || (size_t)vl > m.datalen ||
		    (size_t)rl > m.datalen || (size_t)el > m.datalen ||
		    (size_t)(vl + rl + el) != m.datalen)
			r = PETRI_ERR_PROTO;
		else
			r = proxy_cred_set(out, header, m.data, (size_t)vl,
			    m.data + vl, (size_t)rl,
			    el > 0 ? m.data + vl + rl : NULL, (size_t)el);
	}
	if (m.data != NULL)
		sodium_memzero(m.data, m.datalen);
	ipc_msg_clear(&m);
	return r;
}

static void
prx_report(void *ctx, const struct proxy_record *rec)
{
	struct prx *x = ctx;
	char ts[PETRI_TIME_MAX], first[PROXY_SECRET_NAME_MAX + 1];
	json_t *call, *names;
	const char *p, *c;
	size_t n;

	petri_time_rfc3339(rec->time_usec, ts);
	call = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:I, s:I, s:s, "
	                 "s:I, s:s, s:s, s:I}",
	    "time", ts, "method", rec->method, "scheme", rec->scheme, "host",
	    rec->host, "port", (int)rec->port, "path", rec->path, "status",
	    rec->status, "bytes_out", (json_int_t)rec->bytes_out, "bytes_in",
	    (json_int_t)rec->bytes_in, "decision", rec->decision, "rule",
	    (json_int_t)rec->rule, "reason", rec->reason, "src", rec->src,
	    "redactions", (json_int_t)rec->redactions);
	if (call == NULL)
		return;
	names = json_array();
	for (p = rec->secrets; *p != '\0'; p = *c != '\0' ? c + 1 : c) {
		c = strchr(p, ',');
		if (c == NULL)
			c = p + strlen(p);
		n = (size_t)(c - p);
		if (n > 0 && n < sizeof(first)) {
			memcpy(first, p, n);
			first[n] = '\0';
			json_array_append_new(names, json_string(first));
		}
	}
	if (json_array_size(names) > 0)
		json_object_set(call, "secret", json_array_get(names, 0));
	json_object_set_new(call, "secrets", names);
	if (ipc_send(x->api, MSG_PRX_REPORT, IPC_ID_SIDE_BIT, /* ours */
	        json_pack("{s:s, s:s, s:o}", "sandbox", rec->sandbox,
	            "policy_hash",
	            rec->policy_hash != NULL ? rec->policy_hash : "", "call",
	            call),
	        NULL, 0) != 0)
		log_warn("cannot report a request to the api");
	log_debug("%s %s %s://%s:%u%s -> %d %s%s%s", rec->sandbox, rec->method,
	    rec->scheme, rec->host, rec->port, rec->path, rec->status,
	    rec->decision, rec->reason[0] ? ": " : "", rec->reason);
}

/* --- requests of the api ---------------------------------------------------- */

/* Reads m strictly (dispatch_read()): a malformed message is fatal. */
#define prx_read(m, ...) dispatch_read((m), "proxy", __VA_ARGS__)

static void
prx_ok(struct prx *x, uint32_t id, json_t *j)
{
	if (ipc_send(x->api, MSG_OK, id, j, NULL, 0) != 0)
		log_warn("cannot answer the api");
	json_decref(j);
}

static void
prx_err(struct prx *x, uint32_t id, int code, const char *msg)
{
	if (proto_send_err(x->api, id, code, msg) != 0)
		log_warn("cannot answer the api");
}

static void
do_listen(void *arg, struct ipc_msg *m)
{
	struct prx *x = arg;
	const char *a = NULL;
	struct addr ad;
	int e;

	prx_read(m, "{s:s}", "address", &a);
	if (addr_parse(a, strlen(a), &ad) != 0) {
		prx_err(x, m->id, PETRI_ERR_INVAL, "bad listen address");
		return;
	}
	pthread_mutex_lock(&x->lock);
	if (x->proxy != NULL) {
		e = strcmp(x->listen, a) == 0 ? 0 : PETRI_ERR_STATE;
		pthread_mutex_unlock(&x->lock);
		if (e != 0)
			prx_err(x, m->id, e,
			    "the proxy already listens on another address");
		else
			prx_ok(x, m->id,
			    json_pack("{s:i}", "port", x->conf->port));
		return;
	}
	petri_strlcpy(x->listen, a, sizeof(x->listen));
	x->pcfg.listen_addr = x->listen;
	x->pcfg.listen_port = (uint16_t)x->conf->port;
	if ((e = proxy_new(&x->pcfg, &x->proxy)) == 0 &&
	    (e = proxy_start(x->proxy)) != 0) {
		proxy_free(x->proxy);
		x->proxy = NULL;
	}
	pthread_mutex_unlock(&x->lock);
	if (e != 0) {
		log_warn("cannot listen on %s:%d: %s", a, x->conf->port,
		    petri_strerror(e));
		prx_err(x, m->id, e, "the proxy cannot listen");
		return;
	}
	log_info("egress proxy listening on %s:%d", a, x->conf->port);
	prx_ok(x, m->id, json_pack("{s:i}", "port", x->conf->port));
}

/*
 * Reads one item of MSG_PRX_IDENT_SET's secrets (egress.c builds them:
 * {name, header?, placeholder?}) into *ref; a malformed item is fatal.
 * Returns 0, or -1 once a value too long is answered.
 */
static int
prx_secret_ref_read(struct prx *x, const struct ipc_msg *m, json_t *item,
    struct proxy_secret_ref *ref)
{
	const char *name = NULL, *header = NULL, *ph = NULL;
	json_error_t je;

	if (json_unpack_ex(item, &je, JSON_STRICT, "{s:s, s?s, s?s}", "name",
	        &name, "header", &header, "placeholder", &ph) != 0)
		dispatch_malformed(m, "proxy", je.text);
	if (petri_strlcpy(ref->name, name, sizeof(ref->name)) >=
	    sizeof(ref->name)) {
		prx_err(x, m->id, PETRI_ERR_INVAL, "bad secret name");
		return -1;
	}
	if (header != NULL &&
	    petri_strlcpy(ref->header, header, sizeof(ref->header)) >=
	        sizeof(ref->header)) {
		prx_err(x, m->id, PETRI_ERR_INVAL, "bad secret header");
		return -1;
	}
	if (ph != NULL &&
	    petri_strlcpy(ref->placeholder, ph, sizeof(ref->placeholder)) >=
	        sizeof(ref->placeholder)) {
		prx_err(x, m->id, PETRI_ERR_INVAL, "bad placeholder");
		return -1;
	}
	return 0;
}

static void
do_ident_set(void *arg, struct ipc_msg *m)
{
	struct prx *x = arg;
	const char *sb = NULL, *src = NULL, *tok = NULL;
	json_t *secrets = NULL, *s;
	struct proxy_secret_ref refs[PROXY_SECRETS_MAX];
	struct proxy_ident *id = NULL;
	struct policy *pol = NULL;
	char err[POLICY_ERR_MAX];
	size_t i;
	int e;

	memset(refs, 0, sizeof(refs));
	prx_read(m, "{s:s, s:s, s:s, s:o}", "sandbox", &sb, "src", &src,
	    "token", &tok, "secrets", &secrets);
	if (!json_is_array(secrets))
		dispatch_malformed(m, "proxy", "secrets: not an array");
	if (json_array_size(secrets) > PROXY_SECRETS_MAX || m->data == NULL) {
		prx_err(x, m->id, PETRI_ERR_INVAL, "bad identity");
		return;
	}
	json_array_foreach (secrets, i, s)
		if (prx_secret_ref_read(x, m, s, &refs[i]) != 0)
			return;
	if ((e = policy_parse((const char *)m->data, m->datalen, &x->regs->map,
	         &pol, err, sizeof(err))) != 0) {
		log_warn("%s: policy refused: %s", sb, err);
		prx_err(x, m->id, e, err);
		return;
	}
	if (proxy_ident_table_remove(x->idents, sb) == 0)
		log_debug("identity of %s replaced", sb);
	if ((e = proxy_ident_new(sb, src, tok, pol, refs,
	         json_array_size(secrets), &id)) != 0 ||
	    (e = proxy_ident_table_add(x->idents, id)) != 0) {
		sodium_memzero(refs, sizeof(refs));
		prx_err(x, m->id, e, "the identity was refused");
		return;
	}
	sodium_memzero(refs, sizeof(refs));
	log_debug("identity of %s at %s", sb, src);
	prx_ok(x, m->id, json_object());
}

static void
do_ident_del(void *arg, struct ipc_msg *m)
{
	struct prx *x = arg;
	const char *sb = NULL;

	prx_read(m, "{s:s}", "sandbox", &sb);
	if (proxy_ident_table_remove(x->idents, sb) != 0)
		prx_err(x, m->id, PETRI_ERR_NOTFOUND, "no identity");
	else
		prx_ok(x, m->id, json_object());
}

static void
do_exec_begin(void *arg, struct ipc_msg *m)
{
	struct prx *x = arg;
	const char *sb = NULL;

	prx_read(m, "{s:s}", "sandbox", &sb);
	if (proxy_ident_table_exec_begin(x->idents, sb) != 0)
		prx_err(x, m->id, PETRI_ERR_NOTFOUND, "no identity");
	else
		prx_ok(x, m->id, json_object());
}

static void
do_sync(void *arg, struct ipc_msg *m)
{
	/* reports are sent before the answers they precede */
	prx_read(m, "{}");
	prx_ok(arg, m->id, json_object());
}

/* What the proxy daemon does, for whom: its one caller is the api. */
static const struct dispatch_entry prx_handlers[] = {
    {MSG_PRX_LISTEN, PEER_API, do_listen, 0},
    {MSG_PRX_IDENT_SET, PEER_API, do_ident_set, 0},
    {MSG_PRX_IDENT_DEL, PEER_API, do_ident_del, 0},
    {MSG_PRX_EXEC_BEGIN, PEER_API, do_exec_begin, 0},
    {MSG_PRX_SYNC, PEER_API, do_sync, 0},
    {MSG_OK, PEER_API, dispatch_ignore, 0},
    {MSG_ERR, PEER_API, dispatch_ignore, 0},
};
#define PRX_NHANDLERS (sizeof(prx_handlers) / sizeof(prx_handlers[0]))

static void
prx_request(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	(void)c;
	if (m == NULL)
		return; /* the api is gone: the daemon is stopping */
	dispatch_get(prx_handlers, PRX_NHANDLERS, "proxy", "api", PEER_API, m)
	    ->fn(arg, m);
	if (m->data != NULL)
		sodium_memzero(m->data, m->datalen);
	ipc_msg_clear(m);
}

int
proxy_main(struct proc_ctx *ctx)
{
	struct prx x;
	char err[512];

	memset(&x, 0, sizeof(x));
	x.ctx = ctx;
	pthread_mutex_init(&x.lock, NULL);
	if (prctl(PR_SET_DUMPABLE, 0) != 0)
		fatal("prctl(PR_SET_DUMPABLE): cannot protect the proxy");
	if ((x.conf = calloc(1, sizeof(*x.conf))) == NULL)
		fatal("out of memory");
	if (egress_conf_parse(json_object_get(ctx->cfg.raw, "egress"), x.conf,
	        err, sizeof(err)) != 0)
		fatal("configuration: %s", err);
	x.conf->map.v = x.conf->ents;
	if ((x.regs = calloc(1, sizeof(*x.regs))) == NULL)
		fatal("out of memory");
	if (registries_parse(json_object_get(ctx->cfg.raw, "registries"),
	        x.regs, err, sizeof(err)) != 0)
		fatal("configuration: %s", err);
	if (proxy_ident_table_new(&x.idents) != 0)
		fatal("out of memory");
	x.pcfg.idents = x.idents;
	x.pcfg.keeper.ctx = &x;
	x.pcfg.keeper.leaf_sign = prx_leaf_sign;
	x.pcfg.keeper.cred_get = prx_cred_get;
	x.pcfg.keeper.report = prx_report;
	x.pcfg.resolver.ctx = &x.conf->map;
	x.pcfg.allow = &x.conf->allow;
	x.pcfg.upstream_ca_file = x.conf->upstream_ca_file[0] != '\0'
	    ? x.conf->upstream_ca_file
	    : NULL;
	x.pcfg.no_system_roots = !x.conf->system_roots;
	x.keeper = ipc_chan_new(PROC_FD_PROXY_KEEPER, "keeper", 0,
	    proto_proxy_from_keeper, proto_proxy_from_keeper_n, NULL, NULL);
	if (x.keeper == NULL || ipc_chan_start(x.keeper) != 0)
		fatal("cannot start the keeper channel");
	dispatch_require(prx_handlers, PRX_NHANDLERS, "proxy", "api", PEER_API,
	    proto_proxy_from_api, proto_proxy_from_api_n);
	x.api = ipc_chan_new(PROC_FD_PEER_API, "api", 1, proto_proxy_from_api,
	    proto_proxy_from_api_n, prx_request, &x);
	if (x.api == NULL || ipc_chan_start(x.api) != 0)
		fatal("cannot start the api channel");
	log_info("proxy ready");
	proc_wait_term();
	log_info("proxy stopping");
	pthread_mutex_lock(&x.lock);
	proxy_free(x.proxy);
	x.proxy = NULL;
	pthread_mutex_unlock(&x.lock);
	return 0;
}
