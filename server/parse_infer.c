/* parse_infer.c — Open Inference Protocol inference requests. */
#include "parse_infer.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const request_keys[] = {"id",      "model_name", "parameters",
                                           "inputs", "outputs",    NULL};
static const char *const input_keys[] = {"name",       "shape", "datatype",
                                         "parameters", "data",  NULL};
static const char *const output_keys[] = {"name", "parameters", NULL};

/* The one input and output, as fields name them. */
#define INPUT_PATH "inputs[0]"
#define OUTPUT_PATH "outputs[0]"

/* $parameters: an object of string, number or boolean values. */
static int check_parameters(const cJSON *obj, const char *prefix, api_error *err) {
  char field[PARSE_PATH_MAX];
  parse_json_path(field, sizeof field, prefix, "parameters");
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "parameters");
  if (p == NULL) return 0;
  int rc = parse_json_object(p, field, err);
  for (const cJSON *v = rc == 0 ? p->child : NULL; v != NULL; v = v->next) {
    if (cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v)) continue;
    char member[PARSE_PATH_MAX];
    parse_json_path(member, sizeof member, field, v->string);
    return api_fail(err, API_INVALID_ARGUMENT, member,
                    "%s must be a string, a number or a boolean", member);
  }
  return rc;
}

/* A tensor name that must be want: "inputs[0].name is 'x'; ...". */
static int check_name(const cJSON *obj, const char *prefix, const char *want, const char *what,
                      api_error *err) {
  const char *s = NULL;
  char field[PARSE_PATH_MAX];
  int rc = parse_json_string(obj, prefix, "name", PARSE_REQUIRED, PARSE_PATH_MAX, &s, err);
  if (rc != 0 || strcmp(s, want) == 0) return rc;
  parse_json_path(field, sizeof field, prefix, "name");
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s is '%.40s'; the model's %s is named '%s'",
                  field, s, what, want);
}

static int check_datatype(const cJSON *input, api_error *err) {
  const char *s = NULL;
  const char *field = INPUT_PATH ".datatype";
  int rc = parse_json_string(input, INPUT_PATH, "datatype", PARSE_REQUIRED, PARSE_PATH_MAX, &s,
                             err);
  if (rc != 0 || strcmp(s, PARSE_INFER_DATATYPE) == 0) return rc;
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s is '%.40s'; traind models take %s",
                  field, s, PARSE_INFER_DATATYPE);
}

/* One dimension of the input's shape: an integer in [1, max]. */
static int read_dim(const cJSON *v, int i, size_t max, const char *unit, size_t *out,
                    api_error *err) {
  char field[PARSE_PATH_MAX];
  snprintf(field, sizeof field, INPUT_PATH ".shape[%d]", i);
  double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
  if (!isfinite(d) || floor(d) != d || d < 1 || d > (double)max)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be 1 to %zu %s", field, max, unit);
  *out = (size_t)d;
  return 0;
}

static int check_shape(const cJSON *input, size_t max_rows, parse_infer *out, api_error *err) {
  const char *field = INPUT_PATH ".shape";
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(input, "shape");
  if (shape == NULL) return api_fail(err, API_INVALID_ARGUMENT, field, "%s is required", field);
  if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != 2)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s must be [rows, features]: the model's input has 2 dimensions", field);
  int rc = read_dim(shape->child, 0, max_rows, "rows", &out->rows, err);
  if (rc == 0) rc = read_dim(shape->child->next, 1, NN_MAX_UNITS, "features", &out->features, err);
  return rc;
}

/* Depth-first over (nested) data: count the numbers, failing on the first
 * value that is not a finite float. index[] holds the position at each
 * level, to name that value; the depth is bounded by parse_json_body's. */
typedef struct {
  size_t count;
  size_t index[PARSE_JSON_MAX_DEPTH + 1];
  const char *field; /* "inputs[0].data" */
} walk;

static int walk_fail(const walk *w, int depth, api_error *err) {
  char field[PARSE_PATH_MAX];
  size_t used = (size_t)snprintf(field, sizeof field, "%s", w->field);
  for (int i = 0; i <= depth && used < sizeof field; i++)
    used += (size_t)snprintf(field + used, sizeof field - used, "[%zu]", w->index[i]);
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be a number within float range",
                  field);
}

static int walk_data(const cJSON *arr, int depth, walk *w, api_error *err) {
  w->index[depth] = 0;
  for (const cJSON *v = arr->child; v != NULL; v = v->next, w->index[depth]++) {
    if (cJSON_IsArray(v)) {
      if (depth == PARSE_JSON_MAX_DEPTH) return walk_fail(w, depth, err);
      int rc = walk_data(v, depth + 1, w, err);
      if (rc != 0) return rc;
      continue;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(d) || fabs(d) > FLT_MAX) return walk_fail(w, depth, err);
    w->count++;
  }
  return 0;
}

/* "Tensor Data" has two forms: flat, or nested as the shape (one array of
 * `features` numbers per row). Other nestings that hold as many numbers, as
 * [[0,1,2],[3]] for [2,2], are refused: they say another shape. walk_data
 * has checked every number and their count. */
