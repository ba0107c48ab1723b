/* config.c — flags and environment variables into a config, strictly. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

#define ERR_MAX 256

typedef int (*option_setter)(config *cfg, const char *value, char *err, size_t err_size);

static int set_listen(config *cfg, const char *value, char *err, size_t err_size);
static int set_db(config *cfg, const char *value, char *err, size_t err_size);
static int set_workers(config *cfg, const char *value, char *err, size_t err_size);
static int set_threads(config *cfg, const char *value, char *err, size_t err_size);
static int set_max_body(config *cfg, const char *value, char *err, size_t err_size);
static int set_max_dataset_body(config *cfg, const char *value, char *err, size_t err_size);
static int set_token(config *cfg, const char *value, char *err, size_t err_size);
static int set_token_file(config *cfg, const char *value, char *err, size_t err_size);
static int set_read_token(config *cfg, const char *value, char *err, size_t err_size);
static int set_read_token_file(config *cfg, const char *value, char *err, size_t err_size);
static int set_insecure(config *cfg, const char *value, char *err, size_t err_size);
static int set_max_streams(config *cfg, const char *value, char *err, size_t err_size);
static int set_keepalive(config *cfg, const char *value, char *err, size_t err_size);
static int set_tls_cert(config *cfg, const char *value, char *err, size_t err_size);
static int set_tls_key(config *cfg, const char *value, char *err, size_t err_size);
static int set_max_connections(config *cfg, const char *value, char *err, size_t err_size);
static int set_max_connections_per_ip(config *cfg, const char *value, char *err,
                                      size_t err_size);
static int set_client_timeout(config *cfg, const char *value, char *err, size_t err_size);
static int set_keep_versions(config *cfg, const char *value, char *err, size_t err_size);
static int set_memory_budget(config *cfg, const char *value, char *err, size_t err_size);
static int set_events_keep(config *cfg, const char *value, char *err, size_t err_size);
static int set_allowed_hosts(config *cfg, const char *value, char *err, size_t err_size);
static int set_tls_priorities(config *cfg, const char *value, char *err, size_t err_size);
static int set_mpi(config *cfg, const char *value, char *err, size_t err_size);
static int set_mpi_hostfile(config *cfg, const char *value, char *err, size_t err_size);
static int set_mpi_rank_bin(config *cfg, const char *value, char *err, size_t err_size);
static int set_mpi_interfaces(config *cfg, const char *value, char *err, size_t err_size);
static int set_mpi_allreduce(config *cfg, const char *value, char *err, size_t err_size);
static int set_mpi_heartbeat_timeout(config *cfg, const char *value, char *err,
                                     size_t err_size);

/* Every setting, once: its flag, its variable, and how to parse it. A switch
 * takes no value on the command line (its variable holds 0 or 1). */
