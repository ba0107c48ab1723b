/* test_parse_infer.c — Open Inference Protocol inference requests: the
 * protocol's documented forms are accepted, and every error names its field.
 *
 * The documented request and data forms are those of the protocol's REST
 * specification (kserve/kserve docs/predict-api/v2/required_api.md, "Inference
 * Request JSON Object", "Tensor Data"; the same text is
 * specification/protocol/inference_rest.md in kserve/open-inference-protocol). */
#include <criterion/criterion.h>
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "../../server/parse_infer.h"

#define MAX_ROWS 8

static cJSON *doc(const char *s) {
  cJSON *root = NULL;
  api_error err = {0};
  cr_assert_eq(parse_json_body(s, strlen(s), &root, &err), 0, "%s: %s", s, err.message);
  return root;
}

/* s parses as [rows, features]; x receives its data. */
static parse_infer accepts(const char *s, size_t rows, size_t features, float *x) {
  cJSON *root = doc(s);
  parse_infer in;
  api_error err = {0};
  cr_assert_eq(parse_infer_request(root, MAX_ROWS, &in, &err), 0, "%s: %s (%s)", s, err.message,
               err.field);
  cr_expect_eq(in.rows, rows, "%s", s);
  cr_expect_eq(in.features, features, "%s", s);
  if (x != NULL) parse_infer_copy(&in, x);
  cJSON_Delete(root);
  in.id = NULL; /* it pointed into the freed tree */
  in.data = NULL;
  return in;
}

/* s is refused, naming field; the message says `says`. */
static void refuses(const char *s, const char *field, const char *says) {
  cJSON *root = doc(s);
  parse_infer in;
  api_error err = {0};
  cr_assert_eq(parse_infer_request(root, MAX_ROWS, &in, &err), -API_INVALID_ARGUMENT,
               "%s was accepted", s);
  cr_expect_eq(err.code, API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, field, "%s: %s", s, err.message);
  cr_expect(strstr(err.message, says) != NULL, "%s: '%s' lacks '%s'", s, err.message, says);
  cJSON_Delete(root);
}

/* A request with one input, after `before` members ("" or "\"id\":1,"). */
#define REQUEST(before, shape, data)                                                 \
  "{" before "\"inputs\":[{\"name\":\"input\",\"shape\":" shape ",\"datatype\":\"FP32\"," \
  "\"data\":" data "}]}"
#define INPUT(shape, data) REQUEST("", shape, data)

Test(parse_infer, flat_and_nested_data_read_the_same) {
  /* "Tensor Data": [[1,2],[4,5]] in its natural form or flattened. */
  float a[4], b[4];
  accepts(INPUT("[2,2]", "[[1,2],[4,5]]"), 2, 2, a);
  accepts(INPUT("[2,2]", "[1,2,4,5]"), 2, 2, b);
  const float want[4] = {1, 2, 4, 5};
  cr_expect_arr_eq(a, want, sizeof want);
  cr_expect_arr_eq(b, want, sizeof want);
  float c[6];
  accepts(INPUT("[2,3]", "[[1,2,3],[4,5,6]]"), 2, 3, c);
  const float want6[6] = {1, 2, 3, 4, 5, 6};
  cr_expect_arr_eq(c, want6, sizeof want6);
}

/* Found by outside testing: any nesting holding as many numbers as the shape
 * was read row-major, so [[0,1,2],[3]] passed for [2,2]. The protocol knows
 * two forms only: nested as the shape, or flat. */
