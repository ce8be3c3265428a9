#!/usr/bin/env bash
# timeout: 900
# procbox in real Docker containers, in TAP: `docker run --runtime procbox` (the
# procbox-runc wrapper and the OCI hook), `procbox attach`/`detach` on a container of
# the stock runtime, each container's own set of kernel inodes under concurrent busybox
# cats, `kill -9` of procbox and a restart with running containers, the
# hook refusing a container when procbox is down; plain and with --userns-remap.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
tap_reexec_reaped "$0" "$@"

export PROCBOX_RIG_DIR=${PROCBOX_RIG_DIR:-/run/procbox-rig-attach-$$}
rig=("bash" "$here/rig.sh")
build=${PROCBOX_BUILD_DIR:-$here/../../build}
pb=$build/procbox

if [ "$(id -u)" -ne 0 ]; then
	tap_skip "procbox in docker" "needs root"
	tap_end
	exit
fi
if [ ! -x "$pb" ] || [ ! -w /dev/fuse ]; then
	tap_skip "procbox in docker" "no $pb or no /dev/fuse"
	tap_end
	exit
fi
if [ -n "${PROCBOX_RIG_NO_INSTALL:-}" ] && [ ! -x /usr/sbin/dockerd ]; then
	tap_skip "procbox in docker" "docker.io is not installed and installing is not allowed"
	tap_end
	exit
fi

work=$(mktemp -d /tmp/procbox-attach-rig-XXXXXX)
mnt=$work/mnt
log=$work/procbox.log
pbpid=
# dockerd (started by rig.sh from this environment) passes it down to containerd, the
# shim and the runtime: procbox-runc gives it to the hook, attach reads it too.
export PROCBOX_MOUNTPOINT=$mnt
# argv[0] dispatch: a symlink named procbox-runc is the runtime wrapper.
ln -s "$(readlink -f "$pb")" "$work/procbox-runc"

cleanup()
{
	"${rig[@]}" down >/dev/null 2>&1
	if [ -n "$pbpid" ]; then
		kill "$pbpid" 2>/dev/null
		wait "$pbpid" 2>/dev/null
	fi
	umount -l "$mnt" 2>/dev/null
	umount -l "$work/pm/root/overlay" 2>/dev/null
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

now()
{
	date +%s.%N
}

ms_since()
{
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }'
}

procbox_start()
{
	local i
	"$pb" -f --state-dir "$work/state" "$mnt" >>"$log" 2>&1 &
	pbpid=$!
	for ((i = 0; i < 300; i++)); do
		[ "$(stat -f -c %T "$mnt" 2>/dev/null)" = fuseblk ] && [ -d "$mnt/proc/sys" ] && return 0
		sleep 0.02
	done
	return 1
}

