/* Magnetic disturbance detection and rejection (VQF): the field's norm and dip compared
 * with a slowly adapted reference, a new homogeneous field accepted after consistent
 * readings with rotation, and the heading gain while a disturbance lasts. */
#include "filter_internal.h"

/* The disturbance test of one correction block (block_t seconds). me: the block's mean
 * field in the 6D earth frame; with mag_dist_sample the test takes instead the latest raw
 * sample mag_raw (hard-iron offset in use removed) at the 6D orientation q6: unsmoothed,
 * that sample makes the test stricter near its thresholds, which won out of sample on
 * BROAD (docs/fusion.md, step 8). */
void hqf_mag_disturbance(hqf_state *st, const double *q6, const double *mag_raw,
                         const double *me, double block_t)
{
    const hqf_params *p = &st->p;
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
        lp_step(&st->magnd_lp, nd, 2, p->mag_current_tau, st->c.corr_ts, st->c.magnd_b,
                st->c.magnd_a, nd);
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

/* The heading gain k of this block with the rejection applied: none while a detected
 * disturbance has lasted up to mag_max_rejection_time, then k / mag_rejection_factor;
 * undisturbed blocks pay the rejection budget back at mag_rejection_factor. */
double hqf_mag_rejection_gain(hqf_state *st, double k, double block_t)
{
    const hqf_params *p = &st->p;
    if (st->mag_dist_detected) {
        if (st->mag_reject_t <= p->mag_max_rejection_time) {
            st->mag_reject_t += block_t;
            return 0.0;
        }
        return k / p->mag_rejection_factor;
    }
    st->mag_reject_t = fmax(st->mag_reject_t - p->mag_rejection_factor * block_t, 0.0);
    return k;
}
