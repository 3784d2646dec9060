/* Orientation filter core: a C11 port of VQF (D. Laidig, T. Seel, Information Fusion
 * 91:187-204, 2023; reference implementation https://github.com/dlaidig/vqf, MIT licence,
 * Copyright 2021 Daniel Laidig) with hipimu's extensions: a multi-rate structure
 * (per-sample strapdown integration and low-passes; corrections and the bias filter at
 * lower rates), online hard-iron estimation from pairs of magnetometer samples across a
 * rotation, an online gyroscope scale/misalignment estimate (a 3x3 error matrix in the
 * bias Kalman filter), per-sample time steps, non-finite samples treated as gaps, and a
 * forward-backward offline mode. See filter.h for the interface and docs/fusion.md for the
 * algorithm. The numpy reference hipimu/fusion_reference.py mirrors the causal filter.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

#define HQF_PI 3.14159265358979323846
#define HQF_EPS 2.220446049250313e-16
#define DEG (HQF_PI / 180.0)

static double sq(double x)
{
    return x * x;
}

/* ---- small vector / quaternion helpers ---------------------------------------------- */

/* A static inline twin of quat.c's hq_mul: it runs several times per sample in the
 * filter's hot loop, where a call across translation units (no LTO) costs measurably. */
static inline void qmul(const double *a, const double *b, double *out)
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
static inline void qmat(const double *q, double *r)
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

static inline void mat_vec(const double *r, const double *v, double *out)
{
    const double a = r[0] * v[0] + r[1] * v[1] + r[2] * v[2];
    const double b = r[3] * v[0] + r[4] * v[1] + r[5] * v[2];
    const double c = r[6] * v[0] + r[7] * v[1] + r[8] * v[2];
    out[0] = a;
    out[1] = b;
    out[2] = c;
}

static inline void qrot(const double *q, const double *v, double *out)
{
    double r[9];
    qmat(q, r);
    mat_vec(r, v, out);
}

