#!/usr/bin/env bash
# timeout: 300
# procbox restarts invisible to containers, in TAP: 3 containers with two readers each
# (open+read+close of ip_forward, meminfo, uptime; a long-open meminfo fd read with
# pread at 0), each through its own set of kernel inodes (.inodes/ctN), while procbox
# is killed with SIGKILL and started again 5 times, then upgraded in place 5 times: no
# failed read, every container's emulated value and inodes kept,
# the same fds and processes of procbox and its holder before and after, nothing left
# after a stop. The holder refuses a non-root client, a client of another
# installation and a container. bench/restart runs the full figure (10 containers,
# 20 + 20).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
tap_reexec_reaped "$0" "$@"
# shellcheck source=tests/lib/restart-load.sh
. "$here/../lib/restart-load.sh"

build=${PROCBOX_BUILD_DIR:-$here/../../build}
PB=$(readlink -f "$build/procbox")
RL_READER=$here/../lib/restart-reader.py

if [ "$(id -u)" -ne 0 ] || [ ! -w /dev/fuse ] || [ ! -x "$PB" ]; then
	tap_skip "restarts" "needs root, /dev/fuse and $build/procbox"
	tap_end
	exit
fi

work=$(mktemp -d /tmp/procbox-restart-XXXXXX)
cleanup()
{
	touch "$work/stop"
	[ -n "${RL_PID:-}" ] && kill -TERM "$RL_PID" 2>/dev/null && wait "$RL_PID" 2>/dev/null
	local h
	for s in "$work"/state/*/holder.sock "$work"/probe/state/*/holder.sock; do
		[ -S "$s" ] || continue
		h=$(rl_holder_pid "$s")
		[ -n "$h" ] && kill "$h" 2>/dev/null
	done
	for m in "$work/mnt" "$work/probe/mnt"; do
		grep -q " $m " /proc/self/mountinfo && umount -l "$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT

restart_load "$work" 3 5 5
tap_is "no read failed across 5 SIGKILLs and 5 upgrades" "$RL_FAILS" 0 ||
	tap_diag "errors:$RL_ERRORS" "$(tail -5 "$work/procbox.log")"
tap_diag "reads: $RL_OPS, longest stall: $RL_STALL_MS ms, longest kill-to-serving: $RL_RESTART_MS_MAX ms"
tap_is "every container reads back the value it wrote" "$RL_VALUES_KEPT" "$RL_VALUES_WANT"
tap_is "every container's set keeps its inodes across the restarts" "$RL_INODES_KEPT" "$RL_VALUES_WANT"
tap_is "every container has inodes of its own" "$RL_INODES_OWN" "$RL_VALUES_WANT"
tap_is "the holder is the same process" "$RL_HOLDER_AFTER" "$RL_HOLDER_BEFORE"
tap_is "procbox has the same fds before and after" "$RL_DAEMON_FDS_AFTER" "$RL_DAEMON_FDS_BEFORE"
tap_is "the holder has the same fds before and after" "$RL_HOLDER_FDS_AFTER" "$RL_HOLDER_FDS_BEFORE"
tap_is "procbox, its children and the holder: as many processes" "$RL_PROCS_AFTER" "$RL_PROCS_BEFORE"
tap_is "a stop leaves no mount and no holder" "$RL_LEFT" 0
RL_PID=

# --- who the holder answers ---
p=$work/probe
mkdir -p "$p/mnt"
"$PB" -f --state-dir "$p/state" "$p/mnt" 2>"$p/log" &
RL_PID=$!
for i in $(seq 1 300); do [ -S "$(echo "$p"/state/*/holder.sock)" ] && break; sleep 0.01; done
sock=$(echo "$p"/state/*/holder.sock)
tap_is "root running the installed binary passes, but not while a procbox serves" \
	"$("$PB" --procbox-holder-probe "$p/state" "$p/mnt")" busy
tap_is "a second procbox on the mountpoint says it is busy" \
	"$("$PB" -f --state-dir "$p/state" "$p/mnt" 2>&1 | grep -c "is busy")" 1
cp "$PB" "$p/other-procbox"
tap_is "a client of another installation is refused" \
	"$("$p/other-procbox" --procbox-holder-probe "$p/state" "$p/mnt")" refused
tap_is "a container (user namespace whose root is host uid 0) is refused" \
	"$(unshare --user --map-root-user "$PB" --procbox-holder-probe "$p/state" "$p/mnt")" refused
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$PB" --procbox-holder-probe "$p/state" "$p/mnt")
case $out in unreachable*) tap_ok "a non-root user cannot reach the socket" ;;
*) tap_fail "a non-root user cannot reach the socket" "got: $out" ;; esac
# With the folder opened to everyone, the holder's own check still refuses.
chmod 755 "$work" "$p" "$p/state" "$(dirname "$sock")"
chmod 666 "$sock"
tap_is "a non-root client that reaches the socket is refused" \
	"$(setpriv --reuid 65534 --regid 65534 --clear-groups "$PB" --procbox-holder-probe "$p/state" "$p/mnt")" refused
kill -TERM "$RL_PID"
wait "$RL_PID" 2>/dev/null
RL_PID=

tap_end
