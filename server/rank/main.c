/*
 * main.c — traind-rank: one rank of a data-parallel training run over MPI
 * (issue #19, docs/distributed.md). Launched by mpirun, R copies of it each
 * hold the whole model and data set and train on their share of every
 * batch; core's sharded trainer calls back here to sum the gradients with
 * MPI_Allreduce. Rank 0 reads the job and broadcasts it, prints each epoch's
 * metrics on stdout and writes the final checkpoint; at the end the ranks
 * compare a CRC of their parameters and the run fails if any differs.
 *
 *   mpirun -np 2 traind-rank (--spec LINE | --model CKPT) --data FILE.trds
 *          [--out CKPT] [--epochs N] [--batch-size N] [--optimizer NAME]
 *          [--lr X] [--momentum X] [--weight-decay X] [--clip-norm X]
 *          [--validation-split X] [--seed N] [--no-shuffle] [--threads N]
 *   traind-rank --local R ...   the same run, its R ranks threads of one
 *                               process summing in Open MPI's basic linear
 *                               order (nn_replicas); no MPI at all
 *   mpirun ... traind-rank --connect SOCKET
 *                               a daemon's job (serve.c): rank 0 receives it
 *                               over the unix socket and reports back
 *
 * stdout (rank 0), one line per epoch then one at the end:
 *   epoch E loss L accuracy A val_loss V val_accuracy W lr R samples S
 *   params_crc XXXXXXXX
 * stderr: errors, and the time spent in the gradient reduce per step.
 * Exit status 0, 1 on failure (a rank's failure aborts the whole run), 2 on
 * a usage error.
 *
 * The cost that matters is the gradient allreduce, 4 P bytes per step (P
 * parameters): traind-rank measures it (MPI_Wtime around every reduce) so
 * that the communication-to-compute ratio of a batch size can be judged.
 */
#include <assert.h>
#include <limits.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"
#include "serve.h"

/* One rank's run: its inputs, and what it leaves. */
typedef struct {
  const job_args *a;
  const uint8_t *model; /* checkpoint bytes, shared by every rank */
  size_t model_len;
  const nn_data *d;
  nn_shard inner;       /* the reduce: MPI_Allreduce or nn_replicas */
  FILE *out;            /* rank 0: metrics; others NULL */
  double reduce_seconds;
  double train_seconds;
  uint64_t steps;
  uint32_t crc;         /* of the final parameters */
  uint8_t *ckpt;        /* rank 0: the final checkpoint */
  size_t ckpt_len;
  int rc;
  nn_error err;
} rank_run;

/* ---- the reduces, timed ------------------------------------------------------- */

int rank_mpi_floats(void *ud, float *buf, size_t n) {
  (void)ud;
  assert(n <= INT_MAX); /* n <= NN_MAX_PARAMS */
  return MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) !=
         MPI_SUCCESS;
}

int rank_mpi_doubles(void *ud, double *buf, size_t n) {
  (void)ud;
  assert(n <= INT_MAX);
  return MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) !=
         MPI_SUCCESS;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int timed_floats(void *ud, float *buf, size_t n) {
  rank_run *r = ud;
  double t0 = now();
  int rc = r->inner.reduce_floats(r->inner.ud, buf, n);
  r->reduce_seconds += now() - t0;
  r->steps++;
  return rc;
}

static int timed_doubles(void *ud, double *buf, size_t n) {
  rank_run *r = ud;
  return r->inner.reduce_doubles(r->inner.ud, buf, n);
}

/* ---- one rank ------------------------------------------------------------------ */

static void print_epoch(FILE *f, const nn_epoch_metrics *em) {
  /* %.17g: two runs' lines are equal exactly when their doubles are */
  fprintf(f, "epoch %d loss %.17g accuracy %.17g val_loss %.17g val_accuracy %.17g lr %.9g "
          "samples %zu\n", em->epoch, em->loss, em->accuracy, em->val_loss, em->val_accuracy,
          (double)em->lr, em->samples);
  fflush(f);
}

