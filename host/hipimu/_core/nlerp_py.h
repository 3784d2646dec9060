/* Python wrapper of the grid interpolation kernel (nlerp.c). */
#ifndef HIPIMU_NLERP_PY_H
#define HIPIMU_NLERP_PY_H

#include <Python.h>

PyObject *hq_py_nlerp_grid(PyObject *self, PyObject *args);

#define HQ_NLERP_METHODS                                                                   \
    {"nlerp_grid", hq_py_nlerp_grid, METH_VARARGS,                                         \
     "nlerp_grid(times, q, t, max_gap, hold, out): quaternions q (N, 4) at times (N, 1) "  \
     "interpolated to t (M, 1) into out (M, 4), NaN across gaps, held up to hold past "    \
     "the end"},

#endif
