/* Python wrapper of the slerp resampling kernel (slerp.c). */
#ifndef HIPIMU_SLERP_PY_H
#define HIPIMU_SLERP_PY_H

#include <Python.h>

PyObject *hq_py_slerp(PyObject *self, PyObject *args);

#define HQ_SLERP_METHODS                                                                   \
    {"slerp", hq_py_slerp, METH_VARARGS,                                                   \
     "slerp(times, q, t, out): quaternions q (N, 4) at times (N, 1) interpolated to t "    \
     "(M, 1) into out (M, 4)"},

#endif
