"""What the one-file build carries, and where it is found at run time.

The spec (build_exe.spec) puts the settings template and the icons at the top of the bundle and
a unison found in vendor/unison/ into its `unison/` folder. In a source checkout the template is
the repository's top-level settings.toml.
"""

from __future__ import annotations

import sys
from pathlib import Path

UNISON_FOLDER = "unison"  # inside the bundle, beside nothing else, so it is easy to find
UNISON_NAMES = ("unison.exe", "unison")
TEMPLATE_NAME = "settings.toml"
SOURCE_ROOT = Path(__file__).resolve().parents[2]  # app/megabackup/bundle.py -> the checkout


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def bundle_dir() -> Path | None:
    """Where a one-file build unpacked itself (sys._MEIPASS), or None when not frozen."""
    folder = getattr(sys, "_MEIPASS", None)
    return Path(folder) if folder else None


def resources_dir() -> Path:
    """Where the shipped files (settings.toml, icons/) are: the bundle, or the source checkout."""
    return bundle_dir() or SOURCE_ROOT


def settings_template() -> Path | None:
    """The shipped settings.toml: in the bundle, else at the top of the source checkout."""
    bundled = bundle_dir()
    candidates = [bundled / TEMPLATE_NAME] if bundled else []
    candidates.append(SOURCE_ROOT / TEMPLATE_NAME)
    return next((c for c in candidates if c.is_file()), None)


def unison() -> Path | None:
    """The unison this exe should use before looking on PATH: one put beside the exe (so a
    person can drop in a newer one), else the one bundled inside it. None when not frozen."""
    if not frozen():
        return None
    folders = [Path(sys.executable).resolve().parent]
    bundled = bundle_dir()
    if bundled is not None:
        folders.append(bundled / UNISON_FOLDER)
    for folder in folders:
        for name in UNISON_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None
