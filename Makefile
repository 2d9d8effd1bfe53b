# Set-up and everyday commands. `make demo` and `make test` each do the whole set-up first on a
# fresh Debian/Ubuntu machine (system packages need root or sudo).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := unison librsync-dev build-essential python3-venv python3-dev python3-tk \
	xvfb trayer imagemagick x11-utils xdotool dbus libnotify-bin faketime \
	dunst fonts-dejavu-core pkg-config libgirepository1.0-dev libcairo2-dev gir1.2-gtk-3.0 \
	gir1.2-ayatanaappindicator3-0.1 \
	rsync \
	samba smbnetfs ntfs-3g exfatprogs exfat-fuse

.PHONY: setup system-packages demo test test-fast property-long property-long-realfs lint format clean \
	bench bench-small bench-large bench-realfs exe

setup: $(VENV)/.installed

system-packages: .system-packages-done

.system-packages-done:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES)
	touch $@

$(VENV)/.installed: pyproject.toml .system-packages-done
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: setup
	$(BIN)/megabackup demo

# The benchmark (docs/benchmarks.md): 10,000 files / 1 GB, or 2,000 files; BENCH_ARGS adds options.
bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-small: setup
	$(BIN)/python -m bench --small $(BENCH_ARGS)

# At the size of a large home: 100,000 home files, mostly small (at most 0.5 MB: 4.6 GB twice),
# 25,000 data files (1.1 GB), one run per contender; about 30 GB free in the temp folder (or --dir).
bench-large: setup
	$(BIN)/python -m bench --files 100000 --max-size 0.5 --runs 1 --idle-seconds 0 $(BENCH_ARGS)

# The same cases on a Samba share and NTFS disks against ext4, and rsync over the same mounts
# (bench/realfs.py; root and FUSE, as the realfs tests): 2,000 home files unless BENCH_ARGS says.
bench-realfs: setup
	$(BIN)/python -m bench --realfs --small --idle-seconds 0 $(BENCH_ARGS)

# The one-file app from build_exe.spec: dist/MegaBackup (dist/MegaBackup.exe on Windows). A unison
# in vendor/unison/ is bundled into it (vendor/README.md).
exe: setup
	$(BIN)/pyinstaller --noconfirm build_exe.spec

test: setup
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/pytest -q

# The unit tests only, for the edit-test loop (under a minute): no real tools, windows, exe or
# property test. `make test` stays the whole suite.
FAST := not realtools and not gui and not frozen and not property and not realfs
test-fast: setup
	$(BIN)/pytest -q -m "$(FAST)"

# The long run of the "nothing lost" property test; it prints what it tried and checked.
PROPERTY_EXAMPLES ?= 1000
PROPERTY_STEPS ?= 5
property-long: setup
	PROPERTY_EXAMPLES=$(PROPERTY_EXAMPLES) PROPERTY_STEPS=$(PROPERTY_STEPS) \
		$(BIN)/pytest -q -s -p no:cacheprovider --timeout 0 tests/test_nothing_lost.py

# The same where users keep their files (tests/realfs; root and FUSE): 200 sequences.
PROPERTY_REALFS_EXAMPLES ?= 200
property-long-realfs: setup
	PROPERTY_REALFS_EXAMPLES=$(PROPERTY_REALFS_EXAMPLES) PROPERTY_STEPS=$(PROPERTY_STEPS) \
		$(BIN)/pytest -q -s -p no:cacheprovider --timeout 0 \
		tests/realfs/test_nothing_lost_realfs.py

lint: setup
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

format: setup
	$(BIN)/ruff format app tests bench
	$(BIN)/ruff check --fix app tests bench

clean:
	rm -rf $(VENV) .system-packages-done build dist .pytest_cache .ruff_cache
