/* KeyError(key), as a dict raises it, for the C parts: the key is the exception's one
 * argument, even a tuple or None (PyErr_SetObject would spread a tuple over several). */
#ifndef FAUXSIM_KEY_ERROR_H
#define FAUXSIM_KEY_ERROR_H

#include <Python.h>

static inline void
key_error(PyObject *key)
{
    PyObject *args = PyTuple_Pack(1, key);
    if (args != NULL) {
        PyErr_SetObject(PyExc_KeyError, args);
        Py_DECREF(args);
    }
}

#endif
