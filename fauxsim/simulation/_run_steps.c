/* The scheduler loop of fauxsim.simulation.processes, in C: SimClock._run_before.
 *
 * It does exactly what the Python loop in processes.py does, step for step (the two
 * give the same event stream: tests/simulation/test_processes.py runs every test with
 * both, and test_determinism.py compares a whole run):
 *
 *     while the queue's first entry (now, priority, eid, event) is due before `at`
 *     (None: as long as there is one):
 *         if the event is not a Steps process between steps, nor a body that is its own
 *         event (its callbacks are RESUME_OWN: a _visit.Browse): env.step()
 *         else: env._now = now; resume its body (or itself) with now;
 *               when the body returns: event.callbacks = None and drop its entry,
 *               when it yields a delay: its entry becomes (now + delay, NORMAL, next(eid),
 *               event), in one heapreplace if its entry is still on top.
 *
 * What it saves over Python is the interpreter's work around each step: the loop, the
 * tuple unpacking and building, the attribute reads, the StopIteration a finished
 * generator raises (PyIter_Send reports the return instead), and in the heap operations,
 * comparing entries as tuples: their times, priorities and ids are compared as C
 * integers. The heap operations are heapq's, step for step, so the queue is laid out
 * as heapq would have laid it out, and SimPy's own heappop can share it.
 *
 * Every object read from the queue is held with a reference of its own while Python
 * code runs (a body, env.step()), since that code may change the queue.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../_small_int.h"

static PyObject *str_callbacks, *str_now, *str_body, *str_step;

/* 1 if the entry's time is at or after `at` (never, for None), 0 if before, -1 on error. */
static int
is_due_at_or_after(PyObject *now, PyObject *at)
{
    if (at == Py_None) {
        return 0;
    }
    long long now_value, at_value;
    if (small_int(now, &now_value) && small_int(at, &at_value)) {
        return now_value >= at_value;
    }
    return PyObject_RichCompareBool(now, at, Py_GE);
}

/* a < b for two queue entries, as tuple comparison orders them: -1 on error. Entries
 * are (time, priority, id, event) with a unique id, so the first three items decide;
 * where they are ints that fit 64 bits (all of fauxsim's) they are compared in C. */
static int
entry_less(PyObject *a, PyObject *b)
{
    if (PyTuple_CheckExact(a) && PyTuple_CheckExact(b) && PyTuple_GET_SIZE(a) >= 3
        && PyTuple_GET_SIZE(b) >= 3) {
        for (Py_ssize_t i = 0; i < 3; i++) {
            PyObject *x = PyTuple_GET_ITEM(a, i), *y = PyTuple_GET_ITEM(b, i);
            long long x_value, y_value;
            if (!small_int(x, &x_value) || !small_int(y, &y_value)) {
                if (!PyLong_CheckExact(x) || !PyLong_CheckExact(y)) {
                    break;
                }
                int x_overflow, y_overflow;
                x_value = PyLong_AsLongLongAndOverflow(x, &x_overflow);
                y_value = PyLong_AsLongLongAndOverflow(y, &y_overflow);
                if (x_overflow || y_overflow) {
                    break;
                }
            }
            if (x_value != y_value) {
                return x_value < y_value;
            }
        }
    }
    return PyObject_RichCompareBool(a, b, Py_LT);
}

/* less(heap[i], heap[j]), holding both while the comparison runs: it may run Python
 * code only for entries fauxsim never makes, and if that code changes the list's length,
 * this fails as heapq does. */
static int
less_at(PyObject *heap, Py_ssize_t i, Py_ssize_t j, Py_ssize_t size)
{
    PyObject *a = PyList_GET_ITEM(heap, i), *b = PyList_GET_ITEM(heap, j);
    Py_INCREF(a);
    Py_INCREF(b);
    int less = entry_less(a, b);
    Py_DECREF(a);
    Py_DECREF(b);
    if (less >= 0 && PyList_GET_SIZE(heap) != size) {
        PyErr_SetString(PyExc_RuntimeError, "list changed size during iteration");
        return -1;
    }
    return less;
}

