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
 * offline mode. numpy reference: hipimu/reference/filter.py. Documentation: docs/fusion.md.
 *
 * This is the core interface, free of Python: filter_py.h / filter_py.c are the thin
 * binding layer (the streaming state lives in a heap struct owned by a PyCapsule; no
 * global mutable state). Layout, one concept per file: filter_params.h (the parameter
 * table), filter_state.h (the state), filter_lowpass.h, filter_rest.h/.c (rest detection),
 * filter_bias.c, filter_mag.c (heading correction), filter_mag_dist.c (magnetic
 * disturbance), filter_hard_iron.c, filter_offline.c, filter_core.c (set-up, the
 * per-sample step, inclination correction); quaternion kernels in quat.h.
 */
#ifndef HIPIMU_FILTER_H
#define HIPIMU_FILTER_H

#include <stddef.h>

#include "filter_params.h"
#include "filter_state.h"

/* Per-sample flag bits (uint8 output). */
#define HQF_FLAG_REST 1u
#define HQF_FLAG_MAG_DIST 2u
#define HQF_FLAG_GAP 4u       /* gyroscope sample missing/non-finite: state held */
#define HQF_FLAG_ACC_SKIP 8u  /* accelerometer sample missing/non-finite/zero: no correction */
#define HQF_FLAG_MAG_SKIP 16u /* magnetometer sample missing/non-finite/zero: no correction */

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
                const double *mag, const double *dt, ptrdiff_t n, double *q_out,
                double *bias_out, unsigned char *flags_out);

#endif
