/* Rows to Arrow column buffers in one pass: the hot loop of the Parquet and CSV sinks.
 *
 * ColumnBuilder(kinds, capacity, allocate, dumps)
 *     .append(rows, start=0, stop=len(rows), release=False)
 *     .finish() -> [((validity, values...), null_count), ...]
 *
 *   kinds     one letter per column: q int64, i int32, d float64, b bool, s str, j JSON
 *             (a dict or list dumped by `dumps`, which must return bytes)
 *   capacity  rows one chunk holds; appends fill it, finish() hands it over
 *   allocate  allocate(size) -> a new writable buffer with a resize(size, shrink_to_fit)
 *             method (pyarrow.allocate_buffer on a pool, resizable=True)
 *   rows      a list of tuples, all of len(kinds) values; rows[start:stop] are appended
 *   release   replace each row of the list with None once it is read
 *
 * gather(rows, kinds, allocate, dumps, start=0, stop=len(rows), release=False) is the
 * same for one chunk of exactly rows[start:stop].
 *
 * Each column comes back as the buffers of its Arrow array, ready for
 * pyarrow.Array.from_buffers with `filled` rows: (validity, values) for fixed-width kinds,
 * (validity, offsets, data) for text; validity is None when the column holds no None.
 * Buffers may be longer than the rows need. It is the same result as pyarrow.array() over
 * the column's values (fauxsim/sinks/files/arrow_columns.py keeps that path, and a test
 * holds the two equal).
 *
 * Why C: converting rows is about a third of a run to Parquet. pyarrow.array() walks
 * one column at a time, so each row's tuple is fetched from memory once per column;
 * here each row is read once. A JSON value that several rows of one append share (the
 * engine shares property dicts) is dumped once.
 *
 * Why a builder that rows are appended to: a sink's chunks do not line up with the
 * batches it gets, and every row is converted as soon as the sink has it, never kept as a
 * Python row for the next chunk, copied and read back (each pass over rows out of the
 * CPU's cache costs a cache miss or more per row). For the same reason a chunk is a window
 * on the caller's list, not a slice of it; a row is held only while it is read, and what
 * must outlive it is copied out at once (text) or held for the call (the memo's JSON
 * objects). With `release`, the list lets go of each row as soon as it is read, so that a
 * row with no other owner is freed right after its last read.
 *
 * The result equals pyarrow's for the values the tables hold (int, float, bool, str,
 * JSON-able dicts and lists, None). A few odd ones pyarrow would coerce are refused with
 * a TypeError instead: a float in an integer column, a bool in a float column, bytes as
 * text. A row that fails leaves the builder unusable (the sink aborts); a call back into
 * the builder from the Python code it runs is refused.
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
    /* Fixed-width kinds: the values (bool: a bitmap). Text and JSON: int32 offsets. */
    PyObject *values;
    Py_buffer values_view;
    /* s, j: the column's UTF-8 in row order, copied as rows are read; grown in place
     * (resize) and handed over as the array's data, so that the text is never copied
     * again (a copy per chunk, and one per growth, were 4% of an event's cache misses). */
    PyObject *text;
    Py_buffer text_view;
    Py_ssize_t total;     /* s, j: bytes of text so far */
    Py_ssize_t text_hint; /* s, j: bytes the last chunk's text took: the next one's start */
} Column;

/* The JSON texts one append has seen: each distinct object dumped once, its text found
 * again in the column's text. The memo holds each object it has seen until the append
 * ends: its address is the key, and must not be freed and reused by another object
 * within the call, whatever Python code `dumps` (or a value's __float__) runs.
 * It starts small and doubles when half full: rows share most of their dicts, and a
 * table sized for every row of a chunk (256 KB) was probed at random, a cache miss a row. */
typedef struct {
    PyObject **keys;      /* open addressing on the object's address */
    Py_ssize_t *start, *size;
    Py_ssize_t slots, used;
    int shift;
} JsonMemo;

/* One chunk being built: the state behind ColumnBuilder and gather(). */
typedef struct {
    Py_ssize_t width, capacity, filled;
    char *kinds;
    Column *columns;
    PyObject *allocate, *dumps;
    int open;             /* the columns' buffers are allocated */
    int broken;           /* an append or finish failed half-way: it cannot be trusted */
    int busy;             /* in append or finish: the Python code they call may not re-enter */
} Chunk;

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

