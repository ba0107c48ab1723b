/* test_store.c — the SQLite store: every table's rows, blobs, the job queue,
 * epoch commits, recovery and migrations, on temporary database files. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/store.h"

static char dir[64];
static char path[128];
static store *st;

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/traind-store-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/traind.db", dir);
  cr_assert_eq(store_open(path, &st), STORE_OK);
}

static void teardown(void) {
  char file[160];
  store_close(st);
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
    unlink(file);
  }
  rmdir(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

/* Run SQL behind the store's back (schema tampering, fault injection). */
static void raw_sql(const char *sql) {
  sqlite3 *db;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
  sqlite3_close(db);
}

static void reopen(void) {
  store_close(st);
  st = NULL;
  cr_assert_eq(store_open(path, &st), STORE_OK);
}

/* ---- fixtures ------------------------------------------------------------------- */

/* A (rows, features) -> (rows, outputs) regression set with distinct values. */
static int64_t add_regression(int64_t rows, int64_t features, int64_t outputs) {
  float *x = malloc((size_t)(rows * features) * sizeof *x); /* (rows, features) */
  float *y = malloc((size_t)(rows * outputs) * sizeof *y);  /* (rows, outputs) */
  for (int64_t i = 0; i < rows * features; i++) x[i] = (float)i * 0.5f - 3.0f;
  for (int64_t i = 0; i < rows * outputs; i++) y[i] = (float)i / 7.0f;
  store_dataset meta = {.name = "reg", .rows = rows, .features = features,
                        .outputs = outputs, .task = STORE_TASK_REGRESSION};
  store_dataset_data data = {.x = x, .y = y};
  store_dataset out;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, &out), STORE_OK);
  int64_t id = out.id;
  store_dataset_clear(&out);
  free(x);
  free(y);
  return id;
}

static int64_t add_model(const char *name) {
  store_model m;
  cr_assert_eq(store_model_insert(st, name, "{\"inputs\":2}", 33, &m), STORE_OK);
  int64_t id = m.id;
  store_model_clear(&m);
  return id;
}

static int64_t add_job(int64_t model, int64_t dataset) {
  store_job j;
  cr_assert_eq(store_job_insert(st, model, dataset, "{\"epochs\":10}", 10, &j), STORE_OK);
  int64_t id = j.id;
  store_job_clear(&j);
  return id;
}

/* Claim the next job and check it is `want`. */
static void claim(store *h, int64_t want) {
  store_job j;
  cr_assert_eq(store_job_claim(h, &j), STORE_OK);
  cr_assert_eq(j.id, want);
  cr_assert_eq(j.state, STORE_JOB_RUNNING);
  store_job_clear(&j);
}

static store_job get_job(int64_t id) {
  store_job j;
  cr_assert_eq(store_job_get(st, id, &j), STORE_OK);
  return j;
}

static void commit_epoch(int64_t job, int64_t epoch, const uint8_t *ckpt, size_t len,
                         int64_t *version) {
  store_epoch e = {.job_id = job,
                   .metric = {epoch, 1.0 / (double)epoch, NAN, NAN, NAN, 0.01, 0.25},
                   .samples_per_second = 1000.0,
                   .checkpoint = ckpt,
                   .checkpoint_len = len};
  cr_assert_eq(store_job_epoch_commit(st, &e, version), STORE_OK);
}

static int64_t model_version(int64_t id) {
  store_model m;
  cr_assert_eq(store_model_get(st, id, &m), STORE_OK);
  int64_t v = m.version;
  store_model_clear(&m);
  return v;
}

/* ---- handle, names, time -------------------------------------------------------- */

Test(store, open_creates_schema_and_reopening_is_idempotent) {
  cr_assert_eq(store_schema_version(st), 2);
  cr_assert_eq(store_healthz(st), STORE_OK);
  int64_t model = add_model("m");
  reopen();
  reopen();
  cr_assert_eq(store_schema_version(st), 2);
  cr_assert_eq(model_version(model), 0);
  store_model *list;
  size_t n;
  cr_assert_eq(store_model_list(st, &list, &n), STORE_OK);
  cr_assert_eq(n, 1);
  store_model_list_free(list, n);
}

Test(store, open_fails_cleanly) {
  store *bad = (store *)1;
  cr_assert_eq(store_open("/nonexistent-traind-dir/x.db", &bad), STORE_EIO);
  cr_assert_null(bad);
  /* :memory: cannot run in WAL mode, so it cannot keep the durability promise. */
  cr_assert_eq(store_open(":memory:", &bad), STORE_EIO);
  cr_assert_null(bad);
}

Test(store, refuses_a_newer_schema) {
  raw_sql("PRAGMA user_version = 99");
  store *other = (store *)1;
  cr_assert_eq(store_open(path, &other), STORE_ESCHEMA);
  cr_assert_null(other);
}

Test(store, a_locked_database_is_busy_after_the_timeout) {
  int64_t model = add_model("m");
  sqlite3 *db;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  cr_assert_eq(store_model_delete(st, model), STORE_EBUSY);
  cr_assert_eq(store_api_code(STORE_EBUSY), API_UNAVAILABLE);
  /* Readers are not blocked by a writer in WAL mode. */
  cr_assert_eq(model_version(model), 0);
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(db);
  cr_assert_eq(store_model_delete(st, model), STORE_OK);
}

Test(store, timestamps_are_rfc3339_utc) {
  char t[STORE_TIME_LEN];
  store_timestamp(1795755600, t);
  cr_assert_str_eq(t, "2026-11-27T05:00:00Z");
  store_timestamp(0, t);
  cr_assert_str_eq(t, "1970-01-01T00:00:00Z");
}

