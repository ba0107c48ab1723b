/*
 * mpi_job.c — launching and supervising the ranks of a data-parallel job.
 *
 * The worker makes a private directory (mkdtemp, mode 0700) holding a unix
 * socket, forks mpirun in a process group of its own and waits for rank 0
 * to connect. The path is the worker's own, never from a client. mpirun
 * runs with the allreduce algorithm pinned (the bits of a run depend on
 * it), --map-by slot (rank 0 on the first slot: this machine, where the
 * socket is), --bind-to none, --oversubscribe and mpi_yield_when_idle
 * (ranks waiting in a reduce give the cores away).
 *
 * Then it is a loop on poll(2) every 200 ms: rank 0's EPOCH is committed
 * (store_job_epoch_commit, retried while the disk is full) before the ACK
 * goes back, so training waits for the disk; a cancel or a stop of the
 * daemon is sent as CANCEL or PAUSE once; HEARTBEATs feed the watchdog. The
 * run ends on rank 0's last message (DONE, STOPPED, PAUSED, ERROR); an end
 * of the socket or of mpirun without one, or rank 0 silent for
 * heartbeat_timeout seconds, kills the process group and requeues the job
 * from its last checkpoint (store_job_requeue_crashed counts it as a
 * crash). At the end mpirun gets time to exit, then SIGTERM, then its
 * group SIGKILL. Open MPI puts each rank in a group of its own, so ranks
 * that outlive mpirun are re-parented to traind, the subreaper of its
 * descendants (main.c): the worker kills and reaps those.
 */
#define _GNU_SOURCE /* close_range */
#include "mpi_job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "prometheus.h"
#include "rank_proto.h"

extern char **environ;

#define MAX_ARGS 48
#define POLL_MS 200
#define EXIT_GRACE_S 10.0 /* after the last message, for mpirun to exit */
#define TERM_GRACE_S 3.0  /* after SIGTERM, for mpirun to end its ranks */

