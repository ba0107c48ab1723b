/*
 * onnx_table.c — a table model's columns in its ONNX graph (onnx_graph.h,
 * docs/onnx.md): each read from an (N, 1) input named as the column and
 * encoded as core/encode_apply.c encodes a record. Numbers stay double
 * until the one rounding to float core makes, so the features ONNX Runtime
 * computes are traind's bit for bit (docs/onnx.md says why this takes Sub
 * and Div in double rather than ai.onnx.ml's float Imputer and Scaler);
 * categories go through ai.onnx.ml's LabelEncoder and OneHotEncoder; a
 * datetime's calendar parts are core's integer arithmetic in doubles.
 * Costs: a few nodes a column (about 100 for a datetime), and the kept
 * categories once more as the LabelEncoder's keys (pointing into the
 * encoder, which outlives the export).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "onnx_graph.h"

/* at most 6 nodes and 3 initializers a number or category column, 1 value
 * type (OneHotEncoder's) */
#define COLUMN_NODES 6
#define COLUMN_INITS 3
#define DATETIME_NODES 128 /* the calendar in arithmetic: about 100 */
#define DATETIME_INITS 64
#define DATETIME_PIECES 10 /* 9 cyclic outputs and the indicator */

void onnx_table_capacity(const nn_encoder *e, size_t *nodes, size_t *inits, size_t *infos) {
  int cols = nn_encoder_columns(e);
  *nodes = 1; /* Concat */
  *inits = 0;
  *infos = (size_t)cols;
  for (int i = 0; i < cols; i++) {
    nn_encoder_column_info c;
    int dt = nn_encoder_column(e, i, &c) == NN_OK && c.type == NN_COL_DATETIME;
    *nodes += dt ? DATETIME_NODES : COLUMN_NODES;
    *inits += dt ? DATETIME_INITS : COLUMN_INITS;
  }
}

/* "col<i>.<what>": the values of input column i. */
static char *col_value(onnx_arena *a, int i, const char *what) {
  char buf[64];
  snprintf(buf, sizeof buf, "col%d.%s", i, what);
  return onnx_str(a, buf);
}

/* A number, integer or boolean column: (N, 1) double, NaN where missing;
 * z = (isnan(x) ? fill : x - mean) / scale in double, then Cast to float,
 * as core's put_number; the indicator is isnan(x) as 0/1.
 * @return the number of pieces (float (N, 1) values) written to piece */
static int number_column(onnx_graph *g, int i, const nn_encoder_column_info *c,
                         const char **piece) {
  onnx_arena *a = g->a;
  const char *x = c->name, *missing = col_value(a, i, "missing");
  const char *fill = onnx_init(g, onnx_tensor_f64(a, col_value(a, i, "fill"), c->fill[0]));
  const char *mean = onnx_init(g, onnx_tensor_f64(a, col_value(a, i, "mean"), c->mean[0]));
  const char *scale = onnx_init(g, onnx_tensor_f64(a, col_value(a, i, "scale"), c->scale[0]));
  const char *imputed = col_value(a, i, "imputed"), *centered = col_value(a, i, "centered");
  const char *scaled = col_value(a, i, "scaled");
  onnx_node(g, "IsNaN", NULL, x, NULL, NULL, missing, NULL, NULL);
  onnx_node(g, "Where", NULL, missing, fill, x, imputed, NULL, NULL);
  onnx_node(g, "Sub", NULL, imputed, mean, NULL, centered, NULL, NULL); /* x - mean */
  onnx_node(g, "Div", NULL, centered, scale, NULL, scaled, NULL, NULL); /* (x - mean) / scale */
  piece[0] = col_value(a, i, "value");
  onnx_node(g, "Cast", NULL, scaled, NULL, NULL, piece[0], onnx_attr_int(a, "to", ONNX_FLOAT),
            NULL);
  if (!c->missing_indicator) return 1;
  piece[1] = col_value(a, i, "indicator");
  onnx_node(g, "Cast", NULL, missing, NULL, NULL, piece[1], onnx_attr_int(a, "to", ONNX_FLOAT),
            NULL);
  return 2;
}

/* A category column: (N, 1) string. LabelEncoder maps kept category k to
 * k, the table's missing markers and "" to -1 (missing), any other text to
 * the other slot n; OneHotEncoder over 0..n (zeros = 1: -1 sets nothing)
 * then gives core's put_category, Squeezed from (N, 1, n + 1) to (N, n + 1).
 * @return the number of pieces written to piece */
