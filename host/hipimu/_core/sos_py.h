/* Python wrapper of the second-order-sections filter (sos.c). */
#ifndef HIPIMU_SOS_PY_H
#define HIPIMU_SOS_PY_H

#include <Python.h>

PyObject *hq_py_sosfilt(PyObject *self, PyObject *args);

#define HQ_SOS_METHODS                                                                     \
    {"sosfilt", hq_py_sosfilt, METH_VARARGS,                                               \
     "sosfilt(sos, x, zi, out, channels, reverse=False): biquad cascade (DF-II "           \
     "transposed) along rows (out may be x); zi (2 S, channels) in: initial state, out: "   \
     "final state"},

#endif
