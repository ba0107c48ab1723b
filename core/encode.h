/*
 * encode.h — the preprocessing pipeline of a model on a typed table
 * (core/table.h): fitted on the training rows only, applied the same way to
 * any rows or raw records, serialized with every weights version.
 *
 *   number, integer  impute (mean, median or a constant), standardize
 *                    (v - mean) / std over the imputed training values
 *                    (std with n, as scikit-learn's StandardScaler; 1 when 0)
 *   boolean          0/1, imputed (mean by default: the share of true)
 *   category         one-hot over the max_categories most frequent training
 *                    categories (ties by text), in bytewise text order, then
 *                    one "other" slot for the rest, unseen ones included;
 *                    missing is all zeros
 *   datetime         year, month (1-12), day of week (0 Monday), day of year
 *                    (1-366), hour (0-23), in UTC; each imputed and
 *                    standardized as a number; cyclic: year standardized,
 *                    the other four as sin and cos of 2 pi v / period
 *                    (12, 7, 366, 24), 9 outputs
 *   any              missing_indicator: one more output, 1 where missing
 *
 * Outputs are float32, row-major, (rows, width), the columns in table order.
 * A fitted (or loaded) encoder is never modified: any number of threads may
 * apply one at once.
 * A regression target is standardized the same way (its inverse turns
 * predictions back into the target's units); a classification target
 * becomes class indices into its sorted class names.
 */
#ifndef NN_ENCODE_H
#define NN_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "table.h"

#define NN_ENCODE_FORMAT_VERSION 1    /* of serialized encodings */
#define NN_ENCODE_MAX_CATEGORIES 4096 /* max_categories of one column */
#define NN_ENCODE_DEFAULT_CATEGORIES 100
#define NN_ENCODE_MAX_CLASSES 4096    /* classes of a classification target */

/* Names in core/names.c (NN_NAMES_IMPUTE). */
typedef enum { NN_IMPUTE_MEAN, NN_IMPUTE_MEDIAN, NN_IMPUTE_CONSTANT } nn_impute;

typedef enum {
  NN_TARGET_AUTO,           /* category, boolean: classification; number, integer: regression */
  NN_TARGET_REGRESSION,
  NN_TARGET_CLASSIFICATION  /* of numbers too: their canonical texts are the classes */
} nn_target_kind;

typedef struct {
  int skip;              /* leave the column out */
  nn_impute impute;      /* number, integer, boolean, datetime parts */
  double fill_value;     /* NN_IMPUTE_CONSTANT; finite */
  int standardize;       /* number, integer, boolean, datetime parts */
  int missing_indicator; /* add a 0/1 output that is 1 where the cell is missing */
  int max_categories;    /* category: 1..NN_ENCODE_MAX_CATEGORIES */
  int cyclic;            /* datetime: sin/cos parts */
} nn_encode_column;

typedef struct {
  /* by column type; defaults: mean impute, standardize (not booleans),
   * no indicator, max_categories 100, not cyclic */
  nn_encode_column by_type[NN_COL_TYPES];
  /* optional, (table columns,): a column's own options, or NULL for its
   * type's */
  const nn_encode_column *const *columns;
  int target;            /* column index of the target, or -1 */
  nn_target_kind target_kind;
  uint8_t hash_key[16];  /* SipHash key of the lookups: draw it at random */
} nn_encode_options;

typedef struct nn_encoder nn_encoder;

void nn_encode_options_defaults(nn_encode_options *o);

/**
 * Fit an encoding on rows of a table: every statistic (means, std, medians,
 * category counts) comes from these rows alone. Classes of a classification
 * target come from the whole column (they name outputs, not statistics).
 * @param rows (n,) row indices, each < nn_table_rows(t); n >= 1
 * @return NN_OK, NN_EINVAL (bad option, row, or target type; err names the
 *         column), NN_ERANGE (encoded width beyond NN_MAX_UNITS, too many
 *         classes, values whose sums overflow a double) or NN_ENOMEM
 */
int nn_encoder_fit(const nn_table *t, const uint32_t *rows, size_t n, const nn_encode_options *o,
                   nn_encoder **out, nn_error *err);

void nn_encoder_free(nn_encoder *e);

/** @return the width of an encoded row (the model's inputs). */
int nn_encoder_width(const nn_encoder *e);

/** @return the number of input columns (target excluded). */
int nn_encoder_columns(const nn_encoder *e);

