/*
 * parse_csv.h — a CSV data set (POST /v1/datasets?name=&target= with
 * text/csv), fed in chunks as the body streams in, never held whole.
 *
 * A header row, then data rows; RFC 4180 quoting ("" inside quotes), LF or
 * CRLF, blank lines ignored; one UTF-8 byte order mark opening the body is
 * skipped, and a column name starting with another is refused. target names one or more comma-separated
 * columns. A single target column holding any non-numeric cell makes a
 * classification set (classes sorted); otherwise targets are numeric
 * regression outputs. Every other column is a numeric feature; a bad cell is
 * reported as field "row 7, column sepal_width" (data rows count from 1).
 */
#ifndef TRAIND_PARSE_CSV_H
#define TRAIND_PARSE_CSV_H

#include "parse_dataset.h"
#include "parse_table.h"

#define PARSE_CSV_MAX_COLUMNS (1 << 16)
#define PARSE_CSV_MAX_CELL 1024 /* bytes of one cell, after unquoting */

typedef struct parse_csv parse_csv;

/**
 * Start parsing a CSV body.
 * @param target comma-separated target column names (the ?target= parameter)
 * @return 0, -API_INVALID_ARGUMENT (field "target") or -API_INTERNAL
 */
int parse_csv_new(const char *target, parse_csv **out, api_error *err);

/**
 * Parse the next len bytes; a record or a cell may span chunks. After a
 * failure every later call fails with the same error.
 * @return 0, -API_INVALID_ARGUMENT naming row and column, or -API_INTERNAL
 */
int parse_csv_feed(parse_csv *p, const char *data, size_t len, api_error *err);

/**
 * End of the body: complete the last record (its newline is optional) and
 * hand the data over. Later calls to feed or finish fail (API_INTERNAL).
 * @param out receives the data (free with parse_dataset_out_free)
 */
int parse_csv_finish(parse_csv *p, parse_dataset_out *out, api_error *err);

void parse_csv_free(parse_csv *p);

/**
 * Allow a typed table (issue 14), before the first feed: the separator is
 * sniffed from the header (o->delimiter 0). Every data cell then goes into
 * the table as it arrives (parse_table.h: 8 bytes a number, a dictionary
 * code for a text, never the body's text), while the target's cells are
 * also interned as a numeric set's are. A body whose feature cells are all
 * numbers within float range (and whose target cells a numeric set takes)
 * ends as numbers, as before tables were, its floats gathered from the
 * table's columns in place; any other ends as the table (out->table).
 * Options only a table honours make a table from the first byte. With
 * several target columns nothing changes (a table has one), and table
 * options are refused.
 * Costs: the table's columns (about what it stores), never a copy of the
 * body; a numeric set's floats are gathered at the end at 8 bytes a cell.
 * @return 0, -API_INVALID_ARGUMENT naming the option, or -API_INTERNAL
 */
int parse_csv_typed(parse_csv *p, const parse_table_options *o, api_error *err);

#endif
