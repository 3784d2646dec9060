/* Orientation filter core: a C11 port of VQF (D. Laidig, T. Seel, Information Fusion
 * 91:187-204, 2023; reference implementation https://github.com/dlaidig/vqf, MIT licence,
 * Copyright 2021 Daniel Laidig) with hipimu's extensions. This file: set-up, the
 * per-sample step (strapdown integration, accelerometer low-pass in the almost inertial
 * frame) and the inclination correction; the other concepts have their own files
 * (filter_rest.c, filter_bias.c, filter_mag.c, filter_mag_dist.c, filter_hard_iron.c,
 * filter_offline.c, filter_lowpass.h, filter_params.h, filter_state.h). numpy twin:
 * hipimu/reference/filter.py.
 */
#include "filter_internal.h"

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
    st->bias_p[0] = st->bias_p[4] = st->bias_p[8] = st->c.bias_p0;
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
        st->cal_p[13 * i] = st->c.bias_p0 * st->c.cal_u;
    }
    for (int i = 3; i < 12; i++) {
        st->cal_p[13 * i] = st->c.cal_s0;
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
    st->acc_last_corr[0] = st->acc_last_corr[1] = 0.0;
    st->bias_angle[0] = st->bias_angle[1] = 0.0;
    st->bias_t = 0.0;
    st->bias_n = 0.0;
    st->bias_count = 0;
    st->mag_new = 0;
    memset(st->last_mag, 0, sizeof st->last_mag);
    memset(st->mag_sum, 0, sizeof st->mag_sum);
    st->mag_n = 0.0;
    /* the first valid sample triggers a correction (fast initial convergence) */
    st->corr_count = st->c.corr_decim - 1;
    st->corr_t = 0.0;
    memset(st->hi_qa, 0, sizeof st->hi_qa);
    memset(st->hi_ma, 0, sizeof st->hi_ma);
    st->hi_dt = 0.0;
    st->hi_age = 0.0;
    st->hi_rej = 0;
    st->hi_active = 0;
    hqf_hard_iron_clear(st);
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
    st->c.ts = ts;
    st->c.rate = rate_hz;
    if (!(p->tau_acc > 0.0) || !(p->rest_filter_tau > 0.0)) {
        return -1;
    }
    int cdecim = (int)lround(rate_hz / fmax(p->correction_rate_hz, 1e-3));
    st->c.corr_decim = cdecim < 1 ? 1 : (cdecim > 1000 ? 1000 : cdecim);
    const double cts = ts * (double)st->c.corr_decim;
    st->c.corr_ts = cts;
    lp_coeffs(p->tau_acc, ts, st->c.acc_b, st->c.acc_a);
    if (!(p->gyro_cal_sigma >= 0.0) || !(p->gyro_cal_clip >= 0.0)) {
        return -1;
    }
    st->c.cal_on = p->gyro_cal_sigma > 0.0 &&
                 (p->motion_bias != 0.0 || p->rest_bias != 0.0);
    st->c.cal_u = sq(0.01 * DEG);
    st->c.cal_s0 = sq(p->gyro_cal_sigma * 0.01);
    st->c.cal_clip = p->gyro_cal_clip * 0.01;
    /* with the scale/misalignment estimator, the (12-state) bias filter runs at its own,
     * lower rate: its update costs ten times VQF's 3-state one */
    const double brate = st->c.cal_on ? p->gyro_cal_rate_hz : p->bias_rate_hz;
    int bdecim = (int)lround(p->correction_rate_hz / fmax(brate, 1e-3));
    st->c.bias_decim = bdecim < 1 ? 1 : (bdecim > 1000 ? 1000 : bdecim);
    st->c.bias_ts = cts * (double)st->c.bias_decim;
    lp_coeffs(p->tau_acc, st->c.bias_ts, st->c.bias_lp_b, st->c.bias_lp_a);
    st->c.k_mag = gain_from_tau(p->tau_mag, cts);
    st->c.bias_p0 = sq(p->bias_sigma_init * 100.0);
    st->c.bias_v = sq(0.1 * 100.0) * ts / p->bias_forgetting_time;
    const double p_motion = sq(p->bias_sigma_motion * 100.0);
    st->c.bias_motion_w = sq(p_motion) / st->c.bias_v + p_motion;
    st->c.bias_vertical_w = st->c.bias_motion_w / fmax(p->bias_vertical_forgetting, 1e-10);
    const double p_rest = sq(p->bias_sigma_rest * 100.0);
    st->c.bias_rest_w = sq(p_rest) / st->c.bias_v + p_rest;
    st->c.bias_clip = p->bias_clip * DEG;
    st->c.rest_th_gyr2 = sq(p->rest_th_gyr * DEG);
    st->c.rest_th_acc2 = sq(p->rest_th_acc);
    lp_coeffs(p->rest_filter_tau, ts, st->c.rest_b, st->c.rest_a);
    st->c.k_mag_ref = gain_from_tau(p->mag_ref_tau, cts);
    if (p->mag_current_tau > 0.0) {
        lp_coeffs(p->mag_current_tau, cts, st->c.magnd_b, st->c.magnd_a);
    }
    st->c.hi_cos_half_angle = cos(0.5 * p->hard_iron_min_angle * DEG);
    hqf_reset(st);
    return 0;
}

