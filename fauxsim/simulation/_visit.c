/* The compiled parts of a visit (fauxsim.simulation): the process that starts the visits
 * (engine), a visit's draws (randomness), the lognormal sampler its dwell times are drawn
 * from (sampling), and the queue of returning visitors it ends in (audience). The walk
 * through the funnel itself is Python (session.py): measured, a compiled walk was worth
 * about 5% of a black_friday run (benchmarks/README.md, "The walk back in Python"), below
 * the 10% a C part must buy to stay (#19).
 *
 * Arrivals
 * --------
 *
 * Arrivals(...) is the body of the process that starts the visits, what
 * engine.Simulation._arrivals does step for step; each visit is started by the Python
 * start_visit of the shared tuple (session.VisitShared), as the twin starts it.
 *
 * Draws
 * -----
 *
 * Draws(block, start, stop, then, entity)() is randomness.topped_up's draw: the visit's
 * slice of the hour's block of uniforms, then a stream of its own.
 *
 * WholeLogNormal
 * --------------
 *
 * WholeLogNormal(median, sigma, cap, unit, minimum)(draw) is sampling.whole_sampler's
 * lognormal closure, operation for operation (Box-Muller on two draws, the same libm
 * functions Python's math module calls, the same errors), so the two draw the same
 * integers: tests/simulation/test_visit.py holds them equal.
 *
 * DueQueue
 * --------
 *
 * The waiting heap and the due deque of audience.ReturningPool, as C structs rather
 * than packed Python ints: a pop compares fields in one array instead of ints spread
 * over the heap. Same order, so the same visitors come back (test_visit.py).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <structmember.h>
#include <stddef.h>

#include "../_key_error.h"
#include "../_small_int.h"

/* What Arrivals reads of the simulation, in session.VisitShared's order. */
enum {
    S_START_VISIT,    /* start_visit(session_id, visitor, draw, now, returning) */
    SHARED_SIZE
};

/* The name of each item of the shared tuple: session.VisitShared declares the same fields
 * in the same order, and the module exports these as SHARED_FIELDS (a test holds them
 * equal; Arrivals refuses a shared tuple whose fields differ). Designated initializers:
 * each name stands beside its index. */
static const char *const shared_fields[SHARED_SIZE] = {
    [S_START_VISIT] = "start_visit",
};
static PyObject *shared_fields_tuple;  /* SHARED_FIELDS, made at import */


/* ------------------------------------------------------------------ Draws */

typedef struct {
    PyObject_VAR_HEAD
    vectorcallfunc vectorcall; /* draws_call: called as a function, without a tuple */
    PyObject *then;            /* then(entity): the draws after the slice, made when needed */
    PyObject *entity;
    PyObject *rest;            /* then(entity), once made (NULL before) */
    int making;                /* inside then(entity) or a draw of it: a draw is refused */
    Py_ssize_t next;           /* the next of `values` to serve (ob_size of them) */
    double values[];           /* the block's slice, copied: no buffer is held */
} Draws;

static PyTypeObject DrawsType;

/* The next draw once the slice is used up: from then(entity), made the first time. */
static PyObject *
draw_after(Draws *self)
{
    if (self->making) {  /* refused, as the twin's running generator refuses */
        PyErr_SetString(PyExc_ValueError, "Draws: a draw drew from its own draws");
        return NULL;
    }
    if (self->then == NULL) {  /* cleared by the collector */
        PyErr_SetString(PyExc_ValueError, "Draws: cleared");
        return NULL;
    }
    self->making = 1;
    if (self->rest == NULL) {
        PyObject *rest = PyObject_CallOneArg(self->then, self->entity);
        if (rest == NULL) {
            self->making = 0;
            return NULL;
        }
        Py_XSETREF(self->rest, rest);
    }
    PyObject *rest = Py_NewRef(self->rest); /* held: the call may drop it */
    PyObject *value = PyObject_CallNoArgs(rest);
    Py_DECREF(rest);
    self->making = 0;
    return value;
}

static PyObject *
draws_call(PyObject *op, PyObject *const *Py_UNUSED(args), size_t nargsf, PyObject *kwnames)
{
    Draws *self = (Draws *)op;
    if (PyVectorcall_NARGS(nargsf) != 0 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "a draw takes no arguments");
        return NULL;
    }
    if (self->next < Py_SIZE(self)) {
        return PyFloat_FromDouble(self->values[self->next++]);
    }
    return draw_after(self);
}

static PyObject *
draws_tp_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return PyVectorcall_Call(self, args, kwargs);
}

