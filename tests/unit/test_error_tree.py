"""Every exception the shell raises on purpose sits under RevaerError, in the branch that says who is at
fault, and keeps the builtin bases callers already catch."""

from __future__ import annotations

import pytest

from revaer.api.params import InvalidInfoHashError, ParamError
from revaer.categories import CategoryError
from revaer.config.model import ConfigValidationError
from revaer.config.setup import AlreadyBootstrapped, InvalidSetupToken, SetupError
from revaer.db.embedded import EmbeddedPostgresError
from revaer.db.migrate import ChecksumMismatch, MigrationError
from revaer.errors import InternalError, RefusedError, RevaerError, UsageError
from revaer.fsops.executor import DestinationExistsError, MoveError, SourceMissingError
from revaer.fsops.worker import MoveCancelledError, ResetFailedError
from revaer.paths import PathNotAllowedError
from revaer.remote import RemoteError

TREE: list[tuple[type[BaseException], type[RevaerError], tuple[type[BaseException], ...]]] = [
    (ParamError, UsageError, (ValueError,)),
    (InvalidInfoHashError, UsageError, (ValueError,)),
    (PathNotAllowedError, UsageError, (ValueError,)),
    (CategoryError, UsageError, (ValueError,)),
    (ConfigValidationError, UsageError, (ValueError,)),
    (SetupError, UsageError, ()),
    (AlreadyBootstrapped, UsageError, ()),
    (InvalidSetupToken, UsageError, ()),
    (MoveError, RefusedError, ()),
    (DestinationExistsError, RefusedError, ()),
    (SourceMissingError, RefusedError, ()),
    (MoveCancelledError, RefusedError, ()),
    (ResetFailedError, RefusedError, ()),
    (RemoteError, RefusedError, ()),
    (MigrationError, RefusedError, (RuntimeError,)),
    (ChecksumMismatch, RefusedError, (RuntimeError,)),
    (EmbeddedPostgresError, RefusedError, (RuntimeError,)),
]


@pytest.mark.parametrize(("cls", "branch", "kept"), TREE, ids=[c.__name__ for c, _, _ in TREE])
def test_in_its_branch_with_its_old_bases(
    cls: type[BaseException], branch: type[RevaerError], kept: tuple[type[BaseException], ...]
) -> None:
    assert issubclass(cls, branch)
    others = {RefusedError, UsageError, InternalError} - {branch}
    assert not any(issubclass(cls, o) for o in others)
    for base in kept:
        assert issubclass(cls, base)
