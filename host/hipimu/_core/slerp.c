/* Spherical linear interpolation of a quaternion series onto new times (the resampling
 * of hipimu.stream.resample): no temporaries, one pass. numpy twin:
 * hipimu.reference.quaternion.slerp.
 *
 * slerp(times, q, t, out): times (N, 1) strictly increasing, q (N, 4), t (M, 1) inside
 * [times[0], times[N-1]], out (M, 4). Each q row is normalised; the shorter arc is taken. */
#include <Python.h>
#include <math.h>

#include "buffers.h"
#include "slerp_py.h"

static Py_ssize_t upper_index(const double *times, Py_ssize_t n, double t)
{
    /* first index with times[i] > t, clipped to [1, n - 1] (numpy searchsorted right) */
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        const Py_ssize_t mid = lo + (hi - lo) / 2;
        if (times[mid] <= t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < 1 ? 1 : (lo > n - 1 ? n - 1 : lo);
}

static void unit(const double *q, double *u)
{
    const double norm = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    for (int k = 0; k < 4; k++) {
        u[k] = q[k] / norm;
    }
}

static void slerp_run(const double *times, const double *q, Py_ssize_t n, const double *t,
                      double *out, Py_ssize_t m)
{
    for (Py_ssize_t i = 0; i < m; i++) {
        const Py_ssize_t j = upper_index(times, n, t[i]);
        double q0[4], q1[4];
        unit(q + 4 * (j - 1), q0);
        unit(q + 4 * j, q1);
        const double w = (t[i] - times[j - 1]) / (times[j] - times[j - 1]);
        const double dot = q0[0] * q1[0] + q0[1] * q1[1] + q0[2] * q1[2] + q0[3] * q1[3];
        const double sign = dot < 0.0 ? -1.0 : 1.0;
        const double theta = acos(fmin(fabs(dot), 1.0));
        const double s = sin(theta);
        double a, b;
        if (s < 1e-9) {
            a = 1.0 - w;
            b = w;
        } else {
            a = sin((1.0 - w) * theta) / s;
            b = sin(w * theta) / s;
        }
        b *= sign;
        double *o = out + 4 * i;
        for (int k = 0; k < 4; k++) {
            o[k] = q0[k] * a + q1[k] * b;
        }
        const double norm = sqrt(o[0] * o[0] + o[1] * o[1] + o[2] * o[2] + o[3] * o[3]);
        for (int k = 0; k < 4; k++) {
            o[k] /= norm;
        }
    }
}

PyObject *hq_py_slerp(PyObject *self, PyObject *args)
{
    PyObject *otimes, *oq, *ot, *oout;
    hq_series_bufs b;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOO", &otimes, &oq, &ot, &oout)) {
        return NULL;
    }
    if (hq_series_bufs_get(otimes, oq, ot, oout, 2, "slerp", &b) != 0) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    slerp_run(b.times.data, b.q.data, b.times.rows, b.t.data, b.out.data, b.t.rows);
    Py_END_ALLOW_THREADS
    hq_series_bufs_release(&b);
    Py_RETURN_NONE;
}