Test(store, name_tables_round_trip) {
  for (int s = 0; s < STORE_JOB_STATE_COUNT; s++) {
    store_job_state parsed;
    cr_assert_eq(store_job_state_parse(store_job_state_name((store_job_state)s), &parsed),
                 STORE_OK);
    cr_assert_eq((int)parsed, s);
  }
  store_job_state parsed;
  cr_assert_eq(store_job_state_parse("done", &parsed), STORE_EINVAL);
  cr_assert_eq(store_job_state_parse(NULL, &parsed), STORE_EINVAL);
  cr_assert_null(store_job_state_name(STORE_JOB_STATE_COUNT));
  cr_assert_str_eq(store_task_name(STORE_TASK_CLASSIFICATION), "classification");
  cr_assert_null(store_task_name((store_task)2));
}

Test(store, statuses_map_to_api_codes) {
  cr_assert_eq(store_api_code(STORE_OK), API_OK);
  cr_assert_eq(store_api_code(STORE_ENOTFOUND), API_NOT_FOUND);
  cr_assert_eq(store_api_code(STORE_ECONFLICT), API_CONFLICT);
  cr_assert_eq(store_api_code(STORE_EBUSY), API_UNAVAILABLE);
  cr_assert_eq(store_api_code(STORE_EIO), API_INTERNAL);
  cr_assert_eq(store_api_code(STORE_ETOOBIG), API_PAYLOAD_TOO_LARGE);
  cr_assert_str_eq(store_strerror(STORE_ENOTFOUND), "not found");
  cr_assert_str_eq(store_strerror(-99), "unknown store error");
}

/* ---- datasets --------------------------------------------------------------------- */

Test(store, regression_dataset_round_trips_byte_exact) {
  enum { R = 5, F = 3, O = 2 };
  float x[R * F], y[R * O]; /* (R, F), (R, O) */
  for (int i = 0; i < R * F; i++) x[i] = (float)i - 7.25f;
  /* Values that any text round trip would disturb: -0, NaN, denormal, max. */
  uint32_t odd[] = {0x80000000u, 0x7fc00001u, 0x00000001u, 0x7f7fffffu};
  memcpy(x, odd, sizeof odd);
  for (int i = 0; i < R * O; i++) y[i] = 1.0f / (float)(i + 3);
  store_dataset meta = {.name = "xor", .rows = R, .features = F, .outputs = O,
                        .task = STORE_TASK_REGRESSION};
  store_dataset_data data = {.x = x, .y = y};
  store_dataset ins;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, &ins), STORE_OK);
  cr_assert_gt(ins.id, 0);
  cr_assert_str_eq(ins.name, "xor");
  cr_assert_eq(strlen(ins.created_at), 20);
  cr_assert_eq(ins.created_at[19], 'Z');

  store_dataset got;
  store_dataset_data back;
  cr_assert_eq(store_dataset_get_data(st, ins.id, &got, &back), STORE_OK);
  cr_assert_eq(got.rows, R);
  cr_assert_eq(got.features, F);
  cr_assert_eq(got.outputs, O);
  cr_assert_eq(got.task, STORE_TASK_REGRESSION);
  cr_assert_null(got.classes);
  cr_assert_str_eq(got.created_at, ins.created_at);
  cr_assert_eq(memcmp(back.x, x, sizeof x), 0);
  cr_assert_eq(memcmp(back.y, y, sizeof y), 0);
  cr_assert_null(back.labels);
  store_dataset_clear(&ins);
  store_dataset_clear(&got);
  store_dataset_data_clear(&back);
}

Test(store, classification_dataset_round_trips_labels_and_classes) {
  float x[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1}; /* (4, 2) */
  int32_t labels[4] = {0, 2, 1, 2};          /* (4,) */
  store_dataset meta = {.name = "iris", .rows = 4, .features = 2, .outputs = 3,
                        .task = STORE_TASK_CLASSIFICATION,
                        .classes = "[\"setosa\",\"versicolor\",\"virginica\"]"};
  store_dataset_data data = {.x = x, .labels = labels};
  store_dataset ins;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, &ins), STORE_OK);

  store_dataset got;
  cr_assert_eq(store_dataset_get(st, ins.id, &got), STORE_OK);
  cr_assert_eq(got.task, STORE_TASK_CLASSIFICATION);
  cr_assert_str_eq(got.classes, meta.classes);
  store_dataset_clear(&got);

  store_dataset_data back;
  cr_assert_eq(store_dataset_get_data(st, ins.id, &got, &back), STORE_OK);
  cr_assert_eq(memcmp(back.x, x, sizeof x), 0);
  cr_assert_eq(memcmp(back.labels, labels, sizeof labels), 0);
  cr_assert_null(back.y);
  store_dataset_clear(&ins);
  store_dataset_clear(&got);
  store_dataset_data_clear(&back);
}

Test(store, inconsistent_datasets_are_rejected_and_not_stored) {
  float x[2 * 2] = {0}, y[2] = {0};
  int32_t labels[2] = {0, 3};
  store_dataset meta = {.name = "bad", .rows = 2, .features = 2, .outputs = 3,
                        .task = STORE_TASK_CLASSIFICATION};
  store_dataset_data data = {.x = x, .labels = labels};
  cr_assert_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EINVAL); /* label 3 */
  labels[1] = -1;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EINVAL);
  labels[1] = 1;
  data.y = y; /* both targets */
  cr_assert_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EINVAL);
  meta.task = STORE_TASK_REGRESSION;
  meta.outputs = 1;
  data.labels = NULL;
  meta.classes = "[\"a\"]"; /* class names on a regression set */
  cr_assert_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EINVAL);
  meta.classes = NULL;
  meta.rows = 0;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EINVAL);
  meta.rows = INT64_MAX / 2; /* bytes overflow */
  cr_assert_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EINVAL);
  meta.rows = 2;
  meta.name = NULL;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EINVAL);

  store_dataset *list;
  size_t n = 99;
  cr_assert_eq(store_dataset_list(st, &list, &n), STORE_OK);
  cr_assert_eq(n, 0);
  store_dataset_list_free(list, n);
  meta.name = "good";
  cr_assert_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_OK);
}

