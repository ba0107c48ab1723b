/* log.c — one line per event on stderr, written atomically. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const level_names[] = {
    [LOG_INFO] = "info",
    [LOG_WARN] = "warn",
    [LOG_ERROR] = "error",
};

void log_timestamp(const struct timespec *ts, char out[LOG_TIME_LEN]) {
  struct tm tm;
  time_t secs = ts->tv_sec;
  size_t n = 0;
  if (gmtime_r(&secs, &tm) != NULL) n = strftime(out, LOG_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
  if (n == 0) n = (size_t)snprintf(out, LOG_TIME_LEN, "1970-01-01T00:00:00");
  unsigned ms = (unsigned)(ts->tv_nsec / 1000000L) % 1000u;
  snprintf(out + n, LOG_TIME_LEN - n, ".%03uZ", ms);
}

void log_vwrite(log_level level, const char *fmt, va_list ap) {
  char line[LOG_LINE_MAX];
  char stamp[LOG_TIME_LEN];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  log_timestamp(&now, stamp);
  if ((unsigned)level > LOG_ERROR) level = LOG_ERROR;

  int head = snprintf(line, sizeof line, "%s %s ", stamp, level_names[level]);
  /* Room is kept for the final "\n"; a cut line says so with "...". */
  size_t room = sizeof line - (size_t)head - 1;
  int body = vsnprintf(line + head, room + 1, fmt, ap);
  if (body < 0) body = 0;
  size_t len = (size_t)head + ((size_t)body < room ? (size_t)body : room);
  if ((size_t)body > room) memcpy(line + len - 3, "...", 3);
  while (len > (size_t)head && line[len - 1] == '\n') len--; /* libraries end lines themselves */
  /* Messages carry client bytes (paths, libmicrohttpd's own messages):
   * no terminal control may reach a terminal or a log viewer through them.
   * C0 controls and DEL become '?' (line breaks and tabs a space), and so do
   * both bytes of a C1 control in UTF-8 (U+0080..U+009F: U+009B is CSI). */
  for (size_t i = (size_t)head; i < len; i++) {
    unsigned char ch = (unsigned char)line[i];
    if (ch == '\n' || ch == '\r' || ch == '\t') {
      line[i] = ' ';
    } else if (ch < 0x20 || ch == 0x7f) {
      line[i] = '?';
    } else if (ch == 0xc2 && i + 1 < len && (unsigned char)line[i + 1] >= 0x80 &&
               (unsigned char)line[i + 1] <= 0x9f) {
      line[i] = line[i + 1] = '?';
    }
  }
  line[len++] = '\n';

  /* One write(2) per line: concurrent lines never interleave. A partial
   * write (full pipe, signal) finishes the same line before returning. */
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(STDERR_FILENO, line + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += (size_t)n;
  }
}

void log_write(log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_vwrite(level, fmt, ap);
  va_end(ap);
}
