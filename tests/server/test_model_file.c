/* test_model_file.c — the model file (server/model_file.c): a round trip
 * keeps name, version, class names, a table model's encoding and every
 * weight bit; a format 1 file (before encodings) still reads; every
 * truncation, every flipped byte, a future format version, class names and
 * encodings that do not fit are refused with 400 naming what is wrong,
 * never a crash. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/encode.h"
#include "../../server/model_file.h"
#include "table_fixture.h"

static nn_model *model;   /* 3 inputs -> 4 relu -> dropout -> 2 softmax, cross_entropy */
static uint8_t *ckpt;     /* its weights-only checkpoint */
static size_t ckpt_len;
static uint8_t *file;     /* the model file of it: "m-1", version 7, classes a, b */
static size_t file_len;

static const char CLASSES[] = "[\"a\",\"b\"]";

static void setup(void) {
  nn_spec s = {.inputs = 3, .n_layers = 3, .loss = NN_LOSS_CROSS_ENTROPY, .seed = 9};
  for (int i = 0; i < 3; i++) nn_layer_spec_defaults(&s.layers[i]);
  s.layers[0].units = 4;
  s.layers[0].act = NN_ACT_RELU;
  s.layers[1].type = NN_LAYER_DROPOUT;
  s.layers[1].rate = 0.5f;
  s.layers[2].units = 2;
  s.layers[2].act = NN_ACT_SOFTMAX;
  cr_assert_eq(nn_model_new(&s, &model, NULL), NN_OK);
  const float mean[3] = {1, -2, 0.5f}, std[3] = {2, 0.25f, 1};
  cr_assert_eq(nn_model_set_norm(model, mean, std), NN_OK);
  cr_assert_eq(nn_checkpoint_save(model, NULL, &ckpt, &ckpt_len), NN_OK);
  api_error err;
  cr_assert_eq(model_file_write("m-1", 7, CLASSES, ckpt, ckpt_len, NULL, 0, &file, &file_len,
                                &err), 0);
}

static void teardown(void) {
  nn_model_free(model);
  free(ckpt);
  free(file);
}

TestSuite(model_file, .init = setup, .fini = teardown);