/* A fitted input column, for display (GET /v1/models/{id}). */
typedef struct {
  const char *name;
  nn_col_type type;
  nn_impute impute;
  int standardize, missing_indicator, cyclic;
  int offset, width;        /* its outputs in an encoded row */
  int n_parts;              /* 1; datetime 5; category 0 */
  const double *fill;       /* (n_parts,) imputed values */
  const double *mean;       /* (n_parts,) */
  const double *scale;      /* (n_parts,) */
  int n_categories;         /* category: kept categories; output k is category k */
} nn_encoder_column_info;

/** @return NN_OK, or NN_EINVAL when i is not a column. */
int nn_encoder_column(const nn_encoder *e, int i, nn_encoder_column_info *out);

/** Kept category k of column i (NUL-terminated), or NULL. */
const char *nn_encoder_category(const nn_encoder *e, int i, int k);

/** Missing marker k of the table fitted on (NUL-terminated; a trimmed cell
 * equal to one, or empty, is missing), or NULL past the last. */
const char *nn_encoder_missing_marker(const nn_encoder *e, int k);

/** @return the index of the input column called name, or -1. */
int nn_encoder_find(const nn_encoder *e, const char *name, size_t len);

/**
 * The target: its name (NULL without one), kind, and for regression the
 * mean and scale predictions are unstandardized with; for classification
 * the number of classes (names by nn_encoder_class).
 */
const char *nn_encoder_target(const nn_encoder *e, nn_target_kind *kind, double *mean,
                              double *scale, int *classes);

/** Class k's name (NUL-terminated), or NULL. */
const char *nn_encoder_class(const nn_encoder *e, int k);

/**
 * Encode rows of a typed table (the one fitted on, or another with the same
 * column names and types; categories are matched by text).
 * @param rows (n,) row indices, or NULL for 0..n-1
 * @param x    (n, width)
 * @return NN_OK, NN_EINVAL (a row out of range), NN_ESHAPE (a column missing
 *         or of another type; err names it), NN_ERANGE (a value that encodes
 *         beyond float range, e.g. 1e300 unstandardized) or NN_ENOMEM
 */
int nn_encoder_apply(const nn_encoder *e, const nn_table *t, const uint32_t *rows, size_t n,
                     float *x, nn_error *err);

/**
 * The target of rows: regression (n,) standardized values in y, or
 * classification (n,) class indices in labels (the other may be NULL).
 * @return NN_OK, NN_EINVAL (a missing target, a class the encoding does not
 *         know, no target), NN_ESHAPE or NN_ENOMEM
 */
int nn_encoder_apply_target(const nn_encoder *e, const nn_table *t, const uint32_t *rows,
                            size_t n, float *y, int32_t *labels, nn_error *err);

/** Predictions of a regression target (n,) back in the target's units. */
void nn_encoder_unscale(const nn_encoder *e, const float *y, size_t n, double *out);

/* A raw cell of a record (JSON: null, a string, a number, true/false). */
typedef enum { NN_CELL_MISSING, NN_CELL_TEXT, NN_CELL_NUMBER, NN_CELL_BOOLEAN } nn_cell_kind;

typedef struct {
  nn_cell_kind kind;
  const char *text; /* TEXT: len bytes */
  size_t len;
  double number;    /* NUMBER; BOOLEAN: 0 or 1 */
} nn_cell;

/**
 * Encode raw records: cells (n, nn_encoder_columns) in the encoder's column
 * order (nn_encoder_find maps names). Text is read as the column's type
 * would be (missing markers, numbers, dates, true/false); an unseen category
 * goes to the other slot. Text that is not a number in a number column (not
 * a date in a datetime column, not true/false in a boolean one) is an error.
 * @param x       (n, width)
 * @param bad_row optional: the 0-based record of an error
 * @return NN_OK, NN_EINVAL naming the column in err, or NN_ERANGE (a value
 *         that encodes beyond float range)
 */
int nn_encoder_apply_records(const nn_encoder *e, const nn_cell *cells, size_t n, float *x,
                             size_t *bad_row, nn_error *err);

/**
 * Serialize into the versioned, CRC-sealed format of docs/encoding-format.md.
 * @param buf receives a malloc'd buffer (free it)
 * @return NN_OK, NN_ERANGE or NN_ENOMEM
 */
int nn_encoder_save(const nn_encoder *e, uint8_t **buf, size_t *len);

/**
 * Parse a serialized encoding; truncated, corrupt or foreign-version data is
 * refused, never a crash. The key is the caller's (it is not stored).
 * @return NN_OK, NN_EFORMAT, NN_EVERSION or NN_ENOMEM
 */
int nn_encoder_load(const uint8_t *buf, size_t len, const uint8_t key[16], nn_encoder **out,
                    nn_error *err);

#endif /* NN_ENCODE_H */
