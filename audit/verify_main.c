/*
 * verify_main.c: petri-verify, the auditor's offline verifier.  Needs only
 * the bundle and the log's public key; links jansson and libsodium only.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "bundle.h"
#include "checkpoint.h"
#include "cosig.h"
#include "record.h"
#include "tar.h"
#include "util.h"
#include "verify.h"

#define EXIT_USAGE 3
#define VERIFY_SMALL_FILE (64 * 1024)

#define VERIFY_MAX_WITNESSES 32

static const char usage_text[] =
    "usage: petri-verify BUNDLE.tar --key LOG.pub [--trusted CHECKPOINT]\n"
    "                    [--save-trusted FILE] [--partial] [--fast]\n"
    "                    [--witness VKEY ... [--quorum K]] [--tsa-cert PEM]\n"
    "                    [--threads N] [--json]\n"
    "       petri-verify compare --key LOG.pub CHECKPOINT CHECKPOINT\n"
    "       petri-verify inclusion --key LOG.pub --checkpoint CHECKPOINT\n"
    "                    --proof PROOF.json [--record RECORD] [--sig BASE64]\n"
    "       petri-verify consistency --key LOG.pub --old CHECKPOINT\n"
    "                    --new CHECKPOINT --proof PROOF.json\n"
    "       petri-verify show SEQ BUNDLE.tar [--key LOG.pub] [--json]\n"
    "\n"
    "Verifies a Petri audit bundle offline: every record's bytes, leaf hash,\n"
    "prev link, seq continuity and signature (following log.key_rotated from\n"
    "the pinned key), every checkpoint's signature and Merkle root, blobs, "
    "and\n"
    "consistency with a trusted checkpoint.\n"
    "\n"
    "  --key LOG.pub         the log's first public key (note verifier key,\n"
    "                        \"<origin>+<id>+<base64>\"), a file or the text\n"
    "  --trusted FILE        a checkpoint you hold: the bundle must contain "
    "it\n"
    "                        (smaller bundle: rollback; other root: fork)\n"
    "  --save-trusted FILE   after success, write the bundle's newest\n"
    "                        checkpoint to FILE (use it as --trusted next "
    "time)\n"
    "  --partial             accept a bundle that covers only part of the log\n"
    "  --fast                check per-record signatures only for unsealed\n"
    "                        records, key rotations and 1 in 64 others "
    "(sealed\n"
    "                        records stay authenticated by the checkpoints)\n"
    "  --witness VKEY        a witness's verifier key (cosignature/v1), a\n"
    "                        file or the text; repeat for each witness\n"
    "  --quorum K            cosignatures by distinct --witness keys the\n"
    "                        newest checkpoint needs (default: all)\n"
    "  --tsa-cert PEM        check the RFC 3161 timestamps of checkpoints\n"
    "                        against the TSA's issuing certificate(s)\n"
    "  --threads N           worker threads (default: all CPUs)\n"
    "  --json                machine-readable output\n"
    "\n"
    "  inclusion    checks one record's inclusion proof against a checkpoint\n"
    "               (RECORD: the exact record bytes; one final newline is\n"
    "               ignored; --sig: the record's base64 signature)\n"
    "  consistency  checks that OLD is a prefix of NEW\n"
    "  compare      two checkpoints the log signed for the same size must\n"
    "               have the same root; different roots prove a fork\n"
    "  show         prints record SEQ of a bundle (and checks its signature\n"
    "               against --key)\n"
    "\n"
    "Exit status: 0 verified (all records sealed by a checkpoint); 1 a check\n"
    "failed (the first bad seq and the reason are printed); 2 verified, but\n"
    "some records come after the newest checkpoint (unsealed); 3 usage or I/O\n"
    "error.\n";

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EXIT_USAGE);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("petri-verify: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

/* Reads a small file whole (NUL-terminated). */
static char *
read_small(const char *path, size_t *lenp)
{
	char *p = NULL;
	int r;

	if ((r = petri_file_read(path, VERIFY_SMALL_FILE, &p, lenp)) != 0)
		die("%s: %s", path, petri_strerror(r));
	return p;
}

