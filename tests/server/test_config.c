/* test_config.c — flags, environment, precedence and strict values. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "../../server/config.h"

static char err[512];

/* Parse a NULL-terminated argument list (without argv[0]) under env. */
static int parse_env(config *cfg, char *const env[], char *const args[]) {
  char *argv[32] = {"traind"};
  int argc = 1;
  for (; args[argc - 1] != NULL; argc++) argv[argc] = args[argc - 1];
  err[0] = '\0';
  return config_parse(cfg, argc, argv, env, err, sizeof err);
}

#define ARGS(...) ((char *const[]){__VA_ARGS__, NULL})
#define NO_ARGS ((char *const[]){NULL})
#define ENV(...) ((char *const[]){__VA_ARGS__, NULL})
#define NO_ENV ((char *const[]){NULL})

static void expect_bad(char *const env[], char *const args[], const char *names) {
  config cfg;
  cr_expect_eq(parse_env(&cfg, env, args), -1, "accepted; expected an error about %s", names);
  cr_expect(strstr(err, names) != NULL, "'%s' does not name %s", err, names);
}

Test(config, defaults) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, NO_ENV, NO_ARGS), CONFIG_RUN, "%s", err);
  cr_expect_str_eq(cfg.listen_host, "127.0.0.1");
  cr_expect_eq(cfg.listen_port, 8080);
  cr_expect_eq(cfg.listen_addr.ss_family, AF_INET);
  cr_expect_eq(cfg.listen_addr_len, sizeof(struct sockaddr_in));
  const struct sockaddr_in *a4 = (const struct sockaddr_in *)&cfg.listen_addr;
  cr_expect_eq(ntohs(a4->sin_port), 8080);
  cr_expect_eq(ntohl(a4->sin_addr.s_addr), INADDR_LOOPBACK);
  cr_expect_str_eq(cfg.db_path, "./traind.db");
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  cr_expect_eq(cfg.workers, (unsigned)(cores < 1 ? 1 : cores));
  cr_expect_eq(cfg.max_body, 1u << 20);
  cr_expect_eq(cfg.max_dataset_body, 256u << 20);
  cr_expect_eq(cfg.max_streams, 256);
  cr_expect_eq(cfg.keepalive, 15);
  cr_expect_eq(cfg.max_connections, 1024);
  cr_expect_eq(cfg.max_connections_per_ip, 256);
  cr_expect_eq(cfg.client_timeout, 30);
  cr_expect_eq(cfg.versions_kept, 10);
  cr_expect_str_eq(cfg.tls_cert, "", "plain HTTP by default");
  cr_expect_str_eq(cfg.tls_key, "");
}

Test(config, event_stream_settings) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--max-streams", "2", "--stream-keepalive=1")),
               CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.max_streams, 2);
  cr_expect_eq(cfg.keepalive, 1);
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_MAX_STREAMS=4096", "TRAIND_STREAM_KEEPALIVE=25"),
                         NO_ARGS),
               CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.max_streams, 4096);
  cr_expect_eq(cfg.keepalive, 25);
  const char *bad[] = {"0", "-1", "x", "", " 3", "2.5", "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_bad(NO_ENV, ARGS("--max-streams", (char *)bad[i]), "--max-streams");
    expect_bad(NO_ENV, ARGS("--stream-keepalive", (char *)bad[i]), "--stream-keepalive");
  }
  expect_bad(NO_ENV, ARGS("--max-streams", "4097"), "--max-streams");
  /* the HTTP layer drops connections idle for 30 s: keepalives come sooner */
  expect_bad(NO_ENV, ARGS("--stream-keepalive", "26"), "--stream-keepalive");
  /* keepalives come before the HTTP layer drops a silent connection */
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--client-timeout", "10")), CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.keepalive, 5);
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--client-timeout", "10", "--stream-keepalive", "9")),
               CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.keepalive, 9);
  expect_bad(ENV("TRAIND_MAX_STREAMS=lots"), NO_ARGS, "TRAIND_MAX_STREAMS");
  expect_bad(ENV("TRAIND_STREAM_KEEPALIVE=0"), NO_ARGS, "TRAIND_STREAM_KEEPALIVE");
}

