/* Python binding of the orientation filter (filter_py.c): method-table entries collected by
 * module.c through HQ_FILTER_METHODS. The filter itself (filter.h) knows nothing of Python. */
#ifndef HIPIMU_FILTER_PY_H
#define HIPIMU_FILTER_PY_H

#include <Python.h>

PyObject *hqf_py_filter_new(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_copy(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_reset(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_run(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *hqf_py_filter_info(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_offline(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_param_table(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_stream(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *hqf_py_filter_flags(PyObject *self, PyObject *args);
PyObject *hqf_py_filter_bind(PyObject *self, PyObject *args);

#define HQ_FILTER_METHODS                                                                  \
    {"filter_new", hqf_py_filter_new, METH_VARARGS,                                        \
     "filter_new(params, rate_hz) -> capsule holding a filter state"},                     \
    {"filter_copy", hqf_py_filter_copy, METH_VARARGS, "filter_copy(state) -> capsule"},    \
    {"filter_reset", hqf_py_filter_reset, METH_VARARGS, "filter_reset(state)"},            \
    {"filter_run", (PyCFunction)(void (*)(void))hqf_py_filter_run, METH_FASTCALL,                                        \
     "filter_run(state, gyr, acc, mag|None, dt|None, out_q, out_bias|None, out_flags|None)"},   \
    {"filter_info", hqf_py_filter_info, METH_VARARGS,                                      \
     "filter_info(state) -> dict of the current estimates"},                               \
    {"filter_offline", hqf_py_filter_offline, METH_VARARGS,                                \
     "filter_offline(params, rate_hz, gyr, acc, mag|None, dt|None, out_q, out_bias, "      \
     "out_flags)"},                                                                       \
    {"filter_stream", (PyCFunction)(void (*)(void))hqf_py_filter_stream, METH_FASTCALL,     \
     "filter_stream(state, gyr, acc, mag|None, empty) -> (n, 4) quaternions (n <= 256)"},  \
    {"filter_flags", hqf_py_filter_flags, METH_VARARGS,                                    \
     "filter_flags(state) -> bytes: the last chunk's flags (None: in the caller's buffer)"}, \
    {"filter_bind", hqf_py_filter_bind, METH_VARARGS,                                      \
     "filter_bind(state, empty, fallback) -> update(gyr, acc, mag=None) bound in C"},      \
    {"filter_param_table", hqf_py_filter_param_table, METH_NOARGS,                         \
     "filter_param_table() -> ((name, default, unit, meaning), ...) in parameter order"},

#endif