Test(store, datasets_list_in_order_and_delete) {
  int64_t a = add_regression(3, 2, 1), b = add_regression(4, 1, 1);
  store_dataset *list;
  size_t n;
  cr_assert_eq(store_dataset_list(st, &list, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert_eq(list[0].id, a);
  cr_assert_eq(list[1].id, b);
  cr_assert_eq(list[1].rows, 4);
  store_dataset_list_free(list, n);

  cr_assert_eq(store_dataset_delete(st, a), STORE_OK);
  cr_assert_eq(store_dataset_delete(st, a), STORE_ENOTFOUND);
  store_dataset d;
  store_dataset_data data;
  cr_assert_eq(store_dataset_get(st, a, &d), STORE_ENOTFOUND);
  cr_assert_null(d.name);
  cr_assert_eq(store_dataset_get_data(st, a, &d, &data), STORE_ENOTFOUND);
  cr_assert_null(data.x);
  cr_assert_eq(store_dataset_list(st, &list, &n), STORE_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(list[0].id, b);
  store_dataset_list_free(list, n);
}

Test(store, dataset_in_use_cannot_be_deleted) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  cr_assert_eq(store_dataset_delete(st, ds), STORE_ECONFLICT); /* queued */
  claim(st, job);
  cr_assert_eq(store_dataset_delete(st, ds), STORE_ECONFLICT); /* running */
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  cr_assert_eq(store_dataset_delete(st, ds), STORE_OK);
  /* The finished job keeps its history without the dataset. */
  store_job j = get_job(job);
  cr_assert_eq(j.dataset_id, 0);
  cr_assert_eq(j.state, STORE_JOB_SUCCEEDED);
  store_job_clear(&j);
}

/* ---- models ------------------------------------------------------------------------ */

Test(store, models_insert_get_list_delete) {
  store_model m;
  cr_assert_eq(store_model_insert(st, "xor-net", "{\"layers\":[]}", 33, &m), STORE_OK);
  cr_assert_str_eq(m.name, "xor-net");
  cr_assert_eq(m.version, 0);
  cr_assert_eq(m.trained, 0);
  cr_assert_eq(m.last_job, 0);
  store_model got;
  cr_assert_eq(store_model_get(st, m.id, &got), STORE_OK);
  cr_assert_str_eq(got.spec, "{\"layers\":[]}");
  cr_assert_eq(got.parameters, 33);
  cr_assert_str_eq(got.created_at, m.created_at);
  store_model_clear(&got);

  int64_t second = add_model("other");
  store_model *list;
  size_t n;
  cr_assert_eq(store_model_list(st, &list, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert_eq(list[0].id, m.id);
  cr_assert_eq(list[1].id, second);
  store_model_list_free(list, n);

  cr_assert_eq(store_model_delete(st, m.id), STORE_OK);
  cr_assert_eq(store_model_get(st, m.id, &got), STORE_ENOTFOUND);
  cr_assert_eq(store_model_delete(st, m.id), STORE_ENOTFOUND);
  cr_assert_eq(store_model_insert(st, NULL, "{}", 1, NULL), STORE_EINVAL);
  cr_assert_eq(store_model_insert(st, "x", "{}", 0, NULL), STORE_EINVAL);
  store_model_clear(&m);
}

Test(store, model_in_training_cannot_be_deleted_then_takes_its_jobs_along) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  cr_assert_eq(store_model_delete(st, model), STORE_ECONFLICT);
  claim(st, job);
  uint8_t ckpt[] = {1, 2, 3};
  commit_epoch(job, 1, ckpt, sizeof ckpt, NULL);
  cr_assert_eq(store_model_delete(st, model), STORE_ECONFLICT);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_CANCELLED, NULL), STORE_OK);
  cr_assert_eq(store_model_delete(st, model), STORE_OK);

  store_job j;
  cr_assert_eq(store_job_get(st, job, &j), STORE_ENOTFOUND);
  store_metric *metrics;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 0, &metrics, &n), STORE_ENOTFOUND);
  int64_t epoch;
  uint8_t *buf;
  size_t len;
  cr_assert_eq(store_checkpoint_latest(st, job, &epoch, &buf, &len), STORE_ENOTFOUND);
  cr_assert_null(buf);
  /* The dataset is still there and free to delete. */
  cr_assert_eq(store_dataset_delete(st, ds), STORE_OK);
}

Test(store, weights_are_absent_until_published) {
  int64_t model = add_model("m");
  uint8_t *buf = (uint8_t *)1;
  size_t len = 9;
  int64_t version = 9;
  cr_assert_eq(store_model_weights(st, model, &buf, &len, &version), STORE_OK);
  cr_assert_null(buf);
  cr_assert_eq(len, 0);
  cr_assert_eq(version, 0);
  cr_assert_eq(store_model_weights(st, model + 1, &buf, &len, &version), STORE_ENOTFOUND);
}

/* ---- jobs ---------------------------------------------------------------------------- */

Test(store, job_insert_and_get) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  store_job j;
  cr_assert_eq(store_job_insert(st, model, ds, "{\"lr\":0.1}", 500, &j), STORE_OK);
  cr_assert_eq(j.state, STORE_JOB_QUEUED);
  cr_assert_eq(j.model_id, model);
  cr_assert_eq(j.dataset_id, ds);
  cr_assert_eq(j.epoch, 0);
  cr_assert_eq(j.epochs, 500);
  cr_assert(isnan(j.loss) && isnan(j.val_loss) && isnan(j.accuracy));
  cr_assert(isnan(j.val_accuracy) && isnan(j.samples_per_second));
  cr_assert_eq(j.restarts, 0);
  cr_assert_eq(j.cancel_requested, 0);
  cr_assert_null(j.error);
  cr_assert_eq(strlen(j.created_at), 20);
  cr_assert_str_eq(j.started_at, "");
  cr_assert_str_eq(j.finished_at, "");
  store_job got = get_job(j.id);
  cr_assert_str_eq(got.config, "{\"lr\":0.1}");
  cr_assert_str_eq(got.created_at, j.created_at);
  store_job_clear(&got);
  store_job_clear(&j);

  cr_assert_eq(store_job_get(st, 42, &j), STORE_ENOTFOUND);
  cr_assert_eq(store_job_insert(st, model + 1, ds, "{}", 1, NULL), STORE_ENOTFOUND);
  cr_assert_eq(store_job_insert(st, model, ds + 1, "{}", 1, NULL), STORE_ENOTFOUND);
  cr_assert_eq(store_job_insert(st, model, ds, "{}", 0, NULL), STORE_EINVAL);
  cr_assert_eq(store_job_insert(st, model, ds, NULL, 1, NULL), STORE_EINVAL);
}

