/* test_store.c — the SQLite store: every table's rows, blobs, the job queue,
 * epoch commits, recovery and migrations, on temporary database files. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/store.h"
#include "../../server/store_internal.h" /* the handle's connection, to cap its file */

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
  cr_assert_eq(store_job_insert(st, model, dataset, "{\"epochs\":10}", 10, 0, &j), STORE_OK);
  int64_t id = j.id;
  store_job_clear(&j);
  return id;
}

/* Claim the next job and check it is `want`. */
static void claim(store *h, int64_t want) {
  store_job j;
  cr_assert_eq(store_job_claim(h, INT64_MAX, INT64_MAX, &j), STORE_OK);
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

/* The migrations in server/store.c: events (2), stalled restarts (3), layers
 * (4), weights versions (5), threads (6), evaluations (7), job memory (8),
 * searches (9), typed tables (10), search events (11), an evaluation's job (12),
 * tables in pieces (13), batch predictions (14). */
#define STORE_SCHEMA_VERSION 14

/* ---- handle, names, time -------------------------------------------------------- */

Test(store, open_creates_schema_and_reopening_is_idempotent) {
  cr_assert_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
  cr_assert_eq(store_healthz(st), STORE_OK);
  int64_t model = add_model("m");
  reopen();
  reopen();
  cr_assert_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
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

/* The writing state's invariants are asserted, live in every build; each
 * check fires before the handle's connection is touched. */
Test(store_invariants, ending_a_transaction_never_begun_aborts, .signal = SIGABRT) {
  store h = {0};
  store__end(&h, STORE_OK);
}

Test(store_invariants, a_write_turn_is_released_only_by_its_holder, .signal = SIGABRT) {
  store h = {0};
  store__write_unlock(&h);
}

Test(store_invariants, transactions_do_not_nest, .signal = SIGABRT) {
  store h = {.in_transaction = 1};
  store__begin(&h, Q_BEGIN_WRITE);
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

Test(store, a_damaged_or_missing_dataset_reads_as_an_error_with_nothing_returned) {
  int64_t ds = add_regression(4, 2, 1);
  store_dataset got;
  store_dataset_data back;
  cr_assert_eq(store_dataset_get_data(st, ds + 1, &got, &back), STORE_ENOTFOUND);
  cr_assert_null(got.name);
  cr_assert_null(back.x);
  /* a y shorter than its shape says, written past the schema's CHECK */
  raw_sql("PRAGMA ignore_check_constraints = 1; UPDATE datasets SET y = x'00000000'");
  cr_assert_eq(store_dataset_get_data(st, ds, &got, &back), STORE_EIO);
  cr_assert_null(got.name);
  cr_assert_null(back.x);
  cr_assert_null(back.y);
  /* labels where a regression set keeps y: the y column is NULL */
  raw_sql("PRAGMA ignore_check_constraints = 1;"
          " UPDATE datasets SET labels = x'00000000000000000000000000000000', y = NULL");
  cr_assert_neq(store_dataset_get_data(st, ds, &got, &back), STORE_OK);
  cr_assert_null(back.x);
  cr_assert_null(back.y);
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

/* Lists read the count of the class names, not the names; names damaged
 * behind the store's back count -1 (the caller leaves the row out) instead
 * of failing the whole list, as json_array_length would. */
Test(store, dataset_lists_carry_the_class_count) {
  float x[2] = {0, 1};
  int32_t labels[2] = {0, 1};
  store_dataset meta = {.name = "two", .rows = 2, .features = 1, .outputs = 2,
                        .task = STORE_TASK_CLASSIFICATION, .classes = "[\"no\",\"yes\"]"};
  store_dataset_data data = {.x = x, .labels = labels};
  store_dataset ins;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, &ins), STORE_OK);
  cr_assert_eq(ins.n_classes, 2);
  cr_assert_str_eq(ins.classes, meta.classes);
  int64_t regression = add_regression(2, 1, 1);
  store_dataset *list;
  size_t n;
  cr_assert_eq(store_dataset_list(st, &list, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_assert_eq(list[0].n_classes, 2);
  cr_assert_null(list[0].classes, "a summary");
  cr_assert_eq(list[1].id, regression);
  cr_assert_eq(list[1].n_classes, 0);
  store_dataset_list_free(list, n);

  char sql[128];
  snprintf(sql, sizeof sql, "UPDATE datasets SET classes = '[\"no\", \"ye' WHERE id = %lld",
           (long long)ins.id);
  raw_sql(sql);
  cr_assert_eq(store_dataset_list(st, &list, &n), STORE_OK, "one damaged row fails no list");
  cr_assert_eq(n, 2);
  cr_assert_eq(list[0].n_classes, -1);
  cr_assert_eq(list[1].n_classes, 0);
  store_dataset_list_free(list, n);
  store_dataset got;
  cr_assert_eq(store_dataset_get(st, ins.id, &got), STORE_OK);
  cr_assert_eq(got.n_classes, -1);
  cr_assert_str_eq(got.classes, "[\"no\", \"ye");
  store_dataset_clear(&got);
  store_dataset_clear(&ins);
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

Test(store, models_are_found_by_name_the_newest_first) {
  int64_t first = add_model("net"), other = add_model("other"), second = add_model("net");
  store_model m;
  cr_assert_eq(store_model_find(st, "net", &m), STORE_OK);
  cr_expect_eq(m.id, second, "the newest of the name");
  cr_expect_str_eq(m.name, "net");
  store_model_clear(&m);
  cr_assert_eq(store_model_find(st, "other", &m), STORE_OK);
  cr_expect_eq(m.id, other);
  store_model_clear(&m);
  cr_assert_eq(store_model_delete(st, second), STORE_OK);
  cr_assert_eq(store_model_find(st, "net", &m), STORE_OK);
  cr_expect_eq(m.id, first);
  store_model_clear(&m);
  /* Names compare exactly. */
  cr_expect_eq(store_model_find(st, "NET", &m), STORE_ENOTFOUND);
  cr_expect_null(m.name, "a failed find leaves the row empty");
  cr_expect_eq(store_model_find(st, "ne", &m), STORE_ENOTFOUND);
  cr_expect_eq(store_model_find(st, "net'; --", &m), STORE_ENOTFOUND);
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
  store_weights w;
  cr_assert_eq(store_model_weights(st, model, 0, &w), STORE_OK);
  cr_assert_null(w.buf);
  cr_assert_eq(w.len, 0);
  cr_assert_eq(w.version, 0);
  cr_assert_null(w.classes);
  store_weights_clear(&w);
  cr_assert_eq(store_model_weights(st, model, 1, &w), STORE_OK);
  cr_assert_null(w.buf, "no version 1");
  cr_assert_eq(w.newest, 0);
  store_weights_clear(&w);
  cr_assert_eq(store_model_weights(st, model + 1, 0, &w), STORE_ENOTFOUND);
  cr_assert_eq(store_model_weights(st, model + 1, 1, &w), STORE_ENOTFOUND);
  cr_assert_eq(store_model_weights(st, model, -1, &w), STORE_EINVAL);
  store_model_version *v = (store_model_version *)1;
  size_t n = 9;
  cr_assert_eq(store_model_versions(st, model, &v, &n), STORE_OK);
  cr_assert_eq(n, 0);
  free(v);
  cr_assert_eq(store_model_versions(st, model + 1, &v, &n), STORE_ENOTFOUND);
  cr_assert_null(v);
}

/* The bytes of a version (0: the newest) must be want's. */
static void expect_weights(int64_t model, int64_t version, const uint8_t *want, size_t len,
                           int64_t want_version) {
  store_weights w;
  cr_assert_eq(store_model_weights(st, model, version, &w), STORE_OK, "version %lld",
               (long long)version);
  cr_assert_eq(w.version, want_version);
  cr_assert_eq(w.len, len);
  cr_assert_eq(memcmp(w.buf, want, len), 0);
  store_weights_clear(&w);
}

/* ---- jobs ---------------------------------------------------------------------------- */

Test(store, job_insert_and_get) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  store_job j;
  cr_assert_eq(store_job_insert(st, model, ds, "{\"lr\":0.1}", 500, 0, &j), STORE_OK);
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
  cr_assert_eq(store_job_insert(st, model + 1, ds, "{}", 1, 0, NULL), STORE_ENOTFOUND);
  cr_assert_eq(store_job_insert(st, model, ds + 1, "{}", 1, 0, NULL), STORE_ENOTFOUND);
  cr_assert_eq(store_job_insert(st, model, ds, "{}", 0, 0, NULL), STORE_EINVAL);
  cr_assert_eq(store_job_insert(st, model, ds, NULL, 1, 0, NULL), STORE_EINVAL);
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

/* How SQLite runs the statement in cache slot q (prepared already): the
 * plan's rows, "; "-joined. */
static void query_plan(enum store__slot q, char *out, size_t size) {
  char sql[1024];
  cr_assert_not_null(st->stmt[q], "statement %d was never prepared", (int)q);
  snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", sqlite3_sql(st->stmt[q]));
  sqlite3_stmt *s;
  cr_assert_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK, "%s",
               sqlite3_errmsg(st->db));
  out[0] = '\0';
  while (sqlite3_step(s) == SQLITE_ROW) {
    size_t used = strlen(out);
    snprintf(out + used, size - used, "%s; ", (const char *)sqlite3_column_text(s, 3));
  }
  sqlite3_finalize(s);
}

Test(store, filtered_job_lists_search_an_index) {
  /* A filtered list reads the jobs it lists, not every job ever queued. */
  const struct {
    enum store__slot slot;
    int state;
    int64_t model;
  } filtered[] = {{Q_JOB_LIST_STATE, STORE_JOB_QUEUED, 0},
                  {Q_JOB_LIST_MODEL, -1, 1},
                  {Q_JOB_LIST_MODEL_STATE, STORE_JOB_RUNNING, 1}};
  char plan[512];
  for (size_t i = 0; i < sizeof filtered / sizeof filtered[0]; i++) {
    store_job *list;
    size_t n;
    cr_assert_eq(store_job_list(st, filtered[i].state, filtered[i].model, &list, &n), STORE_OK);
    store_job_list_free(list, n);
    query_plan(filtered[i].slot, plan, sizeof plan);
    cr_expect(strstr(plan, "USING INDEX") != NULL && strstr(plan, "SCAN jobs") == NULL,
              "query %d: %s", (int)filtered[i].slot, plan);
  }
}

/* The statements prepared on the handle. */
static int prepared(void) {
  int n = 0;
  for (sqlite3_stmt *s = sqlite3_next_stmt(st->db, NULL); s; s = sqlite3_next_stmt(st->db, s)) n++;
  return n;
}

Test(store, statements_are_prepared_once_per_handle_at_their_first_use) {
  /* Opening prepares only the transaction statements. */
  cr_assert_eq(prepared(), 4);
  cr_assert_null(st->stmt[Q_JOB_GET]);
  store_job job;
  cr_assert_eq(store_job_get(st, 1, &job), STORE_ENOTFOUND);
  sqlite3_stmt *first = st->stmt[Q_JOB_GET];
  cr_assert_not_null(first);
  cr_assert_eq(prepared(), 5);
  int64_t model = add_model("m");
  cr_assert_eq(store_job_get(st, add_job(model, add_regression(4, 2, 1)), &job), STORE_OK);
  store_job_clear(&job);
  cr_assert_eq(st->stmt[Q_JOB_GET], first, "prepared again");
  int before = prepared();
  cr_assert_eq(store_job_get(st, 1, &job), STORE_OK);
  store_job_clear(&job);
  cr_assert_eq(prepared(), before);
}

Test(store, a_value_too_big_to_bind_fails_the_call_whole_and_the_handle_goes_on) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  char big[2048];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  sqlite3_limit(st->db, SQLITE_LIMIT_LENGTH, 1024);

  store_model m;
  cr_assert_eq(store_model_insert(st, "big", big, 3, &m), STORE_ETOOBIG);
  cr_assert_null(m.name);
  store_job j;
  cr_assert_eq(store_job_insert(st, model, ds, big, 5, 0, &j), STORE_ETOOBIG);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_FAILED, big), STORE_ETOOBIG);
  /* Nothing of it was written, no transaction or write turn is left open. */
  cr_assert(sqlite3_get_autocommit(st->db));
  cr_assert_eq(st->writing, 0);
  cr_assert(store_idle(st));
  cr_assert_eq(store_job_get(st, job, &j), STORE_OK);
  cr_assert_eq(j.state, STORE_JOB_RUNNING);
  store_job_clear(&j);
  store_model *models;
  size_t n;
  cr_assert_eq(store_model_list(st, &models, &n), STORE_OK);
  cr_assert_eq(n, 1);
  store_model_list_free(models, n);

  /* The same statements then run with values that fit. */
  cr_assert_eq(store_model_insert(st, "small", "{}", 3, &m), STORE_OK);
  store_model_clear(&m);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_FAILED, "boom"), STORE_OK);
  cr_assert_eq(store_job_get(st, job, &j), STORE_OK);
  cr_assert_str_eq(j.error, "boom");
  store_job_clear(&j);
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
  int64_t ds = add_regression(4, 2, 1), model = add_model("m"), other_model = add_model("n");
  int64_t a = add_job(model, ds), b = add_job(model, ds), c = add_job(other_model, ds);
  cr_assert_eq(store_job_request_cancel(st, b, NULL), STORE_OK); /* leaves the queue */
  store *other;
  cr_assert_eq(store_open(path, &other), STORE_OK);
  claim(st, a);
  claim(other, c);
  store_job j;
  cr_assert_eq(store_job_claim(st, INT64_MAX, INT64_MAX, &j), STORE_ENOTFOUND);
  cr_assert_eq(store_job_claim(other, INT64_MAX, INT64_MAX, NULL), STORE_ENOTFOUND);
  store_close(other);

  j = get_job(a);
  cr_assert_eq(strlen(j.started_at), 20);
  cr_assert_str_eq(j.finished_at, "");
  store_job_clear(&j);
}