/* A verifier key from a file (one line) or given literally. */
static void
load_key(const char *arg, struct audit_key *k)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	r = petri_file_read(arg, VERIFY_SMALL_FILE, &text, &len);
	if (r == PETRI_ERR_NOTFOUND && strchr(arg, '+') != NULL) {
		if (audit_vkey_parse(arg, strlen(arg), k) != 0)
			die("--key: not a note verifier key");
		return;
	}
	if (r != 0)
		die("%s: %s", arg, petri_strerror(r));
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (audit_vkey_parse(text, len, k) != 0)
		die("%s: not a note verifier key (<name>+<id>+<base64>)", arg);
	free(text);
}

/* A witness's cosigner verifier key from a file or given literally. */
static void
load_witness(const char *arg, struct audit_key *k)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	r = petri_file_read(arg, VERIFY_SMALL_FILE, &text, &len);
	if (r == PETRI_ERR_NOTFOUND && strchr(arg, '+') != NULL) {
		if (audit_cosigner_vkey_parse(arg, strlen(arg), k) != 0)
			die("--witness: not a witness verifier key");
		return;
	}
	if (r != 0)
		die("%s: %s", arg, petri_strerror(r));
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (audit_cosigner_vkey_parse(text, len, k) != 0)
		die("%s: not a witness verifier key (cosignature/v1)", arg);
	free(text);
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
status_word(int status)
{
	return status == AUDIT_VERIFY_OK      ? "ok"
	    : status == AUDIT_VERIFY_UNSEALED ? "unsealed"
	                                      : "failed";
}

static void
print_json(const char *path, const struct audit_verify_result *res, double secs)
{
	char root[2 * AUDIT_HASH_LEN + 1];
	json_t *j, *f;
	char *s;

	petri_hex(res->root, AUDIT_HASH_LEN, root);
	if (res->status == AUDIT_VERIFY_FAILED)
		f = json_pack("{s:s, s:o, s:s}", "code",
		    audit_finding_name(res->first.code), "seq",
		    res->first.seq >= 0 ? json_integer(res->first.seq)
		                        : json_null(),
		    "message", res->first.msg);
	else
		f = json_null();
	j = json_pack(
	    "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, "
	    "s:i, s:i, s:I, s:I, s:i, s:i, s:i, s:s, s:b, s:i, s:I, s:o, "
	    "s:f, s:f}",
	    "bundle", path, "result", status_word(res->status), "origin",
	    res->origin, "from", (json_int_t)res->from, "to",
	    (json_int_t)res->to, "records", (json_int_t)res->records, "sealed",
	    (json_int_t)res->sealed, "unsealed", (json_int_t)res->unsealed,
	    "tree_size", (json_int_t)res->tree_size, "root", root,
	    "checkpoints", (int)res->checkpoints, "key_rotations",
	    (int)res->key_rotations, "signatures_checked",
	    (json_int_t)res->sigs_checked, "signatures_skipped",
	    (json_int_t)res->sigs_skipped, "blobs", (int)res->blobs,
	    "blobs_erased", (int)res->blobs_erased, "blobs_unreferenced",
	    (int)res->blobs_unreferenced, "trusted",
	    res->trusted_checked ? "consistent" : "none", "partial",
	    res->partial, "cosignatures", res->cosignatures, "timestamp_size",
	    (json_int_t)res->timestamp_size, "finding", f, "seconds", secs,
	    "records_per_second", secs > 0 ? (double)res->records / secs : 0.0);
	if (j == NULL || (s = json_dumps(j, JSON_INDENT(2))) == NULL)
		die("out of memory");
	puts(s);
	free(s);
	json_decref(j);
}

