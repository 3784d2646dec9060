/* Heading correction and magnetic disturbance detection/rejection (VQF), with the
 * hard-iron offset removed from the magnetometer first when it is applied. */
#include "filter_internal.h"

/* Heading correction (at the correction rate) from the block's magnetometer samples:
 * mag_mean is their mean in the gyro-integrated frame (hard-iron offset removed, as it was
 * during the block). The hard-iron estimator takes the latest valid sample mag_raw with the
 * orientation at its time, and so does the disturbance test with mag_dist_sample (the
 * default): unsmoothed, that sample makes the test stricter near its thresholds, which
 * won out of sample on BROAD (docs/fusion.md, step 8). */
void hqf_correct_mag(hqf_state *st, const double *mag_raw, const double *mag_mean,
                     double block_t)
{
    const hqf_params *p = &st->p;
    const double cts = st->c.corr_ts;
    double q6[4], me[3];
    hq_mul(st->acc_quat, st->mag_gyr_quat, q6);
    if (p->hard_iron != 0.0) {
        hqf_update_hard_iron(st, q6, mag_raw, block_t);
    }
    hq_rotate(st->acc_quat, mag_mean, me);

    if (p->mag_rejection != 0.0) {
        const double dip_th = p->mag_dip_th * DEG;
        const double kref = st->c.k_mag_ref;
        double *nd = st->mag_norm_dip;
        double mt[3] = {me[0], me[1], me[2]};
        if (p->mag_dist_sample != 0.0) {
            double m[3] = {mag_raw[0], mag_raw[1], mag_raw[2]};
            if (st->hi_active) {
                m[0] -= st->hi_b[0];
                m[1] -= st->hi_b[1];
                m[2] -= st->hi_b[2];
            }
            hq_rotate(q6, m, mt);
        }
        nd[0] = norm3(mt);
        nd[1] = -asin(mt[2] / nd[0]);
        if (p->mag_current_tau > 0.0) {
            lp_step(&st->magnd_lp, nd, 2, p->mag_current_tau, cts, st->c.magnd_b, st->c.magnd_a,
                    nd);
        }
        if (fabs(nd[0] - st->mag_ref_norm) < p->mag_norm_th * st->mag_ref_norm &&
            fabs(nd[1] - st->mag_ref_dip) < dip_th) {
            st->mag_undisturbed_t += block_t;
            if (st->mag_undisturbed_t >= p->mag_min_undisturbed_time) {
                st->mag_dist_detected = 0;
                st->mag_ref_norm += kref * (nd[0] - st->mag_ref_norm);
                st->mag_ref_dip += kref * (nd[1] - st->mag_ref_dip);
            }
        } else {
            st->mag_undisturbed_t = 0.0;
            st->mag_dist_detected = 1;
        }
        if (fabs(nd[0] - st->mag_cand_norm) < p->mag_norm_th * st->mag_cand_norm &&
            fabs(nd[1] - st->mag_cand_dip) < dip_th) {
            if (norm3(st->rest_gyr_lp) >= p->mag_new_min_gyr * DEG) {
                st->mag_cand_t += block_t;
            }
            st->mag_cand_norm += kref * (nd[0] - st->mag_cand_norm);
            st->mag_cand_dip += kref * (nd[1] - st->mag_cand_dip);
            if (st->mag_dist_detected &&
                (st->mag_cand_t >= p->mag_new_time ||
                 (st->mag_ref_norm == 0.0 && st->mag_cand_t >= p->mag_new_first_time))) {
                st->mag_ref_norm = st->mag_cand_norm;
                st->mag_ref_dip = st->mag_cand_dip;
                st->mag_dist_detected = 0;
                st->mag_undisturbed_t = p->mag_min_undisturbed_time;
            }
        } else {
            st->mag_cand_t = 0.0;
            st->mag_cand_norm = nd[0];
            st->mag_cand_dip = nd[1];
        }
    }

    double k = st->c.k_mag;
    if (p->mag_rejection != 0.0) {
        if (st->mag_dist_detected) {
            if (st->mag_reject_t <= p->mag_max_rejection_time) {
                st->mag_reject_t += block_t;
                k = 0.0;
            } else {
                k /= p->mag_rejection_factor;
            }
        } else {
            st->mag_reject_t = fmax(st->mag_reject_t - p->mag_rejection_factor * block_t, 0.0);
        }
    }
    if (st->k_mag_init != 0.0) {
        if (k < st->k_mag_init) {
            k = st->k_mag_init;
        }
        st->k_mag_init = st->k_mag_init / (st->k_mag_init + 1.0);
        if (st->k_mag_init * p->tau_mag < cts) {
            st->k_mag_init = 0.0;
        }
    }
    if (k == 0.0) {
        return;
    }
    /* the disagreement: the field's heading atan2(me_x, me_y) minus delta, as the angle of
     * the field rotated by -delta (in [-pi, pi] without wrapping; cos and sin of delta from
     * those of delta/2), small once converged */
    const double c = st->delta_c, s = st->delta_s;
    const double cd = c * c - s * s, sd = 2.0 * c * s;
    const double dis = atan2_small(me[0] * cd - me[1] * sd, me[1] * cd + me[0] * sd);
    const double step = k * dis;
    double d = st->delta + step;
    /* cos and sin of d/2: those of delta/2 turned by step/2 (no libm call for small steps);
     * a wrap of d by 2 pi turns d/2 by pi */
    double ch, sx;
    half_angle_sc(0.5 * step, &ch, &sx);
    const double sh = sx * 0.5 * step;
    double nc = c * ch - s * sh, ns = s * ch + c * sh;
    if (d > HQF_PI) {
        d -= 2.0 * HQF_PI;
        nc = -nc;
        ns = -ns;
    } else if (d < -HQF_PI) {
        d += 2.0 * HQF_PI;
        nc = -nc;
        ns = -ns;
    }
    /* |(nc, ns)| is 1 to rounding: first-order renormalisation keeps it there */
    const double f = 1.5 - 0.5 * (nc * nc + ns * ns);
    st->delta = d;
    st->delta_c = nc * f;
    st->delta_s = ns * f;
}