# The holder keeps the FUSE connection across a daemon's death; killing it too loses
# the connection, the case the re-attach of dead mounts is for.
holder_kill()
{
	local h
	h=$(awk '{ print $3 }' "$work"/state/*/daemon.pid 2>/dev/null)
	[ -n "$h" ] && [ "$h" -gt 0 ] && kill -KILL "$h" 2>/dev/null
	sleep 0.2
}

procbox_stop()
{
	local sig=$1
	[ -n "$pbpid" ] || return 0
	kill "-$sig" "$pbpid" 2>/dev/null
	wait "$pbpid" 2>/dev/null
	pbpid=
}

dk()
{
	"${rig[@]}" docker "$@"
}

# docker run --network none --pull=never ARGS; stdout only, stderr kept for diagnostics.
run()
{
	"${rig[@]}" run "$@" 2>"$work/run.err"
}

ct_pid()
{
	dk inspect -f '{{.State.Pid}}' "$1"
}

# Runs sh -c CMD in the container with docker exec (the container's own credentials).
ct_sh()
{
	local cid=$1
	shift
	dk exec "$cid" sh -c "$*" 2>&1
}

# procbox's mount points in the container's mount namespace, one per line, sorted.
ct_procbox_mounts()
{
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; if ($(i + 1) == "fuse.procbox") print $5 }' \
		"/proc/$1/mountinfo" | sort
}

# Reads, from outside through the container's mount namespace, a namespaced file, an
# emulated one and the uptime; prints the hostname when all three answer.
ct_reads()
{
	# shellcheck disable=SC2016 # expanded by the container's shell
	nsenter -t "$1" -m -u -- sh -c \
		'{ read h < /proc/sys/kernel/hostname && read p < /proc/sys/kernel/panic && read u < /proc/uptime; } 2>/dev/null && echo "$h"'
}

host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
host_panic=$(cat /proc/sys/kernel/panic)
host_pgr=$(cat /proc/sys/net/ipv4/ping_group_range)
served_meminfo=
# A whole disk of the host (not a loop or ram disk): what iostat -d lists.
host_disk=$(awk '$1 != 7 && $1 != 1 { print $3; exit }' /proc/diskstats)

# The checks of a container procbox covers: mounts, namespaced and emulated files read
# and written, Docker's own sysctl write, ownership, resource views.
# Whether the container's procbox mounts include every path given.
has_mounts()
{
	local pid=$1 p list
	shift
	list=$(ct_procbox_mounts "$pid")
	for p in "$@"; do
		grep -qx -- "$p" <<<"$list" || return 1
	done
}

# The checks of a container procbox covers: mounts, namespaced and emulated files read
# and written, ownership. fwd: what writing ip_forward must give (the kernel decides: in
# a user namespace only with CAP_NET_ADMIN).
covered_checks()
{
	local mode=$1 cid=$2 name=$3 fwd=$4 pid out disk_stat
	pid=$(ct_pid "$cid")
	if has_mounts "$pid" /proc/sys /proc/uptime /proc/swaps; then
		tap_ok "$mode: /proc/sys, /proc/uptime and /proc/swaps are procbox's"
	else
		tap_fail "$mode: /proc/sys, /proc/uptime and /proc/swaps are procbox's" \
			"procbox mounts: $(ct_procbox_mounts "$pid" | tr '\n' ' ')"
	fi
	if has_mounts "$pid" /sys/devices/virtual/net /sys/kernel/debug /sys/kernel/tracing \
		/sys/kernel/security; then
		tap_ok "$mode: the /sys paths are procbox's"
	else
		tap_fail "$mode: the /sys paths are procbox's" \
			"procbox mounts: $(ct_procbox_mounts "$pid" | tr '\n' ' ')"
	fi
	# iostat reads /sys/block/<disk>/stat: every disk's is covered where its link leads,
	# on Docker's read-only /sys too.
	disk_stat=$(readlink -f "/sys/block/$host_disk")/stat
	if has_mounts "$pid" "$disk_stat"; then
		tap_ok "$mode: $disk_stat (/sys/block/$host_disk/stat) is procbox's"
	else
		tap_fail "$mode: $disk_stat (/sys/block/$host_disk/stat) is procbox's" \
			"procbox mounts: $(ct_procbox_mounts "$pid" | tr '\n' ' ')"
	fi
	tap_is "$mode: /proc/sys/kernel/hostname is the container's" \
		"$(ct_sh "$cid" cat /proc/sys/kernel/hostname)" "$name"
	tap_is "$mode: /sys/devices/virtual/net shows the container's network" \
		"$(ct_sh "$cid" ls /sys/devices/virtual/net)" "lo"
	# shellcheck disable=SC2016 # expanded by the container's shell
	out=$(ct_sh "$cid" 'read a b < /proc/uptime && echo ${a%.*}')
	if [[ $out =~ ^[0-9]+$ ]] && [ "$out" -lt "$(cut -d. -f1 /proc/uptime)" ] && [ "$out" -lt 300 ]; then
		tap_ok "$mode: /proc/uptime is the container's ($out s)"
	else
		tap_fail "$mode: /proc/uptime is the container's" "got: $out, host: $(cat /proc/uptime)"
	fi
	out=$(ct_sh "$cid" 'echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward')
	case $out in
	*"$fwd"*) tap_ok "$mode: writing ip_forward in the container's namespace: $fwd" ;;
	*) tap_fail "$mode: writing ip_forward in the container's namespace: $fwd" "got: $out" ;;
	esac
	tap_is "$mode: the host's ip_forward stays" "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd"
	out=$(ct_sh "$cid" 'echo 7 > /proc/sys/kernel/panic && cat /proc/sys/kernel/panic')
	tap_is "$mode: kernel/panic is the container's own" "$out" "7"
	tap_is "$mode: the host's kernel/panic stays" "$(cat /proc/sys/kernel/panic)" "$host_panic"
	tap_is "$mode: procbox's files belong to the container's root" \
		"$(ct_sh "$cid" stat -c %u:%g /proc/uptime /proc/sys/net/ipv4/ip_forward | tr '\n' ' ')" \
		"0:0 0:0 "
}

runtime_checks()
{
	local mode=$1 cid out caps=(--cap-add NET_ADMIN)
	# The kernel lets only CAP_NET_ADMIN (in the user namespace that owns the network
	# namespace) change ip_forward, and procbox writes with the container's credentials.
	if ! cid=$(run -d --runtime procbox "${caps[@]}" --hostname "rt-$$" -m 64m "$image" sleep 600); then
		tap_fail "$mode: docker run --runtime procbox" "$cid" "$(cat "$work/run.err")"
		return 1
	fi
	tap_ok "$mode: docker run --runtime procbox"
	covered_checks "$mode --runtime procbox" "$cid" "rt-$$" 1
	# runc writes the spec's sysctls (Docker's ping_group_range, which it leaves out
	# with --userns-remap) through procbox before the container's first process.
	out=$(ct_sh "$cid" cat /proc/sys/net/ipv4/ping_group_range)
	tap_is "$mode: ping_group_range reads as in a stock container ($stock_pgr)" "$out" "$stock_pgr"
	tap_is "$mode: the host's ping_group_range stays" "$(cat /proc/sys/net/ipv4/ping_group_range)" "$host_pgr"
	if [ -n "$served_meminfo" ]; then
		tap_is "$mode: /proc/meminfo shows the 64 MiB limit" \
			"$(ct_sh "$cid" "awk '/^MemTotal/ { print \$2 }' /proc/meminfo")" "65536"
	else
		tap_skip "$mode: /proc/meminfo shows the 64 MiB limit" "this procbox does not serve proc/meminfo"
	fi
	rt_cid=$cid
}

attach_checks()
{
	local mode=$1 cid pid out before n
	if ! cid=$(run -d --hostname "at-$$" "$image" sleep 600); then
		tap_fail "$mode: docker run (stock runc)" "$cid" "$(cat "$work/run.err")"
		return 1
	fi
	pid=$(ct_pid "$cid")
	out=$(ct_sh "$cid" 'echo 1 > /proc/sys/net/ipv4/ip_forward')
	case $out in
	*"Read-only file system"*) tap_ok "$mode: before attach, Docker's /proc/sys is read-only" ;;
	*) tap_fail "$mode: before attach, Docker's /proc/sys is read-only" "got: $out" ;;
	esac
	before=$(ct_procbox_mounts "$pid" | wc -l)
	if out=$("$pb" attach "$pid" 2>&1) && grep -qx 'procbox attach: /proc/sys: attached' <<<"$out"; then
		tap_ok "$mode: procbox attach"
	else
		tap_fail "$mode: procbox attach" "$out"
	fi
	tap_diag "$(grep -v ': attached$' <<<"$out")"
	# Docker's default capabilities have no CAP_NET_ADMIN: the kernel's own answer to the
	# write, EPERM; a user-namespaced root cannot even open it for writing (EACCES).
	if [ "$mode" = plain ]; then
		covered_checks "$mode attach" "$cid" "at-$$" "Operation not permitted"
	else
		covered_checks "$mode attach" "$cid" "at-$$" "Permission denied"
	fi

	n=$(ct_procbox_mounts "$pid" | wc -l)
	out=$("$pb" attach "$pid" 2>&1)
	if grep -q ': already attached$' <<<"$out" && ! grep -q ': attached$' <<<"$out" &&
		[ "$(ct_procbox_mounts "$pid" | wc -l)" -eq "$n" ]; then
		tap_ok "$mode: attach twice does not stack ($n mounts)"
	else
		tap_fail "$mode: attach twice does not stack" "$out" "mounts: $n -> $(ct_procbox_mounts "$pid" | wc -l)"
	fi

	out=$("$pb" detach "$pid" 2>&1)
	tap_is "$mode: detach removes procbox's mounts" "$(ct_procbox_mounts "$pid" | wc -l)" "$before"
	out=$(ct_sh "$cid" 'echo 1 > /proc/sys/net/ipv4/ip_forward')
	case $out in
	*"Read-only file system"*) tap_ok "$mode: detach leaves Docker's read-only /proc/sys" ;;
	*) tap_fail "$mode: detach leaves Docker's read-only /proc/sys" "got: $out" ;;
	esac
	tap_is "$mode: the original files answer after detach" \
		"$(ct_sh "$cid" cat /proc/sys/kernel/hostname)" "at-$$"
	"$pb" attach --quiet "$pid" >/dev/null 2>&1
	at_cid=$cid
}

# The root inside procbox's mount of procbox's mount on /proc/sys in pid's namespace.
ct_proc_sys_root()
{
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; if ($(i + 1) == "fuse.procbox" && $5 == "/proc/sys") print $4 }' \
		"/proc/$1/mountinfo" | tail -n 1
}

# N busybox cats of kernel/panic, 4 loops side by side, in the container: one line
# "<lines that are want> <lines that are other> <any other lines>".
ct_cat_loop()
{
	local cid=$1 want=$2 other=$3 n=$4
	ct_sh "$cid" "for k in 1 2 3 4; do
			( i=0; while [ \$i -lt $n ]; do cat /proc/sys/kernel/panic; i=\$((i + 1)); done ) &
		done | awk -v w=$want -v o=$other '{ if (\$0 == w) a++; else if (\$0 == o) b++; else c++ }
			END { print a + 0, b + 0, c + 0 }'"
}

# Kernel inodes per container: the wrapper's hook binds from .inodes/<container id>,
# attach from .inodes/pid-<init pid>-<start ticks>; busybox cat (sendfile, through the
# inode's page cache) in both at once never reads the other's value.
inode_set_checks()
{
	local mode=$1 rt_pid at_pid root id out a b a_own a_other a_else b_own b_other b_else
	rt_pid=$(ct_pid "$rt_cid")
	at_pid=$(ct_pid "$at_cid")
	id=$(dk inspect -f '{{.Id}}' "$rt_cid")
	tap_is "$mode: the wrapper's hook binds from the container id's set of inodes" \
		"$(ct_proc_sys_root "$rt_pid")" "/.inodes/$id/proc/sys"
	root=$(ct_proc_sys_root "$at_pid")
	case $root in
	"/.inodes/pid-$at_pid-"*/proc/sys) tap_ok "$mode: attach binds from the container's pid-$at_pid-<start> set of inodes" ;;
	*) tap_fail "$mode: attach binds from the container's pid-$at_pid-<start> set of inodes" "root: $root" ;;
	esac
	a=$(ct_sh "$rt_cid" stat -c %i /proc/sys/kernel/panic)
	b=$(ct_sh "$at_cid" stat -c %i /proc/sys/kernel/panic)
	if [ -n "$a" ] && [ "$a" != "$b" ]; then
		tap_ok "$mode: the two containers' kernel/panic are different inodes ($a, $b)"
	else
		tap_fail "$mode: the two containers' kernel/panic are different inodes" "$a, $b"
	fi
	ct_sh "$rt_cid" 'echo 21 > /proc/sys/kernel/panic' >/dev/null
	ct_sh "$at_cid" 'echo 22 > /proc/sys/kernel/panic' >/dev/null
	ct_cat_loop "$rt_cid" 21 22 300 >"$work/cat.rt" &
	a=$!
	ct_cat_loop "$at_cid" 22 21 300 >"$work/cat.at" &
	b=$!
	wait "$a" "$b"
	read -r a_own a_other a_else <"$work/cat.rt"
	read -r b_own b_other b_else <"$work/cat.at"
	out="own, the other's, other lines: runtime container $(cat "$work/cat.rt"), attached $(cat "$work/cat.at")"
	if [ "${a_own:-0}" -gt 0 ] && [ "$a_other" = 0 ] && [ "${b_own:-0}" -gt 0 ] && [ "$b_other" = 0 ]; then
		tap_ok "$mode: 2 x 1200 concurrent busybox cats of kernel/panic read their container's own value, never the other's"
	else
		tap_fail "$mode: concurrent busybox cats of kernel/panic read their container's own value, never the other's" "$out"
	fi
	# Not about the sets: sendfile reads the page cache up to the size the kernel keeps
	# for the inode, which concurrent opens, stats and reads of one container's own file
	# set and cut. Some cats print nothing, or the zeros after the value.
	if [ "$a_own" != 1200 ] || [ "$b_own" != 1200 ] || [ "$a_else" != 0 ] || [ "$b_else" != 0 ]; then
		tap_diag "$mode: $out"
	fi
	ct_sh "$rt_cid" 'echo 7 > /proc/sys/kernel/panic' >/dev/null
	ct_sh "$at_cid" 'echo 7 > /proc/sys/kernel/panic' >/dev/null
	rt_root=$(ct_proc_sys_root "$rt_pid") at_root=$root
}