static void
print_text(const char *path, const struct audit_verify_result *res, double secs)
{
	char root[2 * AUDIT_HASH_LEN + 1];

	petri_hex(res->root, AUDIT_HASH_LEN, root);
	printf("petri-verify: %s\n", path);
	if (res->origin[0] != '\0')
		printf("  log          %s\n", res->origin);
	if (res->to > res->from)
		printf("  records      %llu..%llu (%llu verified, %llu sealed, "
		       "%llu unsealed)%s\n",
		    (unsigned long long)res->from,
		    (unsigned long long)res->to - 1,
		    (unsigned long long)res->records,
		    (unsigned long long)res->sealed,
		    (unsigned long long)res->unsealed,
		    res->partial ? " [partial bundle]" : "");
	if (res->checkpoints > 0)
		printf("  tree         size %llu, root %s\n"
		       "  checkpoints  %zu verified\n",
		    (unsigned long long)res->tree_size, root, res->checkpoints);
	if (res->key_rotations > 0)
		printf("  keys         %zu rotation(s) followed\n",
		    res->key_rotations);
	printf("  signatures   %llu checked",
	    (unsigned long long)res->sigs_checked);
	if (res->sigs_skipped > 0)
		printf(", %llu skipped (--fast)",
		    (unsigned long long)res->sigs_skipped);
	printf("\n  blobs        %zu verified, %zu erased by record, %zu "
	       "unreferenced\n",
	    res->blobs, res->blobs_erased, res->blobs_unreferenced);
	if (res->trusted_checked)
		printf(
		    "  trusted      consistent with the pinned checkpoint\n");
	if (res->timestamp_size > 0) {
		char ts[PETRI_TIME_MAX];

		petri_time_rfc3339(res->timestamp_time * 1000000, ts);
		printf(
		    "  timestamp    checkpoint %llu stamped by the TSA at %s\n",
		    (unsigned long long)res->timestamp_size, ts);
	} else if (res->timestamps > 0)
		printf("  timestamps   %zu (not checked: no --tsa-cert)\n",
		    res->timestamps);
	if (res->cosignatures > 0)
		printf("  witnesses    %d valid cosignature(s) on the newest "
		       "checkpoint\n",
		    res->cosignatures);
	switch (res->status) {
	case AUDIT_VERIFY_OK:
		printf("OK: every record verified and sealed (%llu records, "
		       "%.2f s)\n",
		    (unsigned long long)res->records, secs);
		break;
	case AUDIT_VERIFY_UNSEALED:
		printf("UNSEALED: %llu record(s) after the newest checkpoint "
		       "(seq %llu on) are signed but not sealed; not a pass\n",
		    (unsigned long long)res->unsealed,
		    (unsigned long long)res->tree_size);
		break;
	default:
		if (res->first.seq >= 0)
			printf("FAILED at seq %lld: [%s] %s\n",
			    (long long)res->first.seq,
			    audit_finding_name(res->first.code),
			    res->first.msg);
		else
			printf("FAILED: [%s] %s\n",
			    audit_finding_name(res->first.code),
			    res->first.msg);
	}
}

