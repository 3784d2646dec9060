/* Gyroscope bias Kalman filters: VQF's 3-state motion/rest bias filter and hipimu's
 * 12-state variant that also estimates the gyro scale/misalignment matrix M. */
#include "filter_internal.h"

/* The regressor of M over a correction block: the first two rows of R(q6) (earth x, y) at
 * the block's end times the sum of the block's gyro samples, added to the sums of the bias
 * block (the sum of R M gyr is that sum times M, M being constant within a bias block). */
void hqf_cal_block(hqf_state *st)
{
    double q[4];
    hq_mul(st->acc_quat, st->gyr_quat, q);
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

/* The motion bias measurement's low-passed rotation matrix R (3x3) and bias rows R b
 * (x, y), matching the accelerometer low-pass (VQF), shared by both bias filters. */
static void motion_lowpass(hqf_state *st, const double *q6, double *R, double *blp)
{
    const hqf_params *p = &st->p;
    hq_matrix(q6, R);
    blp[0] = R[0] * st->bias[0] + R[1] * st->bias[1] + R[2] * st->bias[2];
    blp[1] = R[3] * st->bias[0] + R[4] * st->bias[1] + R[5] * st->bias[2];
    lp_step(&st->motion_r_lp, R, 9, p->tau_acc, st->c.bias_ts, st->c.bias_lp_b, st->c.bias_lp_a, R);
    lp_step(&st->motion_b_lp, blp, 2, p->tau_acc, st->c.bias_ts, st->c.bias_lp_b, st->c.bias_lp_a,
            blp);
}

/* Gyroscope bias Kalman filter (VQF's motion and rest bias estimation) at the correction
 * rate; corr_rate = the inclination correction angle (x, y) per second over the block. */
void hqf_update_bias(hqf_state *st, const double *q6, const double *corr_rate, double nblk)
{
    const hqf_params *p = &st->p;
    const double clip = st->c.bias_clip;
    double R[9], blp[2], w[3], e[3];
    motion_lowpass(st, q6, R, blp);
    if (hqf_rest_update(st, nblk)) {
        e[0] = st->rest_gyr_lp[0] - st->bias[0];
        e[1] = st->rest_gyr_lp[1] - st->bias[1];
        e[2] = st->rest_gyr_lp[2] - st->bias[2];
        memset(R, 0, sizeof R);
        R[0] = R[4] = R[8] = 1.0;
        w[0] = w[1] = w[2] = st->c.bias_rest_w / nblk;
    } else if (p->motion_bias != 0.0) {
        e[0] = corr_rate[0] + blp[0] - R[0] * st->bias[0] - R[1] * st->bias[1] -
               R[2] * st->bias[2];
        e[1] = corr_rate[1] + blp[1] - R[3] * st->bias[0] - R[4] * st->bias[1] -
               R[5] * st->bias[2];
        e[2] = -R[6] * st->bias[0] - R[7] * st->bias[1] - R[8] * st->bias[2];
        w[0] = w[1] = st->c.bias_motion_w / nblk;
        w[2] = st->c.bias_vertical_w / nblk;
    } else {
        w[0] = w[1] = w[2] = -1.0;
    }
    double *P = st->bias_p;
    const double v = st->c.bias_v * nblk;
    if (P[0] < st->c.bias_p0) {
        P[0] += v;
    }
    if (P[4] < st->c.bias_p0) {
        P[4] += v;
    }
    if (P[8] < st->c.bias_p0) {
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
        /* P -= K R P, as VQF computes it. K (P R^T)^T = K R P^T would do for a symmetric P,
         * but it amplifies P's rounding asymmetry at every rest update (by about 0.5 %
         * per update at the default 6D rest noise): after ten minutes of rest the
         * covariance, and with it the bias, became NaN. */
        double RP[9], KRP[9];
        mat3_mul(R, P, RP);
        mat3_mul(K, RP, KRP);
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
void hqf_update_bias_cal(hqf_state *st, const double *q6, const double *corr_rate,
                            double nblk)
{
    const hqf_params *p = &st->p;
    const double u = st->c.cal_u;
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
        lp_step(&st->cal_hm_lp[r], hm + 9 * r, 9, p->tau_acc, st->c.bias_ts, st->c.bias_lp_b,
                st->c.bias_lp_a, hm + 9 * r);
    }
    lp_step(&st->cal_rmw_lp, rmw, 2, p->tau_acc, st->c.bias_ts, st->c.bias_lp_b, st->c.bias_lp_a,
            rmw);
    /* measurement rows h (3 x 12; row 2 of the motion case and the rest rows are sparse,
     * which the products below exploit), z and the noise w */
    double h[36], z[3], w[3];
    int kind = 0; /* 1: rest, 2: motion */
    if (hqf_rest_update(st, nblk)) {
        kind = 1;
        memset(h, 0, sizeof h);
        for (int r = 0; r < 3; r++) {
            h[12 * r + r] = 1.0;
            for (int j = 0; j < 3; j++) {
                h[12 * r + 3 + 3 * r + j] = st->rest_gyr_lp[j];
            }
            z[r] = st->rest_gyr_lp[r];
            w[r] = st->c.bias_rest_w / nblk * u;
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
        w[0] = w[1] = st->c.bias_motion_w / nblk * u;
        w[2] = st->c.bias_vertical_w / nblk * u;
    }
    double *P = st->cal_p;
    const double v = st->c.bias_v * nblk * u, p0 = st->c.bias_p0 * u;
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
        clip_n(e, 3, st->c.bias_clip);
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
            /* P -= K H P = K (P H^T)^T, then symmetrised (as in the numpy twin): the
             * product assumes a symmetric P and would amplify its rounding asymmetry */
            for (int a = 0; a < 12; a++) {
                const double k0 = kg[0][a], k1 = kg[1][a], k2 = kg[2][a];
                double *pa = P + 12 * a;
                for (int b = 0; b < 12; b++) {
                    pa[b] -= k0 * ph[0][b] + k1 * ph[1][b] + k2 * ph[2][b];
                }
            }
            for (int a = 0; a < 12; a++) {
                for (int b = a + 1; b < 12; b++) {
                    const double m = 0.5 * (P[12 * a + b] + P[12 * b + a]);
                    P[12 * a + b] = m;
                    P[12 * b + a] = m;
                }
            }
            memcpy(st->bias, x, 3 * sizeof(double));
            clip_n(st->bias, 3, st->c.bias_clip);
            memcpy(st->cal_m, x + 3, 9 * sizeof(double));
            clip_n(st->cal_m, 9, st->c.cal_clip);
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
