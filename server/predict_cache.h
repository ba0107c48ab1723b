/*
 * predict_cache.h — the predict cache: each model's newest published weights (and a
 * few older versions pinned by requests) as immutable, reference-counted core
 * snapshots (nn_weights). Predicting threads
 * take a reference and never block on a training thread, which publishes a
 * new snapshot after each checkpoint; nobody ever sees a half-written model.
 */
#ifndef TRAIND_PREDICT_CACHE_H
#define TRAIND_PREDICT_CACHE_H

#include <stdint.h>

#include "../core/encode.h"
#include "../core/nn.h"
#include "errors.h"
#include "store.h"

typedef struct predict_cache predict_cache;

/* The table encoding a weights version was trained with (issue 14): an
 * immutable encoder, reference-counted as the weights are. */
typedef struct predict_encoding predict_encoding;

const nn_encoder *predict_encoding_encoder(const predict_encoding *p);
void predict_encoding_unref(predict_encoding *p); /* NULL is fine */

/** @return 0, or -API_INTERNAL when out of memory. */
int predict_cache_new(predict_cache **out);

/** Release every cached snapshot (predictions still holding one keep it). */
void predict_cache_free(predict_cache *c);

/**
 * The newest weights of a model: from the cache, or on a miss loaded from the
 * store (st: the calling thread's handle) and cached.
 * @param w       receives a reference; release it with nn_weights_unref
 * @param version receives the weights version
 * @param classes optional: receives a copy (free it) of the class names the
 *                weights predict, as JSON array text, or NULL (regression)
 * @param enc     optional: receives a reference to the weights' table
 *                encoding (release with predict_encoding_unref), or NULL
 *                for weights trained on numbers
 * @return 0, or a negative api code with err filled: -API_NOT_FOUND (no such
 *         model), -API_CONFLICT (never trained), -API_INTERNAL
 */
int predict_cache_acquire(predict_cache *c, store *st, int64_t model_id, nn_weights **w, int64_t *version,
                   char **classes, predict_encoding **enc, api_error *err);

/**
 * One version of a model's weights: the newest from the cache as
 * predict_cache_acquire, an older one from the few the cache keeps of those pinned
 * lately, else read from the store (which keeps only some versions:
 * store_job_epoch_commit) and cached.
 * @param version a version >= 1
 * @param w       receives a reference; release it with nn_weights_unref
 * @param classes optional: receives a copy (free it) of the class names that
 *                version predicts, or NULL
 * @param enc     optional: as predict_cache_acquire
 * @return 0, or a negative api code with err filled: -API_NOT_FOUND (no such
 *         model, or not that version: field "version"), -API_INTERNAL
 */
int predict_cache_acquire_version(predict_cache *c, store *st, int64_t model_id, int64_t version,
                           nn_weights **w, char **classes, predict_encoding **enc,
                           api_error *err);

/**
 * Publish new weights (a worker, right after the store committed them). An
 * older version than the cached one is ignored, so a slow store read on a
 * miss never replaces newer weights.
 * @param w       the cache takes this reference
 * @param classes the class names recorded with the weights (JSON array
 *                text, copied), or NULL
 * @param encoding the table encoding published with them (nn_encoder_save's
 *                bytes, read here), or NULL
 */
void predict_cache_publish(predict_cache *c, int64_t model_id, int64_t version, nn_weights *w,
                    const char *classes, const uint8_t *encoding, size_t encoding_len);

/** Drop a model's weights (it was deleted). */
void predict_cache_forget(predict_cache *c, int64_t model_id);

#endif
