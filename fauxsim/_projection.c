/* The projector's two loops over every event and every changed row, in C.
 *
 * fauxsim/projection.py keeps the Python twin of each (``_fold`` and ``_flush``) and
 * uses it where this extension was not built; tests/simulation/test_projection.py
 * runs both on the same streams and holds their tables equal, and
 * tests/simulation/test_determinism.py compares whole runs.
 *
 * fold(events, sessions, dirty, ended, handlers, page_viewed, session_ended, columns,
 *      session_started, started_row)
 *
 *     for event in events:
 *         a session's start: a new session row, built as `started_row` says: for each
 *                            column (origin, source), the event's column `source`
 *                            (origin 0), its property `source` (1) or `source` (2);
 *         a page view:       its session row counts it, moves its clock (updated_at)
 *                            and takes the event's customer if it had none;
 *         a session's end:   the row takes ended_at and updated_at, and its id goes to
 *                            `ended` (forgotten once written);
 *         a handled type:    handlers[event_type](event), in Python;
 *         any other event in a session: the row's clock and customer, as a page view;
 *         and every row changed is marked in `dirty`.
 *
 * `columns` gives the session row's positions: (customer_id, ended_at, page_views,
 * updated_at). Session rows are lists, never frozen (projection._Table).
 *
 * flush(rows, dirty, freeze) -> list of tuples
 *
 *     for row_id in dirty: the row as a tuple, in the list returned; with `freeze`,
 *     rows[row_id] becomes marshal.dumps of that tuple.
 *
 * What C saves here is the interpreter's work around each event: the loop, the type
 * tests, the subscripts, the increment. The dictionary and list operations are the
 * same calls Python makes. Handlers run Python code that may change `sessions` and
 * `dirty` (it adds and changes rows): no item is held borrowed across a call.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>

#include "_small_int.h"

/* An event's columns, as in fauxsim.events.EVENT_COLUMNS. */
enum { EVENT_TYPE = 1, OCCURRED_AT = 2, SESSION_ID = 4, CUSTOMER_ID = 6, EVENT_WIDTH = 13 };

typedef struct {
    Py_ssize_t customer, ended, page_views, updated;
    Py_ssize_t width; /* the smallest row all four fit in */
} SessionColumns;

static int
read_columns(PyObject *columns, SessionColumns *out)
{
    if (!PyTuple_CheckExact(columns) || PyTuple_GET_SIZE(columns) != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "columns must be (customer_id, ended_at, page_views, updated_at)");
        return -1;
    }
    Py_ssize_t *fields[4] = {&out->customer, &out->ended, &out->page_views, &out->updated};
    out->width = 0;
    for (Py_ssize_t i = 0; i < 4; i++) {
        Py_ssize_t value = PyLong_AsSsize_t(PyTuple_GET_ITEM(columns, i));
        if (value == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (value < 0 || value == PY_SSIZE_T_MAX) {
            PyErr_SetString(PyExc_ValueError, "column positions must not be negative");
            return -1;
        }
        *fields[i] = value;
        if (value + 1 > out->width) {
            out->width = value + 1;
        }
    }
    return 0;
}

/* sessions[session_id] as a new reference: a list of at least `width` items. */
static PyObject *
session_row(PyObject *sessions, PyObject *session_id, Py_ssize_t width)
{
    PyObject *row = PyDict_GetItemWithError(sessions, session_id);
    if (row == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetObject(PyExc_KeyError, session_id);
        }
        return NULL;
    }
    if (!PyList_CheckExact(row) || PyList_GET_SIZE(row) < width) {
        PyErr_Format(PyExc_TypeError, "session row %R is not a list of %zd items", session_id,
                     width);
        return NULL;
    }
    Py_INCREF(row);
    return row;
}

/* row[index] = value, which the row then holds (a new reference of its own). The old
 * item's release may run Python code that shrinks the row: the index is checked each time. */
