/* nets.c — see nets.h. */
#include "nets.h"

#include <math.h>
#include <string.h>

const float nets_xor_x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
const float nets_xor_y[4] = {0, 1, 1, 0};

nn_spec nets_mlp(int inputs, int n, const int *widths, const nn_act *acts, nn_loss loss,
                 uint64_t seed) {
  nn_spec s;
  memset(&s, 0, sizeof s);
  s.inputs = inputs;
  s.n_layers = n;
  for (int i = 0; i < n; i++) {
    nn_layer_spec_defaults(&s.layers[i]);
    s.layers[i].units = widths[i];
    s.layers[i].act = acts[i];
  }
  s.loss = loss;
  s.seed = seed;
  return s;
}

nn_spec nets_xor_spec(uint64_t seed) {
  static const int w[] = {8, 1};
  static const nn_act a[] = {NN_ACT_TANH, NN_ACT_SIGMOID};
  return nets_mlp(2, 2, w, a, NN_LOSS_MSE, seed);
}

nn_data nets_xor_data(void) {
  nn_data d = {.rows = 4, .features = 2, .x = nets_xor_x, .outputs = 1, .y = nets_xor_y};
  return d;
}

/* xorshift64*: test data only, independent of core's generator */
static double unit(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return (double)((*s * 2685821657736338717ull) >> 11) * 0x1.0p-53;
}

void nets_blobs(size_t rows, uint64_t seed, float *x, int32_t *labels) {
  static const float centres[3][2] = {{-2.0f, 0.0f}, {2.0f, 0.0f}, {0.0f, 3.0f}};
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t r = 0; r < rows; r++) {
    int c = (int)(r % 3);
    /* Box-Muller, sd 0.6: the blobs barely overlap, so >= 95% is learnable */
    double u1 = unit(&s) + 1e-12, u2 = unit(&s);
    double rad = sqrt(-2.0 * log(u1)) * 0.6;
    x[2 * r] = centres[c][0] + (float)(rad * cos(6.283185307 * u2));
    x[2 * r + 1] = centres[c][1] + (float)(rad * sin(6.283185307 * u2));
    labels[r] = c;
  }
}

int nets_train(nn_model *m, const nn_data *d, const nn_train_config *c, nn_epoch_metrics *last) {
  nn_trainer *t;
  int rc = nn_trainer_new(m, d, c, NULL, &t, NULL);
  if (rc != NN_OK) return rc;
  while (rc == NN_OK && !nn_trainer_done(t)) rc = nn_trainer_epoch(t, NULL, NULL, last);
  nn_trainer_free(t);
  return rc;
}