static int check_nesting(const cJSON *data, const parse_infer *out, api_error *err) {
  const char *field = INPUT_PATH ".data";
  size_t n = 0;
  int flat = 1;
  for (const cJSON *v = data->child; v != NULL; v = v->next, n++)
    if (cJSON_IsArray(v)) flat = 0;
  if (flat) return 0;
  if (n != out->rows)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s has %zu elements where shape [%zu, %zu] has %zu rows (nest the data as "
                    "the shape, or give it flat)",
                    field, n, out->rows, out->features, out->rows);
  size_t i = 0;
  for (const cJSON *row = data->child; row != NULL; row = row->next, i++) {
    size_t m = 0;
    int numbers = cJSON_IsArray(row);
    for (const cJSON *v = numbers ? row->child : NULL; v != NULL; v = v->next, m++)
      if (cJSON_IsArray(v)) numbers = 0;
    if (numbers && m == out->features) continue;
    char at[PARSE_PATH_MAX];
    snprintf(at, sizeof at, "%s[%zu]", field, i);
    return api_fail(err, API_INVALID_ARGUMENT, at,
                    "%s must be a row of %zu numbers, as shape [%zu, %zu] says (or give the "
                    "data flat)",
                    at, out->features, out->rows, out->features);
  }
  return 0;
}

static int check_data(const cJSON *input, parse_infer *out, api_error *err) {
  const char *field = INPUT_PATH ".data";
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(input, "data");
  if (data == NULL) return api_fail(err, API_INVALID_ARGUMENT, field, "%s is required", field);
  if (!cJSON_IsArray(data))
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be an array of numbers", field);
  walk w = {.count = 0, .field = field};
  int rc = walk_data(data, 0, &w, err);
  if (rc != 0) return rc;
  /* rows <= max_rows and features <= NN_MAX_UNITS: the product fits size_t. */
  size_t want = out->rows * out->features;
  if (w.count != want)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s holds %zu numbers; shape [%zu, %zu] needs %zu", field, w.count,
                    out->rows, out->features, want);
  rc = check_nesting(data, out, err);
  if (rc == 0) out->data = data;
  return rc;
}

static int check_input(const cJSON *root, size_t max_rows, parse_infer *out, api_error *err) {
  const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
  if (inputs == NULL) return api_fail(err, API_INVALID_ARGUMENT, "inputs", "inputs is required");
  if (!cJSON_IsArray(inputs) || cJSON_GetArraySize(inputs) != 1)
    return api_fail(err, API_INVALID_ARGUMENT, "inputs",
                    "inputs must hold exactly one tensor: the model has one input, '%s'",
                    PARSE_INFER_INPUT);
  const cJSON *input = inputs->child;
  int rc = parse_json_object(input, INPUT_PATH, err);
  if (rc == 0) rc = parse_json_known_keys(input, INPUT_PATH, input_keys, err);
  if (rc == 0) rc = check_name(input, INPUT_PATH, PARSE_INFER_INPUT, "input", err);
  if (rc == 0) rc = check_datatype(input, err);
  if (rc == 0) rc = check_parameters(input, INPUT_PATH, err);
  if (rc == 0) rc = check_shape(input, max_rows, out, err);
  if (rc == 0) rc = check_data(input, out, err);
  return rc;
}

/* "outputs", when given: the one output, by name. */
static int check_outputs(const cJSON *root, api_error *err) {
  const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(root, "outputs");
  if (outputs == NULL) return 0;
  if (!cJSON_IsArray(outputs) || cJSON_GetArraySize(outputs) != 1)
    return api_fail(err, API_INVALID_ARGUMENT, "outputs",
                    "outputs, when given, must name exactly one tensor: the model has one "
                    "output, '%s'",
                    PARSE_INFER_OUTPUT);
  const cJSON *output = outputs->child;
  int rc = parse_json_object(output, OUTPUT_PATH, err);
  if (rc == 0) rc = parse_json_known_keys(output, OUTPUT_PATH, output_keys, err);
  if (rc == 0) rc = check_name(output, OUTPUT_PATH, PARSE_INFER_OUTPUT, "output", err);
  if (rc == 0) rc = check_parameters(output, OUTPUT_PATH, err);
  return rc;
}

int parse_infer_request(const cJSON *root, size_t max_rows, parse_infer *out, api_error *err) {
  memset(out, 0, sizeof *out);
  int rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, request_keys, err);
  if (rc != 0) return rc;
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
  if (id != NULL && !cJSON_IsString(id))
    return api_fail(err, API_INVALID_ARGUMENT, "id", "id must be a string");
  rc = parse_json_string(root, NULL, "model_name", PARSE_OPTIONAL, PARSE_NAME_MAX,
                         &out->model_name, err);
  if (rc == 0) rc = check_parameters(root, NULL, err);
  if (rc == 0) rc = check_input(root, max_rows, out, err);
  if (rc == 0) rc = check_outputs(root, err);
  if (rc != 0) return rc;
  out->id = id != NULL ? id->valuestring : NULL;
  return 0;
}

/* Numbers of arr, depth-first, into x from *n on. */
static void copy_data(const cJSON *arr, float *x, size_t *n) {
  for (const cJSON *v = arr->child; v != NULL; v = v->next) {
    if (cJSON_IsArray(v))
      copy_data(v, x, n);
    else
      x[(*n)++] = (float)v->valuedouble;
  }
}

void parse_infer_copy(const parse_infer *req, float *x) {
  size_t n = 0;
  copy_data(req->data, x, &n);
}
