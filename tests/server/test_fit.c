/* test_fit.c — stored rows to core objects over a real store: a model's spec,
 * a dataset's rows and published weights round trip into core's objects,
 * and each condition that refuses them answers with its one code, field and
 * message. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/fit.h"
#include "../../server/parse_spec.h"
#include "tmp_db.h"

static tmp_db db;
static store *st;
static nn_spec spec;   /* 2 inputs -> 3 tanh -> 1 linear, mse */
static int64_t model_id, regression_id, classes_id, job_id;

static const float X[6] = {0, 1, 2, 3, 4, 5}; /* (3, 2) */
static const float Y[3] = {0.5f, -1, 2};      /* (3, 1) */
static const int32_t LABELS[3] = {1, 0, 1};

static int64_t insert_dataset(const char *name, int classification) {
  store_dataset meta = {.name = (char *)name, .rows = 3, .features = 2, .outputs = classification ? 2 : 1,
                        .task = classification ? STORE_TASK_CLASSIFICATION : STORE_TASK_REGRESSION,
                        .classes = classification ? "[\"a\",\"b\"]" : NULL};
  store_dataset_data data = {.x = (float *)X};
  if (classification)
    data.labels = (int32_t *)LABELS;
  else
    data.y = (float *)Y;
  store_dataset row;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, &row), STORE_OK);
  int64_t id = row.id;
  store_dataset_clear(&row);
  return id;
}

static int64_t insert_model(const char *name, const char *text) {
  store_model m;
  cr_assert_eq(store_model_insert(st, name, text, 13, &m), STORE_OK);
  int64_t id = m.id;
  store_model_clear(&m);
  return id;
}

static void setup(void) {
  tmp_db_make(&db, "fit");
  cr_assert_eq(store_open(db.path, &st), STORE_OK);

  spec = (nn_spec){.inputs = 2, .n_layers = 2, .loss = NN_LOSS_MSE, .seed = 7};
  nn_layer_spec_defaults(&spec.layers[0]);
  spec.layers[0].units = 3;
  spec.layers[0].act = NN_ACT_TANH;
  nn_layer_spec_defaults(&spec.layers[1]);
  spec.layers[1].units = 1;
  cr_assert_eq(nn_spec_validate(&spec, NULL), NN_OK);
  cJSON *json = parse_spec_to_json(&spec, "m");
  char *text = cJSON_PrintUnformatted(json);
  cJSON_Delete(json);
  cr_assert_not_null(text);
  model_id = insert_model("m", text);
  free(text);
  regression_id = insert_dataset("r", 0);
  classes_id = insert_dataset("c", 1);

  store_job j;
  cr_assert_eq(store_job_insert(st, model_id, regression_id, "{}", 10, 0, &j), STORE_OK);
  job_id = j.id;
  store_job_clear(&j);
  cr_assert_eq(store_job_claim(st, INT64_MAX, INT64_MAX, &j), STORE_OK);
  store_job_clear(&j);
}

static void teardown(void) {
  store_close(st);
  tmp_db_remove(&db);
}

TestSuite(fit, .init = setup, .fini = teardown);

/* Publish bytes as the model's weights at epoch; @return the version. */
static int64_t publish_bytes(int64_t epoch, const uint8_t *buf, size_t len, const char *classes) {
  store_epoch e = {.job_id = job_id,
                   .metric = {epoch, 1.0, NAN, NAN, NAN, 0.01, 0.1},
                   .samples_per_second = NAN,
                   .checkpoint = buf,
                   .checkpoint_len = len,
                   .classes = classes};
  int64_t version;
  cr_assert_eq(store_job_epoch_commit(st, &e, &version), STORE_OK);
  return version;
}

/* Publish m's weights at epoch, predicting class "x"; @return the version. */
static int64_t publish_model(const nn_model *m, int64_t epoch) {
  uint8_t *buf;
  size_t len;
  cr_assert_eq(nn_checkpoint_save(m, NULL, &buf, &len), NN_OK);
  int64_t version = publish_bytes(epoch, buf, len, "[\"x\"]");
  free(buf);
  return version;
}

static void expect_error(int rc, const api_error *err, api_code code, const char *field,
                         const char *message) {
  cr_expect_eq(rc, -(int)code, "rc %d: %s", rc, err->message);
  cr_expect_eq(err->code, code);
  cr_expect_str_eq(err->field, field);
  cr_expect_str_eq(err->message, message);
}

/* ---- specs -------------------------------------------------------------------------- */