/* Draws(block, start, stop, then, entity): what randomness.topped_up returns, as an object. */
static PyObject *
draws_vectorcall_new(PyObject *type, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 5 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "Draws(block, start, stop, then, entity)");
        return NULL;
    }
    Py_ssize_t start = PyNumber_AsSsize_t(args[1], NULL); /* clamped, as a slice's */
    if (start == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t stop = PyNumber_AsSsize_t(args[2], NULL);
    if (stop == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        return NULL;
    }
    if (view.ndim != 1 || view.itemsize != sizeof(double) || view.format == NULL
        || strcmp(view.format, "d") != 0) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "Draws: the block must be a buffer of doubles");
        return NULL;
    }
    /* block[start:stop], as Python slices: negative positions count from the end. */
    Py_ssize_t count = PySlice_AdjustIndices(view.shape[0], &start, &stop, 1);
    Draws *self = PyObject_GC_NewVar(Draws, (PyTypeObject *)type, count);
    if (self == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if (count > 0) {  /* memcpy: the block may be any buffer, aligned or not */
        memcpy(self->values, (const char *)view.buf + start * (Py_ssize_t)sizeof(double),
               (size_t)count * sizeof(double));
    }
    PyBuffer_Release(&view);
    self->vectorcall = draws_call;
    self->then = Py_NewRef(args[3]);
    self->entity = Py_NewRef(args[4]);
    self->rest = NULL;
    self->making = 0;
    self->next = 0;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *
draws_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError, "Draws takes positional arguments only");
        return NULL;
    }
    return draws_vectorcall_new((PyObject *)type, &PyTuple_GET_ITEM(args, 0),
                                (size_t)PyTuple_GET_SIZE(args), NULL);
}

static int
draws_traverse(Draws *self, visitproc visit, void *arg)
{
    Py_VISIT(self->then);
    Py_VISIT(self->entity);
    Py_VISIT(self->rest);
    return 0;
}

static int
draws_clear(Draws *self)
{
    self->next = Py_SIZE(self);
    Py_CLEAR(self->then);
    Py_CLEAR(self->entity);
    Py_CLEAR(self->rest);
    return 0;
}

static void
draws_dealloc(Draws *self)
{
    PyObject_GC_UnTrack(self);
    draws_clear(self);
    PyObject_GC_Del(self);
}

static PyTypeObject DrawsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fauxsim.simulation._visit.Draws",
    .tp_basicsize = offsetof(Draws, values),
    .tp_itemsize = sizeof(double),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Draws(block, start, stop, then, entity)(): block[start:stop] in order, then "
              "the draws of then(entity) (see randomness.topped_up).",
    .tp_new = draws_new,
    .tp_vectorcall = draws_vectorcall_new,
    .tp_call = draws_tp_call,
    .tp_vectorcall_offset = offsetof(Draws, vectorcall),
    .tp_dealloc = (destructor)draws_dealloc,
    .tp_traverse = (traverseproc)draws_traverse,
    .tp_clear = (inquiry)draws_clear,
};

/* One uniform draw from `draw`; -1.0 with an error set on error. A Draws serves its
 * block's doubles without making a float object of each. */
static double
draw_from(PyObject *draw)
{
    if (Py_IS_TYPE(draw, &DrawsType)) {
        Draws *draws = (Draws *)draw;
        if (draws->next < Py_SIZE(draws)) {
            return draws->values[draws->next++];
        }
    }
    PyObject *value = PyObject_CallNoArgs(draw);
    if (value == NULL) {
        return -1.0;
    }
    double u = PyFloat_AsDouble(value);
    Py_DECREF(value);
    return u;
}

#define draw_uniform(self) draw_from(CONTEXT(self, C_DRAW))


/* As in a generator (PEP 479): a StopIteration raised inside the walk is an error, not
 * its end: it becomes a RuntimeError, caused by it. */
static void
stop_iteration_is_an_error(void)
{
    if (!PyErr_ExceptionMatches(PyExc_StopIteration)) {
        return;
    }
    PyObject *type, *cause, *traceback;
    PyErr_Fetch(&type, &cause, &traceback);
    PyErr_NormalizeException(&type, &cause, &traceback);
    if (traceback != NULL) {
        PyException_SetTraceback(cause, traceback);
    }
    Py_DECREF(type);
    Py_XDECREF(traceback);
    PyObject *error = PyObject_CallFunction(PyExc_RuntimeError, "s",
                                            "generator raised StopIteration");  /* as Python's */
    if (error == NULL) {
        Py_DECREF(cause);
        return;
    }
    PyException_SetCause(error, cause);  /* takes the reference */
    PyErr_SetObject(PyExc_RuntimeError, error);
    Py_DECREF(error);
}

/* A body's am_send, and what send() and __next__ make of it, as a generator's. */
typedef PySendResult (*Sender)(PyObject *self, PyObject *arg, PyObject **result);

/* send(value): the next delay, or StopIteration at the end. */
static PyObject *
send_method(Sender send, PyObject *self, PyObject *arg)
{
    PyObject *result;
    PySendResult sent = send(self, arg, &result);
    if (sent == PYGEN_NEXT) {
        return result;
    }
    if (sent == PYGEN_RETURN) {
        Py_DECREF(result);
        PyErr_SetNone(PyExc_StopIteration);
    }
    return NULL;
}

/* __next__ (tp_iternext): NULL with no error set is the end. */
static PyObject *
next_step(Sender send, PyObject *self)
{
    PyObject *result;
    PySendResult sent = send(self, Py_None, &result);
    if (sent == PYGEN_RETURN) {
        Py_DECREF(result);
        return NULL;
    }
    return sent == PYGEN_NEXT ? result : NULL;
}

