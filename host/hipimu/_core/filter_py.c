/* Python wrappers of the orientation filter (filter_core.c). The streaming state is a heap
 * hqf_state owned by a PyCapsule; every array crosses as a C-contiguous float64 buffer
 * (flags as a uint8 buffer), shapes are checked here and the loops run without the GIL.
 */
#include <string.h>

#include "buffers.h"
#include "filter.h"
#include "filter_py.h"

static const char CAPSULE_NAME[] = "hipimu._core.filter_state";

/* Longest chunk filter_stream takes (its flags are kept here, no buffer to pass), and the
 * rows of the output blocks it hands out views of. */
#define HQF_STREAM_MAX 256

typedef struct {
    hqf_state st;
    int use_mag; /* -1 until the first update decides 6D or 9D */
    Py_ssize_t n_flags;                    /* samples of the last filter_stream call */
    unsigned char flags[HQF_STREAM_MAX];   /* their HQF_FLAG_* bits */
    /* filter_stream's output: (HQF_STREAM_MAX, 4) arrays from `empty`; each call returns
     * a view of its next unused rows (one allocation per 256 samples instead of one per
     * call; the views never overlap, a full block is replaced by a new one) */
    PyObject *block;
    double *block_data;
    Py_ssize_t block_used;
} hqf_obj;

static void capsule_free(PyObject *cap)
{
    hqf_obj *o = PyCapsule_GetPointer(cap, CAPSULE_NAME);
    if (o != NULL) {
        Py_XDECREF(o->block);
    }
    PyMem_Free(o);
}

static hqf_obj *get_obj(PyObject *cap)
{
    if (!PyCapsule_IsValid(cap, CAPSULE_NAME)) {
        PyErr_SetString(PyExc_TypeError, "state: expected a filter state from filter_new");
        return NULL;
    }
    return (hqf_obj *)PyCapsule_GetPointer(cap, CAPSULE_NAME);
}

/* The filter state of a call whose only argument is the state capsule. */
static hqf_obj *obj_of_args(PyObject *args)
{
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) {
        return NULL;
    }
    return get_obj(cap);
}

static PyObject *wrap(hqf_obj *o)
{
    PyObject *cap = PyCapsule_New(o, CAPSULE_NAME, capsule_free);
    if (cap == NULL) {
        PyMem_Free(o);
    }
    return cap;
}

static int get_params(PyObject *obj, hq_dbuf *b)
{
    if (hq_dbuf_get(obj, HQF_NPARAMS, 0, "params", b) != 0) {
        return -1;
    }
    if (b->rows != 1) {
        PyErr_Format(PyExc_ValueError, "params: expected %d values", (int)HQF_NPARAMS);
        hq_dbuf_release(b);
        return -1;
    }
    return 0;
}

PyObject *hqf_py_filter_new(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *oparams;
    double rate;
    hq_dbuf pb;
    if (!PyArg_ParseTuple(args, "Od", &oparams, &rate)) {
        return NULL;
    }
    if (get_params(oparams, &pb) != 0) {
        return NULL;
    }
    hqf_obj *o = PyMem_Malloc(sizeof *o);
    if (o == NULL) {
        hq_dbuf_release(&pb);
        return PyErr_NoMemory();
    }
    const int rc = hqf_init(&o->st, pb.data, rate);
    hq_dbuf_release(&pb);
    if (rc != 0) {
        PyMem_Free(o);
        PyErr_SetString(PyExc_ValueError,
                        "rate_hz, tau_acc and rest_filter_tau must be positive and finite");
        return NULL;
    }
    o->use_mag = -1;
    o->n_flags = 0;
    o->block = NULL;
    o->block_data = NULL;
    o->block_used = 0;
    return wrap(o);
}

PyObject *hqf_py_filter_copy(PyObject *self, PyObject *args)
{
    (void)self;
    hqf_obj *src = obj_of_args(args);
    if (src == NULL) {
        return NULL;
    }
    hqf_obj *o = PyMem_Malloc(sizeof *o);
    if (o == NULL) {
        return PyErr_NoMemory();
    }
    memcpy(o, src, sizeof *o);
    o->block = NULL; /* the copy hands out views of its own blocks */
    o->block_data = NULL;
    o->block_used = 0;
    return wrap(o);
}

PyObject *hqf_py_filter_reset(PyObject *self, PyObject *args)
{
    (void)self;
    hqf_obj *o = obj_of_args(args);
    if (o == NULL) {
        return NULL;
    }
    hqf_reset(&o->st);
    o->use_mag = -1;
    o->n_flags = 0;
    Py_RETURN_NONE;
}

