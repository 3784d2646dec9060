/* Rest detection (VQF): per sample, the gyroscope and accelerometer deviate little from
 * their own low-passes, and the gyro low-pass stays below the bias clip, for rest_min_t
 * seconds. Static inline (per-sample path); the rest bias gate is in filter_rest.c. */
#ifndef HIPIMU_FILTER_REST_H
#define HIPIMU_FILTER_REST_H

#include "filter_lowpass.h"
#include "filter_math.h"
#include "filter_state.h"

/* Gyroscope part: low-pass the rate (rad/s); a deviation or a large mean ends the rest. */
static inline void rest_detect_gyr(hqf_state *st, const double *gyr)
{
    const hqf_params *p = &st->p;
    if (p->rest_bias != 0.0 || p->mag_rejection != 0.0) {
        lp3_step(&st->rest_gyr_lpf, gyr, p->rest_filter_tau, st->c.ts, st->c.rest_b, st->c.rest_a,
                 st->rest_gyr_lp);
        const double dev = sq(gyr[0] - st->rest_gyr_lp[0]) + sq(gyr[1] - st->rest_gyr_lp[1]) +
                           sq(gyr[2] - st->rest_gyr_lp[2]);
        const double clip = st->c.bias_clip;
        if (dev >= st->c.rest_th_gyr2 || fabs(st->rest_gyr_lp[0]) > clip ||
            fabs(st->rest_gyr_lp[1]) > clip || fabs(st->rest_gyr_lp[2]) > clip) {
            st->rest_t = 0.0;
            st->rest_detected = 0;
        }
    }
}

/* Accelerometer part (m/s^2): a deviation ends the rest, else the rest lasts dt (s) longer
 * and counts once it reaches rest_min_t. */
static inline void rest_detect_acc(hqf_state *st, const double *acc, double dt)
{
    const hqf_params *p = &st->p;
    const double ts = st->c.ts;
    if (p->rest_bias != 0.0) {
        lp3_step(&st->rest_acc_lpf, acc, p->rest_filter_tau, ts, st->c.rest_b, st->c.rest_a,
                 st->rest_acc_lp);
        const double dev = sq(acc[0] - st->rest_acc_lp[0]) + sq(acc[1] - st->rest_acc_lp[1]) +
                           sq(acc[2] - st->rest_acc_lp[2]);
        if (dev >= st->c.rest_th_acc2) {
            st->rest_t = 0.0;
            st->rest_detected = 0;
        } else {
            st->rest_t += dt;
            if (st->rest_t >= p->rest_min_t) {
                st->rest_detected = 1;
            }
        }
    }
}

#endif
