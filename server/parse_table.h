/*
 * parse_table.h — a typed table (core/table.h) read from a data set body
 * (issue 14): the CSV reader (parse_csv_typed) and the JSON records reader
 * hand it cells; it keeps the options of the upload (?ignore=, ?types=,
 * ?na_values=), drops ignored columns, and at the end turns the builder's
 * verdict into a 4xx naming the column (a mostly numeric column's
 * offending cells with their rows) or into a parse_dataset_out holding the
 * table.
 *
 * Costs: the builder's (8 bytes a number cell and one of mask, 4 a category
 * code, each distinct text once), plus at the end one pass of an encoder
 * fit over the rows with a target, to name the classes as training will.
 */
#ifndef TRAIND_PARSE_TABLE_H
#define TRAIND_PARSE_TABLE_H

#include <stddef.h>

#include "errors.h"

struct parse_dataset_out;

#define PARSE_TABLE_MAX_IGNORED 64 /* names of ?ignore= */
#define PARSE_TABLE_MAX_HEADER ((size_t)1 << 20) /* bytes of a header line sniffed */

typedef struct {
  const char *ignore;    /* comma-separated columns left out, or NULL */
  const char *types;     /* "col:category,col2:number", or NULL */
  const char *na_values; /* comma-separated missing markers, or NULL: the defaults */
  char delimiter;        /* , ; \t |, or 0: sniffed from the header */
  int delimiter_given;
} parse_table_options;

typedef struct parse_table parse_table;

/**
 * Read the query parameters of a table upload (?ignore= ?types=
 * ?na_values= ?delimiter=); the strings stay the query's.
 * @return 0, or -API_INVALID_ARGUMENT naming the parameter
 */
int parse_table_query(const char *ignore, const char *types, const char *na_values,
                      const char *delimiter, parse_table_options *o, api_error *err);

/** @return whether any option asks for a table (not what numbers do). */
int parse_table_options_given(const parse_table_options *o);

/** @param target NULL until parse_table_set_target
 *  @return 0, -API_INVALID_ARGUMENT naming the option, or -API_INTERNAL */
int parse_table_new(const parse_table_options *o, const char *target, parse_table **out,
                    api_error *err);

void parse_table_free(parse_table *t);

/** The next column of the header (CSV) or of the first record (JSON);
 *  where names them in errors ("header", "records[0]"). */
int parse_table_column(parse_table *t, const char *name, size_t len, const char *where,
                       api_error *err);

/** @return the index the reader passes for column name, or -1. */
int parse_table_find(const parse_table *t, const char *name, size_t len);

/** The header is complete: check the target and the options' columns. */
int parse_table_header(parse_table *t, api_error *err);

/**
 * A cell of the current row, as text, in column `column` (the order the
 * columns were declared in); where names it in errors ("row 3, column x"),
 * or NULL: the caller names it (the message is the builder's alone, no field).
 */
int parse_table_cell(parse_table *t, int column, const char *s, size_t len, const char *where,
                     api_error *err);

/** Whether the current row's cell in column `column` was read as a number
 *  (not missing, text or a date): 1 and its value in *v, or 0. */
int parse_table_cell_number(const parse_table *t, int column, double *v);

/**
 * A table of numbers only, as a numeric data set's row-major (rows,
 * columns - 1) floats without column `skip` (the target): each column is
 * turned into floats in place, then gathered. Nothing may be ignored; every
 * row ended. Only parse_table_free may follow.
 * @return 0 or -API_INTERNAL
 */
int parse_table_take_numbers(parse_table *t, int skip, float **x, api_error *err);

/** A JSON number or null (missing) in column `column`. */
int parse_table_number(parse_table *t, int column, double v, const char *where, api_error *err);
int parse_table_missing(parse_table *t, int column, const char *where, api_error *err);

int parse_table_end_row(parse_table *t, api_error *err);

/* JSON records ({"records":[{"col":value,...},...]}): the first record's
 * keys declare the columns (its cells are held until it closes); a later
 * record may leave a column out (missing), not bring a new one. */

/** A record's value: kind 's' string, 'n' number (its text), 't' true,
 *  'f' false, 'z' null. where names it in errors ("records[3].x"). */
int parse_table_record_cell(parse_table *t, const char *key, size_t klen, char kind,
                            const char *text, size_t len, const char *where, api_error *err);

/** The open record closed. */
int parse_table_record_end(parse_table *t, const char *where, api_error *err);

/** The target column's name, when it is known only after the cells (JSON). */
int parse_table_set_target(parse_table *t, const char *target, size_t len, api_error *err);

/**
 * Resolve the types and hand the table over (out->table, target,
 * rows_without_target, features, task, outputs and classes).
 * @return 0, -API_INVALID_ARGUMENT naming the column (its offending cells
 *         and their rows listed), or -API_INTERNAL
 */
int parse_table_finish(parse_table *t, struct parse_dataset_out *out, api_error *err);

#endif
