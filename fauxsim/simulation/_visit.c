/* A visit's hot path in C: the browsing part of its walk (fauxsim.simulation.session),
 * the lognormal sampler its dwell times are drawn from (fauxsim.simulation.sampling),
 * and the queue of returning visitors it ends in (fauxsim.simulation.audience).
 *
 * Browse
 * ------
 *
 * A visit walks the funnel page by page; most of its pages are browsing: category,
 * search and product pages, drawn from the behaviour's moves, each after a dwell. A
 * Browse object is the body of a Steps process (processes.py) that does exactly what
 * session._walk does for those pages, draw for draw and event for event:
 *
 *     loop:  next page = targets[bisect_right(cumulative, draw())] of the page's moves;
 *            None: the visitor leaves;
 *            a category, search or product page: yield its dwell, then emit its events;
 *            any other page (the cart and beyond): hand over to session._walk, in
 *            Python, from this very point: every later step is its step;
 *     leave: yield the session timeout, emit session_ended, return the visitor to the pool.
 *
 * Python code it calls: the draw, the dwell samplers, the event id counter, the
 * hand-over and the return to the pool; everything else is read (dicts, lists, the
 * catalog's weighted choices) or built (event tuples) here. session._walk is its twin:
 * tests/simulation/test_visit.py runs a shop with each and holds the events equal.
 *
 * It is resumed the way a generator is: PyIter_Send (the am_send slot), or send() and
 * __next__, which raise StopIteration at the end.
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

/* What every visit of a simulation shares, in session.visit_shared()'s order. */
enum {
    S_EVENTS,         /* the simulation's list of events (Simulation.events) */
    S_NEXT_ID,        /* the event id counter's __next__ */
    S_DWELL,          /* dict: page -> dwell sampler (a function of the draw) */
    S_CATEGORIES,     /* WeightedChoice of category names */
    S_ANY_PRODUCT,    /* WeightedChoice of products */
    S_IN_CATEGORY,    /* dict: category -> WeightedChoice of its products */
    S_CATEGORY_PAGES, /* dict: category -> a category page view's properties */
    S_SUFFIXES,       /* tuple of search query suffixes */
    S_TIMEOUT,        /* the session timeout (int micros) */
    S_HANDOFF,        /* session._walk */
    S_POOL_ADD,       /* ReturningPool.add: what Simulation.return_later does, with... */
    S_CATEGORY, S_SEARCH, S_PRODUCT,                        /* pages (labels) */
    S_PAGE_VIEWED, S_SEARCHED, S_PRODUCT_VIEWED, S_SESSION_ENDED, /* event types (labels) */
    S_QUERY,          /* the key of a search's properties: "query" */
    /* What a visit's start reads (visit()): */
    S_CHANNELS,       /* WeightedChoice of (name, Channel) */
    S_CALENDAR_AT,    /* CalendarNow.at */
    S_KINDS,          /* Simulation.session_kinds */
    S_FOR_SESSION,    /* BehaviourBook.for_session */
    S_SHARED_KINDS,   /* at most this many kinds in S_KINDS (int) */
    S_LOGIN, S_EARLY_SIGNUP, S_RECOVER, /* probabilities (floats) */
    S_NEW_CUSTOMER,   /* Simulation.new_customer */
    S_SESSION_STARTED, S_LOGGED_IN, /* event types (labels) */
    S_LANDING, S_CART, /* pages (labels) */
    S_SIGNUP_SOURCE,  /* "browse", an early sign-up's source */
    S_STARTED_KEYS,   /* the session_started properties' keys, in their order */
    S_RETURN_GAP,     /* ...Simulation.return_gap, the sampler of the time until a return */
    /* How visit() schedules the visit, as processes.Steps would (see there): */
    S_ENV,            /* the SimClock */
    S_QUEUE,          /* its event queue (env._queue, a heapq list) */
    S_EID,            /* its event id counter (env._eid) */
    S_NORMAL,         /* simpy's NORMAL priority */
    S_HEAPPUSH,       /* heapq.heappush */
    S_RESUME_OWN,    /* processes.RESUME_OWN: the callbacks of a body that is its own event */
    S_STEPS,          /* processes.Steps, for a body that is not a Browse */
    SHARED_SIZE
};

/* The name of each item of the shared tuple: session.VisitShared declares the same fields
 * in the same order, and the module exports these as SHARED_FIELDS (a test holds them
 * equal; Arrivals refuses a shared tuple whose fields differ). Designated initializers:
 * each name stands beside its index. */
static const char *const shared_fields[SHARED_SIZE] = {
    [S_EVENTS] = "events", [S_NEXT_ID] = "next_event_id", [S_DWELL] = "dwell",
    [S_CATEGORIES] = "categories", [S_ANY_PRODUCT] = "any_product",
    [S_IN_CATEGORY] = "in_category", [S_CATEGORY_PAGES] = "category_pages",
    [S_SUFFIXES] = "search_suffixes", [S_TIMEOUT] = "session_timeout", [S_HANDOFF] = "walk",
    [S_POOL_ADD] = "pool_add", [S_CATEGORY] = "category", [S_SEARCH] = "search",
    [S_PRODUCT] = "product", [S_PAGE_VIEWED] = "page_viewed", [S_SEARCHED] = "searched",
    [S_PRODUCT_VIEWED] = "product_viewed", [S_SESSION_ENDED] = "session_ended",
    [S_QUERY] = "query_key", [S_CHANNELS] = "channels", [S_CALENDAR_AT] = "calendar_at",
    [S_KINDS] = "session_kinds", [S_FOR_SESSION] = "for_session",
    [S_SHARED_KINDS] = "shared_kinds", [S_LOGIN] = "login_probability",
    [S_EARLY_SIGNUP] = "early_signup_probability", [S_RECOVER] = "recover_probability",
    [S_NEW_CUSTOMER] = "new_customer", [S_SESSION_STARTED] = "session_started",
    [S_LOGGED_IN] = "logged_in", [S_LANDING] = "landing", [S_CART] = "cart",
    [S_SIGNUP_SOURCE] = "signup_source", [S_STARTED_KEYS] = "started_keys",
    [S_RETURN_GAP] = "return_gap", [S_ENV] = "env", [S_QUEUE] = "queue",
    [S_EID] = "event_ids", [S_NORMAL] = "normal", [S_HEAPPUSH] = "heappush",
    [S_RESUME_OWN] = "resume_own", [S_STEPS] = "steps",
};
static PyObject *shared_fields_tuple;  /* SHARED_FIELDS, made at import */