static int
set_item(PyObject *row, Py_ssize_t index, PyObject *value)
{
    Py_INCREF(value);
    return PyList_SetItem(row, index, value);  /* IndexError, as Python's row[i] = v */
}

/* The session's clock and its customer, once known: what every event in a session does. */
static int
touch(PyObject *row, PyObject *event, const SessionColumns *columns)
{
    if (set_item(row, columns->updated, PyTuple_GET_ITEM(event, OCCURRED_AT)) < 0) {
        return -1;
    }
    PyObject *customer = PyTuple_GET_ITEM(event, CUSTOMER_ID);
    PyObject *present = PyList_GetItem(row, columns->customer);
    if (present == NULL) {
        return -1;
    }
    if (present == Py_None && customer != Py_None) {
        return set_item(row, columns->customer, customer);
    }
    return 0;
}

/* row[page_views] += 1 */
static int
count_page_view(PyObject *row, Py_ssize_t index)
{
    PyObject *views = PyList_GET_ITEM(row, index), *more;
    long long value;
    if (small_int(views, &value)) {
        more = PyLong_FromLongLong(value + 1);
    }
    else {
        PyObject *one = PyLong_FromLong(1);
        if (one == NULL) {
            return -1;
        }
        Py_INCREF(views);  /* the addition may run Python code */
        more = PyNumber_Add(views, one);
        Py_DECREF(views);
        Py_DECREF(one);
    }
    if (more == NULL) {
        return -1;
    }
    int failed = set_item(row, index, more);
    Py_DECREF(more);
    return failed;
}

enum { FROM_EVENT = 0, FROM_PROPERTY = 1, VALUE = 2 };

/* The new session row of a session_started event, as `template` says; NULL on error. */
static PyObject *
started_row(PyObject *event, PyObject *template)
{
    Py_ssize_t width = PyTuple_GET_SIZE(template);
    PyObject *properties = PyTuple_GET_ITEM(event, EVENT_WIDTH - 1);
    PyObject *row = PyList_New(width);
    if (row == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < width; i++) {
        PyObject *spec = PyTuple_GET_ITEM(template, i), *value;
        if (!PyTuple_CheckExact(spec) || PyTuple_GET_SIZE(spec) != 2) {
            PyErr_SetString(PyExc_TypeError, "a started row's columns are (origin, source)");
            goto error;
        }
        long origin = PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
        PyObject *source = PyTuple_GET_ITEM(spec, 1);
        if (origin == FROM_EVENT) {
            Py_ssize_t column = PyLong_AsSsize_t(source);
            if (column < 0 || column >= EVENT_WIDTH) {
                if (!PyErr_Occurred()) {
                    PyErr_SetString(PyExc_IndexError, "no such event column");
                }
                goto error;
            }
            value = PyTuple_GET_ITEM(event, column);
            Py_INCREF(value);
        }
        else if (origin == FROM_PROPERTY) {
            if (properties == Py_None) {  /* as `(event[12] or {})[source]` */
                PyErr_SetObject(PyExc_KeyError, source);
                goto error;
            }
            value = PyObject_GetItem(properties, source);
            if (value == NULL) {
                goto error;
            }
        }
        else if (origin == VALUE) {
            value = source;
            Py_INCREF(value);
        }
        else {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "a column's origin is 0, 1 or 2");
            }
            goto error;
        }
        PyList_SET_ITEM(row, i, value);
    }
    return row;
error:
    Py_DECREF(row);  /* the items not set are NULL, which a list's deallocation skips */
    return NULL;
}

/* 1 if the event's type is `kind`, 0 if not, -1 on error. Events carry the very label
 * objects the simulation emits, so identity decides at once; the comparison is for
 * equal strings made elsewhere. */
static int
is_type(PyObject *event_type, PyObject *kind)
{
    if (event_type == kind) {
        return 1;
    }
    return PyObject_RichCompareBool(event_type, kind, Py_EQ);
}

typedef struct {
    PyObject *sessions, *dirty, *ended, *handlers;
    PyObject *page_viewed, *session_ended, *session_started, *started_template;
    SessionColumns columns;
} Fold;