static inline double norm3(const double *v)
{
    return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

static void normalize_n(double *v, int n)
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

static void clip_n(double *v, int n, double lim)
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
static void apply_delta(const double *q, double d, double *out)
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

static void mat3_mul(const double *a, const double *b, double *out)
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
static void mat3_mul_tf(const double *a, const double *b, double *out)
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
static void mat3_mul_ts(const double *a, const double *b, double *out)
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

static int mat3_inv(const double *m, double *out)
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

/* ---- filters ------------------------------------------------------------------------ */

static double gain_from_tau(double tau, double ts)
{
    if (tau < 0.0) {
        return 0.0;
    }
    if (tau == 0.0) {
        return 1.0;
    }
    return 1.0 - exp(-ts / tau);
}

/* Second-order Butterworth low-pass with the time constant tau (VQF's filterCoeffs). */
static void lp_coeffs(double tau, double ts, double *b, double *a)
{
    if (tau < ts / 2.0) {
        b[0] = 1.0;
        b[1] = b[2] = 0.0;
        a[0] = a[1] = 0.0;
        return;
    }
    const double fc = (sqrt(2.0) / (2.0 * HQF_PI)) / tau;
    const double c = tan(HQF_PI * fc * ts);
    const double d = c * c + sqrt(2.0) * c + 1.0;
    const double b0 = c * c / d;
    b[0] = b0;
    b[1] = 2.0 * b0;
    b[2] = b0;
    a[0] = 2.0 * (c * c - 1.0) / d;
    a[1] = (1.0 - sqrt(2.0) * c + c * c) / d;
}

static void lp_reset(hqf_lp *f)
{
    memset(f, 0, sizeof *f);
}

static void lp_init_state(hqf_lp *f, int n, const double *y, const double *b, const double *a)
{
    for (int i = 0; i < n; i++) {
        f->s[2 * i] = y[i] * (1.0 - b[0]);
        f->s[2 * i + 1] = y[i] * (b[2] - a[1]);
    }
    f->ready = 1;
}

static void lp_step(hqf_lp *f, const double *x, int n, double tau, double ts, const double *b,
                    const double *a, double *out)
{
    if (!f->ready) {
        /* average the first samples (for the duration tau), then start from that mean */
        f->count += 1.0;
        for (int i = 0; i < n; i++) {
            f->sum[i] += x[i];
            out[i] = f->sum[i] / f->count;
        }
        if (f->count * ts >= tau) {
            lp_init_state(f, n, out, b, a);
        }
        return;
    }
    for (int i = 0; i < n; i++) {
        const double xi = x[i];
        const double y = b[0] * xi + f->s[2 * i];
        f->s[2 * i] = b[1] * xi - a[0] * y + f->s[2 * i + 1];
        f->s[2 * i + 1] = b[2] * xi - a[1] * y;
        out[i] = y;
    }
}

/* 3-channel specialisation of lp_step for the per-sample filters (same arithmetic). */
static inline void lp3_step(hqf_lp *f, const double *x, double tau, double ts, const double *b,
                            const double *a, double *out)
{
    if (!f->ready) {
        lp_step(f, x, 3, tau, ts, b, a, out);
        return;
    }
    const double b0 = b[0], b1 = b[1], b2 = b[2], a0 = a[0], a1 = a[1];
    double *s = f->s;
    const double x0 = x[0], x1 = x[1], x2 = x[2];
    const double y0 = b0 * x0 + s[0];
    const double y1 = b0 * x1 + s[2];
    const double y2 = b0 * x2 + s[4];
    s[0] = b1 * x0 - a0 * y0 + s[1];
    s[1] = b2 * x0 - a1 * y0;
    s[2] = b1 * x1 - a0 * y1 + s[3];
    s[3] = b2 * x1 - a1 * y1;
    s[4] = b1 * x2 - a0 * y2 + s[5];
    s[5] = b2 * x2 - a1 * y2;
    out[0] = y0;
    out[1] = y1;
    out[2] = y2;
}

static void hi_evidence_clear(hqf_state *st);

/* ---- set-up --------------------------------------------------------------------------- */

void hqf_reset(hqf_state *st)
{
    const hqf_params *p = &st->p;
    st->gyr_quat[0] = 1.0;
    st->gyr_quat[1] = st->gyr_quat[2] = st->gyr_quat[3] = 0.0;
    memcpy(st->acc_quat, st->gyr_quat, sizeof st->acc_quat);
    st->delta = 0.0;
    st->rest_detected = 0;
    st->mag_dist_detected = 1;
    memset(st->last_acc_lp, 0, sizeof st->last_acc_lp);
    lp_reset(&st->acc_lp);
    st->k_mag_init = 1.0;
    memset(st->bias, 0, sizeof st->bias);
    memset(st->bias_p, 0, sizeof st->bias_p);
    st->bias_p[0] = st->bias_p[4] = st->bias_p[8] = st->bias_p0;
    lp_reset(&st->motion_r_lp);
    lp_reset(&st->motion_b_lp);
    st->rest_t = 0.0;
    memset(st->rest_gyr_lp, 0, sizeof st->rest_gyr_lp);
    lp_reset(&st->rest_gyr_lpf);
    st->rest_anchor_set = 0;
    st->rest_anchor_t = 0.0;
    memset(st->rest_anchor, 0, sizeof st->rest_anchor);
    memset(st->rest_anchor_p, 0, sizeof st->rest_anchor_p);
    memset(st->rest_anchor_m, 0, sizeof st->rest_anchor_m);
    memset(st->rest_anchor_cp, 0, sizeof st->rest_anchor_cp);
    memset(st->cal_m, 0, sizeof st->cal_m);
    memset(st->cal_p, 0, sizeof st->cal_p);
    for (int i = 0; i < 3; i++) {
        st->cal_p[13 * i] = st->bias_p0 * st->cal_u;
    }
    for (int i = 3; i < 12; i++) {
        st->cal_p[13 * i] = st->cal_s0;
    }
    memset(st->cal_hm, 0, sizeof st->cal_hm);
    st->cal_n = 0.0;
    st->cal_rev = 0;
    memset(st->cal_wsum, 0, sizeof st->cal_wsum);
    lp_reset(&st->cal_hm_lp[0]);
    lp_reset(&st->cal_hm_lp[1]);
    lp_reset(&st->cal_rmw_lp);
    memset(st->rest_acc_lp, 0, sizeof st->rest_acc_lp);
    lp_reset(&st->rest_acc_lpf);
    st->mag_ref_norm = 0.0;
    st->mag_ref_dip = 0.0;
    st->mag_undisturbed_t = 0.0;
    st->mag_reject_t = p->mag_max_rejection_time;
    st->mag_cand_norm = -1.0;
    st->mag_cand_dip = 0.0;
    st->mag_cand_t = 0.0;
    st->mag_norm_dip[0] = st->mag_norm_dip[1] = 0.0;
    lp_reset(&st->magnd_lp);
    st->hi_init = 0;
    st->hi_scale = 0.0;
    memset(st->hi_b, 0, sizeof st->hi_b);
    memset(st->hi_p, 0, sizeof st->hi_p);
    st->delta_c = 1.0;
    st->delta_s = 0.0;
    memcpy(st->acc_delta_quat, st->acc_quat, sizeof st->acc_delta_quat);
    st->acc_new = 0;
    st->acc_aligned = 0;
    st->bias_angle[0] = st->bias_angle[1] = 0.0;
    st->bias_t = 0.0;
    st->bias_n = 0.0;
    st->bias_count = 0;
    st->mag_new = 0;
    memset(st->last_mag, 0, sizeof st->last_mag);
    /* the first valid sample triggers a correction (fast initial convergence) */
    st->corr_count = st->corr_decim - 1;
    st->corr_t = 0.0;
    memset(st->hi_qa, 0, sizeof st->hi_qa);
    memset(st->hi_ma, 0, sizeof st->hi_ma);
    st->hi_dt = 0.0;
    st->hi_age = 0.0;
    st->hi_rej = 0;
    st->hi_active = 0;
    hi_evidence_clear(st);
    st->pending_dt = 0.0;
}

int hqf_init(hqf_state *st, const double *params, double rate_hz)
{
    if (!(rate_hz > 0.0) || !isfinite(rate_hz)) {
        return -1;
    }
    memset(st, 0, sizeof *st);
    hqf_params_from_vector(&st->p, params);
    const hqf_params *p = &st->p;
    const double ts = 1.0 / rate_hz;
    st->ts = ts;
    st->rate = rate_hz;
    if (!(p->tau_acc > 0.0) || !(p->rest_filter_tau > 0.0)) {
        return -1;
    }
    int cdecim = (int)lround(rate_hz / fmax(p->correction_rate_hz, 1e-3));
    st->corr_decim = cdecim < 1 ? 1 : (cdecim > 1000 ? 1000 : cdecim);
    const double cts = ts * (double)st->corr_decim;
    st->corr_ts = cts;
    lp_coeffs(p->tau_acc, ts, st->acc_b, st->acc_a);
    if (!(p->gyro_cal_sigma >= 0.0) || !(p->gyro_cal_clip >= 0.0)) {
        return -1;
    }
    st->cal_on = p->gyro_cal_sigma > 0.0 &&
                 (p->motion_bias != 0.0 || p->rest_bias != 0.0);
    st->cal_u = sq(0.01 * DEG);
    st->cal_s0 = sq(p->gyro_cal_sigma * 0.01);
    st->cal_clip = p->gyro_cal_clip * 0.01;
    /* with the scale/misalignment estimator, the (12-state) bias filter runs at its own,
     * lower rate: its update costs ten times VQF's 3-state one */
    const double brate = st->cal_on ? p->gyro_cal_rate_hz : p->bias_rate_hz;
    int bdecim = (int)lround(p->correction_rate_hz / fmax(brate, 1e-3));
    st->bias_decim = bdecim < 1 ? 1 : (bdecim > 1000 ? 1000 : bdecim);
    st->bias_ts = cts * (double)st->bias_decim;
    lp_coeffs(p->tau_acc, st->bias_ts, st->bias_lp_b, st->bias_lp_a);
    st->k_mag = gain_from_tau(p->tau_mag, cts);
    st->bias_p0 = sq(p->bias_sigma_init * 100.0);
    st->bias_v = sq(0.1 * 100.0) * ts / p->bias_forgetting_time;
    const double p_motion = sq(p->bias_sigma_motion * 100.0);
    st->bias_motion_w = sq(p_motion) / st->bias_v + p_motion;
    st->bias_vertical_w = st->bias_motion_w / fmax(p->bias_vertical_forgetting, 1e-10);
    const double p_rest = sq(p->bias_sigma_rest * 100.0);
    st->bias_rest_w = sq(p_rest) / st->bias_v + p_rest;
    st->bias_clip = p->bias_clip * DEG;
    st->rest_th_gyr2 = sq(p->rest_th_gyr * DEG);
    st->rest_th_acc2 = sq(p->rest_th_acc);
    lp_coeffs(p->rest_filter_tau, ts, st->rest_b, st->rest_a);
    st->k_mag_ref = gain_from_tau(p->mag_ref_tau, cts);
    if (p->mag_current_tau > 0.0) {
        lp_coeffs(p->mag_current_tau, cts, st->magnd_b, st->magnd_a);
    }
    st->hi_cos_half_angle = cos(0.5 * p->hard_iron_min_angle * DEG);
    hqf_reset(st);
    return 0;
}

void hqf_quat6d(const hqf_state *st, double *out)
{
    qmul(st->acc_quat, st->gyr_quat, out);
}

void hqf_quat9d(const hqf_state *st, double *out)
{
    /* [cos(delta/2), 0, 0, sin(delta/2)] * acc_quat * gyr_quat; the first two factors only
     * change at correction steps and are kept multiplied in st->acc_delta_quat */
    qmul(st->acc_delta_quat, st->gyr_quat, out);
}

/* Refresh acc_delta_quat after acc_quat or delta changed. */
static void update_acc_delta(hqf_state *st)
{
    const double c = st->delta_c, s = st->delta_s;
    const double *q = st->acc_quat;
    double *out = st->acc_delta_quat;
    out[0] = c * q[0] - s * q[3];
    out[1] = c * q[1] - s * q[2];
    out[2] = c * q[2] + s * q[1];
    out[3] = c * q[3] + s * q[0];
}

/* ---- update steps ----------------------------------------------------------------------- */

/* sin(x)/x and cos(x) via Taylor series for small x (exact to rounding for |x| < 0.1). */
static inline void half_angle_sc(double x, double *c, double *sx)
{
    if (fabs(x) < 0.025) {
        /* truncation error below x^8/8! < 4e-18: exact to rounding */
        const double x2 = x * x;
        *c = 1.0 - x2 * 0.5 * (1.0 - x2 * (1.0 / 12.0) * (1.0 - x2 * (1.0 / 30.0)));
        *sx = 1.0 - x2 * (1.0 / 6.0) * (1.0 - x2 * (1.0 / 20.0) * (1.0 - x2 * (1.0 / 42.0)));
    } else if (fabs(x) < 0.1) {
        /* reciprocal constants: multiplications keep the dependency chain short */
        const double x2 = x * x;
        *c = 1.0 - x2 * 0.5 *
                       (1.0 - x2 * (1.0 / 12.0) *
                                  (1.0 - x2 * (1.0 / 30.0) *
                                             (1.0 - x2 * (1.0 / 56.0) * (1.0 - x2 * (1.0 / 90.0)))));
        *sx = 1.0 - x2 * (1.0 / 6.0) *
                        (1.0 - x2 * (1.0 / 20.0) *
                                   (1.0 - x2 * (1.0 / 42.0) *
                                              (1.0 - x2 * (1.0 / 72.0) * (1.0 - x2 * (1.0 / 110.0)))));
    } else {
        *c = cos(x);
        *sx = sin(x) / x;
    }
}

static void quat_normalize(double *q)
{
    const double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    if (n2 < HQF_EPS * HQF_EPS) {
        return;
    }
    const double inv = 1.0 / sqrt(n2);
    q[0] *= inv;
    q[1] *= inv;
    q[2] *= inv;
    q[3] *= inv;
}

/* Per-sample gyroscope step: rest detection low-pass and strapdown integration. */
static void update_gyr(hqf_state *st, const double *gyr, double dt)
{
    const hqf_params *p = &st->p;
    if (p->rest_bias != 0.0 || p->mag_rejection != 0.0) {
        lp3_step(&st->rest_gyr_lpf, gyr, p->rest_filter_tau, st->ts, st->rest_b, st->rest_a,
                 st->rest_gyr_lp);
        const double dev = sq(gyr[0] - st->rest_gyr_lp[0]) + sq(gyr[1] - st->rest_gyr_lp[1]) +
                           sq(gyr[2] - st->rest_gyr_lp[2]);
        const double clip = st->bias_clip;
        if (dev >= st->rest_th_gyr2 || fabs(st->rest_gyr_lp[0]) > clip ||
            fabs(st->rest_gyr_lp[1]) > clip || fabs(st->rest_gyr_lp[2]) > clip) {
            st->rest_t = 0.0;
            st->rest_detected = 0;
        }
    }
    double g[3] = {gyr[0] - st->bias[0], gyr[1] - st->bias[1], gyr[2] - st->bias[2]};
    if (st->cal_on) {
        /* scale/misalignment correction; the gyro sum of the correction block feeds the
         * regressor of M (cal_block) */
        const double *m = st->cal_m;
        const double w0 = gyr[0], w1 = gyr[1], w2 = gyr[2];
        g[0] -= m[0] * w0 + m[1] * w1 + m[2] * w2;
        g[1] -= m[3] * w0 + m[4] * w1 + m[5] * w2;
        g[2] -= m[6] * w0 + m[7] * w1 + m[8] * w2;
        st->cal_wsum[0] += w0;
        st->cal_wsum[1] += w1;
        st->cal_wsum[2] += w2;
        st->cal_n += 1.0;
    }
    const double gn2 = g[0] * g[0] + g[1] * g[1] + g[2] * g[2];
    if (gn2 > HQF_EPS * HQF_EPS) {
        double c, sx;
        const double half = 0.5 * sqrt(gn2) * dt;
        half_angle_sc(half, &c, &sx);
        const double s = sx * 0.5 * dt;
        const double step[4] = {c, s * g[0], s * g[1], s * g[2]};
        /* the step is unit to rounding: |q| drifts by ~1e-16 per step and is renormalised
         * at every correction step */
        qmul(st->gyr_quat, step, st->gyr_quat);
    }
}

/* The regressor of M over a correction block: the first two rows of R(q6) (earth x, y) at
 * the block's end times the sum of the block's gyro samples, added to the sums of the bias
 * block (the sum of R M gyr is that sum times M, M being constant within a bias block). */
static void cal_block(hqf_state *st)
{
    double q[4];
    qmul(st->acc_quat, st->gyr_quat, q);
    const double r[6] = {
        1.0 - 2.0 * (q[2] * q[2] + q[3] * q[3]), 2.0 * (q[1] * q[2] - q[0] * q[3]),
        2.0 * (q[0] * q[2] + q[1] * q[3]),       2.0 * (q[0] * q[3] + q[1] * q[2]),
        1.0 - 2.0 * (q[1] * q[1] + q[3] * q[3]), 2.0 * (q[2] * q[3] - q[0] * q[1])};
    const double w0 = st->cal_wsum[0], w1 = st->cal_wsum[1], w2 = st->cal_wsum[2];
    double *hm = st->cal_hm;
    for (int i = 0; i < 6; i++) {
        hm[3 * i] += r[i] * w0;
        hm[3 * i + 1] += r[i] * w1;
        hm[3 * i + 2] += r[i] * w2;
    }
    st->cal_wsum[0] = st->cal_wsum[1] = st->cal_wsum[2] = 0.0;
}

/* Per-sample accelerometer step: rest detection and the low-pass of the accelerometer in
 * the gyro-integrated (almost inertial) frame. */
static void sample_acc(hqf_state *st, const double *acc, double dt)
{
    const hqf_params *p = &st->p;
    const double ts = st->ts;
    if (p->rest_bias != 0.0) {
        lp3_step(&st->rest_acc_lpf, acc, p->rest_filter_tau, ts, st->rest_b, st->rest_a,
                 st->rest_acc_lp);
        const double dev = sq(acc[0] - st->rest_acc_lp[0]) + sq(acc[1] - st->rest_acc_lp[1]) +
                           sq(acc[2] - st->rest_acc_lp[2]);
        if (dev >= st->rest_th_acc2) {
            st->rest_t = 0.0;
            st->rest_detected = 0;
        } else {
            st->rest_t += dt;
            if (st->rest_t >= p->rest_min_t) {
                st->rest_detected = 1;
            }
        }
    }
    double v[3];
    qrot(st->gyr_quat, acc, v);
    lp3_step(&st->acc_lp, v, p->tau_acc, ts, st->acc_b, st->acc_a, st->last_acc_lp);
    st->acc_new = 1;
}

/* Rest bias gate (hipimu's addition to VQF). A slow rotation (a client settling into a
 * stance at 1-2 deg/s) passes VQF's rest test, which only bounds the gyro's deviation from
 * its own low-pass, and the rest update would learn it as bias. A gyro bias cannot change
 * by more than its uncertainty within seconds, so the low-passed rate is compared with an
 * anchor: the bias estimate (and covariance) held when the rest began, renewed every
 * rest_min_t while the rest lasts. A departure beyond rest_bias_gate standard deviations
 * of the anchor (and at least rest_bias_gate_min deg/s) ends the rest and restores the
 * anchor, undoing the bias updates made since. dt: time since the last call (s). Returns 1
 * while the rest stands. */
static void rest_anchor(hqf_state *st)
{
    memcpy(st->rest_anchor, st->bias, sizeof st->rest_anchor);
    memcpy(st->rest_anchor_p, st->bias_p, sizeof st->rest_anchor_p);
    if (st->cal_on) {
        memcpy(st->rest_anchor_m, st->cal_m, sizeof st->rest_anchor_m);
        memcpy(st->rest_anchor_cp, st->cal_p, sizeof st->rest_anchor_cp);
    }
    st->rest_anchor_set = 1;
    st->rest_anchor_t = 0.0;
}

static int rest_gate(hqf_state *st, double dt)
{
    const hqf_params *p = &st->p;
    if (!st->rest_anchor_set) {
        rest_anchor(st);
    }
    st->rest_anchor_t += dt;
    const double floor = p->rest_bias_gate_min * DEG;
    const double *m = st->rest_anchor_m, *w = st->rest_gyr_lp;
    for (int i = 0; i < 3; i++) {
        /* P is kept in units of (0.01 deg/s)^2, as in VQF */
        const double sigma = sqrt(fmax(st->rest_anchor_p[4 * i], 0.0)) * 0.01 * DEG;
        const double limit = fmax(floor, p->rest_bias_gate * sigma);
        double d = w[i] - st->rest_anchor[i];
        if (st->cal_on) {
            /* at rest the gyro reads bias + M gyr */
            d -= m[3 * i] * w[0] + m[3 * i + 1] * w[1] + m[3 * i + 2] * w[2];
        }
        if (fabs(d) > limit) {
            memcpy(st->bias, st->rest_anchor, sizeof st->bias);
            memcpy(st->bias_p, st->rest_anchor_p, sizeof st->bias_p);
            if (st->cal_on) {
                memcpy(st->cal_m, st->rest_anchor_m, sizeof st->cal_m);
                memcpy(st->cal_p, st->rest_anchor_cp, sizeof st->cal_p);
                st->cal_rev++;
            }
            st->rest_anchor_set = 0;
            st->rest_detected = 0;
            st->rest_t = 0.0;
            return 0;
        }
    }
    if (st->rest_anchor_t >= p->rest_min_t) {
        rest_anchor(st);
    }
    return 1;
}

/* Whether the bias filter takes a rest update (VQF's rest detection and the rest gate). */
static int rest_update(hqf_state *st, double nblk)
{
    const hqf_params *p = &st->p;
    int rest = st->rest_detected && p->rest_bias != 0.0;
    if (!rest) {
        st->rest_anchor_set = 0;
    } else if (p->rest_bias_gate > 0.0) {
        rest = rest_gate(st, nblk * st->ts);
    }
    return rest;
}

/* The motion bias measurement's low-passed rotation matrix R (3x3) and bias rows R b
 * (x, y), matching the accelerometer low-pass (VQF), shared by both bias filters. */
static void motion_lowpass(hqf_state *st, const double *q6, double *R, double *blp)
{
    const hqf_params *p = &st->p;
    qmat(q6, R);
    blp[0] = R[0] * st->bias[0] + R[1] * st->bias[1] + R[2] * st->bias[2];
    blp[1] = R[3] * st->bias[0] + R[4] * st->bias[1] + R[5] * st->bias[2];
    lp_step(&st->motion_r_lp, R, 9, p->tau_acc, st->bias_ts, st->bias_lp_b, st->bias_lp_a, R);
    lp_step(&st->motion_b_lp, blp, 2, p->tau_acc, st->bias_ts, st->bias_lp_b, st->bias_lp_a,
            blp);
}

/* Gyroscope bias Kalman filter (VQF's motion and rest bias estimation) at the correction
 * rate; corr_rate = the inclination correction angle (x, y) per second over the block. */
static void update_bias(hqf_state *st, const double *q6, const double *corr_rate, double nblk)
{
    const hqf_params *p = &st->p;
    const double clip = st->bias_clip;
    double R[9], blp[2], w[3], e[3];
    motion_lowpass(st, q6, R, blp);
    if (rest_update(st, nblk)) {
        e[0] = st->rest_gyr_lp[0] - st->bias[0];
        e[1] = st->rest_gyr_lp[1] - st->bias[1];
        e[2] = st->rest_gyr_lp[2] - st->bias[2];
        memset(R, 0, sizeof R);
        R[0] = R[4] = R[8] = 1.0;
        w[0] = w[1] = w[2] = st->bias_rest_w / nblk;
    } else if (p->motion_bias != 0.0) {
        e[0] = corr_rate[0] + blp[0] - R[0] * st->bias[0] - R[1] * st->bias[1] -
               R[2] * st->bias[2];
        e[1] = corr_rate[1] + blp[1] - R[3] * st->bias[0] - R[4] * st->bias[1] -
               R[5] * st->bias[2];
        e[2] = -R[6] * st->bias[0] - R[7] * st->bias[1] - R[8] * st->bias[2];
        w[0] = w[1] = st->bias_motion_w / nblk;
        w[2] = st->bias_vertical_w / nblk;
    } else {
        w[0] = w[1] = w[2] = -1.0;
    }
    double *P = st->bias_p;
    const double v = st->bias_v * nblk;
    if (P[0] < st->bias_p0) {
        P[0] += v;
    }
    if (P[4] < st->bias_p0) {
        P[4] += v;
    }
    if (P[8] < st->bias_p0) {
        P[8] += v;
    }
    if (w[0] >= 0.0) {
        clip_n(e, 3, clip);
        double K[9], PRt[9];
        mat3_mul_ts(P, R, PRt); /* P R^T */
        mat3_mul(R, PRt, K);    /* R P R^T */
        K[0] += w[0];
        K[4] += w[1];
        K[8] += w[2];
        mat3_inv(K, K);
        mat3_mul(PRt, K, K); /* K = P R^T inv(W + R P R^T) */
        st->bias[0] += K[0] * e[0] + K[1] * e[1] + K[2] * e[2];
        st->bias[1] += K[3] * e[0] + K[4] * e[1] + K[5] * e[2];
        st->bias[2] += K[6] * e[0] + K[7] * e[1] + K[8] * e[2];
        double KRP[9];
        mat3_mul_ts(K, PRt, KRP); /* K R P = K (P R^T)^T */
        for (int i = 0; i < 9; i++) {
            P[i] -= KRP[i];
        }
        clip_n(st->bias, 3, clip);
    }
}

/* The bias filter with the gyroscope scale/misalignment estimator (gyro_cal_sigma > 0):
 * a 12-state Kalman filter over x = [b, M] (omega = gyr - b - M gyr). In motion, the
 * inclination correction rate measures the low-passed earth-frame (x, y) gyro error:
 *     corr_rate + LP(R b_used) + LP(R M_used gyr) = LP(R) b + LP(R (x) gyr) m,
 * where the regressor of M_ij is LP(R[:, i] gyr_j) (block means of per-sample products,
 * low-passed like VQF's LP(R)); the vertical row is VQF's pseudo-measurement b_z = 0. At
 * rest: rest_gyr_lp = b + M rest_gyr_lp. The covariance is in SI units; the innovation
 * covariance is scaled to unit trace/3 before inverting (its determinant, ~1e-25 (rad/s)^6,
 * is below the singularity threshold otherwise). */
static void update_bias_cal(hqf_state *st, const double *q6, const double *corr_rate,
                            double nblk)
{
    const hqf_params *p = &st->p;
    const double u = st->cal_u;
    double R[9], blp[2], hm[18], rmw[2];
    motion_lowpass(st, q6, R, blp);
    const double inv_n = st->cal_n > 0.0 ? 1.0 / st->cal_n : 1.0;
    for (int k = 0; k < 18; k++) {
        hm[k] = st->cal_hm[k] * inv_n;
    }
    memset(st->cal_hm, 0, sizeof st->cal_hm);
    st->cal_n = 0.0;
    for (int r = 0; r < 2; r++) {
        double s = 0.0;
        for (int k = 0; k < 9; k++) {
            s += hm[9 * r + k] * st->cal_m[k];
        }
        rmw[r] = s;
    }
    for (int r = 0; r < 2; r++) {
        lp_step(&st->cal_hm_lp[r], hm + 9 * r, 9, p->tau_acc, st->bias_ts, st->bias_lp_b,
                st->bias_lp_a, hm + 9 * r);
    }
    lp_step(&st->cal_rmw_lp, rmw, 2, p->tau_acc, st->bias_ts, st->bias_lp_b, st->bias_lp_a,
            rmw);
    /* measurement rows h (3 x 12; row 2 of the motion case and the rest rows are sparse,
     * which the products below exploit), z and the noise w */
    double h[36], z[3], w[3];
    int kind = 0; /* 1: rest, 2: motion */
    if (rest_update(st, nblk)) {
        kind = 1;
        memset(h, 0, sizeof h);
        for (int r = 0; r < 3; r++) {
            h[12 * r + r] = 1.0;
            for (int j = 0; j < 3; j++) {
                h[12 * r + 3 + 3 * r + j] = st->rest_gyr_lp[j];
            }
            z[r] = st->rest_gyr_lp[r];
            w[r] = st->bias_rest_w / nblk * u;
        }
    } else if (p->motion_bias != 0.0) {
        kind = 2;
        for (int r = 0; r < 2; r++) {
            for (int i = 0; i < 3; i++) {
                h[12 * r + i] = R[3 * r + i];
            }
            for (int k = 0; k < 9; k++) {
                h[12 * r + 3 + k] = hm[9 * r + k];
            }
        }
        memset(h + 24, 0, 12 * sizeof(double));
        h[24] = R[6];
        h[25] = R[7];
        h[26] = R[8];
        z[0] = corr_rate[0] + blp[0] + rmw[0];
        z[1] = corr_rate[1] + blp[1] + rmw[1];
        z[2] = 0.0;
        w[0] = w[1] = st->bias_motion_w / nblk * u;
        w[2] = st->bias_vertical_w / nblk * u;
    }
    double *P = st->cal_p;
    const double v = st->bias_v * nblk * u, p0 = st->bias_p0 * u;
    for (int i = 0; i < 3; i++) {
        if (P[13 * i] < p0) {
            P[13 * i] += v;
        }
    }
    if (kind != 0) {
        double x[12], e[3];
        memcpy(x, st->bias, 3 * sizeof(double));
        memcpy(x + 3, st->cal_m, 9 * sizeof(double));
        for (int r = 0; r < 3; r++) {
            double hx = 0.0;
            for (int k = 0; k < 12; k++) {
                hx += h[12 * r + k] * x[k];
            }
            e[r] = z[r] - hx;
        }
        clip_n(e, 3, st->bias_clip);
        /* ph[r] = P h_r^T (P is symmetric: the sum runs down P's rows, so the loops over
         * the 12 outputs are independent and vectorise), S = H P H^T + W */
        double ph[3][12], S[9], Si[9];
        memset(ph, 0, sizeof ph);
        if (kind == 2) {
            for (int k = 0; k < 12; k++) {
                const double *pk = P + 12 * k;
                const double h0 = h[k], h1 = h[12 + k];
                for (int a = 0; a < 12; a++) {
                    ph[0][a] += pk[a] * h0;
                    ph[1][a] += pk[a] * h1;
                }
            }
            for (int k = 0; k < 3; k++) {
                const double *pk = P + 12 * k;
                const double h2 = h[24 + k];
                for (int a = 0; a < 12; a++) {
                    ph[2][a] += pk[a] * h2;
                }
            }
        } else {
            const double *g = st->rest_gyr_lp;
            for (int r = 0; r < 3; r++) {
                const double *p1 = P + 12 * r, *p2 = P + 12 * (3 + 3 * r);
                for (int a = 0; a < 12; a++) {
                    ph[r][a] = p1[a] + p2[a] * g[0] + p2[12 + a] * g[1] + p2[24 + a] * g[2];
                }
            }
        }
        for (int r = 0; r < 3; r++) {
            for (int c = r; c < 3; c++) {
                double sum = 0.0;
                for (int k = 0; k < 12; k++) {
                    sum += h[12 * r + k] * ph[c][k];
                }
                S[3 * r + c] = sum;
                S[3 * c + r] = sum;
            }
            S[4 * r] += w[r];
        }
        const double sc = (S[0] + S[4] + S[8]) / 3.0;
        if (sc > 0.0) {
            const double isc = 1.0 / sc;
            for (int k = 0; k < 9; k++) {
                S[k] *= isc;
            }
        }
        if (sc > 0.0 && mat3_inv(S, Si) == 0) {
            double kg[3][12]; /* K = P H^T S^-1, column-wise */
            const double isc = 1.0 / sc;
            for (int k = 0; k < 9; k++) {
                Si[k] *= isc;
            }
            for (int c = 0; c < 3; c++) {
                const double s0 = Si[c], s1 = Si[3 + c], s2 = Si[6 + c];
                for (int a = 0; a < 12; a++) {
                    kg[c][a] = ph[0][a] * s0 + ph[1][a] * s1 + ph[2][a] * s2;
                }
            }
            for (int a = 0; a < 12; a++) {
                x[a] += kg[0][a] * e[0] + kg[1][a] * e[1] + kg[2][a] * e[2];
            }
            /* P -= K H P = K (P H^T)^T */
            for (int a = 0; a < 12; a++) {
                const double k0 = kg[0][a], k1 = kg[1][a], k2 = kg[2][a];
                double *pa = P + 12 * a;
                for (int b = 0; b < 12; b++) {
                    pa[b] -= k0 * ph[0][b] + k1 * ph[1][b] + k2 * ph[2][b];
                }
            }
            memcpy(st->bias, x, 3 * sizeof(double));
            clip_n(st->bias, 3, st->bias_clip);
            memcpy(st->cal_m, x + 3, 9 * sizeof(double));
            clip_n(st->cal_m, 9, st->cal_clip);
            st->cal_rev++;
        }
    }
    /* the bias block, in VQF's units, for the rest gate and the offline fusion */
    const double iu = 1.0 / u;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            st->bias_p[3 * i + j] = P[12 * i + j] * iu;
        }
    }
}

