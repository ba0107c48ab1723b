/* test_utf8.c — UTF-8 validation, and error messages kept valid for JSON. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../server/errors.h"
#include "../../server/utf8.h"

static size_t char_len(const char *s) {
  return utf8_char((const unsigned char *)s, strlen(s));
}

Test(utf8, characters_of_every_length) {
  cr_assert_eq(char_len("a"), 1);
  cr_assert_eq(char_len("\xc3\xa9"), 2);         /* U+00E9 */
  cr_assert_eq(char_len("\xe2\x82\xac"), 3);     /* U+20AC */
  cr_assert_eq(char_len("\xef\xbf\xbf"), 3);     /* U+FFFF */
  cr_assert_eq(char_len("\xf0\x9f\x98\x80"), 4); /* U+1F600 */
  cr_assert_eq(char_len("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF, the last */
}

Test(utf8, invalid_sequences) {
  static const char *const bad[] = {
      "\x80",             /* a continuation byte alone */
      "\xc0\x80",         /* overlong NUL */
      "\xc1\xbf",         /* overlong */
      "\xe0\x9f\xbf",     /* overlong below U+0800 */
      "\xed\xa0\x80",     /* U+D800, a surrogate */
      "\xed\xbf\xbf",     /* U+DFFF */
      "\xf0\x8f\xbf\xbf", /* overlong below U+10000 */
      "\xf4\x90\x80\x80", /* U+110000 */
      "\xf5\x80\x80\x80", /* no such lead byte */
      "\xff",
      "\xc3",             /* cut short */
      "\xe2\x82",
      "\xe2\x28\xa1",     /* a bad second byte */
      "\xf0\x9f\x98\x28", /* a bad last byte */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(char_len(bad[i]), 0, "case %zu", i);
}

Test(utf8, check_names_the_first_bad_byte) {
  size_t at = 99;
  cr_assert_eq(utf8_check("caf\xc3\xa9", 5, &at), 0);
  cr_assert_eq(at, 99);
  cr_assert_eq(utf8_check("ab\xc3\xa9\xff", 5, &at), -1);
  cr_assert_eq(at, 4);
  cr_assert_eq(utf8_check("ab\xc3\xa9", 3, &at), -1); /* the length cuts the character */
  cr_assert_eq(at, 2);
  cr_assert_eq(utf8_check("", 0, NULL), 0);
}

Test(utf8, scrub_replaces_only_bad_bytes) {
  char s[] = "ok \xc3\xa9 \xff bad \xe2\x82";
  utf8_scrub(s);
  cr_assert_str_eq(s, "ok \xc3\xa9 ? bad ??");
}

Test(utf8, error_messages_and_fields_are_valid_utf8) {
  api_error err;
  api_fail(&err, API_INVALID_ARGUMENT, "col\xff", "no column %s", "\xe2\x82\xac\xe2\x82");
  cr_assert_str_eq(err.field, "col?");
  cr_assert_str_eq(err.message, "no column \xe2\x82\xac??");
  /* A character cut by the field's size is scrubbed, not left half. */
  char long_field[200];
  memset(long_field, 'x', 126);
  memcpy(long_field + 126, "\xc3\xa9", 3);
  api_fail(&err, API_INVALID_ARGUMENT, long_field, "x");
  cr_assert_eq(strlen(err.field), sizeof err.field - 1);
  cr_assert_eq(err.field[126], '?');
  cr_assert_eq(utf8_check(err.field, strlen(err.field), NULL), 0);
}