/* A model trains in one job at a time: its next queued job waits, and the
 * jobs of other models behind it go first. */
Test(store, claim_skips_a_job_whose_model_is_training) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m"), other_model = add_model("n");
  int64_t a = add_job(model, ds), b = add_job(model, ds), c = add_job(other_model, ds);
  claim(st, a);
  claim(st, c); /* b waits for a */
  store_job j;
  cr_assert_eq(store_job_claim(st, INT64_MAX, INT64_MAX, &j), STORE_ENOTFOUND);
  cr_assert_eq(store_job_finish(st, a, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  claim(st, b);
}

static int64_t add_job_of(int64_t model, int64_t dataset, int64_t memory) {
  store_job j;
  cr_assert_eq(store_job_insert(st, model, dataset, "{}", 1, memory, &j), STORE_OK);
  cr_assert_eq(j.memory, memory);
  int64_t id = j.id;
  store_job_clear(&j);
  return id;
}

/* A job is claimed when its memory fits the room left, in queue order among
 * those that fit; one larger than the whole budget is taken at once (its
 * worker fails it) rather than waiting forever. */
Test(store, claim_takes_only_what_fits_the_room) {
  int64_t ds = add_regression(4, 2, 1);
  int64_t big = add_job_of(add_model("a"), ds, 600);
  int64_t small = add_job_of(add_model("b"), ds, 300);
  store_job j;
  cr_assert_eq(store_job_claim(st, 299, 1000, &j), STORE_ENOTFOUND);
  cr_assert_eq(store_job_claim(st, 300, 1000, &j), STORE_OK);
  cr_assert_eq(j.id, small);
  cr_assert_eq(j.memory, 300);
  store_job_clear(&j);
  cr_assert_eq(store_job_claim(st, 599, 1000, &j), STORE_ENOTFOUND);
  int64_t huge = add_job_of(add_model("c"), ds, 1001);
  cr_assert_eq(store_job_claim(st, 599, 1000, &j), STORE_OK);
  cr_assert_eq(j.id, huge, "a job over the whole budget is taken, to be failed");
  store_job_clear(&j);
  cr_assert_eq(store_job_claim(st, 600, 1000, &j), STORE_OK);
  cr_assert_eq(j.id, big);
  store_job_clear(&j);
  cr_assert_eq(store_job_insert(st, add_model("d"), ds, "{}", 1, -1, NULL), STORE_EINVAL);
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
  while ((c->status = store_job_claim(h, INT64_MAX, INT64_MAX, &j)) == STORE_OK) {
    c->claimed[c->n++] = j.id;
    store_job_clear(&j);
  }
  store_close(h);
  return NULL;
}

Test(store, concurrent_claims_never_share_a_job) {
  int64_t ds = add_regression(4, 2, 1);
  /* one model each: a model's second job waits for its first */
  for (int i = 0; i < RACE_JOBS; i++) add_job(add_model("m"), ds);
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

  /* The published weights are the last checkpoint, byte for byte, and each
   * older version is kept as it was published. */
  expect_weights(model, 0, ckpt[4], 60, 5);
  for (int v = 1; v <= 5; v++) expect_weights(model, v, ckpt[v - 1], 64 - (size_t)(v - 1), v);
  store_model_version *versions;
  size_t n;
  cr_assert_eq(store_model_versions(st, model, &versions, &n), STORE_OK);
  cr_assert_eq(n, 5);
  for (size_t i = 0; i < n; i++) {
    cr_expect_eq(versions[i].version, 5 - (int64_t)i, "newest first");
    cr_expect_eq(versions[i].job_id, job);
    cr_expect_eq(versions[i].epoch, 6 - (int64_t)i);
    cr_expect_eq(versions[i].bytes, 60 + (int64_t)i);
    cr_expect_eq(strlen(versions[i].published_at), 20);
  }
  free(versions);
  uint8_t *buf;
  size_t len;

  /* Only the newest STORE_CHECKPOINTS_KEPT stay. */
  store_checkpoint *list;
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

Test(store, metrics_stride_doubles_past_the_dense_epochs) {
  cr_assert_eq(store_metrics_stride(1), 1);
  cr_assert_eq(store_metrics_stride(STORE_METRICS_DENSE), 1);
  cr_assert_eq(store_metrics_stride(STORE_METRICS_DENSE + 1), 2);
  cr_assert_eq(store_metrics_stride(2 * STORE_METRICS_DENSE), 2);
  cr_assert_eq(store_metrics_stride(2 * STORE_METRICS_DENSE + 1), 4);
  cr_assert_eq(store_metrics_stride(1000000), 128);
}

/* A long job keeps its metrics at a bounded resolution: every epoch up to
 * STORE_METRICS_DENSE, then every stride-th and the newest, the rows off
 * the stride deleted in the commits that pass them. */
Test(store, long_jobs_keep_every_stride_th_epoch_and_the_last) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds), other = add_job(add_model("n"), ds);
  claim(st, job);
  claim(st, other);
  commit_epoch(other, 1, NULL, 0, NULL);
  /* 20,000 commits: without a sync each, as durability is not tested here */
  cr_assert_eq(sqlite3_exec(st->db, "PRAGMA synchronous = OFF", NULL, NULL, NULL), SQLITE_OK);
  int64_t last = 2 * STORE_METRICS_DENSE + 3; /* stride 4 */
  for (int64_t e = 1; e <= last; e++) commit_epoch(job, e, NULL, 0, NULL);
  store_metric *metrics;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 0, &metrics, &n), STORE_OK);
  cr_assert_eq(n, (size_t)(last / 4 + 1), "%zu rows", n);
  for (size_t i = 0; i + 1 < n; i++) cr_assert_eq(metrics[i].epoch, 4 * ((int64_t)i + 1));
  cr_assert_eq(metrics[n - 1].epoch, last);
  cr_assert_float_eq(metrics[n - 1].loss, 1.0 / (double)last, 0.0);
  store_metric_list_free(metrics, n);
  cr_assert_eq(store_metrics_after(st, other, 0, &metrics, &n), STORE_OK);
  cr_assert_eq(n, 1, "another job's rows are its own");
  store_metric_list_free(metrics, n);
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
  expect_weights(model, 0, weights, sizeof weights, 1);
  uint8_t *buf;
  size_t len;
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
  /* a later version predicts other classes; each keeps its own */
  e.metric.epoch = 2;
  e.classes = "[\"ant\",\"bee\"]";
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_OK);
  store_weights w;
  cr_assert_eq(store_model_weights(st, model, 1, &w), STORE_OK);
  cr_assert_str_eq(w.classes, "[\"cat\",\"dog\"]");
  cr_assert_eq(w.newest, 2);
  store_weights_clear(&w);
  cr_assert_eq(store_model_weights(st, model, 0, &w), STORE_OK);
  cr_assert_str_eq(w.classes, "[\"ant\",\"bee\"]");
  cr_assert_eq(w.version, 2);
  store_weights_clear(&w);
}