/* throw(type[, value[, traceback]]): the exception set, 0; or -1 (a TypeError set) for
 * arguments a generator refuses, which leave it as it was. */
static int
set_thrown(PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "throw expected 1 to 3 arguments");
        return -1;
    }
    PyObject *exception = args[0];
    PyObject *traceback = nargs > 2 && args[2] != Py_None ? args[2] : NULL;
    if (traceback != NULL && !PyTraceBack_Check(traceback)) {
        PyErr_SetString(PyExc_TypeError, "throw() third argument must be a traceback object");
        return -1;
    }
    if (PyExceptionInstance_Check(exception)) {
        if (nargs > 1 && args[1] != Py_None) {
            PyErr_SetString(PyExc_TypeError, "instance exception may not have a separate value");
            return -1;
        }
        PyErr_SetObject((PyObject *)Py_TYPE(exception), exception);
    }
    else if (PyExceptionClass_Check(exception)) {
        PyErr_SetObject(exception, nargs > 1 ? args[1] : Py_None);
    }
    else {
        PyErr_SetString(PyExc_TypeError, "exceptions must derive from BaseException");
        return -1;
    }
    if (traceback != NULL) {
        PyObject *type, *value, *ignored;
        PyErr_Fetch(&type, &value, &ignored);
        Py_XDECREF(ignored);
        PyErr_Restore(type, value, Py_NewRef(traceback));
    }
    return 0;
}

/* ------------------------------------------------------------------ WholeLogNormal */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall; /* lognormal_call: called as a function, without a tuple */
    double median, sigma, cap, unit;
    long long minimum;
} WholeLogNormal;

static double two_pi;

/* math.log, math.exp, as Python's math module raises for them. */
static int
checked_log(double x, double *out)
{
    if (x <= 0.0) {  /* math.log(nan) is nan, math.log(inf) inf */
        PyErr_SetString(PyExc_ValueError, "math domain error");
        return -1;
    }
    *out = log(x);
    return 0;
}

static int
checked_exp(double x, double *out)
{
    double value = exp(x);
    if (isinf(value) && isfinite(x)) {
        PyErr_SetString(PyExc_OverflowError, "math range error");
        return -1;
    }
    *out = value;
    return 0;
}

static PyObject *
lognormal_call(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    WholeLogNormal *self = (WholeLogNormal *)op;
    if (PyVectorcall_NARGS(nargsf) != 1 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "a sampler takes one argument: the draw");
        return NULL;
    }
    double first = draw_from(args[0]), logged;
    if ((first == -1.0 && PyErr_Occurred()) || checked_log(1.0 - first, &logged) < 0) {
        return NULL;
    }
    double second = draw_from(args[0]);
    if (second == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    double radius = -2.0 * logged, angle = two_pi * second, grown;
    if (radius < 0.0 || isinf(angle)) {  /* math.sqrt and math.cos raise for these */
        PyErr_SetString(PyExc_ValueError, "math domain error");
        return NULL;
    }
    double normal = sqrt(radius) * cos(angle);
    if (checked_exp(self->sigma * normal, &grown) < 0) {
        return NULL;
    }
    double value = self->median * grown;
    double scaled = (value <= self->cap ? value : self->cap) * self->unit;
    /* int(scaled): in C where it fits, else as Python does (inf and nan raise there). */
    if (scaled > -9.0e18 && scaled < 9.0e18) {
        long long whole = (long long)scaled;
        return PyLong_FromLongLong(whole > self->minimum ? whole : self->minimum);
    }
    PyObject *whole = PyLong_FromDouble(scaled);
    if (whole == NULL) {
        return NULL;
    }
    PyObject *minimum = PyLong_FromLongLong(self->minimum);
    int above = minimum == NULL ? -1 : PyObject_RichCompareBool(whole, minimum, Py_GT);
    if (above < 0) {
        Py_DECREF(whole);
        Py_XDECREF(minimum);
        return NULL;
    }
    if (above) {
        Py_DECREF(minimum);
        return whole;
    }
    Py_DECREF(whole);
    return minimum;
}

static PyObject *
lognormal_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    double median, sigma, cap, unit;
    long long minimum;
    static char *keywords[] = {"median", "sigma", "cap", "unit", "minimum", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ddddL:WholeLogNormal", keywords, &median,
                                     &sigma, &cap, &unit, &minimum)) {
        return NULL;
    }
    WholeLogNormal *self = (WholeLogNormal *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->median = median;
    self->sigma = sigma;
    self->cap = cap;
    self->unit = unit;
    self->minimum = minimum;
    self->vectorcall = lognormal_call;
    return (PyObject *)self;
}

static PyObject *
lognormal_tp_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return PyVectorcall_Call(self, args, kwargs);
}

