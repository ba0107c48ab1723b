/* test_rank_proto.c — the worker <-> rank 0 messages: round trips, and
 * every kind of damage refused before anything is trusted. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../server/rank_proto.h"

static nn_train_config some_config(void) {
  nn_train_config c;
  nn_train_config_defaults(&c);
  c.epochs = 7;
  c.batch_size = 33;
  c.shuffle = 0;
  c.validation_split = 0.25f;
  c.seed = 0x123456789abcdefull;
  c.optim.type = NN_OPT_RMSPROP;
  c.optim.lr = 0.125f;
  c.optim.momentum = 0.5f;
  c.optim.alpha = 0.875f;
  c.optim.weight_decay = 1e-4f;
  c.sched.type = NN_SCHED_STEP;
  c.sched.step_size = 3;
  c.sched.gamma = 0.5f;
  c.clip_norm = 2.0f;
  c.patience = 4;
  c.min_delta = 0.01f;
  return c;
}

Test(rank_proto, job_round_trips_field_by_field) {
  const uint8_t model[5] = {1, 2, 3, 4, 5}, data[3] = {9, 8, 7};
  rp_job j = {some_config(), 4, 3, model, sizeof model, data, sizeof data}, back;
  uint8_t *p;
  size_t len;
  cr_assert_eq(rp_job_encode(&j, &p, &len), RP_OK);
  cr_assert_eq(len, RP_CONFIG_BYTES + 16 + sizeof model + sizeof data);
  cr_assert_eq(rp_job_decode(p, len, &back), RP_OK);
  cr_expect_eq(memcmp(&back.config, &j.config, sizeof j.config), 0);
  cr_expect_eq(back.checkpoint_every, 4);
  cr_expect_eq(back.ranks, 3);
  cr_expect(back.model_len == 5 && memcmp(back.model, model, 5) == 0);
  cr_expect(back.data_len == 3 && memcmp(back.data, data, 3) == 0);
  /* every truncation is refused or leaves the data set shorter, never a
   * read past the end */
  for (size_t n = 0; n < RP_CONFIG_BYTES + 16 + sizeof model; n++)
    cr_expect_eq(rp_job_decode(p, n, &back), RP_EBAD, "length %zu", n);
  /* a model longer than the payload, an unknown optimizer, no ranks */
  uint8_t *bad = malloc(len);
  memcpy(bad, p, len);
  bad[RP_CONFIG_BYTES + 8] = 0xff;
  cr_expect_eq(rp_job_decode(bad, len, &back), RP_EBAD);
  memcpy(bad, p, len);
  bad[24] = 9; /* optim.type */
  cr_expect_eq(rp_job_decode(bad, len, &back), RP_EBAD);
  memcpy(bad, p, len);
  memset(bad + RP_CONFIG_BYTES + 4, 0, 4); /* ranks 0 */
  cr_expect_eq(rp_job_decode(bad, len, &back), RP_EBAD);
  free(bad);
  free(p);
}

Test(rank_proto, epoch_round_trips_with_and_without_a_checkpoint) {
  const uint8_t ckpt[4] = {0xde, 0xad, 0xbe, 0xef};
  rp_epoch e = {{.epoch = 12, .loss = 0.5, .val_loss = NAN, .accuracy = 0.75,
                 .val_accuracy = NAN, .lr = 0.01f, .seconds = 1.5, .samples = 300},
                1, 0xcafef00d, ckpt, sizeof ckpt}, back;
  uint8_t *p;
  size_t len;
  cr_assert_eq(rp_epoch_encode(&e, &p, &len), RP_OK);
  cr_assert_eq(rp_epoch_decode(p, len, &back), RP_OK);
  cr_expect(back.m.epoch == 12 && back.m.loss == 0.5 && isnan(back.m.val_loss) &&
            back.m.accuracy == 0.75 && back.m.lr == 0.01f && back.m.samples == 300);
  cr_expect(back.done == 1 && back.params_crc == 0xcafef00d);
  cr_expect(back.checkpoint_len == 4 && memcmp(back.checkpoint, ckpt, 4) == 0);
  for (size_t n = 0; n < len; n++) cr_expect_eq(rp_epoch_decode(p, n, &back), RP_EBAD);
  free(p);
  e.checkpoint = NULL;
  e.checkpoint_len = 0;
  cr_assert_eq(rp_epoch_encode(&e, &p, &len), RP_OK);
  cr_assert_eq(rp_epoch_decode(p, len, &back), RP_OK);
  cr_expect(back.checkpoint == NULL && back.checkpoint_len == 0);
  free(p);
}

/* A header announcing len bytes (its payload CRC left 0), its own CRC right. */
static void header_with_length(uint8_t h[RP_HEADER], rp_type type, uint64_t len) {
  rp_header_encode(h, type, NULL, 0);
  for (int i = 0; i < 8; i++) h[8 + i] = (uint8_t)(len >> (8 * i));
  uint32_t crc = nn_crc32(0, h, 20);
  for (int i = 0; i < 4; i++) h[20 + i] = (uint8_t)(crc >> (8 * i));
}