Test(store, job_list_filters_by_state_and_model) {
  int64_t ds = add_regression(4, 2, 1), m1 = add_model("a"), m2 = add_model("b");
  int64_t j1 = add_job(m1, ds), j2 = add_job(m2, ds), j3 = add_job(m1, ds);
  claim(st, j1); /* j1 running; j2, j3 queued */
  store_job *list;
  size_t n;

  cr_assert_eq(store_job_list(st, -1, 0, &list, &n), STORE_OK);
  cr_assert_eq(n, 3);
  cr_assert(list[0].id == j1 && list[1].id == j2 && list[2].id == j3);
  store_job_list_free(list, n);

  cr_assert_eq(store_job_list(st, STORE_JOB_QUEUED, 0, &list, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert(list[0].id == j2 && list[1].id == j3);
  store_job_list_free(list, n);

  cr_assert_eq(store_job_list(st, -1, m1, &list, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert(list[0].id == j1 && list[1].id == j3);
  store_job_list_free(list, n);

  cr_assert_eq(store_job_list(st, STORE_JOB_RUNNING, m1, &list, &n), STORE_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(list[0].id, j1);
  store_job_list_free(list, n);

  cr_assert_eq(store_job_list(st, STORE_JOB_RUNNING, m2, &list, &n), STORE_OK);
  cr_assert_eq(n, 0);
  store_job_list_free(list, n);

  /* Every state name the schema accepts is the one the filter binds. */
  cr_assert_eq(store_job_list(st, STORE_JOB_SUCCEEDED, 0, &list, &n), STORE_OK);
  cr_assert_eq(n, 0);
  store_job_list_free(list, n);
  cr_assert_eq(store_job_list(st, STORE_JOB_STATE_COUNT, 0, &list, &n), STORE_EINVAL);
}

Test(store, jobs_are_counted_by_state) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t counts[STORE_JOB_STATE_COUNT];
  cr_assert_eq(store_job_count(st, counts), STORE_OK);
  for (int i = 0; i < STORE_JOB_STATE_COUNT; i++) cr_assert_eq(counts[i], 0);
  int64_t a = add_job(model, ds);
  add_job(model, ds);
  add_job(model, ds);
  claim(st, a);
  cr_assert_eq(store_job_finish(st, a, STORE_JOB_FAILED, "x"), STORE_OK);
  claim(st, a + 1);
  cr_assert_eq(store_job_count(st, counts), STORE_OK);
  cr_assert_eq(counts[STORE_JOB_QUEUED], 1);
  cr_assert_eq(counts[STORE_JOB_RUNNING], 1);
  cr_assert_eq(counts[STORE_JOB_FAILED], 1);
  cr_assert_eq(counts[STORE_JOB_SUCCEEDED], 0);
}

Test(store, claim_takes_the_oldest_queued_job_once) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t a = add_job(model, ds), b = add_job(model, ds), c = add_job(model, ds);
  cr_assert_eq(store_job_request_cancel(st, b, NULL), STORE_OK); /* leaves the queue */
  store *other;
  cr_assert_eq(store_open(path, &other), STORE_OK);
  claim(st, a);
  claim(other, c);
  store_job j;
  cr_assert_eq(store_job_claim(st, &j), STORE_ENOTFOUND);
  cr_assert_eq(store_job_claim(other, NULL), STORE_ENOTFOUND);
  store_close(other);

  j = get_job(a);
  cr_assert_eq(strlen(j.started_at), 20);
  cr_assert_str_eq(j.finished_at, "");
  store_job_clear(&j);
}

enum { RACE_JOBS = 40 };

struct claimer {
  int64_t claimed[RACE_JOBS];
  int n;
  int status;
};

static void *claim_all(void *arg) {
  struct claimer *c = arg;
  store *h;
  if ((c->status = store_open(path, &h)) != STORE_OK) return NULL;
  store_job j;
  while ((c->status = store_job_claim(h, &j)) == STORE_OK) {
    c->claimed[c->n++] = j.id;
    store_job_clear(&j);
  }
  store_close(h);
  return NULL;
}

Test(store, concurrent_claims_never_share_a_job) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  for (int i = 0; i < RACE_JOBS; i++) add_job(model, ds);
  static struct claimer claimers[3];
  pthread_t threads[3];
  for (int t = 0; t < 3; t++)
    cr_assert_eq(pthread_create(&threads[t], NULL, claim_all, &claimers[t]), 0);
  for (int t = 0; t < 3; t++) pthread_join(threads[t], NULL);
  int seen[RACE_JOBS + 1] = {0};
  int total = 0;
  for (int t = 0; t < 3; t++) {
    cr_assert_eq(claimers[t].status, STORE_ENOTFOUND, "claimer %d ended with %d", t,
                 claimers[t].status);
    for (int i = 0; i < claimers[t].n; i++) {
      int64_t id = claimers[t].claimed[i];
      cr_assert(id >= 1 && id <= RACE_JOBS);
      cr_assert_eq(seen[id]++, 0, "job %lld claimed twice", (long long)id);
      /* Each claimer sees the queue in order. */
      if (i > 0) cr_assert_gt(id, claimers[t].claimed[i - 1]);
    }
    total += claimers[t].n;
  }
  cr_assert_eq(total, RACE_JOBS);
}

Test(store, cancel_depends_on_the_state) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t running = add_job(model, ds), queued = add_job(model, ds);
  claim(st, running);
  store_job j;
  cr_assert_eq(store_job_request_cancel(st, queued, &j), STORE_OK);
  cr_assert_eq(j.state, STORE_JOB_CANCELLED);
  cr_assert_eq(j.cancel_requested, 1);
  cr_assert_eq(strlen(j.finished_at), 20);
  store_job_clear(&j);

  cr_assert_eq(store_job_request_cancel(st, running, &j), STORE_OK);
  cr_assert_eq(j.state, STORE_JOB_RUNNING); /* its worker ends it */
  cr_assert_eq(j.cancel_requested, 1);
  cr_assert_str_eq(j.finished_at, "");
  store_job_clear(&j);
  cr_assert_eq(store_job_finish(st, running, STORE_JOB_CANCELLED, NULL), STORE_OK);

  /* Finished jobs are left as they are. */
  int64_t done = add_job(model, ds);
  claim(st, done);
  cr_assert_eq(store_job_finish(st, done, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  cr_assert_eq(store_job_request_cancel(st, done, &j), STORE_OK);
  cr_assert_eq(j.state, STORE_JOB_SUCCEEDED);
  cr_assert_eq(j.cancel_requested, 0);
  store_job_clear(&j);
  cr_assert_eq(store_job_request_cancel(st, 999, &j), STORE_ENOTFOUND);
}

Test(store, finish_ends_only_running_jobs) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_FAILED, "x"), STORE_ECONFLICT); /* queued */
  claim(st, job);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_RUNNING, NULL), STORE_EINVAL);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_FAILED, "training diverged"), STORE_OK);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_SUCCEEDED, NULL), STORE_ECONFLICT);
  cr_assert_eq(store_job_finish(st, 999, STORE_JOB_SUCCEEDED, NULL), STORE_ENOTFOUND);
  store_job j = get_job(job);
  cr_assert_eq(j.state, STORE_JOB_FAILED);
  cr_assert_str_eq(j.error, "training diverged");
  cr_assert_eq(strlen(j.finished_at), 20);
  store_job_clear(&j);
}

