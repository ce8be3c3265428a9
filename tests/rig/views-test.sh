#!/usr/bin/env bash
# timeout: 600
# What programs in real Docker containers see of their CPUs, load, idle time, memory and
# sysctls through procbox, in TAP: the CPU ids they read are the ones they may pin to
# (--cpuset-cpus 1, 0-1), /sys/devices/system/cpu lists exactly their CPUs (--runtime
# procbox and `procbox attach`), the load average follows the kernel's 5-second sampling
# whether or not anyone reads, /proc/uptime's idle field is the idle time of their CPUs,
# `sysctl -a` differs from a plain container only in the emulated keys the kernel does not
# namespace, and an unlimited container's "used" memory is its own.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
tap_reexec_reaped "$0" "$@"

export PROCBOX_RIG_DIR=${PROCBOX_RIG_DIR:-/run/procbox-rig-views-$$}
rig=("bash" "$here/rig.sh")
build=${PROCBOX_BUILD_DIR:-$here/../../build}
pb=$build/procbox
DOCKER_TIMEOUT=60

if [ "$(id -u)" -ne 0 ]; then
	tap_skip "views in docker" "needs root"
	tap_end
	exit
fi
if [ ! -x "$pb" ] || [ ! -w /dev/fuse ]; then
	tap_skip "views in docker" "no $pb or no /dev/fuse"
	tap_end
	exit
fi
if [ -n "${PROCBOX_RIG_NO_INSTALL:-}" ] && [ ! -x /usr/sbin/dockerd ]; then
	tap_skip "views in docker" "docker.io is not installed and installing is not allowed"
	tap_end
	exit
fi

work=$(mktemp -d /tmp/procbox-views-XXXXXX)
chmod 711 "$work"
mnt=$work/mnt
mkdir "$mnt"
log=$work/procbox.log
pbpid=
export PROCBOX_MOUNTPOINT=$mnt
ln -s "$(readlink -f "$pb")" "$work/procbox-runc"
host_somaxconn=$(cat /proc/sys/net/core/somaxconn)