/* The file's bytes with its CRC set again, so a check past the CRC is reached. */
static void reseal(uint8_t *b, size_t len) {
  uint32_t crc = nn_crc32(0, b, len - 4);
  for (int i = 0; i < 4; i++) b[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
}

static api_error refused(const uint8_t *b, size_t len) {
  model_file f;
  api_error err = {0};
  cr_assert_eq(model_file_read(b, len, &f, &err), -API_INVALID_ARGUMENT, "len %zu", len);
  cr_assert_null(f.model);
  cr_assert_null(f.classes);
  return err;
}

Test(model_file, round_trip_keeps_everything) {
  model_file f;
  api_error err;
  cr_assert_eq(model_file_read(file, file_len, &f, &err), 0, "%s", err.message);
  cr_assert_str_eq(f.name, "m-1");
  cr_assert_eq(f.version, 7);
  cr_assert_str_eq(f.classes, CLASSES);
  cr_assert_eq(f.ckpt_len, ckpt_len);
  cr_assert_eq(memcmp(f.ckpt, ckpt, ckpt_len), 0); /* stored as saved: the same bytes */
  cr_assert_eq(memcmp(nn_model_params_const(f.model), nn_model_params_const(model),
                      nn_model_param_count(model) * sizeof(float)), 0);
  cr_assert_eq(nn_model_spec(f.model)->layers[1].type, NN_LAYER_DROPOUT);
  model_file_clear(&f);
}

Test(model_file, a_bare_checkpoint_imports_unnamed) {
  model_file f;
  api_error err;
  cr_assert_eq(model_file_read(ckpt, ckpt_len, &f, &err), 0, "%s", err.message);
  cr_assert_str_eq(f.name, "imported");
  cr_assert_eq(f.version, 1);
  cr_assert_null(f.classes);
  model_file_clear(&f);
}

Test(model_file, every_truncation_is_refused) {
  for (size_t len = 0; len < file_len; len++) {
    api_error err = refused(file, len);
    cr_assert_str_eq(err.field, "body");
    cr_assert(strstr(err.message, "truncated") != NULL, "len %zu: %s", len, err.message);
  }
}

Test(model_file, every_flipped_byte_is_refused) {
  uint8_t *b = malloc(file_len);
  cr_assert_not_null(b);
  for (size_t i = 0; i < file_len; i++) {
    memcpy(b, file, file_len);
    b[i] ^= 0x10;
    refused(b, file_len);
  }
  free(b);
}

Test(model_file, a_future_format_version_says_so) {
  uint8_t *b = malloc(file_len);
  cr_assert_not_null(b);
  memcpy(b, file, file_len);
  b[8] = 3;
  reseal(b, file_len);
  api_error err = refused(b, file_len);
  cr_assert_str_eq(err.message,
                   "model file format version 3 is not supported (this build reads versions 1 "
                   "to 2)");
  free(b);
}

Test(model_file, class_names_must_fit_the_model) {
  static const char *const bad[] = {"[\"a\",\"b\",\"c\"]", "[\"a\",2]", "{}", "[\"a\",\"b\""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t *b;
    size_t len;
    api_error err;
    cr_assert_eq(model_file_write("m", 1, bad[i], ckpt, ckpt_len, NULL, 0, &b, &len, &err), 0);
    err = refused(b, len);
    cr_assert_str_eq(err.field, "classes", "%s: %s", bad[i], err.message);
    free(b);
  }
}

Test(model_file, a_spec_that_does_not_validate_names_its_field) {
  /* layers[2].activation (a softmax head) becomes relu: cross_entropy refuses it */
  uint8_t *c = malloc(ckpt_len), *b;
  size_t len;
  api_error err;
  cr_assert_not_null(c);
  memcpy(c, ckpt, ckpt_len);
  c[20 + 2 * 24 + 8] = NN_ACT_RELU;
  reseal(c, ckpt_len);
  cr_assert_eq(model_file_write("m", 1, NULL, c, ckpt_len, NULL, 0, &b, &len, &err), 0);
  err = refused(b, len);
  cr_assert(strstr(err.field, "layers[2]") != NULL || strcmp(err.field, "loss") == 0, "%s: %s",
            err.field, err.message);
  free(b);
  free(c);
}

/* ---- a table model's encoding ------------------------------------------------------ */

/* A 4-input regression's weights-only checkpoint (mse, or 2 softmax units). */
static uint8_t *table_checkpoint(nn_loss loss, size_t *len) {
  nn_spec s = {.inputs = 4, .n_layers = 1, .loss = loss, .seed = 3};
  nn_model *m;
  uint8_t *buf;
  nn_layer_spec_defaults(&s.layers[0]);
  s.layers[0].units = loss == NN_LOSS_MSE ? 1 : 2;
  s.layers[0].act = loss == NN_LOSS_MSE ? NN_ACT_LINEAR : NN_ACT_SOFTMAX;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  cr_assert_eq(nn_checkpoint_save(m, NULL, &buf, len), NN_OK);
  nn_model_free(m);
  return buf;
}

Test(model_file, a_table_models_encoding_round_trips) {
  size_t enc_len, c_len, len;
  uint8_t *enc = table_fixture_encoding("c", &enc_len), *b, *again;
  uint8_t *c = table_checkpoint(NN_LOSS_MSE, &c_len);
  model_file f;
  api_error err;
  cr_assert_eq(model_file_write("t", 2, NULL, c, c_len, enc, enc_len, &b, &len, &err), 0);
  cr_assert_eq(model_file_read(b, len, &f, &err), 0, "%s", err.message);
  cr_assert_eq(f.encoding_len, enc_len);
  cr_assert_eq(memcmp(f.encoding, enc, enc_len), 0);
  /* written again from what was read: the same file */
  size_t again_len;
  cr_assert_eq(model_file_write(f.name, f.version, f.classes, f.ckpt, f.ckpt_len, f.encoding,
                                f.encoding_len, &again, &again_len, &err), 0);
  cr_assert_eq(again_len, len);
  cr_assert_eq(memcmp(again, b, len), 0);
  model_file_clear(&f);
  /* every truncation and flipped byte of the encoding section is refused too */
  for (size_t n = len - enc_len - 12; n < len; n++) refused(b, n);
  for (size_t i = len - enc_len - 12; i < len; i++) {
    b[i] ^= 0x10;
    refused(b, len);
    b[i] ^= 0x10;
  }
  free(again);
  free(b);
  free(c);
  free(enc);
}

Test(model_file, a_format_1_file_without_an_encoding_still_reads) {
  /* format 1 is format 2 without the encoding length (8 zero bytes) */
  size_t len = file_len - 8;
  uint8_t *b = malloc(len);
  model_file f;
  api_error err;
  cr_assert_not_null(b);
  memcpy(b, file, len - 4);
  b[8] = 1;
  reseal(b, len);
  cr_assert_eq(model_file_read(b, len, &f, &err), 0, "%s", err.message);
  cr_assert_str_eq(f.name, "m-1");
  cr_assert_str_eq(f.classes, CLASSES);
  cr_assert_null(f.encoding);
  model_file_clear(&f);
  /* a format 2 file called format 1: its encoding length is bytes too many */
  api_error e2;
  uint8_t *c = malloc(file_len);
  cr_assert_not_null(c);
  memcpy(c, file, file_len);
  c[8] = 1;
  reseal(c, file_len);
  e2 = refused(c, file_len);
  cr_assert(strstr(e2.message, "unexpected bytes") != NULL, "%s", e2.message);
  free(c);
  free(b);
}

/* A file of these parts, refused naming its encoding. */
static api_error refused_encoding(const char *classes, const uint8_t *c, size_t c_len,
                                  const uint8_t *enc, size_t enc_len) {
  uint8_t *b;
  size_t len;
  api_error err;
  cr_assert_eq(model_file_write("t", 1, classes, c, c_len, enc, enc_len, &b, &len, &err), 0);
  err = refused(b, len);
  cr_assert_str_eq(err.field, "encoding", "%s", err.message);
  free(b);
  return err;
}

Test(model_file, an_encoding_that_is_not_the_models_says_what_is_wrong) {
  size_t enc_len, c_len, ce_len;
  uint8_t *enc = table_fixture_encoding("c", &enc_len);
  uint8_t *c = table_checkpoint(NN_LOSS_MSE, &c_len);
  uint8_t *ce = table_checkpoint(NN_LOSS_CROSS_ENTROPY, &ce_len);
  /* unreadable: core's message is passed on (the file's own CRC sealed again) */
  enc[enc_len - 1] ^= 1;
  cr_assert_str_eq(refused_encoding(NULL, c, c_len, enc, enc_len).message,
                   "model file's encoding: checksum mismatch: the encoding is corrupt");
  enc[enc_len - 1] ^= 1;
  /* 4 inputs encoded for a model of 3 */
  cr_assert_str_eq(refused_encoding(CLASSES, ckpt, ckpt_len, enc, enc_len).message,
                   "model file's encoding makes 4 inputs but its model takes 3");
  /* a regression's encoding with a classifier */
  cr_assert_str_eq(refused_encoding(CLASSES, ce, ce_len, enc, enc_len).message,
                   "model file's encoding is for a regression of y but the model has class "
                   "names");
  free(ce);
  free(c);
  free(enc);
}
