/* test_predict_cache.c — the predict cache over a real store: the newest weights,
 * older pinned versions with their class names, including while the cache
 * trails the store, and versions the store no longer keeps. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/predict_cache.h"
#include "tmp_db.h"

static tmp_db db;
static store *st;
static predict_cache *cache;
static int64_t model_id, job_id;

static void setup(void) {
  tmp_db_make(&db, "predict-cache");
  cr_assert_eq(store_open(db.path, &st), STORE_OK);
  cr_assert_eq(predict_cache_new(&cache), 0);

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
  cr_assert_eq(store_job_insert(st, model_id, ds.id, "{}", 10, 0, &j), STORE_OK);
  job_id = j.id;
  store_job_clear(&j);
  cr_assert_eq(store_job_claim(st, INT64_MAX, INT64_MAX, &j), STORE_OK);
  store_job_clear(&j);
  store_model_clear(&m);
  store_dataset_clear(&ds);
}

static void teardown(void) {
  predict_cache_free(cache);
  store_close(st);
  tmp_db_remove(&db);
}

TestSuite(predict_cache, .init = setup, .fini = teardown);

/* Publish weights of a 2 -> 1 linear model whose seed tells versions apart,
 * as epoch of job (with class names, and keeping kept versions besides each
 * job's last); @return the new version. */
static int64_t publish_as(int64_t job, int64_t epoch, const char *classes, int kept) {
  nn_spec spec = {.inputs = 2, .n_layers = 1, .loss = NN_LOSS_MSE, .seed = (uint64_t)epoch};
  nn_layer_spec_defaults(&spec.layers[0]);
  spec.layers[0].units = 1;
  nn_model *m;
  cr_assert_eq(nn_model_new(&spec, &m, NULL), NN_OK);
  uint8_t *buf;
  size_t len;
  cr_assert_eq(nn_checkpoint_save(m, NULL, &buf, &len), NN_OK);
  nn_model_free(m);
  store_epoch e = {.job_id = job,
                   .metric = {epoch, 1.0, NAN, NAN, NAN, 0.01, 0.1},
                   .samples_per_second = NAN,
                   .checkpoint = buf,
                   .checkpoint_len = len,
                   .classes = classes,
                   .versions_kept = kept};
  int64_t version;
  cr_assert_eq(store_job_epoch_commit(st, &e, &version), STORE_OK);
  free(buf);
  return version;
}

static int64_t publish(int64_t epoch) { return publish_as(job_id, epoch, NULL, 0); }

/* What the weights of a version predict for (1, 1): tells versions apart. */
static float predicted(nn_weights *w) {
  float x[2] = {1, 1}, y = NAN;
  void *scratch = malloc(nn_weights_scratch_bytes(w, 1));
  cr_assert_not_null(scratch);
  cr_assert_eq(nn_weights_predict(w, x, 1, &y, scratch), NN_OK);
  free(scratch);
  return y;
}

static void expect_version_missing(int64_t version) {
  nn_weights *w = (nn_weights *)1; /* must be reset */
  api_error err = {0};
  cr_assert_eq(predict_cache_acquire_version(cache, st, model_id, version, &w, NULL, NULL, &err),
               -API_NOT_FOUND, "version %lld", (long long)version);
  cr_expect_null(w);
  cr_expect_str_eq(err.field, "version");
  cr_expect(strstr(err.message, "has no version") != NULL, "%s", err.message);
}

static nn_weights *acquire(int64_t version, char **classes) {
  nn_weights *w = NULL;
  api_error err = {0};
  cr_assert_eq(predict_cache_acquire_version(cache, st, model_id, version, &w, classes, NULL, &err), 0,
               "version %lld: %s", (long long)version, err.message);
  cr_assert_not_null(w);
  return w;
}

Test(predict_cache, untrained_models_have_no_version) {
  nn_weights *w = NULL;
  int64_t version;
  api_error err = {0};
  cr_expect_eq(predict_cache_acquire(cache, st, model_id, &w, &version, NULL, NULL, &err), -API_CONFLICT);
  expect_version_missing(1);
}

