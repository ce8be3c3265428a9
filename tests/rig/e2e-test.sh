#!/usr/bin/env bash
# timeout: 600
# procbox end to end in real Docker containers, in TAP, with a plain dockerd and with
# dockerd --userns-remap=default: /proc/sys written in one container and not in another
# nor on the host, non-root and host-wide writes refused, the emulated files (uptime,
# swaps, kernel/panic), the resource views of --memory/--cpus/--cpuset-cpus, 50
# containers started and removed with nothing left in the daemon, and the plain
# --mount flags for the files runc lets a user bind.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
tap_reexec_reaped "$0" "$@"

# A rig dir of our own: other suites may keep a rig up in the default one.
export PROCBOX_RIG_DIR=${PROCBOX_RIG_DIR:-/run/procbox-rig-e2e-$$}
rig=("bash" "$here/rig.sh")
build=${PROCBOX_BUILD_DIR:-$here/../../build}
pb=$build/procbox
# Every docker command gets this long at most; a hung one must not hang the suite.
DOCKER_TIMEOUT=${PROCBOX_E2E_DOCKER_TIMEOUT:-60}
LIFECYCLE_RUNS=${PROCBOX_E2E_RUNS:-50}
# The files runc accepts as bind-mount targets inside /proc, and procbox serves.
BIND_FILES=(uptime meminfo cpuinfo stat loadavg diskstats swaps)

if [ "$(id -u)" -ne 0 ]; then
	tap_skip "procbox end to end in docker" "needs root"
	tap_end
	exit
fi
if [ ! -x "$pb" ] || [ ! -w /dev/fuse ]; then
	tap_skip "procbox end to end in docker" "no $pb or no /dev/fuse"
	tap_end
	exit
fi
if [ -n "${PROCBOX_RIG_NO_INSTALL:-}" ] && [ ! -x /usr/sbin/dockerd ]; then
	tap_skip "procbox end to end in docker" "docker.io is not installed and installing is not allowed"
	tap_end
	exit
fi

work=$(mktemp -d /tmp/procbox-e2e-XXXXXX)
# A container's remapped root opens the --mount sources itself: let it through.
chmod 711 "$work"
mnt=$work/mnt
log=$work/procbox.log
pbpid=
# dockerd, started by rig.sh from this environment, passes it down to the runtime
# wrapper, which gives it to procbox's hook.
export PROCBOX_MOUNTPOINT=$mnt
# argv[0] dispatch: a symlink named procbox-runc is the runtime wrapper.
ln -s "$(readlink -f "$pb")" "$work/procbox-runc"

# The host's values this suite might change if procbox let it; put back on exit.
saved_sysctls=(net/ipv4/ip_default_ttl kernel/panic vm/swappiness kernel/threads-max)
declare -A host_val
for s in "${saved_sysctls[@]}"; do
	host_val[$s]=$(cat "/proc/sys/$s")
done

cleanup()
{
	local s
	trap - EXIT
	timeout -k 5 180 "${rig[@]}" down >/dev/null 2>&1
	if [ -n "$pbpid" ]; then
		kill "$pbpid" 2>/dev/null
		wait "$pbpid" 2>/dev/null
	fi
	umount -l "$mnt" 2>/dev/null
	rm -rf --one-file-system "$work"
	for s in "${saved_sysctls[@]}"; do
		[ "$(cat "/proc/sys/$s")" = "${host_val[$s]}" ] && continue
		echo "${host_val[$s]}" >"/proc/sys/$s"
		echo "e2e-test: restored the host's $s to ${host_val[$s]}" >&2
	done
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

now()
{
	date +%s.%N
}

since()
{
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'
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

# docker run --network none --pull=never ARGS; stdout only, stderr kept for diagnostics.
run()
{
	timeout -k 5 "$DOCKER_TIMEOUT" "${rig[@]}" run "$@" 2>"$work/run.err"
}

# Runs sh -c CMD in a running container; stdout and stderr together.
ct_sh()
{
	local cid=$1
	shift
	dk exec "$cid" sh -c "$*" 2>&1
}

# Like ct_sh, as the container's user 1000.
ct_sh_user()
{
	local cid=$1
	shift
	dk exec -u 1000 "$cid" sh -c "$*" 2>&1
}

# A value other than $1 that the kernel accepts for the same sysctl.
other_value()
{
	case $1 in
	77) echo 78 ;;
	*) echo 77 ;;
	esac
}

