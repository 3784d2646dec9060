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
    double s[18];   /* the channels' unit, two filter states per channel */
    double sum[9];  /* the channels' unit, sums of the first samples */
    double count;   /* samples in those sums */
    int ready;      /* flag, the filter runs (initialised from the mean) */
} hqf_lp;

/* Coefficients derived from the parameters and the sample rate by hqf_init (then fixed). */
typedef struct {
    double ts;                 /* s, nominal sample period 1 / rate */
    double rate;               /* Hz, nominal sample rate */
    double acc_b[3], acc_a[2]; /* 1, acc low-pass (tau_acc) at ts */
    double rest_b[3], rest_a[2];   /* 1, rest-detection low-pass (rest_filter_tau) at ts */
    double magnd_b[3], magnd_a[2]; /* 1, norm/dip low-pass (mag_current_tau) at corr_ts */
    double k_mag;              /* 1, heading correction gain per correction step */
    double k_mag_ref;          /* 1, reference norm/dip adaptation gain per correction step */
    double bias_p0;            /* P unit, initial bias variance (P unit: (0.01 deg/s)^2) */
    double bias_v;             /* P unit per sample, bias variance growth */
    double bias_motion_w;      /* P unit, motion measurement noise per sample */
    double bias_vertical_w;    /* P unit, vertical pseudo-measurement noise per sample */
    double bias_rest_w;        /* P unit, rest measurement noise per sample */
    int corr_decim;            /* samples, correction block length */
    double corr_ts;            /* s, nominal correction period */
    int bias_decim;            /* correction blocks per bias update */
    double bias_ts;            /* s, nominal bias update period */
    double bias_lp_b[3], bias_lp_a[2]; /* 1, motion bias low-pass (tau_acc) at bias_ts */
    double bias_clip;          /* rad/s, largest bias believed */
    double rest_th_gyr2;       /* (rad/s)^2, squared gyro rest threshold */
    double rest_th_acc2;       /* (m/s^2)^2, squared acc rest threshold */
    double hi_cos_half_angle;  /* 1, cos of half hard_iron_min_angle */
    int cal_on;                /* flag, the 12-state bias/scale/misalignment filter runs */
    double cal_u;              /* (rad/s)^2 per P unit */
    double cal_s0;             /* 1, prior variance of each entry of M */
    double cal_clip;           /* 1, largest |M_ij| */
} hqf_coeffs;

/* The filter: its parameters, their coefficients, and the state proper (every field below
 * `c` changes while samples are processed). */
