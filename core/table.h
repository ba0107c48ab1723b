/*
 * table.h — typed tables in memory: the raw data set a CSV or JSON-records
 * reader hands over cell by cell, with a type for every column inferred from
 * all of its cells, a missing mask, and categories as dictionary codes.
 *
 * Same conventions as nn.h: no globals, no exit(); every fallible function
 * returns NN_OK (0) or a negative nn_status and fills an optional nn_error
 * naming the column (and row). Rows are numbered from 0 in the API and from
 * 1 in messages ("row 3" is index 2, the third data row).
 *
 * Text is bytes: the caller checks its encoding (UTF-8 for JSON) before it
 * feeds a cell. Nothing here parses CSV or JSON.
 */
#ifndef NN_TABLE_H
#define NN_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

/* Default limits (nn_table_options). */
#define NN_TABLE_MAX_COLUMNS 4096          /* columns of one table */
#define NN_TABLE_MAX_CELL 4096             /* bytes of one cell */
#define NN_TABLE_MAX_NAME 256              /* bytes of one column name */
#define NN_TABLE_MAX_BYTES ((size_t)1 << 32) /* memory of the columns being built */
#define NN_TABLE_MAX_NA 32                 /* missing markers */
#define NN_TABLE_REPORT_CELLS 20           /* offending cells listed in a report */
#define NN_TABLE_REPORT_TEXT 64            /* bytes of each listed cell kept */

/* Column types; names in core/names.c (NN_NAMES_COLUMN_TYPE). */
typedef enum {
  NN_COL_NUMBER,   /* double */
  NN_COL_INTEGER,  /* whole numbers within +-2^53, held as doubles */
  NN_COL_BOOLEAN,  /* true/false or yes/no (any case), held as 0 and 1 */
  NN_COL_CATEGORY, /* text, held as dictionary codes */
  NN_COL_DATETIME, /* ISO 8601 dates and date-times, held as seconds since
                    * 1970-01-01T00:00:00Z (UTC offsets applied) */
  NN_COL_TYPES,    /* count of the above */
  NN_COL_AUTO = -1 /* no override: infer the type from the cells */
} nn_col_type;

/* ---- cells ----------------------------------------------------------------- */

/**
 * A decimal number: blanks, an optional sign, digits with an optional point
 * and an optional exponent, blanks. No hex, no inf or nan, no thousands
 * separators. Correctly rounded.
 * @param integral optional: set to 1 when the text has no point or exponent
 *                 and the value is a whole number within +-2^53
 * @return NN_OK, or NN_EINVAL when s is anything else or out of double range
 */
int nn_parse_number(const char *s, size_t len, double *out, int *integral);

/**
 * An ISO 8601 calendar date or date-time, with blanks around it:
 * YYYY-MM-DD, optionally followed by T (or a space) and hh:mm, hh:mm:ss or
 * hh:mm:ss.fraction, optionally followed by Z or an offset +hh:mm, +hhmm, +hh.
 * A date-time without offset is taken as UTC. Years 0000 to 9999.
 * @param seconds  since 1970-01-01T00:00:00Z, the offset applied
 * @param has_time optional: set to 1 when a time of day was given
 * @return NN_OK or NN_EINVAL (also for impossible dates: 2023-02-29)
 */
int nn_parse_datetime(const char *s, size_t len, double *seconds, int *has_time);

/** @return 1 for true/yes, 0 for false/no (ASCII, any case), -1 otherwise. */
int nn_parse_boolean(const char *s, size_t len);

/* ---- building a table ------------------------------------------------------ */

typedef struct {
  size_t max_columns;    /* 1..; columns of the table */
  size_t max_cell;       /* bytes of one cell */
  size_t max_name;       /* bytes of one column name */
  size_t max_bytes;      /* memory the columns may take while built */
  /* missing markers: a cell that equals one, after blanks are trimmed, is
   * missing (the empty cell always is); NULL: "NA", "N/A", "NaN", "null",
   * "None", "?" */
  const char *const *na_values;
  int n_na;              /* 0..NN_TABLE_MAX_NA */
  uint8_t hash_key[16];  /* SipHash key of the dictionaries: draw it at random */
} nn_table_options;

/** The limits above, the default markers, an all-zero key. */
void nn_table_options_defaults(nn_table_options *o);

/* What kept a column from its type: some cells of a column that is mostly
 * numbers (or mostly dates) are not, or an override does not fit its cells.
 * Filled by nn_table_builder_finish when it fails with NN_EINVAL for that. */