static const struct {
  const char *flag;
  const char *env;
  option_setter set;
  int is_switch;
} options[] = {
    {"--listen", "TRAIND_LISTEN", set_listen, 0},
    {"--db", "TRAIND_DB", set_db, 0},
    {"--workers", "TRAIND_WORKERS", set_workers, 0},
    {"--threads", "TRAIND_THREADS", set_threads, 0},
    {"--max-body", "TRAIND_MAX_BODY", set_max_body, 0},
    {"--max-dataset-body", "TRAIND_MAX_DATASET_BODY", set_max_dataset_body, 0},
    {"--token", "TRAIND_TOKEN", set_token, 0},
    {"--token-file", "TRAIND_TOKEN_FILE", set_token_file, 0},
    {"--read-token", "TRAIND_READ_TOKEN", set_read_token, 0},
    {"--read-token-file", "TRAIND_READ_TOKEN_FILE", set_read_token_file, 0},
    {"--insecure", "TRAIND_INSECURE", set_insecure, 1},
    {"--max-streams", "TRAIND_MAX_STREAMS", set_max_streams, 0},
    {"--stream-keepalive", "TRAIND_STREAM_KEEPALIVE", set_keepalive, 0},
    {"--tls-cert", "TRAIND_TLS_CERT", set_tls_cert, 0},
    {"--tls-key", "TRAIND_TLS_KEY", set_tls_key, 0},
    {"--max-connections", "TRAIND_MAX_CONNECTIONS", set_max_connections, 0},
    {"--max-connections-per-ip", "TRAIND_MAX_CONNECTIONS_PER_IP", set_max_connections_per_ip, 0},
    {"--client-timeout", "TRAIND_CLIENT_TIMEOUT", set_client_timeout, 0},
    {"--keep-versions", "TRAIND_KEEP_VERSIONS", set_keep_versions, 0},
    {"--memory-budget", "TRAIND_MEMORY_BUDGET", set_memory_budget, 0},
    {"--events-keep", "TRAIND_EVENTS_KEEP", set_events_keep, 0},
    {"--allowed-hosts", "TRAIND_ALLOWED_HOSTS", set_allowed_hosts, 0},
    {"--tls-priorities", "TRAIND_TLS_PRIORITIES", set_tls_priorities, 0},
    {"--mpi", "TRAIND_MPI", set_mpi, 1},
    {"--mpi-hostfile", "TRAIND_MPI_HOSTFILE", set_mpi_hostfile, 0},
    {"--mpi-rank-bin", "TRAIND_MPI_RANK_BIN", set_mpi_rank_bin, 0},
    {"--mpi-interfaces", "TRAIND_MPI_INTERFACES", set_mpi_interfaces, 0},
    {"--mpi-allreduce", "TRAIND_MPI_ALLREDUCE", set_mpi_allreduce, 0},
    {"--mpi-heartbeat-timeout", "TRAIND_MPI_HEARTBEAT_TIMEOUT", set_mpi_heartbeat_timeout, 0},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

const char *config_usage(void) {
  return "usage: traind [options]\n"
         "\n"
         "  --listen ADDR:PORT        address to serve on (TRAIND_LISTEN; default "
         CONFIG_DEFAULT_LISTEN ")\n"
         "                            numeric only: 127.0.0.1:8080, 0.0.0.0:8080, [::1]:8080;\n"
         "                            port 0 picks a free port and prints it\n"
         "  --db PATH                 SQLite database file (TRAIND_DB; default " CONFIG_DEFAULT_DB
         ")\n"
         "  --workers N               jobs trained at once (TRAIND_WORKERS; default: online\n"
         "                            cores)\n"
         "  --threads N               compute threads the running jobs share, split evenly\n"
         "                            (TRAIND_THREADS; default: online cores)\n"
         "  --max-body BYTES          request body limit (TRAIND_MAX_BODY; default 1M)\n"
         "  --max-dataset-body BYTES  dataset upload limit (TRAIND_MAX_DATASET_BODY;\n"
         "                            default 256M)\n"
         "  --token TOKEN             require \"Authorization: Bearer TOKEN\" on /v1 and\n"
         "                            /metrics (TRAIND_TOKEN); /healthz stays open\n"
         "  --token-file FILE         read the token from FILE (TRAIND_TOKEN_FILE)\n"
         "  --read-token TOKEN        a second token for GET and predict only; other\n"
         "                            writes answer 403 (TRAIND_READ_TOKEN)\n"
         "  --read-token-file FILE    read it from FILE (TRAIND_READ_TOKEN_FILE)\n"
         "  --insecure                serve a non-loopback address without a token\n"
         "                            (TRAIND_INSECURE=1); refused otherwise\n"
         "  --max-streams N           event streams open at once; more answer 503\n"
         "                            (TRAIND_MAX_STREAMS; default 256, at most 4096)\n"
         "  --stream-keepalive SECONDS  idle seconds before an event stream gets a\n"
         "                            keepalive comment (TRAIND_STREAM_KEEPALIVE;\n"
         "                            default 15, 1 to 25)\n"
         "  --tls-cert FILE           serve HTTPS with this PEM certificate (chain)\n"
         "                            (TRAIND_TLS_CERT); needs --tls-key\n"
         "  --tls-key FILE            its PEM private key, unencrypted (TRAIND_TLS_KEY)\n"
         "  --max-connections N       connections open at once, one thread each\n"
         "                            (TRAIND_MAX_CONNECTIONS; default 1024)\n"
         "  --max-connections-per-ip N\n"
         "                            of which one client address may hold\n"
         "                            (TRAIND_MAX_CONNECTIONS_PER_IP; default 256)\n"
         "  --client-timeout SECONDS  close a connection that takes longer to send a\n"
         "                            request's headers, or is silent that long\n"
         "                            (TRAIND_CLIENT_TIMEOUT; default 30)\n"
         "  --keep-versions N         newest weights versions kept per model, besides\n"
         "                            the last of each job (TRAIND_KEEP_VERSIONS;\n"
         "                            default 10)\n"
         "  --memory-budget BYTES     memory that training may take: larger models and\n"
         "                            jobs answer 422, and queued jobs wait until the\n"
         "                            running ones leave room (TRAIND_MEMORY_BUDGET;\n"
         "                            default: half the machine's memory or cgroup limit)\n"
         "  --events-keep N           newest events kept in the event log, older ones\n"
         "                            pruned as new ones come (TRAIND_EVENTS_KEEP;\n"
         "                            default 1000000)\n"
         "  --allowed-hosts H1,H2     Host names answered besides localhost, 127.0.0.1\n"
         "                            and [::1] (TRAIND_ALLOWED_HOSTS); on a loopback\n"
         "                            address other names answer 403 (DNS rebinding)\n"
         "  --tls-priorities P        GnuTLS priority string (TRAIND_TLS_PRIORITIES;\n"
         "                            default " CONFIG_DEFAULT_TLS_PRIORITIES ",\n"
         "                            TLS 1.2 and 1.3)\n"
         "  --mpi                     allow jobs with \"ranks\" > 1, run data-parallel\n"
         "                            by mpirun on this machine (TRAIND_MPI=1)\n"
         "  --mpi-hostfile FILE       mpirun's hostfile for them; implies --mpi\n"
         "                            (TRAIND_MPI_HOSTFILE)\n"
         "  --mpi-rank-bin PATH       the rank program (TRAIND_MPI_RANK_BIN; default\n"
         "                            traind-rank beside traind)\n"
         "  --mpi-interfaces LIST     TCP interfaces of the ranks, e.g. eth0 or\n"
         "                            10.0.0.0/24 (TRAIND_MPI_INTERFACES; default lo\n"
         "                            without a hostfile, else Open MPI's choice)\n"
         "  --mpi-allreduce K         Open MPI's allreduce algorithm, 0 to 6, pinned so\n"
         "                            runs repeat bit for bit (TRAIND_MPI_ALLREDUCE;\n"
         "                            default 1, basic linear)\n"
         "  --mpi-heartbeat-timeout SECONDS  kill a run whose rank 0 is silent that\n"
         "                            long (TRAIND_MPI_HEARTBEAT_TIMEOUT; default 60)\n"
         "  --help                    print this help and exit\n"
         "  --version                 print the version and exit\n"
         "\n"
         "BYTES is a decimal count, optionally with a K, M or G suffix (powers of 1024).\n"
         "Flags override environment variables; an empty variable counts as unset.\n";
}

/* Decimal digits only (no sign, no spaces), value <= max. */
static int parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *out) {
  if (len == 0) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    unsigned d = (unsigned)(s[i] - '0');
    if (d > max || v > (max - d) / 10) return -1; /* d > max: max - d would wrap */
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

static int parse_bytes(const char *s, size_t *out, char *err, size_t err_size) {
  size_t len = strlen(s);
  uint64_t unit = 1;
  if (len > 0) {
    switch (s[len - 1]) {
      case 'k': case 'K': unit = 1ull << 10; break;
      case 'm': case 'M': unit = 1ull << 20; break;
      case 'g': case 'G': unit = 1ull << 30; break;
      default: break;
    }
  }
  if (unit != 1) len--;
  uint64_t v;
  if (parse_decimal(s, len, CONFIG_MAX_BYTES / unit, &v) < 0 || v == 0) {
    snprintf(err, err_size, "'%s' is not a byte count between 1 and 1T (e.g. 1048576 or 1M)", s);
    return -1;
  }
  *out = (size_t)(v * unit);
  return 0;
}

static int set_listen(config *cfg, const char *s, char *err, size_t err_size) {
  char host[INET6_ADDRSTRLEN];
  const char *host_start = s, *port;
  size_t host_len;
  int bracketed = s[0] == '[';
  if (bracketed) {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':') goto bad;
    host_start = s + 1;
    host_len = (size_t)(close - host_start);
    port = close + 2;
  } else {
    const char *colon = strrchr(s, ':');
    if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL) goto bad;
    host_len = (size_t)(colon - s);
    port = colon + 1;
  }
  if (host_len == 0 || host_len >= sizeof host) goto bad;
  memcpy(host, host_start, host_len);
  host[host_len] = '\0';

  uint64_t port_value;
  if (parse_decimal(port, strlen(port), 65535, &port_value) < 0) goto bad;

  struct sockaddr_storage addr;
  socklen_t addr_len;
  memset(&addr, 0, sizeof addr);
  if (bracketed) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) goto bad;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port_value);
    addr_len = sizeof *a6;
    inet_ntop(AF_INET6, &a6->sin6_addr, cfg->listen_host, sizeof cfg->listen_host);
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) goto bad;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port_value);
    addr_len = sizeof *a4;
    inet_ntop(AF_INET, &a4->sin_addr, cfg->listen_host, sizeof cfg->listen_host);
  }
  cfg->listen_addr = addr;
  cfg->listen_addr_len = addr_len;
  cfg->listen_port = (uint16_t)port_value;
  return 0;