/* The visit's own context, as session._walk takes its first arguments. */
enum { C_SIM, C_SESSION_ID, C_VISITOR, C_DRAW, C_BEHAVIOUR, C_CUSTOMER_ID, C_CART, CONTEXT_SIZE };

typedef enum { BROWSING, ENDING, HANDED_OVER, DONE } Phase;

typedef struct {
    PyObject_HEAD
    PyObject *shared;    /* tuple, SHARED_SIZE */
    PyObject *context;   /* tuple, CONTEXT_SIZE */
    PyObject *moves;     /* dict: page -> (cumulative, targets) */
    PyObject *visitor_id;
    PyObject *now;
    PyObject *state;     /* the page the visitor is on */
    PyObject *next_state; /* the page drawn next (NULL: none drawn yet) */
    PyObject *category;  /* the last category page's name ("" before one) */
    PyObject *product;   /* the last product seen (Py_None before one) */
    PyObject *rest;      /* session._walk, once handed over */
    PyObject *callbacks; /* as a SimPy event's: a Browse is its own event in the queue */
    long long sequence;
    Phase phase;
    int started;
    int running; /* inside send/throw/close: re-entry is refused, as a generator's */
} Browse;

/* Attribute and method names, interned once at import (PyInit__visit). */
static PyObject *str_values, *str_cumulative, *str_total, *str_product_id, *str_search_term,
    *str_viewed, *str_category, *str_throw, *str_kind, *str_device, *str_browser, *str_country,
    *str_customer_id, *str_cart, *str_visitor_id, *str_utm_source, *str_utm_medium,
    *str_utm_campaign, *str_key, *str_names, *str_moves, *str_now;

#define SHARED(self, i) PyTuple_GET_ITEM((self)->shared, (i))
#define CONTEXT(self, i) PyTuple_GET_ITEM((self)->context, (i))

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

/* bisect.bisect_right(cumulative, x) over a list of floats; -1 on error. */
static Py_ssize_t
bisect_right(PyObject *cumulative, double x)
{
    if (!PyList_Check(cumulative)) {
        PyErr_SetString(PyExc_TypeError, "cumulative weights must be a list");
        return -1;
    }
    Py_ssize_t low = 0, high = PyList_GET_SIZE(cumulative);
    while (low < high) {
        Py_ssize_t middle = low + (high - low) / 2;
        PyObject *bound = PyList_GET_ITEM(cumulative, middle);
        double value = PyFloat_CheckExact(bound) ? PyFloat_AS_DOUBLE(bound)
                                                 : PyFloat_AsDouble(bound);
        if (value == -1.0 && PyErr_Occurred()) {
            return -1;
        }
        if (x < value) {
            high = middle;
        }
        else {
            low = middle + 1;
        }
    }
    return low;
}

/* choice.pick(draw) of a WeightedChoice: values[bisect_right(_cumulative, draw() * _total)].
 * A new reference, or NULL. */
static PyObject *
pick_with(PyObject *draw, PyObject *choice)
{
    PyObject *values = NULL, *cumulative = NULL, *total = NULL, *picked = NULL;
    values = PyObject_GetAttr(choice, str_values);
    cumulative = values ? PyObject_GetAttr(choice, str_cumulative) : NULL;
    total = cumulative ? PyObject_GetAttr(choice, str_total) : NULL;
    if (total == NULL) {
        goto done;
    }
    double scale = PyFloat_AsDouble(total);
    if (scale == -1.0 && PyErr_Occurred()) {
        goto done;
    }
    double u = draw_from(draw);
    if (u == -1.0 && PyErr_Occurred()) {
        goto done;
    }
    Py_ssize_t index = bisect_right(cumulative, u * scale);
    if (index >= 0) {
        picked = PySequence_GetItem(values, index);
    }
done:
    Py_XDECREF(values);
    Py_XDECREF(cumulative);
    Py_XDECREF(total);
    return picked;
}

/* Append (next_id(), type, now, now, session, visitor, customer, sequence, page,
 * product_id, None, None, properties) to the simulation's events; 0, or -1. */
static int
emit_event(PyObject *shared, PyObject *event_type, PyObject *now, PyObject *session_id,
           PyObject *visitor_id, PyObject *customer_id, long long sequence, PyObject *page,
           PyObject *product_id, PyObject *properties)
{
    PyObject *id = PyObject_CallNoArgs(PyTuple_GET_ITEM(shared, S_NEXT_ID));
    if (id == NULL) {
        return -1;
    }
    PyObject *number = PyLong_FromLongLong(sequence);
    if (number == NULL) {
        Py_DECREF(id);
        return -1;
    }
    PyObject *event = PyTuple_Pack(13, id, event_type, now, now, session_id, visitor_id,
                                   customer_id, number, page, product_id, Py_None, Py_None,
                                   properties);
    Py_DECREF(id);
    Py_DECREF(number);
    if (event == NULL) {
        return -1;
    }
    int failed = PyList_Append(PyTuple_GET_ITEM(shared, S_EVENTS), event);
    Py_DECREF(event);
    return failed;
}

/* An event of this visit, at its time. */
static int
emit(Browse *self, PyObject *event_type, long long sequence, PyObject *page,
     PyObject *product_id, PyObject *properties)
{
    return emit_event(self->shared, event_type, self->now, CONTEXT(self, C_SESSION_ID),
                      self->visitor_id, CONTEXT(self, C_CUSTOMER_ID), sequence, page,
                      product_id, properties);
}

#define pick(self, choice) pick_with(CONTEXT(self, C_DRAW), (choice))

static void
set_field(PyObject **field, PyObject *value)
{
    PyObject *old = *field;
    Py_XINCREF(value);
    *field = value;
    Py_XDECREF(old);
}

