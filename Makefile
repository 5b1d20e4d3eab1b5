# Two commands set everything up on a fresh Debian 12 / Raspberry Pi OS machine:
#   make demo   - build a demo library, serve it on 127.0.0.1 and open the launcher
#   make test   - run the whole test suite
# Both install what is missing and are safe to run again.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Debian's python, so the venv can see Debian's libcec binding (python3-cec).
SYSTEM_PYTHON := /usr/bin/python3
DEB_PACKAGES := python3-venv python3-dev gcc pkg-config libsystemd-dev libmpv2 ffmpeg \
	libcec-dev python3-cec fonts-noto-cjk postgresql chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps venv test test-slow lint demo bench screenshots clean

all: test

# Install only the Debian packages that are missing; apt-get update only when needed.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.stamp: pyproject.toml constraints.txt
	$(MAKE) deps
	[ -x $(PY) ] || $(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,systemd]'
	touch $@

venv: deps $(VENV)/.stamp

lint: venv
	$(VENV)/bin/ruff check piclient tests bench

test: venv lint
	$(VENV)/bin/pytest -q

# The end-to-end runs marked slow (uploads packaged by a server, the dashboard's uploader in chromium).
test-slow: venv
	$(VENV)/bin/pytest -q -m slow

demo: venv
	$(VENV)/bin/piclient demo

bench: venv
	$(PY) bench/launcher_bench.py
	$(PY) bench/player_bench.py

# The README's pictures, made by the project itself from the demo library.
screenshots: venv
	$(VENV)/bin/piclient demo --screenshots docs/images

clean:
	rm -rf $(VENV) build *.egg-info
