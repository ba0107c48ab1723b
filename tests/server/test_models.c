/* test_models.c — the predict cache over a real store: the newest weights,
 * and one pinned version, including while the cache trails the store. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/models.h"

static char dir[64];
static char path[128];
static store *st;
static models *cache;
static int64_t model_id, job_id;

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/traind-models-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/traind.db", dir);
  cr_assert_eq(store_open(path, &st), STORE_OK);
  cr_assert_eq(models_new(&cache), 0);

  float x[2] = {1, 2}, y[1] = {3};
  store_dataset meta = {.name = "d", .rows = 1, .features = 2, .outputs = 1,
                        .task = STORE_TASK_REGRESSION};
  store_dataset_data data = {.x = x, .y = y};
  store_dataset ds;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, &ds), STORE_OK);
  store_model m;
  cr_assert_eq(store_model_insert(st, "m", "{}", 3, &m), STORE_OK);
  model_id = m.id;
  store_job j;
  cr_assert_eq(store_job_insert(st, model_id, ds.id, "{}", 10, &j), STORE_OK);
  job_id = j.id;
  store_job_clear(&j);
  cr_assert_eq(store_job_claim(st, &j), STORE_OK);
  store_job_clear(&j);
  store_model_clear(&m);
  store_dataset_clear(&ds);
}

static void teardown(void) {
  char file[160];
  models_free(cache);
  store_close(st);
  static const char *const suffixes[] = {"", "-wal", "-shm"};
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
    unlink(file);
  }
  rmdir(dir);
}

TestSuite(models, .init = setup, .fini = teardown);

/* Publish weights of a 2 -> 1 linear model whose seed tells versions apart;
 * @return the new version. */
static int64_t publish(int64_t epoch) {
  nn_spec spec = {.inputs = 2, .n_layers = 1, .loss = NN_LOSS_MSE, .seed = (uint64_t)epoch};
  nn_layer_spec_defaults(&spec.layers[0]);
  spec.layers[0].units = 1;
  nn_model *m;
  cr_assert_eq(nn_model_new(&spec, &m, NULL), NN_OK);
  uint8_t *buf;
  size_t len;
  cr_assert_eq(nn_checkpoint_save(m, NULL, &buf, &len), NN_OK);
  nn_model_free(m);
  store_epoch e = {.job_id = job_id,
                   .metric = {epoch, 1.0, NAN, NAN, NAN, 0.01, 0.1},
                   .samples_per_second = NAN,
                   .checkpoint = buf,
                   .checkpoint_len = len};
  int64_t version;
  cr_assert_eq(store_job_epoch_commit(st, &e, &version), STORE_OK);
  free(buf);
  return version;
}

static void expect_version_missing(int64_t version) {
  nn_weights *w = (nn_weights *)1; /* must be reset */
  api_error err = {0};
  cr_assert_eq(models_acquire_version(cache, st, model_id, version, &w, &err), -API_NOT_FOUND,
               "version %lld", (long long)version);
  cr_expect_null(w);
  cr_expect_str_eq(err.field, "version");
  cr_expect(strstr(err.message, "not available") != NULL, "%s", err.message);
}

Test(models, untrained_models_have_no_version) {
  nn_weights *w = NULL;
  int64_t version;
  api_error err = {0};
  cr_expect_eq(models_acquire(cache, st, model_id, &w, &version, NULL, &err), -API_CONFLICT);
  expect_version_missing(1);
}

Test(models, unknown_models_are_not_found) {
  nn_weights *w = NULL;
  api_error err = {0};
  cr_expect_eq(models_acquire_version(cache, st, model_id + 1, 1, &w, &err), -API_NOT_FOUND);
  cr_expect_str_eq(err.field, "id");
}

Test(models, a_pinned_version_is_the_newest_only) {
  int64_t v1 = publish(1);
  nn_weights *w = NULL, *again = NULL;
  api_error err = {0};
  cr_assert_eq(models_acquire_version(cache, st, model_id, v1, &w, &err), 0, "%s", err.message);
  cr_assert_not_null(w);
  /* Cached now: the same snapshot comes back. */
  cr_assert_eq(models_acquire_version(cache, st, model_id, v1, &again, &err), 0);
  cr_expect_eq(again, w);
  nn_weights_unref(again);
  expect_version_missing(v1 + 1);

  /* A worker committed v2 but has not published it to the cache yet: the
   * pinned v2 is read from the store (and cached), and v1 is gone. */
  int64_t v2 = publish(2);
  cr_assert_eq(v2, v1 + 1);
  nn_weights *w2 = NULL;
  cr_assert_eq(models_acquire_version(cache, st, model_id, v2, &w2, &err), 0, "%s", err.message);
  cr_expect_neq(w2, w);
  int64_t newest = 0;
  cr_assert_eq(models_acquire(cache, st, model_id, &again, &newest, NULL, &err), 0);
  cr_expect_eq(newest, v2);
  cr_expect_eq(again, w2, "the store's v2 was cached");
  nn_weights_unref(again);
  expect_version_missing(v1);
  nn_weights_unref(w2);
  nn_weights_unref(w);
}
