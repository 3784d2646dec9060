/* The orientation filter's parameters: ONE table of name, default, unit and meaning, in
 * the order of the parameter vector. The C enum (HQF_<NAME>), the params struct
 * (hqf_params, one double per row), the Python defaults (hipimu.orientation.filter
 * .DEFAULT_PARAMS, read from _core.filter_param_table()) come from it, and a test checks
 * the table in docs/fusion.md against it. Append new parameters at the end.
 *
 * Units: "flag" is 0 (off) or 1 (on); "|m0|" is a multiple of the first magnetometer
 * sample's norm (so any magnetometer unit works); "sigma" a number of standard deviations;
 * "1" a plain ratio. Degrees here are converted to SI (rad) once, in hqf_init.
 */
#ifndef HIPIMU_FILTER_PARAMS_H
#define HIPIMU_FILTER_PARAMS_H

/* X(ENUM, name, default, unit, meaning) */
#define HQF_PARAM_TABLE(X) \
    X(TAU_ACC, tau_acc, 3.0, "s", "time constant of the inclination correction (acc low-pass)") \
    X(TAU_MAG, tau_mag, 9.0, "s", "time constant of the heading correction") \
    X(MOTION_BIAS, motion_bias, 1.0, "flag", "estimate gyro bias during motion (1) or not (0)") \
    X(REST_BIAS, rest_bias, 1.0, "flag", "detect rest and estimate gyro bias at rest") \
    X(MAG_REJECTION, mag_rejection, 1.0, "flag", "magnetic disturbance detection and rejection") \
    X(BIAS_SIGMA_INIT, bias_sigma_init, 0.5, "deg/s", "initial bias uncertainty") \
    X(BIAS_FORGETTING_TIME, bias_forgetting_time, 100.0, "s", "time for the bias uncertainty to grow by 0.1 deg/s") \
    X(BIAS_CLIP, bias_clip, 2.0, "deg/s", "largest bias the filter believes") \
    X(BIAS_SIGMA_MOTION, bias_sigma_motion, 0.1, "deg/s", "trust in motion bias updates") \
    X(BIAS_VERTICAL_FORGETTING, bias_vertical_forgetting, 0.0001, "1", "decay of the unobservable vertical bias in motion (relative)") \
    X(BIAS_SIGMA_REST, bias_sigma_rest, 0.03, "deg/s", "trust in rest bias updates (6D default: 0.01)") \
    X(REST_MIN_T, rest_min_t, 1.5, "s", "minimum rest duration") \
    X(REST_FILTER_TAU, rest_filter_tau, 0.5, "s", "low-pass of the rest detection") \
    X(REST_TH_GYR, rest_th_gyr, 2.0, "deg/s", "rest threshold for the gyroscope") \
    X(REST_TH_ACC, rest_th_acc, 0.5, "m/s^2", "rest threshold for the accelerometer") \
    X(MAG_CURRENT_TAU, mag_current_tau, 0.05, "s", "low-pass of magnetic norm and dip") \
    X(MAG_REF_TAU, mag_ref_tau, 20.0, "s", "adaptation of the reference norm and dip") \
    X(MAG_NORM_TH, mag_norm_th, 0.1, "1", "relative norm deviation counted as a disturbance") \
    X(MAG_DIP_TH, mag_dip_th, 10.0, "deg", "dip deviation counted as a disturbance") \
    X(MAG_NEW_TIME, mag_new_time, 20.0, "s", "time to accept a new homogeneous field") \
    X(MAG_NEW_FIRST_TIME, mag_new_first_time, 5.0, "s", "the same for the first field") \
    X(MAG_NEW_MIN_GYR, mag_new_min_gyr, 20.0, "deg/s", "rotation needed while accepting a new field") \
    X(MAG_MIN_UNDISTURBED_TIME, mag_min_undisturbed_time, 0.5, "s", "undisturbed time needed before the field counts as undisturbed") \
    X(MAG_MAX_REJECTION_TIME, mag_max_rejection_time, 60.0, "s", "longest full rejection of disturbed samples") \
    X(MAG_REJECTION_FACTOR, mag_rejection_factor, 2.0, "1", "gain divisor after that, and recovery rate") \
    X(CORR_RATE_HZ, correction_rate_hz, 25.0, "Hz", "rate of the inclination and heading corrections") \
    X(BIAS_RATE_HZ, bias_rate_hz, 12.5, "Hz", "rate of the gyro bias Kalman filter (block means)") \
    X(HARD_IRON, hard_iron, 1.0, "flag", "estimate a constant sensor-frame magnetic offset (1) or not (0)") \
    X(HI_SIGMA_INIT, hard_iron_sigma_init, 1.0, "|m0|", "prior std of the offset (in units of the first |m|)") \
    X(HI_MIN_ANGLE, hard_iron_min_angle, 30.0, "deg", "rotation between the two samples of an update") \
    X(HI_MAX_AGE, hard_iron_max_age, 2.0, "s", "oldest anchor sample of an update") \
    X(HI_SIGMA_OFFSET_RW, hard_iron_sigma_offset, 0.002, "|m0|/sqrt(s)", "random walk of the offset") \
    X(HI_SIGMA_MEAS, hard_iron_sigma_meas, 0.03, "|m0|", "measurement noise std") \
    X(HI_GATE, hard_iron_gate, 4.0, "sigma", "Mahalanobis gate on the innovation (disturbances are skipped)") \
    X(HI_RESET_COUNT, hard_iron_reset_count, 3.0, "count", "consecutive misfits that restart the offset estimate") \
    X(HI_MIN_OFFSET, hard_iron_min_offset, 0.2, "|m0|", "offset needed before it is applied") \
    X(HI_MAX_SIGMA, hard_iron_max_sigma, 0.05, "|m0|", "largest offset std at which it is applied") \
    X(REST_BIAS_GATE, rest_bias_gate, 3.0, "sigma", "bias std at rest start the rest rate may depart by (0: off)") \
    X(REST_BIAS_GATE_MIN, rest_bias_gate_min, 0.1, "deg/s", "the smallest such departure that ends a rest") \
    X(GYRO_CAL_SIGMA, gyro_cal_sigma, 0.0, "%", "prior std of the gyro scale/misalignment entries (0: off, the default)") \
    X(GYRO_CAL_CLIP, gyro_cal_clip, 3.0, "%", "largest scale/misalignment entry the filter believes") \
    X(GYRO_CAL_RATE_HZ, gyro_cal_rate_hz, 3.125, "Hz", "rate of the bias filter (12 states) while estimating M") \
    X(HI_EVIDENCE_TIME, hard_iron_evidence_time, 10.0, "s", "forgetting time of the hard-iron evidence") \
    X(HI_MIN_LLR, hard_iron_min_llr, 50.0, "nats", "log-likelihood ratio (offset vs none) needed to apply it") \
    X(HI_NORM_RATIO, hard_iron_norm_ratio, 0.5, "1", "corrected/raw variance of the field norm needed to apply") \
    X(MAG_DIST_SAMPLE, mag_dist_sample, 1.0, "flag", "disturbance test on the block's latest sample (1) or its mean (0)") \
    X(ACC_LEAD, acc_lead, 0.5, "1", "inclination corrections led by this fraction of the last block's (0: off)")

enum {
#define HQF_ENUM_ROW(e, n, d, u, doc) HQF_##e,
    HQF_PARAM_TABLE(HQF_ENUM_ROW)
#undef HQF_ENUM_ROW
    HQF_NPARAMS
};

/* The parameters by name; each field's unit is the table's. */
typedef struct {
#define HQF_FIELD_ROW(e, n, d, u, doc) double n;
    HQF_PARAM_TABLE(HQF_FIELD_ROW)
#undef HQF_FIELD_ROW
} hqf_params;

/* Fill a params struct from a vector of HQF_NPARAMS values in table order. */
static inline void hqf_params_from_vector(hqf_params *p, const double *v)
{
#define HQF_COPY_ROW(e, n, d, u, doc) p->n = v[HQF_##e];
    HQF_PARAM_TABLE(HQF_COPY_ROW)
#undef HQF_COPY_ROW
}

#endif