bad:
  snprintf(err, err_size,
           "'%s' is not a numeric HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080; port 0-65535)",
           s);
  return -1;
}

/* out has CONFIG_PATH_MAX bytes. */
static int set_path(char *out, const char *s, char *err, size_t err_size) {
  size_t len = strlen(s);
  if (len == 0 || len >= CONFIG_PATH_MAX) {
    snprintf(err, err_size, "the path must have 1 to %d bytes", CONFIG_PATH_MAX - 1);
    return -1;
  }
  memcpy(out, s, len + 1);
  return 0;
}

static int set_db(config *cfg, const char *s, char *err, size_t err_size) {
  return set_path(cfg->db_path, s, err, err_size);
}

static int set_tls_cert(config *cfg, const char *s, char *err, size_t err_size) {
  return set_path(cfg->tls_cert, s, err, err_size);
}

static int set_tls_key(config *cfg, const char *s, char *err, size_t err_size) {
  return set_path(cfg->tls_key, s, err, err_size);
}

/* Checked against GnuTLS at start (tls.h); here only its size. */
static int set_tls_priorities(config *cfg, const char *s, char *err, size_t err_size) {
  size_t len = strlen(s);
  if (len == 0 || len >= sizeof cfg->tls_priorities) {
    snprintf(err, err_size, "the priority string must have 1 to %zu bytes",
             sizeof cfg->tls_priorities - 1);
    return -1;
  }
  memcpy(cfg->tls_priorities, s, len + 1);
  return 0;
}