static PyTypeObject WholeLogNormalType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fauxsim.simulation._visit.WholeLogNormal",
    .tp_basicsize = sizeof(WholeLogNormal),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "WholeLogNormal(median, sigma, cap, unit, minimum)(draw): whole units of a "
              "lognormal draw, at least minimum (see sampling.whole_sampler).",
    .tp_new = lognormal_new,
    .tp_call = lognormal_tp_call,
    .tp_vectorcall_offset = offsetof(WholeLogNormal, vectorcall),
};


/* ------------------------------------------------------------------ DueQueue */

/* A returning visitor in the pool, ordered as audience.ReturningPool orders its packed
 * entries: by due time, then visitor id, customer (+1, 0 for none) and kind. */
typedef struct {
    long long due, visitor, customer, kind;
} PoolEntry;

/* Children per node of the waiting heap: four entries are two cache lines, and the heap
 * of a busy shop (hundreds of thousands) is half as deep as a binary one. */
#define HEAP_ARITY 4

typedef struct {
    PyObject_HEAD
    PoolEntry *heap;  /* not due yet: a 4-ary heap, smallest first */
    Py_ssize_t heap_size, heap_capacity;
    PoolEntry *ring;  /* due, in the order they became due: a ring buffer */
    Py_ssize_t ring_start, ring_size, ring_capacity;
} DueQueue;

static int
entry_before(const PoolEntry *a, const PoolEntry *b)
{
    if (a->due != b->due) {
        return a->due < b->due;
    }
    if (a->visitor != b->visitor) {
        return a->visitor < b->visitor;
    }
    if (a->customer != b->customer) {
        return a->customer < b->customer;
    }
    return a->kind < b->kind;
}

static int
grow(PoolEntry **items, Py_ssize_t *capacity)
{
    Py_ssize_t larger = *capacity ? *capacity * 2 : 64;
    PoolEntry *moved = PyMem_Realloc(*items, (size_t)larger * sizeof(PoolEntry));
    if (moved == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *items = moved;
    *capacity = larger;
    return 0;
}

static int
read_long_long(PyObject *value, long long *out)
{
    long long read;
    if (small_int(value, &read)) {
        *out = read;
        return 0;
    }
    read = PyLong_AsLongLong(value);
    if (read == -1 && PyErr_Occurred()) {
        return -1;
    }
    *out = read;
    return 0;
}

/* An int as a C integer, clamped to what one holds: a time beyond ~292,000 years (a
 * return gap a scenario may draw) never comes, and orders after every other. */
static int
read_saturated(PyObject *value, long long *out)
{
    if (small_int(value, out)) {
        return 0;
    }
    int overflow;
    long long read = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (read == -1 && PyErr_Occurred()) {
        return -1;
    }
    *out = overflow > 0 ? LLONG_MAX : overflow < 0 ? LLONG_MIN : read;
    return 0;
}

/* push(due, visitor_id, customer, kind): customer is the customer id + 1, 0 for none. */
static PyObject *
queue_push(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    DueQueue *self = (DueQueue *)op;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "push(due, visitor_id, customer, kind) takes 4 ints");
        return NULL;
    }
    PoolEntry entry;
    if (read_saturated(args[0], &entry.due) < 0 || read_long_long(args[1], &entry.visitor) < 0
        || read_long_long(args[2], &entry.customer) < 0
        || read_long_long(args[3], &entry.kind) < 0) {
        return NULL;
    }
    if (self->heap_size == self->heap_capacity && grow(&self->heap, &self->heap_capacity) < 0) {
        return NULL;
    }
    Py_ssize_t position = self->heap_size++;
    while (position > 0) {  /* sift the new entry up to its place */
        Py_ssize_t parent = (position - 1) / HEAP_ARITY;
        if (!entry_before(&entry, &self->heap[parent])) {
            break;
        }
        self->heap[position] = self->heap[parent];
        position = parent;
    }
    self->heap[position] = entry;
    Py_RETURN_NONE;
}

static PoolEntry
heap_pop(DueQueue *self)
{
    PoolEntry top = self->heap[0], last = self->heap[--self->heap_size];
    Py_ssize_t position = 0, size = self->heap_size;
    for (;;) {  /* sift the last entry down from the top, along the smallest children */
        Py_ssize_t first = HEAP_ARITY * position + 1, child = first;
        if (first >= size) {
            break;
        }
        for (Py_ssize_t other = first + 1; other < first + HEAP_ARITY && other < size; other++) {
            if (entry_before(&self->heap[other], &self->heap[child])) {
                child = other;
            }
        }
        if (!entry_before(&self->heap[child], &last)) {
            break;
        }
        self->heap[position] = self->heap[child];
        position = child;
    }
    if (size > 0) {
        self->heap[position] = last;
    }
    return top;
}

static int
ring_push(DueQueue *self, PoolEntry entry)
{
    if (self->ring_size == self->ring_capacity) {  /* unroll into a larger ring */
        Py_ssize_t larger = self->ring_capacity ? self->ring_capacity * 2 : 64;
        PoolEntry *moved = PyMem_Malloc((size_t)larger * sizeof(PoolEntry));
        if (moved == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < self->ring_size; i++) {
            moved[i] = self->ring[(self->ring_start + i) % self->ring_capacity];
        }
        PyMem_Free(self->ring);
        self->ring = moved;
        self->ring_start = 0;
        self->ring_capacity = larger;
    }
    self->ring[(self->ring_start + self->ring_size++) % self->ring_capacity] = entry;
    return 0;
}

