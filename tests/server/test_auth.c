/* test_auth.c — token comparison, route access rules, token config, loopback. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../server/auth.h"

static config tokens(const char *token, const char *read_token) {
  config cfg;
  memset(&cfg, 0, sizeof cfg);
  snprintf(cfg.token, sizeof cfg.token, "%s", token);
  snprintf(cfg.read_token, sizeof cfg.read_token, "%s", read_token);
  return cfg;
}

static int check(const config *cfg, route_access access, const char *header, api_error *err) {
  memset(err, 0, sizeof *err);
  return auth_check(cfg, access, header, err);
}

Test(auth, equal_compares_every_byte_and_the_length) {
  cr_expect(auth_equal("secret", "secret", 6));
  cr_expect_not(auth_equal("secret", "secreT", 6));  /* last byte */
  cr_expect_not(auth_equal("secret", "Secret", 6));  /* first byte */
  cr_expect_not(auth_equal("secret", "secre", 5));   /* a prefix */
  cr_expect_not(auth_equal("secret", "secrets", 7)); /* an extension */
  cr_expect_not(auth_equal("secret", "secretsecret", 12)); /* the secret wrapped around */
  cr_expect_not(auth_equal("secret", "", 0));
  cr_expect(auth_equal("s", "s", 1));
  /* Only candidate_len bytes are read: what follows them does not count. */
  cr_expect(auth_equal("abc", "abcdef", 3));
}

Test(auth, no_token_leaves_every_route_open) {
  config cfg = tokens("", "");
  api_error err;
  cr_expect_eq(check(&cfg, ROUTE_WRITE, NULL, &err), 0);
  cr_expect_eq(check(&cfg, ROUTE_READ, "Bearer anything", &err), 0);
  cr_expect_eq(check(&cfg, ROUTE_OPEN, NULL, &err), 0);
}

Test(auth, open_routes_need_nothing) {
  config cfg = tokens("full", "reader");
  api_error err;
  cr_expect_eq(check(&cfg, ROUTE_OPEN, NULL, &err), 0);
  cr_expect_eq(check(&cfg, ROUTE_OPEN, "Bearer wrong", &err), 0);
}

Test(auth, missing_or_malformed_header_is_unauthorized) {
  config cfg = tokens("full", "reader");
  const char *bad[] = {NULL, "", "full", "Basic full", "Bearer", "Bearerfull", "Bearer ",
                       "Token full"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    api_error err;
    cr_expect_eq(check(&cfg, ROUTE_READ, bad[i], &err), -API_UNAUTHORIZED, "header %s",
                 bad[i] ? bad[i] : "(none)");
    cr_expect_eq(err.code, API_UNAUTHORIZED);
    cr_expect_str_eq(err.field, "");
    cr_expect_neq(err.message[0], '\0');
  }
}

Test(auth, wrong_token_is_unauthorized) {
  config cfg = tokens("full", "reader");
  api_error err;
  cr_expect_eq(check(&cfg, ROUTE_WRITE, "Bearer ful", &err), -API_UNAUTHORIZED);
  cr_expect_eq(check(&cfg, ROUTE_WRITE, "Bearer fullx", &err), -API_UNAUTHORIZED);
  cr_expect_eq(check(&cfg, ROUTE_READ, "Bearer FULL", &err), -API_UNAUTHORIZED);
  cr_expect(strstr(err.message, "not valid") != NULL, "%s", err.message);
}

Test(auth, a_token_with_trailing_white_space_is_refused_saying_why) {
  config cfg = tokens("full", "reader");
  const char *bad[] = {"Bearer full ", "Bearer full\t", "Bearer reader  "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    api_error err;
    cr_expect_eq(check(&cfg, ROUTE_READ, bad[i], &err), -API_UNAUTHORIZED, "'%s'", bad[i]);
    cr_expect(strstr(err.message, "ends with white space") != NULL, "%s", err.message);
  }
  api_error err;
  cr_expect_eq(check(&cfg, ROUTE_READ, "Bearer ", &err), -API_UNAUTHORIZED);
  cr_expect(strstr(err.message, "no token") != NULL, "%s", err.message);
}

