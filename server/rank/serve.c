/*
 * serve.c — traind-rank running a job for the daemon (issue #19,
 * docs/distributed.md). A training worker of traind launches
 *
 *   mpirun ... traind-rank --connect SOCKET
 *
 * and waits on SOCKET, a unix socket in a directory of its own. Rank 0
 * connects, says which MPI it runs (HELLO), receives the job (JOB: config,
 * starting checkpoint, data set) and broadcasts it; every rank builds the
 * same sharded trainer from the same bytes. After each epoch rank 0 sends
 * the metrics and, when a checkpoint is due, its checkpoint (EPOCH), and
 * waits for the worker's ACK: the worker has committed the epoch, so a
 * worker waiting for disk space holds training back. Before each checkpoint
 * the ranks compare a CRC-32 of their parameters (MPI_MIN against MPI_MAX).
 *
 * Stopping: after every batch rank 0 reads the worker's CANCEL or PAUSE
 * without waiting and broadcasts a flag, so every rank stops after the same
 * batch; rank 0 then answers STOPPED, or PAUSED with a checkpoint taken
 * mid-epoch, from which the job resumes bit-identical. Rank 0 also sends a
 * HEARTBEAT at least every second between batches: the worker kills a run
 * that goes quiet. Costs: one MPI_Bcast of an int per batch besides the
 * trainer's reduces; one nonblocking poll(2) per batch on rank 0.
 */
#include <assert.h>
#include <mpi.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../rank_proto.h"
#include "job.h"
#include "serve.h"

enum { GO = 0, STOP_CANCEL = 1, STOP_PAUSE = 2 };

