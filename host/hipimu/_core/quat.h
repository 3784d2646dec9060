/* Quaternion kernels: scalar-first [w, x, y, z], Hamilton product.
 * q_AB rotates a vector from frame B into frame A; q_AC = q_AB * q_BC.
 */
#ifndef HIPIMU_QUAT_H
#define HIPIMU_QUAT_H

#include <Python.h>

void hq_mul(const double *a, const double *b, double *out);
void hq_conj(const double *q, double *out);
/* Normalise; returns 0, or -1 (and writes NaN) when the norm is zero or not finite. */
int hq_normalize(const double *q, double *out);
/* conj(a) * b: with a = q_GA, b = q_GB gives q_AB. */
void hq_relative(const double *a, const double *b, double *out);
/* Intrinsic Z-X-Y angles (radians) of the rotation matrix of q (need not be unit). */
void hq_euler_zxy(const double *q, double *out);

PyObject *hq_py_quat_multiply(PyObject *self, PyObject *args);
PyObject *hq_py_quat_conjugate(PyObject *self, PyObject *args);
PyObject *hq_py_quat_normalize(PyObject *self, PyObject *args);
PyObject *hq_py_quat_relative(PyObject *self, PyObject *args);
PyObject *hq_py_euler_zxy(PyObject *self, PyObject *args);
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
    {"hip_angles", hq_py_hip_angles, METH_VARARGS,                                         \
     "hip_angles(q_pelvis, q_femur, side_sign, out): flexion, adduction, rotation (rad)"},


#endif
