/* main.c — traind: parse settings, serve HTTP, stop cleanly on SIGINT/SIGTERM. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "app.h"
#include "auth.h"
#include "budget.h"
#include "config.h"
#include "http.h"
#include "jobs.h"
#include "search_run.h"
#include "log.h"
#include "predict_cache.h"
#include "hangup.h"
#include "notify.h"
#include "router.h"
#include "tls.h"

extern char **environ;

typedef struct {
  uv_signal_t sigint;
  uv_signal_t sigterm;
  http_server *http;
  notifier *events;
} daemon_state;

#define DRAIN_MS 2000 /* how long woken event streams get to send their end */

/* Stop taking requests at the first signal; serve() then winds down the rest.
 * Event streams and long polls sleep in handlers until an event comes: they
 * are woken to end before the HTTP layer closes its connections, and the
 * streams given a moment to end cleanly (a client that stopped reading
 * cannot hold the stop up longer). */
static void on_signal(uv_signal_t *handle, int signum) {
  daemon_state *d = handle->data;
  if (d->http == NULL) return; /* both signals came in one loop turn */
  log_write(LOG_INFO, "received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
  http_quiesce(d->http);
  notify_close(d->events);
  struct timespec deadline;
  notify_deadline(&deadline, DRAIN_MS);
  unsigned left = notify_drain(d->events, &deadline);
  if (left > 0) log_write(LOG_WARN, "closing %u event streams that did not end in time", left);
  http_stop(d->http);
  d->http = NULL;
  uv_close((uv_handle_t *)&d->sigint, NULL);
  uv_close((uv_handle_t *)&d->sigterm, NULL);
}

static void close_handle(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle)) uv_close(handle, NULL);
}

static void log_settings(const config *cfg) {
  log_write(LOG_INFO,
            "%s %s: listen=%s%s%s:%u tls=%s db=%s workers=%u threads=%u max_body=%zu "
            "max_dataset_body=%zu max_streams=%u stream_keepalive=%us max_connections=%u "
            "max_connections_per_ip=%u client_timeout=%us memory_budget=%zu events_keep=%u",
            TRAIND_NAME, TRAIND_VERSION, cfg->listen_addr.ss_family == AF_INET6 ? "[" : "",
            cfg->listen_host, cfg->listen_addr.ss_family == AF_INET6 ? "]" : "",
            (unsigned)cfg->listen_port, cfg->tls_cert[0] != '\0' ? "on" : "off", cfg->db_path,
            cfg->workers, cfg->threads, cfg->max_body, cfg->max_dataset_body, cfg->max_streams,
            cfg->keepalive, cfg->max_connections, cfg->max_connections_per_ip, cfg->client_timeout,
            cfg->memory_budget, cfg->events_kept);
}

/* Each connection holds a socket, and a request in progress a database
 * handle (the database file and its WAL; SQLite may keep the first after
 * the handle closes). Lift the soft limit, which systemd and most shells
 * leave at 1024, to the hard one, and warn when even that is short of what
 * the connection limit may take at worst. */
static void raise_open_files(const config *cfg) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t soft = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = soft;
  }
  rlim_t need = ((rlim_t)cfg->max_connections + cfg->workers) * 3u + 64u;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    log_write(LOG_WARN,
              "open files are limited to %llu; %u connections may need %llu: raise the limit "
              "(LimitNOFILE= in the unit, ulimit -n) or lower --max-connections",
              (unsigned long long)rl.rlim_cur, cfg->max_connections, (unsigned long long)need);
  }
}

/*
 * Bring the daemon up, serve until a signal, and take it down in reverse:
 * HTTP first (streams woken to end; no handler can reach the jobs any more),
 * then the jobs (running ones stop within a batch and resume from their last
 * checkpoint at the next start), then the predict cache and the notifier the
 * jobs posted to, and the store last.
 * @return the exit status: 0 after a clean stop, 1 when startup failed
 */