# kill -9 procbox and its holder with containers running (the connection is lost), start
# it again: every container reads its files through procbox again, with nothing else done.
# How long that took is printed; the 60 s limit only turns a re-attach that never comes
# into a failure.
restart_checks()
{
	local mode=$1 t0 took pids=() names=() ok all out guard
	pids=("$(ct_pid "$rt_cid")" "$(ct_pid "$at_cid")")
	names=("rt-$$" "at-$$")
	procbox_stop KILL
	holder_kill
	out=$(nsenter -t "${pids[0]}" -m -- cat /proc/sys/kernel/hostname 2>&1)
	case $out in
	*"not connected"*) tap_ok "$mode: with procbox killed the mounts are dead (ENOTCONN)" ;;
	*) tap_fail "$mode: with procbox killed the mounts are dead (ENOTCONN)" "got: $out" ;;
	esac
	t0=$(now)
	procbox_start || tap_diag "procbox did not come back: $(tail -n 5 "$log")"
	ok=(0 0)
	guard=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$guard" ]; do
		all=1
		for k in 0 1; do
			if [ "${ok[$k]}" = 0 ] && [ "$(ct_reads "${pids[$k]}")" = "${names[$k]}" ]; then
				ok[k]=1
			fi
			[ "${ok[$k]}" = 1 ] || all=0
		done
		[ "$all" = 1 ] && break
		sleep 0.01
	done
	took=$(ms_since "$t0")
	if [ "$all" = 1 ]; then
		tap_ok "$mode: after kill -9 and a restart every container reads procbox again"
	else
		tap_fail "$mode: after kill -9 and a restart every container reads procbox again" \
			"runtime container ${ok[0]}, attached ${ok[1]} after $took ms" "$(tail -n 20 "$log")"
	fi
	tap_diag "$mode: every container read procbox again $took ms after the restart"
	tap_diag "$(grep 'Re-attached' "$log" | tail -n 1)"
	# Emulated values are saved per container: a restart, even one that lost the
	# connection, gives them back to the same container.
	tap_is "$mode: emulated values are kept across a restart (the container's kernel/panic 7)" \
		"$(ct_sh "$rt_cid" cat /proc/sys/kernel/panic)" "7"
	tap_is "$mode: the host's kernel/panic stays after the restart" \
		"$(cat /proc/sys/kernel/panic)" "$host_panic"
	tap_is "$mode: namespaced values are the container's after the restart" \
		"$(ct_sh "$rt_cid" cat /proc/sys/net/ipv4/ip_forward)" "1"
	out=$(run --rm --runtime procbox --hostname "after-$$" "$image" cat /proc/sys/kernel/hostname)
	tap_is "$mode: a new container starts with the restarted procbox" "$out" "after-$$"
	tap_is "$mode: the re-attached runtime container keeps its set of inodes" \
		"$(ct_proc_sys_root "${pids[0]}")" "$rt_root"
	tap_is "$mode: the re-attached attached container keeps its set of inodes" \
		"$(ct_proc_sys_root "${pids[1]}")" "$at_root"
}