/* A comma-separated list of host names or addresses as a Host header names
 * them, without a port: letters, digits, '-', '.', or an IPv6 address in
 * brackets. Kept as given, lower-cased, for http_guard. */
static int set_allowed_hosts(config *cfg, const char *s, char *err, size_t err_size) {
  size_t len = strlen(s);
  if (len >= sizeof cfg->allowed_hosts) {
    snprintf(err, err_size, "the list must have at most %zu bytes", sizeof cfg->allowed_hosts - 1);
    return -1;
  }
  for (const char *p = s;; p++) {
    size_t n = strcspn(p, ",");
    bool v6 = n >= 3 && p[0] == '[' && p[n - 1] == ']';
    size_t ok = v6 ? 2 + strspn(p + 1, "0123456789abcdefABCDEF:.")
                   : strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.");
    if (n == 0 || ok < n || (!v6 && memchr(p, ':', n) != NULL)) {
      snprintf(err, err_size, "'%.*s' is not a host name (e.g. example.com or [fd00::1], no port)",
               (int)n, p);
      return -1;
    }
    p += n;
    if (*p == '\0') break;
  }
  for (size_t i = 0; i <= len; i++) cfg->allowed_hosts[i] = (char)tolower((unsigned char)s[i]);
  return 0;
}

/* An integer in 1..max. */
static int parse_count(const char *s, unsigned max, unsigned *out, char *err, size_t err_size) {
  uint64_t v;
  if (parse_decimal(s, strlen(s), max, &v) < 0 || v == 0) {
    snprintf(err, err_size, "'%s' is not an integer between 1 and %u", s, max);
    return -1;
  }
  *out = (unsigned)v;
  return 0;
}

static int set_workers(config *cfg, const char *s, char *err, size_t err_size) {
  return parse_count(s, CONFIG_MAX_WORKERS, &cfg->workers, err, err_size);
}

static int set_max_connections(config *cfg, const char *s, char *err, size_t err_size) {
  return parse_count(s, CONFIG_MAX_CONNECTIONS, &cfg->max_connections, err, err_size);
}

static int set_max_connections_per_ip(config *cfg, const char *s, char *err, size_t err_size) {
  return parse_count(s, CONFIG_MAX_CONNECTIONS, &cfg->max_connections_per_ip, err, err_size);
}