Test(fit, a_stored_spec_parses_into_the_spec_it_was_written_from) {
  store_model row = {0};
  nn_spec got;
  api_error err = {0};
  cr_assert_eq(fit_model_load(st, model_id, "model", &row, &got, &err), 0, "%s", err.message);
  cr_expect_eq(row.id, model_id);
  cr_expect_eq(got.inputs, 2);
  cr_expect_eq(got.n_layers, 2);
  cr_expect_eq(got.layers[0].units, 3);
  cr_expect_eq(got.layers[0].act, NN_ACT_TANH);
  cr_expect_eq(nn_spec_outputs(&got), 1);
  cr_expect_eq(got.loss, NN_LOSS_MSE);
  cr_expect_eq(got.seed, 7u);
  store_model_clear(&row);
}

Test(fit, a_missing_model_is_not_found_naming_the_field_that_named_it) {
  store_model row = {0};
  nn_spec got;
  api_error err = {0};
  int rc = fit_model_load(st, 999, "model", &row, &got, &err);
  expect_error(rc, &err, API_NOT_FOUND, "model", "no model with id 999");
  rc = fit_model_load(st, 999, "id", &row, &got, &err);
  expect_error(rc, &err, API_NOT_FOUND, "id", "no model with id 999");
  store_model_clear(&row);
}

Test(fit, an_unreadable_stored_spec_is_an_internal_error) {
  static const char *const bad[] = {"{}", "not json", "{\"name\":\"m\",\"inputs\":0}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t id = insert_model("broken", bad[i]);
    store_model row = {0};
    nn_spec got;
    api_error err = {0};
    char want[96];
    snprintf(want, sizeof want, "the stored spec of model %lld is unreadable", (long long)id);
    expect_error(fit_model_load(st, id, "id", &row, &got, &err), &err, API_INTERNAL, "", want);
    store_model_clear(&row);
  }
}

/* ---- datasets ------------------------------------------------------------------------- */

Test(fit, a_dataset_loads_whole_as_nn_data) {
  fit_data f;
  api_error err = {0};
  cr_assert_eq(fit_data_load(st, regression_id, 0, &spec, model_id, NULL, &f, &err), 0, "%s",
               err.message);
  cr_expect_eq(f.meta.id, regression_id);
  cr_expect_eq(f.d.rows, 3);
  cr_expect_eq(f.d.features, 2);
  cr_expect_eq(f.d.outputs, 1);
  cr_expect_null(f.d.labels);
  cr_expect_arr_eq(f.d.x, X, sizeof X);
  cr_expect_arr_eq(f.d.y, Y, sizeof Y);
  cr_expect_eq(nn_data_check(&f.d, &spec, NULL), NN_OK);
  fit_data_clear(&f);
  cr_expect_null(f.d.x);
}

Test(fit, a_sample_reads_that_many_rows_spread_over_the_dataset) {
  nn_spec ce = spec;
  ce.loss = NN_LOSS_CROSS_ENTROPY;
  ce.layers[1].units = 2;
  ce.layers[1].act = NN_ACT_SOFTMAX;
  fit_data f;
  api_error err = {0};
  cr_assert_eq(fit_data_load(st, classes_id, 2, &ce, model_id, NULL, &f, &err), 0, "%s", err.message);
  cr_expect_eq(f.meta.rows, 3); /* the whole dataset's */
  cr_expect_eq(f.d.rows, 2);
  cr_expect_eq(f.d.classes, 2);
  cr_expect_null(f.d.y);
  /* rows floor(i * 3 / 2): 0 and 1 */
  cr_expect_arr_eq(f.d.x, X, 4 * sizeof(float));
  cr_expect_arr_eq(f.d.labels, LABELS, 2 * sizeof(int32_t));
  fit_data_clear(&f);
}

Test(fit, a_missing_dataset_is_not_found_naming_dataset) {
  fit_data f;
  store_dataset meta = {0};
  api_error err = {0};
  expect_error(fit_data_load(st, 999, 0, &spec, model_id, NULL, &f, &err), &err, API_NOT_FOUND,
               "dataset", "no dataset with id 999");
  fit_data_clear(&f);
  expect_error(fit_dataset_load(st, 999, &spec, model_id, &meta, &err), &err, API_NOT_FOUND,
               "dataset", "no dataset with id 999");
  store_dataset_clear(&meta);
}

/* fit_dataset_load refuses s on dataset id (and fit_data_load the same way)
 * with 422 naming "dataset" and format's message, whose two %lld are the
 * dataset's id and the model's. */
