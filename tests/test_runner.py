"""The runner, on small real processes: lines, stdin, environment, cancelling a tree."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from megabackup.tools import runner
from megabackup.tools.runner import CancelToken, ProcessStartError, Runner

PY = sys.executable


def python(code: str) -> list[str]:
    return [PY, "-c", code]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but still listed until its parent reaps it.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_output_is_split_on_newlines_and_carriage_returns() -> None:
    seen: list[str] = []
    code = (
        "import sys\n"
        "sys.stderr.write('on stderr\\n'); sys.stderr.flush()\n"
        "sys.stdout.write('one\\ntwo\\r\\nthree\\r 50%\\r100%\\n\\n   \\nlast')\n"
    )
    result = Runner().run(python(code), on_line=seen.append)
    assert result.returncode == 0
    # stderr comes on the same pipe; the last line has no newline and still arrives.
    assert seen == ["on stderr", "one", "two", "three", " 50%", "100%", "last"]
    assert result.lines == tuple(seen)
    assert not result.cancelled


def test_a_line_cut_between_two_reads_arrives_whole() -> None:
    code = (
        "import sys, time\n"
        "sys.stdout.write('first half, '); sys.stdout.flush(); time.sleep(0.2)\n"
        "sys.stdout.write('second half\\r'); sys.stdout.flush(); time.sleep(0.2)\n"
        "sys.stdout.write('\\nnext\\n')\n"
    )
    seen: list[str] = []
    Runner().run(python(code), on_line=seen.append)
    assert seen == ["first half, second half", "next"]


def test_lines_arrive_while_the_process_still_runs() -> None:
    arrived: list[float] = []
    code = "import time; print('early', flush=True); time.sleep(0.5); print('late')"
    started = time.monotonic()
    result = Runner().run(python(code), on_line=lambda _line: arrived.append(time.monotonic()))
    assert len(arrived) == 2
    assert arrived[0] - started < result.seconds - 0.3


def test_utf8_and_undecodable_bytes_do_not_stop_the_output() -> None:
    code = "import sys; sys.stdout.buffer.write('Jörg ✓\\n'.encode() + b'bad \\xff byte\\nend\\n')"
    seen: list[str] = []
    Runner().run(python(code), on_line=seen.append)
    assert seen[0] == "Jörg ✓"
    assert seen[1].startswith("bad ") and seen[1].endswith(" byte")
    assert seen[2] == "end"


def test_the_result_holds_every_line_and_the_last_ones_on_request() -> None:
    result = Runner().run(python("for i in range(10): print(i)"))
    assert result.lines == tuple(str(i) for i in range(10))
    assert result.last_lines(2) == "8\n9"


def test_keep_drops_noise_from_lines_log_and_callback() -> None:
    logged: list[str] = []
    seen: list[str] = []
    result = Runner(log=logged.append).run(
        python("print('keep 1'); print('drop'); print('keep 2')"),
        on_line=seen.append,
        keep=lambda line: line != "drop",
    )
    assert seen == ["keep 1", "keep 2"]
    assert result.lines == ("keep 1", "keep 2")
    assert "drop" not in logged


def test_the_log_gets_the_command_the_lines_and_the_exit_code() -> None:
    logged: list[str] = []
    Runner(log=logged.append).run(python("print('hi'); raise SystemExit(3)"))
    assert logged[0].startswith("$ ") and PY in logged[0]
    assert "hi" in logged
    assert logged[-1].startswith("[exit code 3")


def test_the_exit_code_is_returned() -> None:
    assert Runner().run(python("raise SystemExit(7)")).returncode == 7


def test_stdin_is_closed() -> None:
    # A program that asks a question gets end-of-file at once instead of hanging.
    code = "import sys; data = sys.stdin.read(); print('read', len(data))"
    result = Runner().run(python(code))
    assert result.lines == ("read 0",)
    assert result.seconds < 5


def test_environment_and_working_folder_are_passed(tmp_path: Path) -> None:
    env = dict(os.environ, MEGABACKUP_PROBE="a value with spaces")
    code = "import os; print(os.environ['MEGABACKUP_PROBE']); print(os.getcwd())"
    result = Runner().run(python(code), env=env, cwd=tmp_path)
    assert result.lines == ("a value with spaces", str(tmp_path))


def test_arguments_are_passed_as_is_without_a_shell() -> None:
    args = ["two words", "$HOME", "a;b", "*", '"q"']
    result = Runner().run([*python("import sys; print(sys.argv[1:])"), *args])
    assert result.lines == (repr(args),)


def test_a_missing_program_raises_process_start_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "no such program")
    with pytest.raises(ProcessStartError) as caught:
        Runner().run([missing, "--version"])
    assert caught.value.program == missing
    assert missing in str(caught.value)


def test_a_consumer_that_raises_does_not_stop_the_draining() -> None:
    seen: list[str] = []

    def faulty(line: str) -> None:
        seen.append(line)
        if line == "2":
            raise RuntimeError("consumer bug")

    result = Runner().run(python("for i in range(5): print(i)"), on_line=faulty)
    assert seen == ["0", "1", "2", "3", "4"]
    assert result.returncode == 0


def test_a_cancel_before_the_start_starts_nothing(tmp_path: Path) -> None:
    cancel = CancelToken()
    cancel.cancel()
    marker = tmp_path / "ran"
    result = Runner().run(python(f"open({str(marker)!r}, 'w')"), cancel=cancel)
    assert result.cancelled
    assert not marker.exists()


def test_cancel_token_wait_is_cut_short_by_a_cancel() -> None:
    cancel = CancelToken()
    threading.Timer(0.1, cancel.cancel).start()
    started = time.monotonic()
    assert cancel.wait(5) is True
    assert time.monotonic() - started < 2
    assert CancelToken().wait(0.01) is False


@pytest.mark.skipif(os.name == "nt", reason="process ids are read from /proc")
def test_cancel_kills_the_whole_process_tree(tmp_path: Path) -> None:
    """A child that starts a grandchild (as a one-file exe does): both must be gone."""
    pids = tmp_path / "pids"
    code = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    cancel = CancelToken()

    def cancel_when_started(line: str) -> None:
        if line == "started":
            cancel.cancel()

    started = time.monotonic()
    result = Runner().run(python(code), on_line=cancel_when_started, cancel=cancel)
    assert result.cancelled
    assert result.returncode != 0
    assert time.monotonic() - started < 10
    parent, grandchild = (int(p) for p in pids.read_text().split())
    assert wait_for(lambda: not alive(parent))
    assert wait_for(lambda: not alive(grandchild)), "the grandchild outlived the cancel"


@pytest.mark.skipif(os.name == "nt", reason="signals")
def test_cancel_forces_a_child_that_ignores_the_polite_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import megabackup.tools.runner as runner_module

    monkeypatch.setattr(runner_module, "TERMINATE_GRACE_SECONDS", 0.5)
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    cancel = CancelToken()
    result = Runner().run(
        python(code),
        on_line=lambda line: cancel.cancel() if line == "ready" else None,
        cancel=cancel,
    )
    assert result.cancelled
    assert result.returncode == -9
    assert result.seconds < 10


def test_recorded_tool_output_comes_out_as_the_tests_read_it(recorded) -> None:
    """The parser tests split recorded output the way this runner does; prove it on unison's
    progress bars (bare \\r) and rdiff-backup's wrapped lines."""
    for tool, name in (("unison", "keep-both-server-newer"), ("rdiff", "backup-force-repair")):
        raw = recorded.raw(tool, name)
        code = f"import sys; sys.stdout.buffer.write({raw!r})"
        result = Runner().run(python(code))
        assert list(result.lines) == recorded.lines(tool, name)


