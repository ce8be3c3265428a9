#!/usr/bin/env bash
# procbox as a service, without a service manager:
#   - with NOTIFY_SOCKET pointing at a socket of the test's own, READY=1 arrives only once
#     a read through the mount has been served, STATUS= counts the containers, STOPPING=1
#     comes at SIGTERM;
#   - with JOURNAL_STREAM naming its stderr, lines carry journald priority prefixes, and a
#     failed request at -d is logged at <3> with the caller's container init;
#   - daemonized (no -f), it logs to syslog (a /dev/log of the test's own, in a private
#     mount namespace);
#   - procbox attach finds the one running daemon's mountpoint, and lists them when there
#     are several.
# Needs root, /dev/fuse, user and pid namespaces, python3.
set -uo pipefail

top=${PROCBOX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PROCBOX_BUILD_DIR:-$top/build}
. "$top/tests/lib/tap.sh"
tap_reexec_reaped "$0" "$@"

procbox=$build/procbox
if [ ! -x "$procbox" ] || [ ! -c /dev/fuse ] || [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root, /dev/fuse and $procbox"
	exit 0
fi

work=$(mktemp -d /tmp/procbox-service.XXXXXX)
pids=()
mounts=()
cleanup()
{
	local p m
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	for m in "${mounts[@]}"; do
		grep -qs " $m fuse.procbox " /proc/self/mounts && umount -l "$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT

wait_mounted()
{
	for _ in $(seq 100); do
		grep -qs " $1 fuse.procbox " /proc/self/mounts && return 0
		sleep 0.05
	done
	return 1
}

# --- sd_notify --------------------------------------------------------------------------

# The listener plays systemd: on READY=1 it checks, right then, that procbox had logged (-d)
# a read request before, that the mount is in the mount table and that a read through it
# works; it answers every message with a line in $work/notify.out.
cat >"$work/listen.py" <<'PY'
import os, socket, sys
sock_path, mnt, log, out = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
s.bind(sock_path)
open(out + ".bound", "w").close()
s.settimeout(30)
with open(out, "w", buffering=1) as o:
    while True:
        try:
            data = s.recv(4096).decode()
        except socket.timeout:
            o.write("TIMEOUT\n")
            break
        for line in data.split("\n"):
            if not line:
                continue
            o.write("MSG " + line + "\n")
            if line == "READY=1":
                logged = open(log).read()
                served = any(l.startswith("procbox: debug: read ") for l in logged.splitlines())
                mounted = any(l.split()[4] == mnt and " fuse.procbox " in l
                              for l in open("/proc/self/mountinfo"))
                try:
                    with open(mnt + "/proc/uptime") as f:
                        readable = bool(f.read())
                except OSError as e:
                    readable = False
                o.write("AT-READY served=%d mounted=%d readable=%d\n" % (served, mounted, readable))
            if line == "STOPPING=1":
                sys.exit(0)
PY
mnt=$work/notify-mnt
mounts+=("$mnt")
python3 "$work/listen.py" "$work/notify.sock" "$mnt" "$work/notify.log" "$work/notify.out" &
listener=$!
pids+=("$listener")
for _ in $(seq 100); do
	[ -e "$work/notify.out.bound" ] && break
	sleep 0.05
done
NOTIFY_SOCKET=$work/notify.sock "$procbox" -d "$mnt" 2>"$work/notify.log" &
daemon=$!
pids+=("$daemon")

for _ in $(seq 200); do
	grep -q '^MSG READY=1' "$work/notify.out" 2>/dev/null && break
	sleep 0.05
done
tap_is "READY=1 arrives, after a read through the mount was served, with the mount readable" \
	"$(grep '^AT-READY' "$work/notify.out")" "AT-READY served=1 mounted=1 readable=1" ||
	tap_diag "$(cat "$work/notify.out")" "$(head -n 20 "$work/notify.log")"
tap_is "STATUS= comes with READY=1" "$(grep -m1 '^MSG STATUS=' "$work/notify.out")" \
	"MSG STATUS=Serving $mnt: 0 containers"

# A container (its own user namespace) reads through the mount: STATUS= counts it.
unshare --user --map-root-user sh -c "cat $mnt/proc/uptime >/dev/null; sleep 3" &
cpid=$!
pids+=("$cpid")
for _ in $(seq 100); do
	grep -q "^MSG STATUS=Serving $mnt: 1 container\$" "$work/notify.out" && break
	sleep 0.05
done
tap_check "STATUS= counts the container being served" \
	grep -q "^MSG STATUS=Serving $mnt: 1 container\$" "$work/notify.out" || tap_diag "$(cat "$work/notify.out")"

kill -TERM "$daemon"
wait "$daemon"
rc=$?
wait "$listener" 2>/dev/null
# (Under a service manager the mount is not unmounted: its connection goes to the fd store.)
tap_is "SIGTERM: STOPPING=1, exit 0" "$(grep -c '^MSG STOPPING=1' "$work/notify.out") $rc" "1 0"
wait "$cpid" 2>/dev/null

# --- journal priority prefixes -------------------------------------------------------------

mnt=$work/journal-mnt
mounts+=("$mnt")
: >"$work/journal.log"
stream=$(stat -c '%d:%i' "$work/journal.log")
JOURNAL_STREAM=$stream "$procbox" -d "$mnt" 2>>"$work/journal.log" &
daemon=$!
pids+=("$daemon")
wait_mounted "$mnt"
for _ in $(seq 100); do
	grep -q '^<6>Ready: ' "$work/journal.log" && break
	sleep 0.05
done
if grep -q "^<6>procbox .* (pid $daemon) serving $mnt " "$work/journal.log"; then
	tap_ok "JOURNAL_STREAM names stderr: the start line carries <6>"
else
	tap_fail "JOURNAL_STREAM names stderr: the start line carries <6>" "$(head -n 5 "$work/journal.log")"
fi
# A write a container may not make: the request fails with EACCES, at <3>, with its init.
unshare --user --map-root-user --pid --fork sh -c \
	"echo 5 >$mnt/proc/sys/kernel/cap_last_cap" 2>/dev/null
# The writer is the shell (echo is a builtin), pid 1 of its pid namespace: its own init.
sleep 0.2
if grep -Eq '^<3>Request of pid ([0-9]+) \(container init \1\) failed: Permission denied$' "$work/journal.log"; then
	tap_ok "at -d a failed request is logged at <3> with its container's init pid"
else
	tap_fail "at -d a failed request is logged at <3> with its container's init pid" \
		"$(grep -v '^<7>' "$work/journal.log" | tail -n 10)"
fi
tap_is "every line has a priority prefix" "$(grep -vc '^<[0-7]>' "$work/journal.log")" 0
kill -TERM "$daemon"
wait "$daemon"
if grep -q '^<6>Stopping on ' "$work/journal.log"; then
	tap_ok "the stop line carries <6>"
else
	tap_fail "the stop line carries <6>" "$(tail -n 5 "$work/journal.log")"
fi

# A JOURNAL_STREAM that is not our stderr (a shell inside a unit that redirected it).
mnt=$work/plain-mnt
mounts+=("$mnt")
JOURNAL_STREAM=1:1 "$procbox" -f "$mnt" 2>"$work/plain.log" &
daemon=$!
pids+=("$daemon")
wait_mounted "$mnt"
sleep 0.3
kill -TERM "$daemon"
wait "$daemon"
if grep -q "^procbox: info: procbox .* serving $mnt " "$work/plain.log" && ! grep -q '^<' "$work/plain.log"; then
	tap_ok "stderr that is not the journal's gets plain lines"
else
	tap_fail "stderr that is not the journal's gets plain lines" "$(head -n 5 "$work/plain.log")"
fi

# --- syslog, when daemonized -----------------------------------------------------------------

# A private mount namespace with a /dev of its own holding /dev/log (the test's listener),
# /dev/null and /dev/fuse.
cat >"$work/syslog.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
s.bind("/dev/log")
s.settimeout(20)
with open(sys.argv[1], "w", buffering=1) as o:
    o.write("BOUND\n")
    while True:
        try:
            m = s.recv(4096).decode(errors="replace")
        except socket.timeout:
            break
        o.write(m.rstrip("\n") + "\n")
        if "Stopped serving" in m:
            break
PY
cat >"$work/syslog.sh" <<'SH'
set -u
work=$1 procbox=$2 mnt=$3
mkdir -p "$work/olddev"
mount --bind /dev "$work/olddev"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero fuse urandom; do
	touch "/dev/$n"
	mount --bind "$work/olddev/$n" "/dev/$n"
done
python3 "$work/syslog.py" "$work/syslog.out" &
listener=$!
for _ in $(seq 100); do
	grep -qs BOUND "$work/syslog.out" && break
	sleep 0.05
done
"$procbox" "$mnt"
echo "parent exit $?" >"$work/syslog.parent"
for _ in $(seq 100); do
	grep -q "serving $mnt" "$work/syslog.out" && break
	sleep 0.05
done
pid=$(sed -n "s/.*(pid \([0-9]*\)) serving .*/\1/p" "$work/syslog.out" | head -n 1)
cat "$mnt/proc/uptime" >/dev/null
[ -n "$pid" ] && kill -TERM "$pid"
wait "$listener"
SH
mnt=$work/syslog-mnt
unshare --mount --propagation private bash "$work/syslog.sh" "$work" "$procbox" "$mnt" \
	>"$work/syslog.err" 2>&1
# <30> is the daemon facility (3) at info (6).
if grep -q "^<30>.*procbox\[[0-9]*\]: procbox .* serving $mnt " "$work/syslog.out" &&
	grep -q "^<30>.*procbox\[[0-9]*\]: Stopping on " "$work/syslog.out" &&
	grep -q "parent exit 0" "$work/syslog.parent"; then
	tap_ok "daemonized, procbox logs its start and stop to syslog (daemon.info)"
else
	tap_fail "daemonized, procbox logs its start and stop to syslog (daemon.info)" \
		"$(cat "$work/syslog.out" "$work/syslog.err" 2>&1 | head -n 20)"
fi

# --- procbox attach finds the daemon ----------------------------------------------------------

# In a mount namespace of its own, where the procbox mounts of other daemons on this host
# (other tests) are taken away, so that "exactly one" is this test's.
cat >"$work/attach.sh" <<'SH'
set -u
work=$1 procbox=$2
unset PROCBOX_MOUNTPOINT
awk '$3 == "fuse.procbox" { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
	umount -l "$m"
done
a=$work/attach-a b=$work/attach-b
"$procbox" -f "$a" 2>"$work/attach-a.log" &
da=$!
for _ in $(seq 100); do grep -qs " $a fuse.procbox " /proc/self/mounts && break; sleep 0.05; done
unshare --user --map-root-user --mount --pid --fork sleep 60 &
c=$!
sleep 0.5
cinit=$(cat /proc/$c/task/*/children | awk '{ print $1 }')
out=$("$procbox" attach --quiet "$cinit" 2>&1); rc=$?
up=$(nsenter -t "$cinit" -U -m -p --preserve-credentials cat /proc/uptime 2>&1 | awk '{ print $1 }')
echo "one: rc=$rc up=$up out=$out"
"$procbox" detach --quiet "$cinit" >/dev/null 2>&1
"$procbox" -f "$b" 2>"$work/attach-b.log" &
db=$!
for _ in $(seq 100); do grep -qs " $b fuse.procbox " /proc/self/mounts && break; sleep 0.05; done
out=$("$procbox" attach --quiet "$cinit" 2>&1); rc=$?
echo "two: rc=$rc"
printf '%s\n' "$out" | sed 's/^/two-out: /'
out=$("$procbox" attach --quiet --mountpoint "$b" "$cinit" 2>&1); rc=$?
up=$(nsenter -t "$cinit" -U -m -p --preserve-credentials cat /proc/uptime 2>&1 | awk '{ print $1 }')
echo "given: rc=$rc up=$up out=$out"
# A pid namespace's init takes only SIGKILL from outside.
kill -KILL "$cinit"
kill "$da" "$db"
wait "$c" "$da" "$db"
SH
unshare --mount --propagation private bash "$work/attach.sh" "$work" "$procbox" >"$work/attach.out" 2>&1
one=$(sed -n 's/^one: //p' "$work/attach.out")
if [[ $one =~ ^rc=0\ up=[0-9]+\.[0-9]+\  ]] && awk -v u="$(sed 's/.*up=\([^ ]*\).*/\1/' <<<"$one")" 'BEGIN { exit !(u + 0 < 30) }'; then
	tap_ok "procbox attach without --mountpoint uses the one running daemon's mount"
else
	tap_fail "procbox attach without --mountpoint uses the one running daemon's mount" "$(cat "$work/attach.out")"
fi
if grep -q '^two: rc=1$' "$work/attach.out" && grep -q "^two-out: .*2 procbox daemons are running" "$work/attach.out" &&
	grep -q "^two-out:   $work/attach-a\$" "$work/attach.out" && grep -q "^two-out:   $work/attach-b\$" "$work/attach.out" &&
	grep -q '^given: rc=0 up=[0-9]' "$work/attach.out"; then
	tap_ok "with two daemons, procbox attach refuses and lists both mountpoints; --mountpoint picks one"
else
	tap_fail "with two daemons, procbox attach refuses and lists both mountpoints; --mountpoint picks one" \
		"$(cat "$work/attach.out")"
fi

tap_end