static void expect_misfit(int64_t id, const nn_spec *s, const char *format) {
  char want[320];
  api_error err = {0};
  store_dataset meta = {0};
  fit_data f;
  snprintf(want, sizeof want, format, (long long)id, (long long)model_id);
  expect_error(fit_dataset_load(st, id, s, model_id, &meta, &err), &err, API_UNPROCESSABLE,
               "dataset", want);
  store_dataset_clear(&meta);
  expect_error(fit_data_load(st, id, 0, s, model_id, NULL, &f, &err), &err, API_UNPROCESSABLE,
               "dataset", want);
  fit_data_clear(&f);
}

/* Every way a dataset's metadata can refuse a spec, with the one message each. */
Test(fit, a_dataset_that_cannot_train_the_model_is_unprocessable) {
  nn_spec wide = spec, ce = spec, ce3 = spec, two = spec;
  wide.inputs = 3;
  ce.loss = ce3.loss = NN_LOSS_CROSS_ENTROPY;
  ce3.layers[1].units = 3;
  two.layers[1].units = 2;
  expect_misfit(regression_id, &wide, "dataset %lld has 2 features but model %lld takes 3 inputs");
  expect_misfit(classes_id, &spec,
                "dataset %lld is a classification dataset but model %lld uses loss mse; "
                "classification needs cross_entropy (softmax output) or binary_cross_entropy "
                "(sigmoid output)");
  expect_misfit(regression_id, &ce,
                "dataset %lld is a regression dataset but model %lld uses loss cross_entropy, "
                "which needs class labels");
  expect_misfit(classes_id, &ce3,
                "dataset %lld has 2 classes but the last layer of model %lld has 3 units "
                "(loss cross_entropy needs one unit per class)");
  expect_misfit(regression_id, &two,
                "dataset %lld has 1 outputs but the last layer of model %lld has 2 units "
                "(loss mse needs one unit per target column)");
}

Test(fit, two_classes_fit_one_sigmoid_unit_under_binary_cross_entropy) {
  nn_spec bce = spec;
  bce.loss = NN_LOSS_BCE;
  bce.layers[1].act = NN_ACT_SIGMOID;
  store_dataset meta = {0};
  api_error err = {0};
  cr_expect_eq(fit_dataset_load(st, classes_id, &bce, model_id, &meta, &err), 0, "%s",
               err.message);
  store_dataset_clear(&meta);
  bce.layers[1].units = 3;
  cr_expect_eq(fit_dataset_load(st, classes_id, &bce, model_id, &meta, &err),
               -API_UNPROCESSABLE);
  cr_expect(strstr(err.message, "one unit per class, or 1 unit for 2 classes") != NULL, "%s",
            err.message);
  store_dataset_clear(&meta);
}

/* ---- weights -------------------------------------------------------------------------- */

Test(fit, an_untrained_model_is_a_conflict_with_one_message) {
  fit_weights w;
  api_error err = {0};
  char want[64];
  snprintf(want, sizeof want, "model %lld has not been trained yet", (long long)model_id);
  expect_error(fit_weights_load(st, model_id, 0, &w, &err), &err, API_CONFLICT, "id", want);
  cr_expect_null(w.model);
  fit_weights_clear(&w);
}

Test(fit, a_missing_model_has_no_weights) {
  fit_weights w;
  api_error err = {0};
  expect_error(fit_weights_load(st, 999, 0, &w, &err), &err, API_NOT_FOUND, "id",
               "no model with id 999");
  fit_weights_clear(&w);
}

Test(fit, a_version_not_kept_is_not_found_naming_version) {
  fit_weights w;
  api_error err = {0};
  char want[160];
  snprintf(want, sizeof want,
           "model %lld has no version 4 (see GET /v1/models/%lld/versions for the versions "
           "kept)", (long long)model_id, (long long)model_id);
  /* also before any training: the version asked for is what is missing */
  expect_error(fit_weights_load(st, model_id, 4, &w, &err), &err, API_NOT_FOUND, "version",
               want);
  fit_weights_clear(&w);
}

Test(fit, unreadable_weights_are_an_internal_error) {
  static const uint8_t junk[] = "not a checkpoint";
  publish_bytes(1, junk, sizeof junk, NULL);
  fit_weights w;
  api_error err = {0};
  char want[96];
  snprintf(want, sizeof want, "the stored weights of model %lld are unreadable",
           (long long)model_id);
  expect_error(fit_weights_load(st, model_id, 0, &w, &err), &err, API_INTERNAL, "", want);
  cr_expect_null(w.model);
  fit_weights_clear(&w);
}