typedef struct {
    hqf_params p; /* units: filter_params.h */
    hqf_coeffs c;
    /* orientation: q_ES = [cos(delta/2), 0, 0, sin(delta/2)] * acc_quat * gyr_quat */
    double gyr_quat[4];       /* 1, gyro-integrated orientation (sensor -> almost inertial) */
    double acc_quat[4];       /* 1, inclination correction (almost inertial -> 6D earth) */
    double delta;             /* rad, heading correction (6D earth -> 9D earth) */
    int rest_detected;        /* flag */
    int mag_dist_detected;    /* flag */
    double last_acc_lp[3];    /* m/s^2, low-passed acc in the almost inertial frame */
    hqf_lp acc_lp;            /* its filter state (m/s^2) */
    double k_mag_init;        /* 1, heading gain floor during the initial convergence */
    double bias[3];           /* rad/s, gyro bias estimate */
    double bias_p[9];         /* P unit, its covariance */
    hqf_lp motion_r_lp;       /* 1, low-passed rotation matrix of the motion bias update */
    hqf_lp motion_b_lp;       /* rad/s, low-passed R b (x, y) */
    /* multi-rate bookkeeping */
    int corr_count;           /* samples in the current correction block */
    double corr_t;            /* s, time in the current correction block */
    int acc_new, acc_aligned, mag_new; /* flags: new acc sample, first correction done, new mag */
    double acc_last_corr[2];  /* rad, rotation vector (x, y) of the last block's inclination
                                 correction, lead included */
    double bias_angle[2];     /* rad, inclination correction angle (x, y) of the bias block */
    double bias_t;            /* s, time in the bias block */
    double bias_n;            /* samples in the bias block */
    int bias_count;           /* correction blocks in the bias block */
    double last_mag[3];       /* mag, latest valid magnetometer sample */
    double mag_gyr_quat[4];   /* 1, gyr_quat at that sample */
    double mag_sum[3];        /* mag, sum over the correction block of the valid samples,
                               * hard-iron offset removed, in the gyro-integrated frame */
    double mag_n;             /* samples in mag_sum */
    double delta_c, delta_s;  /* 1, cos(delta/2), sin(delta/2) */
    double acc_delta_quat[4]; /* 1, [cos(delta/2), 0, 0, sin(delta/2)] * acc_quat */
    double rest_t;            /* s, time the rest conditions have held */
    double rest_gyr_lp[3];    /* rad/s, low-passed gyro of the rest detection */
    hqf_lp rest_gyr_lpf;      /* its filter state (rad/s) */
    double rest_acc_lp[3];    /* m/s^2, low-passed acc of the rest detection */
    hqf_lp rest_acc_lpf;      /* its filter state (m/s^2) */
    /* rest bias gate: the bias and its covariance when the current rest began */
    int rest_anchor_set;        /* flag */
    double rest_anchor_t;       /* s, age of the anchor */
    double rest_anchor[3];      /* rad/s, bias at the anchor */
    double rest_anchor_p[9];    /* P unit, its covariance */
    double rest_anchor_m[9];    /* 1, and the gyro error matrix M (gyro_cal_sigma > 0) */
    double rest_anchor_cp[144]; /* SI, and the joint covariance of [bias, M] */
    /* gyroscope scale/misalignment estimator (gyro_cal_sigma > 0): the bias Kalman filter
     * estimates x = [bias (rad/s), M (row-major, 1)] with omega = gyr - bias - M gyr */
    double cal_m[9];       /* 1, M */
    double cal_p[144];     /* (rad/s)^2 and 1, covariance of x; bias_p mirrors its bias block */
    double cal_hm[18];     /* rad/s, sums over the bias block of R[r][i] * gyr[j] (r = 0, 1) */
    double cal_n;          /* samples in those sums */
    unsigned long cal_rev; /* count, changes of M (snapshots in the offline mode) */
    double cal_wsum[3];    /* rad/s, sum of the gyro samples of the correction block */
    hqf_lp cal_hm_lp[2];   /* rad/s, low-passed regressor rows */
    hqf_lp cal_rmw_lp;     /* rad/s, low-passed R M gyr (x, y) */
    /* magnetic disturbance detection */
    double mag_ref_norm;      /* mag, accepted field norm */
    double mag_ref_dip;       /* rad, accepted dip */
    double mag_undisturbed_t; /* s, time the field has matched the reference */
    double mag_reject_t;      /* s, rejection time budget used */
    double mag_cand_norm;     /* mag, candidate new field norm (-1: none) */
    double mag_cand_dip;      /* rad, candidate dip */
    double mag_cand_t;        /* s, time the candidate has held while rotating */
    double mag_norm_dip[2];   /* mag and rad, current (low-passed) norm and dip */
    hqf_lp magnd_lp;          /* their filter state */
    /* hard-iron Kalman filter: offset b (sensor frame), covariance, rotation anchor */
    int hi_init;          /* flag, hi_scale set from the first sample */
    double hi_scale;      /* mag, |m0|: norm of the first magnetometer sample */
    double hi_b[3];       /* mag, offset estimate */
    double hi_p[9];       /* mag^2, its covariance */
    double hi_qa[4];      /* 1, 6D orientation at the anchor sample */
    double hi_ma[3];      /* mag, the anchor sample */
    double hi_dt;         /* s, time since the last pair (random walk of the offset) */
    double hi_age;        /* s, age of the anchor */
    int hi_rej;           /* count, consecutive gated-out pairs */
    int hi_active;        /* flag, the offset is applied */
    /* hard-iron evidence, exponentially forgotten over hard_iron_evidence_time */
    double hi_ev_llr;   /* nats, log-likelihood ratio, offset against none */
    double hi_ev_w;     /* pairs, weight of the pairs in the sums below */
    /* moments of the raw field m at the pairs (mag units, powers as named): sums of
     * u = |m|^2, u^2, m (3), u m (3), m m^T (6: xx yy zz xy xz yz) */
    double hi_ev_m[14];
    /* moments of the earth-vertical component v = r . m (r: third row of R(q6), 1): sums
     * of v, v^2, r (3), v r (3), r r^T (6) */
    double hi_ev_v[14];
    /* bookkeeping */
    double pending_dt; /* s, time carried over from skipped (gap) samples */
} hqf_state;

#endif