/* Versions of model kept, newest first, as a 0-terminated array. */
static void expect_versions(int64_t model, const int64_t *want) {
  store_model_version *v;
  size_t n, k = 0;
  cr_assert_eq(store_model_versions(st, model, &v, &n), STORE_OK);
  while (want[k] != 0) k++;
  cr_assert_eq(n, k, "%zu versions kept, want %zu", n, k);
  for (size_t i = 0; i < n; i++) cr_expect_eq(v[i].version, want[i], "[%zu]", i);
  free(v);
}

static void publish_version(int64_t job, int64_t epoch, int kept) {
  uint8_t ckpt[4] = {(uint8_t)job, (uint8_t)epoch, 3, 4};
  store_epoch e = {.job_id = job, .metric = {epoch, 0.5, NAN, NAN, NAN, 0.1, 1.0},
                   .samples_per_second = NAN, .checkpoint = ckpt, .checkpoint_len = sizeof ckpt,
                   .versions_kept = kept};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_OK);
}

Test(store, old_versions_are_pruned_but_each_jobs_last_stays) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m"), other = add_model("o");
  int64_t first = add_job(model, ds);
  claim(st, first);
  for (int e = 1; e <= 4; e++) publish_version(first, e, 2); /* versions 1-4 */
  expect_versions(model, (const int64_t[]){4, 3, 0});
  cr_assert_eq(store_job_finish(st, first, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  int64_t second = add_job(model, ds);
  claim(st, second);
  for (int e = 1; e <= 5; e++) publish_version(second, e, 2); /* versions 5-9 */
  /* the newest two, and 4: the first job's last */
  expect_versions(model, (const int64_t[]){9, 8, 4, 0});
  expect_weights(model, 4, (const uint8_t[]){(uint8_t)first, 4, 3, 4}, 4, 4);
  store_weights w;
  cr_assert_eq(store_model_weights(st, model, 7, &w), STORE_OK);
  cr_assert_null(w.buf, "version 7 was pruned");
  cr_assert_eq(w.newest, 9);
  store_weights_clear(&w);
  /* another model's versions are its own */
  expect_versions(other, (const int64_t[]){0});
  /* the default keeps STORE_VERSIONS_KEPT */
  for (int e = 6; e <= 20; e++) publish_version(second, e, 0); /* versions 10-24 */
  store_model_version *v;
  size_t n;
  cr_assert_eq(store_model_versions(st, model, &v, &n), STORE_OK);
  cr_assert_eq(n, STORE_VERSIONS_KEPT + 1);
  cr_expect_eq(v[0].version, 24);
  cr_expect_eq(v[STORE_VERSIONS_KEPT - 1].version, 24 - STORE_VERSIONS_KEPT + 1);
  cr_expect_eq(v[STORE_VERSIONS_KEPT].version, 4);
  free(v);
  /* a model's versions go with it */
  cr_assert_eq(store_job_finish(st, second, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  cr_assert_eq(store_model_delete(st, model), STORE_OK);
  cr_assert_eq(store_model_versions(st, model, &v, &n), STORE_ENOTFOUND);
  sqlite3_stmt *count;
  cr_assert_eq(sqlite3_prepare_v2(st->db, "SELECT count(*) FROM model_versions", -1, &count,
                                  NULL), SQLITE_OK);
  cr_assert_eq(sqlite3_step(count), SQLITE_ROW);
  cr_expect_eq(sqlite3_column_int(count, 0), 0);
  sqlite3_finalize(count);
}

Test(store, a_negative_versions_kept_is_refused) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  uint8_t ckpt[4] = {1, 2, 3, 4};
  store_epoch e = {.job_id = job, .metric = {1, 0.5, NAN, NAN, NAN, 0.1, 1.0},
                   .samples_per_second = NAN, .checkpoint = ckpt, .checkpoint_len = sizeof ckpt,
                   .versions_kept = -1};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_EINVAL);
  expect_versions(model, (const int64_t[]){0});
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
  /* Make one of the last steps of the transaction, the publication, fail. */
  raw_sql("CREATE TRIGGER no_publish BEFORE INSERT ON model_versions "
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
  store_epoch e = {.job_id = job, .metric = {1, 0.125, 0.5, 0.75, NAN, 0.1, 2.0, NULL, 3},
                   .samples_per_second = NAN};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_OK);
  store_metric *metrics;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 0, &metrics, &n), STORE_OK);
  cr_assert_eq(n, 1);
  cr_assert_float_eq(metrics[0].loss, 0.125, 0.0);
  cr_assert_float_eq(metrics[0].val_loss, 0.5, 0.0);
  cr_assert_eq(metrics[0].threads, 3);
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
  cr_assert_eq(m[0].threads, 0, "unknown");
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

