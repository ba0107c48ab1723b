/* tls.c — read the certificate and key files and check them with GnuTLS. */
#include "tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

/* The whole of path (what), NUL-terminated, in *out (malloc'd).
 * @return its length, or -1 with err set */
static long read_pem(const char *path, const char *what, char **out, char *err,
                     size_t err_size) {
  long result = -1;
  char *text = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, err_size, "cannot open the TLS %s '%s': %s", what, path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (strcmp(what, "key") == 0 && fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
    log_write(LOG_WARN, "TLS key file '%s' is readable by every user; chmod 600 it", path);
  text = malloc(TLS_FILE_MAX + 1);
  if (text == NULL) {
    snprintf(err, err_size, "out of memory reading the TLS %s '%s'", what, path);
    goto exit;
  }
  errno = 0;
  size_t n = fread(text, 1, TLS_FILE_MAX + 1, f);
  if (ferror(f)) {
    snprintf(err, err_size, "cannot read the TLS %s '%s': %s", what, path,
             errno != 0 ? strerror(errno) : "read error");
    goto exit;
  }
  if (n > TLS_FILE_MAX) {
    snprintf(err, err_size, "the TLS %s '%s' is larger than %u bytes: not a PEM file", what,
             path, TLS_FILE_MAX);
    goto exit;
  }
  if (n == 0 || memchr(text, '\0', n) != NULL) {
    snprintf(err, err_size, "the TLS %s '%s' is %s", what, path,
             n == 0 ? "empty" : "binary, not PEM text");
    goto exit;
  }
  text[n] = '\0';
  char *fitted = realloc(text, n + 1); /* kept while the daemon runs */
  *out = fitted != NULL ? fitted : text;
  text = NULL;
  result = (long)n;

exit:
  free(text);
  fclose(f);
  return result;
}

/* At least one certificate, the first (the server's own) not expired. */
static int check_cert(const char *path, const gnutls_datum_t *pem, char *err, size_t err_size) {
  gnutls_x509_crt_t *certs = NULL;
  unsigned n = 0;
  int rc = gnutls_x509_crt_list_import2(&certs, &n, pem, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0 || n == 0) {
    snprintf(err, err_size, "the TLS certificate '%s' holds no PEM certificate: %s", path,
             rc < 0 ? gnutls_strerror(rc) : "none found");
    return -1;
  }
  time_t expires = gnutls_x509_crt_get_expiration_time(certs[0]);
  if (expires != (time_t)-1 && expires < time(NULL))
    log_write(LOG_WARN, "the TLS certificate '%s' has expired: clients will refuse it", path);
  for (unsigned i = 0; i < n; i++) gnutls_x509_crt_deinit(certs[i]);
  gnutls_free(certs);
  return 0;
}

static int check_key(const char *path, const gnutls_datum_t *pem, char *err, size_t err_size) {
  gnutls_x509_privkey_t key;
  int rc = gnutls_x509_privkey_init(&key);
  if (rc == 0) {
    rc = gnutls_x509_privkey_import2(key, pem, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_x509_privkey_deinit(key);
  }
  if (rc < 0) {
    snprintf(err, err_size,
             "the TLS key '%s' holds no unencrypted PEM private key: %s", path,
             gnutls_strerror(rc));
    return -1;
  }
  return 0;
}

/* What libmicrohttpd will do with the pair, which also checks they match. */
static int check_pair(const char *cert_path, const char *key_path, const gnutls_datum_t *cert,
                      const gnutls_datum_t *key, char *err, size_t err_size) {
  gnutls_certificate_credentials_t creds;
  int rc = gnutls_certificate_allocate_credentials(&creds);
  if (rc == 0) {
    rc = gnutls_certificate_set_x509_key_mem2(creds, cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(creds);
  }
  if (rc < 0) {
    snprintf(err, err_size, "the TLS certificate '%s' and key '%s' cannot serve together: %s",
             cert_path, key_path, gnutls_strerror(rc));
    return -1;
  }
  return 0;
}

int tls_priorities_check(const char *priorities, char *err, size_t err_size) {
  gnutls_priority_t cache;
  const char *at = NULL;
  int rc = gnutls_priority_init(&cache, priorities, &at);
  if (rc < 0) {
    snprintf(err, err_size, "--tls-priorities: '%s' is not a GnuTLS priority string (%s%s%.40s)",
             priorities, gnutls_strerror(rc), at != NULL ? " at: " : "", at != NULL ? at : "");
    return -1;
  }
  gnutls_priority_deinit(cache);
  return 0;
}

int tls_pem_load(const char *cert_path, const char *key_path, tls_pem *out, char *err,
                 size_t err_size) {
  tls_pem pem = {0};
  int rc = -1;
  long cert_len = read_pem(cert_path, "certificate", &pem.cert, err, err_size);
  long key_len = cert_len < 0 ? -1 : read_pem(key_path, "key", &pem.key, err, err_size);
  if (key_len < 0) goto exit;
  gnutls_datum_t cert = {(unsigned char *)pem.cert, (unsigned)cert_len};
  gnutls_datum_t key = {(unsigned char *)pem.key, (unsigned)key_len};
  if (check_cert(cert_path, &cert, err, err_size) < 0 ||
      check_key(key_path, &key, err, err_size) < 0 ||
      check_pair(cert_path, key_path, &cert, &key, err, err_size) < 0) {
    goto exit;
  }
  rc = 0;

exit:
  if (rc < 0) tls_pem_free(&pem);
  *out = pem;
  return rc;
}

void tls_pem_free(tls_pem *pem) {
  /* The key is a secret: do not leave it in freed memory. */
  if (pem->key != NULL) {
    volatile char *p = pem->key;
    while (*p != '\0') *p++ = '\0';
  }
  free(pem->key);
  free(pem->cert);
  *pem = (tls_pem){0};
}
