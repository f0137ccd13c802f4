/* The projector's two loops over every event and every changed row, and its commonest
 * handlers, in C.
 *
 * fauxsim/projection.py keeps the Python twin of each (``_fold``, ``_flush`` and the
 * Projector's handler methods: see Handler below) and
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
 * flush(rows, dirty, freeze, forgotten) -> list of tuples
 *
 *     for row_id in dirty: the row as a tuple, in the list returned; with `freeze`,
 *     rows[row_id] becomes marshal.dumps of that tuple, unless row_id is in the set
 *     `forgotten` (dropped once written).
 *
 * What C saves here is the interpreter's work around each event: the loop, the type
 * tests, the subscripts, the increment. The dictionary and list operations are the
 * same calls Python makes. Handlers run Python code that may change `sessions` and
 * `dirty` (it adds and changes rows): no item is held borrowed across a call.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>
#include <stddef.h>

#include "_key_error.h"
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
            key_error(session_id);
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
                key_error(source);
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
                key_error(row_id);
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

/* ------------------------------------------------------------------ handlers */

/* Handler(kind, state): a projector handler in C, called as handler(event). Each kind
 * does what its twin in projection.Projector does, step for step (the name after it):
 *
 *     LOGGED_IN         _logged_in          the customer's last login, and the session
 *     SIGNED_UP         _signed_up          a new customer row, and the session
 *     ADDED_TO_CART     _added_to_cart      the cart (_cart), its item, their totals
 *     CHECKOUT_STARTED  _checkout_started   the cart's clock, and the session
 *     LIFECYCLE         _order_lifecycle    an order's timestamps and status
 *
 * `state` is projection._handler_state()'s tuple: the tables' rows, changed ids and
 * finished ids (each the very dict or list the Projector keeps: checkpoint() empties
 * them in place), the column positions and the labels. A row frozen by flush (bytes)
 * is unpacked as _Table.change unpacks it. */

enum { H_LOGGED_IN, H_SIGNED_UP, H_ADDED_TO_CART, H_CHECKOUT_STARTED, H_LIFECYCLE, H_KINDS };

enum {
    T_SESSION_ROWS, T_SESSION_DIRTY, T_CUSTOMER_ROWS, T_CUSTOMER_DIRTY, T_CART_ROWS,
    T_CART_DIRTY, T_ITEM_ROWS, T_ITEM_DIRTY, T_ORDER_ROWS, T_ORDER_DIRTY, T_ORDER_FINISHED,
    T_ITEMS_OF_CART, /* dict: cart id -> its item id, or a tuple of them */
    T_LIFECYCLE,     /* dict: event type -> (column, status or None) */
    T_COLUMNS,       /* tuple: the positions below (COL_*) */
    T_LABELS,        /* tuple: the strings below (L_*) */
    T_SIZE
};

enum {
    COL_SESSION_CUSTOMER, COL_SESSION_UPDATED, COL_LAST_LOGIN, COL_CART_CUSTOMER,
    COL_CART_COUNT, COL_CART_SUBTOTAL, COL_ITEM_QUANTITY, COL_ORDER_STATUS,
    COL_ORDER_REFUNDED, COL_SIZE
};

enum {
    L_EMAIL, L_FIRST_NAME, L_LAST_NAME, L_COUNTRY, L_SOURCE, L_CART_ID, L_CART_ITEM_ID,
    L_UNIT_PRICE, L_LINE_QUANTITY, L_OPEN, L_RETURNED, L_REFUNDED, L_SIZE
};

/* More of an event's columns (EVENT_COLUMNS). */
enum { VISITOR_ID = 5, PRODUCT_ID = 9, QUANTITY = 10, ORDER_ID = 11, PROPERTIES = 12 };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    int kind;
    PyObject *state;
    Py_ssize_t columns[COL_SIZE];
} Handler;

#define STATE(self, i) PyTuple_GET_ITEM((self)->state, (i))
#define LABEL(self, i) PyTuple_GET_ITEM(STATE(self, T_LABELS), (i))

/* _Table.change: rows[row_id], unpacked to a list if frozen, marked changed; a new
 * reference, NULL on error. */