# Every container reads and writes the same FUSE inode, whose size the kernel keeps
# once for all: a write or a truncating open in one container must not shorten what
# busybox cat (sendfile(2), which trusts st_size) reads in another.

# --- /proc/sys ---

sysctl_checks()
{
	local mode=$1 cid b out rc ttl panic caps=() s want
	# A user namespace's root may write its network namespace's sysctls only with
	# CAP_NET_ADMIN (net_ctl_permissions), which Docker does not grant by default.
	[ "$mode" = plain ] || caps=(--cap-add NET_ADMIN)
	if ! cid=$(run -d --runtime procbox "${caps[@]}" "$image" sleep 600); then
		tap_fail "$mode: docker run -d --runtime procbox (container A)" "$cid" "$(cat "$work/run.err")"
		return 1
	fi
	a_cid=$cid
	if ! b=$(run -d --runtime procbox "$image" sleep 600); then
		tap_fail "$mode: docker run -d --runtime procbox (container B)" "$b" "$(cat "$work/run.err")"
		return 1
	fi
	b_cid=$b

	ttl=$(other_value "${host_val[net/ipv4/ip_default_ttl]}")
	out=$(ct_sh "$cid" "sysctl -w net.ipv4.ip_default_ttl=$ttl >/dev/null && cat /proc/sys/net/ipv4/ip_default_ttl")
	tap_is "$mode: sysctl -w net.ipv4.ip_default_ttl=$ttl in A reads back $ttl in A" "$out" "$ttl"

	panic=$(other_value "${host_val[kernel/panic]}")
	out=$(ct_sh "$cid" "echo $panic > /proc/sys/kernel/panic && cat /proc/sys/kernel/panic")
	tap_is "$mode: kernel/panic (emulated) written in A reads back $panic in A" "$out" "$panic"

	# Container B: the kernel's default ttl and the host's panic, not A's.
	tap_is "$mode: container B reads ip_default_ttl 64" \
		"$(ct_sh "$b" cat /proc/sys/net/ipv4/ip_default_ttl)" "64"
	tap_is "$mode: container B reads the host's kernel/panic ${host_val[kernel/panic]}" \
		"$(ct_sh "$b" "stat /proc/sys/kernel/panic >/dev/null; cat /proc/sys/kernel/panic")" \
		"${host_val[kernel/panic]}"
	tap_is "$mode: the host keeps its ip_default_ttl and kernel/panic" \
		"$(cat /proc/sys/net/ipv4/ip_default_ttl /proc/sys/kernel/panic | tr '\n' ' ')" \
		"${host_val[net/ipv4/ip_default_ttl]} ${host_val[kernel/panic]} "

	out=$(ct_sh_user "$cid" "echo 99 > /proc/sys/net/ipv4/ip_default_ttl") && rc=0 || rc=$?
	if [ "$rc" -ne 0 ] && [[ $out == *"Permission denied"* ]]; then
		tap_ok "$mode: a write by --user 1000 gets Permission denied"
	else
		tap_fail "$mode: a write by --user 1000 gets Permission denied" "rc=$rc" "got: $out"
	fi
	out=$(ct_sh_user "$cid" "echo 9 > /proc/sys/kernel/panic") && rc=0 || rc=$?
	if [ "$rc" -ne 0 ] && [[ $out == *"Permission denied"* ]]; then
		tap_ok "$mode: an emulated write by --user 1000 gets Permission denied"
	else
		tap_fail "$mode: an emulated write by --user 1000 gets Permission denied" "rc=$rc" "got: $out"
	fi

	out=$(ct_sh "$cid" "echo bogus > /proc/sys/kernel/panic")
	case $out in
	*"Invalid argument"*) tap_ok "$mode: an invalid kernel/panic write gets Invalid argument" ;;
	*) tap_fail "$mode: an invalid kernel/panic write gets Invalid argument" "got: $out" ;;
	esac
	tap_is "$mode: cat right after the invalid write reads A's kernel/panic" \
		"$(ct_sh "$cid" cat /proc/sys/kernel/panic)" "$panic"
	tap_is "$mode: A keeps its ip_default_ttl and kernel/panic (read after a stat)" \
		"$(ct_sh "$cid" "stat /proc/sys/net/ipv4/ip_default_ttl /proc/sys/kernel/panic >/dev/null; cat /proc/sys/net/ipv4/ip_default_ttl /proc/sys/kernel/panic" | tr '\n' ' ')" \
		"$ttl $panic "
	ct_sh "$b" "echo 1234567 > /proc/sys/kernel/panic" >/dev/null
	ct_sh "$cid" "echo 5 > /proc/sys/kernel/panic" >/dev/null
	tap_is "$mode: B reads all of its kernel/panic after A wrote a shorter one" \
		"$(ct_sh "$b" cat /proc/sys/kernel/panic)" "1234567"
	ct_sh "$cid" "sysctl -w net.ipv4.ip_default_ttl=9" >/dev/null
	tap_is "$mode: B reads its ip_default_ttl 64 after A set its own to 9" \
		"$(ct_sh "$b" cat /proc/sys/net/ipv4/ip_default_ttl)" "64"

	# Host-wide sysctls: refused even to a container whose root is the host's uid 0.
	for s in vm/swappiness kernel/threads-max; do
		want=${host_val[$s]}
		out=$(ct_sh "$cid" "echo $((want - 1)) > /proc/sys/$s") && rc=0 || rc=$?
		if [ "$rc" -ne 0 ] && [ "$(cat "/proc/sys/$s")" = "$want" ]; then
			tap_ok "$mode: the host-wide $s cannot be changed from A (host keeps $want)"
			tap_diag "$mode: $s in A: $out"
		else
			tap_fail "$mode: the host-wide $s cannot be changed from A" "rc=$rc, got: $out" \
				"host now: $(cat "/proc/sys/$s"), was $want"
		fi
	done
}

