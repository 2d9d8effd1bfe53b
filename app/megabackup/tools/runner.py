"""The only place in MegaBackup that starts processes.

Every child gets an argv list (never a shell), a closed stdin, and no console window on Windows.
Its output (stdout and stderr together, in order) is split into lines on \\n and \\r, passed to a
callback and to the run log as it arrives, and returned with the result, so each tool's module
reads what its tool said without collecting it itself.
Cancelling ends the whole process tree: a one-file exe is two processes, and killing only the
first one leaves the second running.

The tools also end when MegaBackup ends, however it ends (a crash, "End task", kill -9): a tool
left writing alone would hold its repository's lock against the next cycle. On Linux each child
asks for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG). Linux sends it when the *thread*
that started the child ends, so every child is started from one launcher thread that lives as
long as the process: a snapshot lane's pool thread or the tray's cycle thread may end while
tools they did not start still run. On Windows every child goes into a job object that ends its
processes when MegaBackup's handle to it closes, which Windows does when MegaBackup ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from megabackup import winsys
from megabackup.errors import MegaBackupError

LineSink = Callable[[str], None]
TERMINATE_GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.1


class CancelToken:
    """Set from any thread to ask the running step (and its process tree) to stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to seconds; True if cancelled meanwhile (a sleep that a cancel cuts short).

        Short sleeps rather than a timed Event.wait: the same to the caller, and it keeps
        working under libfaketime (the clock-skew tests), which stalls timed lock waits."""
        deadline = time.monotonic() + seconds
        while not self._event.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(_POLL_SECONDS, left))
        return True


class ProcessStartError(MegaBackupError):
    """The program could not be started at all (missing, not executable)."""

    def __init__(self, program: str, reason: str) -> None:
        super().__init__(f"could not start {program}: {reason}")
        self.program = program
        self.reason = reason


@dataclass(frozen=True)
class ProcessResult:
    argv: tuple[str, ...]
    returncode: int
    lines: tuple[str, ...]  # every line it printed, in order (noise dropped by `keep`)
    cancelled: bool
    seconds: float

    def last_lines(self, count: int = 5) -> str:
        return "\n".join(self.lines[-count:])


class Runner:
    """Starts child processes; one instance per cycle, sharing that cycle's run log."""

    def __init__(self, log: LineSink | None = None) -> None:
        self._log = log

    def note(self, line: str) -> None:
        """A line of our own in the run log, beside what the tools say (e.g. why we wait)."""
        if self._log:
            self._log(line)

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        on_line: LineSink | None = None,
        cancel: CancelToken | None = None,
        keep: Callable[[str], bool] | None = None,
    ) -> ProcessResult:
        """Run argv to the end (or a cancel); keep(line) False drops noise such as progress bars."""
        argv = tuple(str(a) for a in argv)
        lines: list[str] = []

        def deliver(line: str) -> None:
            if keep is not None and not keep(line):
                return
            lines.append(line)
            if self._log:
                self._log(line)
            if on_line:
                on_line(line)

        started = time.monotonic()
        if self._log:
            self._log("$ " + " ".join(_quote(a) for a in argv))
        if cancel is not None and cancel.cancelled:
            return ProcessResult(argv, -1, (), True, 0.0)
        try:
            process = start(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=dict(env) if env is not None else None,
            )
        except OSError as exc:
            raise ProcessStartError(argv[0], exc.strerror or str(exc)) from None
        reader = threading.Thread(target=_pump, args=(process, deliver), daemon=True)
        reader.start()
        try:
            returncode, cancelled = _wait(process, cancel)
        except BaseException:  # Ctrl+C in a console: the child has its own group and won't see it
            end_process_tree(process)
            raise
        reader.join(timeout=TERMINATE_GRACE_SECONDS)
        seconds = time.monotonic() - started
        if self._log:
            self._log(
                f"[exit code {returncode}{', cancelled' if cancelled else ''}, {seconds:.1f} s]"
            )
        return ProcessResult(argv, returncode, tuple(lines), cancelled, seconds)


def _wait(process: subprocess.Popen[bytes], cancel: CancelToken | None) -> tuple[int, bool]:
    """Until the child ends (its exit code, and whether a cancel ended it), ending its tree when
    the cancel comes. On POSIX a timed wait polls with sleeps of up to 50 ms, which every tool
    run would pay once at its end: there the wait blocks, and a watcher thread looks at the
    cancel. On Windows a timed wait returns as the child ends, and Ctrl+C gets through between
    the waits, which a wait without end would hold back."""
    if os.name == "nt":
        cancelled = False
        while True:
            try:
                return process.wait(timeout=_POLL_SECONDS), cancelled
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.cancelled and not cancelled:
                    cancelled = True
                    end_process_tree(process)
    if cancel is None:
        return process.wait(), False
    ended = threading.Event()
    stopped: list[bool] = []  # set by the watcher when it ended the tree

    def watch() -> None:
        while not ended.is_set():
            if cancel.cancelled:
                stopped.append(True)
                end_process_tree(process)
                return
            time.sleep(_POLL_SECONDS)  # not a timed Event.wait: libfaketime stalls those

    watcher = threading.Thread(target=watch, name="megabackup-cancel-watch", daemon=True)
    watcher.start()
    try:
        returncode = process.wait()
    finally:
        ended.set()
    if cancel.cancelled and watcher.is_alive():  # a cancel at the very end: let it say so
        watcher.join()
    return returncode, bool(stopped)


