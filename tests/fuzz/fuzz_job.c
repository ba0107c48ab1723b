/*
 * fuzz_job.c — training job configs, the body of POST /v1/jobs
 * (parse_job_config).
 *
 * A refused body is a 400 with a message. A config that parses is valid for
 * core, has its ids and checkpoint interval in range, gives a finite learning
 * rate within [0, lr] at every epoch, and prints back to JSON that parses
 * into the same config.
 */
#include <math.h>

#include "../../server/parse_job.h"
#include "fuzz.h"

static void check_same_job(const parse_job *a, const parse_job *b) {
  const nn_train_config *x = &a->config, *y = &b->config;
  const nn_optim_spec *o = &x->optim, *p = &y->optim;
  FUZZ_CHECK(a->model == b->model && a->dataset == b->dataset && a->reset == b->reset &&
                 a->checkpoint_every == b->checkpoint_every && a->ranks == b->ranks,
             "job fields differ");
  FUZZ_CHECK(x->epochs == y->epochs && x->batch_size == y->batch_size &&
                 x->shuffle == y->shuffle && x->seed == y->seed && x->patience == y->patience &&
                 fuzz_same_float(x->validation_split, y->validation_split) &&
                 fuzz_same_float(x->clip_norm, y->clip_norm) &&
                 fuzz_same_float(x->min_delta, y->min_delta),
             "training fields differ");
  FUZZ_CHECK(o->type == p->type && o->nesterov == p->nesterov && fuzz_same_float(o->lr, p->lr) &&
                 fuzz_same_float(o->momentum, p->momentum) &&
                 fuzz_same_float(o->beta1, p->beta1) && fuzz_same_float(o->beta2, p->beta2) &&
                 fuzz_same_float(o->eps, p->eps) && fuzz_same_float(o->alpha, p->alpha) &&
                 fuzz_same_float(o->weight_decay, p->weight_decay),
             "optimizer fields differ");
  FUZZ_CHECK(x->sched.type == y->sched.type, "schedule type differs");
  /* only the members of the schedule's type are printed */
  if (x->sched.type == NN_SCHED_STEP)
    FUZZ_CHECK(x->sched.step_size == y->sched.step_size, "step_size differs");
  if (x->sched.type == NN_SCHED_STEP || x->sched.type == NN_SCHED_EXPONENTIAL)
    FUZZ_CHECK(fuzz_same_float(x->sched.gamma, y->sched.gamma), "gamma differs");
  if (x->sched.type == NN_SCHED_COSINE)
    FUZZ_CHECK(fuzz_same_float(x->sched.min_lr, y->sched.min_lr), "min_lr differs");
}

static void check_round_trip(const parse_job *job) {
  cJSON *o = parse_job_to_json(job);
  FUZZ_CHECK(o != NULL, "parse_job_to_json failed");
  char *text = cJSON_PrintUnformatted(o);
  FUZZ_CHECK(text != NULL, "cJSON_Print failed");
  cJSON *root = NULL;
  api_error err = {0};
  int rc = parse_json_body(text, strlen(text), &root, &err);
  FUZZ_CHECK(rc == 0, "printed config is not JSON: %s", err.message);
  parse_job again;
  rc = parse_job_config(root, &again, &err);
  FUZZ_CHECK(rc == 0, "printed config %s is refused: %s: %s", text, err.field, err.message);
  check_same_job(job, &again);
  cJSON_Delete(root);
  cJSON_free(text);
  cJSON_Delete(o);
}

static void check_schedule(const nn_train_config *c) {
  int epochs[] = {0, 1, c->epochs / 2, c->epochs - 1};
  for (size_t i = 0; i < sizeof epochs / sizeof epochs[0]; i++) {
    float lr = nn_sched_lr(&c->sched, c->optim.lr, epochs[i], c->epochs);
    FUZZ_CHECK(isfinite(lr) && lr >= 0.0f && lr <= c->optim.lr,
               "epoch %d of %d: lr %g outside [0, %g]", epochs[i], c->epochs, (double)lr,
               (double)c->optim.lr);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *root = fuzz_parse_body(data, size);
  if (root == NULL) return 0;
  api_error err = {0};
  int rc;
  parse_job job;
  rc = parse_job_config(root, &job, &err);
  cJSON_Delete(root);
  if (rc != 0) {
    fuzz_check_refusal(rc, &err, API_INVALID_ARGUMENT);
    return 0;
  }
  FUZZ_CHECK(nn_train_config_validate(&job.config, NULL) == NN_OK, "config does not validate");
  FUZZ_CHECK(job.model >= 1 && job.model <= PARSE_MAX_SAFE_INT, "model %lld",
             (long long)job.model);
  FUZZ_CHECK(job.dataset >= 1 && job.dataset <= PARSE_MAX_SAFE_INT, "dataset %lld",
             (long long)job.dataset);
  FUZZ_CHECK(job.checkpoint_every >= 1, "checkpoint_every %d", job.checkpoint_every);
  FUZZ_CHECK(job.reset == 0 || job.reset == 1, "reset %d", job.reset);
  check_schedule(&job.config);
  check_round_trip(&job);
  return 0;
}
