/* An exact Python int read as a C integer without a call: for the C parts' hot loops.
 *
 * small_int(value, &out) is 1 with *out set when `value` is an exact int whose magnitude
 * fits two of CPython's digits (below 2**60 with 30-bit digits: every id, count and
 * microsecond timestamp fauxsim makes), and 0 otherwise: then the caller falls back to
 * PyLong_AsLongLongAndOverflow, which handles every int. That call was most of the
 * scheduler loop's comparisons (~55 instructions each, 1 k per event).
 *
 * It reads the int's digits in place, which is CPython 3.11's layout; from 3.12 on it
 * uses the API for compact (one-digit) ints, and larger ones take the fallback.
 */
#ifndef FAUXSIM_SMALL_INT_H
#define FAUXSIM_SMALL_INT_H

#include <Python.h>

static inline int
small_int(PyObject *value, long long *out)
{
    if (!PyLong_CheckExact(value))
        return 0;
#if PY_VERSION_HEX >= 0x030C0000
    if (!PyUnstable_Long_IsCompact((PyLongObject *)value))
        return 0;
    *out = (long long)PyUnstable_Long_CompactValue((PyLongObject *)value);
    return 1;
#else
    const digit *digits = ((PyLongObject *)value)->ob_digit;
    switch (Py_SIZE(value)) {
    case 0:
        *out = 0;
        return 1;
    case 1:
        *out = (long long)digits[0];
        return 1;
    case -1:
        *out = -(long long)digits[0];
        return 1;
    case 2:
        *out = ((long long)digits[1] << PyLong_SHIFT) | (long long)digits[0];
        return 1;
    case -2:
        *out = -(((long long)digits[1] << PyLong_SHIFT) | (long long)digits[0]);
        return 1;
    default:
        return 0;
    }
#endif
}

#endif