Test(auth, full_token_opens_everything) {
  config cfg = tokens("full", "reader");
  api_error err;
  cr_expect_eq(check(&cfg, ROUTE_WRITE, "Bearer full", &err), 0);
  cr_expect_eq(check(&cfg, ROUTE_READ, "Bearer full", &err), 0);
  /* The scheme is case-insensitive, and extra spaces before the token pass. */
  cr_expect_eq(check(&cfg, ROUTE_WRITE, "bearer full", &err), 0);
  cr_expect_eq(check(&cfg, ROUTE_WRITE, "BEARER   full", &err), 0);
}

Test(auth, read_token_reads_but_may_not_write) {
  config cfg = tokens("full", "reader");
  api_error err;
  cr_expect_eq(check(&cfg, ROUTE_READ, "Bearer reader", &err), 0);
  cr_expect_eq(check(&cfg, ROUTE_WRITE, "Bearer reader", &err), -API_FORBIDDEN);
  cr_expect_eq(err.code, API_FORBIDDEN);
  cr_expect_eq(api_code_status(API_FORBIDDEN), 403);
  cr_expect_str_eq(api_code_name(API_FORBIDDEN), "forbidden");
}

Test(auth, daemon_routes_have_the_intended_access) {
  size_t n;
  const route *t = router_table(&n);
  size_t open = 0;
  for (size_t i = 0; i < n; i++) {
    const route *r = &t[i];
    /* POSTs that change nothing and cost one request's predictions */
    bool predict = (strstr(r->pattern, "/predict") != NULL &&
                    strncmp(r->pattern, "/v1/predictions", 15) != 0) ||
                   strstr(r->pattern, "/infer") != NULL ||
                   strstr(r->pattern, "/trace") != NULL;
    bool probe = strcmp(r->pattern, "/healthz") == 0;
    bool dashboard = strcmp(r->pattern, "/") == 0 || strncmp(r->pattern, "/ui/", 4) == 0;
    if (probe || dashboard) {
      cr_expect_eq(r->access, ROUTE_OPEN, "%s %s", r->method, r->pattern);
    } else if (strcmp(r->method, "GET") == 0 || predict) {
      cr_expect_eq(r->access, ROUTE_READ, "%s %s", r->method, r->pattern);
    } else {
      cr_expect_eq(r->access, ROUTE_WRITE, "%s %s", r->method, r->pattern);
    }
    open += r->access == ROUTE_OPEN;
  }
  cr_expect_eq(open, 3, "only /healthz and the dashboard's files are open");
}

/* Is this numeric address (IPv6 when it has a ':') loopback? */
static bool loopback(const char *ip) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (strchr(ip, ':') != NULL) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    cr_assert_eq(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    cr_assert_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1);
  }
  return auth_loopback(&ss);
}

