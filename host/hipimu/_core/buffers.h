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

#endif