/* Inclination correction (at the correction rate) from the low-passed accelerometer. */
static void correct_acc(hqf_state *st, double block_t, double nblk)
{
    const hqf_params *p = &st->p;
    double v[3];
    qrot(st->acc_quat, st->last_acc_lp, v);
    /* the shortest rotation taking v to +z: [n + vz, vy, -vx, 0] / sqrt(2 n (n + vz)) */
    const double n = norm3(v);
    if (!(n > HQF_EPS)) {
        return;
    }
    double corr[4];
    if (n + v[2] > 2e-12 * n) {
        corr[0] = n + v[2];
        corr[1] = v[1];
        corr[2] = -v[0];
        corr[3] = 0.0;
    } else {
        corr[0] = 0.0;
        corr[1] = 1.0;
        corr[2] = 0.0;
        corr[3] = 0.0;
    }
    qmul(corr, st->acc_quat, st->acc_quat);
    quat_normalize(st->acc_quat);
    /* the first correction aligns the initial orientation: not a measurement of the bias */
    if ((p->motion_bias == 0.0 && p->rest_bias == 0.0) || !st->acc_aligned) {
        st->acc_aligned = 1;
        return;
    }
    /* the bias filter runs every bias_decim-th correction on the block's mean correction
     * rate (correction angle over block time) */
    const double k = 1.0 / n;
    st->bias_angle[0] -= v[1] * k;
    st->bias_angle[1] += v[0] * k;
    st->bias_t += block_t;
    st->bias_n += nblk;
    if (++st->bias_count >= st->bias_decim) {
        const double rate[2] = {st->bias_angle[0] / st->bias_t, st->bias_angle[1] / st->bias_t};
        const double nb = st->bias_n;
        st->bias_angle[0] = st->bias_angle[1] = 0.0;
        st->bias_t = 0.0;
        st->bias_n = 0.0;
        st->bias_count = 0;
        double q6[4];
        qmul(st->acc_quat, st->gyr_quat, q6);
        if (st->cal_on) {
            update_bias_cal(st, q6, rate, nb);
        } else {
            update_bias(st, q6, rate, nb);
        }
    }
}

