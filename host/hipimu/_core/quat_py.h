/* Python wrappers of the quaternion array kernels (quat.c); the kernels are in quat.h. */
#ifndef HIPIMU_QUAT_PY_H
#define HIPIMU_QUAT_PY_H

#include <Python.h>

PyObject *hq_py_quat_multiply(PyObject *self, PyObject *args);
PyObject *hq_py_quat_conjugate(PyObject *self, PyObject *args);
PyObject *hq_py_quat_normalize(PyObject *self, PyObject *args);
PyObject *hq_py_quat_relative(PyObject *self, PyObject *args);
PyObject *hq_py_euler_zxy(PyObject *self, PyObject *args);
PyObject *hq_py_euler_yxz(PyObject *self, PyObject *args);
PyObject *hq_py_up_in_frame(PyObject *self, PyObject *args);
PyObject *hq_py_hip_angles(PyObject *self, PyObject *args);

#define HQ_QUAT_METHODS                                                                    \
    {"quat_multiply", hq_py_quat_multiply, METH_VARARGS,                                   \
     "quat_multiply(a, b, out): out = a * b (rows broadcast)"},                            \
    {"quat_conjugate", hq_py_quat_conjugate, METH_VARARGS, "quat_conjugate(q, out) -> 0"},  \
    {"quat_normalize", hq_py_quat_normalize, METH_VARARGS,                                 \
     "quat_normalize(q, out) -> rows that could not be normalised (set to NaN)"},          \
    {"quat_relative", hq_py_quat_relative, METH_VARARGS,                                   \
     "quat_relative(a, b, out): out = conj(a) * b (rows broadcast)"},                      \
    {"euler_zxy", hq_py_euler_zxy, METH_VARARGS,                                           \
     "euler_zxy(q, out): intrinsic Z-X-Y angles in radians, out (N, 3)"},                  \
    {"euler_yxz", hq_py_euler_yxz, METH_VARARGS,                                           \
     "euler_yxz(q, out): intrinsic Y-X-Z angles in radians, out (N, 3)"},                  \
    {"up_in_frame", hq_py_up_in_frame, METH_VARARGS,                                       \
     "up_in_frame(q, out): the vertical in each q_GS's frame over |q|^2, out (N, 3)"},     \
    {"hip_angles", hq_py_hip_angles, METH_VARARGS,                                         \
     "hip_angles(q_pelvis, q_femur, side_sign, out): flexion, adduction, rotation (rad)"},


#endif