/* take(now, patience, forget): the visitor who most recently became due, as
 * (visitor_id, customer, kind), or None; forget(visitor_id, customer) is called for each
 * visitor due longer than `patience` (churned), oldest first. */
static PyObject *
queue_take(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    DueQueue *self = (DueQueue *)op;
    long long now, patience;
    if (nargs != 3 || read_saturated(args[0], &now) < 0 || read_saturated(args[1], &patience) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "take(now, patience, forget) takes 3 arguments");
        }
        return NULL;
    }
    while (self->heap_size > 0 && self->heap[0].due <= now) {
        if (ring_push(self, heap_pop(self)) < 0) {
            return NULL;
        }
    }
    long long churned;  /* now - patience, clamped */
    if (patience > 0 && now < LLONG_MIN + patience) {
        churned = LLONG_MIN;
    }
    else if (patience < 0 && now > LLONG_MAX + patience) {
        churned = LLONG_MAX;
    }
    else {
        churned = now - patience;
    }
    while (self->ring_size > 0 && self->ring[self->ring_start].due < churned) {
        PoolEntry gone = self->ring[self->ring_start];
        self->ring_start = (self->ring_start + 1) % self->ring_capacity;
        self->ring_size--;
        PyObject *done = PyObject_CallFunction(args[2], "LL", gone.visitor, gone.customer);
        if (done == NULL) {
            return NULL;
        }
        Py_DECREF(done);
    }
    if (self->ring_size == 0) {
        Py_RETURN_NONE;
    }
    PoolEntry taken = self->ring[(self->ring_start + --self->ring_size) % self->ring_capacity];
    return Py_BuildValue("(LLL)", taken.visitor, taken.customer, taken.kind);
}

static Py_ssize_t
queue_length(PyObject *op)
{
    DueQueue *self = (DueQueue *)op;
    return self->heap_size + self->ring_size;
}

