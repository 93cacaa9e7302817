"""The CLI's HTTP client commands: drive a running server through ``/v1``.

``--url`` (default ``$REVAER_URL``, else the server running on the data dir, else
``http://127.0.0.1:7878``) and
``--api-key`` (default ``$REVAER_API_KEY``). Errors print the server's message
(the problem's ``detail``) and exit non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import orjson

from revaer.errors import RefusedError
from revaer.labels import split_tags

DEFAULT_URL = "http://127.0.0.1:7878"
EXIT_OK, EXIT_FAILED = 0, 1


class RemoteError(RefusedError):
    """The server refused (its message), or could not be reached."""


def add_remote_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        default=None,
        help="server URL (default: $REVAER_URL, else the server running on $REVAER_DATA_DIR or the"
        f" default data dir, else {DEFAULT_URL})",
    )
    p.add_argument("--api-key", default=None, help="API key (default: $REVAER_API_KEY)")


def base_url(args: argparse.Namespace) -> str:
    """``--url``, ``$REVAER_URL``, the server running on the data dir (``--data-dir``,
    ``$REVAER_DATA_DIR`` or the default), else ``DEFAULT_URL``."""
    given = getattr(args, "url", None) or os.environ.get("REVAER_URL")
    if given:
        return str(given).rstrip("/")
    from revaer.db.lock import running_server
    from revaer.db.pool import data_dir

    holder = running_server(data_dir(getattr(args, "data_dir", None)))
    found = url_of_bind(holder.get("bind")) if holder is not None else None
    return found or DEFAULT_URL


def url_of_bind(bind: object) -> str | None:
    """The URL that reaches a server listening on ``bind`` ("host:port") from this machine."""
    if not isinstance(bind, str) or ":" not in bind:
        return None
    host, _, port = bind.rpartition(":")
    if not port.isdigit():
        return None
    host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "": "127.0.0.1"}.get(host, host)
    return f"http://{host}:{port}"


class Client:
    def __init__(self, url: str, api_key: str | None) -> None:
        self.url = url
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.session = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=None, connect=10)
        )

        # A progress line (``\r...``) is on the terminal without its line break yet.
        self.open_line = False

    async def close(self) -> None:
        await self.session.close()

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            async with self.session.request(method, self.url + path, **kwargs) as r:
                body = await r.read()
                if r.status >= 400:
                    raise _refused(r, body)
                return orjson.loads(body) if body else None
        except aiohttp.ClientError as e:
            raise RemoteError(f"cannot reach {self.url}: {e}") from None


def _refused(r: aiohttp.ClientResponse, body: bytes) -> RemoteError:
    """The server's refusal as one line: the problem's ``detail`` when it sent one."""
    detail = body.decode("utf-8", "replace")
    if r.content_type in ("application/problem+json", "application/json"):
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
            detail = orjson.loads(body).get("detail", detail)
    return RemoteError(f"{r.status}: {detail}")


def _fmt_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def _bar(progress: float, width: int = 30) -> str:
    filled = int(progress * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


async def _torrents_list(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    params = {
        k: v
        for k, v in (("state", args.state), ("category", args.category), ("tag", args.tag), ("q", args.q))
        if v
    }
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10_000):  # pages of 1000: bounded
        page = await c.call(
            "GET",
            "/v1/torrents",
            params={**params, "limit": "1000", **({"cursor": cursor} if cursor else {})},
        )
        rows += page["torrents"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    if args.json:
        out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    for t in rows:
        out.write(
            f"{t['info_hash']}  {t['state']:<11} {t['progress'] * 100:5.1f}%  {_fmt_size(t['size']):>10}  "
            f"{t['category'] or '-':<10} {t['name']}\n"
        )
    return EXIT_OK


def _doing(t: dict[str, Any]) -> str:
    """What a torrent is doing, in words for the progress line: before anything arrives, "stalled"
    at 0 % would only say that it is starting."""
    if t["state"] in ("downloading", "stalled") and not t["done"]:
        if not t["has_metadata"]:
            return "fetching metadata"
        if not t["peers"]:
            return "finding peers"
    return str(t["state"])


async def _wait(c: Client, h: str, out: TextIO, interval: float = 0.5) -> int:
    """A live progress line until the torrent completes (at once for a paused torrent: it would
    never complete)."""
    while True:
        t = await c.call("GET", f"/v1/torrents/{h}")
        if t["paused"] and t["progress"] < 1.0:
            out.write(f"{h} is paused: not waiting (resume it with: revaer torrents resume {h})\n")
            return EXIT_OK
        rate = _fmt_size(t["download_rate"]) + "/s"
        pct = f"{t['progress'] * 100:5.1f}%"
        out.write(f"\r{_bar(t['progress'])} {pct} {rate:>12} {_doing(t):<17} {t['name'][:40]}")
        out.flush()
        c.open_line = True
        if t["progress"] >= 1.0 and t["state"] in ("seeding", "completed", "paused", "queued"):
            out.write("\n")
            c.open_line = False
            return EXIT_OK
        if t["state"] == "error":
            out.write(f"\nerror: {t['error']}\n")
            c.open_line = False
            return EXIT_FAILED
        await asyncio.sleep(interval)


async def _torrents_add(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    hashes: list[str] = []
    for source in args.sources:
        common: dict[str, Any] = {}
        if args.category:
            common["category"] = args.category
        if args.tags:
            common["tags"] = split_tags(args.tags)
        if args.save_path:
            common["save_path"] = args.save_path
        if args.paused:
            common["paused"] = True
        if source.startswith("magnet:"):
            res = await c.call("POST", "/v1/torrents/add", json={"magnet": source, **common})
        else:
            try:
                data = await asyncio.to_thread(Path(source).read_bytes)
            except OSError as e:
                raise RemoteError(f"{source}: not a magnet link or a readable .torrent file ({e})") from None
            form = aiohttp.FormData(default_to_multipart=True)
            form.add_field(
                "torrents", data, filename=Path(source).name, content_type="application/x-bittorrent"
            )
            for k, v in common.items():
                form.add_field(k, ",".join(v) if isinstance(v, list) else ("true" if v is True else str(v)))
            res = await c.call("POST", "/v1/torrents/add", data=form)
        for h in res["info_hashes"]:
            out.write(f"added {h}\n")
            hashes.append(h)
    if args.wait:
        for h in hashes:
            code = await _wait(c, h, out)
            if code:
                return code
    return EXIT_OK


async def _torrents_action(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    for h in args.hashes:
        body = {"with_data": True} if getattr(args, "with_data", False) else None
        await c.call("POST", f"/v1/torrents/{h}/{args.torrents_command}", json=body)
        out.write(f"{args.torrents_command} {h.lower()}\n")
    return EXIT_OK


async def _post_jobs(c: Client, out: TextIO, calls: list[tuple[str, str]]) -> int:
    """POST each ``(path, label)`` in turn, a line for the job each one answers with."""
    for path, label in calls:
        job = (await c.call("POST", path))["job"]
        out.write(f"{label}: job {job['id']} {job['status']} -> {job['destination']}\n")
    return EXIT_OK


async def _torrents_relocate(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    return await _post_jobs(
        c, out, [(f"/v1/torrents/{h}/relocate", f"relocate {h.lower()}") for h in args.hashes]
    )


def _job_line(j: dict[str, Any]) -> str:
    error = f"  ({j['error']})" if j["error"] else ""
    return f"{j['id']:>6}  {j['status']:<8} {j['attempts']:>2}  {j['info_hash']}  {j['destination']}{error}\n"


async def _jobs_list(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    params = {k: v for k, v in (("state", args.state), ("hash", args.hash)) if v}
    jobs = (await c.call("GET", "/v1/fsjobs", params={**params, "limit": str(args.limit)}))["jobs"]
    if args.json:
        out.write(orjson.dumps(jobs, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    for j in jobs:
        out.write(_job_line(j))
    return EXIT_OK


async def _jobs_retry(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    return await _post_jobs(c, out, [(f"/v1/fsjobs/{i}/retry", f"retry {i}") for i in args.ids])


async def _events(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    params = {k: v for k, v in (("types", args.types), ("hash", args.hash)) if v}
    try:
        async with c.session.get(c.url + "/v1/events/stream", params=params) as r:
            if r.status >= 400:
                raise _refused(r, (await r.read())[:4096])
            name = "message"
            async for raw in r.content:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    out.write(f"{time.strftime('%H:%M:%S')} {name} {line[6:]}\n")
                    out.flush()
                elif not line:
                    name = "message"
    except aiohttp.ClientPayloadError:
        pass  # cut off mid-event: the same as an end
    except aiohttp.ClientError as e:
        raise RemoteError(f"cannot reach {c.url}: {e}") from None
    # The stream has no end of its own: it ends when the server stops (or drops it).
    raise RemoteError(f"the server at {c.url} closed the event stream (stopped or restarting?)")


async def _config_get(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    res = await c.call("GET", "/v1/config")
    value = res["config"] if args.key is None else res["config"].get(args.key)
    if args.key is not None and args.key not in res["config"]:
        raise RemoteError(f"unknown setting: {args.key}")
    out.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n")
    return EXIT_OK


async def _config_set(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    try:
        value = orjson.loads(args.value)
    except orjson.JSONDecodeError as e:
        raise RemoteError(f"{args.key}: the value must be JSON (strings in double quotes): {e}") from None
    res = await c.call("PATCH", "/v1/config", json={args.key: value})
    shown = res["config"].get(args.key, value)
    out.write(f"{args.key} = {orjson.dumps(shown).decode()} (version {res['versions'][args.key]})\n")
    later = res.get("restart_required", {}).get(args.key)
    if later:
        out.write(f"{args.key} {later}\n")
    return EXIT_OK


async def _setup_unlock(c: Client, args: argparse.Namespace, out: TextIO) -> int:
    res = await c.call(
        "POST",
        "/v1/setup/apply",
        json={"setup_token": args.token, "admin_username": args.username, "admin_password": args.password},
    )
    out.write(f"installation set up; admin: {res['admin_username']}\n")
    out.write(f"API key (shown once, keep it): {res['api_key']}\n")
    return EXIT_OK


COMMANDS = {
    ("torrents", "list"): _torrents_list,
    ("torrents", "add"): _torrents_add,
    ("torrents", "pause"): _torrents_action,
    ("torrents", "resume"): _torrents_action,
    ("torrents", "recheck"): _torrents_action,
    ("torrents", "reannounce"): _torrents_action,
    ("torrents", "remove"): _torrents_action,
    ("torrents", "relocate"): _torrents_relocate,
    ("jobs", "list"): _jobs_list,
    ("jobs", "retry"): _jobs_retry,
    ("events", None): _events,
    ("config", "get"): _config_get,
    ("config", "set"): _config_set,
    ("setup", "unlock"): _setup_unlock,
}


def run(args: argparse.Namespace, command: tuple[str, str | None], out: TextIO | None = None) -> int:
    stream = out or sys.stdout

    client: list[Client] = []

    async def go() -> int:
        c = Client(base_url(args), getattr(args, "api_key", None) or os.environ.get("REVAER_API_KEY"))
        client.append(c)
        try:
            return await COMMANDS[command](c, args, stream)
        finally:
            await c.close()

    def end_line() -> None:
        # A progress line still open gets its line break before anything else is printed.
        if client and client[0].open_line:
            stream.write("\n")
            stream.flush()

    try:
        return asyncio.run(go())
    except RemoteError as e:
        end_line()
        print(f"revaer: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        end_line()
        return EXIT_OK


def add_torrents_parser(sub: Any) -> None:
    t = sub.add_parser("torrents", help="list, add and control torrents on a running server")
    tsub = t.add_subparsers(dest="torrents_command", metavar="ACTION", required=True)
    lst = tsub.add_parser("list", help="list torrents")
    lst.add_argument("--state")
    lst.add_argument("--category")
    lst.add_argument("--tag")
    lst.add_argument("-q", help="name contains")
    lst.add_argument("--json", action="store_true", help="print JSON")
    add_remote_options(lst)
    add = tsub.add_parser("add", help="add magnet links or .torrent files")
    add.add_argument("sources", nargs="+", metavar="MAGNET_OR_FILE")
    add.add_argument("--category")
    add.add_argument("--tags", help="comma-separated")
    add.add_argument("--save-path")
    add.add_argument("--paused", action="store_true")
    add.add_argument("--wait", action="store_true", help="show progress until complete")
    add_remote_options(add)
    helps = {"relocate": "move finished torrents by the category rules in force now"}
    for name in ("pause", "resume", "recheck", "reannounce", "remove", "relocate"):
        a = tsub.add_parser(name, help=helps.get(name, f"{name} torrents"))
        a.add_argument("hashes", nargs="+", metavar="INFO_HASH")
        if name == "remove":
            a.add_argument("--with-data", action="store_true", help="delete the downloaded files too")
        add_remote_options(a)
    jobs = sub.add_parser("jobs", help="the move jobs (post-processing) of a running server")
    jsub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    jl = jsub.add_parser("list", help="list move jobs, newest first")
    jl.add_argument("--state", help="comma-separated: pending, moving, moved, failed, skipped")
    jl.add_argument("--hash", help="comma-separated info-hashes")
    jl.add_argument("--limit", type=int, default=100)
    jl.add_argument("--json", action="store_true", help="print JSON")
    add_remote_options(jl)
    jr = jsub.add_parser("retry", help="put failed jobs back in line, due now")
    jr.add_argument("ids", nargs="+", type=int, metavar="JOB_ID")
    add_remote_options(jr)
    ev = sub.add_parser("events", help="follow the server's event stream")
    ev.add_argument("--types", help="comma-separated event types (e.g. torrent.state,torrent.completed)")
    ev.add_argument("--hash", help="comma-separated info-hashes")
    add_remote_options(ev)