cleanup()
{
	trap - EXIT
	timeout -k 5 180 "${rig[@]}" down >/dev/null 2>&1
	if [ -n "$pbpid" ]; then
		kill "$pbpid" 2>/dev/null
		wait "$pbpid" 2>/dev/null
	fi
	umount -l "$mnt" 2>/dev/null
	rm -rf --one-file-system "$work"
	if [ "$(cat /proc/sys/net/core/somaxconn)" != "$host_somaxconn" ]; then
		echo "$host_somaxconn" >/proc/sys/net/core/somaxconn
		echo "views-test: restored the host's somaxconn to $host_somaxconn" >&2
	fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

now()
{
	date +%s.%N
}

procbox_start()
{
	local i
	"$pb" -f "$mnt" >>"$log" 2>&1 &
	pbpid=$!
	for ((i = 0; i < 300; i++)); do
		[ "$(stat -f -c %T "$mnt" 2>/dev/null)" = fuseblk ] && [ -d "$mnt/proc/sys" ] && return 0
		sleep 0.02
	done
	return 1
}

dk()
{
	timeout -k 5 "$DOCKER_TIMEOUT" "${rig[@]}" docker "$@"
}

run()
{
	timeout -k 5 "$DOCKER_TIMEOUT" "${rig[@]}" run "$@" 2>"$work/run.err"
}

ct_sh()
{
	local cid=$1
	shift
	dk exec "$cid" sh -c "$*" 2>&1
}

# Reads a file with read(2): busybox cat uses sendfile(2), which the kernel serves from the
# page cache up to the size it keeps for the FUSE inode, and a shorter read in another
# container can have cut that (the same for every file procbox serves).
ct_cat()
{
	ct_sh "$1" "head -c 65536 $2"
}

ct_pid()
{
	dk inspect -f '{{.State.Pid}}' "$1"
}

# The folder of pid's cgroup of a v1 controller (or of the v2 hierarchy).
cg_dir()
{
	local pid=$1 ctl=$2 path
	path=$(awk -F: -v c="$ctl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' \
		"/proc/$pid/cgroup")
	if [ -n "$path" ] && [ -d "/sys/fs/cgroup/$ctl$path" ]; then
		echo "/sys/fs/cgroup/$ctl$path"
		return
	fi
	path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
	echo "/sys/fs/cgroup/unified$path"
}

# The CPUs the kernel lets the container run on, as a list of ids, one a line.
cg_cpus()
{
	local d f
	d=$(cg_dir "$1" cpuset)
	for f in cpuset.effective_cpus cpuset.cpus.effective cpuset.cpus; do
		[ -r "$d/$f" ] && break
	done
	expand_list "$(cat "$d/$f")"
}

# "0-2,5" -> one id a line
expand_list()
{
	local part a b
	tr ',' '\n' <<<"$1" | while read -r part; do
		[ -n "$part" ] || continue
		a=${part%-*} b=${part#*-}
		seq "$a" "$b"
	done
}

# CPU time (ns) the container's cgroup has used.
cg_usage_ns()
{
	local d
	d=$(cg_dir "$1" cpuacct)
	if [ -r "$d/cpuacct.usage" ]; then
		cat "$d/cpuacct.usage"
	else
		awk '$1 == "usage_usec" { print $2 * 1000 }' "$d/cpu.stat"
	fi
}

# --- CPU ids: pinning, /proc/stat, cpuinfo, the cpuN folders ---

cpu_checks()
{
	local set=$1 cid pid want got bad id out
	if ! cid=$(run -d --runtime procbox --cpuset-cpus "$set" "$image" sleep 600); then
		tap_fail "--cpuset-cpus $set: docker run" "$(cat "$work/run.err")"
		return
	fi
	pid=$(ct_pid "$cid")
	want=$(cg_cpus "$pid" | tr '\n' ' ')
	tap_diag "--cpuset-cpus $set: the cgroup's CPUs: $want"

	out=$(ct_cat "$cid" /sys/devices/system/cpu/online)
	got=$(expand_list "$out" | tr '\n' ' ')
	tap_is "--cpuset-cpus $set: online ($out) lists the cgroup's CPU ids" "$got" "$want"
	got=$(ct_sh "$cid" "grep '^cpu[0-9]' /proc/stat | cut -d' ' -f1" | sed 's/^cpu//' | tr '\n' ' ')
	tap_is "--cpuset-cpus $set: /proc/stat's cpuN lines are the cgroup's CPU ids" "$got" "$want"
	got=$(ct_sh "$cid" "grep '^processor' /proc/cpuinfo" | awk '{ print $NF }' | tr '\n' ' ')
	tap_is "--cpuset-cpus $set: cpuinfo's processor ids are the cgroup's" "$got" "$want"
	got=$(ct_sh "$cid" "ls /sys/devices/system/cpu" | grep -E '^cpu[0-9]+$' | sed 's/^cpu//' |
		sort -n | tr '\n' ' ')
	tap_is "--cpuset-cpus $set: /sys/devices/system/cpu has exactly the cgroup's cpuN folders" \
		"$got" "$want"
	got=$(ct_cat "$cid" "/sys/devices/system/cpu/cpu${want%% *}/topology/core_cpus_list")
	tap_is "--cpuset-cpus $set: cpu${want%% *}/topology is the host's CPU ${want%% *}" "$got" \
		"$(cat "/sys/devices/system/cpu/cpu${want%% *}/topology/core_cpus_list")"

	# Pinning to what the container reads: every id alone, then the whole list.
	bad=
	for id in $(expand_list "$(ct_cat "$cid" /sys/devices/system/cpu/online)") \
		$(ct_sh "$cid" "grep '^processor' /proc/cpuinfo" | awk '{ print $NF }'); do
		got=$(ct_sh "$cid" "taskset -c $id true && echo ok")
		[ "$got" = ok ] || bad="$bad cpu $id: $got;"
	done
	got=$(ct_sh "$cid" 'taskset -c "$(head -c 4096 /sys/devices/system/cpu/online)" true && echo ok')
	[ "$got" = ok ] || bad="$bad online list: $got"
	if [ -z "$bad" ]; then
		tap_ok "--cpuset-cpus $set: pinning to every CPU id the container reads succeeds"
	else
		tap_fail "--cpuset-cpus $set: pinning to every CPU id the container reads succeeds" "$bad"
	fi
	dk rm -f "$cid" >/dev/null 2>&1
}

# `procbox attach` gives a running runc container the same CPU folder.
attach_cpu_check()
{
	local cid pid want got out
	if ! cid=$(run -d --cpuset-cpus 1 "$image" sleep 600); then
		tap_fail "attach: docker run" "$(cat "$work/run.err")"
		return
	fi
	pid=$(ct_pid "$cid")
	want=$(cg_cpus "$pid" | tr '\n' ' ')
	if ! out=$("$pb" attach --mountpoint "$mnt" "$pid" 2>&1); then
		tap_fail "attach: procbox attach $pid" "$out"
	fi
	got=$(ct_sh "$cid" "ls /sys/devices/system/cpu" | grep -E '^cpu[0-9]+$' | sed 's/^cpu//' |
		sort -n | tr '\n' ' ')
	tap_is "attach: /sys/devices/system/cpu has exactly the cgroup's cpuN folders" "$got" "$want"
	dk rm -f "$cid" >/dev/null 2>&1
}

# --- load average ---

# The kernel's 1-minute load after n samples of `active` tasks from 0, as /proc/loadavg
# prints it (kernel/sched/loadavg.c: calc_load, then LOAD_INT/LOAD_FRAC of avenrun + 1/200).
kernel_load1()
{
	awk -v n="$1" -v a="$2" 'BEGIN {
		load = 0; e = 1884; active = a * 2048
		for (i = 0; i < n; i++) {
			nl = load * e + active * (2048 - e)
			if (active >= load) nl += 2047
			load = int(nl / 2048)
		}
		v = load + 10
		printf "%d.%02d", int(v / 2048), int((v % 2048) * 100 / 2048)
	}'
}

# Whether got is, within the last digit, the 1-minute load of lo..hi samples of one task,
# or above it by at most what the container's start (runc's processes and the shell, running
# at its first tick: one sample of one task, decayed since) can have left: 0.07.
load_in()
{
	local got=$1 lo=$2 hi=$3
	awk -v a="$got" -v l="$(kernel_load1 "$lo" 1)" -v h="$(kernel_load1 "$hi" 1)" \
		'BEGIN { exit !(a > l - 0.015 && a < h + 0.015 + 0.07) }'
}

# "age load1" lines a container printed: the samples an interval of e seconds holds are
# floor(e / 5) or one more.
load_check()
{
	local name=$1 start=$2 line=$3 age got e lo
	read -r age got <<<"$line"
	e=$(awk -v a="$age" -v s="$start" 'BEGIN { print a - s }')
	lo=$(awk -v e="$e" 'BEGIN { print int(e / 5) }')
	if [ -n "$got" ] && load_in "$got" "$lo" $((lo + 1)); then
		tap_ok "load: $name: $got after ${e} s, the kernel's for $lo or $((lo + 1)) samples"
	else
		tap_fail "load: $name: the kernel's for $lo or $((lo + 1)) samples of one task" \
			"got '$got' ${e} s in; kernel: $(kernel_load1 "$lo" 1) or $(kernel_load1 $((lo + 1)) 1) (+0.07 at most)"
	fi
}

load_checks()
{
	local a b la lb
	# Everything happens inside the containers, so that no `docker exec` (runc's own
	# processes run in the container's cgroup) is counted at a sample.
	# A: read at the start, idle 21 s, then busy, read at once and 17 s later (a load
	# computed at reads would count the idle samples with the count seen at the second).
	# B: busy from the start, nobody reads before 24 s.
	if ! a=$(run -d --runtime procbox --cpuset-cpus 0 "$image" sh -c '
		up() { cut -d" " -f1 /proc/uptime; }
		head -c 64 /proc/loadavg >/dev/null; sleep 21; while :; do :; done & t=$(up)
		echo "$t $t $(head -c 64 /proc/loadavg | cut -d" " -f1)"; sleep 17
		echo "$t $(up) $(head -c 64 /proc/loadavg | cut -d" " -f1)"; kill $!') ||
		! b=$(run -d --runtime procbox --cpuset-cpus 1 "$image" sh -c '
		while :; do :; done & t=$(cut -d" " -f1 /proc/uptime); sleep 24
		echo "$t $(cut -d" " -f1 /proc/uptime) $(head -c 64 /proc/loadavg | cut -d" " -f1)"
		kill $!'); then
		tap_fail "load: docker run" "$(cat "$work/run.err")"
		return
	fi
	dk wait "$a" "$b" >/dev/null
	la=$(dk logs "$a" 2>&1)
	lb=$(dk logs "$b" 2>&1)
	tap_diag "load: A (start age load1): $(echo $la)" "load: B: $lb"
	load_check "idle 21 s, then busy, read at once" "$(sed -n 1p <<<"$la" | cut -d' ' -f1)" \
		"$(sed -n 1p <<<"$la" | cut -d' ' -f2-)"
	load_check "idle 21 s, then busy 17 s" "$(sed -n 2p <<<"$la" | cut -d' ' -f1)" \
		"$(sed -n 2p <<<"$la" | cut -d' ' -f2-)"
	load_check "busy from the start, first read" "$(cut -d' ' -f1 <<<"$lb")" \
		"$(cut -d' ' -f2- <<<"$lb")"
	dk rm -f "$a" "$b" >/dev/null 2>&1
}

# --- /proc/uptime's idle field ---

# "uptime idle usage_ns" of a container, read together
uptime_sample()
{
	local cid=$1 pid=$2
	echo "$(ct_cat "$cid" /proc/uptime) $(cg_usage_ns "$pid")"
}

uptime_checks()
{
	local cid pid s1 s2 s3
	if ! cid=$(run -d --runtime procbox --cpuset-cpus 0 "$image" sleep 600); then
		tap_fail "uptime: docker run" "$(cat "$work/run.err")"
		return
	fi
	pid=$(ct_pid "$cid")
	s1=$(uptime_sample "$cid" "$pid")
	sleep 3
	s2=$(uptime_sample "$cid" "$pid")
	dk exec "$cid" timeout 3 sh -c 'while :; do :; done' >/dev/null 2>&1
	s3=$(uptime_sample "$cid" "$pid")
	tap_diag "uptime idle usage_ns: $s1 / $s2 / $s3"
	# One CPU: idle grows by the time passed less what the cgroup ran, within rounding
	# (0.01 s per field, a read's own CPU time, and the kernel's per-CPU user/system split
	# being tick-sampled where cpuacct.usage is exact: 20 % of the busy time).
	if awk -v a="$s1" -v b="$s2" -v c="$s3" 'BEGIN {
		split(a, x, " "); split(b, y, " "); split(c, z, " ")
		di = y[2] - x[2]; du = y[1] - x[1]; dc = (y[3] - x[3]) / 1e9
		if (di < du - dc - 0.1 || di > du + 0.02) exit 1
		di = z[2] - y[2]; du = z[1] - y[1]; dc = (z[3] - y[3]) / 1e9
		e = 0.1 + 0.2 * dc
		if (dc < 0.5 || di > du - dc + e || di < du - dc - e) exit 1
		if (z[2] < 0 || z[2] > z[1] + 0.01) exit 1
	}'; then
		tap_ok "uptime: idle grows with an idle container and not with its busy loop"
	else
		tap_fail "uptime: idle is the container's CPU's idle time over an idle and a busy interval" \
			"uptime idle usage_ns: $s1 / $s2 / $s3"
	fi
	dk rm -f "$cid" >/dev/null 2>&1
}

# --- sysctl -a against a plain container, somaxconn ---

# Emulated keys the kernel does not namespace: the only ones allowed to differ.
emulated_keys='^(kernel\.(cap_last_cap|ngroups_max|random\.uuid|panic|panic_on_oops|printk|kptr_restrict|dmesg_restrict|sysrq|yama\.ptrace_scope)|fs\.(file-max|nr_open|protected_hardlinks|protected_symlinks)|vm\.(overcommit_memory|mmap_min_addr)|net\.netfilter\.nf_conntrack_max|net\.ipv4\.ping_group_range) ='

sysctl_checks()
{
	local p q a b pid diff vol got skip
	if ! p=$(run -d --runtime procbox "$image" sleep 600) || ! q=$(run -d "$image" sleep 600); then
		tap_fail "sysctl: docker run" "$(cat "$work/run.err")"
		return
	fi
	ct_sh "$q" "sysctl -a 2>/dev/null" | sort >"$work/plain1"
	ct_sh "$p" "sysctl -a 2>/dev/null" | sort >"$work/procbox"
	ct_sh "$q" "sysctl -a 2>/dev/null" | sort >"$work/plain2"
	# Keys whose value changes by itself (counters, random values, pids), and the UTS
	# names each container has its own of: not compared.
	skip="kernel.random.boot_id kernel.ns_last_pid kernel.hostname"
	vol=$(diff "$work/plain1" "$work/plain2" | sed -n 's/^[<>] \([^ ]*\) = .*/\1/p' | sort -u)
	diff=$(diff <(grep -vF -f <(printf '%s =\n' $vol $skip) "$work/plain2") \
		<(grep -vF -f <(printf '%s =\n' $vol $skip) "$work/procbox") |
		grep '^[<>]' | grep -vE "^[<>] $emulated_keys")
	tap_diag "sysctl: $(wc -l <"$work/procbox") keys with procbox, $(wc -l <"$work/plain2") plain; volatile: $(echo $vol)"
	if [ -z "$diff" ] && [ "$(wc -l <"$work/procbox")" -gt 100 ]; then
		tap_ok "sysctl -a differs from a plain container only in emulated host-wide keys"
	else
		tap_fail "sysctl -a differs from a plain container only in emulated host-wide keys" \
			"< plain, > procbox:" "$diff"
	fi
	dk rm -f "$p" "$q" >/dev/null 2>&1

	# somaxconn is per netns on this kernel: the container's value is the kernel's.
	if ! a=$(run -d --runtime procbox --cap-add NET_ADMIN "$image" sleep 600); then
		tap_fail "somaxconn: docker run" "$(cat "$work/run.err")"
		return
	fi
	pid=$(ct_pid "$a")
	got=$(ct_sh "$a" "sysctl -w net.core.somaxconn=1024 >/dev/null && cat /proc/sys/net/core/somaxconn")
	b=$(nsenter -t "$pid" -n cat /proc/sys/net/core/somaxconn)
	tap_is "somaxconn: 1024 written in a container is its netns's value (reads $got)" "$b" 1024
	tap_is "somaxconn: the host keeps its own" "$(cat /proc/sys/net/core/somaxconn)" "$host_somaxconn"
	dk rm -f "$a" >/dev/null 2>&1
}

# --- memory without a limit ---

memory_checks()
{
	local cid pid d mi used want
	if ! cid=$(run -d --runtime procbox "$image" sleep 600); then
		tap_fail "memory: docker run" "$(cat "$work/run.err")"
		return
	fi
	pid=$(ct_pid "$cid")
	d=$(cg_dir "$pid" memory)
	mi=$(ct_cat "$cid" /proc/meminfo)
	# procps free: used = MemTotal - MemFree - Buffers - Cached - SReclaimable (MiB)
	used=$(awk '/^(MemTotal):/ { t = $2 } /^(MemFree|Buffers|Cached|SReclaimable):/ { f += $2 }
		END { print int((t - f) / 1024) }' <<<"$mi")
	# the cgroup's usage less its page cache, as memory.stat counts it
	if [ -r "$d/memory.usage_in_bytes" ]; then
		want=$(awk -v u="$(cat "$d/memory.usage_in_bytes")" '$1 == "total_cache" { c = $2 }
			END { print int((u - c) / 1048576) }' "$d/memory.stat")
	else
		want=$(awk -v u="$(cat "$d/memory.current")" '$1 == "file" { c = $2 }
			END { print int((u - c) / 1048576) }' "$d/memory.stat")
	fi
	if [ -n "$used" ] && [ -n "$want" ] && [ "$used" -le $((want + 2)) ] && [ "$used" -ge $((want - 2)) ]; then
		tap_ok "memory: an unlimited container's used is its own, $used MiB (cgroup: $want MiB)"
	else
		tap_fail "memory: an unlimited container's used is its own" "used $used MiB, cgroup $want MiB" \
			"$(grep -E '^(MemTotal|MemFree|MemAvailable|Cached):' <<<"$mi")"
	fi
	dk rm -f "$cid" >/dev/null 2>&1
}

image=$("${rig[@]}" image)
if ! procbox_start; then
	tap_fail "procbox starts" "$(tail -n 20 "$log")"
	tap_end
	exit 1
fi
if ! out=$(timeout -k 5 300 "${rig[@]}" up --add-runtime "procbox=$work/procbox-runc" 2>&1); then
	tap_skip "views in docker" "the docker rig did not come up: $(tail -n 1 <<<"$out" | tr '#' ' ')"
	tap_end
	exit
fi
ncpu=$(expand_list "$(cat /sys/devices/system/cpu/online)" | wc -l)
if [ "$ncpu" -ge 2 ]; then
	cpu_checks 1
	cpu_checks 0-1
	[ "$ncpu" -ge 4 ] && cpu_checks 0,2-3
	attach_cpu_check
else
	tap_skip "--cpuset-cpus 1 and 0-1" "one CPU online"
fi
load_checks
uptime_checks
sysctl_checks
memory_checks
timeout -k 5 180 "${rig[@]}" down >/dev/null 2>&1 || tap_fail "rig down"
tap_end