static int
fold_one(PyObject *event, const Fold *fold)
{
    if (!PyTuple_CheckExact(event) || PyTuple_GET_SIZE(event) != EVENT_WIDTH) {
        PyErr_Format(PyExc_TypeError, "events must be tuples of %d items", EVENT_WIDTH);
        return -1;
    }
    PyObject *sessions = fold->sessions, *dirty = fold->dirty;
    const SessionColumns *columns = &fold->columns;
    PyObject *event_type = PyTuple_GET_ITEM(event, EVENT_TYPE);
    PyObject *session_id = PyTuple_GET_ITEM(event, SESSION_ID);
    int viewed = is_type(event_type, fold->page_viewed);
    if (viewed < 0) {
        return -1;
    }
    int ending = viewed ? 0 : is_type(event_type, fold->session_ended);
    if (ending < 0) {
        return -1;
    }
    int starting = viewed || ending ? 0 : is_type(event_type, fold->session_started);
    if (starting < 0) {
        return -1;
    }
    if (starting) {
        if (session_id == Py_None) {
            PyErr_SetString(PyExc_ValueError, "a session_started event without a session");
            return -1;
        }
        PyObject *row = started_row(event, fold->started_template);
        if (row == NULL) {
            return -1;
        }
        int failed = PyDict_SetItem(sessions, session_id, row) < 0;
        Py_DECREF(row);
        return failed ? -1 : PyDict_SetItem(dirty, session_id, Py_None);
    }
    if (!viewed && !ending) {
        PyObject *handlers = fold->handlers;
        PyObject *handler = PyDict_GetItemWithError(handlers, event_type);
        if (handler != NULL) {
            Py_INCREF(handler);  /* a handler may change the dict */
            PyObject *done = PyObject_CallOneArg(handler, event);
            Py_DECREF(handler);
            if (done == NULL) {
                return -1;
            }
            Py_DECREF(done);
            return 0;
        }
        if (PyErr_Occurred()) {
            return -1;
        }
        if (session_id == Py_None) {
            return 0;  /* outside any session (the catalog): no session row moves */
        }
    }
    PyObject *row = session_row(sessions, session_id, columns->width);
    if (row == NULL) {
        return -1;
    }
    int failed = 0;
    if (ending) {
        PyObject *now = PyTuple_GET_ITEM(event, OCCURRED_AT);
        failed = set_item(row, columns->ended, now) < 0 || set_item(row, columns->updated, now) < 0
                 || PyList_Append(fold->ended, session_id) < 0;
    }
    else {
        failed = (viewed && count_page_view(row, columns->page_views) < 0)
                 || touch(row, event, columns) < 0;
    }
    Py_DECREF(row);
    if (failed) {
        return -1;
    }
    return PyDict_SetItem(dirty, session_id, Py_None);
}

