"""A socket guard: any connection or DNS lookup beyond loopback is blocked and recorded.

Used by the autouse pytest fixture, and by `subprocess_site/sitecustomize.py` for CLI
processes the tests start, so "offline" is checked rather than assumed.
"""

import ipaddress
import socket
import sys
from collections.abc import Callable
from typing import Any

MARKER = "NETWORK GUARD: blocked"


class NetworkBlockedError(OSError):
    pass


def is_loopback(address: Any) -> bool:
    """For a socket address: an (host, port, ...) tuple, or an AF_UNIX path."""
    if isinstance(address, str | bytes):
        return True
    return is_loopback_host(address[0])


def is_loopback_host(host: Any) -> bool:
    if host in (None, "", "localhost", b"localhost"):
        return True
    if isinstance(host, bytes):
        host = host.decode()
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return host.endswith(".localhost")


def _is_ip_literal(host: Any) -> bool:
    """Resolving an IP literal sends nothing; the connect that follows is checked."""
    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
    except ValueError:
        return False
    return True


class NetworkGuard:
    def __init__(self, on_violation: Callable[[str], None] | None = None) -> None:
        self.violations: list[str] = []
        self._on_violation = on_violation
        self._saved: dict[tuple[Any, str], Any] = {}

    def _block(self, what: str) -> None:
        self.violations.append(what)
        if self._on_violation:
            self._on_violation(what)
        raise NetworkBlockedError(f"{MARKER}: {what} (tests run offline)")

    def install(self) -> None:
        guard = self
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_sendto = socket.socket.sendto
        real_getaddrinfo = socket.getaddrinfo

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family != socket.AF_UNIX and not is_loopback(address):
                guard._block(f"connect to {address!r}")
            return real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            if sock.family != socket.AF_UNIX and not is_loopback(address):
                guard._block(f"connect to {address!r}")
            return real_connect_ex(sock, address)

        def sendto(sock: socket.socket, data: bytes, *args: Any) -> Any:
            address = args[-1]
            if sock.family != socket.AF_UNIX and not is_loopback(address):
                guard._block(f"sendto {address!r}")
            return real_sendto(sock, data, *args)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_loopback_host(host) and not _is_ip_literal(host):
                guard._block(f"DNS lookup of {host!r}")
            return real_getaddrinfo(host, *args, **kwargs)

        for owner, name, replacement in (
            (socket.socket, "connect", connect),
            (socket.socket, "connect_ex", connect_ex),
            (socket.socket, "sendto", sendto),
            (socket, "getaddrinfo", getaddrinfo),
        ):
            self._saved[(owner, name)] = getattr(owner, name)
            setattr(owner, name, replacement)

    def uninstall(self) -> None:
        for (owner, name), original in self._saved.items():
            setattr(owner, name, original)
        self._saved.clear()


def install_for_process() -> NetworkGuard:
    """For child processes: report each violation on stderr, where the test looks."""
    guard = NetworkGuard(on_violation=lambda what: print(f"{MARKER}: {what}", file=sys.stderr))
    guard.install()
    return guard
