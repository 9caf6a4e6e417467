/*
 * bounds.h: every limit Petri enforces, in one place.
 *
 * Each input from outside (HTTP, JSON, archives, Docker replies, peer frames)
 * is bounded by one of these before it is parsed.  Operators may lower some
 * of them in the configuration file; none may be raised past these values.
 */
#ifndef PETRI_BOUNDS_H
#define PETRI_BOUNDS_H

/* HTTP API */
#define API_MAX_CONNECTIONS 512
#define API_CONN_TIMEOUT_SEC 600
#define API_MAX_JSON_BODY (1024 * 1024) /* JSON request bodies */
#define API_MAX_UPLOAD_BODY (256UL << 20) /* raw/multipart uploads */
#define API_MAX_URL 4096
#define API_MAX_LABELS 32
#define API_MAX_ENV 128
#define API_MAX_ARGV 256
#define API_MAX_STR 65536 /* one JSON string field */
#define API_MAX_KEY_LEN 128 /* label/env keys */
#define API_POLICY_MAX (256 * 1024) /* one stored policy document */
#define API_POLICY_VERSIONS 1000 /* versions kept per policy name */
#define API_POLICIES_MAX 1000 /* policy names per tenant */
#define API_NETWORK_MAX 1000 /* calls listed in one exec answer */
#define API_MAX_PROMPT (256 * 1024)
#define API_MAX_CODE (4UL << 20) /* "code" exec field */
#define API_MAX_STDIN (4UL << 20)
#define API_MAX_LIST 1000 /* items in a listing answer */
#define API_SYNC_MAX_PENDING 64 /* planned delta syncs kept, all tenants */
#define API_SYNC_TTL_SEC 600 /* a planned sync's lifetime */

/* Workspaces, files and archives */
#define WS_MAX_PATH 1024 /* a relative path in a workspace */
#define WS_MAX_DEPTH 64 /* path components */
#define WS_MAX_NAME 255 /* one path component */
#define WS_MAX_FILE (64UL << 20) /* one file */
#define WS_MAX_ARCHIVE_ENTRIES 10000
#define WS_MAX_ARCHIVE_TOTAL (512UL << 20) /* sum of uncompressed sizes */
#define WS_MAX_ARCHIVE_RATIO 200 /* uncompressed / compressed */
#define WS_MAX_LIST_ENTRIES 10000
#define WS_MAX_DOWNLOAD (64UL << 20)

/* Execution */
#define EXEC_DEFAULT_TIMEOUT_MS 30000
#define EXEC_MAX_TIMEOUT_MS (3600 * 1000)
#define EXEC_DEFAULT_OUTPUT_MAX (1UL << 20) /* per stream, bytes kept */
#define EXEC_MAX_OUTPUT_MAX (4UL << 20) /* one IPC frame per blob */
#define EXEC_KILL_GRACE_MS 2000 /* after a kill, wait this long */
#define EXEC_MAX_BACKGROUND 32 /* running background execs/sandbox */
#define EXEC_INSTALL_TIMEOUT_MS (600 * 1000) /* one install step */
#define EXEC_INSTALL_LOG_MAX (1024 * 1024) /* its log, kept and answered */
#define EXEC_INSTALL_TAIL_MAX (256 * 1024) /* its last output past that */

/* Sandboxes */
#define SB_DEFAULT_TTL_SEC 3600
#define SB_MAX_TTL_SEC (7 * 24 * 3600)
#define SB_DEFAULT_MEMORY_MB 512
#define SB_MAX_MEMORY_MB 16384
#define SB_MIN_MEMORY_MB 16
#define SB_DEFAULT_CPUS 1.0
#define SB_MAX_CPUS 64.0
#define SB_DEFAULT_PIDS 256
#define SB_MAX_PIDS 32768
#define SB_MIN_PIDS 8
#define SB_DEFAULT_DISK_MB 1024
#define SB_MAX_DISK_MB 65536
#define SB_MIN_DISK_MB 16
#define SB_DEFAULT_TMP_MB 64
#define SB_MAX_PER_TENANT 256
#define SB_MAX_POOL 256 /* warm sandboxes per language */
#define SB_POOL_TENANT "__pool__" /* owner of unclaimed warm sandboxes */

/* Docker Engine API replies */
#define DOCKER_MAX_REPLY (4UL << 20)
#define DOCKER_TIMEOUT_MS 60000
#define DOCKER_CONNECT_TIMEOUT_MS 5000
#define DOCKER_MAX_FRAME (1UL << 20) /* one attach-stream frame */

/* IPC between petrid processes */
#define IPC_MAX_FRAME (8UL << 20)
#define IPC_MAX_JSON (4UL << 20)
#define IPC_MAX_PENDING 4096

/* IDs */
#define PETRI_ID_RANDOM_CHARS 24 /* base32 chars after the prefix */
#define PETRI_ID_MAX 40

/* API keys */
#define KEY_TOKEN_BYTES 32
#define KEY_MAX_PER_TENANT 100

/* Egress, as containers see it */
#define SANDBOX_PETRI_DIR "/etc/petri" /* <data>/public, read-only */
#define SANDBOX_CA_FILE SANDBOX_PETRI_DIR "/ca.pem"
#define SANDBOX_NO_PROXY "localhost,127.0.0.1,::1" /* its own loopback */
#define SB_PROXY_TOKEN_BYTES 24 /* random bytes of a proxy token */

#endif /* PETRI_BOUNDS_H */
