#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# procbox status and its Prometheus text against a daemon serving three `unshare`
# containers that run scripted loads (exact counts by kind and errno), and fair sharing:
# a container whose requests are stuck keeps its own share of the workers, not all of them.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
tap_reexec_reaped "$0" "$@"

build=${PROCBOX_BUILD_DIR:-$here/../../build}
procbox=$build/procbox
py=$(tap_python) || py=python3
promtext=$here/../lib/promtext.py
# --max-in-flight as the suite gives it (the fairness check needs 1 with --threads 2).
inflight=${PROCBOX_TEST_MAX_IN_FLIGHT:-1}

if [ "$(id -u)" -ne 0 ] || ! unshare -r -n true 2>/dev/null || [ ! -w /dev/fuse ]; then
	tap_skip "procbox status" "needs root, /dev/fuse and user/net namespaces"
	tap_end
	exit
fi

if "$procbox" --version | grep -q "without request figures"; then
	tap_skip "procbox status" "built with -Dfigures=false"
	tap_end
	exit
fi

tmp=$(mktemp -d /tmp/procbox-status.XXXXXX)
mnt=$tmp/mnt
mkdir "$mnt"
pids=()
daemon=

cleanup()
{
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ -n "$daemon" ]; then
		kill -CONT $(agents_of_all) 2>/dev/null
		kill -TERM "$daemon" 2>/dev/null
		wait "$daemon" 2>/dev/null
	fi
	umount -l "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

