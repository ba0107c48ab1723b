/* test_fastmath.c — the vectorizable exp/tanh/sigmoid stay within a few ulp
 * of the exact (double precision) functions. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>

#include "../../core/fastmath.h"

/* error in units of the float spacing at the exact value */
static double ulps(float got, double want) {
  double spacing = fmax(ldexp(1.0, ilogb(want) - 23), (double)FLT_MIN * FLT_EPSILON);
  return fabs((double)got - want) / spacing;
}

Test(fastmath, exp_is_within_two_ulp) {
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 0.001) {
    double u = ulps(nn__expf((float)x), exp((double)(float)x));
    worst = fmax(worst, u);
  }
  cr_assert_leq(worst, 2.0, "worst error %g ulp", worst);
  cr_assert_eq(nn__expf(0.0f), 1.0f);
  cr_assert(isfinite(nn__expf(1000.0f)) && nn__expf(-1000.0f) >= 0.0f);
}

Test(fastmath, tanh_is_within_a_few_ulp_and_saturates) {
  double worst = 0;
  for (double x = -10.0; x <= 10.0; x += 0.0005) {
    float xf = (float)x;
    double want = tanh((double)xf);
    /* near zero, judge by relative error: tanh x ~ x */
    worst = fmax(worst, ulps(nn__tanhf(xf), want));
  }
  /* the rational fit peaks at ~5.4 ulp near |x| = 5.9, i.e. 3e-7 absolute */
  cr_assert_leq(worst, 6.0, "worst error %g ulp", worst);
  cr_assert_eq(nn__tanhf(0.0f), 0.0f);
  cr_assert_eq(nn__tanhf(50.0f), 1.0f);
  cr_assert_eq(nn__tanhf(-50.0f), -1.0f);
  cr_assert_gt(nn__tanhf(1e-30f), 0.0f);
}

Test(fastmath, sigmoid_is_accurate_and_finite_everywhere) {
  double worst = 0;
  for (double x = -30.0; x <= 30.0; x += 0.001) {
    float xf = (float)x;
    worst = fmax(worst, ulps(nn__sigmoidf(xf), 1.0 / (1.0 + exp(-(double)xf))));
  }
  cr_assert_leq(worst, 4.0, "worst error %g ulp", worst);
  cr_assert_eq(nn__sigmoidf(1000.0f), 1.0f);
  cr_assert_geq(nn__sigmoidf(-1000.0f), 0.0f);
  cr_assert_lt(nn__sigmoidf(-1000.0f), 1e-30f);
}
