/* hipimu._core: the C kernels behind hipimu.quaternion and hipimu.fusion.
 * Plain C11 over the buffer protocol, limited API (abi3), no global mutable state.
 * Each kernel file contributes a block of method-table entries through a macro.
 */
#include <Python.h>

#include "filter_py.h"
#include "quat_py.h"
#include "logscan_py.h"
#include "nlerp_py.h"
#include "slerp_py.h"
#include "sos_py.h"

static PyMethodDef core_methods[] = {
    HQ_QUAT_METHODS
    HQ_FILTER_METHODS
    HQ_SOS_METHODS
    HQ_LOGSCAN_METHODS
    HQ_SLERP_METHODS
    HQ_NLERP_METHODS
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    "hipimu._core",
    "C kernels of hipimu: quaternion arrays, hip angles, orientation filter, biquad cascades, session-log scan.",
    0,
    core_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__core(void)
{
    return PyModuleDef_Init(&core_module);
}
