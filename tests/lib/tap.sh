# Helpers for shell test suites that speak TAP, the format tests/run-all counts.
# Source it from a suite:  . "$(dirname "$0")/../lib/tap.sh"
#
#   tap_ok NAME                 ok N - NAME
#   tap_fail NAME [DIAG...]     not ok N - NAME, each DIAG as a "# " line
#   tap_skip NAME REASON        ok N - NAME # SKIP REASON
#   tap_check NAME CMD...       runs CMD; ok on exit 0, else not ok with its output
#   tap_is NAME GOT WANT        ok when GOT equals WANT
#   tap_diag MSG...             "# MSG" (comments, ignored by counters)
#   tap_end                     prints the plan "1..N"; returns 1 if any test failed
#   tap_reexec_reaped "$0" "$@" re-runs the suite under a child subreaper (see below)

TAP_N=0
TAP_FAILED=0

tap_diag()
{
	local line
	for line in "$@"; do
		[ -n "$line" ] || continue
		printf '%s\n' "$line" | sed 's/^/# /'
	done
}

tap_ok()
{
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s\n' "$TAP_N" "$1"
}

tap_fail()
{
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_N" "$1"
	shift
	[ $# -eq 0 ] || tap_diag "$@"
}

tap_skip()
{
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$1" "$2"
}

tap_check()
{
	local name=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" -eq 0 ]; then
		tap_ok "$name"
	else
		tap_fail "$name" "command: $*" "exit status $rc" "$out"
	fi
	return "$rc"
}

tap_is()
{
	if [ "$2" = "$3" ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "got:  '$2'" "want: '$3'"
		return 1
	fi
}

tap_end()
{
	printf '1..%d\n' "$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# PID 1 on the test machines does not reap orphans, and daemons started by a suite
# (dockerd, containerd shims, FUSE daemons) outlive the commands that launched them.
# Running the suite under a child subreaper makes every such orphan our child, so it
# is reaped; whatever is still alive a few seconds after the suite ends is reported.
tap_python()
{
	if [ -x /usr/bin/python3 ]; then
		echo /usr/bin/python3
	else
		command -v python3
	fi
}

# Usage: tap_reap CMD ARGS...   (CMD runs as the subreaper's only direct child)
tap_reap()
{
	local py
	if ! py=$(tap_python); then
		"$@"
		return
	fi
	PROCBOX_REAPER=1 "$py" -c "$TAP_REAPER_PY" "$@"
}

# Re-runs the calling script under the subreaper unless it already runs under one.
tap_reexec_reaped()
{
	local py
	[ -z "${PROCBOX_REAPER:-}" ] || return 0
	py=$(tap_python) || return 0
	PROCBOX_REAPER=1 exec "$py" -c "$TAP_REAPER_PY" bash "$@"
}

# No single quote may appear in this program.
TAP_REAPER_PY='
import ctypes, os, signal, sys, time

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])

def forward(signum, frame):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass

for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, forward)

status = 0
while True:
    try:
        p, st = os.wait()
    except ChildProcessError:
        break
    if p == pid:
        status = st
        break

# Orphans adopted while the command ran are reaped as they exit; give late ones a
# little time, then name whatever is still alive.
deadline = time.monotonic() + 10
while True:
    try:
        p, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if p:
        continue
    if time.monotonic() > deadline:
        me = str(os.getpid())
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = f.read().rsplit(")", 1)[1].split()[1]
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if ppid == me:
                print(f"# leaked process {d}: {cmd}", file=sys.stderr)
        break
    time.sleep(0.1)

if os.WIFSIGNALED(status):
    sys.exit(128 + os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
'
