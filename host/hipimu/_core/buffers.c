#include "buffers.h"

#include <string.h>

static int format_is_double(const char *fmt)
{
    if (fmt == NULL) {
        return 1; /* PyBUF_FORMAT not honoured: unsigned bytes; itemsize check catches it */
    }
    if (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@') {
        fmt++;
    }
    return strcmp(fmt, "d") == 0;
}

int hq_dbuf_get(PyObject *obj, Py_ssize_t cols, int writable, const char *name, hq_dbuf *out)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
    if (writable) {
        flags |= PyBUF_WRITABLE;
    }
    out->held = 0;
    out->data = NULL;
    out->rows = 0;
    if (PyObject_GetBuffer(obj, &out->view, flags) != 0) {
        PyErr_Format(PyExc_TypeError,
                     "%s: expected a C-contiguous%s float64 array", name,
                     writable ? " writable" : "");
        return -1;
    }
    out->held = 1;
    if (out->view.itemsize != (Py_ssize_t)sizeof(double) || !format_is_double(out->view.format)) {
        PyErr_Format(PyExc_TypeError, "%s: expected float64 items", name);
        hq_dbuf_release(out);
        return -1;
    }
    if (out->view.ndim == 2 && out->view.shape[1] == cols) {
        out->rows = out->view.shape[0];
    } else if (out->view.ndim == 1 && out->view.shape[0] == cols) {
        out->rows = 1;
    } else {
        PyErr_Format(PyExc_ValueError, "%s: expected shape (N, %zd) or (%zd,)", name, cols, cols);
        hq_dbuf_release(out);
        return -1;
    }
    if (out->view.len != out->rows * cols * (Py_ssize_t)sizeof(double)) {
        PyErr_Format(PyExc_ValueError, "%s: buffer length does not match its shape", name);
        hq_dbuf_release(out);
        return -1;
    }
    out->data = (double *)out->view.buf;
    return 0;
}

void hq_dbuf_release(hq_dbuf *b)
{
    if (b->held) {
        PyBuffer_Release(&b->view);
        b->held = 0;
    }
    b->data = NULL;
}

int hq_broadcast_rows(const hq_dbuf *a, const hq_dbuf *b, Py_ssize_t *rows)
{
    if (a->rows == b->rows || b->rows == 1) {
        *rows = a->rows;
        return 0;
    }
    if (a->rows == 1) {
        *rows = b->rows;
        return 0;
    }
    PyErr_Format(PyExc_ValueError, "row counts %zd and %zd do not broadcast", a->rows, b->rows);
    return -1;
}

int hq_check_out_rows(const hq_dbuf *out, Py_ssize_t rows, const char *name)
{
    if (out->rows != rows) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd rows, got %zd", name, rows, out->rows);
        return -1;
    }
    return 0;
}

void hq_series_bufs_release(hq_series_bufs *b)
{
    hq_dbuf_release(&b->times);
    hq_dbuf_release(&b->q);
    hq_dbuf_release(&b->t);
    hq_dbuf_release(&b->out);
}

int hq_series_bufs_get(PyObject *times, PyObject *q, PyObject *t, PyObject *out,
                       Py_ssize_t min_rows, const char *kernel, hq_series_bufs *b)
{
    b->times.held = b->q.held = b->t.held = b->out.held = 0;
    if (hq_dbuf_get(times, 1, 0, "times", &b->times) != 0 ||
        hq_dbuf_get(q, 4, 0, "q", &b->q) != 0 || hq_dbuf_get(t, 1, 0, "t", &b->t) != 0 ||
        hq_dbuf_get(out, 4, 1, "out", &b->out) != 0) {
        hq_series_bufs_release(b);
        return -1;
    }
    if (b->times.rows < min_rows) {
        PyErr_Format(PyExc_ValueError, "%s needs at least %zd samples, got %zd", kernel,
                     min_rows, b->times.rows);
        hq_series_bufs_release(b);
        return -1;
    }
    if (b->q.rows != b->times.rows) {
        PyErr_Format(PyExc_ValueError, "%s needs as many times (%zd) as quaternions (%zd)",
                     kernel, b->times.rows, b->q.rows);
        hq_series_bufs_release(b);
        return -1;
    }
    if (hq_check_out_rows(&b->out, b->t.rows, "out") != 0) {
        hq_series_bufs_release(b);
        return -1;
    }
    return 0;
}