static int
cmd_verify(int argc, char **argv)
{
	struct audit_verify_opts o;
	struct audit_verify_result res;
	struct audit_key wit[VERIFY_MAX_WITNESSES];
	const char *bundle = NULL, *save = NULL, *key = NULL;
	char *trusted = NULL;
	long long threads, quorum = -1;
	double t0, secs;
	int i, json = 0, r;

	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else if (strcmp(argv[i], "--trusted") == 0 && i + 1 < argc)
			trusted = read_small(argv[++i], &o.trusted_len);
		else if (strcmp(argv[i], "--save-trusted") == 0 && i + 1 < argc)
			save = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			if (petri_strtonum(argv[++i], 1, 64, &threads) != 0)
				die("--threads: 1..64");
			o.threads = (int)threads;
		} else if (strcmp(argv[i], "--witness") == 0 && i + 1 < argc) {
			if (o.nwitnesses == VERIFY_MAX_WITNESSES)
				die("--witness: at most %d",
				    VERIFY_MAX_WITNESSES);
			load_witness(argv[++i], &wit[o.nwitnesses++]);
		} else if (strcmp(argv[i], "--quorum") == 0 && i + 1 < argc) {
			if (petri_strtonum(argv[++i], 1, VERIFY_MAX_WITNESSES,
			        &quorum) != 0)
				die("--quorum: 1..%d", VERIFY_MAX_WITNESSES);
		} else if (strcmp(argv[i], "--tsa-cert") == 0 && i + 1 < argc)
			o.tsa_ca_file = argv[++i];
		else if (strcmp(argv[i], "--partial") == 0)
			o.partial = 1;
		else if (strcmp(argv[i], "--fast") == 0)
			o.fast = 1;
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-' || bundle != NULL)
			usage();
		else
			bundle = argv[i];
	}
	if (bundle == NULL || key == NULL)
		usage();
	if (quorum > (long long)o.nwitnesses)
		die("--quorum %lld: only %zu --witness key(s)", quorum,
		    o.nwitnesses);
	o.witnesses = wit;
	o.quorum = quorum > 0 ? (int)quorum : (int)o.nwitnesses;
	load_key(key, &o.key);
	o.trusted = trusted;
	t0 = now_sec();
	if ((r = audit_verify_file(bundle, &o, &res)) != 0)
		die("%s: %s", bundle, petri_strerror(r));
	secs = now_sec() - t0;
	if (json)
		print_json(bundle, &res, secs);
	else
		print_text(bundle, &res, secs);
	if (save != NULL && res.status != AUDIT_VERIFY_FAILED &&
	    res.checkpoint != NULL) {
		if (petri_file_write_atomic(
		        save, res.checkpoint, res.checkpoint_len, 0644) != 0)
			die("%s: cannot write", save);
		if (!json)
			printf(
			    "saved the newest checkpoint (size %llu) to %s\n",
			    (unsigned long long)res.tree_size, save);
	}
	r = res.status;
	audit_verify_result_free(&res);
	free(trusted);
	return r;
}

static struct audit_checkpoint
load_checkpoint(const char *path, const struct audit_key *k)
{
	struct audit_checkpoint cp;
	size_t len;
	char *text = read_small(path, &len);
	int r;

	if ((r = audit_checkpoint_verify(text, len, k, &cp)) != 0) {
		printf("FAILED: %s: %s\n", path,
		    r == PETRI_ERR_NOTFOUND     ? "not signed by the key"
		        : r == PETRI_ERR_CRYPTO ? "bad signature"
		                                : "not a checkpoint");
		exit(AUDIT_VERIFY_FAILED);
	}
	free(text);
	return cp;
}

static struct audit_proof_doc
load_proof(const char *path, int type)
{
	struct audit_proof_doc d;
	size_t len;
	char *text = read_small(path, &len);

	if (audit_proof_parse(text, len, &d) != 0 || d.type != type)
		die("%s: not a %s proof", path,
		    type == 1 ? "inclusion" : "consistency");
	free(text);
	return d;
}