static PyObject *
fold(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError,
                        "fold(events, sessions, dirty, ended, handlers, page_viewed, "
                        "session_ended, columns, session_started, started_row) takes 10 "
                        "arguments");
        return NULL;
    }
    PyObject *events = args[0];
    Fold fold = {
        .sessions = args[1], .dirty = args[2], .ended = args[3], .handlers = args[4],
        .page_viewed = args[5], .session_ended = args[6], .session_started = args[8],
        .started_template = args[9],
    };
    if (!PyList_Check(events) || !PyDict_Check(fold.sessions) || !PyDict_Check(fold.dirty)
        || !PyList_Check(fold.ended) || !PyDict_Check(fold.handlers)) {
        PyErr_SetString(PyExc_TypeError,
                        "fold takes events and ended as lists, sessions, dirty and handlers "
                        "as dicts");
        return NULL;
    }
    if (!PyTuple_CheckExact(fold.started_template)) {
        PyErr_SetString(PyExc_TypeError, "started_row must be a tuple of (origin, source)");
        return NULL;
    }
    if (read_columns(args[7], &fold.columns) < 0) {
        return NULL;
    }
    /* A handler may change the list: its length is read again at every event. */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(events); i++) {
        PyObject *event = PyList_GET_ITEM(events, i);
        Py_INCREF(event);
        int failed = fold_one(event, &fold) < 0;
        Py_DECREF(event);
        if (failed) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
flush(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "flush(rows, dirty, freeze, forgotten) takes 4 arguments");
        return NULL;
    }
    PyObject *rows = args[0], *dirty = args[1], *forgotten = args[3];
    if (!PyDict_Check(rows) || !PyDict_Check(dirty)) {
        PyErr_SetString(PyExc_TypeError, "flush takes rows and dirty as dicts");
        return NULL;
    }
    if (!PyAnySet_Check(forgotten)) {
        PyErr_SetString(PyExc_TypeError, "flush takes forgotten as a set");
        return NULL;
    }
    int freeze = PyObject_IsTrue(args[2]);
    if (freeze < 0) {
        return NULL;
    }
    Py_ssize_t count = PyDict_GET_SIZE(dirty);
    PyObject *out = PyList_New(count);
    if (out == NULL) {
        return NULL;
    }
    Py_INCREF(dirty);  /* held while it is walked: the rows' dict is another one */
    Py_ssize_t position = 0, filled = 0;
    PyObject *row_id, *ignored;
    while (PyDict_Next(dirty, &position, &row_id, &ignored)) {
        Py_INCREF(row_id);  /* hashing it, or reading a row, may run code that changes dirty */
        if (filled == count) {
            Py_DECREF(row_id);
            PyErr_SetString(PyExc_RuntimeError, "dirty changed size during flush");
            goto error;
        }
        PyObject *row = PyDict_GetItemWithError(rows, row_id);
        if (row == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetObject(PyExc_KeyError, row_id);
            }
            Py_DECREF(row_id);
            goto error;
        }
        PyObject *written = PyList_CheckExact(row) ? PyList_AsTuple(row) : PySequence_Tuple(row);
        if (written == NULL) {
            Py_DECREF(row_id);
            goto error;
        }
        PyList_SET_ITEM(out, filled++, written);  /* the list holds it now */
        int keep = freeze;  /* a row forgotten once written is not worth packing */
        if (keep && PySet_GET_SIZE(forgotten) > 0) {
            int gone = PySet_Contains(forgotten, row_id);
            if (gone < 0) {
                Py_DECREF(row_id);
                goto error;
            }
            keep = !gone;
        }
        if (keep) {
            /* Held twice while marshal writes it, as Python's marshal.dumps(row) holds
             * it: marshal flags objects held more than once, so the bytes are the twin's. */
            Py_INCREF(written);
            PyObject *packed = PyMarshal_WriteObjectToString(written, Py_MARSHAL_VERSION);
            int failed = packed == NULL || PyDict_SetItem(rows, row_id, packed) < 0;
            Py_XDECREF(packed);
            Py_DECREF(written);
            if (failed) {
                Py_DECREF(row_id);
                goto error;
            }
        }
        Py_DECREF(row_id);
    }
    if (filled != count) {
        PyErr_SetString(PyExc_RuntimeError, "dirty changed size during flush");
        goto error;
    }
    Py_DECREF(dirty);
    return out;
error:
    /* The items not filled are NULL, which a list's deallocation skips. */
    Py_DECREF(dirty);
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"fold", (PyCFunction)(void (*)(void))fold, METH_FASTCALL,
     "fold(events, sessions, dirty, ended, handlers, page_viewed, session_ended, columns, "
     "session_started, started_row): "
     "Projector's fold of events in C (see projection.py)."},
    {"flush", (PyCFunction)(void (*)(void))flush, METH_FASTCALL,
     "flush(rows, dirty, freeze, forgotten): the changed rows as tuples, frozen with freeze "
     "but for those in forgotten (see projection._Table.flush)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_projection", "The projector's loops over events and rows, in C.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__projection(void)
{
    return PyModule_Create(&module);
}
