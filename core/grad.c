/*
 * grad.c — loss and gradient of a model on a batch, outside any training
 * run: what gradient checks compare against finite differences.
 */
#include <stdlib.h>

#include "nn_internal.h"

int nn_model_loss_grad(const nn_model *m, const float *x, const float *y,
                       const int32_t *labels, size_t n, float *grad, float *dx,
                       double *loss) {
  if ((y == NULL) == (labels == NULL) || n == 0 || m->graph != NULL) return NN_EINVAL;
  const nn__arch *a = &m->arch;
  nn__ws ws;
  int rc = nn__ws_init(&ws, &m->spec, a, n, 1);
  if (rc != NN_OK) return rc;
  nn__standardize(NULL, x, NULL, n, m->spec.inputs, m->mean, m->std, ws.x);
  nn__net_forward(&m->spec, a, m->params, &ws, n, NULL);
  nn__loss_sum s = {0, 0};
  int outputs = a->out[a->n_layers - 1];
  nn__loss(m->spec.loss, ws.acts[a->n_layers - 1], ws.logits, y, labels, n, n, outputs, ws.g0,
           &s);
  *loss = s.loss / (double)n;
  if (grad != NULL || dx != NULL) {
    float *g = grad;
    float *tmp = NULL;
    if (g == NULL) { /* dx alone still needs somewhere to put dW */
      tmp = malloc(a->n_params * sizeof(float));
      if (tmp == NULL) {
        rc = NN_ENOMEM;
        goto out;
      }
      g = tmp;
    }
    nn__net_backward(&m->spec, a, m->params, &ws, n, g, dx, NULL);
    free(tmp);
  }
out:
  nn__ws_free(&ws);
  return rc;
}