/* ---- epoch commits, metrics, checkpoints ------------------------------------------------- */

Test(store, epoch_commit_records_progress_and_publishes_checkpoints) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  int64_t version = -1;
  commit_epoch(job, 1, NULL, 0, &version); /* no checkpoint: nothing published */
  cr_assert_eq(version, 0);
  uint8_t ckpt[5][64];
  for (int e = 0; e < 5; e++) {
    for (int i = 0; i < 64; i++) ckpt[e][i] = (uint8_t)(e * 31 + i * 7);
    commit_epoch(job, e + 2, ckpt[e], sizeof ckpt[e] - (size_t)e, &version);
    cr_assert_eq(version, e + 1);
  }
  store_model m;
  cr_assert_eq(store_model_get(st, model, &m), STORE_OK);
  cr_assert_eq(m.version, 5);
  cr_assert_eq(m.trained, 1);
  cr_assert_eq(m.last_job, job);
  store_model_clear(&m);

  /* The published weights are the last checkpoint, byte for byte. */
  uint8_t *buf;
  size_t len;
  cr_assert_eq(store_model_weights(st, model, &buf, &len, &version), STORE_OK);
  cr_assert_eq(version, 5);
  cr_assert_eq(len, 60);
  cr_assert_eq(memcmp(buf, ckpt[4], len), 0);
  free(buf);

  /* Only the newest STORE_CHECKPOINTS_KEPT stay. */
  store_checkpoint *list;
  size_t n;
  cr_assert_eq(store_checkpoint_list(st, job, &list, &n), STORE_OK);
  cr_assert_eq(n, STORE_CHECKPOINTS_KEPT);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(list[i].epoch, 4 + (int64_t)i);
    cr_assert_eq(list[i].bytes, 64 - (2 + (int64_t)i));
    cr_assert_eq(strlen(list[i].created_at), 20);
  }
  free(list);
  int64_t epoch;
  cr_assert_eq(store_checkpoint_latest(st, job, &epoch, &buf, &len), STORE_OK);
  cr_assert_eq(epoch, 6);
  cr_assert_eq(len, 60);
  cr_assert_eq(memcmp(buf, ckpt[4], len), 0);
  free(buf);

  store_job j = get_job(job);
  cr_assert_eq(j.epoch, 6);
  cr_assert_float_eq(j.loss, 1.0 / 6.0, 0.0);
  cr_assert_float_eq(j.samples_per_second, 1000.0, 0.0);
  store_job_clear(&j);

  store_metric *metrics;
  cr_assert_eq(store_metrics_after(st, job, 0, &metrics, &n), STORE_OK);
  cr_assert_eq(n, 6);
  for (size_t i = 0; i < n; i++) cr_assert_eq(metrics[i].epoch, (int64_t)i + 1);
  free(metrics);
  cr_assert_eq(store_metrics_after(st, job, 4, &metrics, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert_eq(metrics[0].epoch, 5);
  cr_assert_float_eq(metrics[1].loss, 1.0 / 6.0, 0.0);
  cr_assert_float_eq(metrics[1].lr, 0.01, 0.0);
  cr_assert_float_eq(metrics[1].seconds, 0.25, 0.0);
  free(metrics);
  cr_assert_eq(store_metrics_after(st, job, 6, &metrics, &n), STORE_OK);
  cr_assert_eq(n, 0);
  free(metrics);
}

Test(store, epoch_commit_publishes_separate_weights) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  uint8_t ckpt[32], weights[8] = {9, 8, 7, 6, 5, 4, 3, 2};
  memset(ckpt, 0xab, sizeof ckpt);
  store_epoch e = {.job_id = job, .metric = {1, 0.5, NAN, NAN, NAN, 0.1, 1.0},
                   .samples_per_second = NAN, .checkpoint = ckpt, .checkpoint_len = sizeof ckpt,
                   .weights = weights, .weights_len = sizeof weights};
  int64_t version;
  cr_assert_eq(store_job_epoch_commit(st, &e, &version), STORE_OK);
  cr_assert_eq(version, 1);
  uint8_t *buf;
  size_t len;
  cr_assert_eq(store_model_weights(st, model, &buf, &len, &version), STORE_OK);
  cr_assert_eq(len, sizeof weights);
  cr_assert_eq(memcmp(buf, weights, len), 0);
  free(buf);
  int64_t epoch;
  cr_assert_eq(store_checkpoint_latest(st, job, &epoch, &buf, &len), STORE_OK);
  cr_assert_eq(len, sizeof ckpt);
  cr_assert_eq(memcmp(buf, ckpt, len), 0);
  free(buf);
}

