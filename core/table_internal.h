/*
 * table_internal.h — what the table and encoding files share: the keyed
 * dictionary, the table's storage, cell formatting and calendar arithmetic.
 * Not public API; names carry the nn__ prefix.
 */
#ifndef NN_TABLE_INTERNAL_H
#define NN_TABLE_INTERNAL_H

#include "encode.h"
#include "nn_internal.h"
#include "table.h"

/* ---- dictionary (dict.c): distinct strings numbered in order of addition -- */

#define NN__DICT_MAX (1 << 28) /* entries; so slot indexes fit 32-bit hashes */

typedef struct {
  uint8_t key[16];  /* SipHash key */
  char *text;       /* entries, each NUL-terminated, back to back */
  size_t len, cap;  /* bytes used and allocated in text (< 2^32) */
  uint32_t *off;    /* (cap_n + 1,) entry k starts at text + off[k] */
  uint64_t *count;  /* (cap_n,) additions of entry k */
  uint32_t *hash;   /* (cap_n,) low bits of entry k's hash: rehashing needs no SipHash */
  int32_t n, cap_n;
  int32_t *slots;   /* (mask + 1,) open addressing: 1 + entry, 0 = free */
  size_t mask;      /* slots - 1; slots is a power of two > 2 n */
} nn__dict;

/* An empty dictionary hashing under key. */
void nn__dict_init(nn__dict *d, const uint8_t key[16]);
void nn__dict_free(nn__dict *d);

/* Add one occurrence of s (len bytes): a new entry, or count + 1 of the
 * existing one. Growth that would take the dictionary past room bytes
 * (nn__dict_bytes) is refused. @return NN_OK, NN_ERANGE or NN_ENOMEM */
int nn__dict_add(nn__dict *d, const char *s, size_t len, size_t room, int32_t *code);

/* @return the entry holding s, or -1. */
int32_t nn__dict_find(const nn__dict *d, const char *s, size_t len);

/* @return entry k and its length. */
static inline const char *nn__dict_entry(const nn__dict *d, int32_t k, size_t *len) {
  *len = d->off[k + 1] - d->off[k] - 1;
  return d->text + d->off[k];
}

/* @return bytes the dictionary has allocated. */
size_t nn__dict_bytes(const nn__dict *d);

/* ---- cells (cell.c) ----------------------------------------------------------- */

/* Blanks (space, tab) trimmed off both ends of s: the new start and *len. */
const char *nn__trim(const char *s, size_t *len);

/* A whole v below 1e15 in plain digits, else the shortest "%.*g" text that
 * reads back as v (finite); at most 24 bytes and a NUL. @return its length */
int nn__format_number(double v, char *buf);

/* seconds as YYYY-MM-DD (has_time 0) or YYYY-MM-DDThh:mm:ss[.ffffff]Z, at
 * most 40 bytes and a NUL. @return its length */
int nn__format_datetime(double seconds, int has_time, char *buf);

/* Seconds since the epoch of 0000-01-01T00:00:00Z and 10000-01-01: the
 * range of the dates nn_parse_datetime reads (before the offset). */
#define NN__MIN_SECONDS (-62167219200.0 - 86400.0)
#define NN__MAX_SECONDS (253402300800.0 + 86400.0)

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t nn__days_from_civil(int64_t y, int m, int d);

/* The date of days since 1970-01-01. */
void nn__civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* ---- a finished table (table.c) --------------------------------------------- */

struct nn_table {
  size_t rows;
  int n_cols;
  nn_table_column *cols; /* (n_cols,) the public views of the arrays below */
  struct nn__tcol {
    char *name;
    uint8_t *mask;   /* (rows,) */
    double *values;  /* (rows,) or NULL */
    int32_t *codes;  /* (rows,) or NULL */
    nn__dict dict;   /* category entries; empty for other types */
  } *own;
  nn__dict names;    /* column name -> index */
  char **na;         /* (n_na,) copies of the missing markers */
  int n_na;
  size_t bytes;      /* nn_table_bytes */
};

/* ---- an encoding (encode.c, encode_apply.c, encode_codec.c) ---------------- */

#define NN__DT_PARTS 5 /* year, month, day of week, day of year, hour */

typedef struct {
  char *name;
  size_t name_len;
  nn_col_type type;
  nn_impute impute;
  int standardize;       /* numeric parts are (v - mean) / scale */
  int indicator;         /* one more output: 1 where the cell is missing */
  int cyclic;            /* datetime: sin/cos of the periodic parts */
  int n_parts;           /* values derived from the cell: 1, datetime 5, category 0 */
  double fill[NN__DT_PARTS];  /* imputed value of each part */
  double mean[NN__DT_PARTS];  /* 0 when not standardized */
  double scale[NN__DT_PARTS]; /* 1 when not standardized; > 0 */
  int max_categories;    /* category: the option it was fitted with */
  nn__dict cats;         /* category: the kept categories; entry k is output k */
  int offset, width;     /* outputs of the column in an encoded row */
} nn__enc_col;

struct nn_encoder {
  int n_cols;
  nn__enc_col *cols;     /* (n_cols,) in the table's column order */
  int width;             /* sum of the widths */
  nn__dict names;        /* column name -> index */
  char **na;             /* (n_na,) missing markers */
  int n_na;
  int has_target;
  nn__enc_col target;    /* name, type; regression: mean, scale in part 0 */
  nn_target_kind target_kind; /* regression or classification once fitted */
  nn__dict classes;      /* classification: class names, sorted; entry k is class k */
  uint8_t key[16];
};

/* The class name of row r of a target column (not missing): a category's
 * text, "true"/"false", or a number's canonical text (in buf, 25 bytes). */
const char *nn__class_text(const nn_table_column *tc, size_t r, char *buf, size_t *len);

/* Width of a fitted column from its type and options. */
int nn__enc_col_width(const nn__enc_col *c);

/* The parts of a datetime, before imputation and scaling (UTC). */
void nn__datetime_parts(double seconds, double parts[NN__DT_PARTS]);

/* 1 when s (len bytes) equals a missing marker of the encoding after blanks
 * are trimmed, or is empty. */
int nn__enc_is_missing(const nn_encoder *e, const char *s, size_t len);

/* A new empty encoder hashing under key; NULL when out of memory. */
nn_encoder *nn__encoder_alloc(const uint8_t key[16]);

/* Lay the columns out one after the other: offsets and the total width.
 * @return NN_OK or NN_ERANGE (wider than NN_MAX_UNITS) */
int nn__encoder_layout(nn_encoder *e, nn_error *err);

#endif /* NN_TABLE_INTERNAL_H */