/* The events of the page just reached (self->next_state), at self->now; 0, or -1. */
static int
view_page(Browse *self)
{
    PyObject *page = self->next_state;
    if (page == SHARED(self, S_CATEGORY)) {
        PyObject *category = pick(self, SHARED(self, S_CATEGORIES));
        if (category == NULL) {
            return -1;
        }
        set_field(&self->category, category);
        Py_DECREF(category);
        PyObject *properties = PyDict_GetItemWithError(SHARED(self, S_CATEGORY_PAGES), category);
        if (properties == NULL) {
            if (!PyErr_Occurred()) {
                key_error(category);
            }
            return -1;
        }
        self->sequence += 1;
        Py_INCREF(properties);  /* next_id() runs Python code */
        int failed = emit(self, SHARED(self, S_PAGE_VIEWED), self->sequence, page, Py_None,
                          properties);
        Py_DECREF(properties);
        return failed;
    }
    if (page == SHARED(self, S_SEARCH)) {
        PyObject *product = pick(self, SHARED(self, S_ANY_PRODUCT));
        if (product == NULL) {
            return -1;
        }
        set_field(&self->product, product);
        Py_DECREF(product);
        PyObject *term = PyObject_GetAttr(product, str_search_term);
        if (term == NULL) {
            return -1;
        }
        PyObject *suffixes = SHARED(self, S_SUFFIXES);
        double u = draw_uniform(self);
        if (u == -1.0 && PyErr_Occurred()) {
            Py_DECREF(term);
            return -1;
        }
        /* SEARCH_SUFFIXES[int(draw() * len(SEARCH_SUFFIXES))]: at once for a draw in
         * [0, 1), as Python indexes for any other (an error, or from the end). */
        double scaled = u * (double)PyTuple_GET_SIZE(suffixes);
        PyObject *suffix;
        if (scaled >= 0.0 && scaled < (double)PyTuple_GET_SIZE(suffixes)) {
            suffix = Py_NewRef(PyTuple_GET_ITEM(suffixes, (Py_ssize_t)scaled));
        }
        else {
            PyObject *position = PyLong_FromDouble(scaled);
            suffix = position ? PyObject_GetItem(suffixes, position) : NULL;
            Py_XDECREF(position);
        }
        if (suffix == NULL) {
            Py_DECREF(term);
            return -1;
        }
        PyObject *query = PyNumber_Add(term, suffix);
        Py_DECREF(suffix);
        Py_DECREF(term);
        if (query == NULL) {
            return -1;
        }
        PyObject *properties = PyDict_New();
        int failed = properties == NULL
                     || PyDict_SetItem(properties, SHARED(self, S_QUERY), query) < 0;
        Py_DECREF(query);
        failed = failed
                 || emit(self, SHARED(self, S_SEARCHED), self->sequence + 1, page, Py_None,
                         properties) < 0
                 || emit(self, SHARED(self, S_PAGE_VIEWED), self->sequence + 2, page, Py_None,
                         Py_None) < 0;
        Py_XDECREF(properties);
        self->sequence += 2;
        return failed ? -1 : 0;
    }
    /* A product page: from a category, one of its products; after a search, one of the
     * searched product's category; else any product. */
    PyObject *choice;
    if (self->state == SHARED(self, S_CATEGORY)) {
        choice = PyDict_GetItemWithError(SHARED(self, S_IN_CATEGORY), self->category);
        if (choice == NULL && !PyErr_Occurred()) {
            key_error(self->category);
        }
        Py_XINCREF(choice);
    }
    else if (self->state == SHARED(self, S_SEARCH) && self->product != Py_None) {
        PyObject *category = PyObject_GetAttr(self->product, str_category);
        if (category == NULL) {
            return -1;
        }
        choice = PyDict_GetItemWithError(SHARED(self, S_IN_CATEGORY), category);
        if (choice == NULL && !PyErr_Occurred()) {
            key_error(category);
        }
        Py_XINCREF(choice);
        Py_DECREF(category);
    }
    else {
        choice = SHARED(self, S_ANY_PRODUCT);
        Py_INCREF(choice);
    }
    if (choice == NULL) {
        return -1;
    }
    PyObject *product = pick(self, choice);
    Py_DECREF(choice);
    if (product == NULL) {
        return -1;
    }
    set_field(&self->product, product);
    Py_DECREF(product);
    PyObject *product_id = PyObject_GetAttr(product, str_product_id);
    PyObject *viewed = product_id ? PyObject_GetAttr(product, str_viewed) : NULL;
    int failed = viewed == NULL
                 || emit(self, SHARED(self, S_PAGE_VIEWED), self->sequence + 1, page,
                         product_id, Py_None) < 0
                 || emit(self, SHARED(self, S_PRODUCT_VIEWED), self->sequence + 2, page,
                         product_id, viewed) < 0;
    Py_XDECREF(product_id);
    Py_XDECREF(viewed);
    self->sequence += 2;
    return failed ? -1 : 0;
}

/* Hand the walk over to session._walk at this point, and take its first step. */
static PySendResult
hand_over(Browse *self, PyObject **result)
{
    PyObject *args = PyTuple_New(CONTEXT_SIZE + 6);
    if (args == NULL) {
        return PYGEN_ERROR;
    }
    for (Py_ssize_t i = 0; i < CONTEXT_SIZE; i++) {
        PyObject *item = CONTEXT(self, i);
        Py_INCREF(item);
        PyTuple_SET_ITEM(args, i, item);
    }
    PyObject *sequence = PyLong_FromLongLong(self->sequence);
    if (sequence == NULL) {
        Py_DECREF(args);
        return PYGEN_ERROR;
    }
    PyObject *tail[6] = {self->now, sequence, self->state, self->next_state, self->category,
                         self->product};
    for (Py_ssize_t i = 0; i < 6; i++) {
        if (i != 1) {
            Py_INCREF(tail[i]);
        }
        PyTuple_SET_ITEM(args, CONTEXT_SIZE + i, tail[i]);
    }
    PyObject *rest = PyObject_Call(SHARED(self, S_HANDOFF), args, NULL);
    Py_DECREF(args);
    if (rest == NULL) {
        return PYGEN_ERROR;
    }
    self->rest = rest;
    self->phase = HANDED_OVER;
    return PyIter_Send(rest, Py_None, result);
}

