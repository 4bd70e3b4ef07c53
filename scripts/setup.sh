#!/bin/sh
# Install what stapng needs to build and test, only when it is missing.
# Debian 12, as root.  Idempotent: a second run installs nothing.
set -e
pkgs="make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev libdw-dev pkg-config"
# sys/sdt.h, for the USDT test programs
pkgs="$pkgs systemtap-sdt-dev"
# Peers and tools for tests and benchmarks.
pkgs="$pkgs bpftrace bpftool iproute2 procps passwd util-linux libclang-rt-14-dev"
# The qemu group of tests (tests/qemu: kernel.function probes on a Debian
# kernel booted under qemu) needs these; STAPNG_QEMU_TESTS=no leaves it out.
[ "${STAPNG_QEMU_TESTS:-yes}" = no ] || pkgs="$pkgs qemu-system-x86 busybox-static"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	if [ "$(id -u)" != 0 ]; then
		echo "setup: run as root to install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
fi
# Tracepoints live in tracefs; mount it if nobody has.
if [ "$(id -u)" = 0 ] && [ -d /sys/kernel/tracing ] && [ ! -e /sys/kernel/tracing/events ]; then
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
fi
exit 0
