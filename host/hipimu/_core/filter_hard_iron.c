/* Hard-iron estimation (hipimu's addition to VQF): a Kalman filter over a constant
 * sensor-frame magnetometer offset from pairs of samples across a rotation, applied only
 * with evidence (likelihood ratio, constancy of the corrected field). */
#include "filter_internal.h"

/* Hard-iron estimation: a Kalman filter over the constant sensor-frame offset b of the
 * magnetometer (a magnet or magnetised part fixed to the sensor). Two magnetometer samples
 * taken before and after a rotation of at least hard_iron_min_angle (relative rotation from
 * the 6D estimate, i.e. essentially the gyroscope) see the same earth field h, so
 *     m - Rrel^T m_a = (I - Rrel^T) b,   Rrel = R_a^T R  (m = R^T h + b),
 * which eliminates h: no assumption about the field's size or direction is needed. Pairs
 * whose innovation fails a Mahalanobis gate (field disturbances) are skipped; repeated
 * misfits restart the estimate (the magnet moved or went). The offset is applied only once
 * it is large and well determined. */
void hqf_hard_iron_clear(hqf_state *st)
{
    st->hi_ev_llr = 0.0;
    st->hi_ev_w = 0.0;
    memset(st->hi_ev_m, 0, sizeof st->hi_ev_m);
    memset(st->hi_ev_v, 0, sizeof st->hi_ev_v);
}

/* Forget the evidence over the time dt (s) since the last pair. */
static void hi_evidence_decay(hqf_state *st, double dt)
{
    const double tau = st->p.hard_iron_evidence_time;
    const double f = tau > 0.0 ? exp(-dt / tau) : 0.0;
    st->hi_ev_llr *= f;
    st->hi_ev_w *= f;
    for (int i = 0; i < 14; i++) {
        st->hi_ev_m[i] *= f;
        st->hi_ev_v[i] *= f;
    }
}

/* Add the moments of the scalar s = a + c . x (x a 3-vector): sums of s, s^2, x, s x,
 * x x^T, laid out as in hqf_state.hi_ev_m. */
static void moments_add(double *sums, double a, const double *x)
{
    sums[0] += a;
    sums[1] += a * a;
    for (int i = 0; i < 3; i++) {
        sums[2 + i] += x[i];
        sums[5 + i] += a * x[i];
    }
    sums[8] += x[0] * x[0];
    sums[9] += x[1] * x[1];
    sums[10] += x[2] * x[2];
    sums[11] += x[0] * x[1];
    sums[12] += x[0] * x[2];
    sums[13] += x[1] * x[2];
}

/* Variance over the pairs of a + c . x given the moments of a and x (weight w). */
static double moments_var(const double *sums, double w, const double *c)
{
    const double ma = sums[0] / w;
    const double mx[3] = {sums[2] / w, sums[3] / w, sums[4] / w};
    double v = sums[1] / w - ma * ma;
    double cov[9];
    const int idx[9] = {8, 11, 12, 11, 9, 13, 12, 13, 10};
    for (int i = 0; i < 3; i++) {
        v += 2.0 * c[i] * (sums[5 + i] / w - ma * mx[i]);
        for (int j = 0; j < 3; j++) {
            cov[3 * i + j] = sums[idx[3 * i + j]] / w - mx[i] * mx[j];
        }
    }
    for (int i = 0; i < 3; i++) {
        v += c[i] * (cov[3 * i] * c[0] + cov[3 * i + 1] * c[1] + cov[3 * i + 2] * c[2]);
    }
    return v;
}

/* One gated pair: nu0 is its residual without an offset, nub with the current offset
 * (predicted: the offset before this pair updates it), rn the residual's variance per axis
 * (mag units^2). The log-likelihood ratio of "offset b" against "no offset" grows by
 * (|nu0|^2 - |nub|^2) / (2 rn). The moments of the pair's sample feed the constancy check
 * of the field's squared norm and earth-vertical component (hi_evidence). */