/* Cap the handle's database file at max_pages pages (0: at its size now):
 * growing it past them fails with SQLITE_FULL, as a full disk does. */
static void cap_pages(int64_t max_pages) {
  char sql[64];
  if (max_pages == 0) {
    sqlite3_stmt *s;
    cr_assert_eq(sqlite3_prepare_v2(st->db, "PRAGMA page_count", -1, &s, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    max_pages = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  }
  snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)max_pages);
  cr_assert_eq(sqlite3_exec(st->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

Test(store, a_full_disk_refuses_writes_whole_and_the_handle_recovers) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  static uint8_t big[64 * 1024]; /* needs pages the file cannot grow */
  cap_pages(0);

  store_epoch e = {.job_id = job, .metric = {1, 0.5, NAN, NAN, NAN, 0.01, 0.1},
                   .samples_per_second = NAN, .checkpoint = big, .checkpoint_len = sizeof big};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_EFULL);
  store_model m;
  cr_assert_eq(store_model_insert(st, "m2", (const char *)memset(big, 'x', sizeof big - 1), 1, &m),
               STORE_EFULL);
  memset(big, 0, sizeof big);
  cr_assert(sqlite3_get_autocommit(st->db), "a transaction was left open");

  /* Nothing of the refused epoch was kept, and reads go on. */
  store_job j = get_job(job);
  cr_assert_eq(j.state, STORE_JOB_RUNNING);
  cr_assert_eq(j.epoch, 0);
  store_job_clear(&j);
  store_metric *metrics;
  store_checkpoint *ckpts;
  size_t n;
  cr_assert_eq(store_metrics_after(st, job, 0, &metrics, &n), STORE_OK);
  cr_assert_eq(n, 0);
  free(metrics);
  cr_assert_eq(store_checkpoint_list(st, job, &ckpts, &n), STORE_OK);
  cr_assert_eq(n, 0);
  free(ckpts);
  cr_assert_eq(model_version(model), 0);

  cr_assert_eq(store_api_code(STORE_EFULL), API_STORAGE_FULL);
  cr_assert_eq(api_code_status(API_STORAGE_FULL), 507);
  cr_assert_str_eq(api_code_name(API_STORAGE_FULL), "storage_full");
  cr_assert_not_null(strstr(store_strerror(STORE_EFULL), "full"));

  /* Room again: the same handle writes, the same epoch included. */
  cap_pages(1 << 20);
  int64_t version = 0;
  cr_assert_eq(store_job_epoch_commit(st, &e, &version), STORE_OK);
  cr_assert_eq(version, 1);
  j = get_job(job);
  cr_assert_eq(j.epoch, 1);
  store_job_clear(&j);
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
  cr_assert_not_null(strstr(j.error, "more than 3 times in a row"), "%s", j.error);
  cr_assert_eq(strlen(j.finished_at), 20);
  store_job_clear(&j);

  /* The job that never ran was not touched. */
  j = get_job(waiting);
  cr_assert_eq(j.state, STORE_JOB_QUEUED);
  cr_assert_eq(j.restarts, 0);
  store_job_clear(&j);
}

/* A crash loop fails no job that stores a checkpoint between the crashes;
 * crashes that leave it where it was still count up to the limit. */
Test(store, recovery_forgives_crashes_past_a_new_checkpoint) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  int requeued, failed;
  uint8_t ckpt[4] = {1, 2, 3, 4};
  enum { CRASHES = 3 * STORE_MAX_RESTARTS };
  for (int crash = 1; crash <= CRASHES; crash++) {
    claim(st, job);
    commit_epoch(job, crash, ckpt, sizeof ckpt, NULL);
    reopen();
    cr_assert_eq(store_jobs_recover(st, &requeued, &failed, NULL), STORE_OK);
    cr_assert_eq(requeued, 1, "crash %d", crash);
    cr_assert_eq(failed, 0, "crash %d", crash);
  }
  store_job j = get_job(job);
  cr_assert_eq(j.state, STORE_JOB_QUEUED);
  cr_assert_eq(j.restarts, CRASHES);
  store_job_clear(&j);

  /* The last crash was the first since the last checkpoint. An epoch
   * without a checkpoint is no progress a crash keeps: the fourth crash in a
   * row fails the job. */
  for (int crash = 2; crash <= STORE_MAX_RESTARTS; crash++) {
    claim(st, job);
    commit_epoch(job, CRASHES + crash, NULL, 0, NULL);
    cr_assert_eq(store_jobs_recover(st, &requeued, &failed, NULL), STORE_OK);
    cr_assert_eq(requeued, 1);
  }
  claim(st, job);
  cr_assert_eq(store_jobs_recover(st, &requeued, &failed, NULL), STORE_OK);
  cr_assert_eq(failed, 1);
  j = get_job(job);
  cr_assert_eq(j.state, STORE_JOB_FAILED);
  cr_assert_eq(j.restarts, CRASHES + STORE_MAX_RESTARTS);
  store_job_clear(&j);
}

/* A data-parallel job's ranks dying counts as the daemon crashing does:
 * both add to the same count, a checkpoint in between resets it, and the
 * fourth in a row fails the job with the reason given. */
Test(store, crashed_ranks_count_with_daemon_crashes) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  uint8_t ckpt[4] = {1, 2, 3, 4};
  store_job j;
  int requeued, failed;
  cr_assert_eq(store_job_crashed(st, job, "ranks died", NULL), STORE_ECONFLICT); /* queued */
  claim(st, job);
  cr_assert_eq(store_job_crashed(st, job, "ranks died", &j), STORE_OK);
  cr_assert(j.state == STORE_JOB_QUEUED && j.restarts == 1 && j.error == NULL);
  store_job_clear(&j);
  claim(st, job);
  commit_epoch(job, 1, ckpt, sizeof ckpt, NULL); /* progress: the count starts again */
  cr_assert_eq(store_job_crashed(st, job, "ranks died", NULL), STORE_OK);
  claim(st, job);
  cr_assert_eq(store_jobs_recover(st, &requeued, &failed, NULL), STORE_OK); /* the daemon's */
  cr_assert_eq(requeued, 1);
  claim(st, job);
  cr_assert_eq(store_job_crashed(st, job, "ranks died", NULL), STORE_OK);
  claim(st, job);
  cr_assert_eq(store_job_crashed(st, job, "rank 0 was silent", &j), STORE_OK);
  cr_assert_eq(j.state, STORE_JOB_FAILED);
  cr_assert_eq(j.restarts, 5);
  cr_assert_not_null(strstr(j.error, "rank 0 was silent; more than 3 times"), "%s", j.error);
  cr_assert_eq(strlen(j.finished_at), 20);
  store_job_clear(&j);
  cr_assert_eq(store_job_crashed(st, 999, "x", NULL), STORE_ENOTFOUND);
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

  expect_weights(model, 0, ckpt, sizeof ckpt, 1);
}

/* ---- the event log ------------------------------------------------------------------------- */

/* Every event of job (0: of all jobs) after `after`; free with store_event_list_free. */
static store_event *events_of(int64_t job, int64_t after, size_t *n) {
  store_event *list;
  cr_assert_eq(store_events_after(st, job, after, 1000, &list, n), STORE_OK);
  return list;
}