static PyObject *
changed_row(PyObject *rows, PyObject *dirty, PyObject *row_id)
{
    PyObject *row = PyDict_GetItemWithError(rows, row_id);
    if (row == NULL) {
        if (!PyErr_Occurred()) {
            key_error(row_id);
        }
        return NULL;
    }
    Py_INCREF(row);
    if (PyBytes_CheckExact(row)) {
        PyObject *packed = PyMarshal_ReadObjectFromString(PyBytes_AS_STRING(row),
                                                          PyBytes_GET_SIZE(row));
        Py_SETREF(row, packed == NULL ? NULL : PySequence_List(packed));
        Py_XDECREF(packed);
        if (row == NULL || PyDict_SetItem(rows, row_id, row) < 0) {
            Py_XDECREF(row);
            return NULL;
        }
    }
    if (PyDict_SetItem(dirty, row_id, Py_None) < 0) {
        Py_DECREF(row);
        return NULL;
    }
    return row;
}

/* _Table.add: rows[row_id] = row, marked changed. */
static int
added_row(PyObject *rows, PyObject *dirty, PyObject *row_id, PyObject *row)
{
    if (PyDict_SetItem(rows, row_id, row) < 0) {
        return -1;
    }
    return PyDict_SetItem(dirty, row_id, Py_None);
}

/* row[index] = value, as Python assigns it (a negative index counts from the end). */
static int
put(PyObject *row, Py_ssize_t index, PyObject *value)
{
    return PySequence_SetItem(row, index, value);
}

/* row[index] is None: 1, 0, or -1 on error. */
static int
is_none_at(PyObject *row, Py_ssize_t index)
{
    PyObject *item = PySequence_GetItem(row, index);
    if (item == NULL) {
        return -1;
    }
    int none = item == Py_None;
    Py_DECREF(item);
    return none;
}

/* row[index] += delta */
static int
add_at(PyObject *row, Py_ssize_t index, PyObject *delta)
{
    PyObject *item = PySequence_GetItem(row, index);
    PyObject *sum = item == NULL ? NULL : PyNumber_InPlaceAdd(item, delta);
    Py_XDECREF(item);
    if (sum == NULL) {
        return -1;
    }
    int failed = put(row, index, sum);
    Py_DECREF(sum);
    return failed;
}

/* Projector._in_session: the session's clock and customer, if the event is in one. */
static int
in_session(Handler *self, PyObject *event)
{
    PyObject *session_id = PyTuple_GET_ITEM(event, SESSION_ID);
    if (session_id == Py_None) {
        return 0;
    }
    PyObject *row = changed_row(STATE(self, T_SESSION_ROWS), STATE(self, T_SESSION_DIRTY),
                                session_id);
    if (row == NULL) {
        return -1;
    }
    int failed = put(row, self->columns[COL_SESSION_UPDATED],
                     PyTuple_GET_ITEM(event, OCCURRED_AT)) < 0;
    if (!failed) {
        int none = is_none_at(row, self->columns[COL_SESSION_CUSTOMER]);
        failed = none < 0 || (none && PyTuple_GET_ITEM(event, CUSTOMER_ID) != Py_None
                              && put(row, self->columns[COL_SESSION_CUSTOMER],
                                     PyTuple_GET_ITEM(event, CUSTOMER_ID)) < 0);
    }
    Py_DECREF(row);
    return failed ? -1 : 0;
}

/* `event[12] or {}`, once per event as in the twins: a new reference, NULL on error. */
static PyObject *
properties_of(PyObject *event)
{
    PyObject *properties = PyTuple_GET_ITEM(event, PROPERTIES);
    int truth = properties == Py_None ? 0 : PyObject_IsTrue(properties);
    if (truth < 0) {
        return NULL;
    }
    return truth ? Py_NewRef(properties) : PyDict_New();
}

/* properties[label]: a new reference, NULL (KeyError) if absent. */
static PyObject *
property(Handler *self, PyObject *properties, int label)
{
    return PyObject_GetItem(properties, LABEL(self, label));
}

/* An id the engine always sets (the twins assert it). */
static PyObject *
required(PyObject *event, Py_ssize_t column)
{
    PyObject *value = PyTuple_GET_ITEM(event, column);
    if (value == Py_None) {
        PyErr_SetNone(PyExc_AssertionError);  /* as the twin's bare assert */
        return NULL;
    }
    return value;
}