/* Hard-iron estimation: a Kalman filter over the constant sensor-frame offset b of the
 * magnetometer (a magnet or magnetised part fixed to the sensor). Two magnetometer samples
 * taken before and after a rotation of at least hard_iron_min_angle (relative rotation from
 * the 6D estimate, i.e. essentially the gyroscope) see the same earth field h, so
 *     m - Rrel^T m_a = (I - Rrel^T) b,   Rrel = R_a^T R  (m = R^T h + b),
 * which eliminates h: no assumption about the field's size or direction is needed. Pairs
 * whose innovation fails a Mahalanobis gate (field disturbances) are skipped; repeated
 * misfits restart the estimate (the magnet moved or went). The offset is applied only once
 * it is large and well determined. */
static void hi_evidence_clear(hqf_state *st)
{
    st->hi_ev_llr = 0.0;
    st->hi_ev_w = 0.0;
    memset(st->hi_ev_m, 0, sizeof st->hi_ev_m);
    memset(st->hi_ev_v, 0, sizeof st->hi_ev_v);
}

/* Forget the evidence over the time dt (s) since the last pair. */
static void hi_evidence_decay(hqf_state *st, double dt)
{
    const double tau = st->p.hard_iron_evidence_time;
    const double f = tau > 0.0 ? exp(-dt / tau) : 0.0;
    st->hi_ev_llr *= f;
    st->hi_ev_w *= f;
    for (int i = 0; i < 14; i++) {
        st->hi_ev_m[i] *= f;
        st->hi_ev_v[i] *= f;
    }
}

