"""One tray per user: a lock file says who runs, a local socket carries a second launch's request.

The first tray holds `tray.lock` in the state folder for as long as it lives (the OS drops the
lock if it dies) and listens on 127.0.0.1 on a free port, written with a random token to
`tray.json`. A second launch finds the lock taken, sends its request ("backup-now" by default)
with the token, and exits: no second icon. The token keeps other local users out.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import filelock

from megabackup.errors import MegaBackupError
from megabackup.files import write_json

log = logging.getLogger(__name__)

COMMANDS = (
    "backup-now",
    "cancel",
    "pause-30m",
    "pause-1h",
    "pause-4h",
    "pause-tomorrow",
    "pause-forever",
    "resume",
    "reload",
    "settings",
    "history",
    "quit",
)
_FIND_SECONDS = 5.0  # a tray that has just started may not have written its address yet


class InstanceError(MegaBackupError):
    """No running tray could be reached."""


class Instance:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.address_file = root / "tray.json"
        self._lock = filelock.FileLock(str(root / "tray.lock"))
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def acquire(self) -> bool:
        """True if this process is the one tray; False if another one runs."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        return True

    def serve(self, handle: Callable[[str], None]) -> None:
        """Listen for requests from later launches; `handle` gets each known command."""
        token = secrets.token_hex(16)
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        server.settimeout(0.5)  # so close() is noticed
        self._server = server
        port = server.getsockname()[1]
        # whole or not at all: a second launch may read it at once (and only this user may)
        write_json(self.address_file, {"port": port, "token": token, "pid": os.getpid()})
        self._thread = threading.Thread(
            target=self._accept,
            args=(server, token, handle),
            name="megabackup-instance",
            daemon=True,
        )
        self._thread.start()

    def _accept(self, server: socket.socket, token: str, handle: Callable[[str], None]) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            with connection:
                connection.settimeout(2)
                reply = self._answer(connection, token, handle)
                with contextlib.suppress(OSError):
                    connection.sendall(reply.encode() + b"\n")

    def _answer(self, connection: socket.socket, token: str, handle: Callable[[str], None]) -> str:
        try:
            request = json.loads(_read_line(connection))
            given, command = str(request.get("token", "")), str(request.get("command", ""))
        except (OSError, ValueError, AttributeError):
            return "error: bad request"
        if not hmac.compare_digest(given, token):
            return "error: wrong token"
        if command not in COMMANDS:
            return f"error: unknown command {command}"
        try:
            handle(command)
        except Exception as exc:
            log.exception("instance request %s failed", command)
            return f"error: {exc}"
        return "ok"

    def close(self) -> None:
        self._closed.set()
        if self._server is not None:
            self._server.close()
        if self._thread is not None:
            self._thread.join(2)
        with contextlib.suppress(OSError):
            if self._lock.is_locked:
                self.address_file.unlink(missing_ok=True)
        self._lock.release()


def send(
    root: Path, command: str, timeout: float = _FIND_SECONDS, *, starting: bool = False
) -> None:
    """Ask the running tray to do `command`; raises InstanceError when none answers.

    `starting`: the caller saw the tray's lock held, so wait for it to write its address.
    """
    if command not in COMMANDS:
        raise InstanceError(f"unknown request {command!r}; known: {', '.join(COMMANDS)}")
    if not starting and not (root / "tray.json").exists():  # no tray, or it quit cleanly
        raise InstanceError("no running MegaBackup tray was found")
    deadline = time.monotonic() + timeout
    problem = "no running MegaBackup tray was found"
    while True:
        try:
            address = json.loads((root / "tray.json").read_text())
            with socket.create_connection(("127.0.0.1", int(address["port"])), timeout=5) as conn:
                conn.sendall(json.dumps({"token": address["token"], "command": command}).encode())
                conn.sendall(b"\n")
                reply = _read_line(conn)
            if reply != "ok":
                raise InstanceError(f"the running tray said: {reply}")
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problem = f"the running MegaBackup tray did not answer ({exc.__class__.__name__})"
        if time.monotonic() > deadline:
            raise InstanceError(problem)
        time.sleep(0.2)


def _read_line(connection: socket.socket, limit: int = 4096) -> str:
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = connection.recv(1024)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", errors="replace").strip()
