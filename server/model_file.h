/*
 * model_file.h — a model as one file that leaves traind and comes back:
 * GET /v1/models/{id}/versions/{v}/weights writes it, POST /v1/models/import
 * reads it. The file wraps a weights-only core checkpoint (which holds the
 * spec, weights and standardization) with what only the daemon knows: the
 * model's name, the weights version it was, the class names it predicts and,
 * for a model trained on a typed table, the table encoding the weights were
 * trained with (core/encode.h: without it, raw records could not be
 * predicted). Its layout is documented in docs/checkpoint-format.md ("Model
 * files"), versioned on its own (MODEL_FILE_VERSION) and sealed with a CRC-32.
 *
 * A bare core checkpoint (versions 1 and 2, what a program using core/
 * saves) is read as a model file too: it imports as a model named "imported",
 * version 1, without class names.
 *
 * No HTTP and no store here: bytes in, bytes or a checked model out. Every
 * refusal is -API_INVALID_ARGUMENT naming what is wrong, so a handler answers
 * it as is. Costs: one pass over the bytes for the CRC and one copy of the
 * checkpoint (the model's weights) each way.
 */
#ifndef TRAIND_MODEL_FILE_H
#define TRAIND_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/nn.h"
#include "errors.h"
#include "parse_json.h"

#define MODEL_FILE_VERSION 2 /* of the files written; 1 (no encoding) is still read */

/* What a model file holds. */
typedef struct {
  char name[PARSE_NAME_MAX + 1];
  int64_t version;   /* the weights version it was exported as, >= 1 */
  char *classes;     /* JSON array text of the class names, or NULL (regression) */
  nn_model *model;   /* spec, weights, standardization; checked by nn_checkpoint_load */
  uint8_t *ckpt;     /* the checkpoint bytes as stored by traind (a weights-only */
  size_t ckpt_len;   /* checkpoint in NN_FORMAT_VERSION) */
  uint8_t *encoding; /* the table encoding (nn_encoder_save's bytes, checked by */
  size_t encoding_len; /* nn_encoder_load and against the model), or NULL */
} model_file;

/**
 * Write a model file.
 * @param ckpt    a weights-only checkpoint (stored weights: already checked)
 * @param classes JSON array text, or NULL
 * @param encoding the table encoding stored with the weights, or NULL
 * @param out     receives a malloc'd buffer (free it)
 * @return 0 or -API_INTERNAL (out of memory, a name or field too long)
 */
int model_file_write(const char *name, int64_t version, const char *classes,
                     const uint8_t *ckpt, size_t ckpt_len, const uint8_t *encoding,
                     size_t encoding_len, uint8_t **out, size_t *out_len, api_error *err);

/**
 * Read and check a model file, or a bare core checkpoint.
 * @param out release with model_file_clear (also on failure)
 * @return 0; -API_INVALID_ARGUMENT naming "body" (truncated, bad magic, CRC,
 *         future version...), a checkpoint field ("layers[0].activation")
 *         when the spec does not validate, "name" or "classes"; or
 *         -API_INTERNAL when out of memory
 */
int model_file_read(const uint8_t *buf, size_t len, model_file *out, api_error *err);

void model_file_clear(model_file *f);

#endif