/* Acquire a writable uint8 buffer of n items (at least n when `at_least`: the streaming
 * filter keeps one buffer for its chunks' flags). */
static int get_flags(PyObject *obj, Py_ssize_t n, int at_least, Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) != 0) {
        PyErr_SetString(PyExc_TypeError, "out_flags: expected a writable C-contiguous uint8 array");
        return -1;
    }
    const char *fmt = view->format;
    if (view->itemsize != 1 || (fmt != NULL && strcmp(fmt, "B") != 0) ||
        (at_least ? view->len < n : view->len != n)) {
        PyErr_Format(PyExc_ValueError, "out_flags: expected %s%zd uint8 items",
                     at_least ? "at least " : "", n);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

typedef struct {
    hq_dbuf gyr, acc, mag, dt, q, bias;
    Py_buffer flags;
    int have_flags;
} io_bufs;

static void release_io(io_bufs *b)
{
    hq_dbuf_release(&b->gyr);
    hq_dbuf_release(&b->acc);
    hq_dbuf_release(&b->mag);
    hq_dbuf_release(&b->dt);
    hq_dbuf_release(&b->q);
    hq_dbuf_release(&b->bias);
    if (b->have_flags) {
        PyBuffer_Release(&b->flags);
        b->have_flags = 0;
    }
}

static int check_rows(const hq_dbuf *b, Py_ssize_t n, const char *name)
{
    if (b->rows != n) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd rows (as many as gyr), got %zd", name, n,
                     b->rows);
        return -1;
    }
    return 0;
}

/* Acquire gyr, acc, mag|None, dt|None, out_q, out_bias|None, out_flags; all with n rows. */
static int get_io(PyObject *og, PyObject *oa, PyObject *om, PyObject *odt, PyObject *oq,
                  PyObject *ob, PyObject *of, int bias_required, io_bufs *b)
{
    memset(b, 0, sizeof *b);
    if (hq_dbuf_get(og, 3, 0, "gyr", &b->gyr) != 0) {
        return -1;
    }
    const Py_ssize_t n = b->gyr.rows;
    if (hq_dbuf_get(oa, 3, 0, "acc", &b->acc) != 0 || check_rows(&b->acc, n, "acc") != 0) {
        goto fail;
    }
    if (om != Py_None &&
        (hq_dbuf_get(om, 3, 0, "mag", &b->mag) != 0 || check_rows(&b->mag, n, "mag") != 0)) {
        goto fail;
    }
    if (odt != Py_None &&
        (hq_dbuf_get(odt, 1, 0, "dt", &b->dt) != 0 || check_rows(&b->dt, n, "dt") != 0)) {
        goto fail;
    }
    if (hq_dbuf_get(oq, 4, 1, "out_q", &b->q) != 0 || check_rows(&b->q, n, "out_q") != 0) {
        goto fail;
    }
    if ((ob != Py_None || bias_required) &&
        (hq_dbuf_get(ob, 3, 1, "out_bias", &b->bias) != 0 ||
         check_rows(&b->bias, n, "out_bias") != 0)) {
        goto fail;
    }
    if (of != Py_None || bias_required) {
        if (get_flags(of, n, !bias_required, &b->flags) != 0) {
            goto fail;
        }
        b->have_flags = 1;
    }
    return 0;
fail:
    release_io(b);
    return -1;
}