typedef struct {
  int column;            /* -1: nothing to report */
  nn_col_type type;      /* what the column would be without the offenders */
  size_t offending;      /* cells that are not of that type */
  size_t valid;          /* cells that are */
  int n_cells;           /* listed below, at most NN_TABLE_REPORT_CELLS */
  struct {
    size_t row;          /* 0-based data row */
    char text[NN_TABLE_REPORT_TEXT + 1]; /* the cell, cut at NN_TABLE_REPORT_TEXT bytes */
  } cells[NN_TABLE_REPORT_CELLS];
} nn_table_report;

typedef struct nn_table_builder nn_table_builder;
typedef struct nn_table nn_table;

/**
 * Start a table. Options are copied (the markers too).
 * @return NN_OK, NN_EINVAL (an option out of range) or NN_ENOMEM
 */
int nn_table_builder_new(const nn_table_options *o, nn_table_builder **out, nn_error *err);

void nn_table_builder_free(nn_table_builder *b);

/**
 * Declare the next column, before the first row.
 * @param name  len bytes; unique in the table
 * @param type  NN_COL_AUTO, or the type the column must have (an override)
 * @return NN_OK, NN_EINVAL (duplicate name, rows already added, bad type),
 *         NN_ERANGE (too many columns, name too long) or NN_ENOMEM
 */
int nn_table_builder_column(nn_table_builder *b, const char *name, size_t len, nn_col_type type,
                            nn_error *err);

/** @return the index of the column called name, or -1. */
int nn_table_builder_find(const nn_table_builder *b, const char *name, size_t len);

/** Change a declared column's override (e.g. ?types= after a CSV header). */
int nn_table_builder_set_type(nn_table_builder *b, int column, nn_col_type type, nn_error *err);

/**
 * The current row's cell of a column, as text (len bytes, no NUL needed).
 * Cells may come in any column order; a column left out of a row is missing.
 * No allocation per cell: the columns grow by doubling and text goes into
 * the column's dictionary.
 * @return NN_OK, NN_EINVAL (no such column, or given twice in the row),
 *         NN_ERANGE (cell too long, table beyond max_bytes) or NN_ENOMEM
 */
int nn_table_builder_cell_at(nn_table_builder *b, int column, const char *s, size_t len,
                             nn_error *err);

/** The next cell in column order (a CSV reader's call): cell_at(next column). */
int nn_table_builder_cell(nn_table_builder *b, const char *s, size_t len, nn_error *err);

/** A number that has no text (a JSON number); must be finite. */
int nn_table_builder_number_at(nn_table_builder *b, int column, double v, nn_error *err);

/** A missing cell (a JSON null). */
int nn_table_builder_missing_at(nn_table_builder *b, int column, nn_error *err);

/**
 * End the current row: its columns without a cell are missing. At least
 * one column must be declared.
 * @return NN_OK, NN_EINVAL, NN_ERANGE or NN_ENOMEM
 */
int nn_table_builder_end_row(nn_table_builder *b, nn_error *err);

/** @return the rows ended so far. */
size_t nn_table_builder_rows(const nn_table_builder *b);

/**
 * Whether the current row's cell of a column was read as a number (not
 * missing, text or a date), and its value: for a reader that also keeps a
 * table of numbers only (server/parse_csv.c), at no second parse.
 * @return 1 and *v, or 0
 */
int nn_table_builder_number(const nn_table_builder *b, int column, double *v);

/**
 * Hand over a column that holds numbers only as rows floats, (float)v each,
 * converted in the column's own storage (shrunk to half: no second copy of
 * the column is ever held). Every row ended; the column is left empty and
 * the builder can only be freed after.
 * @param out receives the floats (free() them)
 * @return NN_OK, NN_EINVAL (no such column, a row not ended, a cell that
 *         is no number) or NN_ENOMEM
 */
int nn_table_builder_take_floats(nn_table_builder *b, int column, float **out, nn_error *err);

/**
 * Resolve every column's type from all its cells and hand over the table.
 * A row with cells but not yet ended is ended first.
 * A column without override is, by its non-missing cells:
 *   - integer when all are numbers without point or exponent (|v| <= 2^53),
 *     number when all are numbers; number when all cells are missing;
 *   - datetime when all are ISO 8601 dates or date-times;
 *   - boolean when all are true/false or yes/no (any case);
 *   - otherwise category; but when at most 5% of them keep the column from
 *     being numbers (or datetimes), the finish fails with NN_EINVAL and a
 *     report listing them (override the column to category to keep it as
 *     text). In a category column, cells that were read as numbers or dates
 *     get a canonical text: the shortest decimal that reads back the same
 *     double, YYYY-MM-DD, or YYYY-MM-DDThh:mm:ssZ.
 * An override to number, integer, boolean or datetime fails with NN_EINVAL
 * and a report when a cell does not fit it.
 * The builder is consumed either way (free it after).
 * @param report optional: filled on failure for a column's cells (column -1
 *               otherwise)
 * @return NN_OK, NN_EINVAL or NN_ENOMEM
 */
