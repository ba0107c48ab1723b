/* csv.c — RFC 4180 CSV for `trainctl predict --csv`: a file read whole into
 * rows of cells, and cells written back out quoted where they need it.
 *
 * The grammar is the server's (server/parse_csv.c): a cell is plain text or
 * opens with a quote, and then runs to the closing quote, `""` standing for
 * one quote and separators, CR and LF inside it being text; records end with
 * LF, CRLF or CR; one UTF-8 byte order mark opening the file is skipped;
 * blank lines are skipped; the separator is the one of `,` `;` tab `|` the
 * first line holds most often outside quotes (a comma when it holds none).
 * A quote inside a plain cell, text after a closing quote, a quote never
 * closed, a NUL byte and a row of another width than the first are errors
 * naming the file's line.
 *
 * Why not the server's reader itself: parse_csv.c is a streaming state
 * machine wired into the daemon (its interner, the typed-table builder of
 * core/table.h, api_error), and trainctl links libcurl and cJSON only (the
 * Makefile links no server or core object into it). Lifting its lexer into
 * a module both could link is the way to one implementation; it touches the
 * ingest hot path, so it is left to a change of its own.
 *
 * Costs: the file in memory once (a predict request carries it all anyway)
 * and one pointer a cell. Cells are unquoted in place: a cell's text never
 * grows (a quote pair or a doubled quote shrinks it), so the bytes written
 * stay behind the bytes read, and each cell's NUL takes the place of its
 * separator. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc.h"

static const char utf8_bom[] = "\xEF\xBB\xBF";

/* The separator of the line at text: the one of , ; tab | it holds most
 * often outside quotes, a comma when it holds none. */
static char sniff(const char *text, size_t len) {
  static const char candidates[] = {',', ';', '\t', '|'};
  size_t count[sizeof candidates] = {0}, best = 0;
  int quoted = 0;
  for (size_t i = 0; i < len && (quoted || (text[i] != '\n' && text[i] != '\r')); i++) {
    if (text[i] == '"') quoted = !quoted;
    for (size_t k = 0; k < sizeof candidates && !quoted; k++) count[k] += text[i] == candidates[k];
  }
  for (size_t k = 1; k < sizeof candidates; k++)
    if (count[k] > count[best]) best = k;
  return candidates[best];
}

/* array (of *cap items of size bytes) with room for item n: itself, or a
 * copy twice as large; NULL (array left as it was) when out of memory. */
static void *reserve(void *array, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return array;
  size_t grown = *cap ? 2 * *cap : 64;
  if (grown < *cap || grown > SIZE_MAX / size) return NULL;
  void *bigger = realloc(array, grown * size);
  if (bigger != NULL) *cap = grown;
  return bigger;
}

int tc_csv_read(const char *path, tc_csv *csv) {
  memset(csv, 0, sizeof *csv);
  size_t len, i = 0, w = 0, line = 1, n = 0, cap = 0, line_cap = 0, width = 0;
  const char *why = NULL;
  char *text = csv->text = tc_read_file_len(path, &len);
  if (text == NULL) return TC_FAIL;
  if (len >= 3 && memcmp(text, utf8_bom, 3) == 0) i = w = 3;
  csv->delim = sniff(text + i, len - i);
  while (i < len) {
    if (text[i] == '\n' || text[i] == '\r') { /* a blank line */
      i += text[i] == '\r' && i + 1 < len && text[i + 1] == '\n' ? 2 : 1;
      line++;
      continue;
    }
    size_t start = line, cells = 0;
    size_t *lines = reserve(csv->lines, &line_cap, csv->rows, sizeof *lines);
    if (lines == NULL) goto oom;
    csv->lines = lines;
    lines[csv->rows] = line;
    for (;;) { /* one cell of the record */
      char *cell = text + w;
      if (i < len && text[i] == '"') {
        size_t opened = line;
        for (i++;; i++) {
          if (i == len) {
            fprintf(stderr, "trainctl: %s line %zu: a quoted cell is never closed\n", path,
                    opened);
            goto fail;
          }
          if (text[i] == '"' && (i + 1 == len || text[i + 1] != '"')) break;
          if (text[i] == '"') i++; /* "" is one quote */
          if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n')))
            line++;
          if (text[i] == '\0') goto nul;
          text[w++] = text[i];
        }
        i++; /* past the closing quote */
        if (i < len && text[i] != csv->delim && text[i] != '\n' && text[i] != '\r') {
          why = "has text after a closing quote";
          goto bad;
        }
      } else {
        for (; i < len && text[i] != csv->delim && text[i] != '\n' && text[i] != '\r'; i++) {
          if (text[i] == '"') {
            why = "has a quote inside an unquoted cell";
            goto bad;
          }
          if (text[i] == '\0') goto nul;
          text[w++] = text[i];
        }
      }
      assert(w <= i);
      char end = i < len ? text[i] : '\n';
      text[w++] = '\0'; /* over the separator, or at the end of the buffer */
      char **all = reserve(csv->cells, &cap, n, sizeof *all);
      if (all == NULL) goto oom;
      csv->cells = all;
      all[n++] = cell;
      cells++;
      if (i < len) i++;
      if (end == csv->delim) continue;
      if (end == '\r' && i < len && text[i] == '\n') i++;
      line++;
      break;
    }
    if (csv->rows == 0) width = cells;
    if (cells != width) {
      fprintf(stderr, "trainctl: %s line %zu: %zu cells where the first row has %zu\n", path,
              start, cells, width);
      goto fail;
    }
    csv->rows++;
  }
  csv->cols = width;
  return TC_OK;

nul:
  why = "holds a NUL byte";
bad:
  fprintf(stderr, "trainctl: %s line %zu: a cell %s\n", path, line, why);
  goto fail;
oom:
  fprintf(stderr, "trainctl: out of memory reading %s\n", path);
fail:
  tc_csv_free(csv);
  return TC_FAIL;
}

void tc_csv_free(tc_csv *csv) {
  free(csv->text);
  free(csv->cells);
  free(csv->lines);
  memset(csv, 0, sizeof *csv);
}

void tc_csv_put(FILE *f, const char *cell) {
  size_t len = strlen(cell);
  if (strpbrk(cell, ",\"\r\n") == NULL &&
      (len == 0 || (cell[0] != ' ' && cell[len - 1] != ' '))) {
    fputs(cell, f);
    return;
  }
  putc('"', f);
  for (const char *c = cell; *c != '\0'; c++) {
    if (*c == '"') putc('"', f);
    putc(*c, f);
  }
  putc('"', f);
}