typedef struct {
  int rank;
  int fd;           /* rank 0: the worker's socket; -1 elsewhere */
  int stop;         /* rank 0: what the worker asked for; broadcast after each batch */
  int gone;         /* rank 0: the socket failed: nothing more can be sent */
  double last_beat; /* rank 0: when the last message went out */
} serve_ctx;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int connect_to(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) return -1;
  memcpy(a.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

static void send_msg(serve_ctx *c, rp_type type, const uint8_t *payload, size_t len) {
  if (!c->gone && rp_send(c->fd, type, payload, len) != RP_OK) c->gone = 1;
  c->last_beat = now();
}

static void send_error(serve_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void send_error(serve_ctx *c, const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  fprintf(stderr, "traind-rank: %s\n", text);
  send_msg(c, RP_ERROR, (const uint8_t *)text, strlen(text));
}

/* Rank 0: read one message from the worker. CANCEL and PAUSE are noted;
 * @return its type, or -1 when the socket failed (then the run stops) */
static int read_control(serve_ctx *c) {
  rp_header h;
  uint8_t *payload = NULL;
  int rc = c->gone ? RP_EIO : rp_recv(c->fd, &h, &payload);
  free(payload);
  if (rc != RP_OK) {
    c->gone = 1;
    c->stop = STOP_CANCEL;
    return -1;
  }
  if (h.type == RP_CANCEL) c->stop = STOP_CANCEL;
  else if (h.type == RP_PAUSE && c->stop == GO) c->stop = STOP_PAUSE;
  return (int)h.type;
}

/* After every batch, on every rank: rank 0 takes in the worker's messages
 * and beats; then all learn whether to stop here. */
static int between_batches(void *ud, int epoch, size_t batch, size_t n_batches) {
  serve_ctx *c = ud;
  (void)epoch, (void)batch, (void)n_batches;
  int flag = GO;
  if (c->rank == 0) {
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    while (!c->gone && poll(&p, 1, 0) > 0) read_control(c);
    if (now() - c->last_beat >= 1.0) send_msg(c, RP_HEARTBEAT, NULL, 0);
    flag = c->stop;
  }
  if (MPI_Bcast(&flag, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS) flag = STOP_CANCEL;
  return flag != GO;
}

/* Rank 0: the epoch's metrics and checkpoint out, then wait for the ACK.
 * @return 0, or -1 when the worker is gone */
static int report_epoch(serve_ctx *c, const rp_epoch *e) {
  uint8_t *payload;
  size_t len;
  if (rp_epoch_encode(e, &payload, &len) != RP_OK) return -1;
  send_msg(c, RP_EPOCH, payload, len);
  free(payload);
  int type;
  while ((type = read_control(c)) != RP_ACK)
    if (type < 0) return -1;
  return 0;
}

/* Whether the replicas hold the same parameters. */
static int replicas_agree(uint32_t crc) {
  unsigned lo = crc, hi = crc;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UNSIGNED, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UNSIGNED, MPI_MAX, MPI_COMM_WORLD);
  return lo == hi;
}

/* Stopped after a batch: rank 0 answers STOPPED, or PAUSED with the
 * checkpoint of where every rank stopped. */
static int report_stop(serve_ctx *c, const nn_model *m, const nn_trainer *t) {
  if (c->rank != 0) return 0;
  if (c->stop != STOP_PAUSE) {
    send_msg(c, RP_STOPPED, NULL, 0);
    return c->gone ? 1 : 0;
  }
  uint8_t *ckpt = NULL, *payload = NULL;
  size_t len = 0;
  if (nn_checkpoint_save(m, t, &ckpt, &len) != NN_OK || (payload = malloc(4 + len)) == NULL) {
    free(ckpt);
    send_error(c, "out of memory for the pause checkpoint");
    return 1;
  }
  uint32_t epochs = (uint32_t)nn_trainer_epochs_done(t);
  for (int i = 0; i < 4; i++) payload[i] = (uint8_t)(epochs >> (8 * i));
  memcpy(payload + 4, ckpt, len);
  send_msg(c, RP_PAUSED, payload, 4 + len);
  free(ckpt);
  free(payload);
  return c->gone ? 1 : 0;
}

/* Every rank: the job from its bytes, trained to its end or a stop. */
static int serve_job(serve_ctx *c, int ranks, const uint8_t *payload, size_t len) {
  rp_job j;
  nn_model *m = NULL;
  nn_trainer *t = NULL;
  nn_train_state st;
  nn_error err = {{0}, {0}};
  uint8_t *data = NULL;
  nn_data d;
  int status = 1;
  memset(&st, 0, sizeof st);
  if (rp_job_decode(payload, len, &j) != RP_OK || j.ranks != ranks) {
    send_error(c, "the job is malformed or is for %d ranks, not %d", j.ranks, ranks);
    goto out;
  }
  j.config.diagnostics = 0; /* refused across ranks (docs/distributed.md) */
  /* the floats must be 4-aligned: a copy of their own */
  if ((data = malloc(j.data_len > 0 ? j.data_len : 1)) == NULL) {
    send_error(c, "out of memory for the data set");
    goto out;
  }
  if (j.data_len > 0) memcpy(data, j.data, j.data_len);
  nn_shard shard = {c->rank, ranks, rank_mpi_floats, rank_mpi_doubles, NULL};
  if (job_data_decode(data, j.data_len, &d, &err) != NN_OK ||
      nn_checkpoint_load(j.model, j.model_len, &m, &st, &err) != NN_OK ||
      nn_trainer_new_shard(m, &d, &j.config, st.state != NULL ? &st : NULL, &shard, &t,
                           &err) != NN_OK) {
    send_error(c, "%s%s%s", err.field, err.field[0] ? ": " : "", err.message);
    goto out;
  }
  while (!nn_trainer_done(t)) {
    nn_epoch_metrics em;
    int rc = nn_trainer_epoch(t, between_batches, c, &em);
    if (rc == NN_ESTOPPED) {
      status = report_stop(c, m, t);
      goto out;
    }
    if (rc != NN_OK) {
      if (rc == NN_ESHARD) send_error(c, "a reduce between the ranks failed");
      else send_error(c, "training diverged at epoch %d: the loss is not finite",
                      nn_trainer_epochs_done(t) + 1);
      goto out;
    }
    rp_epoch e = {.m = em, .done = nn_trainer_done(t)};
    e.params_crc = nn_crc32(0, nn_model_params(m), nn_model_param_count(m) * sizeof(float));
    int due = em.epoch % j.checkpoint_every == 0 || e.done;
    if (due && !replicas_agree(e.params_crc)) {
      send_error(c, "the ranks' parameters differ after epoch %d", em.epoch);
      goto out;
    }
    if (c->rank != 0) continue;
    uint8_t *ckpt = NULL;
    if (due && nn_checkpoint_save(m, t, &ckpt, &e.checkpoint_len) != NN_OK) {
      send_error(c, "out of memory for the checkpoint of epoch %d", em.epoch);
      MPI_Abort(MPI_COMM_WORLD, 1); /* the others are in the next batch's reduce */
    }
    e.checkpoint = ckpt;
    rc = report_epoch(c, &e);
    free(ckpt);
    if (rc != 0) {
      fprintf(stderr, "traind-rank: the daemon's worker is gone\n");
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  if (c->rank == 0) send_msg(c, RP_DONE, NULL, 0);
  status = c->gone ? 1 : 0;
out:
  nn_trainer_free(t);
  nn_train_state_free(&st);
  nn_model_free(m);
  free(data);
  return status;
}

int rank_serve(const char *path, int *argc, char ***argv) {
  MPI_Init(argc, argv);
  int rank, ranks, status = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  signal(SIGPIPE, SIG_IGN); /* a worker gone is a failed write, not a death */
  serve_ctx c = {.rank = rank, .fd = -1, .last_beat = now()};
  uint8_t *payload = NULL;
  size_t len = 0;
  if (rank == 0) {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int vlen = 0;
    MPI_Get_library_version(version, &vlen);
    version[strcspn(version, ",\n")] = '\0'; /* "Open MPI v4.1.4" */
    rp_header h;
    if ((c.fd = connect_to(path)) < 0) {
      perror(path);
      c.gone = 1;
    }
    send_msg(&c, RP_HELLO, (const uint8_t *)version, strlen(version));
    if (c.gone || rp_recv(c.fd, &h, &payload) != RP_OK || h.type != RP_JOB) {
      free(payload);
      payload = NULL; /* a length of 0 tells the others */
    } else {
      len = (size_t)h.len;
    }
  }
  if (rank_bcast_bytes(rank, &payload, &len) == 0) status = serve_job(&c, ranks, payload, len);
  free(payload);
  if (c.fd >= 0) close(c.fd);
  MPI_Finalize();
  return status;
}
