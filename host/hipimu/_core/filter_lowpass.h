/* Low-pass filters of the orientation filter (VQF's filterCoeffs / filterVec): a
 * first-order gain from a time constant and a second-order Butterworth low-pass over n
 * channels that averages its first tau seconds and starts from that mean. Static inline:
 * the 3-channel step runs per sample. */
#ifndef HIPIMU_FILTER_LOWPASS_H
#define HIPIMU_FILTER_LOWPASS_H

#include "filter_math.h"
#include "filter_state.h"

static inline double gain_from_tau(double tau, double ts)
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
static inline void lp_coeffs(double tau, double ts, double *b, double *a)
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

static inline void lp_reset(hqf_lp *f)
{
    memset(f, 0, sizeof *f);
}

static inline void lp_init_state(hqf_lp *f, int n, const double *y, const double *b, const double *a)
{
    for (int i = 0; i < n; i++) {
        f->s[2 * i] = y[i] * (1.0 - b[0]);
        f->s[2 * i + 1] = y[i] * (b[2] - a[1]);
    }
    f->ready = 1;
}

static inline void lp_step(hqf_lp *f, const double *x, int n, double tau, double ts, const double *b,
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

#endif
