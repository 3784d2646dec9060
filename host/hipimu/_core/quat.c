/* Quaternion kernels and the quaternion -> hip angle pipeline over whole arrays.
 * numpy reference: hipimu/quaternion_reference.py (tests compare the two to 1e-12).
 */
#include "quat_py.h"

#include "quat.h"

#include <math.h>

#include "buffers.h"

/* Row i of a broadcast operand: a length-1 operand repeats its only row. */
static const double *row4(const hq_dbuf *b, Py_ssize_t i)
{
    return b->data + (b->rows == 1 ? 0 : 4 * i);
}

typedef void (*binary_kernel)(const double *, const double *, double *);

static PyObject *binary_over_rows(PyObject *args, const char *fname, binary_kernel kernel)
{
    PyObject *oa, *ob, *oout;
    hq_dbuf a, b, out;
    Py_ssize_t rows;
    if (!PyArg_ParseTuple(args, "OOO", &oa, &ob, &oout)) {
        return NULL;
    }
    if (hq_dbuf_get(oa, 4, 0, "a", &a) != 0) {
        return NULL;
    }
    if (hq_dbuf_get(ob, 4, 0, "b", &b) != 0) {
        hq_dbuf_release(&a);
        return NULL;
    }
    if (hq_dbuf_get(oout, 4, 1, "out", &out) != 0) {
        hq_dbuf_release(&a);
        hq_dbuf_release(&b);
        return NULL;
    }
    if (hq_broadcast_rows(&a, &b, &rows) != 0 || hq_check_out_rows(&out, rows, fname) != 0) {
        hq_dbuf_release(&a);
        hq_dbuf_release(&b);
        hq_dbuf_release(&out);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < rows; i++) {
        kernel(row4(&a, i), row4(&b, i), out.data + 4 * i);
    }
    Py_END_ALLOW_THREADS
    hq_dbuf_release(&a);
    hq_dbuf_release(&b);
    hq_dbuf_release(&out);
    Py_RETURN_NONE;
}

PyObject *hq_py_quat_multiply(PyObject *self, PyObject *args)
{
    (void)self;
    return binary_over_rows(args, "quat_multiply", hq_mul);
}

PyObject *hq_py_quat_relative(PyObject *self, PyObject *args)
{
    (void)self;
    return binary_over_rows(args, "quat_relative", hq_relative);
}

/* Kernels that map one quaternion row to one output row; a non-zero return counts the
 * row as bad (normalize of a zero quaternion). */
typedef int (*unary_kernel)(const double *, double *);

static int conj_kernel(const double *q, double *out)
{
    hq_conj(q, out);
    return 0;
}

static int euler_kernel(const double *q, double *out)
{
    hq_euler_zxy(q, out);
    return 0;
}

static int euler_yxz_kernel(const double *q, double *out)
{
    hq_euler_yxz(q, out);
    return 0;
}

/* The global vertical (0, 0, 1) in the frame of q_GS, divided by |q|^2 (NaN for a zero
 * or non-finite q): hipimu.body.posture.sensor_up. */
static int up_kernel(const double *q, double *out)
{
    const double w = q[0], x = q[1], y = q[2], z = q[3];
    double n = w * w + x * x + y * y + z * z;
    n = n > 0.0 ? n : NAN;
    out[0] = 2.0 * (x * z - w * y) / n;
    out[1] = 2.0 * (y * z + w * x) / n;
    out[2] = (1.0 - 2.0 * (x * x + y * y)) / n;
    return 0;
}

static PyObject *unary_over_rows(PyObject *args, Py_ssize_t out_cols, unary_kernel kernel)
{
    PyObject *oq, *oout;
    hq_dbuf q, out;
    Py_ssize_t bad = 0;
    if (!PyArg_ParseTuple(args, "OO", &oq, &oout)) {
        return NULL;
    }
    if (hq_dbuf_get(oq, 4, 0, "q", &q) != 0) {
        return NULL;
    }
    if (hq_dbuf_get(oout, out_cols, 1, "out", &out) != 0) {
        hq_dbuf_release(&q);
        return NULL;
    }
    if (hq_check_out_rows(&out, q.rows, "out") != 0) {
        hq_dbuf_release(&q);
        hq_dbuf_release(&out);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < q.rows; i++) {
        if (kernel(q.data + 4 * i, out.data + out_cols * i) != 0) {
            bad++;
        }
    }
    Py_END_ALLOW_THREADS
    hq_dbuf_release(&q);
    hq_dbuf_release(&out);
    return PyLong_FromSsize_t(bad);
}

PyObject *hq_py_quat_conjugate(PyObject *self, PyObject *args)
{
    (void)self;
    return unary_over_rows(args, 4, conj_kernel);
}

PyObject *hq_py_quat_normalize(PyObject *self, PyObject *args)
{
    (void)self;
    return unary_over_rows(args, 4, hq_normalize);
}

PyObject *hq_py_euler_zxy(PyObject *self, PyObject *args)
{
    (void)self;
    return unary_over_rows(args, 3, euler_kernel);
}

PyObject *hq_py_euler_yxz(PyObject *self, PyObject *args)
{
    (void)self;
    return unary_over_rows(args, 3, euler_yxz_kernel);
}

PyObject *hq_py_up_in_frame(PyObject *self, PyObject *args)
{
    (void)self;
    return unary_over_rows(args, 3, up_kernel);
}

PyObject *hq_py_hip_angles(PyObject *self, PyObject *args)
{
    PyObject *op, *of, *oout;
    double side_sign;
    hq_dbuf p, f, out;
    Py_ssize_t rows;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOdO", &op, &of, &side_sign, &oout)) {
        return NULL;
    }
    if (side_sign != 1.0 && side_sign != -1.0) {
        PyErr_SetString(PyExc_ValueError, "side_sign must be +1 (right) or -1 (left)");
        return NULL;
    }
    if (hq_dbuf_get(op, 4, 0, "q_pelvis", &p) != 0) {
        return NULL;
    }
    if (hq_dbuf_get(of, 4, 0, "q_femur", &f) != 0) {
        hq_dbuf_release(&p);
        return NULL;
    }
    if (hq_dbuf_get(oout, 3, 1, "out", &out) != 0) {
        hq_dbuf_release(&p);
        hq_dbuf_release(&f);
        return NULL;
    }
    if (hq_broadcast_rows(&p, &f, &rows) != 0 || hq_check_out_rows(&out, rows, "out") != 0) {
        hq_dbuf_release(&p);
        hq_dbuf_release(&f);
        hq_dbuf_release(&out);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < rows; i++) {
        double rel[4];
        double *o = out.data + 3 * i;
        hq_relative(row4(&p, i), row4(&f, i), rel);
        hq_euler_zxy(rel, o);
        o[1] *= side_sign;
        o[2] *= side_sign;
    }
    Py_END_ALLOW_THREADS
    hq_dbuf_release(&p);
    hq_dbuf_release(&f);
    hq_dbuf_release(&out);
    Py_RETURN_NONE;
}