/* From the top of the walk's loop: draw the next page, and yield its dwell. */
static PySendResult
walk_on(Browse *self, PyObject **result)
{
    PyObject *moves = PyDict_GetItemWithError(self->moves, self->state);
    if (moves == NULL) {
        if (!PyErr_Occurred()) {
            key_error(self->state);
        }
        return PYGEN_ERROR;
    }
    if (!PyTuple_Check(moves) || PyTuple_GET_SIZE(moves) != 2) {
        PyErr_SetString(PyExc_TypeError, "moves must be (cumulative, targets)");
        return PYGEN_ERROR;
    }
    Py_INCREF(moves);
    double u = draw_uniform(self);
    Py_ssize_t index = u == -1.0 && PyErr_Occurred()
                           ? -1
                           : bisect_right(PyTuple_GET_ITEM(moves, 0), u);
    PyObject *next_state = index < 0 ? NULL : PySequence_GetItem(PyTuple_GET_ITEM(moves, 1), index);
    Py_DECREF(moves);
    if (next_state == NULL) {
        return PYGEN_ERROR;
    }
    set_field(&self->next_state, next_state);
    Py_DECREF(next_state);
    if (next_state == Py_None) {  /* the visitor leaves: the last page was the last activity */
        self->phase = ENDING;
        *result = SHARED(self, S_TIMEOUT);
        Py_INCREF(*result);
        return PYGEN_NEXT;
    }
    if (next_state != SHARED(self, S_CATEGORY) && next_state != SHARED(self, S_SEARCH)
        && next_state != SHARED(self, S_PRODUCT)) {
        return hand_over(self, result);
    }
    PyObject *sampler = PyDict_GetItemWithError(SHARED(self, S_DWELL), self->state);
    if (sampler == NULL) {
        if (!PyErr_Occurred()) {
            key_error(self->state);
        }
        return PYGEN_ERROR;
    }
    Py_INCREF(sampler);
    *result = PyObject_CallOneArg(sampler, CONTEXT(self, C_DRAW));
    Py_DECREF(sampler);
    return *result == NULL ? PYGEN_ERROR : PYGEN_NEXT;
}

/* The session's end, at self->now: its event, and the visitor back to the pool. */
static int
end_session(Browse *self)
{
    if (emit(self, SHARED(self, S_SESSION_ENDED), self->sequence + 1, Py_None, Py_None,
             Py_None) < 0) {
        return -1;
    }
    /* Simulation.return_later, inline: pool.add(visitor, now + return_gap(draw)). */
    PyObject *gap = PyObject_CallOneArg(SHARED(self, S_RETURN_GAP), CONTEXT(self, C_DRAW));
    PyObject *due = gap == NULL ? NULL : PyNumber_Add(self->now, gap);
    Py_XDECREF(gap);
    PyObject *done = due == NULL ? NULL : PyObject_CallFunctionObjArgs(
        SHARED(self, S_POOL_ADD), CONTEXT(self, C_VISITOR), due, NULL);
    Py_XDECREF(due);
    Py_XDECREF(done);
    return done == NULL ? -1 : 0;
}

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

static PySendResult browse_send_inner(Browse *self, PyObject *arg, PyObject **result);

static int
refuse_running(Browse *self)
{
    if (self->running) {
        PyErr_SetString(PyExc_ValueError, "generator already executing");
        return -1;
    }
    return 0;
}

static PySendResult
browse_send(PyObject *op, PyObject *arg, PyObject **result)
{
    Browse *self = (Browse *)op;
    *result = NULL;
    if (refuse_running(self) < 0) {
        return PYGEN_ERROR;
    }
    Py_INCREF(self);
    self->running = 1;
    PySendResult sent = browse_send_inner(self, arg, result);
    self->running = 0;
    Py_DECREF(self);
    return sent;
}

static PySendResult
browse_send_inner(Browse *self, PyObject *arg, PyObject **result)
{
    *result = NULL;
    PySendResult sent;
    switch (self->phase) {
    case HANDED_OVER:
        sent = PyIter_Send(self->rest, arg, result);
        break;
    case DONE:
        *result = Py_None;
        Py_INCREF(*result);
        return PYGEN_RETURN;
    case ENDING:
        set_field(&self->now, arg);
        if (end_session(self) < 0) {
            sent = PYGEN_ERROR;
            break;
        }
        *result = Py_None;
        Py_INCREF(*result);
        sent = PYGEN_RETURN;
        break;
    default: /* BROWSING */
        if (!self->started) {
            if (arg != Py_None) {
                PyErr_SetString(PyExc_TypeError,
                                "can't send non-None value to a just-started walk");
                return PYGEN_ERROR;
            }
            self->started = 1;
        }
        else {  /* the dwell is over: the page drawn is reached */
            set_field(&self->now, arg);
            if (view_page(self) < 0) {
                sent = PYGEN_ERROR;
                break;
            }
            set_field(&self->state, self->next_state);
            Py_CLEAR(self->next_state);
        }
        sent = walk_on(self, result);
    }
    if (sent != PYGEN_NEXT) {
        self->phase = DONE;
        Py_CLEAR(self->rest);
    }
    if (sent == PYGEN_ERROR) {
        stop_iteration_is_an_error();
    }
    return sent;
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

static PyObject *
browse_send_method(PyObject *self, PyObject *arg)
{
    return send_method(browse_send, self, arg);
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



/* throw(exception): as into a generator, which the walk does not catch: it ends with it.
 * Once handed over, the exception goes to session._walk. */
static PyObject *
browse_throw(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    Browse *self = (Browse *)op;
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "throw expected 1 to 3 arguments");
        return NULL;
    }
    if (refuse_running(self) < 0) {
        return NULL;
    }
    if (self->phase == HANDED_OVER) {
        PyObject *call[4] = {self->rest, args[0], nargs > 1 ? args[1] : NULL,
                             nargs > 2 ? args[2] : NULL};
        Py_INCREF(self);
        self->running = 1;
        PyObject *thrown = PyObject_VectorcallMethod(str_throw, call, (size_t)nargs + 1, NULL);
        self->running = 0;
        Py_DECREF(self);
        if (thrown == NULL) {
            self->phase = DONE;
            Py_CLEAR(self->rest);
        }
        return thrown;
    }
    if (set_thrown(args, nargs) < 0) {
        return NULL;  /* refused: the walk goes on */
    }
    if (self->phase != DONE) {  /* it ends with the exception; once ended, it is raised as is */
        self->phase = DONE;
        stop_iteration_is_an_error();
    }
    return NULL;
}

