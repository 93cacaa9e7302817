# Conversions between Python objects and the C++ core's plain types. Included by _engine.pyx.


cdef inline str _str(const string& s):
    return s.decode("utf-8", "replace")


cdef inline string _bytes(str s):
    return s.encode("utf-8")


cdef inline tuple _strs(const vector[string]& v):
    cdef size_t i
    return tuple([_str(v[i]) for i in range(v.size())])


cdef inline string _hash(str info_hash):
    return _bytes(info_hash.lower())


cdef vector[Setting] _settings(dict settings) except *:
    cdef vector[Setting] out
    cdef Setting s
    for name, value in settings.items():
        if not isinstance(name, str):
            raise InvalidSettingError(f"engine setting names are strings, got {name!r}")
        s.name = _bytes(name)
        s.s.clear()
        s.i = 0
        if isinstance(value, bool):
            s.kind = SETTING_BOOL
            s.i = 1 if value else 0
        elif isinstance(value, int):
            s.kind = SETTING_INT
            s.i = value
        elif isinstance(value, str):
            s.kind = SETTING_STR
            s.s = _bytes(value)
        else:
            raise InvalidSettingError(
                f"engine setting {name} must be a bool, int or str, got {type(value).__name__}")
        out.push_back(s)
    return out
