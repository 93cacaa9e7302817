"""``app/networkInterfaceList`` and ``app/networkInterfaceAddressList``: the machine's interfaces
and their addresses, as qBittorrent lists them for its "Network interface" preference.

Linux only, from the kernel directly: names from ``if_nameindex``, the IPv4 address of each through
``SIOCGIFADDR``, the IPv6 addresses from ``/proc/net/if_inet6``.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import socket
import struct
from pathlib import Path

from aiohttp import web

from revaer.api.qbittorrent.reading import json_response, params

_SIOCGIFADDR = 0x8915
_IF_INET6 = Path("/proc/net/if_inet6")


def interface_names() -> list[str]:
    return [name for _, name in socket.if_nameindex()]


def _ipv4(name: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, contextlib.suppress(OSError):
        packed = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        return socket.inet_ntoa(packed[20:24])
    return None


def _ipv6() -> list[tuple[str, str]]:
    """(interface, address) for every IPv6 address."""
    try:
        lines = _IF_INET6.read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 6:
            out.append((fields[5], str(ipaddress.IPv6Address(bytes.fromhex(fields[0])))))
    return out


def addresses(interface: str = "") -> list[str]:
    """The addresses of ``interface`` (every interface's when empty), IPv4 first."""
    names = [interface] if interface else interface_names()
    out = [a for a in map(_ipv4, names) if a is not None]
    out += [addr for name, addr in _ipv6() if name in names]
    return out


async def network_interface_list(request: web.Request) -> web.Response:
    return json_response([{"name": name, "value": name} for name in interface_names()])


async def network_interface_address_list(request: web.Request) -> web.Response:
    p = await params(request)
    return json_response(addresses(p.get("iface", "")))