/* heapq's _siftdown and _siftup, step for step (the heap's layout is heapq's too). */
static int
sift_down(PyObject *heap, Py_ssize_t start, Py_ssize_t pos)
{
    Py_ssize_t size = PyList_GET_SIZE(heap);
    while (pos > start) {
        Py_ssize_t parent_pos = (pos - 1) >> 1;
        int less = less_at(heap, pos, parent_pos, size);
        if (less <= 0) {
            return less;
        }
        PyObject **items = ((PyListObject *)heap)->ob_item, *item = items[pos];
        items[pos] = items[parent_pos];
        items[parent_pos] = item;
        pos = parent_pos;
    }
    return 0;
}

static int
sift_up(PyObject *heap, Py_ssize_t pos)
{
    Py_ssize_t size = PyList_GET_SIZE(heap), start = pos, limit = size >> 1;
    /* Down to a leaf along the smaller children, then back up (as heapq does). */
    while (pos < limit) {
        Py_ssize_t child_pos = 2 * pos + 1;
        if (child_pos + 1 < size) {
            int less = less_at(heap, child_pos, child_pos + 1, size);
            if (less < 0) {
                return -1;
            }
            child_pos += !less;
        }
        PyObject **items = ((PyListObject *)heap)->ob_item, *moved = items[child_pos];
        items[child_pos] = items[pos];
        items[pos] = moved;
        pos = child_pos;
    }
    return sift_down(heap, start, pos);
}

/* heapq.heapreplace, but the entry taken off is the caller's (it holds a reference). */
static int
replace_top(PyObject *heap, PyObject *entry)
{
    PyObject *top = PyList_GET_ITEM(heap, 0);
    Py_INCREF(entry);
    PyList_SET_ITEM(heap, 0, entry);
    Py_DECREF(top);
    return sift_up(heap, 0);
}

static int
push(PyObject *heap, PyObject *entry)
{
    if (PyList_Append(heap, entry) < 0) {
        return -1;
    }
    return sift_down(heap, 0, PyList_GET_SIZE(heap) - 1);
}

/* heapq.heappop, the entry taken off being the caller's (it holds a reference). */
static int
pop_top(PyObject *heap)
{
    Py_ssize_t size = PyList_GET_SIZE(heap);
    PyObject *last = PyList_GET_ITEM(heap, size - 1);
    Py_INCREF(last);
    if (PyList_SetSlice(heap, size - 1, size, NULL) < 0) {
        Py_DECREF(last);
        return -1;
    }
    if (size == 1) {  /* the top was the last */
        Py_DECREF(last);
        return 0;
    }
    PyObject *top = PyList_GET_ITEM(heap, 0);
    PyList_SET_ITEM(heap, 0, last);
    Py_DECREF(top);
    return sift_up(heap, 0);
}

/* Remove `first` from the heap: the top entry, unless the body scheduled a SimPy event
 * urgent at this very moment, which sorts before it (then processes.py's `_remove`). */
static int
remove_entry(PyObject *queue, PyObject *first, PyObject *remove)
{
    if (PyList_GET_SIZE(queue) > 0 && PyList_GET_ITEM(queue, 0) == first) {
        return pop_top(queue);
    }
    PyObject *done = PyObject_CallFunctionObjArgs(remove, queue, first, NULL);
    if (done == NULL) {
        return -1;
    }
    Py_DECREF(done);
    return 0;
}

/* One step of a Steps process (or of a body that is its own event: `own`) whose entry
 * `first` is on top; 0, or -1 on error. */