Test(store, published_weights_carry_the_class_names) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  store_model m;
  cr_assert_eq(store_model_get(st, model, &m), STORE_OK);
  cr_assert_null(m.classes);
  store_model_clear(&m);
  int64_t job = add_job(model, ds);
  claim(st, job);
  uint8_t ckpt[4] = {1, 2, 3, 4};
  store_epoch e = {.job_id = job, .metric = {1, 0.5, NAN, NAN, NAN, 0.1, 1.0},
                   .samples_per_second = NAN, .checkpoint = ckpt, .checkpoint_len = sizeof ckpt,
                   .classes = "[\"cat\",\"dog\"]"};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_OK);
  cr_assert_eq(store_model_get(st, model, &m), STORE_OK);
  cr_assert_str_eq(m.classes, "[\"cat\",\"dog\"]");
  store_model_clear(&m);
}

Test(store, pause_requeues_a_running_job_with_its_checkpoint) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  uint8_t ckpt[6] = {1, 2, 3, 4, 5, 6};
  cr_assert_eq(store_job_pause(st, job, 0, ckpt, sizeof ckpt), STORE_ECONFLICT); /* queued */
  claim(st, job);
  cr_assert_eq(store_job_pause(st, job, 0, ckpt, 0), STORE_EINVAL);
  cr_assert_eq(store_job_pause(st, job, 2, ckpt, sizeof ckpt), STORE_OK);
  store_job j = get_job(job);
  cr_assert_eq(j.state, STORE_JOB_QUEUED);
  cr_assert_eq(j.restarts, 0);
  store_job_clear(&j);
  uint8_t *buf;
  size_t len;
  int64_t epoch;
  cr_assert_eq(store_checkpoint_latest(st, job, &epoch, &buf, &len), STORE_OK);
  cr_assert_eq(epoch, 2);
  cr_assert_eq(len, sizeof ckpt);
  cr_assert_eq(memcmp(buf, ckpt, len), 0);
  free(buf);
  cr_assert_eq(model_version(model), 0); /* a pause publishes nothing */
  claim(st, job); /* claimable again */
  cr_assert_eq(store_job_pause(st, job, 2, NULL, 0), STORE_OK);
  cr_assert_eq(store_job_pause(st, 999, 0, NULL, 0), STORE_ENOTFOUND);
}

Test(store, epoch_commit_rejects_jobs_that_are_not_running) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  uint8_t ckpt[4] = {1, 2, 3, 4};
  store_epoch e = {.job_id = job, .metric = {1, 0.5, NAN, NAN, NAN, 0.1, 1.0},
                   .samples_per_second = NAN, .checkpoint = ckpt, .checkpoint_len = sizeof ckpt};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_ECONFLICT); /* queued */
  e.job_id = 999;
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_ENOTFOUND);
  e.job_id = job;
  claim(st, job);
  e.metric.epoch = 0;
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_EINVAL);
  e.metric.epoch = 1;
  e.checkpoint_len = 0; /* data without a length */
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_EINVAL);
  e.checkpoint = NULL;
  e.weights = ckpt; /* weights without a checkpoint */
  e.weights_len = sizeof ckpt;
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_EINVAL);

  store_metric *metrics;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 0, &metrics, &n), STORE_OK);
  cr_assert_eq(n, 0);
  free(metrics);
  cr_assert_eq(model_version(model), 0);
}

Test(store, epoch_commit_is_all_or_nothing) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  uint8_t ckpt[16] = {0};
  commit_epoch(job, 1, ckpt, sizeof ckpt, NULL);
  /* Make the last step of the transaction, the publication, fail. */
  raw_sql("CREATE TRIGGER no_publish BEFORE UPDATE OF weights ON models "
          "BEGIN SELECT RAISE(ABORT, 'injected'); END");
  store_epoch e = {.job_id = job, .metric = {2, 0.25, NAN, NAN, NAN, 0.1, 1.0},
                   .samples_per_second = 5.0, .checkpoint = ckpt, .checkpoint_len = sizeof ckpt};
  int64_t version = 77;
  cr_assert_neq(store_job_epoch_commit(st, &e, &version), STORE_OK);
  cr_assert_eq(version, 77);

  store_job j = get_job(job);
  cr_assert_eq(j.epoch, 1);
  cr_assert_float_eq(j.samples_per_second, 1000.0, 0.0);
  store_job_clear(&j);
  store_metric *metrics;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 1, &metrics, &n), STORE_OK);
  cr_assert_eq(n, 0);
  free(metrics);
  store_checkpoint *list;
  cr_assert_eq(store_checkpoint_list(st, job, &list, &n), STORE_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(list[0].epoch, 1);
  free(list);
  cr_assert_eq(model_version(model), 1);

  raw_sql("DROP TRIGGER no_publish");
  cr_assert_eq(store_job_epoch_commit(st, &e, &version), STORE_OK);
  cr_assert_eq(version, 2);
}