void hqf_quat6d(const hqf_state *st, double *out)
{
    hq_mul(st->acc_quat, st->gyr_quat, out);
}

void hqf_quat9d(const hqf_state *st, double *out)
{
    /* [cos(delta/2), 0, 0, sin(delta/2)] * acc_quat * gyr_quat; the first two factors only
     * change at correction steps and are kept multiplied in st->acc_delta_quat */
    hq_mul(st->acc_delta_quat, st->gyr_quat, out);
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

/* Per-sample gyroscope step: rest detection low-pass and strapdown integration. */
static void update_gyr(hqf_state *st, const double *gyr, double dt)
{
    rest_detect_gyr(st, gyr);
    double g[3] = {gyr[0] - st->bias[0], gyr[1] - st->bias[1], gyr[2] - st->bias[2]};
    if (st->c.cal_on) {
        /* scale/misalignment correction; the gyro sum of the correction block feeds the
         * regressor of M (hqf_cal_block) */
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
        /* (half the rotation angle)^2: the series need no square root */
        half_angle_sc2(0.25 * gn2 * (dt * dt), &c, &sx);
        const double s = sx * 0.5 * dt;
        const double step[4] = {c, s * g[0], s * g[1], s * g[2]};
        /* the step is unit to rounding: |q| drifts by ~1e-16 per step and is renormalised
         * at every correction step */
        hq_mul(st->gyr_quat, step, st->gyr_quat);
    }
}

/* Per-sample accelerometer step: rest detection and the low-pass of the accelerometer in
 * the gyro-integrated (almost inertial) frame (rg: the rotation matrix of gyr_quat). */
static void sample_acc(hqf_state *st, const double *acc, double dt, const double *rg)
{
    const hqf_params *p = &st->p;
    const double ts = st->c.ts;
    rest_detect_acc(st, acc, dt);
    double v[3];
    hq_mat_vec(rg, acc, v);
    lp3_step(&st->acc_lp, v, p->tau_acc, ts, st->c.acc_b, st->c.acc_a, st->last_acc_lp);
    st->acc_new = 1;
}

/* Per-sample magnetometer step: the sample, with the hard-iron offset in use removed, is
 * rotated into the gyro-integrated frame and summed over the correction block, so that the
 * heading correction uses every sample (one sample per block would multiply the
 * magnetometer noise's variance in the heading by the block length). rg: the rotation
 * matrix of gyr_quat. */
static void sample_mag(hqf_state *st, const double *mag, const double *rg)
{
    double m[3] = {mag[0], mag[1], mag[2]}, v[3];
    if (st->hi_active) {
        m[0] -= st->hi_b[0];
        m[1] -= st->hi_b[1];
        m[2] -= st->hi_b[2];
    }
    hq_mat_vec(rg, m, v);
    st->mag_sum[0] += v[0];
    st->mag_sum[1] += v[1];
    st->mag_sum[2] += v[2];
    st->mag_n += 1.0;
}

/* Inclination correction (at the correction rate) from the low-passed accelerometer. */
static void correct_acc(hqf_state *st, double block_t, double nblk)
{
    const hqf_params *p = &st->p;
    double v[3];
    hq_rotate(st->acc_quat, st->last_acc_lp, v);
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
    hq_mul(corr, st->acc_quat, st->acc_quat);
    /* the first correction aligns the initial orientation: neither a drift to lead nor a
     * measurement of the bias */
    if (!st->acc_aligned) {
        hq_normalize_unit(st->acc_quat);
        st->acc_aligned = 1;
        return;
    }
    /* the correction's rotation vector (x, y; small once aligned) */
    double rx = v[1] / n, ry = -v[0] / n;
    if (p->acc_lead > 0.0) {
        /* Lead: a correction made once per block is held for the block, so between
         * corrections the inclination lags the one a per-sample correction (VQF) keeps, by
         * half a block's drift on average. Turning on by acc_lead times the last block's
         * correction (lead included) removes that mean lag under a steady drift with 0.5:
         * in steady state each block then corrects half its drift and leads by the other
         * half (poles of the recursion at |z|^2 = acc_lead: stable below 1). */
        const double lx = p->acc_lead * st->acc_last_corr[0];
        const double ly = p->acc_lead * st->acc_last_corr[1];
        const double lead[4] = {1.0, 0.5 * lx, 0.5 * ly, 0.0};
        hq_mul(lead, st->acc_quat, st->acc_quat);
        rx += lx;
        ry += ly;
    }
    st->acc_last_corr[0] = rx;
    st->acc_last_corr[1] = ry;
    hq_normalize_unit(st->acc_quat);
    if (p->motion_bias == 0.0 && p->rest_bias == 0.0) {
        return;
    }
    /* the bias filter runs every bias_decim-th correction on the block's mean correction
     * rate (correction angle over block time, lead included: together they turn by the
     * drift) */
    st->bias_angle[0] -= rx;
    st->bias_angle[1] -= ry;
    st->bias_t += block_t;
    st->bias_n += nblk;
    if (++st->bias_count >= st->c.bias_decim) {
        const double rate[2] = {st->bias_angle[0] / st->bias_t, st->bias_angle[1] / st->bias_t};
        const double nb = st->bias_n;
        st->bias_angle[0] = st->bias_angle[1] = 0.0;
        st->bias_t = 0.0;
        st->bias_n = 0.0;
        st->bias_count = 0;
        double q6[4];
        hq_mul(st->acc_quat, st->gyr_quat, q6);
        if (st->c.cal_on) {
            hqf_update_bias_cal(st, q6, rate, nb);
        } else {
            hqf_update_bias(st, q6, rate, nb);
        }
    }
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
        dt = st->c.ts;
    }
    if (gyr == NULL || !finite3(gyr)) {
        /* gap: hold the state, carry the elapsed time to the next valid sample */
        st->pending_dt += dt;
        flags |= HQF_FLAG_GAP | HQF_FLAG_ACC_SKIP | (use_mag ? HQF_FLAG_MAG_SKIP : 0u);
    } else {
        const double step_dt = dt + st->pending_dt;
        st->pending_dt = 0.0;
        update_gyr(st, gyr, step_dt);
        double rg[9]; /* R(gyr_quat), shared by the acc and mag steps */
        hq_matrix(st->gyr_quat, rg);
        if (acc != NULL && usable3(acc)) {
            sample_acc(st, acc, dt, rg);
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
                sample_mag(st, mag, rg);
            } else {
                flags |= HQF_FLAG_MAG_SKIP;
            }
        }
        /* corrections at the correction rate (every corr_decim-th valid sample) */
        st->corr_t += step_dt;
        if (++st->corr_count >= st->c.corr_decim) {
            const double block_t = st->corr_t;
            const double nblk = (double)st->corr_count;
            hq_normalize_unit(st->gyr_quat);
            if (st->c.cal_on) {
                hqf_cal_block(st);
            }
            st->corr_count = 0;
            st->corr_t = 0.0;
            if (st->acc_new) {
                st->acc_new = 0;
                correct_acc(st, block_t, nblk);
            }
            if (st->mag_new) {
                st->mag_new = 0;
                const double k = 1.0 / st->mag_n;
                const double mean[3] = {st->mag_sum[0] * k, st->mag_sum[1] * k,
                                        st->mag_sum[2] * k};
                st->mag_sum[0] = st->mag_sum[1] = st->mag_sum[2] = 0.0;
                st->mag_n = 0.0;
                hqf_correct_mag(st, st->last_mag, mean, block_t);
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