Test(config, flags) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, NO_ENV,
                         ARGS("--listen", "0.0.0.0:9000", "--db=/tmp/t.db", "--workers", "3",
                              "--max-body", "2K", "--max-dataset-body=1G")),
               CONFIG_RUN, "%s", err);
  cr_expect_str_eq(cfg.listen_host, "0.0.0.0");
  cr_expect_eq(cfg.listen_port, 9000);
  cr_expect_str_eq(cfg.db_path, "/tmp/t.db");
  cr_expect_eq(cfg.workers, 3);
  cr_expect_eq(cfg.max_body, 2048);
  cr_expect_eq(cfg.max_dataset_body, 1ull << 30);
}

Test(config, connection_limits_and_timeout) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_MAX_CONNECTIONS=50", "TRAIND_CLIENT_TIMEOUT=7"),
                         ARGS("--max-connections-per-ip", "5", "--max-connections=16384")),
               CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.max_connections, 16384, "a flag beats its variable");
  cr_expect_eq(cfg.max_connections_per_ip, 5);
  cr_expect_eq(cfg.client_timeout, 7);
  const char *bad[] = {"0", "-1", "x", "1.5", " 3", "16385", "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_bad(NO_ENV, ARGS("--max-connections", (char *)bad[i]), "--max-connections");
    expect_bad(NO_ENV, ARGS("--max-connections-per-ip", (char *)bad[i]),
               "--max-connections-per-ip");
    expect_bad(NO_ENV, ARGS("--client-timeout", (char *)bad[i]), "--client-timeout");
  }
  expect_bad(NO_ENV, ARGS("--client-timeout", "3601"), "between 1 and 3600");
  expect_bad(ENV("TRAIND_MAX_CONNECTIONS_PER_IP=0"), NO_ARGS, "TRAIND_MAX_CONNECTIONS_PER_IP");
}

Test(config, weights_versions_kept) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_KEEP_VERSIONS=3"), NO_ARGS), CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.versions_kept, 3);
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_KEEP_VERSIONS=3"), ARGS("--keep-versions=100000")),
               CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.versions_kept, 100000, "a flag beats its variable");
  const char *bad[] = {"0", "-1", "x", "1.5", "100001", "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad(NO_ENV, ARGS("--keep-versions", (char *)bad[i]), "--keep-versions");
  expect_bad(ENV("TRAIND_KEEP_VERSIONS=none"), NO_ARGS, "TRAIND_KEEP_VERSIONS");
}

/* 0 stands for "from the machine", resolved by main (budget_default). */
Test(config, memory_budget_and_events_kept) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, NO_ENV, NO_ARGS), CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.memory_budget, 0);
  cr_expect_eq(cfg.events_kept, CONFIG_DEFAULT_EVENTS_KEEP);
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_MEMORY_BUDGET=2G", "TRAIND_EVENTS_KEEP=7"), NO_ARGS),
               CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.memory_budget, (size_t)2 << 30);
  cr_expect_eq(cfg.events_kept, 7);
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_MEMORY_BUDGET=2G"), ARGS("--memory-budget", "300M")),
               CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.memory_budget, (size_t)300 << 20, "a flag beats its variable");
  const char *bad[] = {"0", "-1", "x", "1.5G", "2T"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad(NO_ENV, ARGS("--memory-budget", (char *)bad[i]), "--memory-budget");
  expect_bad(NO_ENV, ARGS("--events-keep", "0"), "--events-keep");
  expect_bad(NO_ENV, ARGS("--events-keep", "1000000001"), "--events-keep");
  expect_bad(ENV("TRAIND_EVENTS_KEEP=lots"), NO_ARGS, "TRAIND_EVENTS_KEEP");
}