PyObject *hqf_py_filter_run(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    io_bufs b;
    /* METH_FASTCALL: streaming calls with a few samples are dominated by call overhead */
    if (nargs != 8) {
        PyErr_Format(PyExc_TypeError, "filter_run: expected 8 arguments, got %zd", nargs);
        return NULL;
    }
    PyObject *cap = args[0], *og = args[1], *oa = args[2], *om = args[3], *odt = args[4],
             *oq = args[5], *ob = args[6], *of = args[7];
    hqf_obj *o = get_obj(cap);
    if (o == NULL) {
        return NULL;
    }
    if (get_io(og, oa, om, odt, oq, ob, of, 0, &b) != 0) {
        return NULL;
    }
    const int use_mag = om != Py_None;
    if (o->use_mag == -1) {
        o->use_mag = use_mag;
    } else if (o->use_mag != use_mag) {
        release_io(&b);
        PyErr_SetString(PyExc_ValueError,
                        use_mag ? "mag: this filter was started without a magnetometer (6D)"
                                : "mag: this filter was started with a magnetometer (9D); "
                                  "pass NaN rows for missing samples");
        return NULL;
    }
    const Py_ssize_t n = b.gyr.rows;
    const double *gyr = b.gyr.data, *acc = b.acc.data, *mag = b.mag.data, *dt = b.dt.data;
    double *q = b.q.data, *bias = b.bias.data;
    unsigned char *flags = b.have_flags ? (unsigned char *)b.flags.buf : NULL;
    hqf_state *st = &o->st;
    /* the GIL is released for long chunks only: for a packet's worth of samples the
     * release/acquire costs more than the filter */
    PyThreadState *ts = n >= 256 ? PyEval_SaveThread() : NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned f = hqf_step(st, gyr + 3 * i, acc + 3 * i, use_mag ? mag + 3 * i : NULL,
                                    dt ? dt[i] : 0.0, use_mag, q + 4 * i);
        if (flags) {
            flags[i] = (unsigned char)f;
        }
        if (bias) {
            bias[3 * i] = st->bias[0];
            bias[3 * i + 1] = st->bias[1];
            bias[3 * i + 2] = st->bias[2];
        }
    }
    if (ts != NULL) {
        PyEval_RestoreThread(ts);
    }
    /* the flags of the last chunk are read through the state (filter_flags): a copy here
     * when they fit, else "see the caller's buffer" */
    if (flags != NULL && n <= HQF_STREAM_MAX) {
        memcpy(o->flags, flags, (size_t)n);
        o->n_flags = n;
    } else {
        o->n_flags = -1;
    }
    release_io(&b);
    Py_RETURN_NONE;
}

PyObject *hqf_py_filter_offline(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *oparams, *og, *oa, *om, *odt, *oq, *ob, *of;
    double rate;
    hq_dbuf pb;
    io_bufs b;
    if (!PyArg_ParseTuple(args, "OdOOOOOOO", &oparams, &rate, &og, &oa, &om, &odt, &oq, &ob,
                          &of)) {
        return NULL;
    }
    if (get_params(oparams, &pb) != 0) {
        return NULL;
    }
    if (get_io(og, oa, om, odt, oq, ob, of, 1, &b) != 0) {
        hq_dbuf_release(&pb);
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = hqf_offline(pb.data, rate, b.gyr.data, b.acc.data, b.mag.data, b.dt.data, b.gyr.rows,
                     b.q.data, b.bias.data, (unsigned char *)b.flags.buf);
    Py_END_ALLOW_THREADS
    release_io(&b);
    hq_dbuf_release(&pb);
    if (rc == -1) {
        return PyErr_NoMemory();
    }
    if (rc != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "rate_hz, tau_acc and rest_filter_tau must be positive and finite");
        return NULL;
    }
    Py_RETURN_NONE;
}

