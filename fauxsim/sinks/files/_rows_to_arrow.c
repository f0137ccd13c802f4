/* Rows to Arrow column buffers in one pass: the hot loop of the Parquet and CSV sinks.
 *
 * gather(rows, kinds, allocate, dumps, start=0, stop=len(rows), release=False)
 *     -> [((validity, values...), null_count), ...]
 *
 *   rows      a list of tuples, all of len(kinds) values; rows[start:stop] are converted
 *   release   replace each row of the list with None once it is read
 *   kinds     one letter per column: q int64, i int32, d float64, b bool, s str, j JSON
 *             (a dict or list dumped by `dumps`, which must return bytes)
 *   allocate  allocate(size) -> a writable buffer (pyarrow.allocate_buffer on a pool)
 *
 * Each column comes back as the buffers of its Arrow array, ready for
 * pyarrow.Array.from_buffers: (validity, values) for fixed-width kinds, (validity,
 * offsets, data) for text; validity is None when the column holds no None. It is the
 * same result as pyarrow.array() over the column's values (fauxsim/sinks/files/
 * arrow_columns.py keeps that path, and a test holds the two equal).
 *
 * Why C: converting rows is about a third of a run to Parquet. pyarrow.array() walks
 * one column at a time, so each row's tuple is fetched from memory once per column;
 * here each row is read once. A JSON value that several rows share (the engine shares
 * property dicts) is dumped once per call.
 *
 * Once also means no copy of the rows: a chunk is a window on the caller's list, not a
 * slice of it, and the rows are not held for the whole call. Each slice or held copy cost
 * a pass over every row, increfs and then decrefs, and rows of a batch are long out of
 * the CPU's cache when a sink gets them: those passes cost 5 of the 104 cache misses (L2)
 * of an event (cachegrind, black_friday to Parquet). A row is held while it is read;
 * what must outlive it is copied out at once (text) or held (the memo's JSON objects).
 * With `release`, the list lets go of each row as soon as it is read, so that a row with
 * no other owner is freed while still in the cache, not cold with the whole batch later
 * (6 more misses of the 104).
 *
 * The result equals pyarrow's for the values the tables hold (int, float, bool, str,
 * JSON-able dicts and lists, None). A few odd ones pyarrow would coerce are refused with
 * a TypeError instead: a float in an integer column, a bool in a float column, bytes as
 * text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "../../_small_int.h"

typedef struct {
    char kind;
    Py_ssize_t nulls;
    PyObject *validity;   /* one bit per row, set where the value is not None */
    Py_buffer validity_view;
    PyObject *values;     /* fixed-width kinds: the values; bool: a bitmap */
    Py_buffer values_view;
    /* Text and JSON: where each row's UTF-8 lies until the data buffer is built. */
    char *text;           /* s: the column's text, copied as each row is read */
    Py_ssize_t capacity;  /* s: of text */
    Py_ssize_t *start;    /* j: an offset into the memo's scratch buffer */
    Py_ssize_t *size;
    Py_ssize_t total;
} Column;

/* The JSON texts of one call: each distinct object dumped once, copied into scratch at
 * once (holding thousands of dumps' bytes objects fragments the C heap). The memo holds
 * each object it has seen until the call ends: its address is the key, and must not be
 * freed and reused by another object within the call. */
typedef struct {
    PyObject **keys;      /* open addressing on the object's address */
    Py_ssize_t *start, *size;
    Py_ssize_t slots;
    int shift;
    char *scratch;
    Py_ssize_t used, capacity;
} JsonMemo;

static PyObject *
new_buffer(PyObject *allocate, Py_ssize_t size, Py_buffer *view)
{
    PyObject *buffer = PyObject_CallFunction(allocate, "n", size);
    if (buffer == NULL)
        return NULL;
    if (PyObject_GetBuffer(buffer, view, PyBUF_WRITABLE | PyBUF_SIMPLE) < 0) {
        Py_DECREF(buffer);
        return NULL;
    }
    if (view->len < size) {
        PyBuffer_Release(view);
        Py_DECREF(buffer);
        PyErr_SetString(PyExc_ValueError, "allocate returned a buffer smaller than asked");
        return NULL;
    }
    return buffer;
}