/* close(): the walk ends where it is, as a generator's would. */
static PyObject *
browse_close(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    Browse *self = (Browse *)op;
    if (refuse_running(self) < 0) {
        return NULL;
    }
    PyObject *rest = self->rest;
    self->rest = NULL;
    self->phase = DONE;
    if (rest != NULL) {
        PyObject *closed = PyObject_CallMethod(rest, "close", NULL);
        Py_DECREF(rest);
        if (closed == NULL) {
            return NULL;
        }
        Py_DECREF(closed);
    }
    Py_RETURN_NONE;
}

static PyObject *
browse_next(PyObject *self)
{
    return next_step(browse_send, self);
}

static PyObject *
browse_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *shared, *context, *moves, *visitor_id, *now, *state;
    long long sequence;
    /* Positional only: made once per visit, and keyword parsing costs more. */
    if ((kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)
        || !PyArg_ParseTuple(args, "O!O!O!OLOO:Browse", &PyTuple_Type, &shared, &PyTuple_Type,
                             &context, &PyDict_Type, &moves, &visitor_id, &sequence, &now,
                             &state)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "Browse takes positional arguments only");
        }
        return NULL;
    }
    if (PyTuple_GET_SIZE(shared) != SHARED_SIZE || PyTuple_GET_SIZE(context) != CONTEXT_SIZE) {
        PyErr_Format(PyExc_TypeError, "Browse takes shared of %d items and context of %d",
                     SHARED_SIZE, CONTEXT_SIZE);
        return NULL;
    }
    if (!PyList_Check(PyTuple_GET_ITEM(shared, S_EVENTS))
        || !PyDict_Check(PyTuple_GET_ITEM(shared, S_DWELL))
        || !PyDict_Check(PyTuple_GET_ITEM(shared, S_IN_CATEGORY))
        || !PyDict_Check(PyTuple_GET_ITEM(shared, S_CATEGORY_PAGES))
        || !PyTuple_Check(PyTuple_GET_ITEM(shared, S_SUFFIXES))
        || PyTuple_GET_SIZE(PyTuple_GET_ITEM(shared, S_SUFFIXES)) == 0) {
        PyErr_SetString(PyExc_TypeError, "Browse: shared is not session.visit_shared()'s");
        return NULL;
    }
    Browse *self = (Browse *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(shared);
    self->shared = shared;
    Py_INCREF(context);
    self->context = context;
    Py_INCREF(moves);
    self->moves = moves;
    Py_INCREF(visitor_id);
    self->visitor_id = visitor_id;
    Py_INCREF(now);
    self->now = now;
    self->sequence = sequence;
    self->next_state = NULL;
    self->rest = NULL;
    self->callbacks = NULL;
    self->category = PyUnicode_FromString("");
    self->product = Py_None;
    Py_INCREF(Py_None);
    Py_INCREF(state);
    self->state = state;
    self->phase = BROWSING;
    self->started = 0;
    self->running = 0;
    if (self->category == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
browse_traverse(Browse *self, visitproc visit, void *arg)
{
    Py_VISIT(self->shared);
    Py_VISIT(self->context);
    Py_VISIT(self->moves);
    Py_VISIT(self->visitor_id);
    Py_VISIT(self->now);
    Py_VISIT(self->state);
    Py_VISIT(self->next_state);
    Py_VISIT(self->category);
    Py_VISIT(self->product);
    Py_VISIT(self->rest);
    Py_VISIT(self->callbacks);
    return 0;
}

static int
browse_clear(Browse *self)
{
    Py_CLEAR(self->shared);
    Py_CLEAR(self->context);
    Py_CLEAR(self->moves);
    Py_CLEAR(self->visitor_id);
    Py_CLEAR(self->now);
    Py_CLEAR(self->state);
    Py_CLEAR(self->next_state);
    Py_CLEAR(self->category);
    Py_CLEAR(self->product);
    Py_CLEAR(self->rest);
    Py_CLEAR(self->callbacks);
    self->phase = DONE;
    return 0;
}

static void
browse_dealloc(Browse *self)
{
    PyObject_GC_UnTrack(self);
    browse_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyAsyncMethods browse_async = {.am_send = browse_send};

static PyMethodDef browse_methods[] = {
    {"send", browse_send_method, METH_O, "Resume the walk with the time; the next delay."},
    {"throw", (PyCFunction)(void (*)(void))browse_throw, METH_FASTCALL,
     "Raise an exception where the walk waits: it ends with it."},
    {"close", browse_close, METH_NOARGS, "End the walk where it is."},
    {NULL, NULL, 0, NULL},
};

/* What SimPy reads of an event it processes (Environment.step): a Browse is one. */
static PyMemberDef browse_members[] = {
    {"callbacks", T_OBJECT, offsetof(Browse, callbacks), 0,
     "As a SimPy event's: processes.RESUME_OWN while it waits in the queue, else None."},
    {NULL, 0, 0, 0, NULL},
};

static PyObject *
browse_ok(PyObject *Py_UNUSED(self), void *Py_UNUSED(closure))
{
    Py_RETURN_TRUE;
}

static PyObject *
browse_value(PyObject *Py_UNUSED(self), void *Py_UNUSED(closure))
{
    Py_RETURN_NONE;
}

static PyObject *
browse_env(PyObject *op, void *Py_UNUSED(closure))
{
    Browse *self = (Browse *)op;
    if (self->shared == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a cleared Browse has no env");
        return NULL;
    }
    return Py_NewRef(SHARED(self, S_ENV));
}

static PyGetSetDef browse_getset[] = {
    {"_ok", browse_ok, NULL, "True: a visit never fails as a SimPy event.", NULL},
    {"_value", browse_value, NULL, "None: nothing waits for a visit's value.", NULL},
    {"env", browse_env, NULL, "The SimClock the visit runs on.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject BrowseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fauxsim.simulation._visit.Browse",
    .tp_basicsize = sizeof(Browse),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Browse(shared, context, moves, visitor_id, sequence, now, state): a visit's walk, "
              "browsing in C until it reaches the cart (see session.py).",
    .tp_new = browse_new,
    .tp_dealloc = (destructor)browse_dealloc,
    .tp_traverse = (traverseproc)browse_traverse,
    .tp_clear = (inquiry)browse_clear,
    .tp_as_async = &browse_async,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = browse_next,
    .tp_methods = browse_methods,
    .tp_members = browse_members,
    .tp_getset = browse_getset,
};


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


/* ------------------------------------------------------------------ a visit's start */

/* A probability from the shared tuple; -1.0 with an error set on error. */
static double
shared_float(PyObject *shared, Py_ssize_t index)
{
    return PyFloat_AsDouble(PyTuple_GET_ITEM(shared, index));
}

/* The session_started properties of a new kind of session, in session.py's key order. */
static PyObject *
started_properties(PyObject *shared, PyObject *channel_name, PyObject *channel,
                   PyObject *visitor, PyObject *returning, PyObject *active)
{
    PyObject *keys = PyTuple_GET_ITEM(shared, S_STARTED_KEYS);
    if (!PyTuple_Check(keys) || PyTuple_GET_SIZE(keys) != 9) {
        PyErr_SetString(PyExc_TypeError, "the session_started keys must be a tuple of 9");
        return NULL;
    }
    PyObject *values[9] = {NULL};
    values[0] = Py_NewRef(channel_name);
    values[1] = PyObject_GetAttr(channel, str_utm_source);
    values[2] = values[1] ? PyObject_GetAttr(channel, str_utm_medium) : NULL;
    values[3] = values[2] ? PyObject_GetAttr(channel, str_utm_campaign) : NULL;
    values[4] = values[3] ? PyObject_GetAttr(visitor, str_device) : NULL;
    values[5] = values[4] ? PyObject_GetAttr(visitor, str_browser) : NULL;
    values[6] = values[5] ? PyObject_GetAttr(visitor, str_country) : NULL;
    values[7] = values[6] ? Py_NewRef(returning) : NULL;
    values[8] = values[7] ? PyObject_GetAttr(active, str_names) : NULL;
    PyObject *properties = values[8] ? PyDict_New() : NULL;
    for (Py_ssize_t i = 0; i < 9 && properties != NULL; i++) {
        if (PyDict_SetItem(properties, PyTuple_GET_ITEM(keys, i), values[i]) < 0) {
            Py_CLEAR(properties);
        }
    }
    for (Py_ssize_t i = 0; i < 9; i++) {
        Py_XDECREF(values[i]);
    }
    return properties;
}

/* Start `body` as processes.Steps(env, body) would: its first step at once, then its
 * entry in the queue. A Browse is its own event there (its callbacks are RESUME_OWN,
 * and the scheduler resumes it as it resumes a Steps' body); any other body gets a Steps. */
static int
start_body(PyObject *shared, PyObject *body)
{
    PyObject *env = PyTuple_GET_ITEM(shared, S_ENV);
    if (!Py_IS_TYPE(body, &BrowseType)) {
        PyObject *steps = PyObject_CallFunctionObjArgs(PyTuple_GET_ITEM(shared, S_STEPS), env,
                                                       body, NULL);
        Py_XDECREF(steps);
        return steps == NULL ? -1 : 0;
    }
    PyObject *delay = NULL;
    PySendResult sent = browse_send(body, Py_None, &delay);
    if (sent != PYGEN_NEXT) {  /* an error, or a walk over at once: nothing to schedule */
        Py_XDECREF(delay);
        return sent == PYGEN_ERROR ? -1 : 0;
    }
    PyObject *clock = PyObject_GetAttr(env, str_now);
    PyObject *at = clock == NULL ? NULL : PyNumber_Add(clock, delay);
    Py_XDECREF(clock);
    Py_DECREF(delay);
    if (at == NULL) {
        return -1;
    }
    PyObject *counter = PyTuple_GET_ITEM(shared, S_EID);
    if (!PyIter_Check(counter)) {
        Py_DECREF(at);
        PyErr_SetString(PyExc_TypeError, "the event id counter must be an iterator");
        return -1;
    }
    PyObject *id = PyIter_Next(counter);
    if (id == NULL) {
        Py_DECREF(at);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError, "the event id counter ran out");
        }
        return -1;
    }
    PyObject *entry = PyTuple_Pack(4, at, PyTuple_GET_ITEM(shared, S_NORMAL), id, body);
    Py_DECREF(at);
    Py_DECREF(id);
    if (entry == NULL) {
        return -1;
    }
    set_field(&((Browse *)body)->callbacks, PyTuple_GET_ITEM(shared, S_RESUME_OWN));
    PyObject *pushed = PyObject_CallFunctionObjArgs(PyTuple_GET_ITEM(shared, S_HEAPPUSH),
                                                    PyTuple_GET_ITEM(shared, S_QUEUE), entry,
                                                    NULL);
    Py_DECREF(entry);
    Py_XDECREF(pushed);
    return pushed == NULL ? -1 : 0;
}

/* visit(shared, sim, session_id, visitor, draw, now, returning): what
 * processes.Steps(env, session.run_session(...)) does, step for step: the visit's first
 * events, then its body (a Browse, or _walk for a visitor who goes straight to a
 * recovered cart), started on the clock. */
static PyObject *
visit(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyTuple_Check(args[0])
        || PyTuple_GET_SIZE(args[0]) != SHARED_SIZE) {
        PyErr_SetString(PyExc_TypeError,
                        "visit(shared, sim, session_id, visitor, draw, now, returning)");
        return NULL;
    }
    PyObject *shared = args[0], *sim = args[1], *session_id = args[2], *visitor = args[3];
    PyObject *draw = args[4], *now = args[5], *returning = args[6];
    PyObject *picked = NULL, *active = NULL, *kind = NULL, *behaviour = NULL, *started = NULL;
    PyObject *visitor_id = NULL, *customer_id = NULL, *known_customer = NULL, *cart = NULL;
    PyObject *body = NULL, *key, *channel_name, *channel;

    visitor_id = PyObject_GetAttr(visitor, str_visitor_id);
    picked = visitor_id ? pick_with(draw, PyTuple_GET_ITEM(shared, S_CHANNELS)) : NULL;
    if (picked == NULL) {
        goto done;
    }
    if (!PyTuple_Check(picked) || PyTuple_GET_SIZE(picked) != 2) {
        PyErr_SetString(PyExc_TypeError, "channels are (name, channel) pairs");
        goto done;
    }
    channel_name = PyTuple_GET_ITEM(picked, 0);
    channel = PyTuple_GET_ITEM(picked, 1);
    active = PyObject_CallOneArg(PyTuple_GET_ITEM(shared, S_CALENDAR_AT), now);
    /* (channel_name, visitor.kind, returning, active.key): read in that order */
    PyObject *visitor_kind = active ? PyObject_GetAttr(visitor, str_kind) : NULL;
    key = visitor_kind ? PyObject_GetAttr(active, str_key) : NULL;
    if (key == NULL) {
        Py_XDECREF(visitor_kind);
        goto done;
    }
    kind = PyTuple_Pack(4, channel_name, visitor_kind, returning, key);
    Py_DECREF(visitor_kind);
    if (kind == NULL) {
        Py_DECREF(key);
        goto done;
    }
    PyObject *kinds = PyTuple_GET_ITEM(shared, S_KINDS);
    PyObject *known = PyDict_GetItemWithError(kinds, kind);
    if (known != NULL) {
        if (!PyTuple_Check(known) || PyTuple_GET_SIZE(known) != 2) {
            PyErr_SetString(PyExc_TypeError, "session kinds are (behaviour, properties)");
            Py_DECREF(key);
            goto done;
        }
        behaviour = Py_NewRef(PyTuple_GET_ITEM(known, 0));
        started = Py_NewRef(PyTuple_GET_ITEM(known, 1));
        Py_DECREF(key);
    }
    else {
        PyObject *device = PyErr_Occurred() ? NULL : PyObject_GetAttr(visitor, str_device);
        if (device != NULL) {
            behaviour = PyObject_CallFunctionObjArgs(PyTuple_GET_ITEM(shared, S_FOR_SESSION),
                                                     device, channel_name, returning, key,
                                                     NULL);
            Py_DECREF(device);
        }
        Py_DECREF(key);
        started = behaviour ? started_properties(shared, channel_name, channel, visitor,
                                                 returning, active)
                            : NULL;
        if (started == NULL) {
            goto done;
        }
        Py_ssize_t limit = PyLong_AsSsize_t(PyTuple_GET_ITEM(shared, S_SHARED_KINDS));
        if (limit == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (PyDict_GET_SIZE(kinds) < limit) {  /* bounded: audiences can have many kinds */
            PyObject *pair = PyTuple_Pack(2, behaviour, started);
            int failed = pair == NULL || PyDict_SetItem(kinds, kind, pair) < 0;
            Py_XDECREF(pair);
            if (failed) {
                goto done;
            }
        }
    }
    PyObject *landing = PyTuple_GET_ITEM(shared, S_LANDING);
    if (emit_event(shared, PyTuple_GET_ITEM(shared, S_SESSION_STARTED), now, session_id,
                   visitor_id, Py_None, 1, landing, Py_None, started) < 0
        || emit_event(shared, PyTuple_GET_ITEM(shared, S_PAGE_VIEWED), now, session_id,
                      visitor_id, Py_None, 2, landing, Py_None, Py_None) < 0) {
        goto done;
    }
    long long sequence = 2;
    customer_id = Py_NewRef(Py_None);  /* anonymous until the visitor logs in or signs up */
    known_customer = PyObject_GetAttr(visitor, str_customer_id);
    if (known_customer == NULL) {
        goto done;
    }
    if (known_customer != Py_None) {
        double u = draw_from(draw);
        double login = u == -1.0 && PyErr_Occurred() ? -1.0 : shared_float(shared, S_LOGIN);
        if (login == -1.0 && PyErr_Occurred()) {
            goto done;
        }
        if (u < login) {
            Py_SETREF(customer_id, Py_NewRef(known_customer));
            sequence += 1;
            if (emit_event(shared, PyTuple_GET_ITEM(shared, S_LOGGED_IN), now, session_id,
                           visitor_id, customer_id, sequence, landing, Py_None, Py_None) < 0) {
                goto done;
            }
        }
    }
    else {
        double u = draw_from(draw);
        double signup = u == -1.0 && PyErr_Occurred() ? -1.0
                                                       : shared_float(shared, S_EARLY_SIGNUP);
        if (signup == -1.0 && PyErr_Occurred()) {
            goto done;
        }
        if (u < signup) {
            sequence += 1;
            PyObject *number = PyLong_FromLongLong(sequence);
            PyObject *signed_up = number == NULL ? NULL : PyObject_CallFunctionObjArgs(
                PyTuple_GET_ITEM(shared, S_NEW_CUSTOMER), visitor, now, session_id,
                PyTuple_GET_ITEM(shared, S_SIGNUP_SOURCE), number, NULL);
            Py_XDECREF(number);
            if (signed_up == NULL) {
                goto done;
            }
            Py_SETREF(customer_id, signed_up);
        }
    }
    cart = PyObject_GetAttr(visitor, str_cart);
    if (cart == NULL) {
        goto done;
    }
    int recover = 0;
    int is_returning = PyObject_IsTrue(returning);  /* where run_session tests it, once */
    if (is_returning < 0) {
        goto done;
    }
    if (is_returning && cart != Py_None) {
        double u = draw_from(draw);
        double chance = u == -1.0 && PyErr_Occurred() ? -1.0 : shared_float(shared, S_RECOVER);
        if (chance == -1.0 && PyErr_Occurred()) {
            goto done;
        }
        recover = u < chance;
    }
    PyObject *number = PyLong_FromLongLong(sequence);
    if (number == NULL) {
        goto done;
    }
    if (recover) {  /* straight to the cart saved by an earlier visit: _walk from there */
        PyObject *empty = PyUnicode_FromString("");
        body = empty == NULL ? NULL : PyObject_CallFunctionObjArgs(
            PyTuple_GET_ITEM(shared, S_HANDOFF), sim, session_id, visitor, draw, behaviour,
            customer_id, cart, now, number, landing, PyTuple_GET_ITEM(shared, S_CART), empty,
            Py_None, NULL);
        Py_XDECREF(empty);
    }
    else {
        PyObject *context = PyTuple_Pack(CONTEXT_SIZE, sim, session_id, visitor, draw,
                                         behaviour, customer_id, cart);
        PyObject *moves = context ? PyObject_GetAttr(behaviour, str_moves) : NULL;
        if (moves != NULL) {
            body = PyObject_CallFunctionObjArgs((PyObject *)&BrowseType, shared, context,
                                                moves, visitor_id, number, now, landing, NULL);
        }
        Py_XDECREF(context);
        Py_XDECREF(moves);
    }
    Py_DECREF(number);
    if (body != NULL) {
        int failed = start_body(shared, body);
        Py_SETREF(body, failed ? NULL : Py_NewRef(Py_None));
    }
done:
    Py_XDECREF(picked);
    Py_XDECREF(active);
    Py_XDECREF(kind);
    Py_XDECREF(behaviour);
    Py_XDECREF(started);
    Py_XDECREF(visitor_id);
    Py_XDECREF(customer_id);
    Py_XDECREF(known_customer);
    Py_XDECREF(cart);
    return body;
}

/* ------------------------------------------------------------------ Arrivals */

/* Arrivals(shared, sim, plan, start, end, hour_start, hour, returning_share, width, then,
 *          take, new_visitor): the body of the process that starts the visits, what
 * engine.Simulation._arrivals does step for step:
 *
 *     hour by hour from hour_start while before end: (moments, block) = plan(hour);
 *         for each moment in [start, end): wait until it; a new session id; its draws,
 *             Draws(block, n * width, (n + 1) * width, then, session id); a returning
 *             visitor, take(moment), if the first draw is below returning_share, else
 *             (or if none is due) new_visitor(draws); the visit started (visit());
 *         then wait until the next hour. */

typedef enum { ARRIVING_HOUR, ARRIVING_MOMENT, ARRIVING_NEXT_HOUR, ARRIVED } ArrivalPhase;

typedef struct {
    PyObject_HEAD
    PyObject *shared, *sim, *plan, *then, *take, *new_visitor;
    PyObject *moments;   /* this hour's session start times (a list), NULL between hours */
    PyObject *block;     /* this hour's draws */
    PyObject *now;       /* the time last sent */
    long long start, end, hour_start, hour, session_id;
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
    self->session_id += 1;
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
    PyObject *args[] = {self->shared, self->sim, session_id, visitor, draw, self->now, returning};
    done = visit(NULL, args, 7);
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
    PyObject *shared, *sim, *plan, *then, *take, *new_visitor;
    long long start, end, hour_start, hour;
    double returning_share;
    Py_ssize_t width;
    if ((kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)
        || !PyArg_ParseTuple(args, "O!OOLLLLdnOOO:Arrivals", &PyTuple_Type, &shared, &sim,
                             &plan, &start, &end, &hour_start, &hour, &returning_share, &width,
                             &then, &take, &new_visitor)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "Arrivals takes positional arguments only");
        }
        return NULL;
    }
    if (PyTuple_GET_SIZE(shared) != SHARED_SIZE || hour <= 0 || width < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "Arrivals: shared is session.visit_shared()'s, hour > 0, width >= 0");
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
    self->sim = Py_NewRef(sim);
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
    self->phase = ARRIVING_HOUR;
    return (PyObject *)self;
}

