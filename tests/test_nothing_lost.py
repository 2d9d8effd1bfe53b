"""The proof of "nothing lost": a model-based property test with the real tools.

Each step: the person's random edits across the three places (create, edit, delete and rename on
the desktop or the server, one file edited on both sides, data added on the server), then a cycle
(sometimes with retention due), a cycle killed at a random moment, a cycle under a skewed desktop
clock, a cycle with the clock days ahead (retention.keep_days is one day, so a clock believed
would age every snapshot), a cycle during which a place or one of its folders drops out and comes
back, a cycle with the share away; or the USB drive is unplugged or plugged back, a listed
folder becomes a link (Pictures moved elsewhere) or is put back, the history database is
damaged, or the faults stop and two quiet cycles run.
Invariants:
1. After every completed cycle: every file version that existed at the start of any cycle
   (completed or killed) is still recoverable, live on a place (conflict copies included) or from
   a snapshot. The one exception is a version that no snapshot ever held (the drive was
   unplugged, the clock was off) and that the person replaced or deleted themselves: no backup
   can keep what it never saw.
2. After the faults stop, two quiet cycles bring every place back to "all good" with nothing
   held, and every repository's newest snapshot holds what its place holds.
Both hold whether a place that is away fails the cycle or only skips its own steps.

A bounded run is part of `make test`. `make property-long` runs many more sequences
(PROPERTY_EXAMPLES, default 1000) and prints what it tried and checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from megabackup.demo import build_places
from megabackup.engine import CycleOptions, CycleResult, run_cycle
from megabackup.files import write_stamp
from megabackup.locations import AppPaths
from megabackup.settings import load
from megabackup.tools import rdiff
from support import FAKETIME, descendants, kill_everything, session_times, under_shifted_clock

NAMES = ["a.txt", "b.txt", "sub/c.txt", "sub/d e.txt", "Üml 😀.txt"]
SIDES = ["desktop", "server"]
SKEW_LIMIT = 5  # seconds; a skewed cycle shifts the desktop clock by more than this
# What the person does between two cycles: one to three edits on the places.
EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.sampled_from(SIDES), st.sampled_from(NAMES)),
        st.tuples(st.just("both"), st.sampled_from(NAMES), st.sampled_from(SIDES)),
        st.tuples(st.just("delete"), st.sampled_from(SIDES), st.sampled_from(NAMES)),
        st.tuples(
            st.just("rename"), st.sampled_from(SIDES), st.sampled_from(NAMES),
            st.sampled_from(NAMES),
        ),
        st.tuples(st.just("data"), st.sampled_from(["survey.csv", "deep/field notes.txt"])),
    ),
    min_size=0,
    max_size=3,
)  # fmt: skip
JUMPS = st.sampled_from(["+2d", "+40d", "+400d"])  # ahead of the server, past keep_days
VANISHING = st.sampled_from(
    ["server/home", "server/home/Documents", "server/data/Projects", "desktop/home/Documents"]
)
TOOLS = st.sampled_from(["rdiff-backup", "unison", ""])  # "" : at a random moment instead
STATS = {"sequences": 0, "steps": 0, "cycles": 0, "killed": 0, "skewed": 0, "unplugged": 0}
STATS.update({"clock jumps": 0, "vanished mid-cycle": 0, "share away": 0, "linked": 0})
STATS.update({"history damaged": 0, "retention due": 0, "quiet checks": 0})
STATS.update({"versions checked": 0, "snapshots restored": 0})
STATS["unseen versions replaced by the person"] = 0
STATS["made while away"] = 0
PROGRESS_EVERY = 25


class NothingLost(RuleBasedStateMachine):
    @initialize()
    def build(self) -> None:
        STATS["sequences"] += 1
        if STATS["sequences"] % PROGRESS_EVERY == 0:  # the long run says how far it got
            print(f"... {_summary()}", flush=True)
        self.root = Path(tempfile.mkdtemp(prefix="megabackup-property-"))
        settings_path = self.lay_out_places(self.root)
        text = settings_path.read_text(encoding="utf-8")
        text = text.replace("[safety]\n", f"[safety]\nmax_clock_skew_seconds = {SKEW_LIMIT}\n")
        text += "[retention]\nkeep_days = 1\n"  # a clock days ahead would make all of it old
        settings_path.write_text(text, encoding="utf-8")
        self.settings_path = settings_path
        self.settings = load(settings_path)
        self.paths = AppPaths(self.root / "state")
        self.homes = {"desktop": self.settings.desktop.home, "server": self.settings.server.home}
        assert self.settings.server.data is not None and self.settings.external.path is not None
        self.data = self.settings.server.data
        self.drive = self.settings.external.path
        self.unplugged = self.drive.with_name("MegaBackup (unplugged)")
        self.elsewhere = self.root / "elsewhere"  # where a linked Pictures really is
        self.linked = False
        self.faulty = False  # a fault since the last quiet check
        self.counter = 0
        self.must_survive: set[str] = set()
        self.restored: dict[tuple[Path, float], set[str]] = {}
        # a file that is never touched keeps Documents from looking "suddenly emptied"
        for home in self.homes.values():
            (home / "Documents" / "keep.txt").write_text("keep\n", encoding="utf-8")

    def lay_out_places(self, root: Path) -> Path:
        """The places for one sequence, with the demo's samples; returns the settings path.
        The real-filesystems variant (tests/realfs) puts them on its share and disks."""
        return build_places(root)

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the person's edits ----------------------------------------------------------------

    def _version(self, label: str) -> str:
        self.counter += 1
        return f"version {self.counter} of {label}\n"

    def _person_touches(self, path: Path) -> None:
        """The person replaces or removes what is at path. A version no snapshot ever held is
        theirs to lose; one that a snapshot holds must stay recoverable."""
        if not path.is_file():
            return
        version = path.read_text(encoding="utf-8")
        if version not in self.must_survive:
            return
        elsewhere = self._live_versions(skip=path)
        if version in elsewhere or version in self._snapshot_versions():
            return
        self.must_survive.discard(version)
        STATS["unseen versions replaced by the person"] += 1

    def _write(self, path: Path, label: str) -> None:
        self._person_touches(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self._version(label), encoding="utf-8")

    def write_file(self, side: str, name: str) -> None:
        self._write(self.homes[side] / "Documents" / name, f"{side}:{name}")

    def edit_on_both_sides(self, name: str, newer: str) -> None:
        for side in SIDES:
            path = self.homes[side] / "Documents" / name
            self._write(path, f"both:{side}:{name}")
            moment = time.time() - (0 if side == newer else 120)
            os.utime(path, (moment, moment))

    def delete_file(self, side: str, name: str) -> None:
        path = self.homes[side] / "Documents" / name
        self._person_touches(path)
        path.unlink(missing_ok=True)

    def rename_file(self, side: str, old: str, new: str) -> None:
        source = self.homes[side] / "Documents" / old
        if source.is_file() and old != new:
            target = self.homes[side] / "Documents" / new
            self._person_touches(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            source.replace(target)

    def add_server_data(self, name: str) -> None:
        self._write(self.data / "Projects" / name, f"data:{name}")

    def _apply(self, edits: list[tuple[str, ...]]) -> None:
        actions = {
            "write": self.write_file,
            "both": self.edit_on_both_sides,
            "delete": self.delete_file,
            "rename": self.rename_file,
            "data": self.add_server_data,
        }
        for kind, *arguments in edits:
            actions[kind](*arguments)

    # -- the drive ---------------------------------------------------------------------------

    @precondition(lambda self: self.drive.exists())
    @rule()
    def unplug_drive(self) -> None:
        STATS["unplugged"] += 1
        self.faulty = True
        self.drive.rename(self.unplugged)

    @precondition(lambda self: self.unplugged.exists())
    @rule()
    def plug_drive(self) -> None:
        self.unplugged.rename(self.drive)

    # -- cycles ------------------------------------------------------------------------------

    def _remember_start(self) -> None:
        """Every version on a place at the start of a cycle must survive it."""
        self.must_survive |= self._live_versions()

    @rule(edits=EDITS, allow_deletions=st.booleans(), tidy=st.booleans())
    def cycle(self, edits: list[tuple[str, ...]], allow_deletions: bool, tidy: bool) -> None:
        self._apply(edits)
        if tidy:  # retention runs once a day: make it due now
            STATS["retention due"] += 1
            write_stamp(self.paths.root, "retention", time.time() - 2 * 86_400)
        result = self._cycle(allow_deletions=allow_deletions)
        if not self.drive.exists():
            assert result.step("sync-home").status in ("away", "skipped"), "no sync without it"
        self._check_nothing_lost()

    def _cycle(self, **options: object) -> CycleResult:
        self._remember_start()
        STATS["cycles"] += 1
        result = run_cycle(
            self.settings, self.paths, options=CycleOptions(trigger="property", **options)
        )
        assert result.outcome in ("ok", "away", "warning", "failed"), result.summary()
        return result

    def _a_fault(self, name: str, edits: list[tuple[str, ...]]) -> None:
        """The person's edits, then a cycle that meets this fault: counted, and remembered until
        the faults stop."""
        self._apply(edits)
        self._remember_start()
        STATS[name] += 1
        self.faulty = True

    @rule(edits=EDITS, delay=st.floats(min_value=0.0, max_value=2.5))
    def killed_cycle(self, edits: list[tuple[str, ...]], delay: float) -> None:
        self._a_fault("killed", edits)
        process = self._start_cli()
        time.sleep(delay)
        kill_everything(process)

    @precondition(lambda self: FAKETIME is not None)
    @rule(edits=EDITS, shift=st.sampled_from(["+8s", "-8s", "+20s"]))
    def skewed_cycle(self, edits: list[tuple[str, ...]], shift: str) -> None:
        self._a_fault("skewed", edits)
        before = {side: self._tree(home) for side, home in self.homes.items()}
        process = self._start_cli(clock_shift=shift)
        process.wait(timeout=300)
        assert process.returncode in (1, 3), "a skewed clock never gives a clean run"
        after = {side: self._tree(home) for side, home in self.homes.items()}
        assert before == after, "nothing may be synced while the clocks disagree"
        self._check_nothing_lost()

    @precondition(lambda self: FAKETIME is not None)
    @rule(edits=EDITS, jump=JUMPS)
    def clock_jumps_ahead_for_a_cycle(self, edits: list[tuple[str, ...]], jump: str) -> None:
        """And back: the next cycle has the right clock again."""
        self._a_fault("clock jumps", edits)
        before = self._sessions()
        process = self._start_cli(clock_shift=jump)
        process.wait(timeout=300)
        assert process.returncode in (1, 3), "a clock days ahead never gives a clean run"
        after = self._sessions()
        assert after == before, "no snapshot dated days ahead, none removed as old"
        self._check_nothing_lost()

    @rule(edits=EDITS, which=VANISHING, during=TOOLS, delay=st.floats(0.0, 2.0),
          gone=st.floats(0.0, 0.5))  # fmt: skip
    def something_drops_out_mid_cycle(
        self, edits: list[tuple[str, ...]], which: str, during: str, delay: float, gone: float
    ) -> None:
        """A place or a folder of it vanishes while a step runs, and comes back."""
        self._a_fault("vanished mid-cycle", edits)
        process = self._start_cli()
        if during:
            _wait_for_child(process, during)
        else:
            time.sleep(delay)
        path = self._folder(which)
        away = path.with_name(path.name + " (away)")
        if process.poll() is None and path.exists():
            path.rename(away)
            time.sleep(gone)
            self._come_back(away, path)
        process.wait(timeout=300)
        # 2: the folder was away as the settings were read ("exists on neither side"): refused
        # before anything ran, as a folder named in the settings that does not exist must be
        assert process.returncode in (0, 1, 2, 3), process.returncode
        self._check_nothing_lost()

    @rule(edits=EDITS)
    def share_away_for_a_cycle(self, edits: list[tuple[str, ...]]) -> None:
        self._a_fault("share away", edits)
        share = self.homes["server"].parent
        away = share.with_name("server (away)")
        share.rename(away)
        try:
            result = self._cycle()
        finally:
            away.rename(share)
        assert result.outcome in ("away", "warning", "failed"), "a share away is never all good"
        assert result.step("sync-home").status != "ok", "no sync without the share"
        self._check_nothing_lost()

    @precondition(lambda self: not self.linked)
    @rule()
    def pictures_become_a_link(self) -> None:
        """The person moves Pictures elsewhere (OneDrive) and leaves a link in its place."""
        STATS["linked"] += 1
        self.faulty = True
        pictures = self.homes["desktop"] / "Pictures"
        self.elsewhere.mkdir(exist_ok=True)
        shutil.move(pictures, self.elsewhere / "Pictures")
        pictures.symlink_to(self.elsewhere / "Pictures")
        self.linked = True

    @precondition(lambda self: self.linked)
    @rule()
    def pictures_come_back(self) -> None:
        self._unlink_pictures()

    def _unlink_pictures(self) -> None:
        pictures = self.homes["desktop"] / "Pictures"
        pictures.unlink()
        shutil.move(self.elsewhere / "Pictures", pictures)
        self.linked = False

    @precondition(lambda self: self.paths.history.exists())
    @rule(how=st.sampled_from(["garbage", "cut short"]))
    def history_is_damaged(self, how: str) -> None:
        STATS["history damaged"] += 1
        self.faulty = True
        history = self.paths.history
        data = history.read_bytes()
        if how == "garbage":
            history.write_bytes(data[:100] + os.urandom(max(len(data) - 100, 4096)))
        else:
            history.write_bytes(data[: len(data) // 2])

    @precondition(lambda self: self.faulty)
    @rule()
    def faults_stop(self) -> None:
        """The second invariant: with every place back, two quiet cycles end all good, nothing
        held, and each repository's newest snapshot holds what its place holds."""
        STATS["quiet checks"] += 1
        self.faulty = False
        if self.unplugged.exists():
            self.unplugged.rename(self.drive)
        if self.linked:
            self._unlink_pictures()
        self._cycle()
        second = self._cycle()
        self._check_nothing_lost()
        steps = [(s.id, s.status, s.detail) for s in second.steps]
        assert second.outcome == "ok", f"not all good after two quiet cycles: {steps}"
        assert not second.deletions_waiting and all(s.status in ("ok", "not-needed")
                                                    for s in second.steps), steps  # fmt: skip
        for place, repository in self._repositories().items():
            assert self._tree(repository) == self._tree(place), f"{repository} lacks {place}"

    def _repositories(self) -> dict[Path, Path]:
        return {
            self.homes["desktop"]: self.settings.desktop.backup / "home",
            self.homes["server"]: self.drive / "home",
            self.data: self.drive / "data",
        }

    def _sessions(self) -> dict[str, list[float]]:
        drive = self.drive if self.drive.exists() else self.unplugged
        repositories = (self.settings.desktop.backup / "home", drive / "home", drive / "data")
        return {r.name + str(i): session_times(r) for i, r in enumerate(repositories)}

    def _come_back(self, away: Path, path: Path) -> None:
        """The folder returns. What the cycle made in its name meanwhile (a first sync takes a
        listed folder missing on the share for a new one and copies the desktop's there) ends
        up beneath it, as under a volume mounted back over its mount point: out of sight."""
        if path.exists():
            STATS["made while away"] += 1
            path.rename(self.root / f"beneath-{STATS['made while away']}")
        away.rename(path)

    def _folder(self, which: str) -> Path:
        """A place, or a folder in it, named as in VANISHING ("server/home/Documents"),
        wherever the places were laid out."""
        places = {"desktop/home": self.homes["desktop"], "server/home": self.homes["server"]}
        places["server/data"] = self.data
        place = next(name for name in places if which == name or which.startswith(name + "/"))
        return places[place] / which[len(place) :].lstrip("/")

    def _start_cli(self, clock_shift: str = "") -> subprocess.Popen:
        env = dict(os.environ, MEGABACKUP_HOME=str(self.paths.root))
        argv = [sys.executable, "-m", "megabackup", "run", "--settings", str(self.settings_path)]
        if clock_shift:
            argv = under_shifted_clock(argv, clock_shift, env)
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @invariant()
    def count_step(self) -> None:
        STATS["steps"] += 1

    # -- the invariant -------------------------------------------------------------------------

    def _check_nothing_lost(self) -> None:
        recoverable = self._live_versions() | self._snapshot_versions()
        missing = self.must_survive - recoverable
        STATS["versions checked"] += len(self.must_survive)
        assert not missing, f"lost: {sorted(missing)} (kept in {self.root})"

    def _live_versions(self, skip: Path | None = None) -> set[str]:
        found: set[str] = set()
        for place in (*self.homes.values(), self.data, self.elsewhere):
            for relative, version in self._tree(place).items():
                if place / relative != skip:
                    found.add(version)
        return found

    def _snapshot_versions(self) -> set[str]:
        drive = self.drive if self.drive.exists() else self.unplugged
        found: set[str] = set()
        prefix = rdiff.locate()
        for repository in (self.settings.desktop.backup / "home", drive / "home", drive / "data"):
            state = rdiff.inspect(repository)
            if not state.exists or state.interrupted_first_backup:
                continue
            if state.interrupted_backup:  # a killed snapshot; the next backup rolls it back
                subprocess.run([*prefix, "--api-version", "201", "regress", str(repository)],
                               capture_output=True)  # fmt: skip
            times = session_times(repository)
            for moment in times[:-1]:  # older snapshots: restore each one once, for real
                found |= self._restore_once(repository, moment)
            found |= set(self._tree(repository).values())  # the newest is the mirror itself
        return found

    def _restore_once(self, repository: Path, moment: float) -> set[str]:
        key = (repository, moment)
        if key not in self.restored:
            target = Path(tempfile.mkdtemp(prefix="restore-", dir=self.root)) / "out"
            argv = [*rdiff.locate(), "--api-version", "201", "restore", "--at", str(int(moment))]
            done = subprocess.run([*argv, str(repository), str(target)], capture_output=True)
            assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]
            STATS["snapshots restored"] += 1
            self.restored[key] = set(self._tree(target).values())
            shutil.rmtree(target.parent, ignore_errors=True)
        return self.restored[key]

    @staticmethod
    def _tree(root: Path) -> dict[str, str]:
        found: dict[str, str] = {}
        if not root.is_dir():
            return found
        for path in root.rglob("*"):
            if "rdiff-backup-data" in path.parts or path.name.startswith(".megabackup"):
                continue
            if path.name.startswith(".unison.") and path.name.endswith(".unison.tmp"):
                continue  # a copy a killed unison left: never snapshotted, never the person's
            if path.is_file():
                found[path.relative_to(root).as_posix()] = path.read_text(
                    encoding="utf-8", errors="replace"
                )
        return found