static int
resume(PyObject *env, PyObject *queue, PyObject *first, PyObject *now, PyObject *event,
       int own, PyObject *eid, PyObject *normal, PyObject *remove)
{
    if (PyObject_SetAttr(env, str_now, now) < 0) {
        return -1;
    }
    PyObject *body = own ? Py_NewRef(event) : PyObject_GetAttr(event, str_body);
    if (body == NULL) {
        return -1;
    }
    PyObject *delay = NULL;
    PySendResult sent = PyIter_Send(body, now, &delay);
    Py_DECREF(body);
    if (sent == PYGEN_ERROR) {
        return -1;
    }
    if (sent == PYGEN_RETURN) {  /* the body ended: processed, as SimPy leaves an event */
        Py_DECREF(delay);
        if (PyObject_SetAttr(event, str_callbacks, Py_None) < 0) {
            return -1;
        }
        return remove_entry(queue, first, remove);
    }
    PyObject *at = PyNumber_Add(now, delay);
    Py_DECREF(delay);
    if (at == NULL) {
        return -1;
    }
    PyObject *id = PyIter_Next(eid);
    if (id == NULL) {
        Py_DECREF(at);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError, "the event id counter ran out");
        }
        return -1;
    }
    PyObject *step = PyTuple_Pack(4, at, normal, id, event);
    Py_DECREF(at);
    Py_DECREF(id);
    if (step == NULL) {
        return -1;
    }
    int failed;
    if (PyList_GET_SIZE(queue) > 0 && PyList_GET_ITEM(queue, 0) == first) {
        failed = replace_top(queue, step);
    }
    else {
        failed = remove_entry(queue, first, remove) < 0 || push(queue, step) < 0;
    }
    Py_DECREF(step);
    return failed ? -1 : 0;
}

static PyObject *
run_before(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *env, *queue, *at, *resume_callbacks, *resume_own, *eid, *normal, *remove;
    if (!PyArg_ParseTuple(args, "OO!OOOOOO:run_before", &env, &PyList_Type, &queue, &at,
                          &resume_callbacks, &resume_own, &eid, &normal, &remove)) {
        return NULL;
    }
    if (!PyIter_Check(eid)) {
        PyErr_SetString(PyExc_TypeError, "run_before: eid must be an iterator");
        return NULL;
    }
    Py_INCREF(queue);  /* the environment's, but held while Python code runs */
    while (PyList_GET_SIZE(queue) > 0) {
        PyObject *first = PyList_GET_ITEM(queue, 0);
        if (!PyTuple_CheckExact(first) || PyTuple_GET_SIZE(first) != 4) {
            PyErr_SetString(PyExc_TypeError, "queue entries must be (time, priority, id, event)");
            goto error;
        }
        Py_INCREF(first);
        PyObject *now = PyTuple_GET_ITEM(first, 0), *event = PyTuple_GET_ITEM(first, 3);
        int stop = is_due_at_or_after(now, at);
        if (stop != 0) {
            Py_DECREF(first);
            if (stop < 0) {
                goto error;
            }
            break;
        }
        PyObject *callbacks = PyObject_GetAttr(event, str_callbacks);
        if (callbacks == NULL) {
            Py_DECREF(first);
            goto error;
        }
        int is_steps = callbacks == resume_callbacks, is_own = callbacks == resume_own;
        Py_DECREF(callbacks);
        int failed;
        if (is_steps || is_own) {
            failed = resume(env, queue, first, now, event, is_own, eid, normal, remove) < 0;
        }
        else {  /* any other SimPy event: SimPy processes it */
            PyObject *done = PyObject_CallMethodNoArgs(env, str_step);
            failed = done == NULL;
            Py_XDECREF(done);
        }
        Py_DECREF(first);
        if (failed) {
            goto error;
        }
    }
    Py_DECREF(queue);
    Py_RETURN_NONE;
error:
    Py_DECREF(queue);
    return NULL;
}

static PyMethodDef methods[] = {
    {"run_before", run_before, METH_VARARGS,
     "run_before(env, queue, at, resume_callbacks, resume_own, eid, normal, remove): "
     "SimClock._run_before in C (see processes.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_run_steps", "The scheduler loop of processes.SimClock, in C.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__run_steps(void)
{
    str_callbacks = PyUnicode_InternFromString("callbacks");
    str_now = PyUnicode_InternFromString("_now");
    str_body = PyUnicode_InternFromString("_body");
    str_step = PyUnicode_InternFromString("step");
    if (!str_callbacks || !str_now || !str_body || !str_step) {
        return NULL;
    }
    return PyModule_Create(&module);
}
