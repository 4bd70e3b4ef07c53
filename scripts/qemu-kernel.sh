#!/bin/bash
# scripts/qemu-kernel.sh - a Debian kernel to boot under qemu, for the tests
# of probes this machine's kernel refuses (kernel.function: fentry, kprobes).
#
# Installs qemu-system-x86 and busybox-static with apt-get when missing,
# downloads the newest linux-image-6.1.0-N-amd64-unsigned once, and keeps
# the .deb and its vmlinuz in $STAPNG_QEMU_CACHE (~/.cache/stapng-qemu).
# Prints the vmlinuz path on stdout; exits non-zero, with the reason on
# stderr, when any of it cannot be had.
set -eu
cache=${STAPNG_QEMU_CACHE:-$HOME/.cache/stapng-qemu}
mkdir -p "$cache"

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
	echo "qemu-kernel: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq "${need[@]}" >&2 || {
		apt-get update -qq >&2 && apt-get install -y -qq "${need[@]}" >&2
	} || { echo "qemu-kernel: cannot install ${need[*]}" >&2; exit 1; }
fi

# A kernel already extracted is used as it is: no network needed again.
have=$(ls "$cache"/vmlinuz-6.1.0-*-amd64 2>/dev/null | sort -V | tail -1 || true)
if [ -n "$have" ] && [ -z "${STAPNG_QEMU_REFRESH:-}" ]; then
	echo "$have"
	exit 0
fi

pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' 2>/dev/null |
	awk '{print $1}' | sort -V | tail -1)
if [ -z "$pkg" ]; then
	apt-get update -qq >&2 || true
	pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' |
		awk '{print $1}' | sort -V | tail -1)
fi
[ -n "$pkg" ] || { echo "qemu-kernel: apt knows no linux-image-6.1.0-N-amd64-unsigned" >&2; exit 1; }
deb=$(ls "$cache"/"$pkg"_*.deb 2>/dev/null | tail -1 || true)
if [ -z "$deb" ]; then
	(cd "$cache" && apt-get download "$pkg" >&2 2>/dev/null) ||
		{ echo "qemu-kernel: cannot download $pkg" >&2; exit 1; }
	deb=$(ls "$cache"/"$pkg"_*.deb | tail -1)
fi
release=${pkg#linux-image-}; release=${release%-unsigned}
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./boot/vmlinuz-$release" >"$cache/vmlinuz-$release.tmp"
mv "$cache/vmlinuz-$release.tmp" "$cache/vmlinuz-$release"
echo "$cache/vmlinuz-$release"