static void *train_rank(void *arg) {
  rank_run *r = arg;
  nn_model *m = NULL;
  nn_trainer *t = NULL;
  nn_train_state st;
  memset(&st, 0, sizeof st);
  r->rc = nn_checkpoint_load(r->model, r->model_len, &m, &st, &r->err);
  if (r->rc != NN_OK) goto out;
  nn_shard shard = {r->inner.rank, r->inner.ranks, timed_floats, timed_doubles, r};
  r->rc = nn_trainer_new_shard(m, r->d, &r->a->config, st.state != NULL ? &st : NULL, &shard,
                               &t, &r->err);
  if (r->rc == NN_OK && r->a->threads > 1) r->rc = nn_trainer_set_threads(t, r->a->threads);
  double t0 = now();
  while (r->rc == NN_OK && !nn_trainer_done(t)) {
    nn_epoch_metrics em;
    r->rc = nn_trainer_epoch(t, NULL, NULL, &em);
    if (r->rc == NN_OK && r->out != NULL) print_epoch(r->out, &em);
  }
  r->train_seconds = now() - t0;
  if (r->rc != NN_OK) {
    if (r->err.message[0] == '\0')
      snprintf(r->err.message, sizeof r->err.message, "%s", nn_strerror(r->rc));
    goto out;
  }
  r->crc = nn_crc32(0, nn_model_params(m), nn_model_param_count(m) * sizeof(float));
  if (r->out != NULL) r->rc = nn_checkpoint_save(m, t, &r->ckpt, &r->ckpt_len);
out:
  nn_trainer_free(t);
  nn_train_state_free(&st);
  nn_model_free(m);
  return NULL;
}

/* ---- the job's bytes ------------------------------------------------------------- */

/* Rank 0's reading of the job: the model as checkpoint bytes (made from
 * --spec, or --model's file as it is) and the data set file. */
static int read_job(const job_args *a, uint8_t **model, size_t *model_len, uint8_t **data,
                    size_t *data_len) {
  if (a->model_path != NULL) {
    if (job_read_file(a->model_path, model, model_len) != 0) {
      perror(a->model_path);
      return -1;
    }
  } else {
    nn_spec spec;
    nn_model *m;
    nn_error err = {{0}, {0}};
    if (job_spec_parse(a->spec_text, &spec, &err) != NN_OK ||
        nn_model_new(&spec, &m, &err) != NN_OK) {
      fprintf(stderr, "traind-rank: %s\n", err.message);
      return -1;
    }
    int rc = nn_checkpoint_save(m, NULL, model, model_len);
    nn_model_free(m);
    if (rc != NN_OK) return -1;
  }
  if (job_read_file(a->data_path, data, data_len) != 0) {
    perror(a->data_path);
    free(*model);
    *model = NULL;
    return -1;
  }
  return 0;
}

/* Rank 0's buffer to every rank: its length, then the bytes in pieces an
 * int can count. A length of 0 says rank 0 failed. */