# --- emulated files ---

emulated_checks()
{
	local mode=$1 out up host_up
	# shellcheck disable=SC2016 # expanded by the container's shell
	out=$(run --rm --runtime procbox "$image" sh -c \
		'sleep 2; read u i < /proc/uptime; echo "$u"; head -n 1 /proc/swaps')
	host_up=$(cut -d' ' -f1 /proc/uptime)
	up=$(sed -n 1p <<<"$out")
	if [[ $up =~ ^[0-9]+\.[0-9]+$ ]] && awk -v u="$up" -v h="$host_up" \
		'BEGIN { exit !(u >= 1.9 && u < 8 && u < h - 10) }'; then
		tap_ok "$mode: /proc/uptime 2 s after the start reads $up (host: $host_up)"
	else
		tap_fail "$mode: /proc/uptime 2 s after the start reads about 2" "got: $out" \
			"host: $host_up" "$(cat "$work/run.err")"
	fi
	if [[ $(sed -n 2p <<<"$out") =~ ^Filename[[:space:]]+Type[[:space:]]+Size[[:space:]]+Used[[:space:]]+Priority$ ]]; then
		tap_ok "$mode: /proc/swaps has its header line"
	else
		tap_fail "$mode: /proc/swaps has its header line" "got: $out"
	fi
}

# --- resource views ---

