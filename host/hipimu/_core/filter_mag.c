/* Heading correction (VQF), with the hard-iron offset removed from the magnetometer first
 * when it is applied; the disturbance test and rejection are in filter_mag_dist.c. */
#include "filter_internal.h"

/* Heading correction (at the correction rate) from the block's magnetometer samples:
 * mag_mean is their mean in the gyro-integrated frame (hard-iron offset removed, as it was
 * during the block). The hard-iron estimator takes the latest valid sample mag_raw with the
 * orientation at its time, and so does the disturbance test with mag_dist_sample. */
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

    double k = st->c.k_mag;
    if (p->mag_rejection != 0.0) {
        hqf_mag_disturbance(st, q6, mag_raw, me, block_t);
        k = hqf_mag_rejection_gain(st, k, block_t);
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