Test(parse_infer, nesting_must_follow_the_shape) {
  refuses(INPUT("[2,2]", "[[0,1,2],[3]]"), "inputs[0].data[0]", "a row of 2 numbers");
  refuses(INPUT("[2,2]", "[[0,1],[2],[3]]"), "inputs[0].data", "3 elements where shape [2, 2] has 2 rows");
  refuses(INPUT("[2,2]", "[[0,1,2,3]]"), "inputs[0].data", "1 elements where shape [2, 2] has 2 rows");
  refuses(INPUT("[2,2]", "[0,1,[2,3]]"), "inputs[0].data", "3 elements where shape [2, 2]");
  refuses(INPUT("[2,2]", "[0,[1,2],3]"), "inputs[0].data", "3 elements where shape [2, 2]");
  refuses(INPUT("[2,2]", "[[0,1],2,3]"), "inputs[0].data", "3 elements where shape [2, 2]");
  refuses(INPUT("[2,1]", "[[0],1]"), "inputs[0].data[1]", "a row of 1 numbers");
  refuses(INPUT("[2,2]", "[[0,1],[2,[3]]]"), "inputs[0].data[1]", "a row of 2 numbers");
  refuses(INPUT("[2,3]", "[[[1],[2,3]],[],[4,[5,[6]]]]"), "inputs[0].data", "3 elements");
  refuses(INPUT("[2,3]", "[[[1,2,3]],[[4,5,6]]]"), "inputs[0].data[0]", "a row of 3 numbers");
  refuses(INPUT("[1,2]", "[[[0,1]]]"), "inputs[0].data[0]", "a row of 2 numbers");
  /* One row: [[a,b]] is nested as the shape, [a,b] flat; both are fine. */
  accepts(INPUT("[1,2]", "[[0,1]]"), 1, 2, NULL);
  accepts(INPUT("[1,2]", "[0,1]"), 1, 2, NULL);
}

Test(parse_infer, the_documented_request_shape) {
  /* The specification's example, with traind's tensor names and FP32: an
   * "id", request "parameters" and the requested "outputs". */
  const char *s = "{\"id\":\"42\",\"parameters\":{\"a\":1,\"b\":\"x\",\"c\":true},"
                  "\"inputs\":[{\"name\":\"input\",\"shape\":[2,2],\"datatype\":\"FP32\","
                  "\"parameters\":{},\"data\":[1,2,3,4]}],"
                  "\"outputs\":[{\"name\":\"output\",\"parameters\":{\"binary_data\":false}}]}";
  cJSON *root = doc(s);
  parse_infer in;
  api_error err = {0};
  cr_assert_eq(parse_infer_request(root, MAX_ROWS, &in, &err), 0, "%s", err.message);
  cr_expect_str_eq(in.id, "42");
  cr_expect_eq(in.rows, 2);
  cJSON_Delete(root);
  root = doc(INPUT("[1,1]", "[0.5]"));
  cr_assert_eq(parse_infer_request(root, MAX_ROWS, &in, &err), 0);
  cr_expect_null(in.id, "no id, none to echo");
  cJSON_Delete(root);
}

Test(parse_infer, floats_extremes_are_kept) {
  float x[3];
  char s[256];
  snprintf(s, sizeof s, INPUT("[1,3]", "[%.17g,%.17g,-0.0]"), (double)FLT_MAX, (double)-FLT_MIN);
  accepts(s, 1, 3, x);
  cr_expect_eq(x[0], FLT_MAX);
  cr_expect_eq(x[1], -FLT_MIN);
}

Test(parse_infer, request_errors) {
  refuses("[]", "", "object");
  refuses("{\"inputs\":[],\"extra\":1}", "extra", "unknown field");
  refuses(REQUEST("\"id\":42,", "[1,1]", "[1]"), "id", "string");
  refuses("{}", "inputs", "required");
  refuses("{\"inputs\":{}}", "inputs", "exactly one tensor");
  refuses("{\"inputs\":[]}", "inputs", "exactly one tensor");
  refuses(REQUEST("\"parameters\":[],", "[1,1]", "[1]"), "parameters", "object");
  refuses(REQUEST("\"parameters\":{\"p\":[1]},", "[1,1]", "[1]"), "parameters.p",
          "string, a number or a boolean");
}

Test(parse_infer, input_errors) {
  refuses("{\"inputs\":[1]}", "inputs[0]", "object");
  refuses("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1],\"datatype\":\"FP32\",\"data\":[1],"
          "\"contents\":{}}]}",
          "inputs[0].contents", "unknown field");
  refuses("{\"inputs\":[{\"shape\":[1,1],\"datatype\":\"FP32\",\"data\":[1]}]}", "inputs[0].name",
          "required");
  refuses("{\"inputs\":[{\"name\":\"input0\",\"shape\":[1,1],\"datatype\":\"FP32\",\"data\":[1]}]}",
          "inputs[0].name", "named 'input'");
  refuses("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1],\"data\":[1]}]}", "inputs[0].datatype",
          "required");
  /* The documented example's UINT32 and BOOL: traind models take FP32 only. */
  refuses("{\"inputs\":[{\"name\":\"input\",\"shape\":[2,2],\"datatype\":\"UINT32\","
          "\"data\":[1,2,3,4]}]}",
          "inputs[0].datatype", "take FP32");
  refuses("{\"inputs\":[{\"name\":\"input\",\"shape\":[3],\"datatype\":\"BOOL\",\"data\":[true]}]}",
          "inputs[0].datatype", "take FP32");
  refuses("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1],\"datatype\":\"fp32\",\"data\":[1]}]}",
          "inputs[0].datatype", "take FP32"); /* strings are case-sensitive */
  refuses("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1],\"datatype\":\"FP32\","
          "\"parameters\":1,\"data\":[1]}]}",
          "inputs[0].parameters", "object");
}