Test(store, rerun_epochs_replace_their_metrics) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  commit_epoch(job, 1, NULL, 0, NULL);
  store_epoch e = {.job_id = job, .metric = {1, 0.125, 0.5, 0.75, NAN, 0.1, 2.0},
                   .samples_per_second = NAN};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_OK);
  store_metric *metrics;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 0, &metrics, &n), STORE_OK);
  cr_assert_eq(n, 1);
  cr_assert_float_eq(metrics[0].loss, 0.125, 0.0);
  cr_assert_float_eq(metrics[0].val_loss, 0.5, 0.0);
  free(metrics);
}

Test(store, missing_metrics_round_trip_as_nan) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  store_epoch e = {.job_id = job, .metric = {1, 0.5, NAN, 0.875, NAN, NAN, 0.0},
                   .samples_per_second = NAN};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_OK);
  reopen();
  store_metric *m;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 0, &m, &n), STORE_OK);
  cr_assert_eq(n, 1);
  cr_assert_float_eq(m[0].loss, 0.5, 0.0);
  cr_assert(isnan(m[0].val_loss));
  cr_assert_float_eq(m[0].accuracy, 0.875, 0.0);
  cr_assert(isnan(m[0].val_accuracy));
  cr_assert(isnan(m[0].lr));
  cr_assert_float_eq(m[0].seconds, 0.0, 0.0);
  free(m);
  store_job j = get_job(job);
  cr_assert_float_eq(j.loss, 0.5, 0.0);
  cr_assert(isnan(j.val_loss));
  cr_assert_float_eq(j.accuracy, 0.875, 0.0);
  cr_assert(isnan(j.val_accuracy));
  cr_assert(isnan(j.samples_per_second));
  store_job_clear(&j);
}

Test(store, lists_of_a_missing_job_are_not_found) {
  store_metric *m = (store_metric *)1;
  store_checkpoint *c = (store_checkpoint *)1;
  size_t n = 5;
  cr_assert_eq(store_metrics_after(st, 7, 0, &m, &n), STORE_ENOTFOUND);
  cr_assert_null(m);
  cr_assert_eq(n, 0);
  cr_assert_eq(store_checkpoint_list(st, 7, &c, &n), STORE_ENOTFOUND);
  cr_assert_null(c);
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  cr_assert_eq(store_checkpoint_list(st, job, &c, &n), STORE_OK);
  cr_assert_eq(n, 0);
  free(c);
  int64_t epoch;
  uint8_t *buf;
  size_t len;
  cr_assert_eq(store_checkpoint_latest(st, job, &epoch, &buf, &len), STORE_ENOTFOUND);
}

/* ---- recovery and persistence --------------------------------------------------------------- */

Test(store, recovery_requeues_then_fails_after_max_restarts) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds), waiting = add_job(model, ds);
  int requeued, failed, cancelled;
  claim(st, job);
  raw_sql("UPDATE jobs SET started_at = '2000-01-01T00:00:00Z'"); /* an earlier first start */
  for (int restart = 1; restart <= STORE_MAX_RESTARTS; restart++) {
    if (restart > 1) claim(st, job);
    reopen(); /* the daemon crashed and starts again */
    cr_assert_eq(store_jobs_recover(st, &requeued, &failed, &cancelled), STORE_OK);
    cr_assert_eq(requeued, 1);
    cr_assert_eq(failed, 0);
    store_job j = get_job(job);
    cr_assert_eq(j.state, STORE_JOB_QUEUED);
    cr_assert_eq(j.restarts, restart);
    cr_assert_str_eq(j.started_at, "2000-01-01T00:00:00Z"); /* the first start is kept */
    store_job_clear(&j);
  }
  claim(st, job);
  cr_assert_eq(store_jobs_recover(st, &requeued, &failed, &cancelled), STORE_OK);
  cr_assert_eq(requeued, 0);
  cr_assert_eq(failed, 1);
  cr_assert_eq(cancelled, 0);
  store_job j = get_job(job);
  cr_assert_eq(j.state, STORE_JOB_FAILED);
  cr_assert_not_null(j.error);
  cr_assert_not_null(strstr(j.error, "more than 3 times"), "%s", j.error);
  cr_assert_eq(strlen(j.finished_at), 20);
  store_job_clear(&j);

  /* The job that never ran was not touched. */
  j = get_job(waiting);
  cr_assert_eq(j.state, STORE_JOB_QUEUED);
  cr_assert_eq(j.restarts, 0);
  store_job_clear(&j);
}

Test(store, recovery_honours_cancel_requests) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  cr_assert_eq(store_job_request_cancel(st, job, NULL), STORE_OK);
  int cancelled = 0;
  cr_assert_eq(store_jobs_recover(st, NULL, NULL, &cancelled), STORE_OK);
  cr_assert_eq(cancelled, 1);
  store_job j = get_job(job);
  cr_assert_eq(j.state, STORE_JOB_CANCELLED);
  cr_assert_eq(j.restarts, 0);
  store_job_clear(&j);
}