static void
release_buffer(PyObject **buffer, Py_buffer *view)
{
    if (*buffer != NULL) {
        PyBuffer_Release(view);
        Py_CLEAR(*buffer);
    }
}

static int
memo_init(JsonMemo *memo, Py_ssize_t values)
{
    memo->slots = 16;
    memo->shift = 60; /* 64 - log2(slots): the top bits of the hash pick the slot */
    /* At most half full, so that probing always ends at an empty slot. */
    while (memo->slots < 2 * values) {
        memo->slots <<= 1;
        memo->shift--;
    }
    memo->capacity = 1 << 16;
    memo->keys = PyMem_Calloc(memo->slots, sizeof(PyObject *));
    memo->start = PyMem_Malloc(memo->slots * sizeof(Py_ssize_t));
    memo->size = PyMem_Malloc(memo->slots * sizeof(Py_ssize_t));
    memo->scratch = PyMem_Malloc(memo->capacity);
    if (!memo->keys || !memo->start || !memo->size || !memo->scratch) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void
memo_free(JsonMemo *memo)
{
    if (memo->keys != NULL)
        for (Py_ssize_t slot = 0; slot < memo->slots; slot++)
            Py_XDECREF(memo->keys[slot]);
    PyMem_Free(memo->keys);
    PyMem_Free(memo->start);
    PyMem_Free(memo->size);
    PyMem_Free(memo->scratch);
}

/* Where the JSON text of `value` lies in scratch, dumping it on its first sight. The memo
 * holds every value it keys, so none can be freed and its address reused within the
 * call, whatever Python code `dumps` (or a value's __float__) runs. */
static int
memo_text(JsonMemo *memo, PyObject *dumps, PyObject *value, Py_ssize_t *start,
          Py_ssize_t *size)
{
    size_t slot = (size_t)(((uint64_t)(uintptr_t)value * 0x9E3779B97F4A7C15ull) >> memo->shift);
    while (memo->keys[slot] != NULL && memo->keys[slot] != value)
        slot = (slot + 1) & (size_t)(memo->slots - 1);
    if (memo->keys[slot] == NULL) {
        PyObject *text = PyObject_CallOneArg(dumps, value);
        if (text == NULL)
            return -1;
        if (!PyBytes_Check(text)) {
            Py_DECREF(text);
            PyErr_SetString(PyExc_TypeError, "dumps must return bytes");
            return -1;
        }
        Py_ssize_t length = PyBytes_GET_SIZE(text);
        while (memo->used + length > memo->capacity) {
            char *grown = PyMem_Realloc(memo->scratch, memo->capacity * 2);
            if (grown == NULL) {
                Py_DECREF(text);
                PyErr_NoMemory();
                return -1;
            }
            memo->scratch = grown;
            memo->capacity *= 2;
        }
        memcpy(memo->scratch + memo->used, PyBytes_AS_STRING(text), length);
        Py_DECREF(text);
        memo->keys[slot] = Py_NewRef(value);
        memo->start[slot] = memo->used;
        memo->size[slot] = length;
        memo->used += length;
    }
    *start = memo->start[slot];
    *size = memo->size[slot];
    return 0;
}

/* An int as 64 bits into *number; -1 with an exception set if it does not fit.
 * PyLong_AsLongLongAndOverflow reads the digits in place; PyLong_AsLongLong goes through
 * a byte array for any value above 2**30, which every timestamp is. */
static int
as_int64(PyObject *value, Py_ssize_t row, Py_ssize_t position, long long *number)
{
    if (small_int(value, number))
        return 0;
    int overflow = 0;
    *number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow) {
        PyErr_Format(PyExc_OverflowError, "row %zd, column %zd: %R does not fit 64 bits", row,
                     position, value);
        return -1;
    }
    return *number == -1 && PyErr_Occurred() ? -1 : 0;
}