int nn_table_builder_finish(nn_table_builder *b, nn_table **out, nn_table_report *report,
                            nn_error *err);

/* ---- a finished table ------------------------------------------------------ */

/* A column, read-only, valid while its table lives. */
typedef struct {
  const char *name;        /* NUL-terminated */
  size_t name_len;
  nn_col_type type;
  size_t missing;          /* cells missing */
  const uint8_t *is_missing; /* (rows,) 1 where missing, else 0 */
  /* number, integer, boolean (0/1), datetime (seconds): (rows,), NAN where
   * missing; NULL for a category */
  const double *values;
  /* category: (rows,) codes into the dictionary, -1 where missing; else NULL */
  const int32_t *codes;
  int32_t n_categories;    /* category: entries of the dictionary */
  const char *text;        /* entry k is text + offsets[k], NUL-terminated, */
  const uint32_t *offsets; /* (n_categories + 1,): of offsets[k+1] - offsets[k] - 1 bytes */
  const uint64_t *counts;  /* (n_categories,) cells holding entry k */
} nn_table_column;

size_t nn_table_rows(const nn_table *t);
int nn_table_columns(const nn_table *t);

/** @return column i (0 <= i < columns), or NULL. */
const nn_table_column *nn_table_column_at(const nn_table *t, int i);

/** @return the index of the column called name, or -1. */
int nn_table_find(const nn_table *t, const char *name, size_t len);

/** @return the code of a category's text in column c, or -1 when absent. */
int32_t nn_table_category_code(const nn_table *t, int column, const char *s, size_t len);

/** The missing markers the table was built with (encodings keep them). */
int nn_table_na_values(const nn_table *t, const char *const **values);

/** Bytes the table's columns take in memory. */
size_t nn_table_bytes(const nn_table *t);

void nn_table_free(nn_table *t);

/* ---- serialization (docs/table-format.md) -------------------------------------- */

#define NN_TABLE_FORMAT_VERSION 1

/* Moves len bytes to or from the caller's storage (a file, an SQLite blob):
 * @return NN_OK, or a negative nn_status that aborts the save or load */
typedef int (*nn_table_io_fn)(void *ud, void *buf, size_t len);

/** @return the bytes nn_table_save writes for t (0 when they overflow). */
uint64_t nn_table_saved_bytes(const nn_table *t);

/**
 * Write t in the versioned, CRC-sealed, little-endian table format, in
 * pieces of at most 64 KiB through write (one staging buffer, no copy of
 * the table).
 * @return NN_OK, NN_ENOMEM, or write's status
 */
int nn_table_save(const nn_table *t, nn_table_io_fn write, void *ud);

/**
 * Read a table of size bytes through read (pieces of at most 64 KiB).
 * Counts are checked against size before anything is allocated for them;
 * every value is checked (codes within the dictionary and -1 exactly where
 * missing, finite numbers, whole integers, booleans 0 or 1); truncated,
 * corrupt (CRC) or foreign-version data is refused.
 * @param key the SipHash key of the dictionaries (not stored)
 * @return NN_OK, NN_EFORMAT, NN_EVERSION, NN_ENOMEM, or read's status
 */
int nn_table_load(uint64_t size, nn_table_io_fn read, void *ud, const uint8_t key[16],
                  nn_table **out, nn_error *err);

/* ---- profile ------------------------------------------------------------------ */

#define NN_PROFILE_TOP 10  /* categories listed in a profile */
#define NN_PROFILE_BINS 20 /* most bins of a histogram in a profile */

/* What a dashboard shows of a column. Numbers that do not apply are NAN. */
typedef struct {
  nn_col_type type;
  size_t missing;
  size_t distinct;     /* distinct non-missing values */
  int n_top;           /* categories (or for booleans "false"/"true") listed */
  struct {
    int32_t code;      /* category: dictionary code; boolean: the value 0 or 1 */
    uint64_t count;
  } top[NN_PROFILE_TOP]; /* by count, most first; ties by code */
  double min, max;     /* numbers, integers, booleans, datetimes (seconds) */
  double mean, std;    /* std with n - 1 as pandas' describe (0 for one value) */
  /* numbers, integers, datetimes: min(NN_PROFILE_BINS, distinct) equal-width
   * bins from min to max, each half-open but the last; 0 without a value */
  int n_bins;
  uint64_t bins[NN_PROFILE_BINS];
} nn_column_profile;

/**
 * Profile a column. Cost: one pass, plus for numbers a sorted copy of the
 * values (8 bytes a row, freed before returning) to count distinct ones,
 * and a second pass over it for the histogram.
 * @return NN_OK, NN_EINVAL (no such column) or NN_ENOMEM
 */
int nn_table_profile(const nn_table *t, int column, nn_column_profile *out);

#endif /* NN_TABLE_H */