static int dict_set(PyObject *d, const char *key, PyObject *v)
{
    if (v == NULL) {
        return -1;
    }
    const int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

static PyObject *vec(const double *v, int n)
{
    PyObject *t = PyTuple_New(n);
    if (t == NULL) {
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        PyObject *f = PyFloat_FromDouble(v[i]);
        if (f == NULL || PyTuple_SetItem(t, i, f) != 0) {
            Py_DECREF(t);
            return NULL;
        }
    }
    return t;
}

PyObject *hqf_py_filter_info(PyObject *self, PyObject *args)
{
    (void)self;
    hqf_obj *o = obj_of_args(args);
    if (o == NULL) {
        return NULL;
    }
    const hqf_state *st = &o->st;
    double q6[4], q9[4];
    hqf_quat6d(st, q6);
    hqf_quat9d(st, q9);
    PyObject *d = PyDict_New();
    if (d == NULL) {
        return NULL;
    }
    if (dict_set(d, "quat6d", vec(q6, 4)) || dict_set(d, "quat9d", vec(q9, 4)) ||
        dict_set(d, "bias", vec(st->bias, 3)) || dict_set(d, "bias_p", vec(st->bias_p, 9)) ||
        dict_set(d, "gyro_cal", vec(st->cal_m, 9)) ||
        dict_set(d, "delta", PyFloat_FromDouble(st->delta)) ||
        dict_set(d, "rest", PyBool_FromLong(st->rest_detected)) ||
        dict_set(d, "mag_disturbed", PyBool_FromLong(st->mag_dist_detected)) ||
        dict_set(d, "hard_iron", vec(st->hi_b, 3)) ||
        dict_set(d, "hard_iron_p", vec(st->hi_p, 9)) ||
        dict_set(d, "hard_iron_active", PyBool_FromLong(st->hi_active)) ||
        dict_set(d, "hard_iron_llr", PyFloat_FromDouble(st->hi_ev_llr)) ||
        dict_set(d, "mag_ref_norm", PyFloat_FromDouble(st->mag_ref_norm)) ||
        dict_set(d, "mag_ref_dip", PyFloat_FromDouble(st->mag_ref_dip)) ||
        dict_set(d, "use_mag", PyLong_FromLong(o->use_mag))) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

PyObject *hqf_py_filter_param_table(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    static const struct {
        const char *name, *unit, *doc;
        double def;
    } rows[] = {
#define HQF_PY_ROW(e, n, d, u, doc) {#n, u, doc, d},
        HQF_PARAM_TABLE(HQF_PY_ROW)
#undef HQF_PY_ROW
    };
    PyObject *t = PyTuple_New(HQF_NPARAMS);
    if (t == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < HQF_NPARAMS; i++) {
        PyObject *row = Py_BuildValue("(sdss)", rows[i].name, rows[i].def, rows[i].unit,
                                      rows[i].doc);
        if (row == NULL || PyTuple_SetItem(t, i, row) != 0) {
            Py_DECREF(t);
            return NULL;
        }
    }
    return t;
}

static int check_use_mag(hqf_obj *o, int use_mag)
{
    if (o->use_mag != -1 && o->use_mag != use_mag) {
        PyErr_SetString(PyExc_ValueError,
                        use_mag ? "mag: this filter was started without a magnetometer (6D)"
                                : "mag: this filter was started with a magnetometer (9D); "
                                  "pass NaN rows for missing samples");
        return -1;
    }
    return 0;
}

/* A new output block from `empty((HQF_STREAM_MAX, 4))` (numpy.empty: this module does not
 * link numpy); its data pointer stays valid while the block is referenced (numpy does not
 * move the data of an array that has views). */
static int new_block(hqf_obj *o, PyObject *empty)
{
    PyObject *block = PyObject_CallFunction(empty, "((ii))", HQF_STREAM_MAX, 4);
    if (block == NULL) {
        return -1;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(block, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) {
        Py_DECREF(block);
        return -1;
    }
    const int ok = view.len == (Py_ssize_t)(4 * sizeof(double)) * HQF_STREAM_MAX;
    double *data = (double *)view.buf;
    PyBuffer_Release(&view);
    if (!ok) {
        Py_DECREF(block);
        PyErr_SetString(PyExc_ValueError, "empty: returned an array of the wrong size");
        return -1;
    }
    Py_XDECREF(o->block);
    o->block = block;
    o->block_data = data;
    o->block_used = 0;
    return 0;
}

/* filter_stream(state, gyr, acc, mag|None, empty) -> (n, 4) quaternions, for chunks of at
 * most HQF_STREAM_MAX samples: the streaming fast path. The output is a view of the next
 * unused rows of the state's output block (new_block); the chunk's flags stay in the state
 * (filter_flags). Everything is checked before the state changes. */
static PyObject *stream_core(PyObject *const *args)
{
    hqf_obj *o = get_obj(args[0]);
    if (o == NULL) {
        return NULL;
    }
    const int use_mag = args[3] != Py_None;
    if (check_use_mag(o, use_mag) != 0) {
        return NULL;
    }
    hq_dbuf g, a, m, q;
    memset(&m, 0, sizeof m);
    memset(&q, 0, sizeof q);
    if (hq_dbuf_get(args[1], 3, 0, "gyr", &g) != 0) {
        return NULL;
    }
    const Py_ssize_t n = g.rows;
    PyObject *out = NULL;
    if (n > HQF_STREAM_MAX) {
        PyErr_Format(PyExc_ValueError, "gyr: more than %d samples (use filter_run)",
                     HQF_STREAM_MAX);
        hq_dbuf_release(&g);
        return NULL;
    }
    if (hq_dbuf_get(args[2], 3, 0, "acc", &a) != 0) {
        hq_dbuf_release(&g);
        return NULL;
    }
    if (check_rows(&a, n, "acc") != 0 ||
        (use_mag && (hq_dbuf_get(args[3], 3, 0, "mag", &m) != 0 ||
                     check_rows(&m, n, "mag") != 0))) {
        goto done;
    }
    if (o->block == NULL || o->block_used + n > HQF_STREAM_MAX) {
        if (new_block(o, args[4]) != 0) {
            goto done;
        }
    }
    out = PySequence_GetSlice(o->block, o->block_used, o->block_used + n);
    if (out == NULL) {
        goto done;
    }
    q.data = o->block_data + 4 * o->block_used;
    o->block_used += n;
    o->use_mag = use_mag;
    hqf_state *st = &o->st;
    const double *gyr = g.data, *acc = a.data, *mag = m.data;
    double *qo = q.data;
    for (Py_ssize_t i = 0; i < n; i++) {
        o->flags[i] = (unsigned char)hqf_step(st, gyr + 3 * i, acc + 3 * i,
                                              use_mag ? mag + 3 * i : NULL, 0.0, use_mag,
                                              qo + 4 * i);
    }
    o->n_flags = n;
done:
    hq_dbuf_release(&g);
    hq_dbuf_release(&a);
    hq_dbuf_release(&m);
    hq_dbuf_release(&q);
    return out;
}

PyObject *hqf_py_filter_stream(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "filter_stream: expected 5 arguments, got %zd", nargs);
        return NULL;
    }
    return stream_core(args);
}

/* The bound streaming update: self is (state, empty, fallback). update(gyr, acc, mag=None)
 * runs stream_core; keywords, other argument counts and anything stream_core refuses go to
 * fallback(*args, **kwargs), the converting Python path, which names any problem. */
static PyObject *stream_bound(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    PyObject *state = PyTuple_GetItem(self, 0), *empty = PyTuple_GetItem(self, 1);
    PyObject *fallback = PyTuple_GetItem(self, 2);
    if (state == NULL || empty == NULL || fallback == NULL) {
        return NULL;
    }
    if (kwnames == NULL && (nargs == 2 || nargs == 3)) {
        PyObject *const call[5] = {state, args[0], args[1], nargs == 3 ? args[2] : Py_None,
                                   empty};
        PyObject *out = stream_core(call);
        if (out != NULL) {
            return out;
        }
        if (!PyErr_ExceptionMatches(PyExc_TypeError) &&
            !PyErr_ExceptionMatches(PyExc_ValueError) &&
            !PyErr_ExceptionMatches(PyExc_BufferError)) {
            return NULL;
        }
        PyErr_Clear();
    }
    const Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_Size(kwnames);
    PyObject *pos = PyTuple_New(nargs);
    PyObject *kw = nkw > 0 ? PyDict_New() : NULL;
    PyObject *res = NULL;
    if (pos == NULL || (nkw > 0 && kw == NULL)) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SetItem(pos, i, args[i]);
    }
    for (Py_ssize_t i = 0; i < nkw; i++) {
        if (PyDict_SetItem(kw, PyTuple_GetItem(kwnames, i), args[nargs + i]) != 0) {
            goto done;
        }
    }
    res = PyObject_Call(fallback, pos, kw);
done:
    Py_XDECREF(pos);
    Py_XDECREF(kw);
    return res;
}