static int
wrong_type(Py_ssize_t row, Py_ssize_t column, const char *wanted, PyObject *value)
{
    PyErr_Format(PyExc_TypeError, "row %zd, column %zd: expected %s, got %.50s", row, column,
                 wanted, Py_TYPE(value)->tp_name);
    return -1;
}

/* Put one value of row `row` into its column. */
static int
put(Column *column, Py_ssize_t row, Py_ssize_t position, PyObject *value, JsonMemo *memo,
    PyObject *dumps)
{
    char kind = column->kind;
    if (value == Py_None) {
        column->nulls++;
        /* Zero under a null: the buffers' bytes never depend on leftover memory. */
        if (kind == 'q' || kind == 'd')
            ((int64_t *)column->values_view.buf)[row] = 0;
        else if (kind == 'i')
            ((int32_t *)column->values_view.buf)[row] = 0;
        return 0;
    }
    ((uint8_t *)column->validity_view.buf)[row >> 3] |= (uint8_t)(1u << (row & 7));
    switch (kind) {
    case 'q':
    case 'i': {
        /* bool is an int subclass; pyarrow refuses it in an integer column, so do we. */
        if (!PyLong_Check(value) || PyBool_Check(value))
            return wrong_type(row, position, "int", value);
        long long number;
        if (as_int64(value, row, position, &number) < 0)
            return -1;
        if (kind == 'q') {
            ((int64_t *)column->values_view.buf)[row] = number;
        } else if (number < INT32_MIN || number > INT32_MAX) {
            PyErr_Format(PyExc_OverflowError, "row %zd, column %zd: %lld does not fit 32 bits",
                         row, position, number);
            return -1;
        } else {
            ((int32_t *)column->values_view.buf)[row] = (int32_t)number;
        }
        return 0;
    }
    case 'd': {
        double number;
        if (PyFloat_Check(value)) {
            number = PyFloat_AS_DOUBLE(value);
        } else if (PyLong_Check(value) && !PyBool_Check(value)) {
            /* As pyarrow: an int only where a double holds it exactly; and never through
             * a subclass's __float__ (Python code, and not the int's value). */
            int overflow;
            long long exact = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (exact == -1 && PyErr_Occurred())
                return -1;
            if (overflow || exact > (1LL << 53) || exact < -(1LL << 53)) {
                PyErr_Format(PyExc_ValueError,
                             "row %zd, column %zd: int not exactly representable as a double",
                             row, position);
                return -1;
            }
            number = (double)exact;
        } else {
            return wrong_type(row, position, "float", value);
        }
        ((double *)column->values_view.buf)[row] = number;
        return 0;
    }
    case 'b':
        if (!PyBool_Check(value))
            return wrong_type(row, position, "bool", value);
        if (value == Py_True)
            ((uint8_t *)column->values_view.buf)[row >> 3] |= (uint8_t)(1u << (row & 7));
        return 0;
    case 's': {
        if (!PyUnicode_Check(value))
            return wrong_type(row, position, "str", value);
        Py_ssize_t size;
        const char *text = PyUnicode_AsUTF8AndSize(value, &size);
        if (text == NULL)
            return -1;
        /* Copied now, while the row is held: the str may not outlive its row. Arrow's
         * 32-bit offsets cap a chunk's column at 2 GiB: refused before the copy grows. */
        if (size > INT32_MAX - column->total) {
            PyErr_SetString(PyExc_OverflowError,
                            "one chunk's column holds more than 2 GiB of text");
            return -1;
        }
        if (column->total + size > column->capacity) {
            Py_ssize_t capacity = column->capacity;
            while (column->total + size > capacity)
                capacity *= 2;
            char *grown = PyMem_Realloc(column->text, capacity);
            if (grown == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            column->text = grown;
            column->capacity = capacity;
        }
        memcpy(column->text + column->total, text, size);
        column->size[row] = size;
        column->total += size;
        return 0;
    }
    default: /* 'j' */
        if (memo_text(memo, dumps, value, &column->start[row], &column->size[row]) < 0)
            return -1;
        column->total += column->size[row];
        return 0;
    }
}

static int
open_column(Column *column, char kind, Py_ssize_t rows, PyObject *allocate)
{
    column->kind = kind;
    Py_ssize_t bitmap = (rows + 7) / 8;
    column->validity = new_buffer(allocate, bitmap, &column->validity_view);
    if (column->validity == NULL)
        return -1;
    memset(column->validity_view.buf, 0, bitmap);
    if (kind == 's' || kind == 'j') {
        Py_ssize_t count = rows ? rows : 1;
        column->size = PyMem_Calloc(count, sizeof(Py_ssize_t));
        if (kind == 's') {
            column->capacity = 16 * count; /* labels and names: rarely grown */
            column->text = PyMem_Malloc(column->capacity);
        } else {
            column->start = PyMem_Calloc(count, sizeof(Py_ssize_t));
        }
        if (column->size == NULL || (column->text == NULL && column->start == NULL)) {
            PyErr_NoMemory();
            return -1;
        }
        return 0;
    }
    Py_ssize_t width = kind == 'b' ? 0 : kind == 'i' ? 4 : 8;
    column->values = new_buffer(allocate, width ? rows * width : bitmap, &column->values_view);
    if (column->values == NULL)
        return -1;
    if (kind == 'b')
        memset(column->values_view.buf, 0, bitmap);
    return 0;
}

static void
close_column(Column *column)
{
    release_buffer(&column->validity, &column->validity_view);
    release_buffer(&column->values, &column->values_view);
    PyMem_Free(column->text);
    PyMem_Free(column->start);
    PyMem_Free(column->size);
}

/* ((buffers...), null_count) of a filled column. */
static PyObject *
finish_column(Column *column, Py_ssize_t rows, JsonMemo *memo, PyObject *allocate)
{
    PyObject *validity = column->nulls ? column->validity : Py_None;
    if (column->kind != 's' && column->kind != 'j')
        return Py_BuildValue("(OO)n", validity, column->values, column->nulls);
    if (column->total > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "one chunk's column holds more than 2 GiB of text");
        return NULL;
    }
    Py_buffer offsets_view, data_view;
    PyObject *offsets = new_buffer(allocate, (rows + 1) * 4, &offsets_view);
    if (offsets == NULL)
        return NULL;
    PyObject *data = new_buffer(allocate, column->total, &data_view);
    if (data == NULL) {
        release_buffer(&offsets, &offsets_view);
        return NULL;
    }
    int32_t *offset = offsets_view.buf;
    char *out = data_view.buf;
    int32_t at = 0;
    offset[0] = 0;
    if (column->kind == 's') { /* already in row order */
        memcpy(out, column->text, column->total);
        for (Py_ssize_t row = 0; row < rows; row++)
            offset[row + 1] = at += (int32_t)column->size[row];
    } else {
        for (Py_ssize_t row = 0; row < rows; row++) {
            Py_ssize_t size = column->size[row];
            if (size) {
                memcpy(out + at, memo->scratch + column->start[row], size);
                at += (int32_t)size;
            }
            offset[row + 1] = at;
        }
    }
    PyBuffer_Release(&offsets_view);
    PyBuffer_Release(&data_view);
    return Py_BuildValue("(ONN)n", validity, offsets, data, column->nulls);
}

