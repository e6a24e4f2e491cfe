"""The check each fast path makes before it leans on another package's internals.

Every module of chat.infra.fast (and each server patch in chatproject.servers)
uses private or undocumented attributes of daphne, autobahn, Twisted, uvicorn,
websockets, channels_redis or redis-py, pinned in requirements.txt. An upgrade
may rename one. So each path names what it uses, and checks it: on the classes
at start-up (the launchers run every check and log what is on), and on a live
instance at first use where the attribute is set per instance. A miss logs one
error naming the attribute and the package versions, and turns the path off for
the process: the standard ASGI path (or stock code) takes over. /metrics shows
each path (`chat_fast_path`), and tests/test_servers.py fails when one is off.
"""

import logging
from collections.abc import Iterable
from importlib import metadata
from typing import Any

logger = logging.getLogger("chat.infra.fast")

UNCHECKED = "unchecked"  # nothing looked at yet
READY = "ready"  # the classes have what the path uses; no live instance seen yet
ON = "on"  # in use: checked on a live instance too (or has no instance checks)
OFF = "off"  # a check failed: the stock path is taken

_paths: dict[str, "FastPath"] = {}


def versions(packages: Iterable[str]) -> str:
    """'daphne 4.2.3, autobahn 26.10.2': what is installed, for the log."""
    found = []
    for package in packages:
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return ", ".join(found)


def has(owner: Any, name: str) -> bool:
    """Whether `owner` (a class, a module or an instance) has `name`, without
    running a `__getattr__` hook (channels_redis' layer forwards unknown names to
    a per-loop layer it builds, which needs a running loop)."""
    if isinstance(owner, type):
        return hasattr(owner, name)
    try:
        if name in vars(owner):
            return True
    except TypeError:  # __slots__
        return hasattr(owner, name)
    return hasattr(type(owner), name)


class FastPath:
    """One fast path's state in this process."""

    def __init__(self, name: str, packages: tuple[str, ...], fallback: str) -> None:
        self.name = name
        self.packages = packages
        self.fallback = fallback  # what runs instead, for the log
        self.state = UNCHECKED
        self.off = False  # read on every direct write: a plain attribute
        self.missing: str | None = None
        _paths[name] = self

    def require(self, owner: Any, label: str, names: Iterable[str]) -> bool:
        """True when `owner` (shown as `label`) has every one of `names`;
        otherwise the path goes off (logged once) and False."""
        if self.off:
            return False
        for name in names:
            if not has(owner, name):
                self.turn_off(f"{label}.{name}")
                return False
        return True

    def ready(self) -> None:
        if self.state == UNCHECKED:
            self.state = READY

    def confirm(self) -> None:
        """A live instance had everything too."""
        if self.state in (UNCHECKED, READY):
            self.state = ON

    def turn_off(self, missing: str) -> None:
        """Off for the rest of the process; the first call logs why."""
        if self.off:
            return
        self.state = OFF
        self.off = True
        self.missing = missing
        logger.error(
            "fast path %s off: %s is missing (%s); %s",
            self.name,
            missing,
            versions(self.packages),
            self.fallback,
        )


def missed(path: FastPath, error: AttributeError) -> None:
    """An attribute found missing in use, after the checks passed: off."""
    owner = type(error.obj).__name__ if error.obj is not None else "?"
    path.turn_off(f"{owner}.{error.name} (in use)")


def paths() -> list[FastPath]:
    """The paths this process has checked, for /metrics and the start-up log."""
    return [path for path in _paths.values() if path.state != UNCHECKED]


def log_summary() -> None:
    for path in paths():
        logger.info("fast path %s: %s", path.name, path.state)
