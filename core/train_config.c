/*
 * train_config.c — defaults and range checks of a training configuration.
 */
#include <math.h>

#include "nn_internal.h"

void nn_train_config_defaults(nn_train_config *c) {
  c->epochs = 10;
  c->batch_size = 32;
  c->shuffle = 1;
  c->validation_split = 0.0f;
  c->seed = 0;
  nn_optim_defaults(NN_OPT_ADAM, &c->optim);
  c->sched.type = NN_SCHED_CONSTANT;
  c->sched.step_size = 10;
  c->sched.gamma = 0.1f;
  c->sched.min_lr = 0.0f;
  c->clip_norm = 0.0f;
  c->patience = 0;
  c->min_delta = 0.0f;
  c->restore_best = 0;
  c->diagnostics = 0;
}

/* finite and within [lo, hi] */
static int in_range(float v, float lo, float hi) { return isfinite(v) && v >= lo && v <= hi; }

int nn_train_config_validate(const nn_train_config *c, nn_error *err) {
  const nn_optim_spec *o = &c->optim;
  if (c->epochs < 1) return nn__fail(err, NN_EINVAL, "epochs", "epochs must be at least 1");
  if (c->batch_size < 1 || c->batch_size > NN_MAX_BATCH)
    return nn__fail(err, NN_EINVAL, "batch_size", "batch_size must be in [1, %d]", NN_MAX_BATCH);
  if (!(c->validation_split >= 0.0f && c->validation_split < 1.0f))
    return nn__fail(err, NN_EINVAL, "validation_split", "validation_split must be in [0, 1)");
  if ((unsigned)o->type > NN_OPT_RMSPROP)
    return nn__fail(err, NN_EINVAL, "optimizer.type", "optimizer.type is not a known optimizer");
  if (!(isfinite(o->lr) && o->lr > 0.0f))
    return nn__fail(err, NN_EINVAL, "optimizer.lr", "optimizer.lr must be a positive number");
  if (!in_range(o->momentum, 0.0f, 0.999999f))
    return nn__fail(err, NN_EINVAL, "optimizer.momentum", "optimizer.momentum must be in [0, 1)");
  if (o->nesterov && !(o->type == NN_OPT_SGD && o->momentum > 0.0f))
    return nn__fail(err, NN_EINVAL, "optimizer.nesterov",
                    "optimizer.nesterov needs sgd with a positive momentum");
  if (!in_range(o->beta1, 0.0f, 0.999999f))
    return nn__fail(err, NN_EINVAL, "optimizer.beta1", "optimizer.beta1 must be in [0, 1)");
  if (!in_range(o->beta2, 0.0f, 0.999999f))
    return nn__fail(err, NN_EINVAL, "optimizer.beta2", "optimizer.beta2 must be in [0, 1)");
  if (!in_range(o->alpha, 0.0f, 0.999999f))
    return nn__fail(err, NN_EINVAL, "optimizer.alpha", "optimizer.alpha must be in [0, 1)");
  if (!in_range(o->eps, 0.0f, 1.0f) || (o->type != NN_OPT_SGD && o->eps <= 0.0f))
    return nn__fail(err, NN_EINVAL, "optimizer.eps", "optimizer.eps must be in (0, 1]");
  if (!in_range(o->weight_decay, 0.0f, 1.0f))
    return nn__fail(err, NN_EINVAL, "optimizer.weight_decay",
                    "optimizer.weight_decay must be in [0, 1]");
  const nn_sched_spec *s = &c->sched;
  if ((unsigned)s->type > NN_SCHED_COSINE)
    return nn__fail(err, NN_EINVAL, "lr_schedule.type", "lr_schedule.type is not a known schedule");
  if (s->type == NN_SCHED_STEP && s->step_size < 1)
    return nn__fail(err, NN_EINVAL, "lr_schedule.step_size",
                    "lr_schedule.step_size must be at least 1");
  if ((s->type == NN_SCHED_STEP || s->type == NN_SCHED_EXPONENTIAL) &&
      !in_range(s->gamma, 1e-12f, 1.0f))
    return nn__fail(err, NN_EINVAL, "lr_schedule.gamma", "lr_schedule.gamma must be in (0, 1]");
  if (s->type == NN_SCHED_COSINE && !in_range(s->min_lr, 0.0f, o->lr))
    return nn__fail(err, NN_EINVAL, "lr_schedule.min_lr",
                    "lr_schedule.min_lr must be in [0, optimizer.lr]");
  if (!in_range(c->clip_norm, 0.0f, INFINITY))
    return nn__fail(err, NN_EINVAL, "clip_norm", "clip_norm must be a finite number >= 0");
  if (c->patience < 0)
    return nn__fail(err, NN_EINVAL, "early_stopping.patience",
                    "early_stopping.patience must be >= 0");
  if (!in_range(c->min_delta, 0.0f, INFINITY))
    return nn__fail(err, NN_EINVAL, "early_stopping.min_delta",
                    "early_stopping.min_delta must be a finite number >= 0");
  return NN_OK;
}