resource_checks()
{
	local mode=$1 out
	out=$(run --rm --runtime procbox --memory 256m --cpus 0.5 --cpuset-cpus 0 "$image" sh -c \
		"awk '/^MemTotal:/ { print \$2, \$3 }' /proc/meminfo; grep -c '^processor' /proc/cpuinfo;
		 cat /sys/devices/system/cpu/online; nproc; free -m | awk '/^Mem:/ { print \$2 }'")
	if [ "$(wc -l <<<"$out")" -ne 5 ]; then
		tap_fail "$mode: docker run --memory 256m --cpus 0.5 --cpuset-cpus 0" "got: $out" \
			"$(cat "$work/run.err")"
		return 1
	fi
	tap_is "$mode: --memory 256m: MemTotal in /proc/meminfo" "$(sed -n 1p <<<"$out")" "262144 kB"
	tap_is "$mode: --cpuset-cpus 0: processors in /proc/cpuinfo" "$(sed -n 2p <<<"$out")" "1"
	tap_is "$mode: --cpuset-cpus 0: /sys/devices/system/cpu/online" "$(sed -n 3p <<<"$out")" "0"
	tap_is "$mode: --cpuset-cpus 0: nproc" "$(sed -n 4p <<<"$out")" "1"
	# busybox free takes its total from sysinfo(2), which no file can change; procps'
	# free reads /proc/meminfo, but the image has only busybox.
	tap_skip "$mode: --memory 256m: free -m total 256" \
		"busybox free uses sysinfo(2), not /proc/meminfo (it printed $(sed -n 5p <<<"$out"))"
}

# --- plain --mount flags ---

mount_flags()
{
	local f
	for f in "${BIND_FILES[@]}"; do
		printf -- '--mount type=bind,src=%s/proc/%s,dst=/proc/%s ' "$mnt" "$f" "$f"
	done
}

bind_checks()
{
	local mode=$1 out up host_up n flags
	read -r -a flags <<<"$(mount_flags)"
	# shellcheck disable=SC2016 # expanded by the container's shell
	out=$(run --rm --memory 256m "${flags[@]}" "$image" sh -c \
		'read u i < /proc/uptime; echo "$u"; grep -c " fuse.procbox " /proc/self/mountinfo
		 awk "/^MemTotal:/ { print \$2 }" /proc/meminfo')
	host_up=$(cut -d' ' -f1 /proc/uptime)
	up=$(sed -n 1p <<<"$out")
	n=$(sed -n 2p <<<"$out")
	if [[ $up =~ ^[0-9]+\.[0-9]+$ ]] && [ "$n" = "${#BIND_FILES[@]}" ] &&
		awk -v u="$up" -v h="$host_up" 'BEGIN { exit !(u < 8 && u < h - 10) }'; then
		tap_ok "$mode: with only the --mount flags (stock runc) /proc/uptime is procbox's ($up s)"
	else
		tap_fail "$mode: with only the --mount flags (stock runc) /proc/uptime is procbox's" \
			"got: $out" "host uptime: $host_up" "$(cat "$work/run.err")"
	fi
	tap_is "$mode: with only the --mount flags and --memory 256m, MemTotal" \
		"$(sed -n 3p <<<"$out")" "262144"
}

# --- lifecycle ---

# "containers agents cached_fds fds(not /dev/fuse) children" of the running daemon.
daemon_state()
{
	local stats c a f fds kids
	stats=$(cat "$mnt/.procbox-stats" 2>/dev/null) || return 1
	c=$(grep -o '"containers": *[0-9]*' <<<"$stats" | grep -o '[0-9]*$')
	a=$(grep -o '"agents": *[0-9]*' <<<"$stats" | grep -o '[0-9]*$')
	f=$(grep -o '"cached_fds": *[0-9]*' <<<"$stats" | grep -o '[0-9]*$')
	# One /dev/fuse clone per FUSE worker thread, and the pool grows with the load up
	# to --threads: not per container.
	fds=$(find "/proc/$pbpid/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null | grep -cvx /dev/fuse)
	# shellcheck disable=SC2046 # one word per child pid
	kids=$(set -- $(cat "/proc/$pbpid"/task/*/children 2>/dev/null) && echo $#)
	echo "${c:-?} ${a:-?} ${f:-?} $fds $kids"
}

# Whether every field of state $1 is at most the same field of state $2.
state_le()
{
	local -a x y
	local i
	read -r -a x <<<"$1"
	read -r -a y <<<"$2"
	for i in 0 1 2 3 4; do
		[[ ${x[$i]} =~ ^[0-9]+$ ]] && [ "${x[$i]}" -le "${y[$i]}" ] || return 1
	done
}

# Waits until the daemon's state is the same twice, 0.5 s apart (at most 10 s); prints it.
settled_state()
{
	local s prev="" i
	for ((i = 0; i < 20; i++)); do
		s=$(daemon_state)
		[ "$s" = "$prev" ] && break
		prev=$s
		sleep 0.5
	done
	echo "$s"
}

lifecycle_checks()
{
	local mode=$1 before after stock t0 i out bad=0 badout=""
	stock=$(run --rm "$image" cat /proc/sys/net/ipv4/ip_forward)
	before=$(settled_state)
	tap_diag "$mode: before the runs, containers agents cached_fds fds(not /dev/fuse) children: $before"
	t0=$(now)
	for ((i = 0; i < LIFECYCLE_RUNS; i++)); do
		out=$(run --rm --runtime procbox "$image" cat /proc/sys/net/ipv4/ip_forward)
		if [ "$out" != "$stock" ]; then
			bad=$((bad + 1))
			badout="run $i: '$out' $(head -c 300 "$work/run.err")"
		fi
	done
	tap_diag "$mode: $LIFECYCLE_RUNS runs took $(since "$t0") s"
	if [ "$bad" -eq 0 ]; then
		tap_ok "$mode: $LIFECYCLE_RUNS containers in sequence read ip_forward $stock (as with runc)"
	else
		tap_fail "$mode: $LIFECYCLE_RUNS containers in sequence read ip_forward $stock (as with runc)" \
			"$bad differed; last: $badout"
	fi
	# The daemon releases a container when its init exits: give it a moment.
	for ((i = 0; i < 50; i++)); do
		after=$(daemon_state)
		state_le "$after" "$before" && break
		sleep 0.2
	done
	tap_diag "$mode: after the runs, containers agents cached_fds fds(not /dev/fuse) children: $after" \
		"$mode: threads $(find "/proc/$pbpid/task" -mindepth 1 -maxdepth 1 | wc -l), /dev/fuse fds $(find "/proc/$pbpid/fd" -mindepth 1 -printf '%l\n' | grep -cx /dev/fuse)"
	if state_le "$after" "$before"; then
		tap_ok "$mode: no container state, agent, cached fd, fd or child left for them ($after)"
	else
		tap_fail "$mode: no container state, agent, cached fd, fd or child left for them" \
			"containers agents cached_fds fds(not /dev/fuse) children" "before: $before" "after:  $after" \
			"stats: $(cat "$mnt/.procbox-stats" 2>&1)"
	fi
	out=$(run --rm --runtime procbox "$image" cat /proc/sys/net/ipv4/ip_default_ttl)
	if [ "$out" = 64 ] && [ -n "$(cat "$mnt/proc/uptime" 2>/dev/null)" ]; then
		tap_ok "$mode: procbox still answers a new container and the host"
	else
		tap_fail "$mode: procbox still answers a new container and the host" "got: $out" \
			"$(cat "$work/run.err")" "$(tail -n 5 "$log")"
	fi
}

t_all=$(now)
image=$("${rig[@]}" image)
if ! procbox_start; then
	tap_fail "procbox starts" "$(tail -n 20 "$log")"
	tap_end
	exit 1
fi
tap_diag "For the files runc lets a user bind inside /proc, these flags give a container"
tap_diag "procbox's files with the stock runtime (no --runtime):"
tap_diag "  docker run $(mount_flags)..."

docker_ok=
for mode in plain userns-remap; do
	flags=(--add-runtime "procbox=$work/procbox-runc")
	[ "$mode" = plain ] || flags+=(--userns-remap)
	t=$(now)
	if ! out=$(timeout -k 5 300 "${rig[@]}" up "${flags[@]}" 2>&1); then
		if [ -z "$docker_ok" ]; then
			# Docker cannot be installed or started here: nothing below can run.
			tap_skip "procbox end to end in docker" \
				"the docker rig did not come up: $(tail -n 1 <<<"$out" | tr '#' ' ')"
			tap_diag "$out"
			break
		fi
		tap_fail "$mode: rig up" "$out"
		continue
	fi
	docker_ok=1
	tap_diag "$mode: rig up took $(since "$t") s"
	a_cid='' b_cid=
	t=$(now)
	sysctl_checks "$mode"
	emulated_checks "$mode"
	resource_checks "$mode"
	bind_checks "$mode"
	[ -z "$a_cid$b_cid" ] || dk rm -f ${a_cid:+"$a_cid"} ${b_cid:+"$b_cid"} >/dev/null 2>&1
	lifecycle_checks "$mode"
	tap_diag "$mode: checks took $(since "$t") s"
done

timeout -k 5 180 "${rig[@]}" down >/dev/null 2>&1 || tap_fail "rig down"
tap_diag "total: $(since "$t_all") s"
tap_end