Test(config, tls_files_come_in_pairs) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_TLS_CERT=/env/cert.pem"),
                         ARGS("--tls-key", "/etc/key.pem")),
               CONFIG_RUN, "%s", err);
  cr_expect_str_eq(cfg.tls_cert, "/env/cert.pem");
  cr_expect_str_eq(cfg.tls_key, "/etc/key.pem");
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--tls-cert=c.pem", "--tls-key=k.pem")), CONFIG_RUN,
               "%s", err);
  cr_expect_str_eq(cfg.tls_cert, "c.pem", "only the paths: the files are read by main");
  expect_bad(NO_ENV, ARGS("--tls-cert", "c.pem"), "--tls-key");
  expect_bad(ENV("TRAIND_TLS_KEY=k.pem"), NO_ARGS, "--tls-cert");
  expect_bad(NO_ENV, ARGS("--tls-cert=", "--tls-key", "k.pem"), "--tls-cert");
}

Test(config, byte_suffixes_and_plain_counts) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--max-body", "1048577", "--max-dataset-body", "3m")),
               CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.max_body, 1048577);
  cr_expect_eq(cfg.max_dataset_body, 3u << 20);
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--max-body", "1024G")), CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.max_body, CONFIG_MAX_BYTES);
}

Test(config, ipv6_listen) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--listen", "[::1]:0")), CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.listen_addr.ss_family, AF_INET6);
  cr_expect_eq(cfg.listen_addr_len, sizeof(struct sockaddr_in6));
  cr_expect_str_eq(cfg.listen_host, "::1");
  cr_expect_eq(cfg.listen_port, 0);
  const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&cfg.listen_addr;
  cr_expect(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--listen", "[0:0::1]:65535")), CONFIG_RUN, "%s", err);
  cr_expect_str_eq(cfg.listen_host, "::1", "the address is normalized");
  cr_expect_eq(cfg.listen_port, 65535);
}

Test(config, environment) {
  config cfg;
  cr_assert_eq(parse_env(&cfg,
                         ENV("HOME=/root", "TRAIND_LISTEN=127.0.0.2:81", "TRAIND_DB=/var/t.db",
                             "TRAIND_WORKERS=5", "TRAIND_MAX_BODY=10", "TRAIND_MAX_DATASET_BODY=20",
                             "TRAIND_DBX=ignored"),
                         NO_ARGS),
               CONFIG_RUN, "%s", err);
  cr_expect_str_eq(cfg.listen_host, "127.0.0.2");
  cr_expect_eq(cfg.listen_port, 81);
  cr_expect_str_eq(cfg.db_path, "/var/t.db");
  cr_expect_eq(cfg.workers, 5);
  cr_expect_eq(cfg.max_body, 10);
  cr_expect_eq(cfg.max_dataset_body, 20);
}

Test(config, flags_beat_environment) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_WORKERS=5", "TRAIND_DB=/env.db"),
                         ARGS("--workers", "2")),
               CONFIG_RUN, "%s", err);
  cr_expect_eq(cfg.workers, 2);
  cr_expect_str_eq(cfg.db_path, "/env.db", "a variable without a flag still applies");
}

Test(config, last_flag_wins) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--workers", "2", "--workers=4")), CONFIG_RUN);
  cr_expect_eq(cfg.workers, 4);
}

Test(config, empty_variable_is_unset) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_WORKERS=", "TRAIND_DB="), NO_ARGS), CONFIG_RUN, "%s",
               err);
  cr_expect_str_eq(cfg.db_path, "./traind.db");
  cr_expect_geq(cfg.workers, 1);
}

Test(config, bad_workers) {
  const char *bad[] = {"0",   "-1",  "abc", "1025", "1 ",
                       " 1",  "+2",  "2.0", "",     "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_bad(NO_ENV, ARGS("--workers", (char *)bad[i]), "--workers");
  }
  expect_bad(ENV("TRAIND_WORKERS=many"), NO_ARGS, "TRAIND_WORKERS");
}