static void
queue_dealloc(DueQueue *self)
{
    PyMem_Free(self->heap);
    PyMem_Free(self->ring);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef queue_methods[] = {
    {"push", (PyCFunction)(void (*)(void))queue_push, METH_FASTCALL,
     "push(due, visitor_id, customer, kind): a visitor who may come back from `due`."},
    {"take", (PyCFunction)(void (*)(void))queue_take, METH_FASTCALL,
     "take(now, patience, forget): the latest due visitor as (visitor_id, customer, kind), "
     "or None; forget(visitor_id, customer) for each churned one."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods queue_sequence = {.sq_length = queue_length};

static PyTypeObject DueQueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fauxsim.simulation._visit.DueQueue",
    .tp_basicsize = sizeof(DueQueue),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "DueQueue(): audience.ReturningPool's visitors, waiting and due, as C structs.",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)queue_dealloc,
    .tp_methods = queue_methods,
    .tp_as_sequence = &queue_sequence,
};


/* ------------------------------------------------------------------ Arrivals */

/* Arrivals(*, shared, plan, start, end, hour_start, hour, returning_share, width, then,
 *          take, new_visitor, session_id, stride): the body of the process that starts
 * the visits, what engine.Simulation._arrivals_in_python does step for step. Arguments
 * by keyword only, so that a call names each one:
 *
 *     hour by hour from hour_start while before end: (moments, block) = plan(hour);
 *         for each moment in [start, end): wait until it; the next session id (session_id
 *             is the one before the first; each adds stride: see shards.py); its draws,
 *             Draws(block, n * width, (n + 1) * width, then, session id); a returning
 *             visitor, take(moment), if the first draw is below returning_share, else
 *             (or if none is due) new_visitor(draws); the visit started (start_visit);
 *         then wait until the next hour. */

typedef enum { ARRIVING_HOUR, ARRIVING_MOMENT, ARRIVING_NEXT_HOUR, ARRIVED } ArrivalPhase;

typedef struct {
    PyObject_HEAD
    PyObject *shared, *plan, *then, *take, *new_visitor;
    PyObject *moments;   /* this hour's session start times (a list), NULL between hours */
    PyObject *block;     /* this hour's draws */
    PyObject *now;       /* the time last sent */
    long long start, end, hour_start, hour, session_id, stride;
    long long moment;    /* the moment waited for (ARRIVING_MOMENT), as the twin's local */
    double returning_share;
    Py_ssize_t width, next; /* next: the position in moments */
    ArrivalPhase phase;
    int started, running;
} Arrivals;

static PyTypeObject ArrivalsType;

/* A delay as an int to yield, from `now` to `at`. */
static PySendResult
wait_until(Arrivals *self, long long at, PyObject **result)
{
    long long now;
    if (!small_int(self->now, &now)) {
        now = PyLong_AsLongLong(self->now);
        if (now == -1 && PyErr_Occurred()) {
            return PYGEN_ERROR;
        }
    }
    long long delay;
    if (__builtin_sub_overflow(at, now, &delay)) {  /* as Python's ints: no wrap-around */
        PyObject *to = PyLong_FromLongLong(at);
        *result = to == NULL ? NULL : PyNumber_Subtract(to, self->now);
        Py_XDECREF(to);
    }
    else {
        *result = PyLong_FromLongLong(delay);
    }
    return *result == NULL ? PYGEN_ERROR : PYGEN_NEXT;
}

/* 1 if `now` is before `at`, 0 if not, -1 on error. */
static int
now_before(Arrivals *self, long long at)
{
    long long now;
    if (!small_int(self->now, &now)) {
        now = PyLong_AsLongLong(self->now);
        if (now == -1 && PyErr_Occurred()) {
            return -1;
        }
    }
    return now < at;
}

/* The session of the moment at self->next, at self->now; 0, or -1 on error. */
static int
start_session(Arrivals *self, long long moment)
{
    if (__builtin_add_overflow(self->session_id, self->stride, &self->session_id)) {
        PyErr_SetString(PyExc_OverflowError, "Arrivals: session ids past 2**63");
        return -1;
    }
    PyObject *session_id = PyLong_FromLongLong(self->session_id);
    PyObject *from = PyLong_FromSsize_t(self->next * self->width);
    PyObject *to = PyLong_FromSsize_t((self->next + 1) * self->width);
    PyObject *draw = NULL, *visitor = NULL, *done = NULL;
    if (session_id != NULL && from != NULL && to != NULL) {
        PyObject *args[] = {self->block, from, to, self->then, session_id};
        draw = PyObject_Vectorcall((PyObject *)&DrawsType, args, 5, NULL);
    }
    Py_XDECREF(from);
    Py_XDECREF(to);
    if (draw == NULL) {
        goto done;
    }
    double u = draw_from(draw);
    if (u == -1.0 && PyErr_Occurred()) {
        goto done;
    }
    if (u < self->returning_share) {
        PyObject *at = PyLong_FromLongLong(moment);
        visitor = at == NULL ? NULL : PyObject_CallOneArg(self->take, at);
        Py_XDECREF(at);
        if (visitor == NULL) {
            goto done;
        }
    }
    PyObject *returning = visitor != NULL && visitor != Py_None ? Py_True : Py_False;
    if (visitor == NULL || visitor == Py_None) {
        Py_XSETREF(visitor, PyObject_CallOneArg(self->new_visitor, draw));
        if (visitor == NULL) {
            goto done;
        }
    }
    PyObject *args[] = {session_id, visitor, draw, self->now, returning};
    done = PyObject_Vectorcall(PyTuple_GET_ITEM(self->shared, S_START_VISIT), args, 5, NULL);
done:
    Py_XDECREF(session_id);
    Py_XDECREF(draw);
    Py_XDECREF(visitor);
    Py_XDECREF(done);
    return done == NULL ? -1 : 0;
}

static PySendResult
arrivals_send_inner(Arrivals *self, PyObject *arg, PyObject **result)
{
    if (!self->started) {
        if (arg != Py_None) {
            PyErr_SetString(PyExc_TypeError,
                            "can't send non-None value to a just-started generator");
            return PYGEN_ERROR;
        }
        self->started = 1;
        PyObject *start = PyLong_FromLongLong(self->start);
        if (start == NULL) {
            return PYGEN_ERROR;
        }
        Py_XSETREF(self->now, start);
    }
    else if (self->phase == ARRIVED) {
        Py_INCREF(Py_None);
        *result = Py_None;
        return PYGEN_RETURN;
    }
    else {
        Py_INCREF(arg);
        Py_XSETREF(self->now, arg);
    }
    for (;;) {
        if (self->phase == ARRIVING_MOMENT) {  /* resumed at the moment: its session */
            if (start_session(self, self->moment) < 0) {
                return PYGEN_ERROR;
            }
            self->next += 1;
            self->phase = ARRIVING_HOUR;
        }
        if (self->phase == ARRIVING_NEXT_HOUR) {
            self->phase = ARRIVING_HOUR;
        }
        if (self->moments == NULL) {
            if (self->hour_start >= self->end) {
                self->phase = ARRIVED;
                Py_INCREF(Py_None);
                *result = Py_None;
                return PYGEN_RETURN;
            }
            PyObject *hour = PyLong_FromLongLong(self->hour_start);
            PyObject *plan = hour == NULL ? NULL : PyObject_CallOneArg(self->plan, hour);
            Py_XDECREF(hour);
            if (plan == NULL) {
                return PYGEN_ERROR;
            }
            if (!PyTuple_CheckExact(plan) || PyTuple_GET_SIZE(plan) != 2
                || !PyList_CheckExact(PyTuple_GET_ITEM(plan, 0))) {
                Py_DECREF(plan);
                PyErr_SetString(PyExc_TypeError, "an hour's plan is (moments, block)");
                return PYGEN_ERROR;
            }
            self->moments = Py_NewRef(PyTuple_GET_ITEM(plan, 0));
            Py_XSETREF(self->block, Py_NewRef(PyTuple_GET_ITEM(plan, 1)));
            Py_DECREF(plan);
            self->next = 0;
        }
        /* Python code (a visit) may change the list: its length is read each time. */
        while (self->next < PyList_GET_SIZE(self->moments)) {
            long long moment;
            PyObject *item = PyList_GET_ITEM(self->moments, self->next);
            if (!small_int(item, &moment)) {
                moment = PyLong_AsLongLong(item);
                if (moment == -1 && PyErr_Occurred()) {
                    return PYGEN_ERROR;
                }
            }
            if (moment < self->start || moment >= self->end) {
                self->next += 1;
                continue;
            }
            int wait = now_before(self, moment);
            if (wait < 0) {
                return PYGEN_ERROR;
            }
            if (wait) {
                self->phase = ARRIVING_MOMENT;
                self->moment = moment;
                return wait_until(self, moment, result);
            }
            if (start_session(self, moment) < 0) {
                return PYGEN_ERROR;
            }
            self->next += 1;
        }
        Py_CLEAR(self->moments);
        if (__builtin_add_overflow(self->hour_start, self->hour, &self->hour_start)) {
            self->phase = ARRIVED;  /* no hour after this one: the window ends before */
            Py_INCREF(Py_None);
            *result = Py_None;
            return PYGEN_RETURN;
        }
        int wait = now_before(self, self->hour_start);
        if (wait < 0) {
            return PYGEN_ERROR;
        }
        if (wait) {
            self->phase = ARRIVING_NEXT_HOUR;
            return wait_until(self, self->hour_start, result);
        }
    }
}

static PySendResult
arrivals_send(PyObject *op, PyObject *arg, PyObject **result)
{
    Arrivals *self = (Arrivals *)op;
    *result = NULL;
    if (self->running) {
        PyErr_SetString(PyExc_ValueError, "generator already executing");
        return PYGEN_ERROR;
    }
    Py_INCREF(self);
    self->running = 1;
    PySendResult sent = arrivals_send_inner(self, arg, result);
    self->running = 0;
    if (sent != PYGEN_NEXT) {  /* ended, or failed: it ends there, as a generator does */
        self->phase = ARRIVED;
        Py_CLEAR(self->moments);
        if (sent == PYGEN_ERROR) {
            stop_iteration_is_an_error();
        }
    }
    Py_DECREF(self);
    return sent;
}

static PyObject *
arrivals_send_method(PyObject *self, PyObject *arg)
{
    return send_method(arrivals_send, self, arg);
}

static PyObject *
arrivals_next(PyObject *self)
{
    return next_step(arrivals_send, self);
}

static PyObject *
arrivals_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {
        "shared", "plan", "start", "end", "hour_start", "hour", "returning_share", "width",
        "then", "take", "new_visitor", "session_id", "stride", NULL,
    };
    PyObject *shared, *plan, *then, *take, *new_visitor;
    long long start, end, hour_start, hour, session_id, stride;
    double returning_share;
    Py_ssize_t width;
    /* "|$": every argument by keyword, none left out (checked below: the format
     * language has no "required keyword-only"). */
    shared = plan = then = take = new_visitor = NULL;
    start = end = hour_start = hour = session_id = stride = LLONG_MIN;
    returning_share = -1.0;
    width = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$O!OLLLLdnOOOLL:Arrivals", keywords,
                                     &PyTuple_Type, &shared, &plan, &start, &end, &hour_start,
                                     &hour, &returning_share, &width, &then, &take,
                                     &new_visitor, &session_id, &stride)) {
        return NULL;
    }
    if (shared == NULL || plan == NULL || then == NULL || take == NULL || new_visitor == NULL
        || start == LLONG_MIN || end == LLONG_MIN || hour_start == LLONG_MIN
        || hour == LLONG_MIN || session_id == LLONG_MIN || stride == LLONG_MIN
        || returning_share < 0.0 || width < 0) {
        PyErr_SetString(PyExc_TypeError,
                        "Arrivals: every argument is required, by keyword (see _visit.pyi)");
        return NULL;
    }
    if (PyTuple_GET_SIZE(shared) != SHARED_SIZE || hour <= 0 || stride <= 0) {
        PyErr_SetString(PyExc_ValueError,
                        "Arrivals: shared is session.visit_shared()'s, hour > 0, stride > 0");
        return NULL;
    }
    /* Once a run: the shared tuple is a session.VisitShared, its fields this module's. */
    PyObject *fields = PyObject_GetAttrString((PyObject *)Py_TYPE(shared), "_fields");
    if (fields == NULL) {
        PyErr_Clear();
    }
    int same = fields == NULL ? 0 : PyObject_RichCompareBool(fields, shared_fields_tuple, Py_EQ);
    Py_XDECREF(fields);
    if (same <= 0) {
        if (same == 0) {
            PyErr_SetString(PyExc_TypeError,
                            "Arrivals: shared must be a session.VisitShared whose _fields are "
                            "_visit.SHARED_FIELDS");
        }
        return NULL;
    }
    Arrivals *self = (Arrivals *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->shared = Py_NewRef(shared);
    self->plan = Py_NewRef(plan);
    self->then = Py_NewRef(then);
    self->take = Py_NewRef(take);
    self->new_visitor = Py_NewRef(new_visitor);
    self->start = start;
    self->end = end;
    self->hour_start = hour_start;
    self->hour = hour;
    self->returning_share = returning_share;
    self->width = width;
    self->session_id = session_id;
    self->stride = stride;
    self->phase = ARRIVING_HOUR;
    return (PyObject *)self;
}