agents_of_all()
{
	local t
	[ -n "$daemon" ] || return 0
	for t in /proc/"$daemon"/task/*/children; do
		cat "$t" 2>/dev/null
	done
}

# The daemon's children in the network namespace of pid $1 (its agents there).
agents_in()
{
	local want c
	want=$(readlink /proc/"$1"/ns/net)
	for c in $(agents_of_all); do
		[ "$(readlink /proc/"$c"/ns/net 2>/dev/null)" = "$want" ] && echo "$c"
	done
}

# Two may wait: S's three stuck writes below fill its queue, and a fourth is refused.
queued=2
"$procbox" -f --threads 2 --max-in-flight "$inflight" --max-queued "$queued" -t 10000 \
	--slow-ms 1000 --metrics-containers 8 "$mnt" 2>"$tmp/daemon.log" &
daemon=$!
for _ in $(seq 100); do
	[ -e "$mnt/proc/uptime" ] && "$procbox" status -m "$mnt" >/dev/null 2>&1 && break
	sleep 0.1
done
if ! tap_check "the daemon serves and answers procbox status" "$procbox" status -m "$mnt"; then
	tap_diag "$(cat "$tmp/daemon.log")"
	tap_end
	exit 1
fi

# A container: `unshare -r -n` (a user and a network namespace of its own), running a
# script, then waiting to be killed so that it is still served when asked about.
container()
{
	local name=$1 script=$2
	unshare -r -n sh -c "$script
touch $tmp/$name.done
exec sleep 600" &
	pids+=($!)
	eval "pid_$name=$!"
}

dd_read="dd bs=4096 count=1 of=/dev/null status=none"
container reader "for i in \$(seq 20); do $dd_read if=$mnt/proc/uptime; done"
container failer "for i in \$(seq 7); do cat $mnt/proc/sys/kernel/nonexistent 2>/dev/null; done
for i in \$(seq 4); do echo 1 2>/dev/null >$mnt/proc/uptime; done"
container writer "for i in \$(seq 3); do echo 0 >$mnt/proc/sys/net/ipv4/ip_forward; done
for i in \$(seq 2); do echo x 2>/dev/null >$mnt/proc/sys/net/ipv4/ip_forward; done
for i in \$(seq 6); do $dd_read if=$mnt/proc/meminfo; done"

for _ in $(seq 100); do
	[ -e "$tmp/reader.done" ] && [ -e "$tmp/failer.done" ] && [ -e "$tmp/writer.done" ] && break
	sleep 0.1
done
# release(2) reaches the daemon after close() returns
sleep 0.5

"$procbox" status -m "$mnt" --prometheus >"$tmp/metrics1.txt" 2>&1
"$procbox" status -m "$mnt" --json >"$tmp/status.json" 2>&1
"$procbox" status -m "$mnt" --prometheus >"$tmp/metrics2.txt" 2>&1
"$procbox" status -m "$mnt" >"$tmp/status.txt" 2>&1
tap_diag "$(cat "$tmp/status.txt")"

# Checks one container's figures: NAME PID then "path=want" pairs.
check_container()
{
	local name=$1 pid=$2 out
	shift 2
	if out=$("$py" - "$tmp/status.json" "$pid" "$@" <<'PY' 2>&1
import json, sys
doc = json.load(open(sys.argv[1]))
pid = int(sys.argv[2])
found = [c for c in doc["containers"] if c["init_pid"] == pid]
if len(found) != 1:
    sys.exit(f"container with init pid {pid}: found {len(found)} entries")
c = found[0]
bad = []
for spec in sys.argv[3:]:
    path, want = spec.split("=")
    got = c
    for part in path.split("."):
        got = got.get(part, 0) if isinstance(got, dict) else 0
    if str(got) != want:
        bad.append(f"{path}: got {got}, want {want}")
if bad:
    sys.exit("; ".join(bad))
PY
	); then
		tap_ok "status: $name's figures match its load"
	else
		tap_fail "status: $name's figures match its load" "$out"
	fi
}

check_container reader "$pid_reader" by_kind.open=20 by_kind.read=20 by_kind.write=0 errors=0 \
	bytes_written=0
check_container failer "$pid_failer" by_kind.open=4 by_kind.read=0 errors=11 \
	errors_by_errno.ENOENT=7 errors_by_errno.EACCES=4
check_container writer "$pid_writer" by_kind.open=11 by_kind.write=5 by_kind.read=6 \
	errors=2 errors_by_errno.EINVAL=2 bytes_written=6

if out=$("$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["max_in_flight"], d["max_queued"])' \
	"$tmp/status.json" 2>&1) && [ "$out" = "$inflight $queued" ]; then
	tap_ok "status --json shows the limits: max_in_flight and max_queued"
else
	tap_fail "status --json shows the limits: max_in_flight and max_queued" "$out"
fi

# One line each in the text listing, the busiest (by request rate) first.
if out=$("$py" - "$tmp/status.json" "$tmp/status.txt" "$pid_reader" "$pid_failer" \
	"$pid_writer" <<'PY' 2>&1
import json, sys
doc = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read().splitlines()
rates = [c["rate"] for c in doc["containers"]]
if rates != sorted(rates, reverse=True):
    sys.exit(f"not sorted by load: {rates}")
for pid in sys.argv[3:]:
    lines = [l for l in text if l.split()[1:2] == [pid]]
    if len(lines) != 1:
        sys.exit(f"init pid {pid}: {len(lines)} lines in the listing")
PY
); then
	tap_ok "status lists each container on one line, busiest first"
else
	tap_fail "status lists each container on one line, busiest first" "$out"
fi

# One container in detail, by its init pid.
if "$procbox" status -m "$mnt" "$pid_failer" >"$tmp/one.txt" 2>&1 &&
	grep -q "^init pid *$pid_failer\$" "$tmp/one.txt" &&
	grep -q "ENOENT:7" "$tmp/one.txt" && grep -q "EACCES:4" "$tmp/one.txt"; then
	tap_ok "status CONTAINER shows one container in detail"
else
	tap_fail "status CONTAINER shows one container in detail" "$(cat "$tmp/one.txt")"
fi

# The Prometheus text parses, and says what status says.
if out=$("$py" - "$promtext" "$tmp/metrics1.txt" "$tmp/metrics2.txt" "$tmp/status.json" \
	<<'PY' 2>&1
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("promtext", sys.argv[1])
pt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pt)
try:
    m1 = pt.parse(open(sys.argv[2]).read())
    m2 = pt.parse(open(sys.argv[3]).read())
except pt.Bad as e:
    sys.exit(f"not Prometheus text: {e}")
doc = json.load(open(sys.argv[4]))
bad = []
# nothing ran between the two scrapes but the scrapes: status, taken between them, must
# agree with both
if m1 != m2:
    bad.append("the two scrapes differ: " + str({k: (m1[k], m2.get(k)) for k in m1 if m1[k] != m2.get(k)}))
t = doc["totals"]
for kind, n in t["by_kind"].items():
    if m1.get("procbox_requests_total{kind=%s}" % kind) != n:
        bad.append(f"requests {kind}: metrics {m1.get('procbox_requests_total{kind=%s}' % kind)}, status {n}")
for e, n in t["errors_by_errno"].items():
    if m1.get("procbox_errors_total{errno=%s}" % e) != n:
        bad.append(f"errors {e}: metrics differ from status {n}")
if sum(v for k, v in m1.items() if k.startswith("procbox_errors_total{")) != t["errors"]:
    bad.append("error total differs")
if m1.get("procbox_request_duration_seconds_count{}") != t["requests"]:
    bad.append("histogram count differs from the requests")
if m1.get("procbox_nsenter_round_trips_total{}") != t["nsenter_round_trips"]:
    bad.append("round trips differ")
if m1.get("procbox_containers{}") != len(doc["containers"]):
    bad.append("container count differs")
for c in doc["containers"]:
    key = "procbox_container_requests_total{container=%s}" % c["name"]
    if m1.get(key) != c["requests"]:
        bad.append(f"{key}: {m1.get(key)}, status {c['requests']}")
    key = "procbox_container_errors_total{container=%s}" % c["name"]
    if m1.get(key) != c["errors"]:
        bad.append(f"{key}: {m1.get(key)}, status {c['errors']}")
if bad:
    sys.exit("\n".join(bad))
PY
); then
	tap_ok "the Prometheus text parses and its counters match procbox status"
else
	tap_fail "the Prometheus text parses and its counters match procbox status" "$out"
fi

# Names a runtime gave (procbox hook sends them from the OCI state): the container is
# listed, and found, by them.
sock=$("$py" - "$mnt" <<'PY'
import hashlib, os, sys
h = 0xcbf29ce484222325
for b in os.path.realpath(sys.argv[1]).encode():
    h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
print("/run/procbox/%016x.sock" % h)
PY
)
answer=$("$py" - "$sock" "$pid_writer" <<'PY' 2>&1
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(("name %s\tf00dfeed1234abcd\tweb-7\tshop\n" % sys.argv[2]).encode())
s.shutdown(socket.SHUT_WR)
print(s.makefile().read().strip())
PY
)
if [ "$answer" = ok ] && "$procbox" status -m "$mnt" f00dfeed >"$tmp/named.txt" 2>&1 &&
	grep -q "^container *shop/web-7\$" "$tmp/named.txt" &&
	grep -q "^init pid *$pid_writer\$" "$tmp/named.txt" &&
	"$procbox" status -m "$mnt" | grep -q "^shop/web-7 *$pid_writer "; then
	tap_ok "a container is named by the runtime id and pod the hook reported"
else
	tap_fail "a container is named by the runtime id and pod the hook reported" \
		"answer: $answer" "$(cat "$tmp/named.txt")"
fi

# The channel is root's: a container's root (uid 0 in its own user namespace) is refused.
if out=$(unshare -r "$procbox" status -m "$mnt" 2>&1); then
	tap_fail "a container's root cannot use procbox status" "$out"
else
	tap_ok "a container's root cannot use procbox status"
fi

# The counters of a container that ends stay in the totals.
before=$("$procbox" status -m "$mnt" --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["totals"]["requests"])')
kill -KILL "$pid_reader"
wait "$pid_reader" 2>/dev/null
gone=
for _ in $(seq 50); do
	if ! "$procbox" status -m "$mnt" --json | grep -q "\"init_pid\":$pid_reader,"; then
		gone=yes
		break
	fi
	sleep 0.1
done
after=$("$procbox" status -m "$mnt" --json | "$py" -c 'import json,sys; d=json.load(sys.stdin); print(d["totals"]["requests"], d["containers_ended"])')
if [ -n "$gone" ] && [ "${after% *}" -ge "$before" ] && [ "${after#* }" -ge 1 ]; then
	tap_ok "an ended container leaves the list and its counts stay in the totals"
else
	tap_fail "an ended container leaves the list and its counts stay in the totals" \
		"gone=$gone before=$before after(requests ended)=$after"
fi

# Fair sharing. Two workers, one request in flight per container. Container S's agent is
# stopped, so each of its writes waits for it (or the 10 s timeout); S sends three. Container Q
# then reads: it must get its answer while S's writes are still waiting, from the worker
# S does not hold.
container stuck "echo 0 >$mnt/proc/sys/net/ipv4/ip_forward"
container quick ":"
for _ in $(seq 50); do
	[ -e "$tmp/stuck.done" ] && [ -e "$tmp/quick.done" ] && break
	sleep 0.1
done
stopped=$(agents_in "$pid_stuck")
if [ -z "$stopped" ]; then
	tap_fail "a container with stuck requests does not hold every worker" \
		"no agent of the stuck container found"
else
	kill -STOP $stopped
	for i in 1 2 3; do
		nsenter -t "$pid_stuck" -U -n --preserve-credentials -S 0 -G 0 sh -c \
			"echo 0 >$mnt/proc/sys/net/ipv4/ip_forward; touch $tmp/w$i" 2>/dev/null &
		pids+=($!)
	done
	# Until the daemon has S's three writes: one served, two waiting (or both workers
	# held by S where nothing queues).
	for _ in $(seq 30); do
		n=$("$procbox" status -m "$mnt" "$pid_stuck" --json 2>/dev/null |
			"$py" -c 'import json,sys; d=json.load(sys.stdin); print(d["in_flight"]+d["waiting"])' 2>/dev/null)
		[ "${n:-0}" -ge 2 ] && break
		sleep 0.1
	done
	nsenter -t "$pid_quick" -U -n --preserve-credentials -S 0 -G 0 \
		$dd_read if="$mnt/proc/uptime" 2>/dev/null
	rc=$?
	# With one in flight and two waiting, S's queue is full: S's next request is refused
	# at once with EAGAIN, and Q is served as before.
	if [ "$inflight" = 1 ]; then
		for _ in $(seq 30); do
			n=$("$procbox" status -m "$mnt" "$pid_stuck" --json 2>/dev/null |
				"$py" -c 'import json,sys; d=json.load(sys.stdin); print(d["in_flight"]+d["waiting"])' 2>/dev/null)
			[ "${n:-0}" -ge 3 ] && break
			sleep 0.1
		done
		refused=$(timeout 5 nsenter -t "$pid_stuck" -U -n --preserve-credentials -S 0 -G 0 \
			sh -c "printf 0 | dd of=$mnt/proc/sys/net/ipv4/ip_forward status=none" 2>&1)
		refused_rc=$?
		nsenter -t "$pid_quick" -U -n --preserve-credentials -S 0 -G 0 \
			$dd_read if="$mnt/proc/uptime" 2>/dev/null
		quick_rc=$?
		if [ "$refused_rc" -ne 0 ] && [ "$refused_rc" -ne 124 ] &&
			[[ $refused == *"Resource temporarily unavailable"* ]] && [ "$quick_rc" -eq 0 ]; then
			tap_ok "a container over --max-queued gets EAGAIN at once, another is served"
		else
			tap_fail "a container over --max-queued gets EAGAIN at once, another is served" \
				"S's fourth request: exit $refused_rc, '$refused'; Q's read: exit $quick_rc"
		fi
	fi
	done_writes=$(ls "$tmp"/w? 2>/dev/null | wc -l)
	detail=$("$procbox" status -m "$mnt" "$pid_stuck" 2>&1)
	kill -CONT $stopped
	if [ "$rc" -eq 0 ] && [ "$done_writes" -eq 0 ]; then
		tap_ok "a container with stuck requests does not hold every worker"
	else
		tap_fail "a container with stuck requests does not hold every worker" \
			"read: exit $rc; stuck writes already finished: $done_writes" "$detail"
	fi
fi

tap_end