Test(config, threads) {
  config cfg;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  cr_assert_eq(parse_env(&cfg, NO_ENV, NO_ARGS), CONFIG_RUN);
  cr_expect_eq(cfg.threads, (unsigned)(cores < 1 ? 1 : cores));
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_THREADS=3"), ARGS("--threads", "7")), CONFIG_RUN);
  cr_expect_eq(cfg.threads, 7);
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_THREADS=3"), NO_ARGS), CONFIG_RUN);
  cr_expect_eq(cfg.threads, 3);
  const char *bad[] = {"0", "-1", "257", "two", "", "1.5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad(NO_ENV, ARGS("--threads", (char *)bad[i]), "--threads");
  expect_bad(ENV("TRAIND_THREADS=all"), NO_ARGS, "TRAIND_THREADS");
}

Test(config, bad_byte_counts) {
  const char *bad[] = {"0", "0K", "-5", "K", "1X", "1KB", "1.5M", " 1", "1 ", "2048G",
                       "1099511627777", "18446744073709551617"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_bad(NO_ENV, ARGS("--max-body", (char *)bad[i]), "--max-body");
    expect_bad(NO_ENV, ARGS("--max-dataset-body", (char *)bad[i]), "--max-dataset-body");
  }
  expect_bad(ENV("TRAIND_MAX_BODY=lots"), NO_ARGS, "TRAIND_MAX_BODY");
  expect_bad(ENV("TRAIND_MAX_DATASET_BODY=0"), NO_ARGS, "TRAIND_MAX_DATASET_BODY");
}

Test(config, bad_listen) {
  const char *bad[] = {"localhost:8080", "127.0.0.1",     "127.0.0.1:",      "127.0.0.1:65536",
                       "127.0.0.1:-1",   "127.0.0.1:80x", "127.0.0.1:+80",   ":8080",
                       "::1:8080",       "[::1]8080",     "[::1]:",          "[::1:8080",
                       "[127.0.0.1]:80", "1.2.3:80",      "256.0.0.1:80",    "[fe80::1%lo]:80",
                       "127.0.0.1:99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_bad(NO_ENV, ARGS("--listen", (char *)bad[i]), "--listen");
  }
  expect_bad(ENV("TRAIND_LISTEN=*:80"), NO_ARGS, "TRAIND_LISTEN");
}

Test(config, bad_db) {
  expect_bad(NO_ENV, ARGS("--db="), "--db");
  static char long_path[CONFIG_PATH_MAX + 8];
  memset(long_path, 'a', sizeof long_path - 1);
  expect_bad(NO_ENV, ARGS("--db", long_path), "--db");
}

Test(config, bad_command_lines) {
  expect_bad(NO_ENV, ARGS("--port", "80"), "--port");
  expect_bad(NO_ENV, ARGS("serve"), "serve");
  expect_bad(NO_ENV, ARGS("--workers"), "--workers");
  expect_bad(NO_ENV, ARGS("-w", "2"), "-w");
}

Test(config, an_error_leaves_the_flag_value_in_the_message) {
  expect_bad(NO_ENV, ARGS("--workers", "seven"), "'seven'");
}

Test(config, help_and_version) {
  config cfg;
  cr_expect_eq(parse_env(&cfg, NO_ENV, ARGS("--help")), CONFIG_HELP);
  cr_expect_eq(parse_env(&cfg, NO_ENV, ARGS("-h")), CONFIG_HELP);
  cr_expect_eq(parse_env(&cfg, NO_ENV, ARGS("--version")), CONFIG_VERSION);
  cr_expect_eq(parse_env(&cfg, ENV("TRAIND_WORKERS=bad"), ARGS("--help")), CONFIG_HELP,
               "help works whatever the environment holds");
  cr_expect_eq(parse_env(&cfg, NO_ENV, ARGS("--workers", "2", "--version")), CONFIG_VERSION);
  const char *usage = config_usage();
  const char *names[] = {"--listen", "--db", "--workers", "--max-body", "--max-dataset-body",
                         "--max-streams", "--stream-keepalive", "--tls-cert", "--tls-key",
                         "--max-connections", "--max-connections-per-ip", "--client-timeout",
                         "--help", "--version", "TRAIND_LISTEN", "TRAIND_MAX_DATASET_BODY",
                         "TRAIND_MAX_STREAMS", "TRAIND_STREAM_KEEPALIVE", "TRAIND_TLS_CERT",
                         "TRAIND_CLIENT_TIMEOUT"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    cr_expect(strstr(usage, names[i]) != NULL, "usage lacks %s", names[i]);
  }
}

Test(config, allowed_hosts_and_tls_priorities) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, NO_ENV, NO_ARGS), CONFIG_RUN, "%s", err);
  cr_expect_str_eq(cfg.allowed_hosts, "", "loopback names only");
  cr_expect_str_eq(cfg.tls_priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_ALLOWED_HOSTS=x.example"),
                         ARGS("--allowed-hosts", "Trainer.Example,[FD00::1],10.0.0.2",
                              "--tls-priorities", "NORMAL")),
               CONFIG_RUN, "%s", err);
  cr_expect_str_eq(cfg.allowed_hosts, "trainer.example,[fd00::1],10.0.0.2", "lower-cased");
  cr_expect_str_eq(cfg.tls_priorities, "NORMAL");
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_ALLOWED_HOSTS=x.example"), NO_ARGS), CONFIG_RUN);
  cr_expect_str_eq(cfg.allowed_hosts, "x.example");
  char *bad[] = {"a.example:80", "a,,b", ",a", "a,", "a b", "[::1", "[zz]", "a/b", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_bad(NO_ENV, ARGS("--allowed-hosts", bad[i]), "--allowed-hosts");
  }
  char long_list[CONFIG_ALLOWED_HOSTS_MAX + 1];
  memset(long_list, 'a', sizeof long_list - 1);
  long_list[sizeof long_list - 1] = '\0';
  expect_bad(NO_ENV, ARGS("--allowed-hosts", long_list), "--allowed-hosts");
  expect_bad(NO_ENV, ARGS("--tls-priorities", ""), "--tls-priorities");
}