/* Add the moments of the scalar s = a + c . x (x a 3-vector): sums of s, s^2, x, s x,
 * x x^T, laid out as in hqf_state.hi_ev_m. */
static void moments_add(double *sums, double a, const double *x)
{
    sums[0] += a;
    sums[1] += a * a;
    for (int i = 0; i < 3; i++) {
        sums[2 + i] += x[i];
        sums[5 + i] += a * x[i];
    }
    sums[8] += x[0] * x[0];
    sums[9] += x[1] * x[1];
    sums[10] += x[2] * x[2];
    sums[11] += x[0] * x[1];
    sums[12] += x[0] * x[2];
    sums[13] += x[1] * x[2];
}

/* Variance over the pairs of a + c . x given the moments of a and x (weight w). */
static double moments_var(const double *sums, double w, const double *c)
{
    const double ma = sums[0] / w;
    const double mx[3] = {sums[2] / w, sums[3] / w, sums[4] / w};
    double v = sums[1] / w - ma * ma;
    double cov[9];
    const int idx[9] = {8, 11, 12, 11, 9, 13, 12, 13, 10};
    for (int i = 0; i < 3; i++) {
        v += 2.0 * c[i] * (sums[5 + i] / w - ma * mx[i]);
        for (int j = 0; j < 3; j++) {
            cov[3 * i + j] = sums[idx[3 * i + j]] / w - mx[i] * mx[j];
        }
    }
    for (int i = 0; i < 3; i++) {
        v += c[i] * (cov[3 * i] * c[0] + cov[3 * i + 1] * c[1] + cov[3 * i + 2] * c[2]);
    }
    return v;
}

/* One gated pair: nu0 is its residual without an offset, nub with the current offset
 * (predicted: the offset before this pair updates it), rn the residual's variance per axis
 * (mag units^2). The log-likelihood ratio of "offset b" against "no offset" grows by
 * (|nu0|^2 - |nub|^2) / (2 rn). The moments of the pair's sample feed the constancy check
 * of the field's squared norm and earth-vertical component (hi_evidence). */
