#!/bin/bash
# tests/qemu/run.sh - kernel.function probes on a real Debian 6.1 kernel,
# booted under qemu (TCG), since this machine's kernel has no kprobes and
# refuses fentry.  One boot runs every case.
#
# Each tests/qemu/NAME.stp is built here with `stap -p4` (CO-RE makes the
# module run on the guest's kernel) and run in the guest by staprun, once
# per mechanism named by its directives:
#   # run: COMMAND        the -c command (the guest has busybox, /bin/reader
#                         from reader.c, and /etc/kfunc-marker of 26 bytes)
#   # mechanisms: fentry kprobe   (default: both; STAPNG_KFUNC forces each)
# NAME.out is the expected stdout.  staprun -v must say that the probes
# attached by that mechanism.  Prints PASS/FAIL/SKIP lines for tests/run.sh.
set -u
cd "$(dirname "$0")/../.."
B=${STAP_BUILD:-build}
STAP=${STAP:-$PWD/$B/stap}
STAPRUN=${STAPRUN:-$PWD/$B/staprun}
tmp=$(mktemp -d /tmp/stapng-qemu.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

skip() { echo "SKIP qemu ($*)"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root to install qemu"
kernel=$(scripts/qemu-kernel.sh 2>"$tmp/kernel.err") || skip "no kernel: $(tail -1 "$tmp/kernel.err")"
busybox=$(command -v busybox)

# --- the initramfs: busybox, staprun and its libraries, the modules
root=$tmp/root
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,lib64,tests}
cp "$busybox" "$root/bin/busybox"
for app in sh mount cat echo poweroff sleep env true; do ln -s busybox "$root/bin/$app"; done
copy_libs() {
	ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -Ln "$lib" "$root$lib" 2>/dev/null || true
	done
}
cp "$STAPRUN" "$root/bin/staprun"
copy_libs "$STAPRUN"
printf 'hello from the qemu guest\n' >"$root/etc/kfunc-marker"
gcc -static -O2 -o "$root/bin/reader" tests/qemu/reader.c 2>"$tmp/reader.err" ||
	skip "cannot build tests/qemu/reader.c statically: $(head -1 "$tmp/reader.err")"

cases=()
export STAPNG_CACHE_DIR=$tmp/cache
for stp in tests/qemu/*.stp; do
	name=$(basename "$stp" .stp)
	run=$(sed -n 's/^# run: *//p' "$stp" | head -1)
	mechs=$(sed -n 's/^# mechanisms: *//p' "$stp" | head -1)
	if ! (cd "$tmp" && "$STAP" -p4 -m "qk_$name" "$OLDPWD/$stp" >/dev/null 2>"$tmp/$name.build"); then
		echo "FAIL qemu $name: stap -p4 failed: $(head -5 "$tmp/$name.build")"
		continue
	fi
	cp "$tmp/qk_$name.ko" "$root/tests/$name.ko"
	copy_libs "$tmp/qk_$name.ko"
	for mech in ${mechs:-fentry kprobe}; do
		cases+=("$name $mech")
		printf '%s\n' "$run" >"$root/tests/$name.$mech.cmd"
	done
done
[ ${#cases[@]} -gt 0 ] || skip "no test modules"

# The guest prints each case between markers on its second serial port
# (the first is the console, where kernel messages go).
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tracefs tracefs /sys/kernel/tracing
exec 3>/dev/ttyS1
for cmd in /tests/*.cmd; do
	c=${cmd#/tests/}; c=${c%.cmd}; name=${c%.*}; mech=${c##*.}
	STAPNG_KFUNC=$mech staprun -v -c "$(cat $cmd)" /tests/$name.ko >/tmp/out 2>/tmp/err
	rc=$?
	echo "@@@ BEGIN $name $mech rc=$rc" >&3
	cat /tmp/out >&3
	echo "@@@ STDERR" >&3
	cat /tmp/err >&3
	echo "@@@ END" >&3
done
echo "@@@ DONE" >&3
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$tmp/initrd.gz"

timeout 600 qemu-system-x86_64 -nographic -no-reboot -m 1G -smp 1 -accel tcg \
	-kernel "$kernel" -initrd "$tmp/initrd.gz" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init" \
	-serial file:"$tmp/console.txt" -serial file:"$tmp/results.txt" -display none -monitor none \
	>"$tmp/qemu.log" 2>&1 </dev/null
tr -d '\r' <"$tmp/results.txt" >"$tmp/results"
grep -q '^@@@ DONE' "$tmp/results" || {
	echo "FAIL qemu: the guest did not finish: $(cat "$tmp/console.txt" "$tmp/qemu.log" | tail -5 | tr -d '\r')"
	exit 0
}

# --- compare
for c in "${cases[@]}"; do
	set -- $c; name=$1 mech=$2
	awk -v want="@@@ BEGIN $name $mech " '
		index($0, want) == 1 { on = 1; part = "out"; next }
		on && /^@@@ STDERR$/ { part = "err"; next }
		on && /^@@@ END$/ { exit }
		on { print > (part == "out" ? OUT : ERR) }' OUT="$tmp/got.out" ERR="$tmp/got.err" "$tmp/results"
	touch "$tmp/got.out" "$tmp/got.err"
	mechname=$([ "$mech" = fentry ] && echo fentry/fexit || echo kprobes)
	why=""
	if ! grep -q "^@@@ BEGIN $name $mech rc=0$" "$tmp/results"; then
		why="staprun failed: $(grep "^@@@ BEGIN $name $mech" "$tmp/results") $(head -5 "$tmp/got.err")"
	elif ! grep -q "kernel.function probes attach by $mechname " "$tmp/got.err"; then
		why="not attached by $mechname: $(grep 'attach by' "$tmp/got.err")"
	elif ! cmp -s "tests/qemu/$name.out" "$tmp/got.out"; then
		why="stdout differs: $(diff "tests/qemu/$name.out" "$tmp/got.out" | head -10)"
	fi
	if [ -n "$why" ]; then echo "FAIL qemu $name ($mech): $why"; else echo "PASS qemu $name ($mech)"; fi
	rm -f "$tmp/got.out" "$tmp/got.err"
done