Test(config, mpi_settings) {
  config cfg;
  cr_assert_eq(parse_env(&cfg, NO_ENV, NO_ARGS), CONFIG_RUN, "%s", err);
  cr_expect(!cfg.mpi && cfg.mpi_hostfile[0] == '\0' && cfg.mpi_rank_bin[0] == '\0');
  cr_expect(cfg.mpi_allreduce == 1 && cfg.mpi_heartbeat_timeout == 60);
  cr_assert_eq(parse_env(&cfg, NO_ENV, ARGS("--mpi")), CONFIG_RUN, "%s", err);
  cr_expect(cfg.mpi);
  cr_assert_eq(parse_env(&cfg, ENV("TRAIND_MPI_HOSTFILE=/etc/hosts.mpi"),
                         ARGS("--mpi-allreduce", "4", "--mpi-interfaces", "eth0,10.0.0.0/24",
                              "--mpi-rank-bin", "/opt/traind-rank",
                              "--mpi-heartbeat-timeout", "5")),
               CONFIG_RUN, "%s", err);
  cr_expect(cfg.mpi, "a hostfile implies --mpi");
  cr_expect_str_eq(cfg.mpi_hostfile, "/etc/hosts.mpi");
  cr_expect_str_eq(cfg.mpi_interfaces, "eth0,10.0.0.0/24");
  cr_expect_str_eq(cfg.mpi_rank_bin, "/opt/traind-rank");
  cr_expect(cfg.mpi_allreduce == 4 && cfg.mpi_heartbeat_timeout == 5);
  expect_bad(NO_ENV, ARGS("--mpi-allreduce", "7"), "--mpi-allreduce");
  expect_bad(NO_ENV, ARGS("--mpi-heartbeat-timeout", "1"), "--mpi-heartbeat-timeout");
  expect_bad(NO_ENV, ARGS("--mpi-interfaces", "eth0 --mca x"), "--mpi-interfaces");
  expect_bad(ENV("TRAIND_MPI=yes"), NO_ARGS, "TRAIND_MPI");
}