static int set_client_timeout(config *cfg, const char *s, char *err, size_t err_size) {
  return parse_count(s, CONFIG_MAX_CLIENT_TIMEOUT, &cfg->client_timeout, err, err_size);
}

static int set_keep_versions(config *cfg, const char *s, char *err, size_t err_size) {
  return parse_count(s, CONFIG_MAX_KEEP_VERSIONS, &cfg->versions_kept, err, err_size);
}

static int set_memory_budget(config *cfg, const char *s, char *err, size_t err_size) {
  return parse_bytes(s, &cfg->memory_budget, err, err_size);
}

static int set_events_keep(config *cfg, const char *s, char *err, size_t err_size) {
  return parse_count(s, CONFIG_MAX_EVENTS_KEEP, &cfg->events_kept, err, err_size);
}

static int set_threads(config *cfg, const char *s, char *err, size_t err_size) {
  uint64_t v;
  if (parse_decimal(s, strlen(s), CONFIG_MAX_THREADS, &v) < 0 || v == 0) {
    snprintf(err, err_size, "'%s' is not an integer between 1 and %d", s, CONFIG_MAX_THREADS);
    return -1;
  }
  cfg->threads = (unsigned)v;
  return 0;
}

static int set_max_body(config *cfg, const char *s, char *err, size_t err_size) {
  return parse_bytes(s, &cfg->max_body, err, err_size);
}

static int set_max_dataset_body(config *cfg, const char *s, char *err, size_t err_size) {
  return parse_bytes(s, &cfg->max_dataset_body, err, err_size);
}

/* 1..CONFIG_TOKEN_MAX-1 visible ASCII characters: what a header carries intact.
 * Messages never repeat the value, a secret. */
static int set_token_to(char *out, const char *s, char *err, size_t err_size) {
  size_t len = strlen(s);
  int ok = len > 0 && len < CONFIG_TOKEN_MAX;
  for (size_t i = 0; ok && i < len; i++) ok = s[i] > ' ' && s[i] < 0x7f;
  if (!ok) {
    snprintf(err, err_size, "a token must be 1 to %d visible ASCII characters (no spaces)",
             CONFIG_TOKEN_MAX - 1);
    return -1;
  }
  memcpy(out, s, len + 1);
  return 0;
}

/* The whole file is the token, but for one trailing newline. A file others
 * can read is accepted (secrets mounted 0444 are common) with a warning. */
static int read_token_file(char *out, const char *path, char *err, size_t err_size) {
  char buf[CONFIG_TOKEN_MAX + 2];
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    snprintf(err, err_size, "cannot open '%s': %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
    log_write(LOG_WARN, "token file '%s' is readable by every user; chmod 600 it", path);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    snprintf(err, err_size, "cannot read '%s'", path);
    return -1;
  }
  if (n > 0 && buf[n - 1] == '\n') n--;
  if (n > 0 && buf[n - 1] == '\r') n--;
  buf[n] = '\0';
  if (strlen(buf) != n || set_token_to(out, buf, err, err_size) < 0) {
    snprintf(err, err_size, "'%s' must hold one token: 1 to %d visible ASCII characters", path,
             CONFIG_TOKEN_MAX - 1);
    return -1;
  }
  return 0;
}

static int set_token(config *cfg, const char *s, char *err, size_t err_size) {
  return set_token_to(cfg->token, s, err, err_size);
}

static int set_token_file(config *cfg, const char *s, char *err, size_t err_size) {
  return read_token_file(cfg->token, s, err, err_size);
}

static int set_read_token(config *cfg, const char *s, char *err, size_t err_size) {
  return set_token_to(cfg->read_token, s, err, err_size);
}

static int set_read_token_file(config *cfg, const char *s, char *err, size_t err_size) {
  return read_token_file(cfg->read_token, s, err, err_size);
}

static int set_insecure(config *cfg, const char *s, char *err, size_t err_size) {
  if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0) {
    snprintf(err, err_size, "'%s' is not 0 or 1", s);
    return -1;
  }
  cfg->insecure = s[0] == '1';
  return 0;
}

/* An integer in [lo, hi], named in the message by what it counts. */
static int set_range(unsigned *out, const char *s, unsigned lo, unsigned hi, char *err,
                     size_t err_size) {
  uint64_t v;
  if (parse_decimal(s, strlen(s), hi, &v) < 0 || v < lo) {
    snprintf(err, err_size, "'%s' is not an integer between %u and %u", s, lo, hi);
    return -1;
  }
  *out = (unsigned)v;
  return 0;
}