#define MEMO_FIRST_SLOTS 256

static size_t
memo_slot(const JsonMemo *memo, PyObject *value)
{
    return (size_t)(((uint64_t)(uintptr_t)value * 0x9E3779B97F4A7C15ull) >> memo->shift);
}

static int
memo_alloc(JsonMemo *memo, Py_ssize_t slots, int shift)
{
    memo->slots = slots;
    memo->shift = shift; /* 64 - log2(slots): the top bits of the hash pick the slot */
    memo->used = 0;
    memo->keys = PyMem_Calloc(slots, sizeof(PyObject *));
    memo->start = PyMem_Malloc(slots * sizeof(Py_ssize_t));
    memo->size = PyMem_Malloc(slots * sizeof(Py_ssize_t));
    if (!memo->keys || !memo->start || !memo->size) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int
memo_init(JsonMemo *memo)
{
    return memo_alloc(memo, MEMO_FIRST_SLOTS, 56);
}

static void
memo_release_arrays(JsonMemo *memo)
{
    PyMem_Free(memo->keys);
    PyMem_Free(memo->start);
    PyMem_Free(memo->size);
    memo->keys = NULL;
    memo->start = memo->size = NULL;
}

/* Twice the slots, every key moved (its reference with it). */
static int
memo_grow(JsonMemo *memo)
{
    JsonMemo old = *memo;
    if (memo_alloc(memo, old.slots * 2, old.shift - 1) < 0) {
        memo_release_arrays(memo);
        *memo = old;
        return -1;
    }
    for (Py_ssize_t at = 0; at < old.slots; at++) {
        PyObject *key = old.keys[at];
        if (key == NULL)
            continue;
        size_t slot = memo_slot(memo, key);
        while (memo->keys[slot] != NULL)
            slot = (slot + 1) & (size_t)(memo->slots - 1);
        memo->keys[slot] = key;
        memo->start[slot] = old.start[at];
        memo->size[slot] = old.size[at];
        memo->used++;
    }
    memo_release_arrays(&old);
    return 0;
}

static void
memo_free(JsonMemo *memo)
{
    if (memo->keys != NULL)
        for (Py_ssize_t slot = 0; slot < memo->slots; slot++)
            Py_XDECREF(memo->keys[slot]);
    memo_release_arrays(memo);
}

/* Room for `size` more bytes of text. Arrow's 32-bit offsets cap a chunk's column at
 * 2 GiB: refused before the copy grows. */
static int
resize_text(Column *column, Py_ssize_t size, int shrink)
{
    PyBuffer_Release(&column->text_view);
    PyObject *done = PyObject_CallMethod(column->text, "resize", "nO", size,
                                         shrink ? Py_True : Py_False);
    int failed = done == NULL
                 || PyObject_GetBuffer(column->text, &column->text_view,
                                       PyBUF_WRITABLE | PyBUF_SIMPLE) < 0;
    Py_XDECREF(done);
    if (failed) {
        /* Without a view the column cannot go on: drop the buffer (close_column skips it),
         * and leave no stale pointer or length behind. */
        memset(&column->text_view, 0, sizeof column->text_view);
        Py_CLEAR(column->text);
        return -1;
    }
    if (column->text_view.len < size) {
        PyErr_SetString(PyExc_ValueError, "resize left a buffer smaller than asked");
        return -1;
    }
    return 0;
}

static int
reserve_text(Column *column, Py_ssize_t size)
{
    if (size > INT32_MAX - column->total) {
        PyErr_SetString(PyExc_OverflowError, "one chunk's column holds more than 2 GiB of text");
        return -1;
    }
    if (column->total + size > column->text_view.len) {
        Py_ssize_t capacity = column->text_view.len ? column->text_view.len : 64;
        while (column->total + size > capacity)
            capacity *= 2;
        if (capacity > INT32_MAX) /* no more than a column may hold */
            capacity = INT32_MAX;
        return resize_text(column, capacity, 0);
    }
    return 0;
}

/* Append the JSON text of `value`, dumping it on its first sight in this append. */
static int
put_json(Column *column, JsonMemo *memo, PyObject *dumps, PyObject *value)
{
    size_t slot = memo_slot(memo, value);
    while (memo->keys[slot] != NULL && memo->keys[slot] != value)
        slot = (slot + 1) & (size_t)(memo->slots - 1);
    if (memo->keys[slot] != NULL) { /* seen: its text is earlier in this column */
        Py_ssize_t size = memo->size[slot];
        if (reserve_text(column, size) < 0)
            return -1;
        char *text = column->text_view.buf;
        memcpy(text + column->total, text + memo->start[slot], size);
        column->total += size;
        return 0;
    }
    PyObject *text = PyObject_CallOneArg(dumps, value);
    if (text == NULL)
        return -1;
    if (!PyBytes_Check(text)) {
        Py_DECREF(text);
        PyErr_SetString(PyExc_TypeError, "dumps must return bytes");
        return -1;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(text);
    if (reserve_text(column, size) < 0) {
        Py_DECREF(text);
        return -1;
    }
    memcpy((char *)column->text_view.buf + column->total, PyBytes_AS_STRING(text), size);
    Py_DECREF(text);
    memo->keys[slot] = Py_NewRef(value);
    memo->start[slot] = column->total;
    memo->size[slot] = size;
    column->total += size;
    /* At most half full, so that probing always ends at an empty slot. */
    return ++memo->used * 2 > memo->slots ? memo_grow(memo) : 0;
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

/* Put one value into its column at index `at` of the chunk; `row` (the list index) and
 * `position` only name it in errors. */
static int
put(Column *column, Py_ssize_t at, Py_ssize_t row, Py_ssize_t position, PyObject *value,
    JsonMemo *memo, PyObject *dumps)
{
    char kind = column->kind;
    if (value == Py_None) {
        column->nulls++;
        /* Zero under a null: the buffers' bytes never depend on leftover memory. */
        if (kind == 'q' || kind == 'd')
            ((int64_t *)column->values_view.buf)[at] = 0;
        else if (kind == 'i')
            ((int32_t *)column->values_view.buf)[at] = 0;
        else if (kind == 's' || kind == 'j')
            ((int32_t *)column->values_view.buf)[at + 1] = (int32_t)column->total;
        return 0;
    }
    ((uint8_t *)column->validity_view.buf)[at >> 3] |= (uint8_t)(1u << (at & 7));
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
            ((int64_t *)column->values_view.buf)[at] = number;
        } else if (number < INT32_MIN || number > INT32_MAX) {
            PyErr_Format(PyExc_OverflowError, "row %zd, column %zd: %lld does not fit 32 bits",
                         row, position, number);
            return -1;
        } else {
            ((int32_t *)column->values_view.buf)[at] = (int32_t)number;
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
        ((double *)column->values_view.buf)[at] = number;
        return 0;
    }
    case 'b':
        if (!PyBool_Check(value))
            return wrong_type(row, position, "bool", value);
        if (value == Py_True)
            ((uint8_t *)column->values_view.buf)[at >> 3] |= (uint8_t)(1u << (at & 7));
        return 0;
    case 's': {
        if (!PyUnicode_Check(value))
            return wrong_type(row, position, "str", value);
        Py_ssize_t size;
        const char *text = PyUnicode_AsUTF8AndSize(value, &size);
        if (text == NULL)
            return -1;
        /* Copied now, while the row is held: the str may not outlive its row. */
        if (reserve_text(column, size) < 0)
            return -1;
        memcpy((char *)column->text_view.buf + column->total, text, size);
        column->total += size;
        break;
    }
    default: /* 'j' */
        if (put_json(column, memo, dumps, value) < 0)
            return -1;
        break;
    }
    ((int32_t *)column->values_view.buf)[at + 1] = (int32_t)column->total;
    return 0;
}

static int
open_column(Column *column, Py_ssize_t rows, PyObject *allocate)
{
    char kind = column->kind;
    Py_ssize_t bitmap = (rows + 7) / 8;
    column->nulls = column->total = 0;
    column->validity = new_buffer(allocate, bitmap, &column->validity_view);
    if (column->validity == NULL)
        return -1;
    memset(column->validity_view.buf, 0, bitmap);
    if (kind == 's' || kind == 'j') {
        column->values = new_buffer(allocate, (rows + 1) * 4, &column->values_view);
        if (column->values == NULL)
            return -1;
        ((int32_t *)column->values_view.buf)[0] = 0;
        /* As much as the last chunk's text took: after the first chunk, rarely grown. */
        Py_ssize_t guess = column->text_hint ? column->text_hint : 16 * rows;
        column->text = new_buffer(allocate, guess, &column->text_view);
        return column->text == NULL ? -1 : 0;
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
    release_buffer(&column->text, &column->text_view);
}

/* ((buffers...), null_count) of a filled column. */
static PyObject *
finish_column(Column *column)
{
    PyObject *validity = column->nulls ? column->validity : Py_None;
    if (column->kind != 's' && column->kind != 'j')
        return Py_BuildValue("(OO)n", validity, column->values, column->nulls);
    /* The text buffer itself becomes the array's data, trimmed to what it holds. */
    column->text_hint = column->total;
    if (column->text_view.len > column->total && resize_text(column, column->total, 1) < 0)
        return NULL;
    return Py_BuildValue("(OOO)n", validity, column->values, column->text, column->nulls);
}

static int
check_kinds(const char *kinds, Py_ssize_t width)
{
    for (Py_ssize_t c = 0; c < width; c++) {
        if (kinds[c] == '\0' || strchr("qidbsj", kinds[c]) == NULL) {
            PyErr_Format(PyExc_ValueError, "kinds[%zd]: unknown column kind (byte %d)", c,
                         (unsigned char)kinds[c]);
            return -1;
        }
    }
    return 0;
}

/* A new, empty chunk (its buffers allocated on the first append); -1 on no memory. */
static int
chunk_init(Chunk *chunk, const char *kinds, Py_ssize_t width, Py_ssize_t capacity,
           PyObject *allocate, PyObject *dumps)
{
    chunk->width = width;
    chunk->capacity = capacity;
    chunk->kinds = PyMem_Malloc(width + 1);
    chunk->columns = PyMem_Calloc(width ? width : 1, sizeof(Column));
    if (chunk->kinds == NULL || chunk->columns == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(chunk->kinds, kinds, width);
    chunk->kinds[width] = '\0';
    for (Py_ssize_t c = 0; c < width; c++)
        chunk->columns[c].kind = kinds[c];
    chunk->allocate = Py_NewRef(allocate);
    chunk->dumps = Py_NewRef(dumps);
    return 0;
}

static void
chunk_close_columns(Chunk *chunk)
{
    if (chunk->columns != NULL)
        for (Py_ssize_t c = 0; c < chunk->width; c++)
            close_column(&chunk->columns[c]);
    chunk->open = 0;
    chunk->filled = 0;
}

static void
chunk_free(Chunk *chunk)
{
    chunk_close_columns(chunk);
    PyMem_Free(chunk->columns);
    PyMem_Free(chunk->kinds);
    chunk->columns = NULL;
    chunk->kinds = NULL;
    Py_CLEAR(chunk->allocate);
    Py_CLEAR(chunk->dumps);
}

static int
chunk_usable(Chunk *chunk)
{
    if (chunk->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the chunk is busy: called back from its own append or finish");
        return -1;
    }
    if (chunk->broken) {
        PyErr_SetString(PyExc_RuntimeError,
                        "an earlier append or finish failed: this chunk cannot be trusted");
        return -1;
    }
    return 0;
}

static int
chunk_open(Chunk *chunk)
{
    for (Py_ssize_t c = 0; c < chunk->width; c++)
        if (open_column(&chunk->columns[c], chunk->capacity, chunk->allocate) < 0) {
            chunk_close_columns(chunk);
            return -1;
        }
    chunk->open = 1;
    chunk->filled = 0;
    return 0;
}

/* Convert rows[start:stop] into the chunk, after the rows it holds (see chunk_append). */
static int
append_rows(Chunk *chunk, PyObject *rows, Py_ssize_t start, Py_ssize_t stop, int release)
{
    if (stop > PyList_GET_SIZE(rows))
        stop = PyList_GET_SIZE(rows);
    if (start < 0 || start > stop) {
        PyErr_Format(PyExc_ValueError, "start %zd is outside 0..%zd", start, stop);
        return -1;
    }
    Py_ssize_t count = stop - start, width = chunk->width;
    if (count > chunk->capacity - chunk->filled) {
        PyErr_Format(PyExc_ValueError, "%zd rows do not fit: the chunk has room for %zd", count,
                     chunk->capacity - chunk->filled);
        return -1;
    }
    if (count == 0)
        return 0;
    if (!chunk->open && chunk_open(chunk) < 0)
        return -1;
    int failed = 0;
    JsonMemo *memos = PyMem_Calloc(width ? width : 1, sizeof(JsonMemo));
    if (memos == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t c = 0; c < width && !failed; c++)
        if (chunk->kinds[c] == 'j')
            failed = memo_init(&memos[c]) < 0;
    for (Py_ssize_t i = 0; i < count && !failed; i++) {
        Py_ssize_t row = start + i, at = chunk->filled + i;
        /* `dumps`, `allocate` or a value's __float__ run Python code, which may change
         * the list: each row is fetched anew, and held while it is read. */
        if (row >= PyList_GET_SIZE(rows)) {
            PyErr_SetString(PyExc_RuntimeError, "the rows list shrank during the conversion");
            failed = 1;
            break;
        }
        PyObject *tuple = PyList_GET_ITEM(rows, row);
        if (!PyTuple_Check(tuple)) {
            PyErr_Format(PyExc_TypeError, "row %zd: expected a tuple, got %.50s", row,
                         Py_TYPE(tuple)->tp_name);
            failed = 1;
            break;
        }
        if (PyTuple_GET_SIZE(tuple) != width) {
            PyErr_Format(PyExc_ValueError, "row %zd has %zd values, not %zd", row,
                         PyTuple_GET_SIZE(tuple), width);
            failed = 1;
            break;
        }
        Py_INCREF(tuple);
        for (Py_ssize_t c = 0; c < width && !failed; c++)
            failed = put(&chunk->columns[c], at, row, c, PyTuple_GET_ITEM(tuple, c), &memos[c],
                         chunk->dumps) < 0;
        if (release && !failed && row < PyList_GET_SIZE(rows)
            && PyList_GET_ITEM(rows, row) == tuple) {
            /* The list lets go of the row now: freed here, it is still in the cache. */
            PyList_SET_ITEM(rows, row, Py_NewRef(Py_None));
            Py_DECREF(tuple);
        }
        Py_DECREF(tuple);
    }
    for (Py_ssize_t c = 0; c < width; c++)
        memo_free(&memos[c]);
    PyMem_Free(memos);
    if (failed) {
        chunk->broken = 1;
        return -1;
    }
    chunk->filled += count;
    return 0;
}

/* The columns of the rows appended so far; the chunk is empty again afterwards. */
static PyObject *
finish_columns(Chunk *chunk)
{
    if (!chunk->open && chunk_open(chunk) < 0) /* no rows: empty columns */
        return NULL;
    PyObject *result = PyList_New(chunk->width);
    if (result == NULL)
        return NULL;
    for (Py_ssize_t c = 0; c < chunk->width; c++) {
        PyObject *column = finish_column(&chunk->columns[c]);
        if (column == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyList_SET_ITEM(result, c, column);
    }
    chunk_close_columns(chunk); /* the next append allocates the next chunk's buffers */
    return result;
}

/* `dumps`, `allocate` and `resize` run Python code, which may call back into the same
 * builder: refused (busy), as is a chunk left half-written by an earlier failure. */
static int
chunk_append(Chunk *chunk, PyObject *rows, Py_ssize_t start, Py_ssize_t stop, int release)
{
    if (chunk_usable(chunk) < 0)
        return -1;
    chunk->busy = 1;
    int done = append_rows(chunk, rows, start, stop, release);
    chunk->busy = 0;
    return done;
}

static PyObject *
chunk_finish(Chunk *chunk)
{
    if (chunk_usable(chunk) < 0)
        return NULL;
    chunk->busy = 1;
    PyObject *result = finish_columns(chunk);
    chunk->busy = 0;
    if (result == NULL && chunk->open)
        chunk->broken = 1; /* a column may have lost its text buffer */
    return result;
}

/* ColumnBuilder: a Chunk that Python code appends rows to. */
typedef struct {
    PyObject_HEAD
    Chunk chunk;
} Builder;

static int
builder_init(Builder *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"kinds", "capacity", "allocate", "dumps", NULL};
    const char *kinds;
    Py_ssize_t width, capacity;
    PyObject *allocate, *dumps;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s#nOO:ColumnBuilder", names, &kinds, &width,
                                     &capacity, &allocate, &dumps))
        return -1;
    if (check_kinds(kinds, width) < 0)
        return -1;
    if (capacity < 1 || capacity > INT32_MAX) { /* Arrow's 32-bit offsets: no more rows */
        PyErr_Format(PyExc_ValueError, "capacity must be 1 to 2**31 - 1, got %zd", capacity);
        return -1;
    }
    if (self->chunk.kinds != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ColumnBuilder is initialised once");
        return -1;
    }
    if (chunk_init(&self->chunk, kinds, width, capacity, allocate, dumps) < 0) {
        chunk_free(&self->chunk);
        return -1;
    }
    return 0;
}

static int
builder_ready(Builder *self)
{
    if (self->chunk.kinds == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ColumnBuilder.__init__ was not called");
        return -1;
    }
    return 0;
}

static int
builder_traverse(Builder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->chunk.allocate);
    Py_VISIT(self->chunk.dumps);
    return 0;
}