static int
logged_in(Handler *self, PyObject *event)
{
    PyObject *customer_id = required(event, CUSTOMER_ID);
    if (customer_id == NULL) {
        return -1;
    }
    PyObject *row = changed_row(STATE(self, T_CUSTOMER_ROWS), STATE(self, T_CUSTOMER_DIRTY),
                                customer_id);
    if (row == NULL) {
        return -1;
    }
    PyObject *now = PyTuple_GET_ITEM(event, OCCURRED_AT);
    int failed = put(row, self->columns[COL_LAST_LOGIN], now) < 0 || put(row, -1, now) < 0;
    Py_DECREF(row);
    return failed ? -1 : in_session(self, event);
}

static int
signed_up(Handler *self, PyObject *event, PyObject *properties)
{
    PyObject *customer_id = required(event, CUSTOMER_ID);
    if (customer_id == NULL) {
        return -1;
    }
    PyObject *now = PyTuple_GET_ITEM(event, OCCURRED_AT);
    PyObject *row = PyList_New(12);
    if (row == NULL) {
        return -1;
    }
    PyObject *fixed[] = {customer_id, PyTuple_GET_ITEM(event, VISITOR_ID)};
    for (Py_ssize_t i = 0; i < 2; i++) {
        PyList_SET_ITEM(row, i, Py_NewRef(fixed[i]));
    }
    int labels[] = {L_EMAIL, L_FIRST_NAME, L_LAST_NAME, L_COUNTRY, L_SOURCE};
    for (Py_ssize_t i = 0; i < 5; i++) {
        PyObject *value = property(self, properties, labels[i]);
        if (value == NULL) {
            Py_DECREF(row);  /* the items not set are NULL, which a list's release skips */
            return -1;
        }
        PyList_SET_ITEM(row, 2 + i, value);
    }
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL) {
        Py_DECREF(row);
        return -1;
    }
    PyList_SET_ITEM(row, 7, Py_NewRef(zero));
    PyList_SET_ITEM(row, 8, zero);
    PyList_SET_ITEM(row, 9, Py_NewRef(Py_None));
    PyList_SET_ITEM(row, 10, Py_NewRef(now));
    PyList_SET_ITEM(row, 11, Py_NewRef(now));
    int failed = added_row(STATE(self, T_CUSTOMER_ROWS), STATE(self, T_CUSTOMER_DIRTY),
                           customer_id, row) < 0;
    Py_DECREF(row);
    return failed ? -1 : in_session(self, event);
}

/* Projector._cart: the cart row (a new reference), made on first sight, with its
 * customer once known, its clock moved. */
static PyObject *
cart_row(Handler *self, PyObject *event, PyObject *cart_id)
{
    PyObject *rows = STATE(self, T_CART_ROWS), *row;
    PyObject *now = PyTuple_GET_ITEM(event, OCCURRED_AT);
    int known = PyDict_Contains(rows, cart_id);
    if (known < 0) {
        return NULL;
    }
    if (known) {
        row = changed_row(rows, STATE(self, T_CART_DIRTY), cart_id);
        if (row == NULL) {
            return NULL;
        }
        PyObject *customer_id = PyTuple_GET_ITEM(event, CUSTOMER_ID);
        int none = is_none_at(row, self->columns[COL_CART_CUSTOMER]);
        if (none < 0 || (none && customer_id != Py_None
                         && put(row, self->columns[COL_CART_CUSTOMER], customer_id) < 0)) {
            Py_DECREF(row);
            return NULL;
        }
    }
    else {
        PyObject *zero = PyLong_FromLong(0);
        row = zero == NULL ? NULL : PyList_New(9);
        if (row == NULL) {
            Py_XDECREF(zero);
            return NULL;
        }
        PyObject *items[] = {cart_id, PyTuple_GET_ITEM(event, VISITOR_ID),
                             PyTuple_GET_ITEM(event, CUSTOMER_ID), LABEL(self, L_OPEN), zero,
                             zero, Py_None, now, now};
        for (Py_ssize_t i = 0; i < 9; i++) {
            PyList_SET_ITEM(row, i, Py_NewRef(items[i]));
        }
        Py_DECREF(zero);
        if (added_row(rows, STATE(self, T_CART_DIRTY), cart_id, row) < 0) {
            Py_DECREF(row);
            return NULL;
        }
    }
    if (put(row, -1, now) < 0) {
        Py_DECREF(row);
        return NULL;
    }
    return row;
}