/* spec + dataset + weights as the stored rows say: the model predicts what
 * the one published did, on the dataset's rows, and trains on them. */
Test(fit, stored_spec_dataset_and_weights_round_trip_into_core_objects) {
  nn_model *first, *second;
  cr_assert_eq(nn_model_new(&spec, &first, NULL), NN_OK);
  cr_assert_eq(nn_model_new(&spec, &second, NULL), NN_OK);
  float *p = nn_model_params(second);
  for (size_t i = 0; i < nn_model_param_count(second); i++) p[i] += 0.25f;
  int64_t v1 = publish_model(first, 1), v2 = publish_model(second, 2);

  store_model row = {0};
  nn_spec got;
  fit_data f;
  fit_weights w, old;
  api_error err = {0};
  cr_assert_eq(fit_model_load(st, model_id, "id", &row, &got, &err), 0, "%s", err.message);
  cr_assert_eq(fit_weights_load(st, model_id, 0, &w, &err), 0, "%s", err.message);
  cr_assert_eq(fit_weights_load(st, model_id, v1, &old, &err), 0, "%s", err.message);
  cr_assert_eq(fit_data_load(st, regression_id, 0, nn_model_spec(w.model), model_id, NULL, &f, &err),
               0, "%s", err.message);
  cr_expect_eq(w.version, v2);
  cr_expect_eq(w.newest, v2);
  cr_expect_str_eq(w.classes, "[\"x\"]");
  cr_expect_eq(old.version, v1);
  cr_expect_eq(old.newest, v2);
  cr_expect_eq(nn_spec_param_count(nn_model_spec(w.model)), nn_spec_param_count(&got));
  cr_expect_eq(nn_model_spec(w.model)->inputs, got.inputs);

  /* the same predictions as the models published, row by row of the dataset */
  const nn_model *pairs[2][2] = {{w.model, second}, {old.model, first}};
  for (int k = 0; k < 2; k++) {
    nn_weights *a, *b;
    cr_assert_eq(nn_weights_new(pairs[k][0], &a), NN_OK);
    cr_assert_eq(nn_weights_new(pairs[k][1], &b), NN_OK);
    float ya[3], yb[3];
    void *scratch = malloc(nn_weights_scratch_bytes(a, f.d.rows));
    cr_assert_eq(nn_weights_predict(a, f.d.x, f.d.rows, ya, scratch), NN_OK);
    cr_assert_eq(nn_weights_predict(b, f.d.x, f.d.rows, yb, scratch), NN_OK);
    cr_expect_arr_eq(ya, yb, sizeof ya, "version %d", k);
    free(scratch);
    nn_weights_unref(a);
    nn_weights_unref(b);
  }
  /* and they train together */
  nn_train_config c;
  nn_train_config_defaults(&c);
  c.epochs = 1;
  nn_trainer *t;
  cr_expect_eq(nn_trainer_new(w.model, &f.d, &c, NULL, &t, NULL), NN_OK);
  nn_trainer_free(t);

  fit_data_clear(&f);
  fit_weights_clear(&old);
  fit_weights_clear(&w);
  store_model_clear(&row);
  nn_model_free(first);
  nn_model_free(second);
}

/* ---- the store-status mapping fit.c and the handlers share ---------------------------- */

Test(fit, a_store_failure_maps_to_one_code_and_message) {
  api_error err = {0};
  expect_error(api_store_fail(&err, STORE_ENOTFOUND, "job", "id", 12), &err, API_NOT_FOUND,
               "id", "no job with id 12");
  char want[96];
  snprintf(want, sizeof want, "database error: %s", store_strerror(STORE_EBUSY));
  expect_error(api_store_fail(&err, STORE_EBUSY, "job", "id", 12), &err, API_UNAVAILABLE, "",
               want);
  snprintf(want, sizeof want, "database error: %s", store_strerror(STORE_ENOTFOUND));
  expect_error(api_store_fail(&err, STORE_ENOTFOUND, NULL, NULL, 0), &err, API_NOT_FOUND, "",
               want);
  snprintf(want, sizeof want, "database error: %s", store_strerror(STORE_EFULL));
  expect_error(api_store_fail(&err, STORE_EFULL, NULL, NULL, 0), &err, API_STORAGE_FULL, "",
               want);
}