static void expect_state(const store_event *e, int64_t job, store_job_state state, int64_t epoch) {
  cr_expect_eq(e->kind, STORE_EVENT_STATE, "event %lld", (long long)e->id);
  cr_expect_eq(e->job_id, job);
  cr_expect_eq(e->state, state, "event %lld: %s", (long long)e->id,
               store_job_state_name(e->state));
  cr_expect_eq(e->epoch, epoch);
  cr_expect_eq(e->job.id, job, "a state event carries its job");
}

Test(store, every_change_of_a_job_is_logged_in_order) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  commit_epoch(job, 1, NULL, 0, NULL);
  uint8_t ckpt[5] = {1, 2, 3, 4, 5};
  commit_epoch(job, 2, ckpt, sizeof ckpt, NULL);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_SUCCEEDED, NULL), STORE_OK);

  size_t n;
  store_event *ev = events_of(job, 0, &n);
  cr_assert_eq(n, 6);
  for (size_t i = 1; i < n; i++) cr_expect_gt(ev[i].id, ev[i - 1].id);
  cr_expect_gt(ev[0].id, 0);
  expect_state(&ev[0], job, STORE_JOB_QUEUED, 0);
  expect_state(&ev[1], job, STORE_JOB_RUNNING, 0);
  cr_expect_eq(ev[2].kind, STORE_EVENT_EPOCH);
  cr_expect_eq(ev[2].epoch, 1);
  cr_expect_eq(ev[2].metric.epoch, 1, "an epoch event carries its metrics row");
  cr_expect_float_eq(ev[2].metric.loss, 1.0, 1e-12);
  cr_expect(isnan(ev[2].metric.val_loss));
  cr_expect_eq(ev[3].kind, STORE_EVENT_EPOCH);
  cr_expect_float_eq(ev[3].metric.loss, 0.5, 1e-12);
  cr_expect_eq(ev[4].kind, STORE_EVENT_CHECKPOINT);
  cr_expect_eq(ev[4].epoch, 2);
  cr_expect_eq(ev[4].version, 1);
  cr_expect_eq(ev[4].bytes, (int64_t)sizeof ckpt);
  expect_state(&ev[5], job, STORE_JOB_SUCCEEDED, 2);
  /* a state event's job is read as it is now */
  cr_expect_eq(ev[0].job.state, STORE_JOB_SUCCEEDED);
  cr_expect_str_eq(store_event_kind_name(ev[4].kind), "checkpoint");
  cr_expect_null(store_event_kind_name(STORE_EVENT_KIND_COUNT));
  store_event_list_free(ev, n);
}

Test(store, only_changes_that_happen_are_logged) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t queued = add_job(model, ds), running = add_job(model, ds);
  size_t n;
  store_event *ev;
  /* refused changes leave no event */
  cr_assert_eq(store_job_finish(st, queued, STORE_JOB_FAILED, "x"), STORE_ECONFLICT);
  cr_assert_eq(store_job_pause(st, queued, 0, NULL, 0), STORE_ECONFLICT);
  store_epoch e = {.job_id = queued, .metric = {1, 1, NAN, NAN, NAN, 0.1, 0.1}};
  cr_assert_eq(store_job_epoch_commit(st, &e, NULL), STORE_ECONFLICT);
  ev = events_of(queued, 0, &n);
  cr_expect_eq(n, 1);
  store_event_list_free(ev, n);

  /* cancelling a queued job ends it; a running one only when its worker stops */
  cr_assert_eq(store_job_request_cancel(st, queued, NULL), STORE_OK);
  cr_assert_eq(store_job_request_cancel(st, queued, NULL), STORE_OK); /* already ended */
  ev = events_of(queued, 0, &n);
  cr_assert_eq(n, 2);
  expect_state(&ev[1], queued, STORE_JOB_CANCELLED, 0);
  store_event_list_free(ev, n);
  claim(st, running);
  cr_assert_eq(store_job_request_cancel(st, running, NULL), STORE_OK);
  ev = events_of(running, 0, &n);
  cr_expect_eq(n, 2, "queued, running: a cancel request is not a state");
  store_event_list_free(ev, n);
  cr_assert_eq(store_job_finish(st, running, STORE_JOB_CANCELLED, NULL), STORE_OK);
  ev = events_of(running, 0, &n);
  cr_assert_eq(n, 3);
  expect_state(&ev[2], running, STORE_JOB_CANCELLED, 0);
  store_event_list_free(ev, n);
}

Test(store, a_pause_logs_its_checkpoint_then_the_queue) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  uint8_t ckpt[4] = {9, 9, 9, 9};
  commit_epoch(job, 1, ckpt, sizeof ckpt, NULL);
  cr_assert_eq(store_job_pause(st, job, 1, ckpt, 3), STORE_OK);
  claim(st, job);
  cr_assert_eq(store_job_pause(st, job, 1, NULL, 0), STORE_OK); /* nothing new to keep */
  size_t n;
  store_event *ev = events_of(job, 0, &n);
  cr_assert_eq(n, 8);
  cr_expect_eq(ev[4].kind, STORE_EVENT_CHECKPOINT);
  cr_expect_eq(ev[4].epoch, 1);
  cr_expect_eq(ev[4].version, 1, "a pause publishes nothing: the version stays");
  cr_expect_eq(ev[4].bytes, 3);
  expect_state(&ev[5], job, STORE_JOB_QUEUED, 1);
  expect_state(&ev[6], job, STORE_JOB_RUNNING, 1);
  expect_state(&ev[7], job, STORE_JOB_QUEUED, 1);
  store_event_list_free(ev, n);
}

Test(store, recovery_logs_each_job_it_settles) {
  int64_t ds = add_regression(4, 2, 1);
  /* a model each: a model trains in one job at a time */
  int64_t cancelled = add_job(add_model("c"), ds), failed = add_job(add_model("f"), ds),
          requeued = add_job(add_model("r"), ds), untouched = add_job(add_model("u"), ds);
  claim(st, cancelled);
  claim(st, failed);
  claim(st, requeued);
  cr_assert_eq(store_job_request_cancel(st, cancelled, NULL), STORE_OK);
  char sql[96];
  snprintf(sql, sizeof sql, "UPDATE jobs SET stalled_restarts = %d WHERE id = %lld",
           STORE_MAX_RESTARTS, (long long)failed);
  raw_sql(sql);
  size_t before;
  store_event *old = events_of(0, 0, &before);
  store_event_list_free(old, before);
  cr_assert_eq(store_jobs_recover(st, NULL, NULL, NULL), STORE_OK);
  size_t n;
  store_event *ev = events_of(0, 0, &n);
  cr_assert_eq(n, before + 3);
  expect_state(&ev[before], cancelled, STORE_JOB_CANCELLED, 0);
  expect_state(&ev[before + 1], failed, STORE_JOB_FAILED, 0);
  expect_state(&ev[before + 2], requeued, STORE_JOB_QUEUED, 0);
  store_event_list_free(ev, n);
  ev = events_of(untouched, 0, &n);
  cr_expect_eq(n, 1, "a job that was not running keeps its one event");
  store_event_list_free(ev, n);
}

Test(store, events_read_after_an_id_for_one_job_or_all) {
  int64_t ds = add_regression(4, 2, 1);
  int64_t a = add_job(add_model("a"), ds), b = add_job(add_model("b"), ds);
  claim(st, a);
  commit_epoch(a, 1, NULL, 0, NULL);
  claim(st, b);
  size_t n, k;
  store_event *all = events_of(0, 0, &n);
  cr_assert_eq(n, 5); /* a queued, b queued, a running, a epoch 1, b running */
  cr_expect_eq(all[1].job_id, b);
  store_event *of_a = events_of(a, 0, &k);
  cr_assert_eq(k, 3);
  cr_expect_eq(of_a[2].id, all[3].id);
  store_event_list_free(of_a, k);
  store_event *tail = events_of(0, all[2].id, &k);
  cr_assert_eq(k, 2);
  cr_expect_eq(tail[0].id, all[3].id);
  store_event_list_free(tail, k);
  store_event *some;
  cr_assert_eq(store_events_after(st, 0, 0, 2, &some, &k), STORE_OK);
  cr_expect_eq(k, 2, "at most limit");
  cr_expect_eq(some[1].id, all[1].id);
  store_event_list_free(some, k);
  cr_expect_eq(store_events_after(st, 0, 0, 0, &some, &k), STORE_EINVAL);
  cr_expect_null(some);
  store_event *none = events_of(999, 0, &k);
  cr_expect_eq(k, 0, "no job, no events");
  store_event_list_free(none, k);
  store_event_list_free(all, n);
}