static void hi_evidence_add(hqf_state *st, const double *q6, const double *mag,
                            const double *nu0, const double *nub, double rn)
{
    const double r0 = nu0[0] * nu0[0] + nu0[1] * nu0[1] + nu0[2] * nu0[2];
    const double rb = nub[0] * nub[0] + nub[1] * nub[1] + nub[2] * nub[2];
    st->hi_ev_llr += (r0 - rb) / (2.0 * rn);
    st->hi_ev_w += 1.0;
    const double u = mag[0] * mag[0] + mag[1] * mag[1] + mag[2] * mag[2];
    moments_add(st->hi_ev_m, u, mag);
    /* third row of R(q6): the earth-vertical direction in the sensor frame */
    const double w = q6[0], x = q6[1], y = q6[2], z = q6[3];
    const double r[3] = {2.0 * (x * z - w * y), 2.0 * (w * x + y * z),
                         1.0 - 2.0 * (x * x + y * y)};
    moments_add(st->hi_ev_v, r[0] * mag[0] + r[1] * mag[1] + r[2] * mag[2], r);
}

/* Whether the evidence supports applying the current offset b (relax: 1 to start, 0.5 to
 * keep it): a log-likelihood ratio of at least relax * hard_iron_min_llr, and over the same
 * pairs a corrected field m - b whose squared norm varies less than the raw field's (by
 * the variance ratio hard_iron_norm_ratio to start, 1 to keep) and whose earth-vertical
 * component (with the norm: the dip) varies no more. A constant field seen through the
 * right offset has both constant. */
static int hi_evidence(const hqf_state *st, double relax)
{
    const hqf_params *p = &st->p;
    const double w = st->hi_ev_w;
    if (!(w > 2.0) || st->hi_ev_llr < relax * p->hard_iron_min_llr) {
        return 0;
    }
    const double *b = st->hi_b;
    const double zero[3] = {0.0, 0.0, 0.0};
    /* |m - b|^2 = |m|^2 + (-2 b) . m + |b|^2 (the constant does not vary) */
    const double cn[3] = {-2.0 * b[0], -2.0 * b[1], -2.0 * b[2]};
    const double vn0 = moments_var(st->hi_ev_m, w, zero);
    const double vnb = moments_var(st->hi_ev_m, w, cn);
    /* r . (m - b) = r . m + (-b) . r */
    const double cv[3] = {-b[0], -b[1], -b[2]};
    const double vv0 = moments_var(st->hi_ev_v, w, zero);
    const double vvb = moments_var(st->hi_ev_v, w, cv);
    const double ratio = relax < 1.0 ? 1.0 : p->hard_iron_norm_ratio;
    return vnb <= ratio * vn0 && vvb <= vv0;
}