static int
arrivals_traverse(Arrivals *self, visitproc visit, void *arg)
{
    Py_VISIT(self->shared);
    Py_VISIT(self->plan);
    Py_VISIT(self->then);
    Py_VISIT(self->take);
    Py_VISIT(self->new_visitor);
    Py_VISIT(self->moments);
    Py_VISIT(self->block);
    Py_VISIT(self->now);
    return 0;
}

static int
arrivals_clear(Arrivals *self)
{
    Py_CLEAR(self->shared);
    Py_CLEAR(self->plan);
    Py_CLEAR(self->then);
    Py_CLEAR(self->take);
    Py_CLEAR(self->new_visitor);
    Py_CLEAR(self->moments);
    Py_CLEAR(self->block);
    Py_CLEAR(self->now);
    self->phase = ARRIVED;
    return 0;
}

static void
arrivals_dealloc(Arrivals *self)
{
    PyObject_GC_UnTrack(self);
    arrivals_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyAsyncMethods arrivals_async = {.am_send = arrivals_send};

static PyObject *
arrivals_throw(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    Arrivals *self = (Arrivals *)op;
    if (self->running) {
        PyErr_SetString(PyExc_ValueError, "generator already executing");
        return NULL;
    }
    if (set_thrown(args, nargs) < 0) {
        return NULL;  /* refused: the arrivals go on */
    }
    int ended = self->phase == ARRIVED;
    self->phase = ARRIVED;
    self->started = 1;
    Py_CLEAR(self->moments);
    if (!ended) {  /* they end with the exception; once ended, it is raised as is */
        stop_iteration_is_an_error();
    }
    return NULL;
}

static PyObject *
arrivals_close(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    Arrivals *self = (Arrivals *)op;
    if (self->running) {
        PyErr_SetString(PyExc_ValueError, "generator already executing");
        return NULL;
    }
    self->phase = ARRIVED;
    self->started = 1;
    Py_CLEAR(self->moments);
    Py_RETURN_NONE;
}

static PyMethodDef arrivals_methods[] = {
    {"send", arrivals_send_method, METH_O, "Resume with the time; the next delay."},
    {"throw", (PyCFunction)(void (*)(void))arrivals_throw, METH_FASTCALL,
     "Raise an exception where the arrivals wait: they end with it."},
    {"close", arrivals_close, METH_NOARGS, "End the arrivals where they are."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ArrivalsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fauxsim.simulation._visit.Arrivals",
    .tp_basicsize = sizeof(Arrivals),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Arrivals(*, shared, plan, start, end, hour_start, hour, returning_share, "
              "width, then, take, new_visitor, session_id, stride): the body that starts "
              "the visits (see engine.Simulation._arrivals_in_python).",
    .tp_new = arrivals_new,
    .tp_dealloc = (destructor)arrivals_dealloc,
    .tp_traverse = (traverseproc)arrivals_traverse,
    .tp_clear = (inquiry)arrivals_clear,
    .tp_as_async = &arrivals_async,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = arrivals_next,
    .tp_methods = arrivals_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_visit",
    "A visit's compiled parts: the arrivals, its draws, the dwell sampler, the returning queue.",
    -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__visit(void)
{
    if ((shared_fields_tuple = PyTuple_New(SHARED_SIZE)) == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < SHARED_SIZE; i++) {
        PyObject *name = shared_fields[i] == NULL ? NULL : PyUnicode_InternFromString(shared_fields[i]);
        if (name == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_SystemError, "_visit: shared item %zd has no name", i);
            }
            return NULL;
        }
        PyTuple_SET_ITEM(shared_fields_tuple, i, name);
    }
    two_pi = 2.0 * 3.141592653589793;  /* 2.0 * math.pi, as sampling._TWO_PI */
    if (PyType_Ready(&WholeLogNormalType) < 0
        || PyType_Ready(&DueQueueType) < 0 || PyType_Ready(&DrawsType) < 0
        || PyType_Ready(&ArrivalsType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "WholeLogNormal", (PyObject *)&WholeLogNormalType) < 0
        || PyModule_AddObjectRef(m, "DueQueue", (PyObject *)&DueQueueType) < 0
        || PyModule_AddObjectRef(m, "Draws", (PyObject *)&DrawsType) < 0
        || PyModule_AddObjectRef(m, "Arrivals", (PyObject *)&ArrivalsType) < 0
        || PyModule_AddObjectRef(m, "SHARED_FIELDS", shared_fields_tuple) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
