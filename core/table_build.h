/*
 * table_build.h — the builder's state, shared by table_build.c (taking the
 * cells) and table_infer.c (resolving the types at the end). Internal.
 */
#ifndef NN_TABLE_BUILD_H
#define NN_TABLE_BUILD_H

#include "table_internal.h"

/* Recent texts remembered per column (a power of two). */
#define NN__RECENT 32

/* What a stored cell was read as. After the finish, kind != K_MISSING is
 * the missing mask's 0. */
enum { K_NUMBER, K_MISSING, K_TEXT, K_DATE, K_DATETIME, K_KINDS };

typedef struct {
  char *name;
  size_t name_len;
  nn_col_type forced;  /* NN_COL_AUTO or an override */
  size_t n;            /* cells stored: rows, or rows + 1 once the row has one */
  double *v;           /* (cap,) number, seconds, or a text's dictionary code */
  uint8_t *kind;       /* (cap,) K_*; NULL while every cell is of kind `same` */
  uint8_t same;        /* while kind is NULL (and n > 0): the kind of every cell */
  size_t n_kind[K_KINDS];
  int non_integral;    /* a number had a point or exponent, or exceeded 2^53 */
  nn__dict dict;       /* the text cells */
  int32_t recent[NN__RECENT]; /* 1 + the code of a recent text, by recent_slot */
} nn__bcol;

struct nn_table_builder {
  nn_table_options o;
  char **na;           /* (n_na,) copies of the missing markers */
  size_t *na_len;
  size_t na_max;       /* longest marker: longer cells skip the comparison */
  nn__bcol *cols;
  int n_cols, cap_cols;
  nn__dict names;
  size_t rows;         /* rows ended */
  size_t cap;          /* cells every column can hold */
  int next;            /* column of the next nn_table_builder_cell */
  size_t col_bytes;    /* the columns' v and kind arrays */
  size_t dict_bytes;   /* their dictionaries */
};

/* The kind of the cell at row. */
static inline int nn__kind_at(const nn__bcol *c, size_t row) {
  return c->kind != NULL ? c->kind[row] : c->same;
}

/* Give c its kind bytes (cap of them), the rows so far of kind `same`.
 * @return NN_OK or NN_ENOMEM */
int nn__bcol_kinds(nn__bcol *c, size_t cap);

/* Bytes one cell costs while building (the kind byte counted even while
 * a column has none: the limit holds whatever comes). */
#define NN__CELL_BYTES (sizeof(double) + 1)

#endif
