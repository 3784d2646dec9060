/* Session-log record scan (hipimu.store.log): the intact records from a position on,
 * stopping at the first one that is not (the reader's Python loop takes over there).
 * A record: sync A5 5A, kind u8 (1..4), length u32 LE (<= 1 MiB), body, CRC-32 u32 LE
 * of kind, length and body. numpy twin: hipimu.reference.logscan.
 *
 * log_scan(data, pos, out) -> (records, stop): out is a writable C-contiguous int64
 * buffer of shape (R, 3) receiving (offset, kind, length) per record; the scan ends at
 * the first record that is not intact, at the end of data, or when out is full. */
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "logscan_py.h"

#define LOG_HEAD 7
#define LOG_CRC 4
#define LOG_MAX_BODY (1u << 20)

static void crc_table(uint32_t table[256])
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        table[i] = c;
    }
}

static uint32_t crc32_of(const uint32_t table[256], const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c = table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

static uint32_t u32_le(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static int int64_format(const char *fmt)
{
    if (fmt == NULL) {
        return 0;
    }
    if (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@') {
        fmt++;
    }
    return strcmp(fmt, "q") == 0 || (sizeof(long) == 8 && strcmp(fmt, "l") == 0);
}

PyObject *hq_py_log_scan(PyObject *self, PyObject *args)
{
    PyObject *odata, *oout;
    Py_ssize_t pos;
    Py_buffer data, out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OnO", &odata, &pos, &oout)) {
        return NULL;
    }
    if (PyObject_GetBuffer(odata, &data, PyBUF_C_CONTIGUOUS) != 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(oout, &out, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) != 0) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_TypeError, "out: expected a writable C-contiguous int64 array");
        return NULL;
    }
    if (out.itemsize != 8 || !int64_format(out.format) || out.ndim != 2 || out.shape[1] != 3) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "out: expected an int64 array of shape (R, 3)");
        return NULL;
    }
    if (pos < 0 || pos > data.len) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&out);
        PyErr_Format(PyExc_ValueError, "pos %zd outside the data (%zd bytes)", pos, data.len);
        return NULL;
    }
    const unsigned char *buf = (const unsigned char *)data.buf;
    const Py_ssize_t end = data.len;
    const Py_ssize_t capacity = out.shape[0];
    int64_t *rows = (int64_t *)out.buf;
    Py_ssize_t n = 0;
    uint32_t table[256];
    Py_BEGIN_ALLOW_THREADS
    crc_table(table);
    while (n < capacity && end - pos >= LOG_HEAD + LOG_CRC) {
        const unsigned char *p = buf + pos;
        const unsigned kind = p[2];
        const uint32_t length = u32_le(p + 3);
        if (p[0] != 0xA5 || p[1] != 0x5A || kind < 1 || kind > 4 || length > LOG_MAX_BODY) {
            break;
        }
        const Py_ssize_t total = LOG_HEAD + (Py_ssize_t)length + LOG_CRC;
        if (total > end - pos) {
            break;
        }
        if (crc32_of(table, p + 2, 5u + (size_t)length) != u32_le(p + LOG_HEAD + length)) {
            break;
        }
        rows[3 * n] = (int64_t)pos;
        rows[3 * n + 1] = (int64_t)kind;
        rows[3 * n + 2] = (int64_t)length;
        n++;
        pos += total;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    PyBuffer_Release(&out);
    return Py_BuildValue("nn", n, pos);
}
