"""Move jobs an operator can see and act on: ``GET /v1/fsjobs``, ``POST /v1/fsjobs/{id}/retry``,
``POST /v1/torrents/{h}/relocate`` and the CLI's ``jobs list|retry`` and ``torrents relocate``.

A torrent that finished before its category had a rule stays where it is; relocating it plans the
move by the rules in force now. The destination is taken, so the job fails; once it is free, a
retry moves the payload, and the torrent seeds from the library.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson

from tests.e2e.cli import cli_env, run_cli
from tests.e2e.client import V1
from tests.e2e.server import ServerProcess
from tests.support.engine import Seeder
from tests.support.torrents import file_sha256


async def test_relocate_fail_retry(server: ServerProcess, workdir: Path) -> None:
    seeder = Seeder(workdir / "peer", 2 << 20)
    try:
        await server.start()
        async with aiohttp.ClientSession() as http:
            api = await V1.claimed(http, server)
            env = cli_env(workdir / "home", REVAER_URL=server.url, REVAER_API_KEY=api.key)
            magnet = f"{seeder.torrent.magnet()}&x.pe=127.0.0.1:{seeder.port}"
            body = await api.call("POST", "/v1/torrents/add", 201, json={"magnet": magnet, "category": "tv"})
            h = body["info_hashes"][0]
            await api.wait_for(f"/v1/torrents/{h}", lambda t: t["state"] == "seeding", "seeding")
            assert (await api.call("GET", "/v1/fsjobs"))["jobs"] == []

            done = await run_cli("torrents", "relocate", h, env=env)
            assert done.code == 1, done
            assert "has no rule" in done.err, done.err

            library = workdir / "library"
            rules = {"categories": {"tv": f"{library}/tv/{{name}}"}}
            await api.call("PATCH", "/v1/config", json={"paths.rules": rules})
            target = library / "tv" / "payload.bin"
            target.parent.mkdir(parents=True)
            target.write_bytes(b"in the way")

            done = await run_cli("torrents", "relocate", h, env=env)
            assert done.code == 0, done
            assert f"-> {target}" in done.out, done.out
            failed = await api.wait_for(
                f"/v1/fsjobs?state=failed&hash={h}", lambda b: len(b["jobs"]) == 1, "failed"
            )
            job = failed["jobs"][0]
            assert job["destination"] == str(target)
            assert job["error"], job
            done = await run_cli("jobs", "list", "--state", "failed", "--json", env=env)
            assert [j["id"] for j in orjson.loads(done.out)] == [job["id"]], done

            target.unlink()
            done = await run_cli("jobs", "retry", str(job["id"]), env=env)
            assert done.code == 0, done
            assert f"retry {job['id']}: job {job['id']} pending" in done.out, done.out
            await api.wait_for(f"/v1/fsjobs?state=moved&hash={h}", lambda b: len(b["jobs"]) == 1, "moved")
            assert file_sha256(target) == file_sha256(seeder.path)
            row = await api.wait_for(f"/v1/torrents/{h}", lambda t: t["state"] == "seeding", "seeding again")
            assert row["save_path"] == str(target.parent)

            # A moved job is done: nothing to retry; a job that does not exist is 404.
            await api.call("POST", f"/v1/fsjobs/{job['id']}/retry", 409)
            await api.call("POST", "/v1/fsjobs/999999/retry", 404)
            await api.call("GET", "/v1/fsjobs?state=lost", 422)
            done = await run_cli("jobs", "list", env=env)
            assert "moved" in done.out, done.out
    finally:
        seeder.close()