static int
cmd_inclusion(int argc, char **argv)
{
	struct audit_key k;
	struct audit_checkpoint cp;
	struct audit_proof_doc d;
	const char *key = NULL, *cpf = NULL, *prf = NULL, *recf = NULL;
	const char *sig64 = NULL, *sigkey = NULL;
	struct audit_key sk;
	unsigned char leaf[AUDIT_HASH_LEN], sig[AUDIT_SIG_LEN];
	int i;

	for (i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--key") == 0)
			key = argv[++i];
		else if (strcmp(argv[i], "--checkpoint") == 0)
			cpf = argv[++i];
		else if (strcmp(argv[i], "--proof") == 0)
			prf = argv[++i];
		else if (strcmp(argv[i], "--record") == 0)
			recf = argv[++i];
		else if (strcmp(argv[i], "--sig") == 0)
			sig64 = argv[++i];
		else if (strcmp(argv[i], "--sig-key") == 0)
			sigkey = argv[++i];
		else
			usage();
	}
	if (key == NULL || cpf == NULL || prf == NULL)
		usage();
	load_key(key, &k);
	cp = load_checkpoint(cpf, &k);
	d = load_proof(prf, 1);
	memcpy(leaf, d.leaf, AUDIT_HASH_LEN);
	if (recf != NULL) {
		char *rec = NULL;
		size_t len = 0;
		int r;

		if ((r = petri_file_read(
		         recf, AUDIT_RECORD_MAX + 1, &rec, &len)) != 0)
			die("%s: %s", recf, petri_strerror(r));
		if (len > 0 && rec[len - 1] == '\n')
			len--;
		audit_record_leaf(rec, len, leaf);
		free(rec);
		if (sodium_memcmp(leaf, d.leaf, AUDIT_HASH_LEN) != 0) {
			printf("FAILED: the record's leaf hash is not the "
			       "proof's\n");
			return AUDIT_VERIFY_FAILED;
		}
	}
	if (sig64 != NULL) {
		if (audit_b64_decode(sig64, strlen(sig64), sig, sizeof(sig)) !=
		    0)
			die("--sig: not a base64 Ed25519 signature");
		sk = k;
		if (sigkey != NULL)
			load_key(sigkey, &sk);
		if (audit_record_sig_verify(leaf, sig, sk.pub) != 0) {
			printf("FAILED: signature of seq %llu does not verify "
			       "with the key\n",
			    (unsigned long long)d.index);
			return AUDIT_VERIFY_FAILED;
		}
	}
	if (d.tree_size != cp.size) {
		printf("FAILED: proof is for tree size %llu, checkpoint is "
		       "%llu\n",
		    (unsigned long long)d.tree_size,
		    (unsigned long long)cp.size);
		return AUDIT_VERIFY_FAILED;
	}
	if (audit_merkle_inclusion_verify(
	        leaf, d.index, d.tree_size, &d.proof, cp.root) != 0) {
		printf("FAILED: seq %llu is not included in the checkpoint "
		       "of size %llu\n",
		    (unsigned long long)d.index, (unsigned long long)cp.size);
		return AUDIT_VERIFY_FAILED;
	}
	printf("OK: seq %llu is included in %s at size %llu%s%s\n",
	    (unsigned long long)d.index, cp.origin, (unsigned long long)cp.size,
	    recf != NULL ? " (record bytes checked)" : "",
	    sig64 != NULL ? " (signature checked)" : "");
	return AUDIT_VERIFY_OK;
}

