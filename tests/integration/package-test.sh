#!/usr/bin/env bash
# timeout: 1200
# The Debian package and the systemd unit, for real:
#   - dpkg-buildpackage -b builds procbox_*.deb with the files a host needs; lintian finds no
#     error; systemd-analyze verify accepts the unit;
#   - on a Debian 12 root made with debootstrap, systemd boots as PID 1 under
#     systemd-nspawn; installing the package there starts and enables procbox, which was
#     ready only after its mount served, a container reads its own uptime, a killed
#     procbox is restarted and re-attaches the container, journalctl shows the start line
#     and, at -d, a failed request at priority err; removing the package leaves no mount
#     and no process; purging leaves none of its files.
# Needs root, debootstrap (which reaches Debian's mirror), systemd-container, dpkg-dev,
# debhelper, lintian, scdoc. About 3-4 minutes, mostly debootstrap.
set -uo pipefail

top=${PROCBOX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"
tap_reexec_reaped "$0" "$@"

for tool in dpkg-buildpackage lintian systemd-analyze; do
	if ! command -v "$tool" >/dev/null; then
		echo "Bail out! $tool is missing (tests/run-all installs it)"
		exit 1
	fi
done

work=$(mktemp -d /var/tmp/procbox-package.XXXXXX)
nspawn_pid=
machine=procbox-pkg-$$

sleeper=
leader=
cleanup()
{
	if [ -n "$sleeper" ]; then
		kill -KILL "$sleeper" 2>/dev/null
		wait "$sleeper" 2>/dev/null
	fi
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		# SIGTERM: nspawn asks the container's systemd to halt.
		kill "$nspawn_pid" 2>/dev/null
		for _ in $(seq 150); do
			kill -0 "$nspawn_pid" 2>/dev/null || break
			sleep 0.2
		done
		# Killing its PID 1 ends every process of the container's pid namespace.
		[ -z "$leader" ] || kill -KILL "$leader" 2>/dev/null
		kill -KILL "$nspawn_pid" 2>/dev/null
		wait "$nspawn_pid" 2>/dev/null
	fi
	rm -rf "$work"
	rmdir "/run/systemd/nspawn/propagate/$machine" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' TERM INT

# --- the package --------------------------------------------------------------------------

# dpkg-buildpackage writes next to the source folder: build a copy, in $work.
mkdir "$work/procbox"
(cd "$top" && git ls-files -co --exclude-standard -z | tar --null -cf - -T - 2>/dev/null) |
	tar -xf - -C "$work/procbox"
rm -rf "$work/procbox/build" "$work/procbox/build-asan"
if (cd "$work/procbox" && nice dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1; then
	tap_ok "dpkg-buildpackage -b -us -uc"
else
	tap_fail "dpkg-buildpackage -b -us -uc" "$(tail -n 30 "$work/build.log")"
	tap_end
	exit 1
fi
deb=$(ls "$work"/procbox_*_*.deb 2>/dev/null | head -n 1)
tap_check "it made procbox_*.deb" test -f "$deb"

files=$(dpkg-deb -c "$deb" | awk '{ print $6 $7 $8 }' | sed 's|^\./|/|')
want=(
	/usr/sbin/procbox
	/usr/sbin/procbox-runc'->'procbox
	/lib/systemd/system/procbox.service
	/usr/share/man/man8/procbox.8.gz
	/usr/share/man/man8/procbox-runc.8.gz'->'procbox.8.gz
	/usr/share/containers/oci/hooks.d/procbox.json
	/usr/share/doc/procbox/examples/docker-daemon.json
	/usr/share/doc/procbox/examples/containerd-config.toml
	/usr/share/doc/procbox/copyright
)
missing=()
for f in "${want[@]}"; do
	grep -qxF -- "$f" <<<"$files" || missing+=("$f")
done
if [ ${#missing[@]} -eq 0 ]; then
	tap_ok "the package holds the binary, the runtime link, the unit, the man page, the hook and the examples"
else
	tap_fail "the package holds the binary, the runtime link, the unit, the man page, the hook and the examples" \
		"missing: ${missing[*]}" "files:" "$files"
fi

dpkg-deb -x "$deb" "$work/x"
hook=$work/x/usr/share/containers/oci/hooks.d/procbox.json
if python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); sys.exit(h["hook"]["path"] != "/usr/sbin/procbox" or h["stages"] != ["createRuntime"])' "$hook" 2>/dev/null; then
	tap_ok "the hooks.d file runs the installed /usr/sbin/procbox at createRuntime"
else
	tap_fail "the hooks.d file runs the installed /usr/sbin/procbox at createRuntime" "$(cat "$hook")"
fi
if man -l "$work/x/usr/share/man/man8/procbox.8.gz" 2>/dev/null | grep -q -- '--max-sysctl-fds'; then
	tap_ok "the man page renders and lists the options"
else
	tap_fail "the man page renders and lists the options"
fi

lint=$(nice lintian --fail-on error "$work"/procbox_*.changes 2>&1) && rc=0 || rc=$?
if [ "$rc" -eq 0 ] && ! grep -q '^E: ' <<<"$lint"; then
	tap_ok "lintian reports no error"
	tap_diag "$(grep -E '^[WI]: ' <<<"$lint")"
else
	tap_fail "lintian reports no error" "$lint"
fi

unit=$work/x/lib/systemd/system/procbox.service
# verify looks for ExecStart's binary on this host: point it at the extracted one.
sed "s|/usr/sbin/procbox|$work/x/usr/sbin/procbox|" "$unit" >"$work/procbox.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$work/procbox.service" 2>&1)
# Only lines about our unit count: on a host without systemd running, verify also warns
# about the host's own units.
ours=$(grep 'procbox.service' <<<"$out")
tap_is "systemd-analyze verify accepts the unit" "$ours" ""
for key in Type=notify LimitNOFILE=1048576 OOMScoreAdjust=-1000 Restart=on-failure KillMode=mixed; do
	grep -qx "$key" "$unit" || tap_diag "unit lacks $key"
done
if grep -qx Type=notify "$unit" && grep -qE '^Before=.*docker\.service.*containerd\.service.*podman' "$unit" &&
	grep -qx WantedBy=multi-user.target "$unit"; then
	tap_ok "the unit is Type=notify, ordered before Docker, containerd and Podman"
else
	tap_fail "the unit is Type=notify, ordered before Docker, containerd and Podman" "$(cat "$unit")"
fi

# --- under systemd ------------------------------------------------------------------------

if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
	echo "Bail out! systemd-nspawn or debootstrap is missing (tests/run-all installs them)"
	exit 1
fi

root=$work/root
if nice debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libfuse3-3,libjson-c5 \
	bookworm "$root" >"$work/debootstrap.log" 2>&1; then
	tap_ok "debootstrap made a Debian 12 root"
else
	tap_fail "debootstrap made a Debian 12 root" "$(tail -n 20 "$work/debootstrap.log")"
	tap_end
	exit 1
fi
# Not /tmp: nspawn mounts a tmpfs there.
cp "$deb" "$root/var/tmp/procbox.deb"

# Not registered with a machined, in its own network namespace, and /dev/fuse from the host.
systemd-nspawn -D "$root" -M "$machine" --register=no --keep-unit --private-network \
	--bind=/dev/fuse --console=pipe -b </dev/null >"$work/nspawn.log" 2>&1 &
nspawn_pid=$!

# systemd's pid on the host: the child of systemd-nspawn.
for _ in $(seq 150); do
	leader=$(cat /proc/"$nspawn_pid"/task/*/children 2>/dev/null | awk '{ print $1; exit }')
	[ -n "$leader" ] && [ "$(cat /proc/"$leader"/comm 2>/dev/null)" = systemd ] && break
	leader=
	sleep 0.2
done
box()
{
	nsenter -t "$leader" -a "$@"
}
state=
if [ -n "$leader" ]; then
	for _ in $(seq 300); do
		state=$(box systemctl is-system-running 2>/dev/null)
		case $state in running | degraded) break ;; esac
		sleep 0.2
	done
fi
if [ "$state" = running ] || [ "$state" = degraded ]; then
	tap_ok "systemd boots as PID 1 in the Debian 12 root (systemd-nspawn -b): $state"
else
	tap_fail "systemd boots as PID 1 in the Debian 12 root (systemd-nspawn -b)" \
		"state: '$state'" "$(tail -n 30 "$work/nspawn.log")"
	tap_end
	exit 1
fi

out=$(box env DEBIAN_FRONTEND=noninteractive dpkg -i /var/tmp/procbox.deb 2>&1)
tap_check "dpkg -i procbox.deb" test $? -eq 0 || tap_diag "$out"
tap_is "systemctl is-enabled procbox" "$(box systemctl is-enabled procbox 2>&1)" enabled
tap_is "systemctl is-active procbox" "$(box systemctl is-active procbox 2>&1)" active
tap_is "the unit shows the daemon's STATUS=" \
	"$(box systemctl show -P StatusText procbox 2>&1)" "Serving /var/lib/procbox: 0 containers"

# The journal keeps procbox's lines and systemd's in the order they came: the unit became
# active ("Started") only after procbox's read through its mount had come back.
journal=$(box journalctl -o cat --no-pager _PID=1 + _SYSTEMD_UNIT=procbox.service 2>&1)
order=$(awk '/serving \/var\/lib\/procbox/ && !s { s = NR } /Ready: \/var\/lib\/procbox serves/ && !r { r = NR }
	/Started procbox.service|Started procbox,/ && !a { a = NR } END { print (s && r && a && s < r && r < a) ? "ok" : s " " r " " a }' <<<"$journal")
tap_is "systemd saw READY=1 only after the mount served a read" "$order" ok ||
	tap_diag "$journal"

# LimitNOFILE=1048576 covers the ~137,000 fds the defaults may keep open. systemd can only
# grant it where it may raise a hard limit (CAP_SYS_RESOURCE): a sandbox without that
# capability caps every process below at its own hard limit.
fds=$(box sh -c 'grep "Max open files" /proc/$(systemctl show -P MainPID procbox)/limits' | awk '{ print $4 }')
warned=$(box journalctl -u procbox --no-pager -o cat | grep 'limit of open files')
capbnd=$(awk '/^CapBnd:/ { print $2 }' /proc/"$leader"/status)
if [ "$fds" = 1048576 ] && [ -z "$warned" ]; then
	tap_ok "no fd-limit warning at start under the unit (limit $fds)"
elif [ -n "$fds" ] && [ "$fds" -lt 1048576 ] 2>/dev/null && [ $(( (0x$capbnd >> 24) & 1 )) -eq 0 ]; then
	tap_skip "no fd-limit warning at start under the unit" \
		"this machine lacks CAP_SYS_RESOURCE: no hard limit above $fds can be granted"
else
	tap_fail "no fd-limit warning at start under the unit" "limit '$fds'" "$warned"
fi

# A container: its own user, pid and mount namespaces inside the booted system, its init the
# only process of its mount namespace (as runc leaves it: unshare's parent stays outside).
# nsenter itself in the background, not box's subshell: $sleeper is the process to end.
nsenter -t "$leader" -a sh -c 'exec unshare --user --map-root-user --pid --fork unshare --mount sleep 600' \
	</dev/null >/dev/null 2>&1 &
sleeper=$!
sleep 1
cinit=$(box sh -c 'for p in /proc/[0-9]*; do
		[ "$(cat $p/comm 2>/dev/null)" = sleep ] && [ "$(readlink $p/ns/user)" != "$(readlink /proc/1/ns/user)" ] && { echo ${p#/proc/}; exit; }
	done')
# The system's uptime, as the container's init's start time counts (boot time).
sys_up()
{
	box cat /proc/uptime | awk '{ print $1 }'
}
# Whether $1, the uptime the container read between the system's uptimes $2 and $3, is its
# init's age: between the init's age at the two readings, within the 0.01 s the files
# round to. However long anything took.
is_cinit_age()
{
	local start tck
	start=$(box cat "/proc/$cinit/stat" 2>/dev/null | sed 's/.*) //' | awk '{ print $20 }')
	tck=$(box getconf CLK_TCK)
	awk -v c="$1" -v h1="$2" -v h2="$3" -v s="$start" -v t="$tck" 'BEGIN {
		exit !(c ~ /^[0-9]+\.[0-9]+$/ && s ~ /^[0-9]+$/ && t > 0 &&
		       c + 0 >= h1 - s / t - 0.02 && c + 0 <= h2 - s / t + 0.02) }'
}
up_h0=$(sys_up)
up_c=$(box nsenter -t "$cinit" -U -p --preserve-credentials cat /var/lib/procbox/proc/uptime 2>&1 | awk '{ print $1 }')
up_h=$(sys_up)
if [ -n "$cinit" ] && is_cinit_age "$up_c" "$up_h0" "$up_h" &&
	awk -v c="$up_c" -v h="$up_h" 'BEGIN { exit !(h - c > 1) }'; then
	tap_ok "a container reads its own uptime through the service's mount ($up_c s, the system's $up_h s)"
else
	tap_fail "a container reads its own uptime through the service's mount" "container init '$cinit'" \
		"container: '$up_c'" "system: '$up_h'"
fi

# procbox attach, without --mountpoint. Here, under systemd-nspawn, the copies of
# proc/sys and sys/devices/virtual/net are refused (EPERM): the files checked below are
# the ones that count.
out=$(box procbox attach --quiet "$cinit" 2>&1)
tap_diag "procbox attach $cinit: exit $?" "$out"
in_c()
{
	box nsenter -t "$cinit" -U -p -m --preserve-credentials "$@"
}
up_h0=$(sys_up)
up_c=$(in_c cat /proc/uptime 2>&1 | awk '{ print $1 }')
if is_cinit_age "$up_c" "$up_h0" "$(sys_up)"; then
	tap_ok "the attached container's /proc/uptime is its own ($up_c s)"
else
	tap_fail "the attached container's /proc/uptime is its own" "got '$up_c'"
fi

# A crash: Restart=on-failure starts procbox again, which takes the FUSE connection back
# from systemd's fd store (FileDescriptorStoreMax=2): the container's reads wait in the
# kernel meanwhile and never fail.
old=$(box systemctl show -P MainPID procbox)
in_c sh -c 'i=0; f=0; while [ $i -lt 400 ]; do cat /proc/uptime >/dev/null 2>&1 || f=$((f+1)); i=$((i+1)); done; echo $f' \
	>"$work/crash-reads" 2>&1 &
reader=$!
box systemctl kill -s KILL procbox
ok=
# a hang guard, not a limit on the restart's time
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
	new=$(box systemctl show -P MainPID procbox)
	if [ "$new" != 0 ] && [ "$new" != "$old" ] && [ "$(box systemctl is-active procbox)" = active ]; then
		up_h0=$(sys_up)
		up_c=$(in_c cat /proc/uptime 2>/dev/null | awk '{ print $1 }')
		is_cinit_age "$up_c" "$up_h0" "$(sys_up)" && ok=yes && break
	fi
	sleep 0.2
done
wait "$reader"
if [ -n "$ok" ]; then
	tap_ok "after kill -9, systemd restarts procbox and the container reads its uptime again"
else
	tap_fail "after kill -9, systemd restarts procbox and the container reads its uptime again" \
		"$(box systemctl status --no-pager procbox 2>&1 | tail -n 15)"
fi
tap_is "no read of the container failed across the crash" "$(cat "$work/crash-reads")" 0
# journald takes lines from the stream asynchronously: give it a moment.
for _ in $(seq 50); do
	box journalctl -u procbox -o cat --no-pager | grep -q "connection taken over" && break
	sleep 0.2
done
if box journalctl -u procbox -o cat --no-pager | grep -q "serving /var/lib/procbox.*connection taken over"; then
	tap_ok "the journal says the restarted procbox took the connection over"
else
	tap_fail "the journal says the restarted procbox took the connection over" \
		"$(box journalctl -u procbox -o cat --no-pager | grep 'serving' | tail -n 3)"
fi

# systemctl restart: at SIGTERM procbox leaves the connection in the fd store; whether the
# store outlives a stop-and-start is systemd's choice (a restart job keeps it on this
# systemd, or the test says otherwise).
box systemctl restart procbox
up_h0=$(sys_up)
up_c=$(in_c cat /proc/uptime 2>&1 | awk '{ print $1 }')
if is_cinit_age "$up_c" "$up_h0" "$(sys_up)"; then
	tap_ok "after systemctl restart the running container is still served ($up_c s)"
else
	tap_fail "after systemctl restart the running container is still served" "got '$up_c'" \
		"$(box journalctl -u procbox -o cat --no-pager | tail -n 8)"
fi

# At -d a failed request goes to the journal at priority err, with the container's init.
box mkdir -p /run/systemd/system/procbox.service.d
box sh -c 'printf "[Service]\nExecStart=\nExecStart=/usr/sbin/procbox --debug /var/lib/procbox\n" >/run/systemd/system/procbox.service.d/debug.conf'
box systemctl daemon-reload
box systemctl restart procbox
# A fresh container that writes through the mount (the shell is pid 1 of its pid namespace:
# its own init).
box unshare --user --map-root-user --pid --fork sh -c \
	'echo 5 >/var/lib/procbox/proc/sys/kernel/cap_last_cap' 2>/dev/null
for _ in $(seq 50); do
	errs=$(box journalctl -u procbox -p err..err -o cat --no-pager 2>&1)
	grep -Eq '^Request of pid ([0-9]+) \(container init \1\) failed: Permission denied$' <<<"$errs" && break
	sleep 0.2
done
if grep -Eq '^Request of pid ([0-9]+) \(container init \1\) failed: Permission denied$' <<<"$errs"; then
	tap_ok "journalctl -u procbox -p err shows the failed request with the container's init pid"
else
	tap_fail "journalctl -u procbox -p err shows the failed request with the container's init pid" "$errs"
fi
if box journalctl -u procbox -p info..info -o cat --no-pager | grep -q "serving /var/lib/procbox"; then
	tap_ok "journalctl -u procbox shows the start line at priority info"
else
	tap_fail "journalctl -u procbox shows the start line at priority info"
fi
box rm -rf /run/systemd/system/procbox.service.d
box systemctl daemon-reload
# The container's init takes only SIGKILL from outside; then nsenter and its shell end.
box kill -KILL "$cinit" 2>/dev/null
kill -KILL "$sleeper" 2>/dev/null
wait "$sleeper" 2>/dev/null
sleeper=

out=$(box env DEBIAN_FRONTEND=noninteractive dpkg -r procbox 2>&1)
tap_check "dpkg -r procbox" test $? -eq 0 || tap_diag "$out"
left=$(box sh -c 'grep " fuse.procbox " /proc/self/mountinfo; for p in /proc/[0-9]*; do
		case $(readlink $p/exe 2>/dev/null) in */procbox*) echo "process ${p#/proc/}";; esac
	done')
tap_is "after removal no procbox mount and no procbox process is left" "$left" ""
out=$(box env DEBIAN_FRONTEND=noninteractive dpkg -P procbox 2>&1)
tap_check "dpkg -P procbox" test $? -eq 0 || tap_diag "$out"
left=$(box sh -c 'ls -d /var/lib/procbox /lib/systemd/system/procbox.service \
	/etc/systemd/system/multi-user.target.wants/procbox.service /usr/sbin/procbox \
	/usr/share/containers/oci/hooks.d/procbox.json /usr/share/doc/procbox 2>/dev/null')
tap_is "after purge none of its files is left" "$left" ""

tap_end