Test(store, the_snapshot_holds_unfinished_jobs_with_their_newest_event) {
  int64_t latest;
  size_t n;
  store_event *snap;
  cr_assert_eq(store_events_active(st, &snap, &n, &latest), STORE_OK);
  cr_expect_eq(n, 0);
  cr_expect_eq(latest, 0, "an empty log");
  store_event_list_free(snap, n);

  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t done = add_job(model, ds), running = add_job(model, ds), queued = add_job(model, ds);
  claim(st, done);
  cr_assert_eq(store_job_finish(st, done, STORE_JOB_FAILED, "boom"), STORE_OK);
  claim(st, running);
  commit_epoch(running, 1, NULL, 0, NULL);
  cr_assert_eq(store_events_active(st, &snap, &n, &latest), STORE_OK);
  cr_assert_eq(n, 2);
  /* queued's newest event (its creation) is older than running's epoch */
  expect_state(&snap[0], queued, STORE_JOB_QUEUED, 0);
  expect_state(&snap[1], running, STORE_JOB_RUNNING, 1);
  size_t k;
  store_event *all = events_of(0, 0, &k);
  cr_expect_eq(latest, all[k - 1].id);
  cr_expect_eq(snap[1].id, latest, "running committed the newest event");
  cr_expect_eq(snap[0].id, all[2].id, "queued's creation");
  store_event_list_free(all, k);
  store_event_list_free(snap, n);
}

Test(store, events_go_with_their_job_and_ids_are_never_reused) {
  int64_t ds = add_regression(4, 2, 1), kept = add_model("kept"), gone = add_model("gone");
  int64_t job = add_job(kept, ds);
  int64_t doomed = add_job(gone, ds);
  cr_assert_eq(store_job_request_cancel(st, doomed, NULL), STORE_OK);
  size_t n;
  store_event *ev = events_of(0, 0, &n);
  int64_t newest = ev[n - 1].id;
  store_event_list_free(ev, n);
  cr_assert_eq(store_model_delete(st, gone), STORE_OK);
  ev = events_of(0, 0, &n);
  cr_expect_eq(n, 1, "only the kept job's creation is left");
  cr_expect_eq(ev[0].job_id, job);
  store_event_list_free(ev, n);
  reopen();
  claim(st, job);
  ev = events_of(job, 0, &n);
  cr_assert_eq(n, 2);
  cr_expect_gt(ev[1].id, newest, "the deleted job's ids are not given out again");
  store_event_list_free(ev, n);
}

static int64_t heard[8];
static size_t n_heard;
static void hear(void *ud, int64_t id) {
  cr_assert_eq(ud, &n_heard);
  if (n_heard < 8) heard[n_heard] = id;
  n_heard++;
}

Test(store, the_hook_hears_each_committed_write_once_with_its_newest_event) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  store_on_event(st, hear, &n_heard);
  int64_t job = add_job(model, ds);
  cr_assert_eq(n_heard, 1);
  claim(st, job);
  uint8_t ckpt[2] = {1, 2};
  commit_epoch(job, 1, ckpt, sizeof ckpt, NULL); /* epoch and checkpoint: one commit */
  cr_assert_eq(n_heard, 3);
  size_t n;
  store_event *ev = events_of(job, 0, &n);
  cr_assert_eq(n, 4);
  cr_expect_eq(heard[0], ev[0].id);
  cr_expect_eq(heard[1], ev[1].id);
  cr_expect_eq(heard[2], ev[3].id);
  store_event_list_free(ev, n);
  /* reads and refused writes announce nothing */
  store_job j = get_job(job);
  store_job_clear(&j);
  cr_assert_eq(store_job_pause(st, 999, 0, NULL, 0), STORE_ENOTFOUND);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_QUEUED, NULL), STORE_EINVAL);
  store_job claimed;
  /* the queue is empty */
  cr_assert_eq(store_job_claim(st, INT64_MAX, INT64_MAX, &claimed), STORE_ENOTFOUND);
  cr_expect_eq(n_heard, 3);
}

Test(store, extending_a_succeeded_job_queues_it_again) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  cr_assert_eq(store_job_extend(st, job, 20, "{\"epochs\":20}", NULL), STORE_ECONFLICT);
  claim(st, job);
  commit_epoch(job, 10, (const uint8_t *)"ckpt", 4, NULL);
  cr_assert_eq(store_job_extend(st, job, 20, "{\"epochs\":20}", NULL), STORE_ECONFLICT);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  cr_assert_eq(store_job_extend(st, job, 10, "{\"epochs\":10}", NULL), STORE_ECONFLICT);
  cr_assert_eq(store_job_extend(st, job, 20, NULL, NULL), STORE_EINVAL);
  cr_assert_eq(store_job_extend(st, 999, 20, "{}", NULL), STORE_ENOTFOUND);
  store_job j;
  cr_assert_eq(store_job_extend(st, job, 20, "{\"epochs\":20}", &j), STORE_OK);
  cr_expect(j.state == STORE_JOB_QUEUED && j.epochs == 20 && j.epoch == 10);
  cr_expect_str_eq(j.config, "{\"epochs\":20}");
  cr_expect_str_eq(j.finished_at, "");
  store_job_clear(&j);
  claim(st, job); /* the queue takes it again, to resume from its checkpoint */
}

Test(store, upgrading_logs_the_history_of_existing_jobs) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t done = add_job(model, ds), waiting = add_job(model, ds);
  claim(st, done);
  commit_epoch(done, 1, NULL, 0, NULL);
  commit_epoch(done, 2, NULL, 0, NULL);
  cr_assert_eq(store_job_finish(st, done, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  /* back to the schema before the log, as an older daemon left it */
  store_close(st);
  st = NULL;
  raw_sql("DROP TABLE prediction_blocks; DROP TABLE predictions; /* 14 */ "
          "DROP TABLE evaluations; DROP TABLE events; ALTER TABLE jobs DROP COLUMN stalled_restarts;"
          " ALTER TABLE metrics DROP COLUMN layers; DROP TABLE model_versions;"
          " ALTER TABLE models ADD COLUMN weights BLOB; ALTER TABLE metrics DROP COLUMN threads;"
          " ALTER TABLE jobs DROP COLUMN memory;"
          " DROP TABLE search_rungs; DROP TABLE search_trials; DROP TABLE searches;"
          " DROP TABLE dataset_pieces;"
          " PRAGMA user_version = 1");
  cr_assert_eq(store_open(path, &st), STORE_OK);
  cr_expect_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
  /* migration 10 rebuilds the datasets table: the jobs keep theirs */
  store_job kept = get_job(waiting);
  cr_expect_eq(kept.dataset_id, ds);
  store_job_clear(&kept);
  size_t n;
  store_event *ev = events_of(0, 0, &n);
  cr_assert_eq(n, 4); /* done's two epochs, then each job's state */
  cr_expect_eq(ev[0].kind, STORE_EVENT_EPOCH);
  cr_expect_eq(ev[0].epoch, 1);
  cr_expect_eq(ev[1].epoch, 2);
  cr_expect_float_eq(ev[1].metric.loss, 0.5, 1e-12);
  expect_state(&ev[2], done, STORE_JOB_SUCCEEDED, 2);
  expect_state(&ev[3], waiting, STORE_JOB_QUEUED, 0);
  store_event_list_free(ev, n);
}

Test(store, upgrading_moves_the_published_weights_into_versions) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m"), untrained = add_model("u");
  int64_t job = add_job(model, ds);
  store_close(st);
  st = NULL;
  /* schema 4: the model row holds its one published version */
  raw_sql("DROP TABLE prediction_blocks; DROP TABLE predictions; /* 14 */ "
          "DROP TABLE evaluations; DROP TABLE model_versions;"
          " ALTER TABLE models ADD COLUMN weights BLOB;"
          " UPDATE models SET weights = x'0102030405', version = 7, trained = 1,"
          "   classes = '[\"x\",\"y\"]', last_job = (SELECT max(id) FROM jobs)"
          "   WHERE name = 'm';"
          " ALTER TABLE metrics DROP COLUMN threads; ALTER TABLE jobs DROP COLUMN memory;"
          " DROP TABLE search_rungs; DROP TABLE search_trials; DROP TABLE searches;"
          " DROP TABLE dataset_pieces;"
          " PRAGMA user_version = 4");
  cr_assert_eq(store_open(path, &st), STORE_OK);
  cr_expect_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
  store_weights w;
  cr_assert_eq(store_model_weights(st, model, 0, &w), STORE_OK);
  cr_expect_eq(w.version, 7);
  cr_assert_eq(w.len, 5);
  cr_expect_eq(memcmp(w.buf, (const uint8_t[]){1, 2, 3, 4, 5}, 5), 0);
  cr_expect_str_eq(w.classes, "[\"x\",\"y\"]");
  store_weights_clear(&w);
  store_model_version *v;
  size_t n;
  cr_assert_eq(store_model_versions(st, model, &v, &n), STORE_OK);
  cr_assert_eq(n, 1);
  cr_expect_eq(v[0].version, 7);
  cr_expect_eq(v[0].job_id, job);
  cr_expect_eq(v[0].epoch, 0, "unknown");
  cr_expect_str_eq(v[0].published_at, "");
  free(v);
  cr_assert_eq(store_model_versions(st, untrained, &v, &n), STORE_OK);
  cr_expect_eq(n, 0);
  free(v);
  /* the blob left the models table */
  sqlite3_stmt *s;
  cr_expect_neq(sqlite3_prepare_v2(st->db, "SELECT weights FROM models", -1, &s, NULL),
                SQLITE_OK);
  sqlite3_finalize(s);
}

