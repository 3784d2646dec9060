/* Buffer-protocol helpers shared by the hipimu._core kernels.
 *
 * Every array crosses the Python/C boundary as a C-contiguous float64 buffer
 * ('d' format) of shape (rows, cols) or (cols,) for a single row. The helpers
 * check format, shape and writability and say what was wrong, naming the argument.
 */
#ifndef HIPIMU_BUFFERS_H
#define HIPIMU_BUFFERS_H

#include <Python.h>

typedef struct {
    Py_buffer view;
    double *data;
    Py_ssize_t rows;
    int held;
} hq_dbuf;

/* Acquire `obj` as rows x cols doubles. Returns 0 on success, -1 with an exception set. */
int hq_dbuf_get(PyObject *obj, Py_ssize_t cols, int writable, const char *name, hq_dbuf *out);
void hq_dbuf_release(hq_dbuf *b);

/* Resolve the row count of a broadcast pair (equal, or one side of length 1). */
int hq_broadcast_rows(const hq_dbuf *a, const hq_dbuf *b, Py_ssize_t *rows);

/* Check that `out` holds exactly `rows` rows. */
int hq_check_out_rows(const hq_dbuf *out, Py_ssize_t rows, const char *name);

/* The buffers of a kernel that takes a quaternion series onto new times: times (N, 1),
 * q (N, 4), t (M, 1) and the writable out (M, 4). */
typedef struct {
    hq_dbuf times, q, t, out;
} hq_series_bufs;

/* Acquire them, checking that N >= min_rows, q has N rows and out M rows (the message
 * names `kernel`). Returns 0, or -1 with an exception set and nothing held. */
int hq_series_bufs_get(PyObject *times, PyObject *q, PyObject *t, PyObject *out,
                       Py_ssize_t min_rows, const char *kernel, hq_series_bufs *b);
void hq_series_bufs_release(hq_series_bufs *b);

#endif
