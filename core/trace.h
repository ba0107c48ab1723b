/*
 * trace.h — one example through a model, forward and backward, with every
 * intermediate kept: the chain rule made visible (issue #18).
 *
 * The model's layer list is compiled to a graph (core/graph.h) of one node
 * per step the chain rule takes: a dense layer's product, then its
 * activation as a node of its own, so each node's value, the gradient
 * arriving at it and the local derivative it applies can be read apart. An
 * output activation fused with its loss (softmax with cross-entropy, sigmoid
 * with binary cross-entropy) stays in the loss, as in training: the graph
 * ends at the logits and the loss's gradient is (p - t) there. The loss and
 * its gradient come from core/loss.c, the training loss itself.
 *
 * A graph model is traced through its own graph: its nodes as the user
 * named them, its several inputs (the row's columns in order), the head
 * taken off as training takes it (core/model_graph.c); a softmax or sigmoid
 * node the head replaces is still computed but takes no gradient.
 *
 * Evaluation mode (dropout is the identity, batchnorm reads its running
 * statistics); the input is standardized with the model's statistics as
 * predict does. Costs: one compile of the chain
 * for one row, a forward and a backward pass; nothing is shared with other
 * callers, so traces may run concurrently on one model.
 */
#ifndef NN_TRACE_H
#define NN_TRACE_H

#include "graph.h"

typedef struct nn_trace nn_trace;

/**
 * Trace one example.
 * @param m     its spec, parameters and standardization are read
 * @param x     (inputs,) the raw features
 * @param y     (outputs,) a float target, or NULL when label is the target
 * @param label class index in [0, outputs) (a single sigmoid output: 0 or 1)
 * @param out   the trace; free with nn_trace_free
 * @return NN_OK, NN_EINVAL (label out of range, a non-finite feature or
 *         target, an embedding's code out of range; err names "input" or
 *         "target") or NN_ENOMEM
 */
int nn_trace_run(const nn_model *m, const float *x, const float *y, int32_t label,
                 nn_trace **out, nn_error *err);

void nn_trace_free(nn_trace *t);

/** The graph traced: its values and gradients (nn_graph_value,
 * nn_graph_value_grad) are the example's, value 0 the standardized input;
 * its parameters are the model's and nn_graph_grads their gradient. */
const nn_graph *nn_trace_graph(const nn_trace *t);

/** @return the example's loss, as training computes it. */
double nn_trace_loss(const nn_trace *t);

/** @return the model's output (outputs,): nn_model_predict's answer. */
const float *nn_trace_output(const nn_trace *t);

/**
 * The activation the loss applies to the graph's output before comparing
 * it with the target: NN_ACT_SOFTMAX (cross-entropy), NN_ACT_SIGMOID
 * (binary cross-entropy), or NN_ACT_LINEAR (mean squared error: the output
 * is the graph's).
 */
nn_act nn_trace_head(const nn_trace *t);

/** @return the layer of the spec node i (spec order) comes from; -1 for
 * a graph model's nodes. */
int nn_trace_layer(const nn_trace *t, int node);

/**
 * The local derivative node i applies: for an elementwise activation (relu,
 * leaky_relu, sigmoid, tanh) dy/dx entry by entry, so that the gradient it
 * passes back is its arriving gradient times this.
 * @param out (size of the node's value,)
 * @return NN_OK, or NN_EINVAL for a node whose derivative is not elementwise
 *         (dense: its Jacobian is W; softmax: diag(y) - y y^T; dropout)
 */
int nn_trace_local(const nn_trace *t, int node, float *out);

#endif /* NN_TRACE_H */