/* The rank program of data-parallel jobs: --mpi-rank-bin, else traind-rank
 * beside this executable. Ranks orphaned by a dead mpirun are re-parented
 * to the daemon (PR_SET_CHILD_SUBREAPER), whose workers reap them. */
static int mpi_rank_bin(const char *flag, char *out, size_t size) {
  char self[CONFIG_PATH_MAX];
  ssize_t n = flag[0] == '\0' ? readlink("/proc/self/exe", self, sizeof self - 1) : 0;
  if (n < 0) {
    log_write(LOG_ERROR, "--mpi: cannot find this executable: %s", strerror(errno));
    return -1;
  }
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash != NULL) *slash = '\0';
  if (flag[0] != '\0') snprintf(out, size, "%s", flag);
  else snprintf(out, size, "%s/traind-rank", self);
  if (access(out, X_OK) != 0) {
    log_write(LOG_ERROR, "--mpi: %s is not an executable: %s", out, strerror(errno));
    return -1;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  return 0;
}

/* Open MPI's version from "mpirun (Open MPI) 4.1.4", before any thread
 * starts; no mpirun is a startup error with --mpi. */
static int mpi_version(char *out, size_t size) {
  char line[256] = "";
  FILE *p = popen("mpirun --version 2>/dev/null", "r");
  int ok = p != NULL && fgets(line, sizeof line, p) != NULL;
  if (p != NULL) ok = pclose(p) == 0 && ok;
  const char *v = strrchr(line, ' ');
  if (!ok || strstr(line, "Open MPI") == NULL || v == NULL) {
    log_write(LOG_ERROR, "--mpi: mpirun --version does not name Open MPI: is openmpi-bin "
              "installed?");
    return -1;
  }
  snprintf(out, size, "%.*s", (int)strcspn(v + 1, "\n"), v + 1);
  return 0;
}