Test(store, reopening_preserves_everything) {
  enum { R = 3, F = 2 };
  float x[R * F] = {1, 2, 3, 4, 5, 6};
  int32_t labels[R] = {1, 0, 1};
  store_dataset meta = {.name = "set", .rows = R, .features = F, .outputs = 2,
                        .task = STORE_TASK_CLASSIFICATION, .classes = "[\"no\",\"yes\"]"};
  store_dataset_data data = {.x = x, .labels = labels};
  store_dataset ds;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, &ds), STORE_OK);
  int64_t model = add_model("m");
  int64_t job = add_job(model, ds.id);
  claim(st, job);
  uint8_t ckpt[3] = {7, 7, 7};
  commit_epoch(job, 1, ckpt, sizeof ckpt, NULL);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  store_job before = get_job(job);

  reopen();
  store_dataset got;
  store_dataset_data back;
  cr_assert_eq(store_dataset_get_data(st, ds.id, &got, &back), STORE_OK);
  cr_assert_str_eq(got.name, "set");
  cr_assert_str_eq(got.classes, meta.classes);
  cr_assert_str_eq(got.created_at, ds.created_at);
  cr_assert_eq(memcmp(back.x, x, sizeof x), 0);
  cr_assert_eq(memcmp(back.labels, labels, sizeof labels), 0);
  store_dataset_clear(&got);
  store_dataset_data_clear(&back);
  store_dataset_clear(&ds);

  store_job after = get_job(job);
  cr_assert_eq(after.state, STORE_JOB_SUCCEEDED);
  cr_assert_eq(after.epoch, 1);
  cr_assert_str_eq(after.config, before.config);
  cr_assert_str_eq(after.started_at, before.started_at);
  cr_assert_str_eq(after.finished_at, before.finished_at);
  store_job_clear(&before);
  store_job_clear(&after);

  uint8_t *buf;
  size_t len;
  int64_t version;
  cr_assert_eq(store_model_weights(st, model, &buf, &len, &version), STORE_OK);
  cr_assert_eq(version, 1);
  cr_assert_eq(len, sizeof ckpt);
  cr_assert_eq(memcmp(buf, ckpt, len), 0);
  free(buf);
}

/* ---- per-layer diagnostics and sampled rows ------------------------------------------- */

Test(store, metrics_carry_their_layers_text) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  static const char layers[] = "[{\"layer\":0,\"grad_norm\":0.5}]";
  char *text = strdup(layers);
  store_epoch e = {.job_id = job, .metric = {1, 0.5, NAN, NAN, NAN, 0.1, 1.0, text},
                   .samples_per_second = NAN};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_OK);
  commit_epoch(job, 2, NULL, 0, NULL); /* without diagnostics */
  free(text);
  store_metric *m;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 0, &m, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(m[0].layers, layers);
  cr_assert_null(m[1].layers);
  store_metric_list_free(m, n);
  /* a rerun epoch replaces them too */
  e.metric.layers = NULL;
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_OK);
  cr_assert_eq(store_metrics_after(st, job, 0, &m, &n), STORE_OK);
  cr_assert_null(m[0].layers);
  store_metric_list_free(m, n);
  store_metric_list_free(NULL, 0);
}

Test(store, a_version_1_database_gains_an_empty_layers_column) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  store_close(st);
  st = NULL;
  /* the schema as version 1 left it, with an epoch recorded */
  char sql[256];
  snprintf(sql, sizeof sql,
           "ALTER TABLE metrics DROP COLUMN layers; PRAGMA user_version = 1;"
           "INSERT INTO metrics (job_id, epoch, loss) VALUES (%lld, 1, 0.25);",
           (long long)job);
  raw_sql(sql);
  cr_assert_eq(store_open(path, &st), STORE_OK);
  cr_assert_eq(store_schema_version(st), 2);
  store_metric *m;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 0, &m, &n), STORE_OK);
  cr_assert_eq(n, 1);
  cr_assert_float_eq(m[0].loss, 0.25, 0.0);
  cr_assert_null(m[0].layers);
  store_metric_list_free(m, n);
}

Test(store, a_sample_reads_rows_spread_over_the_dataset) {
  int64_t ds = add_regression(10, 3, 2); /* x[i] = i / 2 - 3, y[i] = i / 7 */
  store_dataset meta;
  store_dataset_data data;
  size_t k;
  cr_assert_eq(store_dataset_sample(st, ds, 4, &meta, &data, &k), STORE_OK);
  cr_assert_eq(k, 4);
  cr_assert_eq(meta.rows, 10);
  cr_assert_null(data.labels);
  static const int rows[4] = {0, 2, 5, 7}; /* floor(i * 10 / 4) */
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 3; j++)
      cr_assert_float_eq(data.x[i * 3 + j], (float)(rows[i] * 3 + j) * 0.5f - 3.0f, 0.0f);
    for (int j = 0; j < 2; j++)
      cr_assert_float_eq(data.y[i * 2 + j], (float)(rows[i] * 2 + j) / 7.0f, 0.0f);
  }
  store_dataset_clear(&meta);
  store_dataset_data_clear(&data);

  cr_assert_eq(store_dataset_sample(st, ds, 64, &meta, &data, &k), STORE_OK);
  cr_assert_eq(k, 10, "a small dataset gives all its rows");
  cr_assert_float_eq(data.x[29], 29 * 0.5f - 3.0f, 0.0f);
  store_dataset_clear(&meta);
  store_dataset_data_clear(&data);

  cr_assert_eq(store_dataset_sample(st, ds, 0, &meta, &data, &k), STORE_EINVAL);
  cr_assert_eq(store_dataset_sample(st, 999, 4, &meta, &data, &k), STORE_ENOTFOUND);
  cr_assert_null(data.x);
  cr_assert_eq(k, 0);
}

Test(store, a_sample_of_a_classification_dataset_reads_its_labels) {
  float x[6] = {0, 1, 2, 3, 4, 5};
  int32_t labels[6] = {2, 1, 0, 2, 1, 0};
  store_dataset meta = {.name = "cls", .rows = 6, .features = 1, .outputs = 3,
                        .task = STORE_TASK_CLASSIFICATION};
  store_dataset_data in = {.x = x, .labels = labels}, data;
  store_dataset row;
  cr_assert_eq(store_dataset_insert(st, &meta, &in, &row), STORE_OK);
  size_t k;
  cr_assert_eq(store_dataset_sample(st, row.id, 3, &meta, &data, &k), STORE_OK);
  cr_assert_eq(k, 3);
  cr_assert_eq(meta.task, STORE_TASK_CLASSIFICATION);
  cr_assert_null(data.y);
  for (int i = 0; i < 3; i++) {
    cr_assert_float_eq(data.x[i], (float)(2 * i), 0.0f);
    cr_assert_eq(data.labels[i], labels[2 * i]);
  }
  store_dataset_clear(&row);
  store_dataset_clear(&meta);
  store_dataset_data_clear(&data);
}