static void hi_evidence_add(hqf_state *st, const double *q6, const double *mag,
                            const double *nu0, const double *nub, double rn)
{
    const double r0 = nu0[0] * nu0[0] + nu0[1] * nu0[1] + nu0[2] * nu0[2];
    const double rb = nub[0] * nub[0] + nub[1] * nub[1] + nub[2] * nub[2];
    st->hi_ev_llr += (r0 - rb) / (2.0 * rn);
    st->hi_ev_w += 1.0;
    const double u = mag[0] * mag[0] + mag[1] * mag[1] + mag[2] * mag[2];
    moments_add(st->hi_ev_m, u, mag);
    /* third row of R(q6): the earth-vertical direction in the sensor frame */
    const double w = q6[0], x = q6[1], y = q6[2], z = q6[3];
    const double r[3] = {2.0 * (x * z - w * y), 2.0 * (w * x + y * z),
                         1.0 - 2.0 * (x * x + y * y)};
    moments_add(st->hi_ev_v, r[0] * mag[0] + r[1] * mag[1] + r[2] * mag[2], r);
}

/* Whether the evidence supports applying the current offset b (relax: 1 to start, 0.5 to
 * keep it): a log-likelihood ratio of at least relax * hard_iron_min_llr, and over the same
 * pairs a corrected field m - b whose squared norm varies less than the raw field's (by
 * the variance ratio hard_iron_norm_ratio to start, 1 to keep) and whose earth-vertical
 * component (with the norm: the dip) varies no more. A constant field seen through the
 * right offset has both constant. */
static int hi_evidence(const hqf_state *st, double relax)
{
    const hqf_params *p = &st->p;
    const double w = st->hi_ev_w;
    if (!(w > 2.0) || st->hi_ev_llr < relax * p->hard_iron_min_llr) {
        return 0;
    }
    const double *b = st->hi_b;
    const double zero[3] = {0.0, 0.0, 0.0};
    /* |m - b|^2 = |m|^2 + (-2 b) . m + |b|^2 (the constant does not vary) */
    const double cn[3] = {-2.0 * b[0], -2.0 * b[1], -2.0 * b[2]};
    const double vn0 = moments_var(st->hi_ev_m, w, zero);
    const double vnb = moments_var(st->hi_ev_m, w, cn);
    /* r . (m - b) = r . m + (-b) . r */
    const double cv[3] = {-b[0], -b[1], -b[2]};
    const double vv0 = moments_var(st->hi_ev_v, w, zero);
    const double vvb = moments_var(st->hi_ev_v, w, cv);
    const double ratio = relax < 1.0 ? 1.0 : p->hard_iron_norm_ratio;
    return vnb <= ratio * vn0 && vvb <= vv0;
}

static void update_hard_iron(hqf_state *st, const double *q6, const double *mag, double dt)
{
    const hqf_params *p = &st->p;
    st->hi_dt += dt;
    st->hi_age += dt;
    if (!st->hi_init) {
        const double s = norm3(mag);
        if (!(s > 0.0)) {
            return;
        }
        st->hi_scale = s;
        memset(st->hi_p, 0, sizeof st->hi_p);
        st->hi_p[0] = st->hi_p[4] = st->hi_p[8] = sq(p->hard_iron_sigma_init * s);
        st->hi_init = 1;
        st->hi_dt = 0.0;
        goto new_anchor;
    }
    /* relative rotation anchor -> now: w of conj(q_a) q6 */
    const double *qa = st->hi_qa;
    const double w = qa[0] * q6[0] + qa[1] * q6[1] + qa[2] * q6[2] + qa[3] * q6[3];
    if (fabs(w) > st->hi_cos_half_angle) {
        if (st->hi_age > p->hard_iron_max_age) {
            goto new_anchor;
        }
        return;
    }
    {
        const double s = st->hi_scale;
        double *P = st->hi_p;
        const double pair_dt = st->hi_dt;
        const double qb = sq(p->hard_iron_sigma_offset * s) * st->hi_dt;
        P[0] += qb;
        P[4] += qb;
        P[8] += qb;
        st->hi_dt = 0.0;
        double Ra[9], R[9], Rrel[9], H[9];
        qmat(qa, Ra);
        qmat(q6, R);
        mat3_mul_tf(R, Ra, Rrel); /* R^T R_a = Rrel^T */
        for (int i = 0; i < 9; i++) {
            H[i] = -Rrel[i];
        }
        H[0] += 1.0;
        H[4] += 1.0;
        H[8] += 1.0;
        double ma[3], nu[3], hb[3];
        mat_vec(Rrel, st->hi_ma, ma);
        mat_vec(H, st->hi_b, hb);
        nu[0] = mag[0] - ma[0] - hb[0];
        nu[1] = mag[1] - ma[1] - hb[1];
        nu[2] = mag[2] - ma[2] - hb[2];
        double PHt[9], S[9], Si[9];
        mat3_mul_ts(P, H, PHt); /* P H^T */
        mat3_mul(H, PHt, S);
        const double rn = 2.0 * sq(p->hard_iron_sigma_meas * s);
        S[0] += rn;
        S[4] += rn;
        S[8] += rn;
        hi_evidence_decay(st, pair_dt);
        if (mat3_inv(S, Si) == 0) {
            double sn[3];
            mat_vec(Si, nu, sn);
            const double d2 = nu[0] * sn[0] + nu[1] * sn[1] + nu[2] * sn[2];
            if (d2 > sq(p->hard_iron_gate)) {
                if (++st->hi_rej >= (int)p->hard_iron_reset_count) {
                    memset(st->hi_b, 0, sizeof st->hi_b);
                    memset(P, 0, sizeof st->hi_p);
                    P[0] = P[4] = P[8] = sq(p->hard_iron_sigma_init * s);
                    st->hi_rej = 0;
                    hi_evidence_clear(st);
                }
            } else {
                st->hi_rej = 0;
                /* evidence from the predicted residual (the offset before this pair) */
                const double nu0[3] = {mag[0] - ma[0], mag[1] - ma[1], mag[2] - ma[2]};
                hi_evidence_add(st, q6, mag, nu0, nu, rn);
                double K[9], KHP[9], dx[3];
                mat3_mul(PHt, Si, K);
                mat_vec(K, nu, dx);
                st->hi_b[0] += dx[0];
                st->hi_b[1] += dx[1];
                st->hi_b[2] += dx[2];
                mat3_mul_ts(K, PHt, KHP); /* K H P = K (P H^T)^T */
                for (int i = 0; i < 3; i++) {
                    for (int j = i; j < 3; j++) {
                        const double val =
                            P[3 * i + j] - 0.5 * (KHP[3 * i + j] + KHP[3 * j + i]);
                        P[3 * i + j] = val;
                        P[3 * j + i] = val;
                    }
                }
            }
        }
    }
    {
        const double s = st->hi_scale;
        const double bn = norm3(st->hi_b);
        const double sig = sqrt(fmax(st->hi_p[0], fmax(st->hi_p[4], st->hi_p[8])));
        if (!st->hi_active) {
            st->hi_active = bn > p->hard_iron_min_offset * s && sig < p->hard_iron_max_sigma * s &&
                            hi_evidence(st, 1.0);
        } else {
            st->hi_active = bn > 0.5 * p->hard_iron_min_offset * s &&
                            sig < 2.0 * p->hard_iron_max_sigma * s && hi_evidence(st, 0.5);
        }
    }
new_anchor:
    memcpy(st->hi_qa, q6, sizeof st->hi_qa);
    memcpy(st->hi_ma, mag, sizeof st->hi_ma);
    st->hi_age = 0.0;
}

static void set_delta(hqf_state *st, double d)
{
    st->delta = d;
    st->delta_c = cos(0.5 * d);
    st->delta_s = sin(0.5 * d);
}

