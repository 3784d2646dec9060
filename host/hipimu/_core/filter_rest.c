/* Rest detection's bias gate (hipimu's addition to VQF) and the decision whether the bias
 * filter takes a rest update. The per-sample rest tests are in filter_rest.h. */
#include "filter_internal.h"

/* Rest bias gate (hipimu's addition to VQF). A slow rotation (a client settling into a
 * stance at 1-2 deg/s) passes VQF's rest test, which only bounds the gyro's deviation from
 * its own low-pass, and the rest update would learn it as bias. A gyro bias cannot change
 * by more than its uncertainty within seconds, so the low-passed rate is compared with an
 * anchor: the bias estimate (and covariance) held when the rest began, renewed every
 * rest_min_t while the rest lasts. A departure beyond rest_bias_gate standard deviations
 * of the anchor (and at least rest_bias_gate_min deg/s) ends the rest and restores the
 * anchor, undoing the bias updates made since. dt: time since the last call (s). Returns 1
 * while the rest stands. */
static void rest_anchor(hqf_state *st)
{
    memcpy(st->rest_anchor, st->bias, sizeof st->rest_anchor);
    memcpy(st->rest_anchor_p, st->bias_p, sizeof st->rest_anchor_p);
    if (st->c.cal_on) {
        memcpy(st->rest_anchor_m, st->cal_m, sizeof st->rest_anchor_m);
        memcpy(st->rest_anchor_cp, st->cal_p, sizeof st->rest_anchor_cp);
    }
    st->rest_anchor_set = 1;
    st->rest_anchor_t = 0.0;
}

static int rest_gate(hqf_state *st, double dt)
{
    const hqf_params *p = &st->p;
    if (!st->rest_anchor_set) {
        rest_anchor(st);
    }
    st->rest_anchor_t += dt;
    const double floor = p->rest_bias_gate_min * DEG;
    const double *m = st->rest_anchor_m, *w = st->rest_gyr_lp;
    for (int i = 0; i < 3; i++) {
        /* P is kept in units of (0.01 deg/s)^2, as in VQF */
        const double sigma = sqrt(fmax(st->rest_anchor_p[4 * i], 0.0)) * 0.01 * DEG;
        const double limit = fmax(floor, p->rest_bias_gate * sigma);
        double d = w[i] - st->rest_anchor[i];
        if (st->c.cal_on) {
            /* at rest the gyro reads bias + M gyr */
            d -= m[3 * i] * w[0] + m[3 * i + 1] * w[1] + m[3 * i + 2] * w[2];
        }
        if (fabs(d) > limit) {
            memcpy(st->bias, st->rest_anchor, sizeof st->bias);
            memcpy(st->bias_p, st->rest_anchor_p, sizeof st->bias_p);
            if (st->c.cal_on) {
                memcpy(st->cal_m, st->rest_anchor_m, sizeof st->cal_m);
                memcpy(st->cal_p, st->rest_anchor_cp, sizeof st->cal_p);
                st->cal_rev++;
            }
            st->rest_anchor_set = 0;
            st->rest_detected = 0;
            st->rest_t = 0.0;
            return 0;
        }
    }
    if (st->rest_anchor_t >= p->rest_min_t) {
        rest_anchor(st);
    }
    return 1;
}

/* Whether the bias filter takes a rest update (VQF's rest detection and the rest gate). */
int hqf_rest_update(hqf_state *st, double nblk)
{
    const hqf_params *p = &st->p;
    int rest = st->rest_detected && p->rest_bias != 0.0;
    if (!rest) {
        st->rest_anchor_set = 0;
    } else if (p->rest_bias_gate > 0.0) {
        rest = rest_gate(st, nblk * st->c.ts);
    }
    return rest;
}
