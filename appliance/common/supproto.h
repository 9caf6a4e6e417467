/*
 * supproto.h: the frames between the engine and petri-init, the supervisor
 * that runs as PID 1 inside every sandbox container (docs/architecture.md,
 * "Executions").
 *
 * Pure: no I/O, no allocation, no library beyond memcpy/memset, so the
 * static petri-init and the engine compile the same file, and the fuzz
 * target runs it alone.  The engine treats what the supervisor sends as
 * untrusted (a program in the sandbox shares its uid); the supervisor
 * trusts the engine's socket but still bounds every frame.
 *
 * A frame is an 8-byte header and a payload:
 *   byte 0    SUP_PROTO_VERSION
 *   byte 1    type (enum sup_type)
 *   bytes 2-3 zero
 *   bytes 4-7 payload length, uint32 big-endian, at most SUP_FRAME_MAX
 * Integers in payloads are big-endian.  Payloads by type:
 *   HELLO    sup->eng  u32 version, u32 pid (its own, 1 as PID 1)
 *   START    eng->sup  u32 seq, u32 flags, u16 nargv, u16 nenv, then the
 *                      strings cwd, argv[nargv], env[nenv] ("K=V"), each
 *                      a u32 length and bytes without NUL; three
 *                      descriptors (stdin, stdout, stderr) ride along as
 *                      SCM_RIGHTS on the frame's first byte
 *   STARTED  sup->eng  u32 seq, i32 error (0, or the errno of a failed
 *                      fork), u32 pid
 *   SIGNAL   eng->sup  u32 seq, u32 signal; seq 0: every process but PID 1
 *   EXITED   sup->eng  u32 seq, i32 code (exit status, 128+N for signal N)
 *   KILLED   sup->eng  u32 seq (0), u32 count: answer to SIGNAL seq 0
 * A frame with another version, a non-zero reserved field, an unknown type
 * or a payload of the wrong size for its type is a protocol error.
 */
#ifndef PETRI_SUPPROTO_H
#define PETRI_SUPPROTO_H

#include <stddef.h>
#include <stdint.h>

#define SUP_PROTO_VERSION 1
#define SUP_HDR_LEN 8
#define SUP_FRAME_MAX (1024 * 1024) /* payload bytes */
#define SUP_MAX_ARGV 1024
#define SUP_MAX_ENV 512
#define SUP_MAX_STR (256 * 1024) /* one string */
/* what sup_start_decode() needs for its strings, NULs included */
#define SUP_ARENA_MAX (SUP_FRAME_MAX + SUP_MAX_ARGV + SUP_MAX_ENV + 1)

#define SUP_START_BACKGROUND 0x1 /* leftovers outlive the main process */
#define SUP_START_FLAGS 0x1 /* every flag defined */

/* Errors (the values of PETRI_ERR_INVAL/_TOOBIG/_PROTO, restated so the
 * static supervisor needs no other header). */
#define SUP_ERR_INVAL (-2)
#define SUP_ERR_TOOBIG (-3)
#define SUP_ERR_PROTO (-12)

enum sup_type {
	SUP_HELLO = 1,
	SUP_START = 2,
	SUP_STARTED = 3,
	SUP_SIGNAL = 4,
	SUP_EXITED = 5,
	SUP_KILLED = 6,
};

/* A parsed frame; payload points into the bytes given to the parser. */
struct sup_frame {
	int type;
	const uint8_t *payload;
	size_t len;
};

/* A decoded START; every string NUL-terminated in the caller's arena. */
struct sup_start {
	uint32_t seq;
	uint32_t flags;
	const char *cwd;
	char *argv[SUP_MAX_ARGV + 1]; /* NULL-terminated */
	char *env[SUP_MAX_ENV + 1]; /* NULL-terminated */
	size_t nargv, nenv;
};

/*
 * Parses one frame from p[0..n).  Returns 1 with *f set and *used the
 * frame's whole size, 0 when more bytes are needed (nothing consumed), or
 * SUP_ERR_PROTO (bad header, wrong payload size for the type) or
 * SUP_ERR_TOOBIG (payload over SUP_FRAME_MAX).
 */
int sup_frame_parse(
    const uint8_t *p, size_t n, struct sup_frame *f, size_t *used);

/*
 * Encodes a frame of type whose payload is nv 32-bit words v (HELLO,
 * STARTED, SIGNAL, EXITED, KILLED) into out[0..cap).  *len gets its size.
 * Returns 0, SUP_ERR_INVAL (type not of that kind, wrong word count) or
 * SUP_ERR_TOOBIG (cap too small).
 */
int sup_words_encode(int type, const uint32_t *v, size_t nv, uint8_t *out,
    size_t cap, size_t *len);

/*
 * Decodes the words of a frame of one of the types above into v[0..nv);
 * nv must be the type's word count.  Returns 0 or SUP_ERR_PROTO.
 */
int sup_words_decode(const struct sup_frame *f, uint32_t *v, size_t nv);

/* The number of payload words of a word-only type, or 0 for others. */
size_t sup_words_count(int type);

/*
 * Encodes a START frame into out[0..cap) from cwd, argv[0..nargv) and
 * env[0..nenv) (NUL-terminated strings).  *len gets its size.  Returns 0,
 * SUP_ERR_INVAL (no argv, too many strings, a bad flag) or SUP_ERR_TOOBIG
 * (a string over SUP_MAX_STR, or the frame over cap or SUP_FRAME_MAX).
 */
int sup_start_encode(uint32_t seq, uint32_t flags, const char *cwd,
    const char *const *argv, size_t nargv, const char *const *env, size_t nenv,
    uint8_t *out, size_t cap, size_t *len);

/*
 * Decodes a START frame into *s, copying its strings NUL-terminated into
 * arena[0..arenalen) (SUP_ARENA_MAX is always enough).  Returns 0 or
 * SUP_ERR_PROTO (not a START, bad counts or lengths, a NUL inside a
 * string, trailing bytes, unknown flags, empty argv) or SUP_ERR_TOOBIG
 * (arena too small).
 */
int sup_start_decode(const struct sup_frame *f, struct sup_start *s,
    char *arena, size_t arenalen);

#endif /* PETRI_SUPPROTO_H */
