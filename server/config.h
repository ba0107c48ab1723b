/*
 * config.h — the daemon's settings, from flags and environment variables.
 *
 *   traind [--listen ADDR:PORT] [--db PATH] [--workers N] [--threads N] [--max-body BYTES]
 *          [--max-dataset-body BYTES] [--token T | --token-file F]
 *          [--read-token T | --read-token-file F] [--insecure] [--max-streams N]
 *          [--stream-keepalive SECONDS] [--tls-cert FILE --tls-key FILE]
 *          [--max-connections N] [--max-connections-per-ip N]
 *          [--client-timeout SECONDS] [--keep-versions N]
 *          [--memory-budget BYTES] [--events-keep N] [--allowed-hosts H1,H2]
 *          [--tls-priorities P] [--mpi] [--mpi-hostfile FILE] [--mpi-rank-bin PATH]
 *          [--mpi-interfaces LIST] [--mpi-allreduce K] [--mpi-heartbeat-timeout SECONDS]
 *          [--help] [--version]
 *
 * Each flag has an environment variable (TRAIND_LISTEN, TRAIND_DB,
 * TRAIND_WORKERS, TRAIND_THREADS, TRAIND_MAX_BODY, TRAIND_MAX_DATASET_BODY, TRAIND_TOKEN,
 * TRAIND_TOKEN_FILE, TRAIND_READ_TOKEN, TRAIND_READ_TOKEN_FILE,
 * TRAIND_INSECURE, TRAIND_MAX_STREAMS, TRAIND_STREAM_KEEPALIVE, TRAIND_TLS_CERT,
 * TRAIND_TLS_KEY, TRAIND_MAX_CONNECTIONS, TRAIND_MAX_CONNECTIONS_PER_IP,
 * TRAIND_CLIENT_TIMEOUT, TRAIND_KEEP_VERSIONS, TRAIND_MEMORY_BUDGET,
 * TRAIND_EVENTS_KEEP, TRAIND_ALLOWED_HOSTS, TRAIND_TLS_PRIORITIES, TRAIND_MPI,
 * TRAIND_MPI_HOSTFILE, TRAIND_MPI_RANK_BIN, TRAIND_MPI_INTERFACES,
 * TRAIND_MPI_ALLREDUCE, TRAIND_MPI_HEARTBEAT_TIMEOUT); a flag
 * beats its variable, a variable beats the default, and an empty variable
 * counts as unset. Values are parsed strictly: a bad one is an error, never a
 * fallback.
 *
 * A token file is read once, here; one trailing newline is dropped. A token
 * is 1..CONFIG_TOKEN_MAX-1 visible ASCII characters. A read-only token needs
 * a full token beside it, and must differ from it. The TLS certificate and
 * key come together or not at all; only their paths are kept here (main
 * reads the files, tls.h).
 */
#ifndef TRAIND_CONFIG_H
#define TRAIND_CONFIG_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TRAIND_NAME "traind"
#define TRAIND_VERSION "0.1.0"

#define CONFIG_DEFAULT_LISTEN "127.0.0.1:8080"
#define CONFIG_DEFAULT_DB "./traind.db"
#define CONFIG_DEFAULT_MAX_BODY (1u << 20)            /* 1 MiB */
#define CONFIG_DEFAULT_MAX_DATASET_BODY (256u << 20)  /* 256 MiB */
#define CONFIG_MAX_BYTES (1ull << 40)  /* largest accepted body limit: 1 TiB */
#define CONFIG_MAX_WORKERS 1024
#define CONFIG_MAX_THREADS 256 /* NN_MAX_THREADS */
#define CONFIG_PATH_MAX 4096
#define CONFIG_TOKEN_MAX 256
#define CONFIG_DEFAULT_MAX_STREAMS 256
#define CONFIG_MAX_STREAMS 4096
#define CONFIG_DEFAULT_KEEPALIVE 15 /* seconds */
#define CONFIG_MAX_KEEPALIVE 25     /* below the HTTP layer's 30 s idle timeout */
/* One thread serves each connection: the default bounds them at 1024, of
 * which one address may hold a quarter, so a single client (or a
 * slow-header attack from one host) cannot take every slot. */