static int category_column(onnx_graph *g, const nn_encoder *e, int i,
                           const nn_encoder_column_info *c, const char **piece) {
  onnx_arena *a = g->a;
  int n = c->n_categories, n_keys = 0, markers = 0;
  while (nn_encoder_missing_marker(e, markers) != NULL) markers++;
  size_t cap = (size_t)n + (size_t)markers + 1;
  ProtobufCBinaryData *keys = onnx_alloc(a, cap * sizeof *keys);
  int64_t *values = onnx_alloc(a, cap * sizeof *values);
  int64_t *slots = onnx_alloc(a, ((size_t)n + 1) * sizeof *slots);
  if (keys == NULL || values == NULL || slots == NULL) return 0;
  /* "" and the markers first: a record's cell equal to one is missing
   * before it is looked up, so a category of the same text is never set.
   * The kept categories are distinct (a dictionary): a text is compared
   * with those keys alone */
  int missing_keys = 0;
  for (int k = -1; k < markers + n; k++) {
    const char *text = k < 0         ? ""
                       : k < markers ? nn_encoder_missing_marker(e, k)
                                     : nn_encoder_category(e, i, k - markers);
    int dup = 0;
    for (int j = 0; j < missing_keys && !dup; j++)
      dup = keys[j].len == strlen(text) && memcmp(keys[j].data, text, keys[j].len) == 0;
    if (dup) continue;
    if (k < markers) missing_keys++;
    keys[n_keys].data = (uint8_t *)text; /* the encoder outlives the export */
    keys[n_keys].len = strlen(text);
    values[n_keys++] = k < markers ? -1 : k - markers;
  }
  for (int k = 0; k <= n; k++) slots[k] = k;
  Onnx__AttributeProto *ks =
      onnx_attr(a, "keys_strings", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  if (ks == NULL) return 0;
  ks->n_strings = (size_t)n_keys;
  ks->strings = keys;
  Onnx__AttributeProto *le[3] = {ks, onnx_attr_ints(a, "values_int64s", values, (size_t)n_keys),
                                 onnx_attr_int(a, "default_int64", n)};
  Onnx__AttributeProto *oh[2] = {onnx_attr_ints(a, "cats_int64s", slots, (size_t)n + 1),
                                 onnx_attr_int(a, "zeros", 1)};
  const char *x = c->name, *index = col_value(a, i, "index"), *hot = col_value(a, i, "onehot");
  onnx_node_v(g, "LabelEncoder", "ai.onnx.ml", &x, 1, index, le, 3);
  onnx_node_v(g, "OneHotEncoder", "ai.onnx.ml", &index, 1, hot, oh, 2);
  /* onnx's shape inference has no rule for OneHotEncoder: its type is told */
  Onnx__ValueInfoProto *info = onnx_value3(a, hot, ONNX_FLOAT, 1, (int64_t)n + 1);
  if (info == NULL || g->n_infos == g->cap_infos)
    a->failed = 1;
  else
    g->infos[g->n_infos++] = info;
  piece[0] = col_value(a, i, "value");
  onnx_node(g, "Squeeze", NULL, hot, onnx_axis1(g), NULL, piece[0], NULL, NULL);
  if (!c->missing_indicator) return 1;
  static const int64_t minus_one[1] = {-1};
  const char *missing = col_value(a, i, "missing");
  const char *m1 = onnx_init(g, onnx_tensor_i64(a, col_value(a, i, "missing_code"), minus_one, 1));
  piece[1] = col_value(a, i, "indicator");
  onnx_node(g, "Equal", NULL, index, m1, NULL, missing, NULL, NULL);
  onnx_node(g, "Cast", NULL, missing, NULL, NULL, piece[1], onnx_attr_int(a, "to", ONNX_FLOAT),
            NULL);
  return 2;
}

/* Arithmetic on the (N, 1) doubles of datetime column col: each result a
 * new value "col<i>.t<k>", each constant a new double initializer. */
typedef struct {
  onnx_graph *g;
  int col, k;
} calc;

static const char *calc_name(calc *c, const char *kind) {
  char buf[64];
  snprintf(buf, sizeof buf, "col%d.%s%d", c->col, kind, c->k++);
  return onnx_str(c->g->a, buf);
}

static const char *constant(calc *c, double v) {
  return onnx_init(c->g, onnx_tensor_f64(c->g->a, calc_name(c, "k"), v));
}

/* op(x[, y]) */
static const char *op2(calc *c, const char *op, const char *x, const char *y) {
  const char *out = calc_name(c, "t");
  onnx_node(c->g, op, NULL, x, y, NULL, out, NULL, NULL);
  return out;
}

static const char *opk(calc *c, const char *op, const char *x, double v) {
  return op2(c, op, x, constant(c, v));
}

/* floor(x / d): core's integer division of non-negative values, and its
 * floor division of the others; exact on the integers of the years 0-9999 */
static const char *fdiv(calc *c, const char *x, double d) {
  return op2(c, "Floor", opk(c, "Div", x, d), NULL);
}

static const char *to_float(calc *c, const char *x) {
  const char *out = calc_name(c, "f");
  onnx_node(c->g, "Cast", NULL, x, NULL, NULL, out, onnx_attr_int(c->g->a, "to", ONNX_FLOAT), NULL);
  return out;
}

/* A datetime column: (N, 1) double seconds since 1970-01-01 UTC, NaN where
 * missing. Its parts as core's nn__datetime_parts computes them (Howard
 * Hinnant's civil_from_days and days_from_civil, core/cell.c, in doubles
 * that hold every integer they meet exactly), imputed with the fill of
 * each part where missing, then standardized, or for the cyclic parts sin
 * and cos of 2 pi v / period, as core's put_datetime.
 * @return the number of pieces written to piece */
static int datetime_column(onnx_graph *g, int i, const nn_encoder_column_info *c,
                           const char **piece) {
  static const double period[5] = {0, 12, 7, 366, 24};
  calc k = {g, i, 0};
  const char *s = c->name, *missing = col_value(g->a, i, "missing");
  int n = 0;
  onnx_node(g, "IsNaN", NULL, s, NULL, NULL, missing, NULL, NULL);
  const char *day = fdiv(&k, s, 86400); /* floor(seconds / 86400) */
  /* civil_from_days(day) */
  const char *z = opk(&k, "Add", day, 719468);
  const char *era = fdiv(&k, z, 146097);
  const char *doe = op2(&k, "Sub", z, opk(&k, "Mul", era, 146097));
  const char *yoe = fdiv(
      &k,
      op2(&k, "Sub", op2(&k, "Add", op2(&k, "Sub", doe, fdiv(&k, doe, 1460)), fdiv(&k, doe, 36524)),
          fdiv(&k, doe, 146096)),
      365);
  const char *doy = op2(&k, "Sub", doe,
                        op2(&k, "Sub", op2(&k, "Add", opk(&k, "Mul", yoe, 365), fdiv(&k, yoe, 4)),
                            fdiv(&k, yoe, 100)));
  const char *mp = fdiv(&k, opk(&k, "Add", opk(&k, "Mul", doy, 5), 2), 153);
  /* m = mp < 10 ? mp + 3 : mp - 9 */
  const char *month = op2(&k, "Sub", opk(&k, "Add", mp, 3), opk(&k, "Mul", fdiv(&k, mp, 10), 12));
  /* y = yoe + era 400 + (m <= 2), m <= 2 being floor((14 - m) / 12) */
  const char *year = op2(&k, "Add", op2(&k, "Add", yoe, opk(&k, "Mul", era, 400)),
                         fdiv(&k, op2(&k, "Sub", constant(&k, 14), month), 12));
  /* day of week: (day + 3) mod 7, 1970-01-01 a Thursday */
  const char *d3 = opk(&k, "Add", day, 3);
  const char *dow = op2(&k, "Sub", d3, opk(&k, "Mul", fdiv(&k, d3, 7), 7));
  /* day of year: day - days_from_civil(y, 1, 1) + 1; January 1 is day 306 of
   * the March-based year y - 1 */
  const char *yb = opk(&k, "Sub", year, 1);
  const char *era1 = fdiv(&k, yb, 400);
  const char *yoe1 = op2(&k, "Sub", yb, opk(&k, "Mul", era1, 400));
  const char *doe1 =
      opk(&k, "Add",
          op2(&k, "Sub", op2(&k, "Add", opk(&k, "Mul", yoe1, 365), fdiv(&k, yoe1, 4)),
              fdiv(&k, yoe1, 100)),
          306);
  const char *jan1 = opk(&k, "Sub", op2(&k, "Add", opk(&k, "Mul", era1, 146097), doe1), 719468);
  const char *yday = opk(&k, "Add", op2(&k, "Sub", day, jan1), 1);
  /* hour: floor((seconds - day 86400) / 3600) */
  const char *hour = fdiv(&k, op2(&k, "Sub", s, opk(&k, "Mul", day, 86400)), 3600);
  const char *parts[5] = {year, month, dow, yday, hour};
  for (int p = 0; p < 5; p++) {
    const char *v = calc_name(&k, "t");
    onnx_node(g, "Where", NULL, missing, constant(&k, c->fill[p]), parts[p], v, NULL, NULL);
    if (c->cyclic && p > 0) { /* (sin, cos) of the angle 2 pi v / period */
      const char *angle = opk(&k, "Div", opk(&k, "Mul", v, 6.283185307179586), period[p]);
      piece[n++] = to_float(&k, op2(&k, "Sin", angle, NULL));
      piece[n++] = to_float(&k, op2(&k, "Cos", angle, NULL));
    } else { /* (v - mean) / scale */
      piece[n++] = to_float(&k, opk(&k, "Div", opk(&k, "Sub", v, c->mean[p]), c->scale[p]));
    }
  }
  if (c->missing_indicator) piece[n++] = to_float(&k, missing);
  return n;
}

/* Every column encoded, then Concat along axis 1 into "features" (N, width).
 * @return "features" */
const char *onnx_table_features(onnx_graph *g, const nn_encoder *e) {
  onnx_arena *a = g->a;
  int cols = nn_encoder_columns(e), n = 0;
  const char **pieces = onnx_alloc(a, DATETIME_PIECES * (size_t)cols * sizeof *pieces);
  if (pieces == NULL) return NULL;
  for (int i = 0; i < cols; i++) {
    nn_encoder_column_info c;
    if (nn_encoder_column(e, i, &c) != NN_OK) {
      a->failed = 1;
      return NULL;
    }
    n += c.type == NN_COL_CATEGORY   ? category_column(g, e, i, &c, pieces + n)
         : c.type == NN_COL_DATETIME ? datetime_column(g, i, &c, pieces + n)
                                     : number_column(g, i, &c, pieces + n);
  }
  Onnx__AttributeProto *axis = onnx_attr_int(a, "axis", 1);
  onnx_node_v(g, "Concat", NULL, pieces, (size_t)n, "features", &axis, 1);
  return "features";
}

/* A regression on a table answers in the target's units: the network's
 * (N, outputs) float as double, times scale plus mean, as
 * nn_encoder_unscale; "output" is double. */
void onnx_table_unscale(onnx_graph *g, const char *scaled, double mean, double scale) {
  const char *m = onnx_init(g, onnx_tensor_f64(g->a, "target_mean", mean));
  const char *sc = onnx_init(g, onnx_tensor_f64(g->a, "target_scale", scale));
  onnx_node(g, "Cast", NULL, scaled, NULL, NULL, "scaled_output_f64",
            onnx_attr_int(g->a, "to", ONNX_DOUBLE), NULL);
  onnx_node(g, "Mul", NULL, "scaled_output_f64", sc, NULL, "unscaled_output", NULL, NULL);
  onnx_node(g, "Add", NULL, "unscaled_output", m, NULL, "output", NULL, NULL); /* z scale + mean */
}

/* A value of the graph named as an input column would be two values of one
 * name. @return 0 or -API_UNPROCESSABLE naming the column */
int onnx_table_names_distinct(const onnx_graph *g, const onnx_export_in *in, api_error *err) {
  for (size_t i = 0; i < g->n_nodes + g->n_inits; i++) {
    const char *v = i < g->n_nodes ? g->nodes[i]->output[0] : g->inits[i - g->n_nodes]->name;
    if (nn_encoder_find(in->encoder, v, strlen(v)) >= 0)
      return api_fail(err, API_UNPROCESSABLE, "id",
                      "model %lld cannot be exported to ONNX: its input column %s has the name "
                      "of a value of the graph; rename the column",
                      (long long)in->model_id, v);
  }
  return 0;
}

/* Metadata "columns": [{"name","type","input"}] in the graph's input order. */
char *onnx_table_columns_json(const nn_encoder *e) {
  cJSON *arr = cJSON_CreateArray();
  for (int i = 0; arr != NULL && i < nn_encoder_columns(e); i++) {
    nn_encoder_column_info c;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || nn_encoder_column(e, i, &c) != NN_OK || !cJSON_AddItemToArray(arr, o) ||
        cJSON_AddStringToObject(o, "name", c.name) == NULL ||
        cJSON_AddStringToObject(o, "type", nn_name(NN_NAMES_COLUMN_TYPE, c.type)) == NULL ||
        cJSON_AddStringToObject(o, "input", c.type == NN_COL_CATEGORY ? "string" : "double") ==
            NULL) {
      cJSON_Delete(arr);
      return NULL;
    }
  }
  char *text = arr != NULL ? cJSON_PrintUnformatted(arr) : NULL;
  cJSON_Delete(arr);
  return text;
}
