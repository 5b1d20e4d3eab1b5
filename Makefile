# Two commands set everything up on a fresh Debian 12 / Raspberry Pi OS machine:
#   make demo   - build a demo library, serve it on 127.0.0.1 and open the launcher
#   make test   - run the whole test suite
#   make image  - build the Raspberry Pi SD image (root, slow: image/build.sh)
#   make image-test - boot that image under QEMU and check it from the outside (slow)
# They install what is missing and are safe to run again.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Debian's python, so the venv can see Debian's libcec binding (python3-cec).
SYSTEM_PYTHON := /usr/bin/python3
DEB_PACKAGES := python3-venv python3-dev gcc pkg-config libsystemd-dev libmpv2 ffmpeg \
	libcec-dev python3-cec fonts-noto-cjk postgresql chromium shellcheck systemd
# What `make image` and `make image-test` need on top.
IMAGE_PACKAGES := mmdebstrap qemu-user-static binfmt-support arch-test dosfstools mtools e2fsprogs fdisk \
	bmap-tools xz-utils qemu-system-arm qemu-efi-aarch64 qemu-utils socat openssh-client
SHELL_SCRIPTS := image/build.sh image/assemble.sh image/base-finish.sh image/boot/etc/initramfs-tools/hooks/piclient-boot-modules image/test/boot-vm.sh systemd/libexec/*
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps image-deps install-packages venv test test-slow lint lint-scripts demo bench screenshots image image-test clean \
	hw-test bundle

all: test

# Install only the Debian packages that are missing; apt-get update only when needed.
deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES)"

image-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(IMAGE_PACKAGES)"

install-packages:
	@missing=""; for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# With the server's libraries (the `server` extra): the tests, the demo and the developer run the server
# from this venv. The box's install leaves them out (image/assemble.sh, `make bundle`).
$(VENV)/.stamp: pyproject.toml constraints.txt
	$(MAKE) deps
	[ -x $(PY) ] || $(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[server,dev,systemd]'
	touch $@

venv: deps $(VENV)/.stamp

lint: venv lint-scripts
	$(VENV)/bin/ruff check piclient tests bench image

# The image's shell scripts: shellcheck (Debian's package, installed by deps).
lint-scripts:
	@if command -v shellcheck >/dev/null; then shellcheck -x $(SHELL_SCRIPTS); \
	else echo "shellcheck is missing: syntax check only"; for f in $(SHELL_SCRIPTS); do bash -n $$f || exit 1; done; fi

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

# The hardware tests (CEC on an emulated HDMI-CEC bus, the hand-over on a KMS display) in a QEMU VM;
# slow, so not part of `make test`. The VM image is built once and cached (docs/hardware.md).
# Arguments for pytest in the guest: make hw-test HW_ARGS="-k cec"
hw-test: venv
	$(PY) tests/hw/run_vm.py -- $(HW_ARGS)

# An update for the boxes (docs/updates.md): piclient's wheel and its own dependencies' wheels (the
# box's list: piclient==X without the server extra) for the image's Python on arm64, in one bundle for
# `piclient server publish-bundle`. Needs PyPI.
BUNDLE_PYTHON := 3.11
# Debian 12's glibc is 2.36: every manylinux tag up to it runs there (pip takes each --platform as
# given, without the older ones, so they are listed). The manifest names the newest.
BUNDLE_PLATFORM := manylinux_2_36_aarch64
BUNDLE_PLATFORMS := manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_24_aarch64 manylinux_2_26_aarch64 \
	manylinux_2_27_aarch64 manylinux_2_28_aarch64 manylinux_2_31_aarch64 manylinux_2_34_aarch64 $(BUNDLE_PLATFORM)
BUNDLE_DIR := build/bundle
bundle: venv
	rm -rf $(BUNDLE_DIR) && mkdir -p $(BUNDLE_DIR)/wheels
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w $(BUNDLE_DIR)/wheels .
	$(PY) -m pip download -q -d $(BUNDLE_DIR)/wheels --only-binary=:all: $(addprefix --platform ,$(BUNDLE_PLATFORMS)) \
		--python-version $(BUNDLE_PYTHON) --implementation cp -c constraints.txt \
		--find-links $(BUNDLE_DIR)/wheels piclient==$$($(PY) -c 'import piclient; print(piclient.__version__)')
	$(PY) -m piclient.update.make_bundle $(BUNDLE_DIR)/wheels --python $(BUNDLE_PYTHON) \
		--platform $(BUNDLE_PLATFORM) --out build/piclient-$$($(PY) -c 'import piclient; print(piclient.__version__)')-aarch64.bundle

# The README's pictures, made by the project itself from the demo library.
screenshots: venv
	$(VENV)/bin/piclient demo --screenshots docs/images

# The SD image in build/image (image/build.sh; docs/benchmarks.md has how long it takes).
image: venv image-deps
	$(SUDO) env HOST_PY=$(PY) image/build.sh

# Boots build/image under QEMU and checks it from the outside; not part of `make test`.
image-test: venv image-deps
	$(SUDO) $(PY) -m pytest -q -s -p no:cacheprovider image/test

clean:
	rm -rf $(VENV) build *.egg-info