def _wait_for_child(process: subprocess.Popen, name: str, timeout: float = 60) -> None:
    """Until the cycle has started a process with `name` in its command line (or ended)."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        for pid in descendants(process.pid):
            try:
                if name.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return
            except OSError:
                continue
        time.sleep(0.005)


def _summary() -> str:
    return ", ".join(f"{value} {name}" for name, value in STATS.items())


def _settings(examples: int, steps: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=examples < 50,  # the bounded run in `make test` tries the same sequences
    )


EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "5"))
STEPS = int(os.environ.get("PROPERTY_STEPS", "12"))


def prove_nothing_lost(machine: type[NothingLost], examples: int, steps: int, name: str) -> None:
    """Run the sequences, say what they tried and checked, and keep that line with the
    test's artefacts."""
    STATS.update(dict.fromkeys(STATS, 0))  # each run counts its own
    started = time.time()
    run_state_machine_as_test(machine, settings=_settings(examples, steps))
    line = f"{name}: {_summary()} in {time.time() - started:.0f} s"
    print("\n" + line)
    artifacts = Path(__file__).resolve().parent.parent / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with open(artifacts / "property-stats.txt", "a", encoding="utf-8") as out:
        out.write(line + "\n")
    assert STATS["cycles"] > 0 and STATS["versions checked"] > 0, "the run must check something"


@pytest.mark.timeout(1200 if EXAMPLES <= 50 else 0)  # real cycles; a long run has no limit
@pytest.mark.realtools
@pytest.mark.property
@pytest.mark.posix  # libfaketime and a power cut by SIGKILL
def test_nothing_is_ever_lost() -> None:
    prove_nothing_lost(NothingLost, EXAMPLES, STEPS, "nothing lost")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s"]))