def start(argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    """Popen with our platform options, as a child that ends when this process ends."""
    if os.name == "nt":
        # No console window flashes up, and the child gets a group of its own to end as a tree.
        flags = subprocess.CREATE_NO_WINDOW | subprocess.CREATE_NEW_PROCESS_GROUP
        process = subprocess.Popen(argv, creationflags=flags, **options)
        _join_our_job(process)
        return process
    # its own process group, so killpg ends the whole tree
    options = {"start_new_session": True, **options}
    if _PRCTL is None:
        return subprocess.Popen(argv, **options)
    parent = os.getpid()
    return _LAUNCHER.start(
        lambda: subprocess.Popen(argv, preexec_fn=lambda: _die_with(parent), **options)
    )


def end_with_parent() -> None:
    """Make this process end when the process that started it ends: the second process of a
    one-file exe (`MegaBackup --rdiff-backup`), whose bootloader parent the runner's signal
    reaches but which a signal to the bootloader does not."""
    if _PRCTL is not None:
        _die_with(os.getppid())


# ---- children that end with us -------------------------------------------------------------------
PR_SET_PDEATHSIG = 1


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    return prctl  # type: ignore[no-any-return]


_PRCTL = _libc_prctl()  # looked up before any fork: the child only calls it


def _die_with(parent: int) -> None:
    """In the child, before it runs the tool: SIGKILL when the parent dies; and if the parent
    died between the fork and this call, at once (the signal would never come)."""
    assert _PRCTL is not None
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


class _Launcher:
    """One thread, alive as long as the process, that starts every child (see the module's
    docstring: the parent-death signal follows the starting thread)."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[_Launch] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, popen: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="megabackup-launcher", daemon=True
                )
                self._thread.start()
        request = _Launch(popen)
        self._requests.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.process is not None
        return request.process

    def _serve(self) -> None:
        while True:
            request = self._requests.get()
            try:
                request.process = request.popen()
            except BaseException as exc:  # handed to the thread that asked
                request.error = exc
            finally:
                request.done.set()


class _Launch:
    def __init__(self, popen: Callable[[], subprocess.Popen[bytes]]) -> None:
        self.popen = popen
        self.process: subprocess.Popen[bytes] | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()


_LAUNCHER = _Launcher()
_JOB: list[int | None] = []  # made once, on the first child (Windows)
_JOB_LOCK = threading.Lock()  # two lanes may start their first tools at once


def _join_our_job(process: subprocess.Popen[bytes]) -> None:
    with _JOB_LOCK:
        if not _JOB:
            _JOB.append(winsys.job_that_ends_with_us())
        job = _JOB[0]
    if job is not None:  # else Windows refused a job: the tools outlive a crash, as before
        winsys.put_in_job(job, int(process._handle))  # type: ignore[attr-defined]


def _pump(process: subprocess.Popen[bytes], deliver: LineSink) -> None:
    """Read raw output and cut it into lines on \\n or \\r (progress bars use \\r)."""
    assert process.stdout is not None
    pending = b""
    stream = process.stdout
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for raw in lines:
            _deliver_safely(deliver, raw)
    if pending:
        _deliver_safely(deliver, pending)
    stream.close()


def _deliver_safely(deliver: LineSink, raw: bytes) -> None:
    line = raw.decode("utf-8", errors="replace").rstrip()
    if not line:
        return
    with contextlib.suppress(Exception):  # a faulty consumer must not stop the draining
        deliver(line)


def end_process_tree(process: subprocess.Popen[bytes]) -> None:
    """Ask politely, then force: the whole tree, not just the first process."""
    if process.poll() is not None:
        return
    if os.name == "nt":
        subprocess.run(
            ["taskkill", "/T", "/F", "/PID", str(process.pid)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            creationflags=subprocess.CREATE_NO_WINDOW,
            check=False,
        )
        return
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=TERMINATE_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
    # A grandchild that ignored SIGTERM may outlive its parent; the group id still reaches it.
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _quote(arg: str) -> str:
    return f'"{arg}"' if (" " in arg or not arg) else arg