void hqf_update_hard_iron(hqf_state *st, const double *q6, const double *mag, double dt)
{
    const hqf_params *p = &st->p;
    st->hi_dt += dt;
    st->hi_age += dt;
    if (!st->hi_init) {
        const double s = norm3(mag);
        if (!(s > 0.0)) {
            return;
        }
        st->hi_scale = s;
        memset(st->hi_p, 0, sizeof st->hi_p);
        st->hi_p[0] = st->hi_p[4] = st->hi_p[8] = sq(p->hard_iron_sigma_init * s);
        st->hi_init = 1;
        st->hi_dt = 0.0;
        goto new_anchor;
    }
    /* relative rotation anchor -> now: w of conj(q_a) q6 */
    const double *qa = st->hi_qa;
    const double w = qa[0] * q6[0] + qa[1] * q6[1] + qa[2] * q6[2] + qa[3] * q6[3];
    if (fabs(w) > st->c.hi_cos_half_angle) {
        if (st->hi_age > p->hard_iron_max_age) {
            goto new_anchor;
        }
        return;
    }
    {
        const double s = st->hi_scale;
        double *P = st->hi_p;
        const double pair_dt = st->hi_dt;
        const double qb = sq(p->hard_iron_sigma_offset * s) * st->hi_dt;
        P[0] += qb;
        P[4] += qb;
        P[8] += qb;
        st->hi_dt = 0.0;
        double Ra[9], R[9], Rrel[9], H[9];
        hq_matrix(qa, Ra);
        hq_matrix(q6, R);
        mat3_mul_tf(R, Ra, Rrel); /* R^T R_a = Rrel^T */
        for (int i = 0; i < 9; i++) {
            H[i] = -Rrel[i];
        }
        H[0] += 1.0;
        H[4] += 1.0;
        H[8] += 1.0;
        double ma[3], nu[3], hb[3];
        mat_vec(Rrel, st->hi_ma, ma);
        mat_vec(H, st->hi_b, hb);
        nu[0] = mag[0] - ma[0] - hb[0];
        nu[1] = mag[1] - ma[1] - hb[1];
        nu[2] = mag[2] - ma[2] - hb[2];
        double PHt[9], S[9], Si[9];
        mat3_mul_ts(P, H, PHt); /* P H^T */
        mat3_mul(H, PHt, S);
        const double rn = 2.0 * sq(p->hard_iron_sigma_meas * s);
        S[0] += rn;
        S[4] += rn;
        S[8] += rn;
        hi_evidence_decay(st, pair_dt);
        if (mat3_inv(S, Si) == 0) {
            double sn[3];
            mat_vec(Si, nu, sn);
            const double d2 = nu[0] * sn[0] + nu[1] * sn[1] + nu[2] * sn[2];
            if (d2 > sq(p->hard_iron_gate)) {
                if (++st->hi_rej >= (int)p->hard_iron_reset_count) {
                    memset(st->hi_b, 0, sizeof st->hi_b);
                    memset(P, 0, sizeof st->hi_p);
                    P[0] = P[4] = P[8] = sq(p->hard_iron_sigma_init * s);
                    st->hi_rej = 0;
                    hqf_hard_iron_clear(st);
                }
            } else {
                st->hi_rej = 0;
                /* evidence from the predicted residual (the offset before this pair) */
                const double nu0[3] = {mag[0] - ma[0], mag[1] - ma[1], mag[2] - ma[2]};
                hi_evidence_add(st, q6, mag, nu0, nu, rn);
                double K[9], KHP[9], dx[3];
                mat3_mul(PHt, Si, K);
                mat_vec(K, nu, dx);
                st->hi_b[0] += dx[0];
                st->hi_b[1] += dx[1];
                st->hi_b[2] += dx[2];
                mat3_mul_ts(K, PHt, KHP); /* K H P = K (P H^T)^T */
                for (int i = 0; i < 3; i++) {
                    for (int j = i; j < 3; j++) {
                        const double val =
                            P[3 * i + j] - 0.5 * (KHP[3 * i + j] + KHP[3 * j + i]);
                        P[3 * i + j] = val;
                        P[3 * j + i] = val;
                    }
                }
            }
        }
    }
    {
        const double s = st->hi_scale;
        const double bn = norm3(st->hi_b);
        const double sig = sqrt(fmax(st->hi_p[0], fmax(st->hi_p[4], st->hi_p[8])));
        if (!st->hi_active) {
            st->hi_active = bn > p->hard_iron_min_offset * s && sig < p->hard_iron_max_sigma * s &&
                            hi_evidence(st, 1.0);
        } else {
            st->hi_active = bn > 0.5 * p->hard_iron_min_offset * s &&
                            sig < 2.0 * p->hard_iron_max_sigma * s && hi_evidence(st, 0.5);
        }
    }
new_anchor:
    memcpy(st->hi_qa, q6, sizeof st->hi_qa);
    memcpy(st->hi_ma, mag, sizeof st->hi_ma);
    st->hi_age = 0.0;
}
