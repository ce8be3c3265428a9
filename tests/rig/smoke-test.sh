#!/usr/bin/env bash
# The rig itself, in TAP: up, a container, --userns-remap, down after a crash, and
# that nothing is left behind on the host (processes, mounts, cgroups, network).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
tap_reexec_reaped "$0" "$@"

# A rig dir of our own, so a rig someone keeps up in /run/procbox-rig is not touched.
export PROCBOX_RIG_DIR=${PROCBOX_RIG_DIR:-/run/procbox-rig-smoke-$$}
RIG_DIR=$PROCBOX_RIG_DIR
rig=("bash" "$here/rig.sh")

if [ "$(id -u)" -ne 0 ]; then
	tap_skip "docker rig" "needs root"
	tap_end
	exit
fi
if [ -n "${PROCBOX_RIG_NO_INSTALL:-}" ] && [ ! -x /usr/sbin/dockerd ]; then
	tap_skip "docker rig" "docker.io is not installed and installing is not allowed"
	tap_end
	exit
fi

trap '"${rig[@]}" down >/dev/null 2>&1' EXIT

now()
{
	date +%s.%N
}

since()
{
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

# What the rig must not change on the host.
host_net()
{
	ip -o link show
	echo "ip_forward=$(sysctl -n net.ipv4.ip_forward)"
	echo "ip6 forwarding=$(sysctl -n net.ipv6.conf.all.forwarding 2>/dev/null)"
	ip netns list 2>/dev/null
	if command -v iptables-save >/dev/null; then
		iptables-save 2>/dev/null | grep -v '^#'
	fi
}

# Prints what the rig left behind; empty means nothing.
leftovers()
{
	local pid d
	pid=$(cat "$RIG_DIR/dockerd.pid" 2>/dev/null) &&
		[ -d "/proc/$pid" ] && [ "$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1)" != Z ] &&
		echo "dockerd pid $pid still runs"
	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" = "$$" ] && continue
		case $(cat "$d/comm" 2>/dev/null) in
		dockerd | containerd | containerd-shim* | runc | docker-init)
			tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "$RIG_DIR/" &&
				echo "process ${d#/proc/} $(cat "$d/comm")"
			;;
		esac
	done
	awk -v rig="$RIG_DIR" 'index($5, rig) == 1 { print "mount " $5 }' /proc/self/mountinfo
	[ ! -e "$RIG_DIR" ] || echo "$RIG_DIR still exists"
	find /sys/fs/cgroup -maxdepth 2 -name "$cgname" 2>/dev/null | sed 's/^/cgroup /'
	return 0
}

# rig.sh's cgroup parent for a rig dir other than the default
cgname=procbox-rig-$(printf '%s' "$RIG_DIR" | cksum | cut -d' ' -f1)
net_before=$(host_net)
image=$("${rig[@]}" image)

# --- plain dockerd ---
t=$(now)
if out=$("${rig[@]}" up 2>&1); then
	up_plain=ok
	tap_ok "rig up"
	tap_diag "up took $(since "$t") s"
else
	up_plain=
	tap_fail "rig up" "$out"
fi

