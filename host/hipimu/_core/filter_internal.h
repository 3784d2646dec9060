/* Internal interface between the filter's concept files (not part of the API in filter.h). */
#ifndef HIPIMU_FILTER_INTERNAL_H
#define HIPIMU_FILTER_INTERNAL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "filter_lowpass.h"
#include "filter_math.h"
#include "filter_rest.h"
#include "quat.h"

/* filter_rest.c: whether the bias filter takes a rest update over a block of nblk samples
 * (VQF's rest detection and the rest bias gate). */
int hqf_rest_update(hqf_state *st, double nblk);

/* filter_bias.c: the M regressor of a correction block; the 3-state and 12-state bias
 * filters (q6: 6D orientation, corr_rate: inclination correction rate x, y in rad/s). */
void hqf_cal_block(hqf_state *st);
void hqf_update_bias(hqf_state *st, const double *q6, const double *corr_rate, double nblk);
void hqf_update_bias_cal(hqf_state *st, const double *q6, const double *corr_rate,
                         double nblk);

/* filter_hard_iron.c: forget the evidence; one magnetometer sample (mag units) at the 6D
 * orientation q6, dt (s) after the previous one. */
void hqf_hard_iron_clear(hqf_state *st);
void hqf_update_hard_iron(hqf_state *st, const double *q6, const double *mag, double dt);

/* filter_mag_dist.c: the disturbance test of a block (me: its mean field in the 6D earth
 * frame; q6, mag_raw: its latest sample) and the heading gain under rejection. */
void hqf_mag_disturbance(hqf_state *st, const double *q6, const double *mag_raw,
                         const double *me, double block_t);
double hqf_mag_rejection_gain(hqf_state *st, double k, double block_t);

/* filter_mag.c: heading correction over a block of block_t seconds from the block's mean
 * magnetometer sample in the gyro-integrated frame (mag_mean) and its latest raw sample
 * (mag_raw: hard iron, disturbance test). */
void hqf_correct_mag(hqf_state *st, const double *mag_raw, const double *mag_mean,
                     double block_t);

#endif