static PyObject *
gather(PyObject *module, PyObject *args)
{
    PyObject *rows, *allocate, *dumps;
    const char *kinds;
    Py_ssize_t width, start = 0, stop = PY_SSIZE_T_MAX;
    int release = 0;
    if (!PyArg_ParseTuple(args, "O!s#OO|nnp:gather", &PyList_Type, &rows, &kinds, &width,
                          &allocate, &dumps, &start, &stop, &release))
        return NULL;
    for (Py_ssize_t c = 0; c < width; c++) {
        if (kinds[c] == '\0' || strchr("qidbsj", kinds[c]) == NULL) {
            PyErr_Format(PyExc_ValueError, "kinds[%zd]: unknown column kind (byte %d)", c,
                         (unsigned char)kinds[c]);
            return NULL;
        }
    }
    if (stop > PyList_GET_SIZE(rows))
        stop = PyList_GET_SIZE(rows);
    if (start < 0 || start > stop) {
        PyErr_Format(PyExc_ValueError, "start %zd is outside 0..%zd", start, stop);
        return NULL;
    }
    Py_ssize_t json_columns = 0;
    for (Py_ssize_t c = 0; c < width; c++)
        json_columns += kinds[c] == 'j';
    Py_ssize_t count = stop - start;
    PyObject *result = NULL;
    JsonMemo memo = {0};
    Column *columns = PyMem_Calloc(width ? width : 1, sizeof(Column));
    if (columns == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t c = 0; c < width; c++)
        if (open_column(&columns[c], kinds[c], count, allocate) < 0)
            goto done;
    if (json_columns && memo_init(&memo, count * json_columns) < 0)
        goto done;
    for (Py_ssize_t row = 0; row < count; row++) {
        /* `dumps`, `allocate` or a value's __float__ run Python code, which may change
         * the list: each row is fetched anew, and held while it is read. */
        if (start + row >= PyList_GET_SIZE(rows)) {
            PyErr_SetString(PyExc_RuntimeError, "the rows list shrank during the conversion");
            goto done;
        }
        PyObject *tuple = PyList_GET_ITEM(rows, start + row);
        if (!PyTuple_Check(tuple)) {
            PyErr_Format(PyExc_TypeError, "row %zd: expected a tuple, got %.50s", row,
                         Py_TYPE(tuple)->tp_name);
            goto done;
        }
        if (PyTuple_GET_SIZE(tuple) != width) {
            PyErr_Format(PyExc_ValueError, "row %zd has %zd values, not %zd", row,
                         PyTuple_GET_SIZE(tuple), width);
            goto done;
        }
        Py_INCREF(tuple);
        int failed = 0;
        for (Py_ssize_t c = 0; c < width && !failed; c++)
            failed = put(&columns[c], row, c, PyTuple_GET_ITEM(tuple, c), &memo, dumps) < 0;
        if (release && !failed && start + row < PyList_GET_SIZE(rows)
            && PyList_GET_ITEM(rows, start + row) == tuple) {
            /* The list lets go of the row now: freed here, it is still in the cache. */
            PyList_SET_ITEM(rows, start + row, Py_NewRef(Py_None));
            Py_DECREF(tuple);
        }
        Py_DECREF(tuple);
        if (failed)
            goto done;
    }
    result = PyList_New(width);
    if (result == NULL)
        goto done;
    for (Py_ssize_t c = 0; c < width; c++) {
        PyObject *column = finish_column(&columns[c], count, &memo, allocate);
        if (column == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, c, column);
    }
done:
    for (Py_ssize_t c = 0; c < width; c++)
        close_column(&columns[c]);
    PyMem_Free(columns);
    memo_free(&memo);
    return result;
}

static PyMethodDef methods[] = {
    {"gather", gather, METH_VARARGS,
     "gather(rows, kinds, allocate, dumps, start=0, stop=len(rows), release=False): the\n"
     "Arrow buffers of each column of rows[start:stop]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rows_to_arrow", "Rows to Arrow column buffers.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__rows_to_arrow(void)
{
    return PyModule_Create(&module);
}
