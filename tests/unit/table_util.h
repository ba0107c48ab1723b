/* table_util.h — building test tables from a compact text: rows separated by
 * newlines, cells by commas (no quoting), the first row the header. */
#ifndef TESTS_TABLE_UTIL_H
#define TESTS_TABLE_UTIL_H

#include "../../core/encode.h"
#include "../../core/table.h"

/**
 * Build a table from text with options o (NULL: defaults).
 * @param types optional (columns,) overrides
 * @return the status of the first failing call; *out set on NN_OK
 */
int table_from_text(const char *text, const nn_table_options *o, const nn_col_type *types,
                    nn_table **out, nn_table_report *report, nn_error *err);

/** table_from_text that must succeed. */
nn_table *table_ok(const char *text);

/** The text of category code k of column c. */
const char *table_category(const nn_table_column *c, int32_t k);

#endif
