/*
 * log.h — the daemon's log: one line per event on stderr,
 *   2026-11-27T05:00:00.123Z info listening on http://127.0.0.1:8080
 * Safe from any thread: each line is formatted in full, then written with a
 * single write(2), so lines from concurrent threads never interleave.
 */
#ifndef TRAIND_LOG_H
#define TRAIND_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#define LOG_LINE_MAX 1024 /* longer lines are cut and end with "..." */
#define LOG_TIME_LEN 32   /* room for an RFC 3339 timestamp with milliseconds */

typedef enum { LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/**
 * Write one line: timestamp, level, message. Newlines and tabs in the
 * message are written as spaces, so one event is always one line; other
 * control characters (C0, DEL, and C1 as UTF-8) as '?', so that no client
 * text logged can drive a terminal.
 * @param fmt printf-style; the line ends without a caller-supplied "\n"
 */
void log_write(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The same with a va_list. */
void log_vwrite(log_level level, const char *fmt, va_list ap);

/**
 * Format a wall-clock time as RFC 3339 UTC with milliseconds.
 * @param out receives e.g. "2026-11-27T05:00:00.123Z"
 */
void log_timestamp(const struct timespec *ts, char out[LOG_TIME_LEN]);

#endif