static int serve(app *a) {
  int status = 1;
  uv_loop_t loop;
  bool loop_ready = false;
  daemon_state d = {0};
  char url[96];
  int rc;

  if (notify_new(&a->events) < 0) {
    log_write(LOG_ERROR, "out of memory creating the event notifier");
    goto out;
  }
  d.events = a->events;
  /* One watch per stream at most: streams are capped at max_streams. */
  if (hangups_start(a->cfg.max_streams, notify_wake_hook, a->events, &a->hangups) < 0) goto out;
  if (app_init(a) < 0) goto out;
  if (predict_cache_new(&a->predict_cache) < 0) {
    log_write(LOG_ERROR, "out of memory creating the predict cache");
    goto out;
  }
  jobs_config jc = {a->cfg.db_path, (int)a->cfg.workers, (int)a->cfg.threads,
                    (int)a->cfg.versions_kept, a->cfg.memory_budget, a->cfg.events_kept, NULL};
  char rank_bin[CONFIG_PATH_MAX + 16];
  mpi_launch mpi = {rank_bin, a->cfg.mpi_hostfile, a->cfg.mpi_interfaces,
                    (int)a->cfg.mpi_allreduce, (int)a->cfg.mpi_heartbeat_timeout};
  if (a->cfg.mpi) {
    if (mpi_rank_bin(a->cfg.mpi_rank_bin, rank_bin, sizeof rank_bin) < 0 ||
        mpi_version(a->cfg.mpi_version, sizeof a->cfg.mpi_version) < 0)
      goto out;
    jc.mpi = &mpi;
  }
  if (jobs_start(&jc, a->predict_cache, a->events, &a->jobs) < 0)
    goto out;
  if (search_run_start(a->cfg.db_path, a->cfg.memory_budget, a->jobs, a->events,
                       a->cfg.events_kept, &a->searches) < 0)
    goto out;
  if ((rc = uv_loop_init(&loop)) < 0) {
    log_write(LOG_ERROR, "event loop: %s", uv_strerror(rc));
    goto out;
  }
  loop_ready = true;

  size_t n_routes;
  const route *routes = router_table(&n_routes);
  if (http_start(a, routes, n_routes, &d.http) < 0) goto out;
  d.sigint.data = d.sigterm.data = &d;
  if ((rc = uv_signal_init(&loop, &d.sigint)) < 0 || (rc = uv_signal_init(&loop, &d.sigterm)) < 0 ||
      (rc = uv_signal_start(&d.sigint, on_signal, SIGINT)) < 0 ||
      (rc = uv_signal_start(&d.sigterm, on_signal, SIGTERM)) < 0) {
    log_write(LOG_ERROR, "signals: %s", uv_strerror(rc));
    goto out;
  }

  http_url(d.http, url, sizeof url);
  /* stdout gets the address alone, for scripts and tests that start us on port 0. */
  printf("listening on %s\n", url);
  fflush(stdout);
  log_write(LOG_INFO, "listening on %s", url);
  uv_run(&loop, UV_RUN_DEFAULT);
  status = 0;

out:
  if (d.http != NULL) notify_close(a->events);
  http_stop(d.http); /* frees every stream, and with it its watch */
  hangups_stop(a->hangups);
  a->hangups = NULL;
  search_run_stop(a->searches); /* before the jobs it queues to */
  a->searches = NULL;
  jobs_stop(a->jobs);
  a->jobs = NULL;
  predict_cache_free(a->predict_cache);
  a->predict_cache = NULL;
  app_destroy(a);
  notify_free(a->events);
  a->events = NULL;
  if (loop_ready) {
    uv_walk(&loop, close_handle, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if ((rc = uv_loop_close(&loop)) < 0) log_write(LOG_WARN, "event loop: %s", uv_strerror(rc));
  }
  log_write(status == 0 ? LOG_INFO : LOG_ERROR, "%s", status == 0 ? "stopped" : "could not start");
  return status;
}

int main(int argc, char **argv) {
  static app a; /* large (paths), and shared with every thread for the process's life */
  char err[512];
  int action = config_parse(&a.cfg, argc, argv, environ, err, sizeof err);
  if (action < 0) {
    fprintf(stderr, "%s: %s\n", TRAIND_NAME, err);
    return 2;
  }
  if (action == CONFIG_HELP) {
    fputs(config_usage(), stdout);
    return 0;
  }
  if (action == CONFIG_VERSION) {
    printf("%s %s\n", TRAIND_NAME, TRAIND_VERSION);
    return 0;
  }

  /* Without a token anyone who reaches the port may read and change every
   * dataset and model: only this host may, unless the operator insists. */
  if (a.cfg.token[0] == '\0' && !auth_loopback(&a.cfg.listen_addr)) {
    if (!a.cfg.insecure) {
      fprintf(stderr,
              "%s: refusing to listen on %s without a token: anyone who can reach it could read "
              "and change every dataset and model. Give --token or --token-file, listen on "
              "127.0.0.1, or pass --insecure to serve it open anyway.\n",
              TRAIND_NAME, a.cfg.listen_host);
      return 2;
    }
    log_write(LOG_WARN, "INSECURE: serving %s with no token (--insecure): anyone who can reach "
              "it can read and change every dataset and model", a.cfg.listen_host);
  }

  if (tls_priorities_check(a.cfg.tls_priorities, err, sizeof err) < 0 ||
      (a.cfg.tls_cert[0] != '\0' &&
       tls_pem_load(a.cfg.tls_cert, a.cfg.tls_key, &a.tls, err, sizeof err) < 0)) {
    fprintf(stderr, "%s: %s\n", TRAIND_NAME, err);
    return 2;
  }

  /* A client that hangs up mid-answer must not kill the daemon. */
  signal(SIGPIPE, SIG_IGN);
  raise_open_files(&a.cfg);
  if (a.cfg.memory_budget == 0) a.cfg.memory_budget = budget_default();
  log_settings(&a.cfg);
  int status = serve(&a);
  tls_pem_free(&a.tls);
  return status;
}
