"""`python -m bench --realfs` runs end to end: MegaBackup and the cp/rsync limit on ext4 and in
the real-filesystems world, one table, nothing left behind. Correctness only, no timing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .world import REPO, mounted_points


def test_the_realfs_benchmark_runs_end_to_end_and_prints_its_table(tmp_path: Path) -> None:
    small = ["--files", "60", "--data-files", "20", "--max-size", "0.05", "--runs", "1"]
    argv = [sys.executable, "-m", "bench", "--realfs", *small, "--dir", str(tmp_path)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=REPO)

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "ext4 wall" in out and "real fs wall" in out
    rows = [line for line in out.splitlines() if re.match(r"^(first cycle|no change|1% )", line)]
    assert len(rows) == 6, out
    for line in rows:
        assert re.search(r"\d+\.\d\dx", line) and line.rstrip().endswith("ok"), line
    assert "MegaBackup (real fs) snapshot-server-home" in out, "the steps in the world"
    assert list(tmp_path.iterdir()) == []
    assert not [point for point in mounted_points() if point.startswith(str(tmp_path))]