# A root container (the host's uid 0: plain mode) opening core_pattern for writing in a
# loop (tests/rig/open-loop.c; it never writes) through kill -9 restarts, a detach and an
# attach: procbox's mount, a dead one or a read-only /proc/sys, never the real writable
# one, or the container could write the host's core_pattern.
uncover_checks()
{
	local mode=$1 cid pid i k out opens hits
	if ! cc -static -O2 -o "$work/open-loop" "$here/open-loop.c" 2>"$work/cc.err"; then
		tap_fail "$mode: build open-loop" "$(cat "$work/cc.err")"
		return 1
	fi
	if ! cid=$(run -d --runtime procbox --hostname "loop-$$" \
		--mount "type=bind,src=$work/open-loop,dst=/open-loop,readonly" "$image" /open-loop); then
		tap_fail "$mode: docker run --runtime procbox /open-loop" "$cid" "$(cat "$work/run.err")"
		return 1
	fi
	pid=$(ct_pid "$cid")
	for ((k = 0; k < 5; k++)); do
		# The connection lost (daemon and holder): the re-attach of dead mounts.
		procbox_stop KILL
		holder_kill
		procbox_start || tap_diag "procbox did not come back: $(tail -n 5 "$log")"
		for ((i = 0; i < 500; i++)); do
			[ "$(ct_reads "$pid")" = "loop-$$" ] && break
			sleep 0.01
		done
	done
	"$pb" detach --quiet "$pid" >/dev/null 2>&1
	sleep 0.3
	out=$(nsenter -t "$pid" -m -n -- sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' 2>&1)
	case $out in
	*"Read-only file system"*) tap_ok "$mode: after detach the hook's container has a read-only /proc/sys" ;;
	*) tap_fail "$mode: after detach the hook's container has a read-only /proc/sys" "got: $out" ;;
	esac
	"$pb" attach --quiet "$pid" >/dev/null 2>&1
	tap_is "$mode: attached again, the container reads procbox" "$(ct_reads "$pid")" "loop-$$"
	dk stop -t 5 "$cid" >/dev/null 2>&1
	out=$(dk logs "$cid" 2>&1)
	dk rm -f "$cid" >/dev/null 2>&1
	opens=$(sed -n 's/^opens \([0-9]*\) procfs.*/\1/p' <<<"$out")
	hits=$(grep -c '^procfs$' <<<"$out")
	if [ -n "$opens" ] && [ "$opens" -gt 0 ] && [ "$hits" -eq 0 ]; then
		tap_ok "$mode: $opens opens of core_pattern for writing through 5 restarts and a detach, none of the real procfs"
	else
		tap_fail "$mode: opens of core_pattern for writing through 5 restarts and a detach, none of the real procfs" \
			"opens ${opens:-?}, real procfs fds $hits" "$(tail -n 3 <<<"$out")"
	fi
}

