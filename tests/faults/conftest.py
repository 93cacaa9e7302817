"""The fault suite: real faults (signals to real processes, a stopped PostgreSQL, a full disk, bad input).

Quick fault tests run in ``make test``; the long ones carry ``@pytest.mark.faults_slow`` and run in
``make faults`` only (``make faults`` runs every test under tests/faults).
"""

from tests.e2e.fixtures import server, workdir

__all__ = ["server", "workdir"]