static PyMethodDef stream_bound_def = {
    "update", (PyCFunction)(void (*)(void))stream_bound, METH_FASTCALL | METH_KEYWORDS,
    "update(gyr, acc, mag=None, dt=None) -> (n, 4) quaternions (the streaming fast path)"};

/* filter_bind(state, empty, fallback) -> a callable update(gyr, acc, mag=None, ...) bound to
 * the state: the whole streaming call in C, no Python frame. */
PyObject *hqf_py_filter_bind(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cap, *empty, *fallback;
    if (!PyArg_ParseTuple(args, "OOO", &cap, &empty, &fallback)) {
        return NULL;
    }
    if (get_obj(cap) == NULL) {
        return NULL;
    }
    if (!PyCallable_Check(empty) || !PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError, "filter_bind: empty and fallback must be callable");
        return NULL;
    }
    PyObject *bound = PyTuple_Pack(3, cap, empty, fallback);
    if (bound == NULL) {
        return NULL;
    }
    PyObject *fn = PyCFunction_New(&stream_bound_def, bound);
    Py_DECREF(bound);
    return fn;
}

PyObject *hqf_py_filter_flags(PyObject *self, PyObject *args)
{
    (void)self;
    hqf_obj *o = obj_of_args(args);
    if (o == NULL) {
        return NULL;
    }
    if (o->n_flags < 0) {
        Py_RETURN_NONE;
    }
    return PyBytes_FromStringAndSize((const char *)o->flags, o->n_flags);
}