Test(auth, loopback_addresses) {
  const char *local[] = {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"};
  const char *remote[] = {"0.0.0.0", "10.0.0.1", "128.0.0.1", "::", "::ffff:10.0.0.1", "fe80::1"};
  for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
    cr_expect(loopback(local[i]), "%s", local[i]);
  for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
    cr_expect_not(loopback(remote[i]), "%s", remote[i]);
}

/* ---- token settings (config.c) ---------------------------------------------- */

static char err_text[512];

static int parse(config *cfg, char *const env[], char *const args[]) {
  char *argv[16] = {"traind"};
  int argc = 1;
  for (; args[argc - 1] != NULL; argc++) argv[argc] = args[argc - 1];
  err_text[0] = '\0';
  return config_parse(cfg, argc, argv, env, err_text, sizeof err_text);
}

#define ARGS(...) ((char *const[]){__VA_ARGS__, NULL})
#define ENV(...) ((char *const[]){__VA_ARGS__, NULL})
#define NO_ENV ((char *const[]){NULL})

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

Test(auth_config, tokens_from_flags_and_env) {
  config cfg;
  cr_assert_eq(parse(&cfg, NO_ENV, ARGS("--token", "t1", "--read-token=r1")), CONFIG_RUN, "%s",
               err_text);
  cr_expect_str_eq(cfg.token, "t1");
  cr_expect_str_eq(cfg.read_token, "r1");
  cr_expect_eq(cfg.insecure, 0);
  cr_assert_eq(parse(&cfg, ENV("TRAIND_TOKEN=e1", "TRAIND_INSECURE=1"), ARGS("--workers", "1")),
               CONFIG_RUN, "%s", err_text);
  cr_expect_str_eq(cfg.token, "e1");
  cr_expect_str_eq(cfg.read_token, "");
  cr_expect_eq(cfg.insecure, 1);
  cr_assert_eq(parse(&cfg, ENV("TRAIND_TOKEN=e1"), ARGS("--token", "f1", "--insecure")),
               CONFIG_RUN, "%s", err_text);
  cr_expect_str_eq(cfg.token, "f1", "a flag beats its variable");
  cr_expect_eq(cfg.insecure, 1);
}

Test(auth_config, token_file_is_read_without_its_newline) {
  char path[] = "/tmp/traind-token-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  write_file(path, "from-file\n", 0600);
  config cfg;
  char flag[64];
  snprintf(flag, sizeof flag, "--token-file=%s", path);
  cr_expect_eq(parse(&cfg, NO_ENV, ARGS(flag)), CONFIG_RUN, "%s", err_text);
  cr_expect_str_eq(cfg.token, "from-file");
  write_file(path, "crlf\r\n", 0644); /* readable by others: a warning, not an error */
  cr_expect_eq(parse(&cfg, NO_ENV, ARGS("--token", "x", "--read-token-file", path)), CONFIG_RUN,
               "%s", err_text);
  cr_expect_str_eq(cfg.read_token, "crlf");

  const char *bad[] = {"", "\n", "two words\n", "a\nb\n", "tok\n\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    write_file(path, bad[i], 0600);
    cr_expect_eq(parse(&cfg, NO_ENV, ARGS(flag)), -1, "file content '%s' accepted", bad[i]);
    cr_expect(strstr(err_text, "--token-file") != NULL, "%s", err_text);
  }
  unlink(path);
  cr_expect_eq(parse(&cfg, NO_ENV, ARGS(flag)), -1);
  cr_expect(strstr(err_text, "cannot open") != NULL, "%s", err_text);
}

Test(auth_config, bad_token_settings) {
  config cfg;
  struct {
    char *const *env;
    char *const *args;
    const char *names;
  } cases[] = {
      {NO_ENV, ARGS("--token", "has space"), "--token"},
      {NO_ENV, ARGS("--token", "tab\there"), "--token"},
      {ENV("TRAIND_TOKEN=caf\xc3\xa9"), ARGS("--workers", "1"), "TRAIND_TOKEN"},
      {NO_ENV, ARGS("--read-token", "r"), "read-only token needs a full token"},
      {NO_ENV, ARGS("--token", "same", "--read-token", "same"), "must differ"},
      {NO_ENV, ARGS("--token", "a", "--token-file", "/nonexistent"), "--token and --token-file"},
      {ENV("TRAIND_READ_TOKEN=a", "TRAIND_READ_TOKEN_FILE=/x"), ARGS("--token", "t"),
       "TRAIND_READ_TOKEN and TRAIND_READ_TOKEN_FILE"},
      {NO_ENV, ARGS("--insecure=1"), "--insecure takes no value"},
      {ENV("TRAIND_INSECURE=yes"), ARGS("--workers", "1"), "TRAIND_INSECURE"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cr_expect_eq(parse(&cfg, cases[i].env, cases[i].args), -1, "case %zu accepted", i);
    cr_expect(strstr(err_text, cases[i].names) != NULL, "case %zu: '%s' lacks '%s'", i, err_text,
              cases[i].names);
  }
  char long_token[CONFIG_TOKEN_MAX + 1];
  memset(long_token, 'x', sizeof long_token - 1);
  long_token[sizeof long_token - 1] = '\0';
  cr_expect_eq(parse(&cfg, NO_ENV, ARGS("--token", long_token)), -1);
  long_token[CONFIG_TOKEN_MAX - 1] = '\0';
  cr_expect_eq(parse(&cfg, NO_ENV, ARGS("--token", long_token)), CONFIG_RUN, "%s", err_text);
}