/* The cart's item ids gain item_id: one id, or a tuple of them (Projector._items_of_cart). */
static int
note_item(Handler *self, PyObject *cart_id, PyObject *item_id)
{
    PyObject *items = STATE(self, T_ITEMS_OF_CART);
    PyObject *present = PyDict_GetItemWithError(items, cart_id), *now;
    if (present == NULL || present == Py_None) {  /* items.get(cart_id) is None */
        return PyErr_Occurred() ? -1 : PyDict_SetItem(items, cart_id, item_id);
    }
    if (PyLong_Check(present)) {
        now = PyTuple_Pack(2, present, item_id);
    }
    else {
        Py_INCREF(present);  /* iterating it may run Python code */
        PyObject *earlier = PySequence_Tuple(present);
        Py_DECREF(present);
        PyObject *last = earlier == NULL ? NULL : PyTuple_Pack(1, item_id);
        now = last == NULL ? NULL : PySequence_Concat(earlier, last);
        Py_XDECREF(earlier);
        Py_XDECREF(last);
    }
    if (now == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(items, cart_id, now);
    Py_DECREF(now);
    return failed;
}

static int
added_to_cart(Handler *self, PyObject *event, PyObject *properties)
{
    PyObject *cart_id = property(self, properties, L_CART_ID), *cart = NULL, *item_id = NULL;
    PyObject *price = NULL, *item = NULL, *line_quantity = NULL, *total = NULL;
    int failed = 1;
    cart = cart_id == NULL ? NULL : cart_row(self, event, cart_id);
    item_id = cart == NULL ? NULL : property(self, properties, L_CART_ITEM_ID);
    if (item_id == NULL) {
        goto done;
    }
    PyObject *quantity = PyTuple_GET_ITEM(event, QUANTITY);  /* event[10] or 0 */
    int truth = PyObject_IsTrue(quantity);
    if (truth < 0) {
        goto done;
    }
    PyObject *zero = truth ? NULL : PyLong_FromLong(0);
    if (!truth && zero == NULL) {
        goto done;
    }
    quantity = truth ? Py_NewRef(quantity) : zero;
    price = property(self, properties, L_UNIT_PRICE);
    if (price == NULL) {
        Py_DECREF(quantity);
        goto done;
    }
    PyObject *items = STATE(self, T_ITEM_ROWS), *now = PyTuple_GET_ITEM(event, OCCURRED_AT);
    int known = PyDict_Contains(items, item_id);
    if (known > 0) {
        item = changed_row(items, STATE(self, T_ITEM_DIRTY), item_id);
    }
    else if (known == 0) {
        /* props["cart_id"] read again for the item's row, and again for its cart's items */
        PyObject *again = property(self, properties, L_CART_ID), *third = NULL;
        PyObject *number = again == NULL ? NULL : PyLong_FromLong(0);
        item = number == NULL ? NULL : PyList_New(8);
        if (item != NULL) {
            PyObject *fields[] = {item_id, again, PyTuple_GET_ITEM(event, PRODUCT_ID), number,
                                  price, Py_False, now, now};
            for (Py_ssize_t i = 0; i < 8; i++) {
                PyList_SET_ITEM(item, i, Py_NewRef(fields[i]));
            }
            if (added_row(items, STATE(self, T_ITEM_DIRTY), item_id, item) < 0
                || (third = property(self, properties, L_CART_ID)) == NULL
                || note_item(self, third, item_id) < 0) {
                Py_CLEAR(item);
            }
        }
        Py_XDECREF(again);
        Py_XDECREF(third);
        Py_XDECREF(number);
    }
    line_quantity = item == NULL ? NULL : property(self, properties, L_LINE_QUANTITY);
    failed = line_quantity == NULL
             || put(item, self->columns[COL_ITEM_QUANTITY], line_quantity) < 0
             || put(item, -1, now) < 0
             || add_at(cart, self->columns[COL_CART_COUNT], quantity) < 0
             || (total = PyNumber_Multiply(quantity, price)) == NULL
             || add_at(cart, self->columns[COL_CART_SUBTOTAL], total) < 0;
    Py_DECREF(quantity);
done:
    Py_XDECREF(cart_id);
    Py_XDECREF(cart);
    Py_XDECREF(item_id);
    Py_XDECREF(price);
    Py_XDECREF(item);
    Py_XDECREF(line_quantity);
    Py_XDECREF(total);
    return failed ? -1 : in_session(self, event);
}

static int
checkout_started(Handler *self, PyObject *event, PyObject *properties)
{
    /* (event[12] or {}).get("cart_id") */
    PyObject *cart_id = PyObject_CallMethod(properties, "get", "O", LABEL(self, L_CART_ID));
    if (cart_id == NULL) {
        return -1;
    }
    if (cart_id != Py_None) {
        PyObject *cart = cart_row(self, event, cart_id);
        if (cart == NULL) {
            Py_DECREF(cart_id);
            return -1;
        }
        Py_DECREF(cart);
    }
    Py_DECREF(cart_id);
    return in_session(self, event);
}

static int
lifecycle(Handler *self, PyObject *event)
{
    PyObject *order_id = required(event, ORDER_ID);
    if (order_id == NULL) {
        return -1;
    }
    PyObject *row = changed_row(STATE(self, T_ORDER_ROWS), STATE(self, T_ORDER_DIRTY), order_id);
    if (row == NULL) {
        return -1;
    }
    int failed = 1;
    PyObject *step = NULL;
    step = PyDict_GetItemWithError(STATE(self, T_LIFECYCLE),
                                             PyTuple_GET_ITEM(event, EVENT_TYPE));
    if (step == NULL) {
        if (!PyErr_Occurred()) {
            key_error(PyTuple_GET_ITEM(event, EVENT_TYPE));
        }
        goto done;
    }
    Py_INCREF(step);  /* put() below can run a __del__ that drops it from the dict */
    if (!PyTuple_CheckExact(step) || PyTuple_GET_SIZE(step) != 2) {
        PyErr_SetString(PyExc_TypeError, "a lifecycle step is (column, status)");
        goto done;
    }
    Py_ssize_t column = PyLong_AsSsize_t(PyTuple_GET_ITEM(step, 0));
    PyObject *status = PyTuple_GET_ITEM(step, 1), *now = PyTuple_GET_ITEM(event, OCCURRED_AT);
    Py_ssize_t status_at = self->columns[COL_ORDER_STATUS];
    if ((column == -1 && PyErr_Occurred()) || put(row, column, now) < 0 || put(row, -1, now) < 0) {
        goto done;
    }
    if (status != Py_None) {
        if (put(row, status_at, status) < 0) {
            goto done;
        }
    }
    else {
        PyObject *present = PySequence_GetItem(row, status_at);
        int returned = present == NULL ? -1
                                       : PyObject_RichCompareBool(present,
                                                                  LABEL(self, L_RETURNED), Py_EQ);
        Py_XDECREF(present);
        if (returned < 0 || (returned && put(row, status_at, LABEL(self, L_REFUNDED)) < 0)) {
            goto done;
        }
    }
    int refunded = is_none_at(row, self->columns[COL_ORDER_REFUNDED]);
    if (refunded < 0) {
        goto done;
    }
    refunded = !refunded;  /* refunded_at is not None */
    if (!refunded) {
        PyObject *present = PySequence_GetItem(row, status_at);
        refunded = present == NULL ? -1
                                   : PyObject_RichCompareBool(present, LABEL(self, L_REFUNDED),
                                                              Py_EQ);
        Py_XDECREF(present);
        if (refunded < 0) {
            goto done;
        }
    }
    /* nothing happens to it after a refund */
    failed = refunded && PyList_Append(STATE(self, T_ORDER_FINISHED), order_id) < 0;
done:
    Py_XDECREF(step);
    Py_DECREF(row);
    return failed ? -1 : 0;
}

static PyObject *
handler_call(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Handler *self = (Handler *)op;
    if (PyVectorcall_NARGS(nargsf) != 1 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "a handler takes one argument: the event");
        return NULL;
    }
    PyObject *event = args[0];
    if (!PyTuple_CheckExact(event) || PyTuple_GET_SIZE(event) != EVENT_WIDTH) {
        PyErr_Format(PyExc_TypeError, "events must be tuples of %d items", EVENT_WIDTH);
        return NULL;
    }
    Py_INCREF(self);  /* held: Python code it runs could drop the last reference */
    /* `event[12] or {}`, first and once, where the twin reads the properties */
    PyObject *properties = NULL;
    if (self->kind == H_SIGNED_UP || self->kind == H_ADDED_TO_CART
        || self->kind == H_CHECKOUT_STARTED) {
        properties = properties_of(event);
        if (properties == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    int failed;
    switch (self->kind) {
    case H_LOGGED_IN: failed = logged_in(self, event); break;
    case H_SIGNED_UP: failed = signed_up(self, event, properties); break;
    case H_ADDED_TO_CART: failed = added_to_cart(self, event, properties); break;
    case H_CHECKOUT_STARTED: failed = checkout_started(self, event, properties); break;
    default: failed = lifecycle(self, event); break;
    }
    Py_DECREF(self);
    Py_XDECREF(properties);
    if (failed) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
handler_tp_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return PyVectorcall_Call(self, args, kwargs);
}

static PyObject *
handler_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    int kind;
    PyObject *state;
    static char *keywords[] = {"kind", "state", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iO!:Handler", keywords, &kind,
                                     &PyTuple_Type, &state)) {
        return NULL;
    }
    if (kind < 0 || kind >= H_KINDS) {
        PyErr_Format(PyExc_ValueError, "a handler's kind is 0 to %d", H_KINDS - 1);
        return NULL;
    }
    if (PyTuple_GET_SIZE(state) != T_SIZE) {
        PyErr_Format(PyExc_TypeError, "a handler's state is a tuple of %d", T_SIZE);
        return NULL;
    }
    int dicts[] = {T_SESSION_ROWS, T_SESSION_DIRTY, T_CUSTOMER_ROWS, T_CUSTOMER_DIRTY,
                   T_CART_ROWS, T_CART_DIRTY, T_ITEM_ROWS, T_ITEM_DIRTY, T_ORDER_ROWS,
                   T_ORDER_DIRTY, T_ITEMS_OF_CART, T_LIFECYCLE};
    for (size_t i = 0; i < sizeof(dicts) / sizeof(dicts[0]); i++) {
        if (!PyDict_Check(PyTuple_GET_ITEM(state, dicts[i]))) {
            PyErr_SetString(PyExc_TypeError, "a handler's tables are dicts");
            return NULL;
        }
    }
    PyObject *columns = PyTuple_GET_ITEM(state, T_COLUMNS);
    PyObject *labels = PyTuple_GET_ITEM(state, T_LABELS);
    if (!PyList_Check(PyTuple_GET_ITEM(state, T_ORDER_FINISHED)) || !PyTuple_Check(columns)
        || PyTuple_GET_SIZE(columns) != COL_SIZE || !PyTuple_Check(labels)
        || PyTuple_GET_SIZE(labels) != L_SIZE) {
        PyErr_SetString(PyExc_TypeError,
                        "a handler's state is not projection._handler_state()'s");
        return NULL;
    }
    Handler *self = (Handler *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < COL_SIZE; i++) {
        self->columns[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(columns, i));
        if (self->columns[i] == -1 && PyErr_Occurred()) {
            Py_DECREF(self);
            return NULL;
        }
    }
    self->kind = kind;
    self->state = Py_NewRef(state);
    self->vectorcall = handler_call;
    return (PyObject *)self;
}

static int
handler_traverse(Handler *self, visitproc visit, void *arg)
{
    Py_VISIT(self->state);
    return 0;
}

static int
handler_clear(Handler *self)
{
    Py_CLEAR(self->state);
    return 0;
}

static void
handler_dealloc(Handler *self)
{
    PyObject_GC_UnTrack(self);
    handler_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject HandlerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fauxsim._projection.Handler",
    .tp_basicsize = sizeof(Handler),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Handler(kind, state)(event): a projector handler in C (see projection.py).",
    .tp_new = handler_new,
    .tp_call = handler_tp_call,
    .tp_vectorcall_offset = offsetof(Handler, vectorcall),
    .tp_dealloc = (destructor)handler_dealloc,
    .tp_traverse = (traverseproc)handler_traverse,
    .tp_clear = (inquiry)handler_clear,
};

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
    if (PyType_Ready(&HandlerType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Handler", (PyObject *)&HandlerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