Test(parse_infer, shape_errors) {
  refuses("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"data\":[1]}]}",
          "inputs[0].shape", "required");
  refuses(INPUT("[4]", "[1,2,3,4]"), "inputs[0].shape", "[rows, features]");
  refuses(INPUT("[1,2,2]", "[1,2,3,4]"), "inputs[0].shape", "[rows, features]");
  refuses(INPUT("\"2x2\"", "[1,2,3,4]"), "inputs[0].shape", "[rows, features]");
  refuses(INPUT("[0,2]", "[]"), "inputs[0].shape[0]", "1 to 8 rows");
  refuses(INPUT("[9,1]", "[1,2,3,4,5,6,7,8,9]"), "inputs[0].shape[0]", "1 to 8 rows");
  refuses(INPUT("[-1,2]", "[1,2]"), "inputs[0].shape[0]", "rows");
  refuses(INPUT("[1.5,2]", "[1,2]"), "inputs[0].shape[0]", "rows");
  refuses(INPUT("[1,0]", "[]"), "inputs[0].shape[1]", "features");
  refuses(INPUT("[1,\"2\"]", "[1,2]"), "inputs[0].shape[1]", "features");
  refuses(INPUT("[1,1e300]", "[1]"), "inputs[0].shape[1]", "features");
}

Test(parse_infer, data_errors) {
  refuses("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1],\"datatype\":\"FP32\"}]}",
          "inputs[0].data", "required");
  refuses(INPUT("[1,1]", "1"), "inputs[0].data", "array");
  refuses(INPUT("[2,2]", "[1,2,3]"), "inputs[0].data", "holds 3 numbers; shape [2, 2] needs 4");
  refuses(INPUT("[2,2]", "[[1,2],[3,4],[5]]"), "inputs[0].data", "holds 5 numbers");
  refuses(INPUT("[2,2]", "[[1,2],[3,\"4\"]]"), "inputs[0].data[1][1]", "number");
  refuses(INPUT("[1,2]", "[true,1]"), "inputs[0].data[0]", "number");
  refuses(INPUT("[1,2]", "[null,1]"), "inputs[0].data[0]", "number");
  refuses(INPUT("[1,2]", "[1,{}]"), "inputs[0].data[1]", "number");
  refuses(INPUT("[1,2]", "[1,1e39]"), "inputs[0].data[1]", "float range");
  refuses(INPUT("[1,2]", "[[0,[1e999]]]"), "inputs[0].data[0][1][0]", "float range");
}

Test(parse_infer, output_errors) {
  const char *in = "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1],\"datatype\":\"FP32\","
                   "\"data\":[1]}],";
  char s[512];
  snprintf(s, sizeof s, "%s\"outputs\":{}}", in);
  refuses(s, "outputs", "exactly one tensor");
  snprintf(s, sizeof s, "%s\"outputs\":[]}", in);
  refuses(s, "outputs", "exactly one tensor");
  snprintf(s, sizeof s, "%s\"outputs\":[{\"name\":\"output\"},{\"name\":\"output\"}]}", in);
  refuses(s, "outputs", "exactly one tensor");
  snprintf(s, sizeof s, "%s\"outputs\":[{\"name\":\"output0\"}]}", in);
  refuses(s, "outputs[0].name", "named 'output'");
  snprintf(s, sizeof s, "%s\"outputs\":[{\"name\":\"output\",\"shape\":[1]}]}", in);
  refuses(s, "outputs[0].shape", "unknown field");
  snprintf(s, sizeof s, "%s\"outputs\":[{\"name\":\"output\",\"parameters\":{\"x\":null}}]}", in);
  refuses(s, "outputs[0].parameters.x", "string, a number or a boolean");
}
