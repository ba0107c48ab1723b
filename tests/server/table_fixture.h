/* table_fixture.h — a small table model's encoding for the daemon's unit
 * tests (model files, ONNX export): columns <category>, x, y where
 * <category> is named by the caller and holds red, blue; x is a number with
 * a blank; y the regression target. It encodes to 4 inputs (red, blue, the
 * other slot, x). */
#ifndef TESTS_SERVER_TABLE_FIXTURE_H
#define TESTS_SERVER_TABLE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/** The encoding as nn_encoder_save writes it (free it); asserts on failure. */
uint8_t *table_fixture_encoding(const char *category, size_t *len);

#endif