static int
arrivals_traverse(Arrivals *self, visitproc visit, void *arg)
{
    Py_VISIT(self->shared);
    Py_VISIT(self->sim);
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
    Py_CLEAR(self->sim);
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
    .tp_doc = "Arrivals(shared, sim, plan, start, end, hour_start, hour, returning_share, "
              "width, then, take, new_visitor): the body that starts the visits (see "
              "engine.Simulation._arrivals).",
    .tp_new = arrivals_new,
    .tp_dealloc = (destructor)arrivals_dealloc,
    .tp_traverse = (traverseproc)arrivals_traverse,
    .tp_clear = (inquiry)arrivals_clear,
    .tp_as_async = &arrivals_async,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = arrivals_next,
    .tp_methods = arrivals_methods,
};

static PyMethodDef module_methods[] = {
    {"visit", (PyCFunction)(void (*)(void))visit, METH_FASTCALL,
     "visit(shared, sim, session_id, visitor, draw, now, returning): a visit's first events, "
     "and the body that walks on, started (Steps(env, session.run_session(...)) in C)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_visit",
    "A visit's hot path in C: its browsing walk, the dwell sampler, the returning queue.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__visit(void)
{
    struct {
        PyObject **name;
        const char *text;
    } names[] = {{&str_values, "values"}, {&str_cumulative, "cumulative"},
                 {&str_total, "total"}, {&str_product_id, "product_id"},
                 {&str_search_term, "search_term"}, {&str_viewed, "viewed"},
                 {&str_category, "category"}, {&str_throw, "throw"}, {&str_kind, "kind"},
                 {&str_device, "device"}, {&str_browser, "browser"}, {&str_country, "country"},
                 {&str_customer_id, "customer_id"}, {&str_cart, "cart"},
                 {&str_visitor_id, "visitor_id"}, {&str_utm_source, "utm_source"},
                 {&str_utm_medium, "utm_medium"}, {&str_utm_campaign, "utm_campaign"},
                 {&str_key, "key"}, {&str_names, "names"}, {&str_moves, "moves"},
                 {&str_now, "now"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((*names[i].name = PyUnicode_InternFromString(names[i].text)) == NULL) {
            return NULL;
        }
    }
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
    if (PyType_Ready(&BrowseType) < 0 || PyType_Ready(&WholeLogNormalType) < 0
        || PyType_Ready(&DueQueueType) < 0 || PyType_Ready(&DrawsType) < 0
        || PyType_Ready(&ArrivalsType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Browse", (PyObject *)&BrowseType) < 0
        || PyModule_AddObjectRef(m, "WholeLogNormal", (PyObject *)&WholeLogNormalType) < 0
        || PyModule_AddObjectRef(m, "DueQueue", (PyObject *)&DueQueueType) < 0
        || PyModule_AddObjectRef(m, "Draws", (PyObject *)&DrawsType) < 0
        || PyModule_AddObjectRef(m, "Arrivals", (PyObject *)&ArrivalsType) < 0
        || PyModule_AddObjectRef(m, "SHARED_FIELDS", shared_fields_tuple) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