typedef struct {
  const mpi_launch *l;
  const mpi_job *j;
  char dir[64];
  char sock[96];
  int listen_fd, fd;
  pid_t pid;        /* mpirun, its process group's id; 0 once reaped */
  int exit_status;  /* mpirun's wait status once reaped */
  char version[64]; /* rank 0's MPI */
  int final;        /* rank 0 sent its last message */
  char *error;
  size_t error_len;
} launch;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int failf(launch *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(launch *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->error, x->error_len, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- starting ------------------------------------------------------------------ */

static int listen_socket(launch *x) {
  char tmpl[] = "/tmp/traind-mpi-XXXXXX";
  if (mkdtemp(tmpl) == NULL) return failf(x, "cannot make a directory: %s", strerror(errno));
  snprintf(x->dir, sizeof x->dir, "%s", tmpl);
  snprintf(x->sock, sizeof x->sock, "%s/rank0.sock", x->dir);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, x->sock, strlen(x->sock) + 1);
  x->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (x->listen_fd < 0 || bind(x->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(x->listen_fd, 1) != 0)
    return failf(x, "cannot listen on %s: %s", x->sock, strerror(errno));
  return 0;
}

/* mpirun's command line, every string built before the fork. */
static int build_argv(launch *x, char *np, char *alg, char **argv) {
  const mpi_launch *l = x->l;
  int n = 0;
  snprintf(np, 16, "%d", x->j->cfg->ranks);
  snprintf(alg, 16, "%d", l->allreduce);
  argv[n++] = "mpirun";
  argv[n++] = "-np";
  argv[n++] = np;
  if (geteuid() == 0) argv[n++] = "--allow-run-as-root";
  argv[n++] = "--oversubscribe";
  argv[n++] = "--map-by";
  argv[n++] = "slot";
  argv[n++] = "--bind-to";
  argv[n++] = "none";
  if (l->hostfile[0] != '\0') {
    argv[n++] = "--hostfile";
    argv[n++] = (char *)l->hostfile;
  }
  const char *ifs = l->interfaces[0] != '\0' ? l->interfaces
                    : l->hostfile[0] == '\0' ? "lo" : NULL;
  if (ifs != NULL) {
    argv[n++] = "--mca";
    argv[n++] = "btl_tcp_if_include";
    argv[n++] = (char *)ifs;
    argv[n++] = "--mca";
    argv[n++] = "oob_tcp_if_include";
    argv[n++] = (char *)ifs;
  }
  const char *mca[] = {"mpi_yield_when_idle", "1", "coll_tuned_use_dynamic_rules", "1",
                       "coll_tuned_allreduce_algorithm", alg};
  for (size_t i = 0; i < sizeof mca / sizeof mca[0]; i += 2) {
    argv[n++] = "--mca";
    argv[n++] = (char *)mca[i];
    argv[n++] = (char *)mca[i + 1];
  }
  argv[n++] = "-x";
  argv[n++] = "OPENBLAS_NUM_THREADS=1";
  argv[n++] = (char *)l->rank_bin;
  argv[n++] = "--connect";
  argv[n++] = x->sock;
  argv[n] = NULL;
  return n < MAX_ARGS ? 0 : -1;
}

static int start_mpirun(launch *x) {
  char np[16], alg[16], *argv[MAX_ARGS];
  if (build_argv(x, np, alg, argv) != 0) return failf(x, "too many mpirun arguments");
  sigset_t none;
  sigemptyset(&none);
  pid_t pid = fork();
  if (pid < 0) return failf(x, "cannot fork mpirun: %s", strerror(errno));
  if (pid == 0) {
    /* the child of a threaded process: async-signal-safe calls only */
    setpgid(0, 0);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    close_range(3, ~0u, 0); /* the database, the listening sockets */
    execvp("mpirun", argv);
    _exit(127);
  }
  setpgid(pid, pid); /* also here: no race with a kill of the group */
  x->pid = pid;
  return 0;
}

/* Reap mpirun if it ended. @return 1 when it has */
static int mpirun_ended(launch *x) {
  if (x->pid == 0) return 1;
  int status;
  pid_t got = waitpid(x->pid, &status, WNOHANG);
  if (got == 0 || (got < 0 && errno != ECHILD)) return 0;
  x->exit_status = status;
  x->pid = 0;
  return 1;
}

/* Rank 0's connection, while mpirun lives and within the timeout; its
 * reads and writes time out alike, so a rank 0 that hangs mid-message
 * cannot hold the worker. @return 0, 1 when the job was cancelled or the
 * daemon stops meanwhile, or -1 */
static int accept_rank0(launch *x) {
  double deadline = now() + x->l->heartbeat_timeout;
  while (now() < deadline) {
    if (atomic_load(x->j->cancel) || atomic_load(x->j->stopping)) return 1;
    struct pollfd p = {.fd = x->listen_fd, .events = POLLIN};
    if (poll(&p, 1, POLL_MS) > 0) {
      x->fd = accept4(x->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (x->fd < 0) return failf(x, "accept: %s", strerror(errno));
      struct timeval tv = {.tv_sec = x->l->heartbeat_timeout};
      setsockopt(x->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(x->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      return 0;
    }
    if (mpirun_ended(x)) return failf(x, "mpirun ended before rank 0 connected");
  }
  return failf(x, "rank 0 did not connect within %d s", x->l->heartbeat_timeout);
}

static int send_job(launch *x) {
  const mpi_job *j = x->j;
  rp_header h;
  uint8_t *hello = NULL, *data = NULL, *payload = NULL;
  size_t data_len = 0, len = 0;
  int rc = rp_recv(x->fd, &h, &hello);
  if (rc != RP_OK || h.type != RP_HELLO) {
    free(hello);
    return failf(x, "rank 0 did not say hello");
  }
  snprintf(x->version, sizeof x->version, "%.*s", (int)h.len, (const char *)hello);
  free(hello);
  rp_job job = {.config = j->cfg->config, .checkpoint_every = j->cfg->checkpoint_every,
                .ranks = j->cfg->ranks, .model = j->start, .model_len = j->start_len};
  if (rp_data_encode(&j->data->d, &data, &data_len) != RP_OK) return failf(x, "out of memory");
  job.data = data;
  job.data_len = data_len;
  rc = rp_job_encode(&job, &payload, &len);
  free(data);
  if (rc == RP_OK) rc = rp_send(x->fd, RP_JOB, payload, len);
  free(payload);
  return rc == RP_OK ? 0 : failf(x, "cannot send the job to rank 0");
}

/* ---- committing ----------------------------------------------------------------- */

/* An epoch from rank 0, through the store like a worker's own (jobs.c's
 * commit_epoch): metrics, and with a checkpoint the weights published. */
static int commit(launch *x, const rp_epoch *e) {
  const mpi_job *j = x->j;
  nn_model *m = NULL;
  nn_error ne;
  uint8_t *weights = NULL;
  size_t weights_len = 0;
  int64_t version = 0;
  int rc = -1;
  if (e->checkpoint != NULL &&
      (nn_checkpoint_load(e->checkpoint, e->checkpoint_len, &m, NULL, &ne) != NN_OK ||
       nn_checkpoint_save(m, NULL, &weights, &weights_len) != NN_OK)) {
    failf(x, "the checkpoint of epoch %d from rank 0 is unusable", e->m.epoch);
    goto out;
  }
  const nn_epoch_metrics *em = &e->m;
  store_epoch se = {
      .job_id = j->job->id,
      .metric = {em->epoch, em->loss, em->val_loss, em->accuracy, em->val_accuracy, em->lr,
                 em->seconds, NULL, 1},
      .samples_per_second = em->seconds > 0 ? (double)em->samples / em->seconds : NAN,
      .checkpoint = e->checkpoint,
      .checkpoint_len = e->checkpoint_len,
      .weights = weights,
      .weights_len = weights_len,
      .classes = j->data->meta.classes,
      .encoding = j->data->encoding,
      .encoding_len = j->data->encoding_len,
      .versions_kept = j->versions_kept,
  };
  int src;
  unsigned delay = 0;
  while ((src = store_job_epoch_commit(j->st, &se, &version)) == STORE_EFULL)
    if (j->wait_for_space(j->ud, &delay) != 0) {
      rc = 1; /* unrecorded */
      goto out;
    }
  if (src != STORE_OK) {
    failf(x, "cannot record epoch %d: %s", em->epoch, store_strerror(src));
    goto out;
  }
  prometheus_epoch(em->samples);
  nn_weights *snap;
  if (m != NULL && nn_weights_new(m, &snap) == NN_OK)
    predict_cache_publish(j->cache, j->job->model_id, version, snap, j->data->meta.classes,
                          j->data->encoding, j->data->encoding_len);
  rc = 0;
out:
  free(weights);
  nn_model_free(m);
  return rc;
}

/* ---- the run ------------------------------------------------------------------------ */

#define RUNNING (-1)

/* One message from rank 0. @return RUNNING, or how the run ended */
static int handle(launch *x, double *beat) {
  rp_header h;
  uint8_t *payload = NULL;
  int end = RUNNING, rc = rp_recv(x->fd, &h, &payload);
  *beat = now();
  x->final = rc == RP_OK && (h.type == RP_PAUSED || h.type == RP_STOPPED || h.type == RP_DONE ||
                             h.type == RP_ERROR);
  if (rc != RP_OK) {
    failf(x, "rank 0's connection ended (%s)", rc == RP_EBAD ? "a malformed message" : "closed");
    free(payload);
    return MPI_JOB_REQUEUED;
  }
  size_t len = (size_t)h.len;
  rp_epoch e;
  int epochs;
  const uint8_t *ckpt;
  size_t ckpt_len;
  switch (h.type) {
  case RP_HEARTBEAT:
    break;
  case RP_EPOCH:
    if (rp_epoch_decode(payload, len, &e) != RP_OK) {
      failf(x, "rank 0 sent a malformed epoch");
      end = MPI_JOB_REQUEUED;
    } else if ((rc = commit(x, &e)) != 0) {
      end = rc > 0 ? MPI_JOB_UNRECORDED : MPI_JOB_FAILED;
    } else if (rp_send(x->fd, RP_ACK, NULL, 0) != RP_OK) {
      failf(x, "rank 0's connection ended");
      end = MPI_JOB_REQUEUED;
    }
    break;
  case RP_PAUSED:
    if (rp_paused_decode(payload, len, &epochs, &ckpt, &ckpt_len) != RP_OK || ckpt == NULL) {
      failf(x, "rank 0 sent a malformed pause");
      end = MPI_JOB_REQUEUED;
    } else {
      rc = store_job_pause(x->j->st, x->j->job->id, epochs, ckpt, ckpt_len);
      if (rc != STORE_OK) log_write(LOG_ERROR, "job %lld: cannot record its pause: %s",
                                    (long long)x->j->job->id, store_strerror(rc));
      end = MPI_JOB_PAUSED;
    }
    break;
  case RP_STOPPED:
    end = MPI_JOB_CANCELLED;
    break;
  case RP_DONE:
    end = MPI_JOB_SUCCEEDED;
    break;
  case RP_ERROR:
    failf(x, "%.*s", (int)len, (const char *)payload);
    end = MPI_JOB_FAILED;
    break;
  default:
    failf(x, "rank 0 sent an unexpected message (type %d)", (int)h.type);
    end = MPI_JOB_REQUEUED;
  }
  free(payload);
  return end;
}

static int supervise(launch *x) {
  const mpi_job *j = x->j;
  double beat = now();
  int asked = 0;
  for (;;) {
    if (!asked && (atomic_load(j->cancel) || atomic_load(j->stopping))) {
      asked = 1;
      rp_send(x->fd, atomic_load(j->cancel) ? RP_CANCEL : RP_PAUSE, NULL, 0);
    }
    struct pollfd p = {.fd = x->fd, .events = POLLIN};
    int n = poll(&p, 1, POLL_MS);
    if (n > 0) {
      int end = handle(x, &beat);
      if (end != RUNNING) return end;
      continue;
    }
    if (mpirun_ended(x)) {
      failf(x, "mpirun exited (status %d) without a last message", x->exit_status);
      return MPI_JOB_REQUEUED;
    }
    if (now() - beat > x->l->heartbeat_timeout) {
      failf(x, "rank 0 was silent for %d s: killed", x->l->heartbeat_timeout);
      return MPI_JOB_REQUEUED;
    }
  }
}

/* Ranks whose mpirun died before them were re-parented to the daemon (the
 * subreaper of its descendants, main.c): kill and reap those. Another
 * worker's ranks are children of their live mpirun, never the daemon's. */
static void reap_orphans(const char *rank_bin) {
  const char *base = strrchr(rank_bin, '/');
  char want[16];
  snprintf(want, sizeof want, "%s", base != NULL ? base + 1 : rank_bin); /* comm: 15 bytes */
  char path[64], pids[4096], comm[32];
  /* orphans go to one of the daemon's threads: each lists its children */
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/self/task/%.16s/children", e->d_name);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(pids, 1, sizeof pids - 1, f) : 0;
    if (f != NULL) fclose(f);
    pids[n] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(pids, " \n", &save); tok != NULL;
         tok = strtok_r(NULL, " \n", &save)) {
      pid_t pid = (pid_t)atoi(tok);
      snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
      FILE *c = fopen(path, "r");
      if (c == NULL) continue;
      size_t k = fread(comm, 1, sizeof comm - 1, c);
      fclose(c);
      comm[k] = '\0';
      comm[strcspn(comm, "\n")] = '\0';
      if (strcmp(comm, want) != 0) continue;
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
  }
  if (d != NULL) closedir(d);
}

/* Let mpirun end by itself after a last message, else ask it to end its
 * ranks (SIGTERM); then kill its group, reap it and any orphaned rank. */
static void reap(launch *x, int ended) {
  if (x->pid != 0) {
    pid_t group = x->pid;
    double deadline = now() + (ended ? EXIT_GRACE_S : 0);
    while (!mpirun_ended(x) && now() < deadline) usleep(20000);
    if (x->pid != 0) kill(x->pid, SIGTERM);
    deadline = now() + TERM_GRACE_S;
    while (!mpirun_ended(x) && now() < deadline) usleep(20000);
    kill(-group, SIGKILL);
    if (x->pid != 0 && waitpid(x->pid, &x->exit_status, 0) == x->pid) x->pid = 0;
  }
  reap_orphans(x->l->rank_bin);
}

mpi_job_end mpi_job_run(const mpi_launch *l, const mpi_job *j, char *error, size_t error_len) {
  launch x = {.l = l, .j = j, .listen_fd = -1, .fd = -1, .error = error, .error_len = error_len};
  int end = MPI_JOB_FAILED;
  if (listen_socket(&x) != 0 || start_mpirun(&x) != 0) goto out;
  end = MPI_JOB_REQUEUED; /* from here on, a failure is the ranks' */
  int rc = accept_rank0(&x);
  if (rc > 0) /* nothing ran: cancelled, or queued again as it was */
    end = atomic_load(j->cancel) ? MPI_JOB_CANCELLED : MPI_JOB_UNRECORDED;
  if (rc != 0 || send_job(&x) != 0) goto out;
  log_write(LOG_INFO, "job %lld: %d ranks on %s (mpirun pid %d, allreduce algorithm %d)",
            (long long)j->job->id, j->cfg->ranks, x.version, (int)x.pid, l->allreduce);
  end = supervise(&x);
out:
  reap(&x, x.final);
  if (x.fd >= 0) close(x.fd);
  if (x.listen_fd >= 0) close(x.listen_fd);
  if (x.sock[0] != '\0') unlink(x.sock);
  if (x.dir[0] != '\0') rmdir(x.dir);
  if (end == MPI_JOB_REQUEUED) {
    log_write(LOG_WARN, "job %lld: %s; requeued from its last checkpoint", (long long)j->job->id,
              error);
    store_job row = {0};
    int src = store_job_crashed(j->st, j->job->id, error, &row);
    if (src != STORE_OK) log_write(LOG_ERROR, "job %lld: cannot requeue it: %s",
                                   (long long)j->job->id, store_strerror(src));
    else if (row.state == STORE_JOB_FAILED)
      log_write(LOG_WARN, "job %lld failed: %s", (long long)j->job->id, row.error);
    store_job_clear(&row);
  }
  return (mpi_job_end)end;
}