Test(predict_cache, unknown_models_are_not_found) {
  nn_weights *w = NULL;
  api_error err = {0};
  cr_expect_eq(predict_cache_acquire_version(cache, st, model_id + 1, 1, &w, NULL, NULL, &err),
               -API_NOT_FOUND);
  cr_expect_str_eq(err.field, "id");
}

Test(predict_cache, the_newest_pinned_is_the_cached_newest) {
  int64_t v1 = publish(1);
  nn_weights *w = acquire(v1, NULL), *again = acquire(v1, NULL);
  cr_expect_eq(again, w, "cached: the same snapshot comes back");
  nn_weights_unref(again);
  expect_version_missing(v1 + 1);

  /* A worker committed v2 but has not published it to the cache yet: the
   * pinned v2 is read from the store and cached as the newest. */
  int64_t v2 = publish(2);
  cr_assert_eq(v2, v1 + 1);
  nn_weights *w2 = acquire(v2, NULL);
  cr_expect_neq(w2, w);
  int64_t newest = 0;
  api_error err = {0};
  cr_assert_eq(predict_cache_acquire(cache, st, model_id, &again, &newest, NULL, NULL, &err), 0);
  cr_expect_eq(newest, v2);
  cr_expect_eq(again, w2, "the store's v2 was cached");
  nn_weights_unref(again);
  nn_weights_unref(w2);
  nn_weights_unref(w);
}

Test(predict_cache, older_versions_answer_with_their_own_weights_and_classes) {
  int64_t v1 = publish_as(job_id, 1, "[\"a\",\"b\"]", 0);
  int64_t v2 = publish_as(job_id, 2, "[\"c\",\"d\"]", 0);
  nn_weights *newest = NULL;
  int64_t version = 0;
  api_error err = {0};
  cr_assert_eq(predict_cache_acquire(cache, st, model_id, &newest, &version, NULL, NULL, &err), 0);
  cr_assert_eq(version, v2);
  char *classes = NULL;
  nn_weights *old = acquire(v1, &classes);
  cr_expect_str_eq(classes, "[\"a\",\"b\"]");
  free(classes);
  cr_expect_neq(predicted(old), predicted(newest), "v1 predicts as v1, not as the newest");
  /* pinning an older version never replaces the newest in the cache */
  nn_weights *again = NULL;
  cr_assert_eq(predict_cache_acquire(cache, st, model_id, &again, &version, &classes, NULL, &err), 0);
  cr_expect_eq(version, v2);
  cr_expect_eq(again, newest);
  cr_expect_str_eq(classes, "[\"c\",\"d\"]");
  free(classes);
  nn_weights_unref(again);
  /* cached: the same snapshot, with its class names */
  again = acquire(v1, &classes);
  cr_expect_eq(again, old);
  cr_expect_str_eq(classes, "[\"a\",\"b\"]");
  free(classes);
  nn_weights_unref(again);
  nn_weights_unref(old);
  nn_weights_unref(newest);
}

Test(predict_cache, pruned_versions_are_gone_and_the_cache_keeps_the_recently_pinned) {
  /* keeping 2: after 12 publications of one job, 11 and 12 remain */
  for (int64_t e = 1; e <= 12; e++) publish_as(job_id, e, NULL, 2);
  for (int64_t v = 1; v <= 10; v++) expect_version_missing(v);
  nn_weights *w11 = acquire(11, NULL);
  nn_weights_unref(w11);
  nn_weights *again = acquire(11, NULL);
  cr_expect_eq(again, w11, "still cached");
  nn_weights_unref(again);
}

Test(predict_cache, forgetting_a_model_drops_its_pinned_versions) {
  int64_t v1 = publish(1);
  publish(2);
  nn_weights *old = acquire(v1, NULL);
  predict_cache_forget(cache, model_id);
  nn_weights *again = acquire(v1, NULL);
  cr_expect_neq(again, old, "read again from the store");
  cr_expect_eq(predicted(again), predicted(old));
  nn_weights_unref(again);
  nn_weights_unref(old);
}