static int
cmd_consistency(int argc, char **argv)
{
	struct audit_key k;
	struct audit_checkpoint a, b;
	struct audit_proof_doc d;
	const char *key = NULL, *oldf = NULL, *newf = NULL, *prf = NULL;
	const char *oldkey = NULL;
	struct audit_key ok;
	int i;

	for (i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--key") == 0)
			key = argv[++i];
		else if (strcmp(argv[i], "--old") == 0)
			oldf = argv[++i];
		else if (strcmp(argv[i], "--new") == 0)
			newf = argv[++i];
		else if (strcmp(argv[i], "--proof") == 0)
			prf = argv[++i];
		else if (strcmp(argv[i], "--old-key") == 0)
			oldkey = argv[++i];
		else
			usage();
	}
	if (key == NULL || oldf == NULL || newf == NULL || prf == NULL)
		usage();
	load_key(key, &k);
	ok = k;
	if (oldkey != NULL)
		load_key(oldkey, &ok);
	a = load_checkpoint(oldf, &ok);
	b = load_checkpoint(newf, &k);
	d = load_proof(prf, 2);
	if (strcmp(a.origin, b.origin) != 0 || d.old_size != a.size ||
	    d.new_size != b.size) {
		printf("FAILED: proof and checkpoints do not match (logs or "
		       "sizes differ)\n");
		return AUDIT_VERIFY_FAILED;
	}
	if (b.size < a.size) {
		printf("FAILED: rollback: the new checkpoint (%llu) is smaller "
		       "than the old (%llu)\n",
		    (unsigned long long)b.size, (unsigned long long)a.size);
		return AUDIT_VERIFY_FAILED;
	}
	if (audit_merkle_consistency_verify(
	        a.size, b.size, a.root, b.root, &d.proof) != 0) {
		printf("FAILED: fork: the checkpoint of size %llu is not a "
		       "prefix of the one of size %llu\n",
		    (unsigned long long)a.size, (unsigned long long)b.size);
		return AUDIT_VERIFY_FAILED;
	}
	printf("OK: %s size %llu is a prefix of size %llu\n", a.origin,
	    (unsigned long long)a.size, (unsigned long long)b.size);
	return AUDIT_VERIFY_OK;
}

/* Two checkpoints of one log: the same size must mean the same root. */
static int
cmd_compare(int argc, char **argv)
{
	struct audit_key k;
	struct audit_checkpoint a, b;
	char ra[AUDIT_B64_LEN(AUDIT_HASH_LEN)],
	    rb[AUDIT_B64_LEN(AUDIT_HASH_LEN)];

	if (argc != 6 || strcmp(argv[2], "--key") != 0)
		usage();
	load_key(argv[3], &k);
	a = load_checkpoint(argv[4], &k);
	b = load_checkpoint(argv[5], &k);
	if (strcmp(a.origin, b.origin) != 0)
		die("the checkpoints are of two logs");
	if (a.size != b.size) {
		printf("checkpoints of sizes %llu and %llu: use `petri-verify "
		       "consistency` with a proof between them\n",
		    (unsigned long long)a.size, (unsigned long long)b.size);
		return EXIT_USAGE;
	}
	if (sodium_memcmp(a.root, b.root, AUDIT_HASH_LEN) != 0) {
		if (audit_b64_encode(a.root, AUDIT_HASH_LEN, ra, sizeof(ra)) !=
		        0 ||
		    audit_b64_encode(b.root, AUDIT_HASH_LEN, rb, sizeof(rb)) !=
		        0)
			die("out of memory");
		printf("FAILED: [fork] %s signed two different trees of size "
		       "%llu:\n  %s\n  %s\n",
		    a.origin, (unsigned long long)a.size, ra, rb);
		return AUDIT_VERIFY_FAILED;
	}
	printf("OK: both checkpoints are the tree of size %llu\n",
	    (unsigned long long)a.size);
	return AUDIT_VERIFY_OK;
}