# ---- tools end with MegaBackup -------------------------------------------------------------------
def _pid_of_tool(started: subprocess.Popen, timeout: float = 20) -> int:
    assert started.stdout is not None
    line = started.stdout.readline().strip()
    assert line.startswith("tool "), f"the stand-in did not start its tool: {line!r}"
    return int(line.split()[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_tool_ends_when_megabackup_is_killed_alone() -> None:
    # A stand-in for the cycle: a lane thread of a pool starts the tool and waits on it; then the
    # process alone (not its group) is killed, as by a crash or the OOM killer.
    code = (
        "import sys, threading\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from megabackup.tools.runner import Runner\n"
        "tool = [sys.executable, '-c', 'import os, time; print(os.getpid(), flush=True); "
        "time.sleep(60)']\n"
        "def lane():\n"
        "    Runner().run(tool, on_line=lambda line: print('tool', line, flush=True))\n"
        "with ThreadPoolExecutor(2) as pool:\n"
        "    pool.submit(lane)\n"
    )
    stand_in = subprocess.Popen(python(code), stdout=subprocess.PIPE, text=True)
    try:
        tool = _pid_of_tool(stand_in)
        assert alive(tool)
        stand_in.kill()
        stand_in.wait()
        assert wait_for(lambda: not alive(tool), 0.5), "the tool outlived MegaBackup"
    finally:
        stand_in.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_tool_outlives_the_thread_that_asked_for_it() -> None:
    # Linux sends the parent-death signal when the *thread* that forked ends, so a tool must
    # never be forked by a short-lived thread (a finished lane, the tray's cycle thread).
    started: list[subprocess.Popen] = []
    asker = threading.Thread(
        target=lambda: started.append(runner.start(["sleep", "30"], stdout=subprocess.DEVNULL))
    )
    asker.start()
    asker.join()
    (tool,) = started
    try:
        time.sleep(0.3)
        assert tool.poll() is None, "the tool died with the thread that asked for it"
    finally:
        tool.kill()
        tool.wait()


def test_a_lane_that_finishes_leaves_the_tool_of_another_lane_running() -> None:
    results: dict[str, object] = {}

    def lane(name: str, code: str) -> None:
        results[name] = Runner().run(python(code))

    slow = threading.Thread(
        target=lane, args=("slow", "import time; time.sleep(1.0); print('finished')")
    )
    quick = threading.Thread(target=lane, args=("quick", "print('quick')"))
    slow.start()
    time.sleep(0.2)
    quick.start()
    quick.join()  # this lane's thread is gone while the slow tool still runs
    slow.join()
    assert results["slow"].returncode == 0 and results["slow"].lines == ("finished",)
