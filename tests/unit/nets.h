/* nets.h — small networks and data sets shared by the core unit tests. */
#ifndef TESTS_NETS_H
#define TESTS_NETS_H

#include "../../core/nn.h"

/* A spec of dense layers: widths[i] units with acts[i]. */
nn_spec nets_mlp(int inputs, int n, const int *widths, const nn_act *acts, nn_loss loss,
                 uint64_t seed);

/* 2-8-1 tanh/sigmoid, mse: the classic XOR net. */
nn_spec nets_xor_spec(uint64_t seed);

/* The four XOR rows: x (4, 2), y (4, 1). */
extern const float nets_xor_x[8];
extern const float nets_xor_y[4];
nn_data nets_xor_data(void);

/* Three Gaussian blobs in 2-D, rows/3 per class, labels 0..2 (buffers owned
 * by the caller: x (rows, 2), labels (rows,)). */
void nets_blobs(size_t rows, uint64_t seed, float *x, int32_t *labels);

/* Train to the end; returns the last epoch's metrics via *last. */
int nets_train(nn_model *m, const nn_data *d, const nn_train_config *c, nn_epoch_metrics *last);

#endif