/* Heading correction (at the correction rate) from the latest valid magnetometer sample. */
static void correct_mag(hqf_state *st, const double *mag_raw, double block_t)
{
    const hqf_params *p = &st->p;
    const double cts = st->corr_ts;
    double q6[4], me[3];
    double mag[3] = {mag_raw[0], mag_raw[1], mag_raw[2]};
    /* the orientation at the time of the magnetometer sample (the latest valid one) */
    qmul(st->acc_quat, st->mag_gyr_quat, q6);
    if (p->hard_iron != 0.0) {
        update_hard_iron(st, q6, mag_raw, block_t);
    }
    if (st->hi_active) {
        mag[0] -= st->hi_b[0];
        mag[1] -= st->hi_b[1];
        mag[2] -= st->hi_b[2];
    }
    qrot(q6, mag, me);

    if (p->mag_rejection != 0.0) {
        const double dip_th = p->mag_dip_th * DEG;
        const double kref = st->k_mag_ref;
        double *nd = st->mag_norm_dip;
        nd[0] = norm3(me);
        nd[1] = -asin(me[2] / nd[0]);
        if (p->mag_current_tau > 0.0) {
            lp_step(&st->magnd_lp, nd, 2, p->mag_current_tau, cts, st->magnd_b, st->magnd_a,
                    nd);
        }
        if (fabs(nd[0] - st->mag_ref_norm) < p->mag_norm_th * st->mag_ref_norm &&
            fabs(nd[1] - st->mag_ref_dip) < dip_th) {
            st->mag_undisturbed_t += block_t;
            if (st->mag_undisturbed_t >= p->mag_min_undisturbed_time) {
                st->mag_dist_detected = 0;
                st->mag_ref_norm += kref * (nd[0] - st->mag_ref_norm);
                st->mag_ref_dip += kref * (nd[1] - st->mag_ref_dip);
            }
        } else {
            st->mag_undisturbed_t = 0.0;
            st->mag_dist_detected = 1;
        }
        if (fabs(nd[0] - st->mag_cand_norm) < p->mag_norm_th * st->mag_cand_norm &&
            fabs(nd[1] - st->mag_cand_dip) < dip_th) {
            if (norm3(st->rest_gyr_lp) >= p->mag_new_min_gyr * DEG) {
                st->mag_cand_t += block_t;
            }
            st->mag_cand_norm += kref * (nd[0] - st->mag_cand_norm);
            st->mag_cand_dip += kref * (nd[1] - st->mag_cand_dip);
            if (st->mag_dist_detected &&
                (st->mag_cand_t >= p->mag_new_time ||
                 (st->mag_ref_norm == 0.0 && st->mag_cand_t >= p->mag_new_first_time))) {
                st->mag_ref_norm = st->mag_cand_norm;
                st->mag_ref_dip = st->mag_cand_dip;
                st->mag_dist_detected = 0;
                st->mag_undisturbed_t = p->mag_min_undisturbed_time;
            }
        } else {
            st->mag_cand_t = 0.0;
            st->mag_cand_norm = nd[0];
            st->mag_cand_dip = nd[1];
        }
    }

    double k = st->k_mag;
    if (p->mag_rejection != 0.0) {
        if (st->mag_dist_detected) {
            if (st->mag_reject_t <= p->mag_max_rejection_time) {
                st->mag_reject_t += block_t;
                k = 0.0;
            } else {
                k /= p->mag_rejection_factor;
            }
        } else {
            st->mag_reject_t = fmax(st->mag_reject_t - p->mag_rejection_factor * block_t, 0.0);
        }
    }
    if (st->k_mag_init != 0.0) {
        if (k < st->k_mag_init) {
            k = st->k_mag_init;
        }
        st->k_mag_init = st->k_mag_init / (st->k_mag_init + 1.0);
        if (st->k_mag_init * p->tau_mag < cts) {
            st->k_mag_init = 0.0;
        }
    }
    if (k == 0.0) {
        return;
    }
    double dis = atan2(me[0], me[1]) - st->delta;
    if (dis > HQF_PI) {
        dis -= 2.0 * HQF_PI;
    } else if (dis < -HQF_PI) {
        dis += 2.0 * HQF_PI;
    }
    double d = st->delta + k * dis;
    if (d > HQF_PI) {
        d -= 2.0 * HQF_PI;
    } else if (d < -HQF_PI) {
        d += 2.0 * HQF_PI;
    }
    set_delta(st, d);
}

/* Finite, and small enough that squares and products stay finite (|x| < 1e100). */
static int finite3(const double *v)
{
    return fabs(v[0]) < 1e100 && fabs(v[1]) < 1e100 && fabs(v[2]) < 1e100;
}

static int usable3(const double *v)
{
    return finite3(v) && !(v[0] == 0.0 && v[1] == 0.0 && v[2] == 0.0);
}

unsigned hqf_step(hqf_state *st, const double *gyr, const double *acc, const double *mag,
                  double dt, int use_mag, double *q_out)
{
    unsigned flags = 0;
    if (!(dt > 0.0) || !isfinite(dt)) {
        dt = st->ts;
    }
    if (gyr == NULL || !finite3(gyr)) {
        /* gap: hold the state, carry the elapsed time to the next valid sample */
        st->pending_dt += dt;
        flags |= HQF_FLAG_GAP | HQF_FLAG_ACC_SKIP | (use_mag ? HQF_FLAG_MAG_SKIP : 0u);
    } else {
        const double step_dt = dt + st->pending_dt;
        st->pending_dt = 0.0;
        update_gyr(st, gyr, step_dt);
        if (acc != NULL && usable3(acc)) {
            sample_acc(st, acc, dt);
        } else {
            flags |= HQF_FLAG_ACC_SKIP;
        }
        if (use_mag) {
            if (mag != NULL && usable3(mag)) {
                st->last_mag[0] = mag[0];
                st->last_mag[1] = mag[1];
                st->last_mag[2] = mag[2];
                memcpy(st->mag_gyr_quat, st->gyr_quat, sizeof st->mag_gyr_quat);
                st->mag_new = 1;
            } else {
                flags |= HQF_FLAG_MAG_SKIP;
            }
        }
        /* corrections at the correction rate (every corr_decim-th valid sample) */
        st->corr_t += step_dt;
        if (++st->corr_count >= st->corr_decim) {
            const double block_t = st->corr_t;
            const double nblk = (double)st->corr_count;
            quat_normalize(st->gyr_quat);
            if (st->cal_on) {
                cal_block(st);
            }
            st->corr_count = 0;
            st->corr_t = 0.0;
            if (st->acc_new) {
                st->acc_new = 0;
                correct_acc(st, block_t, nblk);
            }
            if (st->mag_new) {
                st->mag_new = 0;
                correct_mag(st, st->last_mag, block_t);
            }
            update_acc_delta(st);
        }
    }
    if (st->rest_detected) {
        flags |= HQF_FLAG_REST;
    }
    if (use_mag && st->mag_dist_detected) {
        flags |= HQF_FLAG_MAG_DIST;
    }
    if (use_mag) {
        hqf_quat9d(st, q_out);
    } else {
        hqf_quat6d(st, q_out);
    }
    return flags;
}

/* ---- offline forward-backward mode (after VQF's offlineVQF) ------------------------------ */

/* Fuse two Gaussian estimates (x1, inverse covariance I1) and (x2, I2) of a 3-vector. */
static void fuse3(double *x1, const double *i1, const double *x2, const double *i2)
{
    double a[3], b[3], isum[9], cov[9];
    mat_vec(i1, x1, a);
    mat_vec(i2, x2, b);
    for (int k = 0; k < 9; k++) {
        isum[k] = i1[k] + i2[k];
    }
    if (mat3_inv(isum, cov) != 0) {
        return;
    }
    a[0] += b[0];
    a[1] += b[1];
    a[2] += b[2];
    mat_vec(cov, a, x1);
}

