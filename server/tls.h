/*
 * tls.h — the HTTPS certificate and key, read and checked once at start.
 *
 * libmicrohttpd takes the PEM text itself (MHD_OPTION_HTTPS_MEM_CERT/KEY)
 * and, given a bad pair, only fails to start. Checking the pair here first,
 * with GnuTLS as libmicrohttpd does, lets main name the file at fault and
 * exit 2, a configuration error, like any other bad setting.
 */
#ifndef TRAIND_TLS_H
#define TRAIND_TLS_H

#include <stddef.h>

/* A PEM file larger than this is not a certificate chain or a key. */
#define TLS_FILE_MAX (1u << 20)

/* The PEM text of both files, NUL-terminated; both NULL: plain HTTP. */
typedef struct {
  char *cert;
  char *key;
} tls_pem;

/**
 * Read cert_path and key_path and check that the first holds a PEM
 * certificate (chain) and the second the unencrypted PEM private key that
 * matches it. Logs a warning when the key file is readable by every user or
 * the certificate has expired (served anyway: clients decide).
 * @param out receives the text; release it with tls_pem_free
 * @param err receives a one-line message naming the file at fault
 * @return 0, or -1 with err set and out empty
 */
int tls_pem_load(const char *cert_path, const char *key_path, tls_pem *out, char *err,
                 size_t err_size);

/**
 * Check a GnuTLS priority string (--tls-priorities) as libmicrohttpd will
 * use it, so that a bad one stops the start with a message rather than
 * failing every handshake.
 * @param err receives a one-line message quoting where the string goes wrong
 * @return 0, or -1 with err set
 */
int tls_priorities_check(const char *priorities, char *err, size_t err_size);

/** Free the text and empty out. An empty one is a no-op. */
void tls_pem_free(tls_pem *pem);

#endif
