/*
 * utf8.h — UTF-8 checks for client text that is stored or echoed in JSON
 * answers: a JSON document must be UTF-8 (RFC 8259), so text that is not
 * is refused on the way in, and error messages quoting it are scrubbed.
 */
#ifndef TRAIND_UTF8_H
#define TRAIND_UTF8_H

#include <stddef.h>

/**
 * The length of the UTF-8 character at s.
 * @param len bytes available at s, >= 1
 * @return 1..4, or 0 when the bytes there are no valid character (a stray
 *         continuation byte, an overlong form, a UTF-16 surrogate, a code
 *         point above U+10FFFF, or a sequence cut short by len)
 */
size_t utf8_char(const unsigned char *s, size_t len);

/**
 * Check that s[0..len) is UTF-8.
 * @param bad_at receives the offset of the first invalid byte; may be NULL
 * @return 0, or -1 when it is not
 */
int utf8_check(const char *s, size_t len, size_t *bad_at);

/** Replace, in place, every byte of the NUL-terminated s that is not part of a
 *  valid character with '?' (e.g. a character cut in two by truncation). */
void utf8_scrub(char *s);

#endif