static int set_max_streams(config *cfg, const char *s, char *err, size_t err_size) {
  return set_range(&cfg->max_streams, s, 1, CONFIG_MAX_STREAMS, err, err_size);
}

static int set_keepalive(config *cfg, const char *s, char *err, size_t err_size) {
  return set_range(&cfg->keepalive, s, 1, CONFIG_MAX_KEEPALIVE, err, err_size);
}

static int set_mpi(config *cfg, const char *s, char *err, size_t err_size) {
  unsigned v;
  if (set_range(&v, s, 0, 1, err, err_size) != 0) return -1;
  cfg->mpi = (int)v;
  return 0;
}

static int set_mpi_hostfile(config *cfg, const char *s, char *err, size_t err_size) {
  cfg->mpi = 1;
  return set_path(cfg->mpi_hostfile, s, err, err_size);
}

static int set_mpi_rank_bin(config *cfg, const char *s, char *err, size_t err_size) {
  return set_path(cfg->mpi_rank_bin, s, err, err_size);
}

/* Passed to mpirun as one argument: no spaces, a list Open MPI reads. */
static int set_mpi_interfaces(config *cfg, const char *s, char *err, size_t err_size) {
  size_t n = strlen(s);
  if (n >= sizeof cfg->mpi_interfaces || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                                                   "QRSTUVWXYZ0123456789.,/:_-") != n) {
    snprintf(err, err_size, "'%s' is not a list of interfaces or subnets", s);
    return -1;
  }
  memcpy(cfg->mpi_interfaces, s, n + 1);
  return 0;
}

static int set_mpi_allreduce(config *cfg, const char *s, char *err, size_t err_size) {
  return set_range(&cfg->mpi_allreduce, s, 0, CONFIG_MAX_MPI_ALLREDUCE, err, err_size);
}

static int set_mpi_heartbeat_timeout(config *cfg, const char *s, char *err, size_t err_size) {
  return set_range(&cfg->mpi_heartbeat_timeout, s, 2, 3600, err, err_size);
}

static void set_defaults(config *cfg) {
  char ignored[ERR_MAX];
  memset(cfg, 0, sizeof *cfg);
  set_listen(cfg, CONFIG_DEFAULT_LISTEN, ignored, sizeof ignored);
  set_db(cfg, CONFIG_DEFAULT_DB, ignored, sizeof ignored);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  cfg->workers = cores < 1 ? 1u : cores > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (unsigned)cores;
  cfg->threads = cores < 1 ? 1u : cores > CONFIG_MAX_THREADS ? CONFIG_MAX_THREADS : (unsigned)cores;
  cfg->max_body = CONFIG_DEFAULT_MAX_BODY;
  cfg->max_dataset_body = CONFIG_DEFAULT_MAX_DATASET_BODY;
  cfg->max_streams = CONFIG_DEFAULT_MAX_STREAMS;
  cfg->versions_kept = STORE_VERSIONS_KEPT;
  cfg->events_kept = CONFIG_DEFAULT_EVENTS_KEEP;
  cfg->keepalive = CONFIG_DEFAULT_KEEPALIVE;
  cfg->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
  cfg->max_connections_per_ip = CONFIG_DEFAULT_MAX_CONNECTIONS_PER_IP;
  cfg->client_timeout = CONFIG_DEFAULT_CLIENT_TIMEOUT;
  cfg->mpi_allreduce = 1;
  cfg->mpi_heartbeat_timeout = CONFIG_DEFAULT_MPI_HEARTBEAT_TIMEOUT;
  set_tls_priorities(cfg, CONFIG_DEFAULT_TLS_PRIORITIES, ignored, sizeof ignored);
}

/* The value of NAME in env, or NULL when unset or empty. */
static const char *env_lookup(char *const env[], const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
    if (strncmp(env[i], name, len) == 0 && env[i][len] == '=') {
      return env[i][len + 1] != '\0' ? env[i] + len + 1 : NULL;
    }
  }
  return NULL;
}

static size_t option_index(const char *flag) {
  size_t opt = 0;
  while (opt < N_OPTIONS && strcmp(options[opt].flag, flag) != 0) opt++;
  return opt;
}