int hqf_offline(const double *params, double rate_hz, const double *gyr, const double *acc,
                const double *mag, const double *dt, Py_ssize_t n, double *q_out,
                double *bias_out, unsigned char *flags_out)
{
    if (n <= 0) {
        return 0;
    }
    hqf_state *st = malloc(sizeof *st);
    const size_t un = (size_t)n;
    double *binv = malloc(un * 9 * sizeof(double));
    double *acci = malloc(un * 3 * sizeof(double));
    double *q3 = malloc(un * 4 * sizeof(double));
    double *q9f = mag ? malloc(un * 4 * sizeof(double)) : NULL;
    double *q9b = mag ? malloc(un * 4 * sizeof(double)) : NULL;
    /* gyro error matrix M (gyro_cal_sigma > 0). It changes only at bias updates, so the
     * passes keep snapshots (forward: M and its variances; backward: the fused M), at most
     * one per sample, and each sample an index into them. */
    size_t *cidx = NULL;
    double *fsnap = NULL, *msnap = NULL;
    int rc = 0;
    if (!(st && binv && acci && q3 && (!mag || (q9f && q9b)))) {
        rc = -1;
        goto done;
    }
    if (hqf_init(st, params, rate_hz) != 0) {
        rc = -2;
        goto done;
    }
    if (st->cal_on) {
        cidx = malloc(un * sizeof(size_t));
        fsnap = malloc(un * 18 * sizeof(double));
        msnap = malloc(un * 9 * sizeof(double));
        if (cidx == NULL || fsnap == NULL || msnap == NULL) {
            rc = -1;
            goto done;
        }
    }
    const int use_mag = mag != NULL;
    const double ts = st->ts;
    double qtmp[4];
    size_t nsnap = 0;
    unsigned long rev = 0;
    /* forward pass */
    for (Py_ssize_t i = 0; i < n; i++) {
        const double d = dt ? dt[i] : ts;
        flags_out[i] = (unsigned char)hqf_step(st, gyr + 3 * i, acc + 3 * i,
                                               use_mag ? mag + 3 * i : NULL, d, use_mag,
                                               use_mag ? q9f + 4 * i : qtmp);
        memcpy(bias_out + 3 * i, st->bias, 3 * sizeof(double));
        mat3_inv(st->bias_p, binv + 9 * i);
        if (cidx) {
            if (nsnap == 0 || st->cal_rev != rev) {
                double *sn = fsnap + 18 * nsnap++; /* nsnap <= i + 1 <= n */
                for (int k = 0; k < 9; k++) {
                    sn[k] = st->cal_m[k];
                    sn[9 + k] = st->cal_p[13 * (3 + k)];
                }
                rev = st->cal_rev;
            }
            cidx[i] = nsnap - 1;
        }
    }
    /* backward pass (time reversed: negated gyro), fused with the forward estimates */
    hqf_reset(st);
    size_t nfused = 0, last_f = 0;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        const double g[3] = {-gyr[3 * i], -gyr[3 * i + 1], -gyr[3 * i + 2]};
        /* the time step of sample i+1 separates it from sample i */
        const double d = (dt && i + 1 < n) ? dt[i + 1] : ts;
        const unsigned f = hqf_step(st, g, acc + 3 * i, use_mag ? mag + 3 * i : NULL, d, use_mag,
                                    use_mag ? q9b + 4 * i : qtmp);
        unsigned char fo = flags_out[i];
        if (f & HQF_FLAG_REST) {
            fo |= HQF_FLAG_REST;
        }
        if (!(f & HQF_FLAG_MAG_DIST)) {
            fo &= (unsigned char)~HQF_FLAG_MAG_DIST;
        }
        flags_out[i] = fo;
        /* the backward filter sees the negated gyroscope, so its bias estimate is negated */
        double i2[9];
        const double nb[3] = {-st->bias[0], -st->bias[1], -st->bias[2]};
        mat3_inv(st->bias_p, i2);
        fuse3(bias_out + 3 * i, binv + 9 * i, nb, i2);
        if (cidx) {
            /* M is the same in both directions: inverse-variance weighting per entry */
            const size_t fi = cidx[i];
            if (nfused == 0 || fi != last_f || st->cal_rev != rev) {
                const double *mf = fsnap + 18 * fi, *vf = mf + 9;
                double *out = msnap + 9 * nfused++; /* nfused <= n - i <= n */
                for (int k = 0; k < 9; k++) {
                    const double vb = st->cal_p[13 * (3 + k)], vs = vf[k] + vb;
                    out[k] = vs > 0.0 ? (mf[k] * vb + st->cal_m[k] * vf[k]) / vs : mf[k];
                }
                last_f = fi;
                rev = st->cal_rev;
            }
            cidx[i] = nfused - 1;
        }
    }
    /* gyroscope strapdown integration with the smoothed bias */
    double q[4] = {1.0, 0.0, 0.0, 0.0};
    double pending = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double d = dt ? dt[i] : ts;
        if (!(d > 0.0) || !isfinite(d)) {
            d = ts;
        }
        if (flags_out[i] & HQF_FLAG_GAP) {
            pending += d;
        } else {
            const double *b = bias_out + 3 * i, *w = gyr + 3 * i;
            double g[3] = {w[0] - b[0], w[1] - b[1], w[2] - b[2]};
            if (cidx) {
                const double *m = msnap + 9 * cidx[i];
                g[0] -= m[0] * w[0] + m[1] * w[1] + m[2] * w[2];
                g[1] -= m[3] * w[0] + m[4] * w[1] + m[5] * w[2];
                g[2] -= m[6] * w[0] + m[7] * w[1] + m[8] * w[2];
            }
            const double gn = norm3(g);
            d += pending;
            pending = 0.0;
            if (gn > HQF_EPS) {
                double c, sx;
                half_angle_sc(0.5 * gn * d, &c, &sx);
                const double s = sx * 0.5 * d;
                const double stp[4] = {c, s * g[0], s * g[1], s * g[2]};
                qmul(q, stp, q);
                normalize_n(q, 4);
            }
        }
        memcpy(q3 + 4 * i, q, sizeof q);
    }
    /* accelerometer in the gyro-integrated frame, zero-phase low-pass */
    double last[3] = {0.0, 0.0, 0.0};
    int have_acc = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!(flags_out[i] & HQF_FLAG_ACC_SKIP)) {
            qrot(q3 + 4 * i, acc + 3 * i, last);
            if (!have_acc) {
                for (Py_ssize_t j = 0; j < i; j++) {
                    memcpy(acci + 3 * j, last, sizeof last);
                }
                have_acc = 1;
            }
        }
        memcpy(acci + 3 * i, last, sizeof last);
    }
    if (!have_acc) {
        for (Py_ssize_t i = 0; i < n; i++) {
            acci[3 * i] = acci[3 * i + 1] = 0.0;
            acci[3 * i + 2] = 1.0;
        }
    }
    {
        hqf_lp f;
        lp_reset(&f);
        const double tau = st->p.tau_acc;
        for (Py_ssize_t i = 0; i < n; i++) {
            lp_step(&f, acci + 3 * i, 3, tau, ts, st->acc_b, st->acc_a, acci + 3 * i);
        }
        lp_init_state(&f, 3, acci + 3 * (n - 1), st->acc_b, st->acc_a);
        for (Py_ssize_t i = n - 1; i >= 0; i--) {
            lp_step(&f, acci + 3 * i, 3, tau, ts, st->acc_b, st->acc_a, acci + 3 * i);
        }
    }
    /* inclination correction */
    double aq[4] = {1.0, 0.0, 0.0, 0.0};
    for (Py_ssize_t i = 0; i < n; i++) {
        double ae[3], corr[4];
        qrot(aq, acci + 3 * i, ae);
        normalize_n(ae, 3);
        const double qw = sqrt((ae[2] + 1.0) / 2.0);
        if (qw > 1e-6) {
            corr[0] = qw;
            corr[1] = 0.5 * ae[1] / qw;
            corr[2] = -0.5 * ae[0] / qw;
            corr[3] = 0.0;
        } else {
            corr[0] = 0.0;
            corr[1] = 1.0;
            corr[2] = corr[3] = 0.0;
        }
        qmul(corr, aq, aq);
        normalize_n(aq, 4);
        qmul(aq, q3 + 4 * i, q_out + 4 * i);
    }
    if (use_mag) {
        /* heading: the causal 9D estimates of the forward and the backward pass, each
         * expressed as a heading offset from the offline 6D estimate, averaged on the
         * circle (their errors are largely independent) */
        for (Py_ssize_t i = 0; i < n; i++) {
            double *q6 = q_out + 4 * i;
            const double c6[4] = {q6[0], -q6[1], -q6[2], -q6[3]};
            double ef[4], eb[4];
            qmul(q9f + 4 * i, c6, ef);
            qmul(q9b + 4 * i, c6, eb);
            const double pf = 2.0 * atan2(ef[3], ef[0]);
            const double pb = 2.0 * atan2(eb[3], eb[0]);
            const double d = atan2(sin(pf) + sin(pb), cos(pf) + cos(pb));
            apply_delta(q6, d, q6);
        }
    }
done:
    free(st);
    free(binv);
    free(acci);
    free(q3);
    free(q9f);
    free(q9b);
    free(cidx);
    free(fsnap);
    free(msnap);
    return rc;
}
