/* Offline forward-backward mode (after VQF's offlineVQF): a causal pass each way, the
 * bias estimates fused, strapdown integration with the fused bias, zero-phase
 * accelerometer low-pass, and the heading of both passes averaged. */
#include "filter_internal.h"

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
                const double *mag, const double *dt, ptrdiff_t n, double *q_out,
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
    if (st->c.cal_on) {
        cidx = malloc(un * sizeof(size_t));
        fsnap = malloc(un * 18 * sizeof(double));
        msnap = malloc(un * 9 * sizeof(double));
        if (cidx == NULL || fsnap == NULL || msnap == NULL) {
            rc = -1;
            goto done;
        }
    }
    const int use_mag = mag != NULL;
    const double ts = st->c.ts;
    double qtmp[4];
    size_t nsnap = 0;
    unsigned long rev = 0;
    /* forward pass */
    for (ptrdiff_t i = 0; i < n; i++) {
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
    for (ptrdiff_t i = n - 1; i >= 0; i--) {
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
    for (ptrdiff_t i = 0; i < n; i++) {
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
                hq_mul(q, stp, q);
                normalize_n(q, 4);
            }
        }
        memcpy(q3 + 4 * i, q, sizeof q);
    }
    /* accelerometer in the gyro-integrated frame, zero-phase low-pass */
    double last[3] = {0.0, 0.0, 0.0};
    int have_acc = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        if (!(flags_out[i] & HQF_FLAG_ACC_SKIP)) {
            hq_rotate(q3 + 4 * i, acc + 3 * i, last);
            if (!have_acc) {
                for (ptrdiff_t j = 0; j < i; j++) {
                    memcpy(acci + 3 * j, last, sizeof last);
                }
                have_acc = 1;
            }
        }
        memcpy(acci + 3 * i, last, sizeof last);
    }
    if (!have_acc) {
        for (ptrdiff_t i = 0; i < n; i++) {
            acci[3 * i] = acci[3 * i + 1] = 0.0;
            acci[3 * i + 2] = 1.0;
        }
    }
    {
        hqf_lp f;
        lp_reset(&f);
        const double tau = st->p.tau_acc;
        for (ptrdiff_t i = 0; i < n; i++) {
            lp_step(&f, acci + 3 * i, 3, tau, ts, st->c.acc_b, st->c.acc_a, acci + 3 * i);
        }
        lp_init_state(&f, 3, acci + 3 * (n - 1), st->c.acc_b, st->c.acc_a);
        for (ptrdiff_t i = n - 1; i >= 0; i--) {
            lp_step(&f, acci + 3 * i, 3, tau, ts, st->c.acc_b, st->c.acc_a, acci + 3 * i);
        }
    }
    /* inclination correction */
    double aq[4] = {1.0, 0.0, 0.0, 0.0};
    for (ptrdiff_t i = 0; i < n; i++) {
        double ae[3], corr[4];
        hq_rotate(aq, acci + 3 * i, ae);
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
        hq_mul(corr, aq, aq);
        normalize_n(aq, 4);
        hq_mul(aq, q3 + 4 * i, q_out + 4 * i);
    }
    if (use_mag) {
        /* heading: the causal 9D estimates of the forward and the backward pass, each
         * expressed as a heading offset from the offline 6D estimate, averaged on the
         * circle (their errors are largely independent) */
        for (ptrdiff_t i = 0; i < n; i++) {
            double *q6 = q_out + 4 * i;
            const double c6[4] = {q6[0], -q6[1], -q6[2], -q6[3]};
            double ef[4], eb[4];
            hq_mul(q9f + 4 * i, c6, ef);
            hq_mul(q9b + 4 * i, c6, eb);
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