Test(rank_proto, header_refuses_damage_version_type_and_length) {
  const uint8_t payload[3] = {1, 2, 3};
  uint8_t h[RP_HEADER], bad[RP_HEADER];
  rp_header out;
  rp_header_encode(h, RP_HELLO, payload, sizeof payload);
  cr_assert_eq(rp_header_decode(h, &out), RP_OK);
  cr_expect(out.type == RP_HELLO && out.len == 3);
  cr_expect_eq(rp_payload_check(&out, payload), RP_OK);
  const uint8_t other[3] = {1, 2, 4};
  cr_expect_eq(rp_payload_check(&out, other), RP_EBAD);
  /* any flipped bit of the header */
  for (int i = 0; i < RP_HEADER * 8; i++) {
    memcpy(bad, h, sizeof h);
    bad[i / 8] ^= (uint8_t)(1u << (i % 8));
    cr_expect_eq(rp_header_decode(bad, &out), RP_EBAD, "bit %d", i);
  }
  /* well-formed headers the reader must still refuse: another version, an
   * unknown type, a length its type cannot have */
  rp_header_encode(bad, (rp_type)RP_TYPE_END, NULL, 0);
  cr_expect_eq(rp_header_decode(bad, &out), RP_EBAD);
  rp_header_encode(bad, (rp_type)0, NULL, 0);
  cr_expect_eq(rp_header_decode(bad, &out), RP_EBAD);
  rp_header_encode(bad, RP_ACK, payload, sizeof payload); /* ACK carries nothing */
  cr_expect_eq(rp_header_decode(bad, &out), RP_EBAD);
  header_with_length(bad, RP_ERROR, 4097);
  cr_expect_eq(rp_header_decode(bad, &out), RP_EBAD);
  header_with_length(bad, RP_JOB, RP_MAX_PAYLOAD + 1);
  cr_expect_eq(rp_header_decode(bad, &out), RP_EBAD);
  header_with_length(bad, RP_JOB, RP_MAX_PAYLOAD);
  cr_expect_eq(rp_header_decode(bad, &out), RP_OK);
  rp_header_encode(bad, RP_HELLO, payload, sizeof payload);
  bad[4] = 2; /* version 2, header CRC made right */
  uint32_t crc = nn_crc32(0, bad, 20);
  for (int i = 0; i < 4; i++) bad[20 + i] = (uint8_t)(crc >> (8 * i));
  cr_expect_eq(rp_header_decode(bad, &out), RP_EBAD);
}

Test(rank_proto, socket_messages_arrive_checked) {
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const uint8_t text[] = "Open MPI v4.1.4";
  cr_assert_eq(rp_send(sv[0], RP_HELLO, text, sizeof text - 1), RP_OK);
  cr_assert_eq(rp_send(sv[0], RP_ACK, NULL, 0), RP_OK);
  rp_header h;
  uint8_t *p;
  cr_assert_eq(rp_recv(sv[1], &h, &p), RP_OK);
  cr_expect(h.type == RP_HELLO && h.len == sizeof text - 1 && memcmp(p, text, h.len) == 0);
  free(p);
  cr_assert_eq(rp_recv(sv[1], &h, &p), RP_OK);
  cr_expect(h.type == RP_ACK && p == NULL);
  /* a payload damaged in transit */
  uint8_t raw[RP_HEADER + 3];
  rp_header_encode(raw, RP_ERROR, (const uint8_t *)"abc", 3);
  memcpy(raw + RP_HEADER, "abd", 3);
  cr_assert_eq(write(sv[0], raw, sizeof raw), (ssize_t)sizeof raw);
  cr_expect_eq(rp_recv(sv[1], &h, &p), RP_EBAD);
  cr_expect_null(p);
  /* a message cut short, then the end */
  cr_assert_eq(write(sv[0], raw, RP_HEADER + 1), RP_HEADER + 1);
  close(sv[0]);
  cr_expect_eq(rp_recv(sv[1], &h, &p), RP_EIO);
  cr_expect_eq(rp_recv(sv[1], &h, &p), RP_EEOF);
  close(sv[1]);
}

Test(rank_proto, data_set_file_form) {
  const float x[4] = {1, 2, 3, 4};
  const int32_t labels[2] = {0, 2};
  nn_data d = {.rows = 2, .features = 2, .x = x, .labels = labels, .classes = 3};
  uint8_t *p;
  size_t len;
  cr_assert_eq(rp_data_encode(&d, &p, &len), RP_OK);
  cr_assert_eq(len, 32 + 16 + 8);
  cr_expect_eq(memcmp(p, "TRDS", 4), 0);
  cr_expect_eq(p[20], 3); /* outputs: the classes */
  cr_expect_eq(p[24], 3);
  cr_expect_eq(memcmp(p + 32, x, 16), 0); /* little-endian host */
  cr_expect_eq(memcmp(p + 48, labels, 8), 0);
  free(p);
}
