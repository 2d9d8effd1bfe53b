"""`python -m megabackup.bench`: see megabackup.bench.run."""

from __future__ import annotations

from megabackup.bench.run import main

raise SystemExit(main())
