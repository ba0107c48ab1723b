/*
 * fuzz_model_file.c — model files, as POST /v1/models/import reads them from
 * a client (model_file_read), and the ONNX export of whatever they load.
 *
 * Each input is read as is and once more with its CRC recomputed, so
 * mutations reach the field parsers (a bare checkpoint's inner CRC is left
 * to fuzz_checkpoint). A refusal is a well-formed 400. A file that loads has
 * a name traind accepts, a version of 1 to 2^53 and a model whose spec
 * validates, and an encoding (a table model's) that loads and is as wide as
 * the model's inputs; written again it reads back the same; and its ONNX
 * export succeeds (or refuses a table model with a 422: a column named as a
 * value of the graph) and unpacks with protobuf-c into a
 * graph whose last value is "output" or "label".
 */
#include "../../core/encode.h"
#include "../../server/model_file.h"
#include "../../server/onnx_export.h"
#include "fuzz.h"
#include "onnx.pb-c.h"

static void check_onnx(const model_file *f) {
  static const uint8_t key[16];
  nn_encoder *e = NULL;
  nn_error ne;
  if (f->encoding != NULL)
    FUZZ_CHECK(nn_encoder_load(f->encoding, f->encoding_len, key, &e, &ne) == NN_OK &&
                   nn_encoder_width(e) == nn_model_spec(f->model)->inputs,
               "a loaded encoding does not load again, or does not fit");
  onnx_export_in in = {.model = f->model, .name = f->name, .model_id = 1,
                       .version = f->version, .classes = f->classes, .encoder = e};
  uint8_t *buf = NULL;
  size_t len = 0;
  api_error err = {0};
  int rc = onnx_export(&in, &buf, &len, &err);
  if (rc != 0 && e != NULL) {
    fuzz_check_refusal(rc, &err, API_UNPROCESSABLE);
    nn_encoder_free(e);
    return;
  }
  nn_encoder_free(e);
  FUZZ_CHECK(rc == 0, "a loaded model does not export: %s", err.message);
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
  FUZZ_CHECK(mp != NULL && mp->graph != NULL && mp->graph->n_node > 0, "export does not unpack");
  const char *last = mp->graph->node[mp->graph->n_node - 1]->output[0];
  FUZZ_CHECK(strcmp(last, f->classes != NULL ? "label" : "output") == 0, "last value %s", last);
  onnx__model_proto__free_unpacked(mp, NULL);
  free(buf);
}

static void read_file(const uint8_t *data, size_t size) {
  model_file f, again;
  api_error err = {0};
  int rc = model_file_read(data, size, &f, &err);
  if (rc != 0) {
    fuzz_check_refusal(rc, &err, API_INVALID_ARGUMENT);
    FUZZ_CHECK(f.model == NULL && f.classes == NULL && f.ckpt == NULL && f.encoding == NULL,
               "refusal left state");
    return;
  }
  nn_spec spec = *nn_model_spec(f.model);
  FUZZ_CHECK(nn_spec_validate(&spec, NULL) == NN_OK, "a loaded spec does not validate");
  FUZZ_CHECK(parse_check_name(f.name, "name", &err) == 0, "name %s", f.name);
  FUZZ_CHECK(f.version >= 1 && f.version <= PARSE_MAX_SAFE_INT, "version %lld",
             (long long)f.version);
  uint8_t *out = NULL;
  size_t len = 0;
  FUZZ_CHECK(model_file_write(f.name, f.version, f.classes, f.ckpt, f.ckpt_len, f.encoding,
                              f.encoding_len, &out, &len, &err) == 0,
             "a loaded file does not write: %s", err.message);
  FUZZ_CHECK(model_file_read(out, len, &again, &err) == 0, "written again, refused: %s",
             err.message);
  FUZZ_CHECK(strcmp(again.name, f.name) == 0 && again.version == f.version &&
                 again.ckpt_len == f.ckpt_len && memcmp(again.ckpt, f.ckpt, f.ckpt_len) == 0 &&
                 (again.classes == NULL) == (f.classes == NULL) &&
                 (f.classes == NULL || strcmp(again.classes, f.classes) == 0) &&
                 again.encoding_len == f.encoding_len &&
                 (f.encoding == NULL || memcmp(again.encoding, f.encoding, f.encoding_len) == 0),
             "the round trip changed the file");
  check_onnx(&f);
  model_file_clear(&again);
  free(out);
  model_file_clear(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  read_file(data, size);
  if (size < 16 || memcmp(data, "TRAINDMF", 8) != 0) return 0;
  uint8_t *copy = malloc(size);
  FUZZ_CHECK(copy != NULL, "out of memory");
  memcpy(copy, data, size);
  uint32_t crc = nn_crc32(0, copy, size - 4);
  for (int i = 0; i < 4; i++) copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
  read_file(copy, size);
  free(copy);
  return 0;
}
