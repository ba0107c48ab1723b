/*
 * fastmath.h — exp and tanh in float32 as branch-free polynomials, so the
 * activation loops vectorize (libm's expf/tanhf are calls the compiler
 * cannot vectorize without -ffast-math). Accuracy: exp 1 ulp, tanh 6 ulp
 * (3e-7 absolute), checked
 * against libm in tests/unit/test_fastmath.c.
 */
#ifndef NN_FASTMATH_H
#define NN_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* e^x: x = n ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial
 * (Cephes expf), 2^n assembled in the exponent bits. Inputs are clamped to
 * [-87.3, 88.37], where e^x stays a normal float. */
static inline float nn__expf(float x) {
  x = x < 88.37f ? x : 88.37f; /* e^x < FLT_MAX: 2^n stays finite */
  x = x > -87.3f ? x : -87.3f;
  /* n = round(x / ln2): adding 1.5 * 2^23 leaves n in the low mantissa bits,
   * with no float-to-int conversion (which keeps the loop vectorizable) */
  const float shift = 12582912.0f; /* bits 0x4b400000 */
  float kf = x * 1.44269504088896341f + shift;
  float n = kf - shift;
  /* r = x - n ln2, with ln2 split in two for exactness */
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t kbits;
  memcpy(&kbits, &kf, sizeof kbits);
  int32_t bits = (kbits - 0x4b400000 + 127) << 23; /* 2^n; n >= -126 keeps it positive */
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* tanh x as a 13/6 rational polynomial on [-7.9, 7.9] (Eigen's ptanh),
 * where it reaches +-1 in float; odd, so small inputs stay accurate. */
static inline float nn__tanhf(float x) {
  const float clamp = 7.90531110763549805f;
  x = x < clamp ? x : clamp;
  x = x > -clamp ? x : -clamp;
  float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * x;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return p / q;
}

/* 1 / (1 + e^-x); e^-x stays finite for every x after the clamp in nn__expf */
static inline float nn__sigmoidf(float x) { return 1.0f / (1.0f + nn__expf(-x)); }

#endif