/* ---- evaluations --------------------------------------------------------------------- */

static int64_t add_evaluation(int64_t model, int64_t version, const char *result) {
  store_evaluation e = {.model_id = model, .version = version, .dataset_id = 77,
                        .task = STORE_TASK_REGRESSION, .rows = 5,
                        .summary = "{\"rmse\":1}", .result = (char *)result},
                   out;
  cr_assert_eq(store_evaluation_insert(st, &e, &out), STORE_OK);
  cr_expect_null(out.summary);
  cr_expect_null(out.result);
  cr_expect_neq(out.created_at[0], '\0');
  return out.id;
}

Test(store, evaluations_are_kept_per_model_and_go_with_it) {
  int64_t model = add_model("m"), other = add_model("o");
  int64_t a = add_evaluation(model, 1, "{\"mse\":1}"), b = add_evaluation(model, 2, "{}");
  add_evaluation(other, 1, "{}");
  store_evaluation e;
  cr_assert_eq(store_evaluation_get(st, model, a, &e), STORE_OK);
  cr_expect_eq(e.version, 1);
  cr_expect_eq(e.dataset_id, 77);
  cr_expect_eq(e.rows, 5);
  cr_expect_eq(e.task, STORE_TASK_REGRESSION);
  cr_expect_str_eq(e.result, "{\"mse\":1}");
  cr_expect_str_eq(e.summary, "{\"rmse\":1}");
  store_evaluation_clear(&e);
  /* through its own model only */
  cr_expect_eq(store_evaluation_get(st, other, a, &e), STORE_ENOTFOUND);
  store_evaluation *list;
  size_t n;
  cr_assert_eq(store_evaluation_list(st, model, &list, &n), STORE_OK);
  cr_assert_eq(n, 2);
  cr_expect(list[0].id == a && list[1].id == b);
  cr_expect_null(list[0].result); /* lists leave the result out */
  cr_expect_str_eq(list[1].summary, "{\"rmse\":1}");
  store_evaluation_list_free(list, n);
  cr_assert_eq(store_model_delete(st, model), STORE_OK);
  cr_expect_eq(store_evaluation_get(st, model, a, &e), STORE_ENOTFOUND);
  cr_assert_eq(store_evaluation_list(st, model, &list, &n), STORE_OK);
  cr_expect_eq(n, 0);
  store_evaluation_list_free(list, n);
}

Test(store, a_jobs_test_evaluation_is_found_by_its_job_once) {
  int64_t model = add_model("m"), job = add_job(model, add_regression(4, 2, 1));
  store_evaluation e;
  cr_expect_eq(store_evaluation_of_job(st, job, &e), STORE_ENOTFOUND);
  int64_t plain = add_evaluation(model, 1, "{}");
  cr_expect_eq(store_evaluation_of_job(st, job, &e), STORE_ENOTFOUND, "POST evaluate's has none");
  store_evaluation t = {.model_id = model, .version = 1, .dataset_id = 78, .job_id = job,
                        .task = STORE_TASK_REGRESSION, .rows = 3, .summary = "{\"rmse\":2}",
                        .result = "{\"mse\":4}"},
                   out;
  cr_assert_eq(store_evaluation_insert(st, &t, &out), STORE_OK);
  cr_expect_eq(out.job_id, job);
  cr_assert_eq(store_evaluation_of_job(st, job, &e), STORE_OK);
  cr_expect_eq(e.id, out.id);
  cr_expect_eq(e.dataset_id, 78);
  cr_expect_str_eq(e.summary, "{\"rmse\":2}");
  cr_expect_null(e.result);
  store_evaluation_clear(&e);
  cr_assert_eq(store_evaluation_get(st, model, plain, &e), STORE_OK);
  cr_expect_eq(e.job_id, 0, "NULL reads 0");
  store_evaluation_clear(&e);
  /* one per job */
  cr_expect_neq(store_evaluation_insert(st, &t, &out), STORE_OK);
  store_evaluation_clear(&out);
}

Test(store, evaluation_insert_refuses_what_it_cannot_keep) {
  store_evaluation e = {.model_id = 999, .version = 1, .dataset_id = 1,
                        .task = STORE_TASK_CLASSIFICATION, .rows = 1, .summary = "{}",
                        .result = "{}"};
  cr_expect_eq(store_evaluation_insert(st, &e, NULL), STORE_ENOTFOUND); /* no such model */
  e.model_id = add_model("m");
  e.rows = 0;
  cr_expect_eq(store_evaluation_insert(st, &e, NULL), STORE_EINVAL);
  e.rows = 1;
  e.result = NULL;
  cr_expect_eq(store_evaluation_insert(st, &e, NULL), STORE_EINVAL);
  e.result = "{}";
  cr_expect_eq(store_evaluation_insert(st, &e, NULL), STORE_OK);
}

Test(store, upgrading_adds_the_evaluations_table) {
  int64_t model = add_model("m");
  store_close(st);
  st = NULL;
  raw_sql("DROP TABLE prediction_blocks; DROP TABLE predictions; /* 14 */ "
          "ALTER TABLE jobs DROP COLUMN memory; DROP TABLE evaluations;"
          " ALTER TABLE model_versions DROP COLUMN encoding;"
          " DROP TABLE search_rungs; DROP TABLE search_trials; DROP TABLE searches;"
          " DROP TABLE dataset_pieces;"
          " PRAGMA user_version = 6");
  cr_assert_eq(store_open(path, &st), STORE_OK);
  cr_expect_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
  add_evaluation(model, 1, "{}");
}

/* Retention: each write that logs events prunes those past the newest n. */
Test(store, events_past_the_newest_kept_are_pruned) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  store_keep_events(st, 5);
  for (int64_t e = 1; e <= 20; e++) commit_epoch(job, e, NULL, 0, NULL);
  size_t n;
  store_event *ev = events_of(0, 0, &n);
  cr_assert_eq(n, 5);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(ev[i].kind, STORE_EVENT_EPOCH);
    cr_assert_eq(ev[i].epoch, 16 + (int64_t)i, "the newest five remain");
  }
  int64_t newest = ev[n - 1].id;
  store_event_list_free(ev, n);
  /* a reader past a pruned id goes on at the oldest kept */
  ev = events_of(0, newest - 10, &n);
  cr_assert_eq(n, 5);
  store_event_list_free(ev, n);
  cr_assert_eq(store_job_finish(st, job, STORE_JOB_SUCCEEDED, NULL), STORE_OK);
  ev = events_of(job, 0, &n);
  cr_assert_eq(n, 5);
  expect_state(&ev[4], job, STORE_JOB_SUCCEEDED, 20);
  store_event_list_free(ev, n);
}