static int
cmd_show(int argc, char **argv)
{
	struct audit_tar tar;
	struct audit_bundle_manifest m;
	struct audit_record rec;
	struct audit_key k;
	const struct audit_tar_entry *man, *recs, *sigs;
	unsigned char leaf[AUDIT_HASH_LEN], sig[AUDIT_SIG_LEN];
	char hex[2 * AUDIT_HASH_LEN + 1], b64[AUDIT_B64_LEN(AUDIT_SIG_LEN)];
	const char *key = NULL, *path = NULL, *p, *end, *nl;
	const char *line = NULL;
	size_t len = 0, mlen = 0;
	long long seq;
	uint64_t i, sseq;
	char *data = NULL, *s;
	int a, json = 0, have_sig = 0, r = AUDIT_VERIFY_OK;

	if (argc < 4 || petri_strtonum(argv[2], 0, INT64_MAX, &seq) != 0)
		usage();
	for (a = 3; a < argc; a++) {
		if (strcmp(argv[a], "--key") == 0 && a + 1 < argc)
			key = argv[++a];
		else if (strcmp(argv[a], "--json") == 0)
			json = 1;
		else if (argv[a][0] == '-' || path != NULL)
			usage();
		else
			path = argv[a];
	}
	if (path == NULL)
		usage();
	{
		struct stat st;
		int fd;

		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size == 0)
			die("%s: cannot read", path);
		mlen = (size_t)st.st_size;
		data = mmap(NULL, mlen, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (data == MAP_FAILED)
			die("%s: cannot map", path);
	}
	if (audit_tar_index(data, mlen, AUDIT_BUNDLE_MAX_MEMBERS, &tar) != 0 ||
	    (man = audit_tar_find(&tar, AUDIT_BUNDLE_MANIFEST)) == NULL ||
	    (recs = audit_tar_find(&tar, AUDIT_BUNDLE_RECORDS)) == NULL ||
	    (sigs = audit_tar_find(&tar, AUDIT_BUNDLE_SIGS)) == NULL ||
	    audit_bundle_manifest_parse(man->data, (size_t)man->size, &m) != 0)
		die("%s: not an audit bundle", path);
	if ((uint64_t)seq < m.from || (uint64_t)seq >= m.to)
		die("seq %lld is not in this bundle (%llu..%lld)", seq,
		    (unsigned long long)m.from, (long long)m.to - 1);
	p = (const char *)recs->data;
	end = p + recs->size;
	for (i = m.from;
	     p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	     i++, p = nl + 1)
		if (i == (uint64_t)seq) {
			line = p;
			len = (size_t)(nl - p);
			break;
		}
	p = (const char *)sigs->data;
	end = p + sigs->size;
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	     p = nl + 1)
		if (audit_bundle_sig_parse(p, (size_t)(nl - p), &sseq, sig) ==
		        0 &&
		    sseq == (uint64_t)seq) {
			have_sig = 1;
			break;
		}
	if (line == NULL)
		die("seq %lld: record missing from the bundle", seq);
	if (audit_record_parse(line, len, &rec, NULL) != 0) {
		printf("seq %lld: record bytes do not parse\n", seq);
		return AUDIT_VERIFY_FAILED;
	}
	audit_record_leaf(line, len, leaf);
	petri_hex(leaf, AUDIT_HASH_LEN, hex);
	if (have_sig)
		sodium_bin2base64(b64, sizeof(b64), sig, AUDIT_SIG_LEN,
		    sodium_base64_VARIANT_ORIGINAL);
	if ((s = json_dumps(rec.json, JSON_INDENT(2))) == NULL)
		die("out of memory");
	if (json)
		printf(
		    "{\"record\":%.*s,\"leaf_hash\":\"%s\",\"sig\":\"%s\"}\n",
		    (int)len, line, hex, have_sig ? b64 : "");
	else
		printf("%s\nleaf hash  %s\nsignature  %s\n", s, hex,
		    have_sig ? b64 : "(missing)");
	free(s);
	if (key != NULL) {
		load_key(key, &k);
		if (!have_sig ||
		    audit_record_sig_verify(leaf, sig, k.pub) != 0) {
			printf("signature  does NOT verify with %s\n", k.name);
			r = AUDIT_VERIFY_FAILED;
		} else if (!json)
			printf("signature  valid for this key\n");
	}
	audit_record_clear(&rec);
	audit_tar_free(&tar);
	munmap(data, mlen);
	return r;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		die("libsodium failed to start");
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "inclusion") == 0)
		return cmd_inclusion(argc, argv);
	if (strcmp(argv[1], "consistency") == 0)
		return cmd_consistency(argc, argv);
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(argc, argv);
	if (strcmp(argv[1], "compare") == 0)
		return cmd_compare(argc, argv);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	return cmd_verify(argc, argv);
}
