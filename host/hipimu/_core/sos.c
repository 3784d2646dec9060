/* Second-order sections (biquad cascade), direct form II transposed, as scipy.signal's
 * sosfilt: the recursive core of hipimu.core.dsp.sosfiltfilt (zero-phase low-pass of
 * orientations, speeds and set-detection signals). numpy twin: hipimu.reference.dsp.
 *
 * sosfilt(sos, x, zi, out, channels, reverse): sos (S, 6) with a0 == 1; x and out
 * (N, channels), out may be x itself (each row is read before it is written); zi
 * (2 S, channels), the initial state, overwritten with the final state; reverse: run
 * from the last row to the first (the backward pass of a zero-phase filter). */
#include <Python.h>

#include "buffers.h"
#include "sos_py.h"

static void sos_run(const double *sos, Py_ssize_t sections, const double *x, double *out,
                    double *zi, Py_ssize_t rows, Py_ssize_t channels, int reverse)
{
    for (Py_ssize_t i = 0; i < rows; i++) {
        const Py_ssize_t n = reverse ? rows - 1 - i : i;
        const double *xr = x + n * channels;
        double *yr = out + n * channels;
        for (Py_ssize_t c = 0; c < channels; c++) {
            double v = xr[c];
            for (Py_ssize_t s = 0; s < sections; s++) {
                const double *k = sos + 6 * s;
                double *z0 = zi + (2 * s) * channels + c;
                double *z1 = zi + (2 * s + 1) * channels + c;
                const double y = k[0] * v + *z0;
                *z0 = k[1] * v - k[4] * y + *z1;
                *z1 = k[2] * v - k[5] * y;
                v = y;
            }
            yr[c] = v;
        }
    }
}

PyObject *hq_py_sosfilt(PyObject *self, PyObject *args)
{
    PyObject *osos, *ox, *ozi, *oout;
    Py_ssize_t channels;
    int reverse = 0;
    hq_dbuf sos, x, zi, out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOn|p", &osos, &ox, &ozi, &oout, &channels, &reverse)) {
        return NULL;
    }
    if (channels < 1) {
        PyErr_SetString(PyExc_ValueError, "channels must be at least 1");
        return NULL;
    }
    if (hq_dbuf_get(osos, 6, 0, "sos", &sos) != 0) {
        return NULL;
    }
    if (hq_dbuf_get(ox, channels, 0, "x", &x) != 0) {
        hq_dbuf_release(&sos);
        return NULL;
    }
    if (hq_dbuf_get(ozi, channels, 1, "zi", &zi) != 0) {
        hq_dbuf_release(&sos);
        hq_dbuf_release(&x);
        return NULL;
    }
    if (hq_dbuf_get(oout, channels, 1, "out", &out) != 0) {
        hq_dbuf_release(&sos);
        hq_dbuf_release(&x);
        hq_dbuf_release(&zi);
        return NULL;
    }
    int bad = 0;
    if (zi.rows != 2 * sos.rows) {
        PyErr_Format(PyExc_ValueError, "zi: expected %zd rows (2 per section), got %zd",
                     2 * sos.rows, zi.rows);
        bad = 1;
    } else if (hq_check_out_rows(&out, x.rows, "out") != 0) {
        bad = 1;
    } else {
        for (Py_ssize_t s = 0; s < sos.rows; s++) {
            if (sos.data[6 * s + 3] != 1.0) {
                PyErr_Format(PyExc_ValueError, "sos: section %zd has a0 != 1 (normalise first)",
                             s);
                bad = 1;
                break;
            }
        }
    }
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        sos_run(sos.data, sos.rows, x.data, out.data, zi.data, x.rows, channels, reverse);
        Py_END_ALLOW_THREADS
    }
    hq_dbuf_release(&sos);
    hq_dbuf_release(&x);
    hq_dbuf_release(&zi);
    hq_dbuf_release(&out);
    if (bad) {
        return NULL;
    }
    Py_RETURN_NONE;
}
