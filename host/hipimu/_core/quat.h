/* Quaternion kernels: scalar-first [w, x, y, z], Hamilton product, all static inline (the
 * filter's hot loop and the array kernels share them; no private copies).
 * q_AB rotates a vector from frame B into frame A; q_AC = q_AB * q_BC.
 * No Python here: the array wrappers are in quat.c / quat_py.h.
 */
#ifndef HIPIMU_QUAT_H
#define HIPIMU_QUAT_H

#include <math.h>

/* Hamilton product out = a * b (out may alias a or b). */
static inline void hq_mul(const double *a, const double *b, double *out)
{
    const double w = a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3];
    const double x = a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2];
    const double y = a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1];
    const double z = a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0];
    out[0] = w;
    out[1] = x;
    out[2] = y;
    out[3] = z;
}

/* Rotation matrix (row-major) of the unit quaternion q: v_earth = R v_sensor. */
static inline void hq_matrix(const double *q, double *r)
{
    const double w = q[0], x = q[1], y = q[2], z = q[3];
    r[0] = 1.0 - 2.0 * (y * y + z * z);
    r[1] = 2.0 * (x * y - w * z);
    r[2] = 2.0 * (w * y + x * z);
    r[3] = 2.0 * (w * z + x * y);
    r[4] = 1.0 - 2.0 * (x * x + z * z);
    r[5] = 2.0 * (y * z - w * x);
    r[6] = 2.0 * (x * z - w * y);
    r[7] = 2.0 * (w * x + y * z);
    r[8] = 1.0 - 2.0 * (x * x + y * y);
}

/* out = R(q) v (out may alias v). */
/* out = R v for a row-major 3x3 R (out may alias v). */
static inline void hq_mat_vec(const double *r, const double *v, double *out)
{
    const double a = r[0] * v[0] + r[1] * v[1] + r[2] * v[2];
    const double b = r[3] * v[0] + r[4] * v[1] + r[5] * v[2];
    const double c = r[6] * v[0] + r[7] * v[1] + r[8] * v[2];
    out[0] = a;
    out[1] = b;
    out[2] = c;
}

static inline void hq_rotate(const double *q, const double *v, double *out)
{
    double r[9];
    hq_matrix(q, r);
    hq_mat_vec(r, v, out);
}

/* Normalise q in place (left unchanged when its norm is below machine epsilon). */
static inline void hq_normalize_unit(double *q)
{
    const double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    if (n2 < 4.930380657631324e-32) { /* DBL_EPSILON^2 */
        return;
    }
    const double inv = 1.0 / sqrt(n2);
    q[0] *= inv;
    q[1] *= inv;
    q[2] *= inv;
    q[3] *= inv;
}


static inline void hq_conj(const double *q, double *out)
{
    out[0] = q[0];
    out[1] = -q[1];
    out[2] = -q[2];
    out[3] = -q[3];
}

static inline int hq_normalize(const double *q, double *out)
{
    const double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    if (!(n > 0.0) || !isfinite(n)) {
        out[0] = out[1] = out[2] = out[3] = NAN;
        return -1;
    }
    out[0] = q[0] / n;
    out[1] = q[1] / n;
    out[2] = q[2] / n;
    out[3] = q[3] / n;
    return 0;
}

static inline void hq_relative(const double *a, const double *b, double *out)
{
    double ac[4];
    hq_conj(a, ac);
    hq_mul(ac, b, out);
}

static inline void hq_euler_zxy(const double *q, double *out)
{
    /* R = Rz(a) Rx(b) Ry(c); with s = 2 / |q|^2 the matrix is exact for any non-zero q. */
    const double w = q[0], x = q[1], y = q[2], z = q[3];
    const double s = 2.0 / (w * w + x * x + y * y + z * z);
    const double r01 = s * (x * y - w * z);
    const double r11 = 1.0 - s * (x * x + z * z);
    const double r21 = s * (y * z + w * x);
    const double r20 = s * (x * z - w * y);
    const double r22 = 1.0 - s * (x * x + y * y);
    out[0] = atan2(-r01, r11);
    out[1] = atan2(r21, sqrt(r01 * r01 + r11 * r11));
    out[2] = atan2(-r20, r22);
}

static inline void hq_euler_yxz(const double *q, double *out)
{
    /* R = Ry(a) Rx(b) Rz(c) (the pelvis angles of hipimu.body.kinematics). */
    const double w = q[0], x = q[1], y = q[2], z = q[3];
    const double s = 2.0 / (w * w + x * x + y * y + z * z);
    const double r02 = s * (x * z + w * y);
    const double r22 = 1.0 - s * (x * x + y * y);
    const double r12 = s * (y * z - w * x);
    const double r10 = s * (x * y + w * z);
    const double r11 = 1.0 - s * (x * x + z * z);
    out[0] = atan2(r02, r22);
    out[1] = atan2(-r12, sqrt(r10 * r10 + r11 * r11));
    out[2] = atan2(r10, r11);
}

#endif
