/* The orientation filter's state: derived coefficients (fixed after hqf_init) and the
 * mutable estimates, each field with its unit. Quaternions are scalar-first, unit, and
 * rotate sensor-frame vectors into the named frame. "mag" is the magnetometer's own unit;
 * "|m0|" the norm of the first magnetometer sample. "P unit" is VQF's bias covariance unit
 * (0.01 deg/s)^2. */
#ifndef HIPIMU_FILTER_STATE_H
#define HIPIMU_FILTER_STATE_H

#include "filter_params.h"

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

#endif
