/* test_http_guard.c — a request head's framing, Host and Origin checks. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../server/http_guard.h"

static const http_guard_site loopback = {.tls = false, .loopback = true,
                                         .allowed_hosts = "trainer.example,[fd00::1]"};

/* Check a head given as "Name", "value" pairs; NULL ends them. */
static int check(const http_guard_site *site, const char *method, api_error *err, ...) {
  http_guard_head h;
  memset(&h, 0, sizeof h);
  va_list ap;
  va_start(ap, err);
  for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
    http_guard_add(&h, name, va_arg(ap, const char *));
  }
  va_end(ap);
  memset(err, 0, sizeof *err);
  return http_guard_check(&h, site, method, true, err);
}

Test(http_guard, loopback_names_and_allowed_hosts_pass_others_are_403) {
  api_error err;
  const char *ok[] = {"localhost", "LOCALHOST:8080", "127.0.0.1", "127.0.0.1:1", "[::1]",
                      "[::1]:80", "trainer.example", "Trainer.Example:443", "[fd00::1]:1"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    cr_expect_eq(check(&loopback, "GET", &err, "Host", ok[i], NULL), 0, "%s", ok[i]);
  }
  const char *refused[] = {"evil.example", "127.0.0.2", "localhost.evil.example", "localhost:",
                           "localhost:8x", "[::1", "[::2]", "trainer.example.evil", "",
                           "localhost:80:80"};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    cr_expect_eq(check(&loopback, "GET", &err, "Host", refused[i], NULL), -API_FORBIDDEN, "%s",
                 refused[i]);
    cr_expect_str_eq(err.field, "Host");
  }
  /* A public address checks nothing unless hosts are listed. */
  http_guard_site open = {.loopback = false, .allowed_hosts = ""};
  cr_expect_eq(check(&open, "GET", &err, "Host", "evil.example", NULL), 0);
}

Test(http_guard, writes_from_another_origin_are_403) {
  api_error err;
  cr_expect_eq(check(&loopback, "POST", &err, "Host", "127.0.0.1:8080", "Origin",
                     "http://127.0.0.1:8080", NULL), 0);
  cr_expect_eq(check(&loopback, "POST", &err, "Host", "127.0.0.1:8080", "Origin",
                     "http://trainer.example", NULL), 0);
  cr_expect_eq(check(&loopback, "GET", &err, "Host", "localhost", "Origin", "http://evil.example",
                     NULL), 0);
  const char *refused[] = {"http://evil.example", "null", "https://127.0.0.1:8080",
                           "http://127.0.0.1:8081", "http://127.0.0.1:8080/", ""};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    cr_expect_eq(check(&loopback, "DELETE", &err, "Host", "127.0.0.1:8080", "Origin", refused[i],
                       NULL),
                 -API_FORBIDDEN, "%s", refused[i]);
    cr_expect_str_eq(err.field, "Origin");
  }
  http_guard_site tls = {.tls = true, .loopback = true, .allowed_hosts = ""};
  cr_expect_eq(check(&tls, "POST", &err, "Host", "localhost", "Origin", "https://localhost", NULL),
               0);
}

Test(http_guard, ambiguous_framing_is_400_unknown_codings_501) {
  api_error err;
  cr_expect_eq(check(&loopback, "POST", &err, "Host", "localhost", "Content-Length ", "2", NULL),
               -API_INVALID_ARGUMENT);
  cr_expect_eq(check(&loopback, "POST", &err, "Host", "localhost", "Content-Length", "2",
                     "Content-Length", "3", NULL),
               -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "Content-Length");
  cr_expect_eq(check(&loopback, "POST", &err, "Host", "localhost", "Content-Length", "2",
                     "Content-Length", "2", NULL),
               0);
  cr_expect_eq(check(&loopback, "POST", &err, "Host", "localhost", "Content-Length", "-1", NULL),
               -API_INVALID_ARGUMENT);
  cr_expect_eq(check(&loopback, "POST", &err, "Host", "localhost", "Transfer-Encoding",
                     "gzip, chunked", NULL),
               -API_NOT_IMPLEMENTED);
  cr_expect_str_eq(err.field, "Transfer-Encoding");
  cr_expect_eq(check(&loopback, "POST", &err, "Host", "localhost", "Transfer-Encoding", "Chunked",
                     NULL),
               0);
  cr_expect_eq(check(&loopback, "POST", &err, "Host", "localhost", "Transfer-Encoding", "chunked",
                     "Content-Length", "2", NULL),
               -API_INVALID_ARGUMENT);
  cr_expect_eq(check(&loopback, "GET", &err, NULL), -API_INVALID_ARGUMENT);
  cr_expect_str_eq(err.field, "Host");
  cr_expect_eq(check(&loopback, "GET", &err, "Host", "localhost", "host", "localhost", NULL),
               -API_INVALID_ARGUMENT);
  http_guard_head none;
  memset(&none, 0, sizeof none);
  cr_expect_eq(http_guard_check(&none, &loopback, "GET", false, &err), 0); /* HTTP/1.0 */
}
