"""The repaired wheel (``make dist-test``): it carries libtorrent, Boost and OpenSSL, and it is all a bare
Debian 12 needs.

``auditwheel show`` names a manylinux tag and the wheel holds the grafted libraries. In a container from
the Debian 12 base with python3 and python3-venv only (no libtorrent, no compiler), ``pip install``
of the wheel, then ``revaer serve`` with no ``DATABASE_URL`` runs its embedded PostgreSQL, is claimed,
downloads a torrent from a libtorrent seeder on the host over loopback, and the payload's hash is the
seeder's.
"""

from __future__ import annotations

import secrets
import subprocess
import zipfile
from pathlib import Path

import aiohttp
import pytest

from tests.containers.engine import BASE, REPO, Container, claim, download_from, run, wait_healthy
from tests.e2e.server import LOOPBACK_CONFIG, free_port
from tests.support.engine import Seeder

DIST = REPO / "dist"
PAYLOAD_SIZE = 16 * 1024 * 1024

pytestmark = pytest.mark.timeout(900)


def _wheel() -> Path:
    wheels = sorted(DIST.glob("revaer-*manylinux*.whl"))
    assert len(wheels) == 1, f"expected one repaired wheel in dist/ (make dist): {wheels}"
    return wheels[0]


def test_auditwheel_bundles_libtorrent_boost_openssl() -> None:
    wheel = _wheel()
    tool = REPO / "build" / "dist-venv" / "bin" / "python"  # make dist's venv has auditwheel
    show = subprocess.run(
        [str(tool), "-m", "auditwheel", "show", str(wheel)], capture_output=True, text=True, check=False
    )
    assert show.returncode == 0, show.stderr
    text = " ".join(show.stdout.split())
    assert "manylinux_2_" in text, text
    names = [Path(n).name for n in zipfile.ZipFile(wheel).namelist() if n.startswith("revaer.libs/")]
    for lib in ("libtorrent-rasterbar", "libssl", "libcrypto"):
        assert any(n.startswith(lib) for n in names), f"{lib} not bundled: {names}"
    # Boost: libtorrent 2.0 uses it header-only (Boost.System too, since 1.69), so its code is compiled
    # into the bundled libtorrent, and no libboost library is left to find on the target.
    with zipfile.ZipFile(wheel) as z:
        lt = next(n for n in z.namelist() if Path(n).name.startswith("libtorrent-rasterbar"))
        assert b"N5boost4asio" in z.read(lt), "no Boost.Asio code in the bundled libtorrent"
    assert "libboost" not in text, text
    print("bundled:", sorted(names))


async def test_wheel_on_bare_debian_downloads_with_embedded_postgres(workdir: Path) -> None:
    _wheel()
    tag = secrets.token_hex(4)
    image = f"localhost/revaer-wheel-test:{tag}"
    run(
        "build", "--network=host", "--build-arg", f"BASE={BASE}",
        "-f", str(REPO / "tools/container/wheel-test.Containerfile"), "-t", image, str(DIST),
    )  # fmt: skip
    seeder = Seeder(workdir / "peer", PAYLOAD_SIZE)
    box = Container(f"revaer-wheel-test-{tag}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = "/home/user/data"
    try:
        box.start(image, ["revaer", "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", data])
        # A machine without them: no libtorrent outside the wheel, no compiler.
        libs = box.exec("sh", "-c", "ldconfig -p | grep -c -e libtorrent -e libboost || true")
        assert libs.strip() == "0", libs
        assert box.exec("sh", "-c", "command -v cc g++ c++ gcc || true").strip() == ""
        health = await wait_healthy(box, url)
        assert health["setup"] is True, health
        environ = box.exec("sh", "-c", "tr '\\0' '\\n' < /proc/1/environ")
        assert "DATABASE_URL" not in environ, environ
        token = box.exec("cat", f"{data}/setup-token").strip()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            key = await claim(http, url, token, "correct horse battery")
            auth = {"Authorization": f"Bearer {key}"}
            async with http.patch(f"{url}/v1/config", json=LOOPBACK_CONFIG, headers=auth) as r:
                assert r.status == 200, await r.text()
            await download_from(http, url, seeder, auth, box, f"{data}/downloads")
        assert box.stop() == 0, box.logs()
    finally:
        box.remove()
        run("rmi", "-f", image, check=False)
        seeder.close()
