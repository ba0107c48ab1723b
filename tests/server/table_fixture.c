/* table_fixture.c — a small table model's encoding (table_fixture.h). */
#include "table_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

#include "../../core/encode.h"

uint8_t *table_fixture_encoding(const char *category, size_t *len) {
  const char *const cells[] = {category, "x", "y", "red", "1", "2.5", "blue", "", "3",
                               "red", "4", "1"};
  nn_table_options to;
  nn_table_builder *b;
  nn_table *t;
  nn_error ne;
  nn_table_options_defaults(&to);
  cr_assert_eq(nn_table_builder_new(&to, &b, &ne), NN_OK);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(nn_table_builder_column(b, cells[i], strlen(cells[i]), NN_COL_AUTO, &ne), NN_OK);
  for (int i = 3; i < 12; i++) {
    cr_assert_eq(nn_table_builder_cell(b, cells[i], strlen(cells[i]), &ne), NN_OK);
    if (i % 3 == 2) cr_assert_eq(nn_table_builder_end_row(b, &ne), NN_OK);
  }
  cr_assert_eq(nn_table_builder_finish(b, &t, NULL, &ne), NN_OK, "%s", ne.message);
  nn_table_builder_free(b);
  nn_encode_options o;
  nn_encoder *e;
  uint8_t *buf;
  uint32_t rows[] = {0, 1, 2};
  nn_encode_options_defaults(&o);
  o.target = 2;
  cr_assert_eq(nn_encoder_fit(t, rows, 3, &o, &e, &ne), NN_OK, "%s", ne.message);
  cr_assert_eq(nn_encoder_width(e), 4);
  cr_assert_eq(nn_encoder_save(e, &buf, len), NN_OK);
  nn_encoder_free(e);
  nn_table_free(t);
  return buf;
}