/* A token and its file set the same thing: one source may not give both. */
static int check_exclusive(const char *const value[N_OPTIONS], int from_env, char *err,
                           size_t err_size) {
  static const char *const pairs[][2] = {{"--token", "--token-file"},
                                         {"--read-token", "--read-token-file"}};
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    size_t a = option_index(pairs[i][0]), b = option_index(pairs[i][1]);
    if (value[a] != NULL && value[b] != NULL) {
      snprintf(err, err_size, "%s and %s both set; give one",
               from_env ? options[a].env : options[a].flag,
               from_env ? options[b].env : options[b].flag);
      return -1;
    }
  }
  return 0;
}

static int apply(config *cfg, size_t opt, const char *source, const char *value, char *err,
                 size_t err_size) {
  char why[ERR_MAX];
  if (options[opt].set(cfg, value, why, sizeof why) == 0) return 0;
  snprintf(err, err_size, "%s: %s", source, why);
  return -1;
}

int config_parse(config *cfg, int argc, char *const argv[], char *const env[], char *err,
                 size_t err_size) {
  /* First pass: collect flag values (the last one wins) and spot --help and
   * --version, so they work even when a variable holds a bad value. */
  const char *flag_value[N_OPTIONS] = {0};
  int action = CONFIG_RUN;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      action = CONFIG_HELP;
      break;
    }
    if (strcmp(arg, "--version") == 0) {
      action = CONFIG_VERSION;
      break;
    }
    size_t opt = 0;
    size_t name_len = strcspn(arg, "=");
    while (opt < N_OPTIONS && (strlen(options[opt].flag) != name_len ||
                               strncmp(arg, options[opt].flag, name_len) != 0)) {
      opt++;
    }
    if (opt == N_OPTIONS) {
      snprintf(err, err_size, "%s '%s' (see --help)",
               arg[0] == '-' ? "unknown option" : "unexpected argument", arg);
      return -1;
    }
    if (options[opt].is_switch) {
      if (arg[name_len] == '=') {
        snprintf(err, err_size, "%s takes no value (see --help)", options[opt].flag);
        return -1;
      }
      flag_value[opt] = "1";
    } else if (arg[name_len] == '=') {
      flag_value[opt] = arg + name_len + 1;
    } else if (i + 1 < argc) {
      flag_value[opt] = argv[++i];
    } else {
      snprintf(err, err_size, "%s needs a value (see --help)", options[opt].flag);
      return -1;
    }
  }

  set_defaults(cfg);
  if (action != CONFIG_RUN) return action;
  const char *env_value[N_OPTIONS];
  for (size_t opt = 0; opt < N_OPTIONS; opt++) env_value[opt] = env_lookup(env, options[opt].env);
  if (check_exclusive(flag_value, 0, err, err_size) < 0 ||
      check_exclusive(env_value, 1, err, err_size) < 0) {
    return -1;
  }
  for (size_t opt = 0; opt < N_OPTIONS; opt++) {
    const char *value = env_value[opt];
    if (value != NULL && apply(cfg, opt, options[opt].env, value, err, err_size) < 0) return -1;
  }
  for (size_t opt = 0; opt < N_OPTIONS; opt++) {
    const char *value = flag_value[opt];
    if (value != NULL && apply(cfg, opt, options[opt].flag, value, err, err_size) < 0) return -1;
  }
  if (cfg->read_token[0] != '\0' && cfg->token[0] == '\0') {
    snprintf(err, err_size, "a read-only token needs a full token too (--token or --token-file)");
    return -1;
  }
  if (cfg->read_token[0] != '\0' && strcmp(cfg->read_token, cfg->token) == 0) {
    snprintf(err, err_size, "the read-only token must differ from the full token");
    return -1;
  }
  if ((cfg->tls_cert[0] != '\0') != (cfg->tls_key[0] != '\0')) {
    snprintf(err, err_size, "%s",
             cfg->tls_cert[0] != '\0'
                 ? "a TLS certificate needs its private key: give --tls-key (TRAIND_TLS_KEY) too"
                 : "a TLS private key needs its certificate: give --tls-cert (TRAIND_TLS_CERT) "
                   "too");
    return -1;
  }
  /* A stream silent for --client-timeout would be closed by the HTTP layer:
   * its keepalives come sooner, at half that at the latest. */
  if (cfg->keepalive >= cfg->client_timeout)
    cfg->keepalive = cfg->client_timeout > 1 ? cfg->client_timeout / 2 : 1;
  return CONFIG_RUN;
}