#define CONFIG_DEFAULT_MAX_CONNECTIONS 1024u
#define CONFIG_DEFAULT_MAX_CONNECTIONS_PER_IP 256u
#define CONFIG_MAX_CONNECTIONS 16384u
#define CONFIG_DEFAULT_CLIENT_TIMEOUT 30u /* seconds */
#define CONFIG_MAX_CLIENT_TIMEOUT 3600u
#define CONFIG_MAX_KEEP_VERSIONS 100000u
#define CONFIG_DEFAULT_EVENTS_KEEP 1000000u /* about 50 MB of the database */
#define CONFIG_MAX_EVENTS_KEEP 1000000000u
#define CONFIG_ALLOWED_HOSTS_MAX 1024 /* bytes of the --allowed-hosts list */
/* TLS 1.2 and 1.3 only: 1.0 and 1.1 are deprecated (RFC 8996). */
#define CONFIG_DEFAULT_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define CONFIG_TLS_PRIORITIES_MAX 512
#define CONFIG_MPI_INTERFACES_MAX 256
#define CONFIG_MAX_MPI_ALLREDUCE 6u /* Open MPI 4.1's tuned allreduce algorithms */
#define CONFIG_DEFAULT_MPI_HEARTBEAT_TIMEOUT 60u /* seconds */

typedef struct {
  /* The address to bind: only this one (numeric IPv4 or IPv6, never a name). */
  struct sockaddr_storage listen_addr; /* sockaddr_in or sockaddr_in6 */
  socklen_t listen_addr_len;
  char listen_host[INET6_ADDRSTRLEN]; /* "127.0.0.1" or "::1", without brackets */
  uint16_t listen_port;               /* 0: the kernel picks a free port */
  char db_path[CONFIG_PATH_MAX];
  unsigned workers;        /* jobs trained at once, 1..CONFIG_MAX_WORKERS */
  unsigned threads;        /* compute threads the running jobs share, 1..CONFIG_MAX_THREADS */
  size_t max_body;         /* request bodies, except datasets */
  size_t max_dataset_body; /* dataset uploads (JSON or CSV) */
  char token[CONFIG_TOKEN_MAX];      /* "" : no access control at all */
  char read_token[CONFIG_TOKEN_MAX]; /* "" : none; else GET and predict only */
  int insecure;            /* serve a non-loopback address without a token */
  unsigned max_streams;    /* open event streams, 1..CONFIG_MAX_STREAMS */
  unsigned keepalive;      /* seconds between keepalives of an idle event stream */
  unsigned max_connections;        /* open at once, 1..CONFIG_MAX_CONNECTIONS */
  unsigned max_connections_per_ip; /* open at once from one address, likewise */
  unsigned client_timeout; /* seconds for a request's head, or of silence (http.h) */
  unsigned versions_kept;  /* newest weights versions kept per model, besides each
                            * job's last (store.h), 1..CONFIG_MAX_KEEP_VERSIONS */
  size_t memory_budget;    /* bytes training may take; 0: from the machine (budget.h) */
  unsigned events_kept;    /* newest events kept in the log, 1..CONFIG_MAX_EVENTS_KEEP */
  char tls_cert[CONFIG_PATH_MAX]; /* PEM certificate chain file; "" : plain HTTP */
  char tls_key[CONFIG_PATH_MAX];  /* its PEM private key file; set with tls_cert */
  char tls_priorities[CONFIG_TLS_PRIORITIES_MAX]; /* GnuTLS's, checked at start (tls.h) */
  /* Host names answered besides the loopback ones, lower-case, comma-separated;
   * "" : none (http_guard.h) */
  char allowed_hosts[CONFIG_ALLOWED_HOSTS_MAX];
  /* Data-parallel jobs ("ranks" > 1) on Open MPI (docs/distributed.md):
   * refused unless mpi is set, which --mpi-hostfile implies too. */
  int mpi;
  char mpi_hostfile[CONFIG_PATH_MAX];  /* mpirun --hostfile; "" : this machine */
  char mpi_rank_bin[CONFIG_PATH_MAX];  /* traind-rank; "" : beside traind */
  char mpi_interfaces[CONFIG_MPI_INTERFACES_MAX]; /* btl/oob_tcp_if_include; "" : lo
                                                   * without a hostfile, else Open MPI's */
  unsigned mpi_allreduce;         /* coll_tuned_allreduce_algorithm, 0..6 */
  unsigned mpi_heartbeat_timeout; /* seconds of silence before a run is killed */
  char mpi_version[32];           /* not a setting: main fills it from
                                   * `mpirun --version` when mpi is set */
} config;

typedef enum { CONFIG_RUN, CONFIG_HELP, CONFIG_VERSION } config_action;

/**
 * Fill cfg from the defaults, then env, then argv.
 * @param argv argv[0] is the program name; NULL-terminated like main's
 * @param env  "NAME=value" strings, NULL-terminated (main passes environ)
 * @param err  receives a one-line message naming the flag or variable at fault
 * @return CONFIG_RUN, CONFIG_HELP or CONFIG_VERSION (cfg is complete in all
 *         three), or -1 with err set
 */
int config_parse(config *cfg, int argc, char *const argv[], char *const env[], char *err,
                 size_t err_size);

/** @return the --help text, ending with a newline. */
const char *config_usage(void);

#endif
