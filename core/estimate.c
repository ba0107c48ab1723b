/*
 * estimate.c — how much memory training a model takes, before any of it is
 * allocated, so a caller can refuse a model or a job that would not fit
 * (traind's --memory-budget) instead of being killed by the kernel.
 *
 * The estimate is not a model of the allocator but a replay of the
 * allocations themselves: every buffer that nn_model_new and nn_trainer_new
 * allocate is counted here with the size they ask for, from the same
 * helpers (nn__alloc_big_size, nn__ws_floats, nn__optim_state_floats), so a
 * change to what training allocates changes the estimate with it. The unit
 * tests hold it to the bytes glibc reports allocated. It costs one pass over
 * the layers.
 *
 * What it leaves out: the allocator's own overhead (16 bytes a block), the
 * stacks of the compute threads (virtual memory, touched a few pages deep),
 * and everything outside core — the data set and the checkpoints a caller
 * serializes are the caller's to add.
 */
#include <string.h>

#include "nn_internal.h"

int nn_memory_estimate(const nn_spec *spec, const nn_train_config *c, size_t rows, int labels,
                       nn_memory *out, nn_error *err) {
  memset(out, 0, sizeof *out);
  nn_spec s = *spec;
  int rc = nn_spec_validate(&s, err);
  if (rc != NN_OK) return NN_EINVAL;
  if (c->batch_size < 1 || c->batch_size > NN_MAX_BATCH)
    return nn__fail(err, NN_EINVAL, "batch_size", "batch_size must be in 1..%d", NN_MAX_BATCH);
  if (!(c->validation_split >= 0.0f && c->validation_split < 1.0f))
    return nn__fail(err, NN_EINVAL, "validation_split", "validation_split must be in [0, 1)");
  if (rows < 1 || rows > UINT32_MAX)
    return nn__fail(err, NN_EINVAL, "rows", "rows must be in 1..%u", UINT32_MAX);
  nn__arch a;
  size_t P = 0, kept = 0;
  if (s.graph == NULL) {
    nn__arch_init(&s, &a);
    P = kept = a.n_params;
  }
  /* the rows nn_trainer_new trains on (make_split), and so its largest batch */
  size_t n_val = (size_t)((double)rows * c->validation_split);
  if (n_val >= rows) n_val = rows - 1;
  size_t n_train = rows - n_val;
  size_t batch = (size_t)c->batch_size < n_train ? (size_t)c->batch_size : n_train;
  if (s.graph != NULL) { /* a graph model: its compiled graph's buffers */
    size_t n_state;
    if (nn__gnet_memory(&s, batch, out) != NN_OK || nn__graph_state_count(&s, &n_state) != NN_OK)
      return nn__fail(err, NN_ENOMEM, "", "out of memory");
    P = s.graph_params;
    kept = P + n_state;
  } else {
    /* nn__model_alloc: P parameters, then the mean and std of each input */
    out->model = nn__alloc_big_size((P + 2 * (size_t)s.inputs) * sizeof(float));
    out->gradients = nn__alloc_big_size(P * sizeof(float));
    out->activations = nn__alloc_big_size(nn__ws_floats(&s, &a, batch, 1) * sizeof(float));
  }
  if (c->restore_best) /* the best epoch's weights (and statistics), beside the gradients */
    out->gradients += nn__alloc_big_size(kept * sizeof(float));
  out->optimizer = nn__alloc_big_size(nn__optim_state_floats(c->optim.type, P) * sizeof(float));
  out->rows = 2 * rows * sizeof(uint32_t); /* split and order */
  out->other += sizeof(nn_model) + nn__trainer_size();
  /* a batch's targets: (batch, outputs) floats or (batch,) labels */
  out->other += labels ? batch * sizeof(int32_t)
                       : batch * (size_t)nn_spec_outputs(&s) * sizeof(float);
  if (c->diagnostics) {
    size_t units = nn__relu_units(&s);
    out->other += sizeof(nn__diag) + (units > 0 ? units : 1);
  }
  /* fit_norm's (2, inputs) doubles, freed before the first epoch, but alive
   * together with everything above */
  if (s.normalize) out->other += 2 * (size_t)s.inputs * sizeof(double);
  /* each term is below 2^50 (widths and rows are at most 2^20, layers 64,
   * rows 2^32): the sum cannot overflow a 64-bit size_t */
  out->total = out->model + out->gradients + out->optimizer + out->activations + out->rows +
               out->other;
  return NN_OK;
}