/* Migration 11 rebuilds the events table for searches' events: the jobs'
 * events stay with their ids, and ids already handed out (here pruned up to
 * 100) are not handed out again. */
Test(store, upgrading_to_search_events_keeps_the_ids_growing) {
  int64_t ds = add_regression(4, 2, 1), model = add_model("m");
  int64_t job = add_job(model, ds);
  claim(st, job);
  commit_epoch(job, 1, NULL, 0, NULL);
  size_t n;
  store_event *before = events_of(job, 0, &n);
  cr_assert_eq(n, 3); /* queued, running, epoch 1 */
  int64_t first = before[0].id, last = before[n - 1].id;
  store_event_list_free(before, n);
  store_close(st);
  st = NULL;
  raw_sql("DROP TABLE prediction_blocks; DROP TABLE predictions; /* 14 */ "
          "CREATE TABLE events_old ("
          "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
          "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
          "  kind TEXT NOT NULL CHECK (kind IN ('state', 'epoch', 'checkpoint')),"
          "  state TEXT, epoch INTEGER NOT NULL, version INTEGER, bytes INTEGER);"
          "INSERT INTO events_old SELECT id, job_id, kind, state, epoch, version, bytes FROM events;"
          "UPDATE sqlite_sequence SET seq = 100 WHERE name = 'events_old';"
          "DROP TABLE events; ALTER TABLE events_old RENAME TO events;"
          /* and undo 12 and 13, which come after */
          "DROP INDEX evaluations_by_job; ALTER TABLE evaluations DROP COLUMN job_id;"
          "DROP TABLE dataset_pieces;"
          "PRAGMA user_version = 10");
  cr_assert_eq(store_open(path, &st), STORE_OK);
  cr_expect_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
  store_event *after = events_of(job, 0, &n);
  cr_assert_eq(n, 3);
  cr_expect(after[0].id == first && after[2].id == last && after[2].kind == STORE_EVENT_EPOCH);
  store_event_list_free(after, n);
  commit_epoch(job, 2, NULL, 0, NULL);
  after = events_of(job, last, &n);
  cr_assert_eq(n, 1);
  cr_expect_eq(after[0].id, 101, "the counter went on from 100, not from %lld", (long long)last);
  store_event_list_free(after, n);
}

/* ---- typed tables in pieces (migration 13) ------------------------------------- */

#define TABLE_BYTES ((size_t)(5 << 19) + 12345) /* 2.5 MiB and some: three pieces */

static uint8_t *table_pattern(void) {
  uint8_t *b = malloc(TABLE_BYTES);
  for (size_t i = 0; i < TABLE_BYTES; i++) b[i] = (uint8_t)(i * 7 + i / 4099);
  return b;
}

/* write_table: the pattern in uneven pieces, as nn_table_save would give them. */
static int write_pattern(void *ud, int (*put)(void *ctx, const void *buf, size_t len), void *ctx) {
  const uint8_t *b = ud;
  for (size_t at = 0, n = 1; at < TABLE_BYTES; at += n, n = n * 3 + 1) {
    if (n > TABLE_BYTES - at) n = TABLE_BYTES - at;
    if (put(ctx, b + at, n) != 0) return -1;
  }
  return 0;
}

static int64_t add_table(const uint8_t *bytes, int written) {
  store_dataset meta = {.name = "t", .rows = 3, .features = 2, .outputs = 1,
                        .task = STORE_TASK_REGRESSION, .table = 1, .target = "y",
                        .rows_without_target = 0, .columns = "[]"};
  store_dataset_data data = {.table_len = TABLE_BYTES};
  if (written) {
    data.write_table = write_pattern;
    data.write_table_ud = (void *)bytes;
  } else {
    data.table = (uint8_t *)bytes;
  }
  store_dataset out;
  cr_assert_eq(store_dataset_insert(st, &meta, &data, &out), STORE_OK);
  int64_t id = out.id;
  store_dataset_clear(&out);
  return id;
}

static void expect_table(int64_t id, const uint8_t *bytes) {
  store_dataset meta;
  store_dataset_data data;
  cr_assert_eq(store_dataset_get_data(st, id, &meta, &data), STORE_OK);
  cr_expect(meta.table);
  cr_assert_eq(data.table_len, TABLE_BYTES);
  cr_expect_eq(memcmp(data.table, bytes, TABLE_BYTES), 0);
  store_dataset_clear(&meta);
  store_dataset_data_clear(&data);
}

Test(store, a_table_is_stored_in_pieces_and_read_back_whole) {
  uint8_t *b = table_pattern();
  int64_t from_buffer = add_table(b, 0), written = add_table(b, 1);
  expect_table(from_buffer, b);
  expect_table(written, b);
  sqlite3 *db;
  sqlite3_stmt *s;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*), max(length(bytes)) FROM dataset_pieces"
                                  " WHERE dataset_id = ?", -1, &s, NULL), SQLITE_OK);
  sqlite3_bind_int64(s, 1, written);
  cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
  cr_expect_eq(sqlite3_column_int(s, 0), 3);          /* 1 MiB, 1 MiB, the rest */
  cr_expect_eq(sqlite3_column_int(s, 1), 1 << 20);
  sqlite3_finalize(s);
  sqlite3_close(db);
  /* deleting the dataset takes its pieces */
  cr_assert_eq(store_dataset_delete(st, written), STORE_OK);
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM dataset_pieces WHERE dataset_id = ?",
                                  -1, &s, NULL), SQLITE_OK);
  sqlite3_bind_int64(s, 1, written);
  cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
  cr_expect_eq(sqlite3_column_int(s, 0), 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  free(b);
}

/* A writer that fails, or gives fewer bytes than it promised, stores nothing. */
static int write_short(void *ud, int (*put)(void *ctx, const void *buf, size_t len), void *ctx) {
  return put(ctx, ud, 10);
}

static int write_failing(void *ud, int (*put)(void *ctx, const void *buf, size_t len), void *ctx) {
  (void)put(ctx, ud, 10);
  return -1;
}

Test(store, a_table_writer_that_fails_stores_nothing) {
  uint8_t *b = table_pattern();
  store_dataset meta = {.name = "t", .rows = 3, .features = 2, .outputs = 1,
                        .task = STORE_TASK_REGRESSION, .table = 1, .target = "y",
                        .rows_without_target = 0, .columns = "[]"};
  store_dataset_data data = {.table_len = TABLE_BYTES, .write_table = write_short,
                             .write_table_ud = b};
  cr_expect_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EINVAL);
  data.write_table = write_failing;
  cr_expect_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EIO);
  data.table = b; /* both a buffer and a writer */
  cr_expect_eq(store_dataset_insert(st, &meta, &data, NULL), STORE_EINVAL);
  store_dataset *list;
  size_t n;
  cr_assert_eq(store_dataset_list(st, &list, &n), STORE_OK);
  cr_expect_eq(n, 0);
  store_dataset_list_free(list, n);
  free(b);
}

/* Tables stored whole in datasets.data before migration 13 move into pieces. */
Test(store, upgrading_moves_a_whole_table_into_pieces) {
  uint8_t *b = table_pattern();
  int64_t id = add_table(b, 1);
  store_close(st);
  st = NULL;
  sqlite3 *db;
  sqlite3_stmt *s;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_prepare_v2(db, "UPDATE datasets SET data = ? WHERE id = ?", -1, &s, NULL),
               SQLITE_OK);
  sqlite3_bind_blob64(s, 1, b, TABLE_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, id);
  cr_assert_eq(sqlite3_step(s), SQLITE_DONE);
  sqlite3_finalize(s);
  sqlite3_close(db);
  raw_sql("DROP TABLE prediction_blocks; DROP TABLE predictions; DROP TABLE dataset_pieces;"
          " PRAGMA user_version = 12");
  cr_assert_eq(store_open(path, &st), STORE_OK);
  cr_expect_eq(store_schema_version(st), STORE_SCHEMA_VERSION);
  expect_table(id, b);
  free(b);
}
