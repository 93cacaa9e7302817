# The one place native error codes become Python exceptions (revaer.engine.errors).
# Included by _engine.pyx.


cdef int _check(Error& err, object invalid=InvalidTorrentError) except -1:
    """Raise the exception for ``err``; ``invalid`` is the usage error ERR_INVALID means here."""
    if err.code == ERR_OK:
        return 0
    msg = _str(err.message)
    if err.code == ERR_INVALID:
        raise invalid(msg)
    if err.code == ERR_NOT_FOUND:
        raise TorrentNotFoundError(msg)
    if err.code == ERR_DUPLICATE:
        raise DuplicateTorrentError(msg)
    if err.code == ERR_CLOSED:
        raise EngineClosedError(msg)
    if err.code == ERR_FAILED:
        raise EngineRefusedError(msg)
    raise EngineInternalError(f"unknown engine error code {err.code}: {msg}")
