/* http_guard.c — a request head's framing, Host and Origin (see http_guard.h). */
#include "http_guard.h"

#include <string.h>
#include <strings.h>

static const char token_chars[] =
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

static bool is_token(const char *s) { return s[0] != '\0' && s[strspn(s, token_chars)] == '\0'; }

/* Count a field, keep its first value. */
static void seen(size_t *n, const char **first, const char *value) {
  if ((*n)++ == 0) *first = value;
}

void http_guard_add(http_guard_head *h, const char *name, const char *value) {
  if (value == NULL) value = "";
  if (h->bad_name == NULL && !is_token(name)) h->bad_name = name;
  if (strcasecmp(name, "Host") == 0) {
    seen(&h->n_host, &h->host, value);
  } else if (strcasecmp(name, "Content-Length") == 0) {
    if (h->n_length > 0 && strcmp(h->length, value) != 0) h->lengths_differ = true;
    seen(&h->n_length, &h->length, value);
  } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
    seen(&h->n_encoding, &h->encoding, value);
  } else if (strcasecmp(name, "Origin") == 0) {
    seen(&h->n_origin, &h->origin, value);
  }
}

/* The length of the host in "host", "host:port", "[v6]" or "[v6]:port";
 * 0 when the text is none of those. */
static size_t host_length(const char *s) {
  size_t n = s[0] == '[' ? strcspn(s, "]") + 1 : strcspn(s, ":");
  if (n == 0 || (s[0] == '[' && s[n - 1] != ']')) return 0;
  if (s[n] == '\0') return n;
  if (s[n] != ':' || s[n + 1] == '\0' || s[n + 1 + strspn(s + n + 1, "0123456789")] != '\0')
    return 0;
  return n;
}

/* Is the host s[0..n) in the comma-separated list (lower-case)? */
static bool listed(const char *list, const char *s, size_t n) {
  for (const char *p = list; *p != '\0';) {
    size_t len = strcspn(p, ",");
    if (len == n && strncasecmp(p, s, n) == 0) return true;
    p += len;
    if (*p == ',') p++;
  }
  return false;
}

static bool host_allowed(const http_guard_site *site, const char *host) {
  size_t n = host_length(host);
  return n > 0 && (listed("localhost,127.0.0.1,[::1]", host, n) ||
                   listed(site->allowed_hosts, host, n));
}

/* Does the Origin name the daemon's own site (its scheme and the request's
 * Host), or a host of --allowed-hosts? */
static bool origin_allowed(const http_guard_site *site, const char *origin, const char *host) {
  const char *scheme = site->tls ? "https://" : "http://";
  size_t scheme_len = strlen(scheme);
  if (strncasecmp(origin, scheme, scheme_len) != 0) return false;
  const char *rest = origin + scheme_len;
  if (host != NULL && strcasecmp(rest, host) == 0) return true;
  size_t n = host_length(rest);
  return n > 0 && listed(site->allowed_hosts, rest, n);
}

static bool safe_method(const char *method) {
  return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
         strcmp(method, "OPTIONS") == 0;
}

int http_guard_check(const http_guard_head *h, const http_guard_site *site, const char *method,
                     bool http11, api_error *err) {
  if (h->bad_name != NULL) {
    return api_fail(err, API_INVALID_ARGUMENT, "",
                    "malformed header field name '%.60s' (no whitespace before the colon)",
                    h->bad_name);
  }
  if (h->lengths_differ) {
    return api_fail(err, API_INVALID_ARGUMENT, "Content-Length",
                    "two different Content-Length headers");
  }
  if (h->n_length > 0 &&
      (h->length[0] == '\0' || h->length[strspn(h->length, "0123456789")] != '\0')) {
    return api_fail(err, API_INVALID_ARGUMENT, "Content-Length",
                    "Content-Length '%.40s' is not a number of bytes", h->length);
  }
  if (h->n_encoding > 0) {
    if (h->n_encoding > 1 || strcasecmp(h->encoding, "chunked") != 0) {
      return api_fail(err, API_NOT_IMPLEMENTED, "Transfer-Encoding",
                      "Transfer-Encoding '%.60s' is not supported; send the body as is or "
                      "'chunked' alone", h->encoding);
    }
    if (h->n_length > 0) {
      return api_fail(err, API_INVALID_ARGUMENT, "Content-Length",
                      "Content-Length and Transfer-Encoding together; send one");
    }
  }
  if (h->n_host > 1) {
    return api_fail(err, API_INVALID_ARGUMENT, "Host", "more than one Host header");
  }
  if (h->n_host == 0 && http11) {
    return api_fail(err, API_INVALID_ARGUMENT, "Host", "an HTTP/1.1 request needs a Host header");
  }
  if (h->host != NULL && (site->loopback || site->allowed_hosts[0] != '\0') &&
      !host_allowed(site, h->host)) {
    return api_fail(err, API_FORBIDDEN, "Host",
                    "Host '%.80s' is not served here: use localhost, 127.0.0.1 or [::1], or "
                    "allow the name with --allowed-hosts", h->host);
  }
  if (h->n_origin > 0 && !safe_method(method) &&
      (h->n_origin > 1 || !origin_allowed(site, h->origin, h->host))) {
    return api_fail(err, API_FORBIDDEN, "Origin",
                    "a write from the page at Origin '%.80s' is refused: only this server's "
                    "own pages (or --allowed-hosts) may write", h->origin);
  }
  return 0;
}
