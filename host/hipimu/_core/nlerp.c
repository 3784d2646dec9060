/* Normalised linear interpolation of a quaternion series onto grid times, NaN across
 * gaps, the last sample held a moment past the end (the live grid's rows,
 * hipimu.analysis.live.rows.interpolate). numpy twin: hipimu.reference.quaternion.nlerp_grid.
 *
 * nlerp_grid(times, q, t, max_gap, hold, out): times (N, 1) strictly increasing, q (N, 4),
 * t (M, 1), out (M, 4). A time inside [times[0], times[N-1]] between two samples at most
 * max_gap apart gets their normalised linear mix along the shorter arc; a time past the
 * last sample by at most hold (> 0) gets the last sample; any other time NaN. */
#include <Python.h>
#include <math.h>

#include "buffers.h"
#include "nlerp_py.h"

static Py_ssize_t lower_index(const double *times, Py_ssize_t n, double t)
{
    /* first index with times[i] >= t, clipped to [1, n - 1] (numpy searchsorted left) */
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        const Py_ssize_t mid = lo + (hi - lo) / 2;
        if (times[mid] < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < 1 ? 1 : (lo > n - 1 ? n - 1 : lo);
}

static void nlerp_run(const double *times, const double *q, Py_ssize_t n, const double *t,
                      Py_ssize_t m, double max_gap, double hold, double *out)
{
    for (Py_ssize_t i = 0; i < m; i++) {
        double *o = out + 4 * i;
        for (int k = 0; k < 4; k++) {
            o[k] = NAN;
        }
        if (n == 0) {
            continue;
        }
        const double last = times[n - 1];
        if (hold > 0.0 && t[i] > last && t[i] - last <= hold) {
            for (int k = 0; k < 4; k++) {
                o[k] = q[4 * (n - 1) + k];
            }
            continue;
        }
        if (n == 1) {
            if (t[i] == times[0]) {
                for (int k = 0; k < 4; k++) {
                    o[k] = q[k];
                }
            }
            continue;
        }
        const Py_ssize_t j = lower_index(times, n, t[i]);
        const double t0 = times[j - 1];
        const double span = times[j] - t0;
        if (!(t[i] >= times[0] && t[i] <= last && span <= max_gap)) {
            continue;
        }
        const double *q0 = q + 4 * (j - 1);
        const double *q1 = q + 4 * j;
        const double w = (t[i] - t0) / span;
        const double dot = q0[0] * q1[0] + q0[1] * q1[1] + q0[2] * q1[2] + q0[3] * q1[3];
        const double sign = dot < 0.0 ? -1.0 : 1.0;
        double mix[4];
        for (int k = 0; k < 4; k++) {
            mix[k] = q0[k] + w * (sign * q1[k] - q0[k]);
        }
        const double norm =
            sqrt(mix[0] * mix[0] + mix[1] * mix[1] + mix[2] * mix[2] + mix[3] * mix[3]);
        for (int k = 0; k < 4; k++) {
            o[k] = mix[k] / norm;
        }
    }
}

PyObject *hq_py_nlerp_grid(PyObject *self, PyObject *args)
{
    PyObject *otimes, *oq, *ot, *oout;
    double max_gap, hold;
    hq_series_bufs b;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOddO", &otimes, &oq, &ot, &max_gap, &hold, &oout)) {
        return NULL;
    }
    if (hq_series_bufs_get(otimes, oq, ot, oout, 0, "nlerp_grid", &b) != 0) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    nlerp_run(b.times.data, b.q.data, b.times.rows, b.t.data, b.t.rows, max_gap, hold,
              b.out.data);
    Py_END_ALLOW_THREADS
    hq_series_bufs_release(&b);
    Py_RETURN_NONE;
}
