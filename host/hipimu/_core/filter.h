/* Orientation filter (issue 3): 6D/9D quaternion estimation from gyroscope, accelerometer
 * and (optionally) magnetometer samples, with gyro bias and scale/misalignment estimation,
 * rest detection, magnetic disturbance rejection and online hard-iron (attached magnet)
 * estimation.
 *
 * The algorithm is a C11 port of VQF by D. Laidig and T. Seel ("VQF: Highly accurate
 * IMU orientation estimation with bias estimation and magnetic disturbance rejection",
 * Information Fusion 91:187-204, 2023; reference implementation MIT licensed,
 * Copyright 2021 Daniel Laidig, https://github.com/dlaidig/vqf), extended with a hard-iron
 * Kalman filter, per-sample time steps, NaN/inf gap handling and a forward-backward
 * offline mode. numpy reference: hipimu/fusion_reference.py. Documentation: docs/fusion.md.
 *
 * Method-table entries are collected by module.c through HQ_FILTER_METHODS. The streaming
 * state lives in a heap struct owned by a PyCapsule (no global mutable state).
 */
#ifndef HIPIMU_FILTER_H
#define HIPIMU_FILTER_H

#include <Python.h>

#include "filter_params.h"

/* Per-sample flag bits (uint8 output). */
#define HQF_FLAG_REST 1u
#define HQF_FLAG_MAG_DIST 2u
#define HQF_FLAG_GAP 4u       /* gyroscope sample missing/non-finite: state held */
#define HQF_FLAG_ACC_SKIP 8u  /* accelerometer sample missing/non-finite/zero: no correction */
#define HQF_FLAG_MAG_SKIP 16u /* magnetometer sample missing/non-finite/zero: no correction */

/* Second-order low-pass filter over n channels (VQF's filterVec): state s[2*n]; during the
 * first tau seconds the output is the running mean, which then initialises the filter. */
typedef struct {
    double s[18];
    double sum[9];
    double count;
    int ready;
} hqf_lp;

typedef struct {
    hqf_params p;
    /* coefficients */
    double ts, rate;
    double acc_b[3], acc_a[2];
    double rest_b[3], rest_a[2];
    double magnd_b[3], magnd_a[2];
    double k_mag, k_mag_ref;
    double bias_p0, bias_v, bias_motion_w, bias_vertical_w, bias_rest_w;
    int corr_decim;
    double corr_ts;
    int bias_decim;
    double bias_ts;
    double bias_lp_b[3], bias_lp_a[2];
    double bias_clip, rest_th_gyr2, rest_th_acc2, hi_cos_half_angle;
    /* state */
    double gyr_quat[4];
    double acc_quat[4];
    double delta;
    int rest_detected;
    int mag_dist_detected;
    double last_acc_lp[3];
    hqf_lp acc_lp;
    double k_mag_init;
    double bias[3];
    double bias_p[9];
    hqf_lp motion_r_lp;
    hqf_lp motion_b_lp;
    /* multi-rate bookkeeping */
    int corr_count;
    double corr_t;
    int acc_new, acc_aligned, mag_new;
    double bias_angle[2], bias_t, bias_n;
    int bias_count;
    double last_mag[3];
    double mag_gyr_quat[4];
    double delta_c, delta_s;
    double acc_delta_quat[4];
    double rest_t;
    double rest_gyr_lp[3];
    hqf_lp rest_gyr_lpf;
    double rest_acc_lp[3];
    hqf_lp rest_acc_lpf;
    /* rest bias gate: the bias and its covariance when the current rest began */
    int rest_anchor_set;
    double rest_anchor_t; /* age of the anchor (s) */
    double rest_anchor[3];
    double rest_anchor_p[9];
    double rest_anchor_m[9];    /* and the gyro error matrix M (gyro_cal_sigma > 0) */
    double rest_anchor_cp[144]; /* and the joint covariance of [bias, M] */
    /* gyroscope scale/misalignment estimator (gyro_cal_sigma > 0): the bias Kalman filter
     * estimates x = [bias (rad/s), M (row-major)] with omega = gyr - bias - M gyr */
    int cal_on;
    double cal_u;      /* VQF's bias covariance unit (0.01 deg/s)^2 in (rad/s)^2 */
    double cal_s0;     /* prior variance of each entry of M */
    double cal_clip;   /* largest |M_ij| */
    double cal_m[9];   /* M */
    double cal_p[144]; /* covariance of x (SI units); bias_p mirrors its bias block */
    double cal_hm[18]; /* sums over the bias block of R[r][i] * gyr[j] (r = 0, 1) */
    double cal_n;      /* samples in those sums */
    unsigned long cal_rev; /* counts the changes of M (snapshots in the offline mode) */
    double cal_wsum[3]; /* sum of the gyro samples of the current correction block */
    hqf_lp cal_hm_lp[2];
    hqf_lp cal_rmw_lp;
    double mag_ref_norm, mag_ref_dip;
    double mag_undisturbed_t, mag_reject_t;
    double mag_cand_norm, mag_cand_dip, mag_cand_t;
    double mag_norm_dip[2];
    hqf_lp magnd_lp;
    /* hard-iron Kalman filter: offset b (sensor frame), covariance, rotation anchor */
    int hi_init;
    double hi_scale;
    double hi_b[3];
    double hi_p[9];
    double hi_qa[4];
    double hi_ma[3];
    double hi_dt;
    double hi_age;
    int hi_rej;
    int hi_active;
    /* hard-iron evidence, exponentially forgotten over hard_iron_evidence_time */
    double hi_ev_llr;   /* log-likelihood ratio, offset against none (nats) */
    double hi_ev_w;     /* weight of the pairs in the sums below (pairs) */
    /* moments of the raw field m at the pairs (mag units, powers as named): sums of
     * u = |m|^2, u^2, m (3), u m (3), m m^T (6: xx yy zz xy xz yz) */
    double hi_ev_m[14];
    /* moments of the earth-vertical component v = r . m (r: third row of R(q6)): sums of
     * v, v^2, r (3), v r (3), r r^T (6) */
    double hi_ev_v[14];
    /* bookkeeping */
    double pending_dt; /* time carried over from skipped (gap) samples */
} hqf_state;

