/* Small vector and 3x3 matrix helpers of the orientation filter (static inline). */
#ifndef HIPIMU_FILTER_MATH_H
#define HIPIMU_FILTER_MATH_H

#include <math.h>
#include <string.h>

#include "quat.h"

#define HQF_PI 3.14159265358979323846
#define HQF_EPS 2.220446049250313e-16
#define DEG (HQF_PI / 180.0) /* rad per degree */

static inline double sq(double x)
{
    return x * x;
}

static inline void mat_vec(const double *r, const double *v, double *out)
{
    hq_mat_vec(r, v, out); /* the one kernel, in quat.h */
}

static inline double norm3(const double *v)
{
    return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

static inline void normalize_n(double *v, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        s += v[i] * v[i];
    }
    s = sqrt(s);
    if (s < HQF_EPS) {
        return;
    }
    for (int i = 0; i < n; i++) {
        v[i] /= s;
    }
}

static inline void clip_n(double *v, int n, double lim)
{
    for (int i = 0; i < n; i++) {
        if (v[i] < -lim) {
            v[i] = -lim;
        } else if (v[i] > lim) {
            v[i] = lim;
        }
    }
}

/* out = [cos(d/2), 0, 0, sin(d/2)] * q */
static inline void apply_delta(const double *q, double d, double *out)
{
    const double c = cos(0.5 * d), s = sin(0.5 * d);
    const double w = c * q[0] - s * q[3];
    const double x = c * q[1] - s * q[2];
    const double y = c * q[2] + s * q[1];
    const double z = c * q[3] + s * q[0];
    out[0] = w;
    out[1] = x;
    out[2] = y;
    out[3] = z;
}

static inline void mat3_mul(const double *a, const double *b, double *out)
{
    double t[9];
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            t[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
        }
    }
    memcpy(out, t, sizeof t);
}

/* out = a^T b */
static inline void mat3_mul_tf(const double *a, const double *b, double *out)
{
    double t[9];
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            t[3 * i + j] = a[i] * b[j] + a[3 + i] * b[3 + j] + a[6 + i] * b[6 + j];
        }
    }
    memcpy(out, t, sizeof t);
}

/* out = a b^T */
static inline void mat3_mul_ts(const double *a, const double *b, double *out)
{
    double t[9];
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            t[3 * i + j] =
                a[3 * i] * b[3 * j] + a[3 * i + 1] * b[3 * j + 1] + a[3 * i + 2] * b[3 * j + 2];
        }
    }
    memcpy(out, t, sizeof t);
}

static inline int mat3_inv(const double *m, double *out)
{
    const double A = m[4] * m[8] - m[5] * m[7];
    const double D = m[2] * m[7] - m[1] * m[8];
    const double G = m[1] * m[5] - m[2] * m[4];
    const double B = m[5] * m[6] - m[3] * m[8];
    const double E = m[0] * m[8] - m[2] * m[6];
    const double H = m[2] * m[3] - m[0] * m[5];
    const double C = m[3] * m[7] - m[4] * m[6];
    const double F = m[1] * m[6] - m[0] * m[7];
    const double I = m[0] * m[4] - m[1] * m[3];
    const double det = m[0] * A + m[1] * B + m[2] * C;
    if (det >= -HQF_EPS && det <= HQF_EPS) {
        memset(out, 0, 9 * sizeof(double));
        return -1;
    }
    const double r = 1.0 / det;
    out[0] = A * r;
    out[1] = D * r;
    out[2] = G * r;
    out[3] = B * r;
    out[4] = E * r;
    out[5] = H * r;
    out[6] = C * r;
    out[7] = F * r;
    out[8] = I * r;
    return 0;
}

/* cos(x) and sin(x)/x from x2 = x^2 via Taylor series for small x (exact to rounding for
 * |x| < 0.1): no square root on the per-sample path; the root only for larger angles. */
static inline void half_angle_sc2(double x2, double *c, double *sx)
{
    if (x2 < 0.025 * 0.025) {
        /* truncation error below x^8/8! < 4e-18: exact to rounding */
        *c = 1.0 - x2 * 0.5 * (1.0 - x2 * (1.0 / 12.0) * (1.0 - x2 * (1.0 / 30.0)));
        *sx = 1.0 - x2 * (1.0 / 6.0) * (1.0 - x2 * (1.0 / 20.0) * (1.0 - x2 * (1.0 / 42.0)));
    } else if (x2 < 0.1 * 0.1) {
        /* reciprocal constants: multiplications keep the dependency chain short */
        *c = 1.0 - x2 * 0.5 *
                       (1.0 - x2 * (1.0 / 12.0) *
                                  (1.0 - x2 * (1.0 / 30.0) *
                                             (1.0 - x2 * (1.0 / 56.0) * (1.0 - x2 * (1.0 / 90.0)))));
        *sx = 1.0 - x2 * (1.0 / 6.0) *
                        (1.0 - x2 * (1.0 / 20.0) *
                                   (1.0 - x2 * (1.0 / 42.0) *
                                              (1.0 - x2 * (1.0 / 72.0) * (1.0 - x2 * (1.0 / 110.0)))));
    } else {
        const double x = sqrt(x2);
        *c = cos(x);
        *sx = sin(x) / x;
    }
}

/* sin(x)/x and cos(x) via Taylor series for small x (exact to rounding for |x| < 0.1). */
static inline void half_angle_sc(double x, double *c, double *sx)
{
    half_angle_sc2(x * x, c, sx);
}

/* atan2(y, x) with a series for the small angles of the heading correction: for x > 0 and
 * |y| < 0.1 x, atan(u) (u = y / x) by its Taylor series to u^15 (truncation below
 * u^17/17 < 6e-19: exact to rounding); libm otherwise. */
static inline double atan2_small(double y, double x)
{
    if (x > 0.0 && fabs(y) < 0.1 * x) {
        const double u = y / x, u2 = u * u;
        return u * (1.0 - u2 * (1.0 / 3.0 - u2 * (1.0 / 5.0 - u2 * (1.0 / 7.0 - u2 * (1.0 / 9.0 -
               u2 * (1.0 / 11.0 - u2 * (1.0 / 13.0 - u2 * (1.0 / 15.0))))))));
    }
    return atan2(y, x);
}

#endif