if [ -n "$up_plain" ]; then
	t=$(now)
	out=$("${rig[@]}" run --rm "$image" cat /proc/uptime 2>&1)
	took=$(since "$t")
	if [[ $out =~ ^[0-9]+\.[0-9]+\ [0-9]+\.[0-9]+$ ]]; then
		tap_ok "busybox cat /proc/uptime in a container"
	else
		tap_fail "busybox cat /proc/uptime in a container" "got: $out"
	fi
	tap_diag "one docker run --rm took $took s"

	dpid=$(cat "$RIG_DIR/dockerd.pid")
	if [ "$(readlink "/proc/$dpid/ns/net")" != "$(readlink /proc/self/ns/net)" ]; then
		tap_ok "dockerd runs in a network namespace of its own"
	else
		tap_fail "dockerd runs in a network namespace of its own"
	fi
	links=$(nsenter --net="/proc/$dpid/ns/net" ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
	tap_is "dockerd's network namespace holds only lo" "$links" "lo "

	out=$("${rig[@]}" run --rm "$image" sh -c 'ls /sys/class/net' 2>&1)
	tap_is "a --network none container sees only lo" "$out" "lo"

	out=$("${rig[@]}" run --rm --user 1000 "$image" sh -c 'id -u; cat /etc/passwd | grep -c :' 2>&1)
	tap_is "--user 1000 runs as uid 1000 with the image's passwd" "${out//$'\n'/ }" "1000 2"
else
	for n in "busybox cat /proc/uptime in a container" "dockerd's network namespace" \
		"--network none container" "--user 1000"; do
		tap_skip "$n" "rig did not come up"
	done
fi

t=$(now)
if out=$("${rig[@]}" down 2>&1); then
	tap_ok "rig down"
	tap_diag "down took $(since "$t") s"
else
	tap_fail "rig down" "$out"
fi
tap_is "nothing left after down" "$(leftovers)" ""

# --- --userns-remap=default ---
t=$(now)
if out=$("${rig[@]}" up --userns-remap 2>&1); then
	up_remap=ok
	tap_ok "rig up --userns-remap"
	tap_diag "up --userns-remap took $(since "$t") s"
else
	up_remap=
	tap_fail "rig up --userns-remap" "$out"
fi

if [ -n "$up_remap" ]; then
	tap_check "dockerd created the dockremap user" getent passwd dockremap
	sub=$(awk -F: '$1 == "dockremap" { print $2; exit }' /etc/subuid)
	out=$("${rig[@]}" run --rm "$image" sh -c 'id -u; cat /proc/self/uid_map' 2>&1)
	read -r uid inside outside count <<<"${out//$'\n'/ }"
	tap_is "id -u in a remapped container is 0" "$uid" "0"
	if [ "$inside" = 0 ] && [ -n "$outside" ] && [ "$outside" != 0 ] && [ "$outside" = "$sub" ] &&
		[ "${count:-0}" -gt 0 ] && [ "$count" -lt 4294967295 ]; then
		tap_ok "uid_map maps container root to dockremap's range ($outside, $count ids)"
	else
		tap_fail "uid_map maps container root to dockremap's range" "uid_map: $out" \
			"dockremap's subuid start: $sub"
	fi
else
	for n in "dockremap user" "id -u in a remapped container" "uid_map"; do
		tap_skip "$n" "rig did not come up with --userns-remap"
	done
fi

if out=$("${rig[@]}" down 2>&1); then
	tap_ok "rig down after --userns-remap"
else
	tap_fail "rig down after --userns-remap" "$out"
fi
tap_is "nothing left after the remapped rig" "$(leftovers)" ""
tap_check "down is idempotent" "${rig[@]}" down

# --- down after dockerd died with a container running ---
if "${rig[@]}" up >/dev/null 2>&1 &&
	cid=$("${rig[@]}" run -d "$image" sleep 600 2>&1); then
	dpid=$(cat "$RIG_DIR/dockerd.pid")
	kill -KILL "$dpid"
	while [ -d "/proc/$dpid" ] && [ "$(sed 's/.*) //' "/proc/$dpid/stat" | cut -d' ' -f1)" != Z ]; do
		sleep 0.1
	done
	if out=$("${rig[@]}" down 2>&1); then
		tap_ok "down after dockerd was killed with a container running"
	else
		tap_fail "down after dockerd was killed with a container running" "$out"
	fi
	tap_is "nothing left after the crash" "$(leftovers)" ""
else
	tap_fail "down after dockerd was killed with a container running" "could not start: ${cid:-}"
	"${rig[@]}" down >/dev/null 2>&1
fi

tap_is "host network untouched (links, ip_forward, netns, iptables)" "$(host_net)" "$net_before"
tap_end
