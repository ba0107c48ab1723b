/*
 * optim.c — gradient descent updates over the flat parameter buffer, with
 * PyTorch's formulas (torch.optim) so results can be compared one to one.
 * Optimizer state is one flat buffer: moments for every parameter in order.
 */
#include <math.h>
#include <string.h>

#include "nn_internal.h"

void nn_optim_defaults(nn_opt type, nn_optim_spec *o) {
  memset(o, 0, sizeof *o);
  o->type = type;
  o->beta1 = 0.9f;
  o->beta2 = 0.999f;
  o->alpha = 0.99f;
  switch (type) {
  case NN_OPT_SGD:
    o->lr = 0.01f;
    break;
  case NN_OPT_ADAM:
  case NN_OPT_ADAMW:
    o->lr = 0.001f;
    o->eps = 1e-8f;
    o->weight_decay = type == NN_OPT_ADAMW ? 0.01f : 0.0f;
    break;
  case NN_OPT_RMSPROP:
    o->lr = 0.01f;
    o->eps = 1e-8f;
    break;
  }
}

size_t nn__optim_state_floats(nn_opt type, size_t n_params) {
  /* sgd: momentum buffer; adam(w): m, v; rmsprop: mean square, momentum buffer */
  return type == NN_OPT_SGD ? n_params : 2 * n_params;
}

/* buf = mu buf + g;  g = nesterov ? g + mu buf : buf;  p -= lr g */
NN__INLINE void sgd(const nn_optim_spec *o, float lr, float *p, const float *g, float *buf,
                size_t n) {
  float mu = o->momentum;
  if (mu == 0.0f) {
    for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
    return;
  }
  for (size_t i = 0; i < n; i++) {
    buf[i] = mu * buf[i] + g[i];
    float d = o->nesterov ? g[i] + mu * buf[i] : buf[i];
    p[i] -= lr * d;
  }
}

/* m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
NN__INLINE void adam(const nn_optim_spec *o, float lr, uint64_t step, float *p, const float *g,
                 float *m, float *v, size_t n) {
  float b1 = o->beta1, b2 = o->beta2;
  float step_size = (float)(lr / (1.0 - pow(b1, (double)step)));
  float bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)step));
  for (size_t i = 0; i < n; i++) {
    m[i] = m[i] * b1 + g[i] * (1.0f - b1);
    v[i] = v[i] * b2 + (1.0f - b2) * g[i] * g[i];
    float denom = sqrtf(v[i]) / bc2_sqrt + o->eps;
    p[i] -= step_size * (m[i] / denom);
  }
}

/* s = a s + (1-a) g^2;  buf = mu buf + g / (sqrt(s) + eps);  p -= lr buf */
NN__INLINE void rmsprop(const nn_optim_spec *o, float lr, float *p, const float *g, float *sq,
                    float *buf, size_t n) {
  float a = o->alpha, mu = o->momentum;
  for (size_t i = 0; i < n; i++) {
    sq[i] = sq[i] * a + (1.0f - a) * g[i] * g[i];
    float avg = sqrtf(sq[i]) + o->eps;
    if (mu > 0.0f) {
      buf[i] = buf[i] * mu + g[i] / avg;
      p[i] -= lr * buf[i];
    } else {
      p[i] -= lr * (g[i] / avg);
    }
  }
}

/* One step over parameters [begin, end) of the n_params in the buffers. */
NN__INLINE void step_range(const nn_optim_spec *o, float lr, uint64_t step, float *params,
                           float *grad, float *state, size_t n_params, size_t begin, size_t end) {
  float *p = params + begin, *g = grad + begin; /* (n,) each */
  float *s0 = state + begin; /* (n,) first moment, or momentum */
  /* (n,) second moment, or momentum of rmsprop; sgd has none */
  float *s1 = o->type == NN_OPT_SGD ? NULL : state + n_params + begin;
  size_t n = end - begin;
  float wd = o->weight_decay;
  if (o->type == NN_OPT_ADAMW) {
    /* decoupled decay: p *= 1 - lr wd */
    float f = 1.0f - lr * wd;
    for (size_t i = 0; i < n; i++) p[i] *= f;
  } else if (wd != 0.0f) {
    /* L2: g += wd p */
    for (size_t i = 0; i < n; i++) g[i] += wd * p[i];
  }
  switch (o->type) {
  case NN_OPT_SGD:
    sgd(o, lr, p, g, s0, n);
    break;
  case NN_OPT_ADAM:
  case NN_OPT_ADAMW:
    adam(o, lr, step, p, g, s0, s1, n);
    break;
  case NN_OPT_RMSPROP:
    rmsprop(o, lr, p, g, s0, s1, n);
    break;
  }
}

/* Parameters per task of a step on the pool: 128 KiB of each buffer. */
#define STEP_CHUNK ((size_t)1 << 15)

typedef struct {
  const nn_optim_spec *o;
  float lr;
  uint64_t step;
  float *params, *grad, *state;
  size_t n_params;
} step_args;

NN__VECTORIZE
static void step_task(void *ctx, size_t begin, size_t end) {
  const step_args *a = ctx;
  step_range(a->o, a->lr, a->step, a->params, a->grad, a->state, a->n_params, begin, end);
}

NN__VECTORIZE
void nn__optim_step(nn__pool *pool, const nn_optim_spec *o, float lr, uint64_t step,
                    float *params, float *grad, float *state, size_t n_params) {
  if (n_params <= STEP_CHUNK) {
    step_range(o, lr, step, params, grad, state, n_params, 0, n_params);
    return;
  }
  /* every parameter's update reads and writes its own elements only */
  step_args a = {o, lr, step, params, grad, state, n_params};
  nn__pool_for(pool, n_params, STEP_CHUNK, step_task, &a);
}

double nn__clip_grad(float *grad, size_t n_params, float max_norm) {
  double ss = 0.0;
  for (size_t i = 0; i < n_params; i++) ss += (double)grad[i] * grad[i];
  double norm = sqrt(ss);
  /* g *= max_norm / (norm + 1e-6) when that is below 1 */
  double coef = max_norm / (norm + 1e-6);
  if (max_norm > 0.0f && coef < 1.0) {
    float c = (float)coef;
    for (size_t i = 0; i < n_params; i++) grad[i] *= c;
  }
  return norm;
}

float nn_sched_lr(const nn_sched_spec *s, float lr, int epoch, int epochs) {
  switch (s->type) {
  case NN_SCHED_STEP:
    return (float)(lr * pow(s->gamma, (double)(epoch / s->step_size)));
  case NN_SCHED_EXPONENTIAL:
    return (float)(lr * pow(s->gamma, (double)epoch));
  case NN_SCHED_COSINE:
    /* lr - min_lr in double is exact, so epoch 0 gives lr itself, never a
     * float above it */
    return (float)(s->min_lr + ((double)lr - s->min_lr) *
                                   (1.0 + cos(3.141592653589793 * epoch / epochs)) / 2.0);
  case NN_SCHED_CONSTANT:
  default:
    return lr;
  }
}