static int
builder_clear(Builder *self)
{
    Py_CLEAR(self->chunk.allocate);
    Py_CLEAR(self->chunk.dumps);
    return 0;
}

static void
builder_dealloc(Builder *self)
{
    PyObject_GC_UnTrack(self);
    chunk_free(&self->chunk);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
builder_append(Builder *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"rows", "start", "stop", "release", NULL};
    PyObject *rows;
    Py_ssize_t start = 0, stop = PY_SSIZE_T_MAX;
    int release = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!|nnp:append", names, &PyList_Type, &rows,
                                     &start, &stop, &release))
        return NULL;
    if (builder_ready(self) < 0)
        return NULL;
    if (self->chunk.allocate == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ColumnBuilder was cleared");
        return NULL;
    }
    if (chunk_append(&self->chunk, rows, start, stop, release) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
builder_finish(Builder *self, PyObject *Py_UNUSED(ignored))
{
    if (builder_ready(self) < 0)
        return NULL;
    if (self->chunk.allocate == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ColumnBuilder was cleared");
        return NULL;
    }
    return chunk_finish(&self->chunk);
}

static PyObject *
builder_filled(Builder *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->chunk.filled);
}

static PyObject *
builder_capacity(Builder *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->chunk.capacity);
}

static PyMethodDef builder_methods[] = {
    {"append", (PyCFunction)(void (*)(void))builder_append, METH_VARARGS | METH_KEYWORDS,
     "append(rows, start=0, stop=len(rows), release=False): convert rows[start:stop] into\n"
     "the chunk, after the rows it holds."},
    {"finish", (PyCFunction)builder_finish, METH_NOARGS,
     "finish(): the Arrow buffers of each column of the rows appended; empties the chunk."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef builder_getset[] = {
    {"filled", (getter)builder_filled, NULL, "rows appended since the last finish()", NULL},
    {"capacity", (getter)builder_capacity, NULL, "rows one chunk holds", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject BuilderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fauxsim.sinks.files._rows_to_arrow.ColumnBuilder",
    .tp_doc = "ColumnBuilder(kinds, capacity, allocate, dumps): rows appended a few at a\n"
              "time, converted at once, and handed over as Arrow buffers a chunk at a time.",
    .tp_basicsize = sizeof(Builder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)builder_init,
    .tp_dealloc = (destructor)builder_dealloc,
    .tp_traverse = (traverseproc)builder_traverse,
    .tp_clear = (inquiry)builder_clear,
    .tp_methods = builder_methods,
    .tp_getset = builder_getset,
};

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
    if (check_kinds(kinds, width) < 0)
        return NULL;
    if (stop > PyList_GET_SIZE(rows))
        stop = PyList_GET_SIZE(rows);
    if (start < 0 || start > stop) {
        PyErr_Format(PyExc_ValueError, "start %zd is outside 0..%zd", start, stop);
        return NULL;
    }
    if (stop - start > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "more than 2**31 - 1 rows in one chunk");
        return NULL;
    }
    Chunk chunk = {0};
    PyObject *result = NULL;
    if (chunk_init(&chunk, kinds, width, stop - start, allocate, dumps) == 0
        && chunk_append(&chunk, rows, start, stop, release) == 0)
        result = chunk_finish(&chunk);
    chunk_free(&chunk);
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
    if (PyType_Ready(&BuilderType) < 0)
        return NULL;
    PyObject *created = PyModule_Create(&module);
    if (created == NULL)
        return NULL;
    if (PyModule_AddObjectRef(created, "ColumnBuilder", (PyObject *)&BuilderType) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
