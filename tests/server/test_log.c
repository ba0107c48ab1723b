/* test_log.c — what reaches the log of client text: no terminal controls. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../server/log.h"

/* Log one message and read back its line's message part (after the level). */
static void logged(const char *message, char *out, size_t size) {
  FILE *f = tmpfile();
  cr_assert_not_null(f);
  int saved = dup(STDERR_FILENO);
  cr_assert(saved >= 0 && dup2(fileno(f), STDERR_FILENO) >= 0);
  log_write(LOG_WARN, "%s", message);
  dup2(saved, STDERR_FILENO);
  close(saved);
  rewind(f);
  char line[LOG_LINE_MAX + 1] = "";
  cr_assert_not_null(fgets(line, sizeof line, f));
  fclose(f);
  const char *body = strstr(line, " warn ");
  cr_assert_not_null(body);
  snprintf(out, size, "%s", body + 6);
}

Test(log, control_characters_from_clients_are_replaced) {
  char out[LOG_LINE_MAX];
  /* ESC sequences (colour, window title with BEL), backspace, DEL, NUL-free C0 */
  logged("GET /\x1b[31mred\x1b]0;pwned\x07 \b\x7f\x01 ok", out, sizeof out);
  cr_expect_str_eq(out, "GET /?[31mred?]0;pwned? ??? ok\n");
  /* C1 controls as UTF-8 (U+009B is an 8-bit CSI), printable UTF-8 kept */
  logged("a\xc2\x9b" "31m b\xc2\x85 \xc2\xa0 \xc3\xa9", out, sizeof out);
  cr_expect_str_eq(out, "a??31m b?? \xc2\xa0 \xc3\xa9\n");
  /* line breaks and tabs keep one event on one line */
  logged("one\ntwo\r\nthree\tfour\n", out, sizeof out);
  cr_expect_str_eq(out, "one two  three four\n");
}