int rank_bcast_bytes(int rank, uint8_t **buf, size_t *len) {
  uint64_t n = rank == 0 ? (uint64_t)*len : 0;
  if (MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD) != MPI_SUCCESS || n == 0) return -1;
  if (rank != 0) {
    *buf = malloc((size_t)n);
    if (*buf == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
    *len = (size_t)n;
  }
  for (uint64_t off = 0; off < n; off += 1u << 30) {
    int piece = (int)(n - off < (1u << 30) ? n - off : (1u << 30));
    if (MPI_Bcast(*buf + off, piece, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS) return -1;
  }
  return 0;
}

static int finish(const job_args *a, rank_run *r0, int ranks, double reduce_seconds) {
  if (a->out_path != NULL && job_write_file(a->out_path, r0->ckpt, r0->ckpt_len) != 0) {
    perror(a->out_path);
    return 1;
  }
  printf("params_crc %08x\n", r0->crc);
  fflush(stdout);
  fprintf(stderr, "traind-rank: %d ranks, %llu steps, %.3f ms per step, of which %.3f ms in "
          "the gradient reduce\n", ranks, (unsigned long long)r0->steps,
          r0->steps ? 1e3 * r0->train_seconds / (double)r0->steps : 0.0,
          r0->steps ? 1e3 * reduce_seconds / (double)r0->steps : 0.0);
  return 0;
}

/* ---- the two ways to run ----------------------------------------------------- */

static int run_local(const job_args *a, uint8_t *model, size_t model_len, const nn_data *d) {
  int R = a->local, status = 1;
  nn_replicas *g = NULL;
  nn_model *probe = NULL;
  rank_run *runs = calloc((size_t)R, sizeof *runs);
  pthread_t *th = calloc((size_t)R, sizeof *th);
  if (runs == NULL || th == NULL) goto out;
  nn_error err = {{0}, {0}};
  if (nn_checkpoint_load(model, model_len, &probe, NULL, &err) != NN_OK) {
    fprintf(stderr, "traind-rank: %s\n", err.message);
    goto out;
  }
  if (nn_replicas_new(R, nn_model_param_count(probe), &g) != NN_OK) goto out;
  int started = 0;
  for (int r = 0; r < R; r++) {
    runs[r] = (rank_run){.a = a, .model = model, .model_len = model_len, .d = d,
                         .out = r == 0 ? stdout : NULL};
    nn_replicas_shard(g, r, &runs[r].inner);
    if (pthread_create(&th[r], NULL, train_rank, &runs[r]) != 0) break;
    started++;
  }
  /* a thread missing would leave the others waiting at a barrier for good */
  if (started < R) abort();
  for (int r = 0; r < R; r++) pthread_join(th[r], NULL);
  status = 0;
  for (int r = 0; r < R; r++) {
    if (runs[r].rc != NN_OK) {
      fprintf(stderr, "traind-rank: rank %d: %s\n", r, runs[r].err.message);
      status = 1;
    } else if (runs[r].crc != runs[0].crc) {
      fprintf(stderr, "traind-rank: rank %d's parameters differ from rank 0's\n", r);
      status = 1;
    }
  }
  if (status == 0) status = finish(a, &runs[0], R, runs[0].reduce_seconds);
out:
  for (int r = 0; runs != NULL && r < R; r++) free(runs[r].ckpt);
  free(runs);
  free(th);
  nn_replicas_free(g);
  nn_model_free(probe);
  return status;
}

static int run_mpi(const job_args *a, int *argc, char ***argv) {
  MPI_Init(argc, argv);
  int rank, ranks, status = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  uint8_t *model = NULL, *data = NULL;
  size_t model_len = 0, data_len = 0;
  if (rank == 0 && read_job(a, &model, &model_len, &data, &data_len) != 0)
    model_len = data_len = 0; /* the broadcast lengths tell the others */
  if (rank_bcast_bytes(rank, &model, &model_len) != 0 ||
      rank_bcast_bytes(rank, &data, &data_len) != 0)
    goto out;
  nn_data d;
  rank_run run = {.a = a, .model = model, .model_len = model_len, .d = &d,
                  .inner = {rank, ranks, rank_mpi_floats, rank_mpi_doubles, NULL},
                  .out = rank == 0 ? stdout : NULL};
  run.rc = job_data_decode(data, data_len, &d, &run.err);
  if (run.rc == NN_OK) train_rank(&run);
  if (run.rc != NN_OK) {
    /* the others may be waiting in a reduce: end them all */
    fprintf(stderr, "traind-rank: rank %d: %s\n", rank, run.err.message);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  /* the replicas must hold the same parameters: compare their CRCs */
  unsigned lo = run.crc, hi = run.crc;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UNSIGNED, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UNSIGNED, MPI_MAX, MPI_COMM_WORLD);
  /* the least of the ranks' reduce times: the others' include waiting for
   * the slowest rank to arrive */
  double reduce = run.reduce_seconds;
  MPI_Allreduce(MPI_IN_PLACE, &reduce, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  if (lo != hi) {
    if (rank == 0) fprintf(stderr, "traind-rank: the ranks' parameters differ\n");
  } else {
    status = rank == 0 ? finish(a, &run, ranks, reduce) : 0;
  }
  free(run.ckpt);
out:
  free(model);
  free(data);
  MPI_Finalize();
  return status;
}

int main(int argc, char **argv) {
  job_args a;
  char msg[256];
  if (argc == 3 && strcmp(argv[1], "--connect") == 0) return rank_serve(argv[2], &argc, &argv);
  if (job_args_parse(argc - 1, argv + 1, &a, msg, sizeof msg) != 0) {
    fprintf(stderr, "traind-rank: %s\n(see docs/distributed.md)\n", msg);
    return 2;
  }
  if (a.local == 0) return run_mpi(&a, &argc, &argv);
  uint8_t *model = NULL, *data = NULL;
  size_t model_len, data_len;
  if (read_job(&a, &model, &model_len, &data, &data_len) != 0) return 1;
  nn_data d;
  nn_error err = {{0}, {0}};
  int status = 1;
  if (job_data_decode(data, data_len, &d, &err) != NN_OK)
    fprintf(stderr, "traind-rank: %s\n", err.message);
  else
    status = run_local(&a, model, model_len, &d);
  free(model);
  free(data);
  return status;
}
