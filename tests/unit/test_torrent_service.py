"""TorrentService over the FakeEngine: its commands, its read-only state, its roots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from revaer.engine.errors import TorrentNotFoundError
from revaer.engine.fake import FakeEngine
from revaer.engine.protocol import AddRequest, QueueMove, ResumeDataSaved
from revaer.paths import PathNotAllowedError
from revaer.torrents import AddOptions, TorrentService
from tests.support.torrents import synthetic_torrent

ROOT = Path("/srv/downloads")
UNKNOWN = "0" * 40


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    engine = FakeEngine(rate=0)
    yield engine
    engine.shutdown()


@pytest.fixture
def service(engine: FakeEngine) -> TorrentService:
    return TorrentService(engine, None, ROOT)


def _add(s: TorrentService, name: str, **options: Any) -> str:
    return s.add(torrent=synthetic_torrent(name).data, options=AddOptions(**options))


def test_add_labels_and_listing_order(service: TorrentService) -> None:
    a = _add(service, "a", category="tv", tags=(" hd", "hd", "x"))
    b = _add(service, "b")
    assert service.labels_of(a).category == "tv"
    assert service.labels_of(a).tags == ("hd", "x")
    assert service.labels_of(UNKNOWN).category == ""
    assert sorted(h for _, h in service.order) == sorted([a, b])
    assert list(service.order) == sorted(service.order)
    assert getattr(service.get(a), "save_path", None) == str(ROOT / "tv")
    clock = service.label_clock
    service.set_labels(b, tags=["new"])
    assert service.label_clock > clock
    assert service.labels[b].version == service.label_clock


def test_state_is_read_only(service: TorrentService) -> None:
    a = _add(service, "a")
    with pytest.raises(TypeError):
        service.labels[a] = service.labels[a]  # type: ignore[index]
    with pytest.raises(AttributeError):
        service.label_clock = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        service.order = []  # type: ignore[misc]


@pytest.mark.parametrize(
    ("command", "field", "expected"),
    [
        (TorrentService.pause, "paused", True),
        (TorrentService.resume, "paused", False),
        (TorrentService.toggle_sequential, "sequential", True),
    ],
)
def test_commands_change_the_row(
    service: TorrentService,
    engine: FakeEngine,
    command: Callable[[TorrentService, str], object],
    field: str,
    expected: bool,
) -> None:
    a = _add(service, "a", paused=not expected if field == "paused" else False)
    command(service, a)
    engine.tick()
    assert getattr(service.get(a), field) is expected


def test_set_limits_keeps_the_other_one(service: TorrentService) -> None:
    a = _add(service, "a", upload_limit=100, download_limit=200)
    service.set_limits(a, upload=300)
    row = service.get(a)
    assert row is not None
    assert (row.upload_limit, row.download_limit) == (300, 200)
    service.set_limits(a, download=-1)
    row = service.get(a)
    assert row is not None
    assert (row.upload_limit, row.download_limit) == (300, -1)


@pytest.mark.parametrize(
    "command",
    [
        lambda s: s.pause(UNKNOWN),
        lambda s: s.set_limits(UNKNOWN, upload=1),
        lambda s: s.toggle_sequential(UNKNOWN),
        lambda s: s.queue(UNKNOWN, QueueMove.TOP),
        lambda s: s.remove(UNKNOWN),
    ],
)
def test_commands_on_an_unknown_torrent(
    service: TorrentService, command: Callable[[TorrentService], object]
) -> None:
    with pytest.raises(TorrentNotFoundError):
        command(service)


def test_existing(service: TorrentService) -> None:
    a = _add(service, "a")
    b = _add(service, "b")
    assert service.existing([b, UNKNOWN, a]) == [b, a]
    assert sorted(service.existing(None)) == sorted([a, b])


def test_paths_are_confined_to_the_roots(service: TorrentService) -> None:
    a = _add(service, "a")
    with pytest.raises(PathNotAllowedError):
        service.move_storage(a, "/etc")
    with pytest.raises(PathNotAllowedError):
        _add(service, "b", save_path="/srv/downloads/../etc")
    assert service.confine("books", relative=True) == str(ROOT / "books")
    with pytest.raises(PathNotAllowedError):
        service.confine("books")
    service.set_roots(Path("/srv/new"), [Path("/library/tv")])
    assert service.download_root == Path("/srv/new")
    assert service.roots == [Path("/srv/new"), Path("/library/tv")]
    assert service.confine("/library/tv/x") == "/library/tv/x"
    with pytest.raises(PathNotAllowedError):
        service.confine("/srv/downloads/x")
    assert service.save_path_for(None, "") == "/srv/new"


class _Recorder:
    """The registry's side of the service: which writes it was given, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def added(self, h: str, **_: object) -> None:
        self.calls.append(("added", h))

    def store_resume(self, h: str, data: bytes) -> None:
        self.calls.append(("resume", h))

    def name_path(self, h: str, name: str, save_path: str) -> None:
        self.calls.append(("name_path", h))


async def test_an_added_event_that_comes_before_its_add_is_booked_is_handled_once_it_is(
    engine: FakeEngine,
) -> None:
    # The real engine takes a request's torrents on a worker thread: the pump may hand the service
    # a torrent's TorrentAdded (and the resume data it asks for) before the loop has booked it.
    # The resume data must not be dropped as that of an unknown torrent.
    registry = _Recorder()

    class Eager:
        """The engine, its events handed to the service the moment it adds a torrent."""

        def __getattr__(self, name: str) -> Any:
            return getattr(engine, name)

        def add(self, request: AddRequest) -> str:
            h = engine.add(request)
            _deliver()
            return h

    def _deliver() -> None:
        while events := engine.poll():
            for ev in events:
                if isinstance(ev, ResumeDataSaved):
                    service.on_resume(ev)
                else:
                    service.on_event(ev)

    service = TorrentService(Eager(), registry, ROOT)  # type: ignore[arg-type]
    (h,) = await service.add_many([(None, synthetic_torrent("early").data, ())], AddOptions())
    assert isinstance(h, str)
    _deliver()
    assert registry.calls[0] == ("added", h)
    assert ("resume", h) in registry.calls
    assert ("name_path", h) in registry.calls