/* Core (no Python objects; safe without the GIL). */
int hqf_init(hqf_state *st, const double *params, double rate_hz);
void hqf_reset(hqf_state *st);
/* One sample. gyr/acc/mag may be NULL (absent); a sample with a non-finite or |x| >= 1e100
 * component is skipped (gyr: a gap). dt <= 0 or non-finite means 1/rate. Writes the 9D
 * (use_mag) or 6D output quaternion and returns the HQF_FLAG_* bits. */
unsigned hqf_step(hqf_state *st, const double *gyr, const double *acc, const double *mag,
                  double dt, int use_mag, double *q_out);
void hqf_quat6d(const hqf_state *st, double *out);
void hqf_quat9d(const hqf_state *st, double *out);
/* Offline forward-backward estimate over whole arrays (mag and dt may be NULL); returns 0,
 * -1 when out of memory, -2 for invalid parameters. */
int hqf_offline(const double *params, double rate_hz, const double *gyr, const double *acc,
                const double *mag, const double *dt, Py_ssize_t n, double *q_out,
                double *bias_out, unsigned char *flags_out);

PyObject *hqf_py_filter_new(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_copy(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_reset(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_run(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_info(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_offline(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_param_table(PyObject *self, PyObject *args);

#define HQ_FILTER_METHODS                                                                  \
    {"filter_new", hqf_py_filter_new, METH_VARARGS,                                        \
     "filter_new(params, rate_hz) -> capsule holding a filter state"},                     \
    {"filter_copy", hqf_py_filter_copy, METH_VARARGS, "filter_copy(state) -> capsule"},    \
    {"filter_reset", hqf_py_filter_reset, METH_VARARGS, "filter_reset(state)"},            \
    {"filter_run", hqf_py_filter_run, METH_VARARGS,                                        \
     "filter_run(state, gyr, acc, mag|None, dt|None, out_q, out_bias|None, out_flags|None)"},   \
    {"filter_info", hqf_py_filter_info, METH_VARARGS,                                      \
     "filter_info(state) -> dict of the current estimates"},                               \
    {"filter_offline", hqf_py_filter_offline, METH_VARARGS,                                \
     "filter_offline(params, rate_hz, gyr, acc, mag|None, dt|None, out_q, out_bias, "      \
     "out_flags)"},                                                                       \
    {"filter_param_table", hqf_py_filter_param_table, METH_NOARGS,                         \
     "filter_param_table() -> ((name, default, unit, meaning), ...) in parameter order"},

#endif