fail_closed_checks()
{
	local mode=$1 out rc
	procbox_stop TERM
	out=$(run --rm --runtime procbox "$image" true) && rc=0 || rc=$?
	out+=$(cat "$work/run.err")
	if [ "$rc" -ne 0 ] && grep -q "procbox hook" <<<"$out"; then
		tap_ok "$mode: without procbox, --runtime procbox refuses to start a container"
	else
		tap_fail "$mode: without procbox, --runtime procbox refuses to start a container" "rc=$rc" "$out"
	fi
	out=$(run --rm "$image" true) && rc=0 || rc=$?
	tap_is "$mode: the stock runtime is not affected" "$rc" "0"
	procbox_start
}

# Podman with contrib/podman/procbox.json as its hooks.d (no wrapper: readonlyPaths keep
# /proc/sys read-only unless the user unmasks it).
podman_checks()
{
	local n out rc root=$work/pm/rootfs a
	local pm=(podman --root "$work/pm/root" --runroot "$work/pm/run" --hooks-dir "$work/pm/hooks.d"
		--cgroup-manager cgroupfs --events-backend none --runtime runc)
	# podman's default rlimits may lie above ours, which runc cannot raise
	local opts=(--rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
	mkdir -p "$work/pm/hooks.d" "$root"/{bin,proc,sys,dev,tmp,etc}
	python3 - "$here/../../contrib/podman/procbox.json" "$(readlink -f "$pb")" "$mnt" \
		>"$work/pm/hooks.d/procbox.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
h["hook"]["path"] = sys.argv[2]
h["hook"]["args"] = ["procbox", "hook", "--mountpoint", sys.argv[3]]
json.dump(h, sys.stdout)
PY
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	if ! out=$(tar -C "$root" -cf - . | "${pm[@]}" import - procbox-attach/busybox 2>&1); then
		tap_fail "podman: import the image" "$out"
		return 1
	fi
	out=$("${pm[@]}" run "${opts[@]}" --hostname pm-$$ procbox-attach/busybox /bin/sh -c \
		'cat /proc/sys/kernel/hostname; grep -c " /proc/sys .* fuse.procbox " /proc/self/mountinfo; echo 1 > /proc/sys/net/ipv4/ip_forward' 2>&1)
	n=$(sed -n 2p <<<"$out")
	if [ "$(sed -n 1p <<<"$out")" = "pm-$$" ] && [ "${n:-0}" -ge 1 ] && grep -q "Read-only file system" <<<"$out"; then
		tap_ok "podman: the hook gives procbox's /proc/sys, read-only as podman wants it"
	else
		tap_fail "podman: the hook gives procbox's /proc/sys, read-only as podman wants it" "$out"
	fi
	out=$("${pm[@]}" run "${opts[@]}" --security-opt unmask=/proc/sys --cap-add NET_ADMIN \
		procbox-attach/busybox /bin/sh -c \
		'echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward' 2>&1)
	tap_is "podman: with unmask=/proc/sys the container writes its own ip_forward" "$out" "1"
	procbox_stop TERM
	"${pm[@]}" run "${opts[@]}" procbox-attach/busybox /bin/true >/dev/null 2>&1 && rc=0 || rc=$?
	tap_is "podman: without procbox a default container still starts" "$rc" "0"
	out=$("${pm[@]}" run "${opts[@]}" --security-opt unmask=/proc/sys procbox-attach/busybox /bin/true 2>&1) &&
		rc=0 || rc=$?
	if [ "$rc" -ne 0 ] && grep -q "procbox hook" <<<"$out"; then
		tap_ok "podman: without procbox an unmasked /proc/sys is refused"
	else
		tap_fail "podman: without procbox an unmasked /proc/sys is refused" "rc=$rc" "$out"
	fi
	procbox_start
	"${pm[@]}" rmi -a -f >/dev/null 2>&1
	umount "$work/pm/root/overlay" 2>/dev/null
}

image=$("${rig[@]}" image)
if ! procbox_start; then
	tap_fail "procbox starts" "$(tail -n 20 "$log")"
	tap_end
	exit 1
fi
[ -e "$mnt/proc/meminfo" ] && served_meminfo=1

for mode in plain userns-remap; do
	flags=(--add-runtime "procbox=$work/procbox-runc")
	[ "$mode" = plain ] || flags+=(--userns-remap)
	t=$(now)
	if ! out=$("${rig[@]}" up "${flags[@]}" 2>&1); then
		tap_fail "$mode: rig up" "$out"
		continue
	fi
	tap_diag "$mode: rig up took $(ms_since "$t") ms"
	# What a container of the stock runtime reads: the kernel's own value after Docker's
	# sysctl write, if it made one.
	stock_pgr=$(run --rm "$image" cat /proc/sys/net/ipv4/ping_group_range)
	[ "$mode" != plain ] || tap_is "plain: Docker sets ping_group_range" "$stock_pgr" "$(printf '0\t2147483647')"
	rt_cid='' at_cid='' rt_root='' at_root=
	runtime_checks "$mode"
	attach_checks "$mode"
	if [ -n "$rt_cid" ] && [ -n "$at_cid" ]; then
		inode_set_checks "$mode"
		restart_checks "$mode"
	else
		tap_fail "$mode: restart" "no containers to restart with"
	fi
	# With --userns-remap the container's root is not the host's: the kernel refuses it
	# core_pattern for writing anyway.
	[ "$mode" != plain ] || uncover_checks "$mode"
	fail_closed_checks "$mode"
	dk rm -f "$rt_cid" "$at_cid" >/dev/null 2>&1
done

"${rig[@]}" down >/dev/null 2>&1 || tap_fail "rig down"
if command -v podman >/dev/null; then
	podman_checks
else
	tap_skip "podman hooks.d" "podman is not installed"
fi
tap_end
