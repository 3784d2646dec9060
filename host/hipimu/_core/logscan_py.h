/* Python wrapper of the session-log record scan (logscan.c). */
#ifndef HIPIMU_LOGSCAN_PY_H
#define HIPIMU_LOGSCAN_PY_H

#include <Python.h>

PyObject *hq_py_log_scan(PyObject *self, PyObject *args);

#define HQ_LOGSCAN_METHODS                                                                 \
    {"log_scan", hq_py_log_scan, METH_VARARGS,                                             \
     "log_scan(data, pos, out) -> (records, stop): intact session-log records from pos "   \
     "on as (offset, kind, length) rows of out (int64, (R, 3))"},

#endif
