#!/usr/bin/env bash
# timeout: 1200
# /proc/diskstats and /sys/block/<disk>/stat as real programs read them, in TAP: procps'
# vmstat -d, sysstat's sadc/sar -d and sysstat's iostat -d (which reads /sys/block) in a
# Docker container of a Debian 12 image (debootstrap minbase with procps and sysstat,
# made once per run and removed afterwards), with procbox's diskstats bound over the
# container's and `procbox attach` binding the rest (every disk's stat file among it)
# into the running container. The disk is a loop device made here, so that
# its queue is new: on cgroup v1 nothing counts a cgroup's I/O on it yet (the state
# of a fresh machine); then counting is turned on through the container's own cgroup
# only (a throttle rule set and removed at once), and the container's writes must
# show. The loop device, and with it that state, is removed afterwards.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
tap_reexec_reaped "$0" "$@"

export PROCBOX_RIG_DIR=${PROCBOX_RIG_DIR:-/run/procbox-rig-disk-$$}
rig=("bash" "$here/rig.sh")
build=${PROCBOX_BUILD_DIR:-$here/../../build}
pb=$build/procbox
DOCKER_TIMEOUT=${PROCBOX_E2E_DOCKER_TIMEOUT:-60}
IMAGE=procbox-diskstats/debian:$$

if [ "$(id -u)" -ne 0 ]; then
	tap_skip "diskstats with real programs in docker" "needs root"
	tap_end
	exit
fi
if [ ! -x "$pb" ] || [ ! -w /dev/fuse ] || [ ! -e /dev/loop-control ]; then
	tap_skip "diskstats with real programs in docker" "no $pb, /dev/fuse or /dev/loop-control"
	tap_end
	exit
fi
if [ ! -d /sys/fs/cgroup/blkio ]; then
	tap_skip "diskstats with real programs in docker" "no cgroup v1 blkio hierarchy"
	tap_end
	exit
fi
if ! command -v debootstrap >/dev/null; then
	if [ -n "${PROCBOX_RIG_NO_INSTALL:-}" ]; then
		tap_skip "diskstats with real programs in docker" \
			"debootstrap is not installed and installing is not allowed"
		tap_end
		exit
	fi
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q \
		--no-install-recommends debootstrap >&2 || {
		tap_fail "install debootstrap"
		tap_end
		exit 1
	}
fi

work=$(mktemp -d /tmp/procbox-disk-XXXXXX)
chmod 711 "$work"
mnt=$work/mnt
log=$work/procbox.log
mkdir "$mnt"
pbpid=
loop=
cid=
image_in=

# Python for the loop-control ioctls: a new loop device number has a new queue.
loop_ctl()
{
	"$(tap_python)" -c '
import fcntl, os, sys
fd = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
op = {"add": 0x4C80, "remove": 0x4C81}[sys.argv[1]]
for i in range(int(sys.argv[2]), int(sys.argv[2]) + 512):
    try:
        print(fcntl.ioctl(fd, op, i))
        break
    except OSError as e:
        if op == 0x4C81:
            sys.exit(str(e))
' "$@"
}

cleanup()
{
	local i m
	trap - EXIT
	[ -z "$cid" ] || timeout -k 5 60 "${rig[@]}" docker rm -f "$cid" >/dev/null 2>&1
	[ -z "$image_in" ] || timeout -k 5 60 "${rig[@]}" docker rmi -f "$IMAGE" >/dev/null 2>&1
	timeout -k 5 180 "${rig[@]}" down >/dev/null 2>&1
	if [ -n "$pbpid" ]; then
		kill "$pbpid" 2>/dev/null
		wait "$pbpid" 2>/dev/null
	fi
	umount -l "$mnt" 2>/dev/null
	if [ -n "$loop" ]; then
		losetup -d "/dev/loop$loop" 2>/dev/null
		for i in $(seq 50); do
			loop_ctl remove "$loop" >/dev/null 2>&1 && break
			sleep 0.1
		done
	fi
	# debootstrap mounts proc and sys in the root it makes; a failed one may leave them.
	while read -r m; do
		umount -l "$m" 2>/dev/null
	done < <(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r)
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

dk()
{
	timeout -k 5 "$DOCKER_TIMEOUT" "${rig[@]}" docker "$@"
}

# The loop device's line of `vmstat -d` output: "reads rsect writes wsect", or nothing.
vmstat_rw()
{
	awk -v d="loop$loop" '$1 == d { print $2, $4, $6, $8 }'
}

# The same fields from a diskstats text.
diskstats_rw()
{
	awk -v ma="$major" -v mi="$minor" '$1 == ma && $2 == mi { print $4, $6, $8, $10 }'
}

# Whether the kernel counts the container's I/O on the loop device (cgroup v1 throttle).
kernel_counts()
{
	grep -q "^$major:$minor " "$cgdir/blkio.throttle.io_serviced_recursive"
}

"$pb" -f "$mnt" >>"$log" 2>&1 &
pbpid=$!
for ((i = 0; i < 300; i++)); do
	[ "$(stat -f -c %T "$mnt" 2>/dev/null)" = fuseblk ] && [ -d "$mnt/proc/sys" ] && break
	sleep 0.02
done
if [ "$(stat -f -c %T "$mnt" 2>/dev/null)" != fuseblk ]; then
	tap_fail "procbox starts" "$(tail -n 20 "$log")"
	tap_end
	exit 1
fi

if ! out=$(timeout -k 5 300 "${rig[@]}" up 2>&1); then
	tap_skip "diskstats with real programs in docker" \
		"the docker rig did not come up: $(tail -n 1 <<<"$out" | tr '#' ' ')"
	tap_diag "$out"
	tap_end
	exit
fi

t=$SECONDS
if ! out=$(debootstrap --variant=minbase --include=procps,sysstat bookworm "$work/root" \
	2>&1); then
	tap_fail "debootstrap a Debian 12 root with procps and sysstat" "$(tail -n 20 <<<"$out")"
	tap_end
	exit 1
fi
if ! out=$(tar --numeric-owner -C "$work/root" -cf - . | dk import - "$IMAGE" 2>&1); then
	tap_fail "docker import the Debian root" "$out"
	tap_end
	exit 1
fi
image_in=1
rm -rf --one-file-system "$work/root"
tap_diag "Debian image made in $((SECONDS - t)) s"

# The loop device: a number far above what losetup hands out, 16 MiB of a sparse file.
truncate -s 16M "$work/backing"
loop=$(loop_ctl add $((4096 + $$ % 100000)))
if [ -z "$loop" ] || ! losetup "/dev/loop$loop" "$work/backing" 2>"$work/losetup.err"; then
	tap_fail "a new loop device" "$(cat "$work/losetup.err" 2>/dev/null)"
	tap_end
	exit 1
fi
IFS=: read -r major minor <"/sys/block/loop$loop/dev"

if ! cid=$(dk run -d --network none --pull=never --device "/dev/loop$loop" \
	--mount "type=bind,src=$mnt/proc/diskstats,dst=/proc/diskstats" \
	"$IMAGE" sleep 600 2>&1); then
	tap_fail "a Debian container with procbox's /proc/diskstats" "$cid"
	cid=
	tap_end
	exit 1
fi
ctpid=$(dk inspect -f '{{.State.Pid}}' "$cid")
# Docker's /sys is a read-only sysfs: attach binds over its files all the same.
if out=$("$pb" attach --mountpoint "$mnt" "$ctpid" 2>&1); then
	tap_ok "procbox attach covers the running container"
else
	tap_fail "procbox attach covers the running container" "$out"
fi
if grep -q "/sys/devices/virtual/block/loop$loop/stat: attached" <<<"$out"; then
	tap_ok "attach binds loop$loop's stat file, where /sys/block/loop$loop leads"
else
	tap_fail "attach binds loop$loop's stat file, where /sys/block/loop$loop leads" "$out"
fi
cgdir=/sys/fs/cgroup/blkio$(awk -F: '$2 == "blkio" { print $3 }' "/proc/$ctpid/cgroup")

for state in before after; do
	if [ "$state" = after ]; then
		# Counting on, through the container's own cgroup only: a rule far above any
		# real rate, removed at once. It lasts as long as the loop device.
		echo "$major:$minor 1125899906842624" >"$cgdir/blkio.throttle.write_bps_device"
		echo "$major:$minor 0" >"$cgdir/blkio.throttle.write_bps_device"
	fi
	dk exec "$cid" dd if=/dev/zero of="/dev/loop$loop" bs=1M count=4 oflag=direct \
		>/dev/null 2>&1 || tap_fail "$state: the container writes 4 MiB to loop$loop"
	counted=no
	kernel_counts && counted=yes
	tap_diag "$state: the kernel counts the container's I/O on loop$loop: $counted"
	ds=$(dk exec "$cid" cat /proc/diskstats | diskstats_rw)
	vm=$(dk exec "$cid" vmstat -d 2>&1)
	vmline=$(vmstat_rw <<<"$vm")
	host_disk=$(awk '$1 != 7 && $1 != 1 { print $3; exit }' /proc/diskstats)

	if [ -z "$ds" ]; then
		tap_fail "$state: /proc/diskstats lists loop$loop" "$(dk exec "$cid" cat /proc/diskstats)"
	elif [ "$counted" = no ]; then
		tap_is "$state, not counted: /proc/diskstats shows loop$loop with 0" "$ds" "0 0 0 0"
	else
		read -r _ _ w ws <<<"$ds"
		if [ "$w" -ge 1 ] && [ "$ws" -ge 8192 ]; then
			tap_ok "$state, counted: /proc/diskstats shows the container's writes ($ds)"
		else
			tap_fail "$state, counted: /proc/diskstats shows the container's writes" \
				"reads rsect writes wsect: $ds"
		fi
	fi
	tap_is "$state: vmstat -d (procps) shows loop$loop as /proc/diskstats says" "$vmline" "$ds"
	if awk -v d="$host_disk" '$1 == d { f = 1 } END { exit !f }' <<<"$vm"; then
		tap_ok "$state: vmstat -d lists the host's disk $host_disk"
	else
		tap_fail "$state: vmstat -d lists the host's disk $host_disk" "$vm"
	fi

	# sar -d: sadc samples /proc/diskstats twice, sar reads the file back. Like on a
	# host, sadc leaves out disks whose counters are all 0, and sar then says the file
	# has no disk activity.
	# (A new file each time: sadc appends to an existing one, with that one's activities.)
	sa=$(dk exec "$cid" sh -c "/usr/lib/sysstat/sadc -S DISK 1 2 /tmp/sa-$state &&
		echo sadc-ok && sar -d -p -f /tmp/sa-$state" 2>&1)
	if ! grep -q '^sadc-ok$' <<<"$sa"; then
		tap_fail "$state: sadc (sysstat) reads the container's /proc/diskstats" "$sa"
	elif [ "$counted" = no ]; then
		if grep -q "loop$loop" <<<"$sa"; then
			tap_fail "$state, not counted: sar -d shows no activity on loop$loop" "$sa"
		else
			tap_ok "$state, not counted: sar -d shows no activity on loop$loop"
		fi
	elif grep -qE "^Average: .* loop$loop\$" <<<"$sa"; then
		tap_ok "$state, counted: sar -d (sysstat) lists loop$loop"
	else
		tap_fail "$state, counted: sar -d (sysstat) lists loop$loop" "$sa"
	fi
	# sysstat 12.6's iostat reads /sys/block/<disk>/stat, not /proc/diskstats. Like on a
	# host, a plain `iostat -d` leaves out disks whose counters are all 0; "ALL" lists
	# every one. kB_read and kB_wrtn are the sectors / 2. The host's disk: the container's
	# counters, read again after iostat, can only have grown (its own programs load).
	io=$(dk exec "$cid" sh -c 'iostat -d ALL && echo iostat-ok && cat /proc/diskstats' 2>&1)
	if ! grep -q '^iostat-ok$' <<<"$io"; then
		tap_fail "$state: iostat -d ALL (sysstat) runs in the container" "$io"
		continue
	fi
	ds_after=$(sed '1,/^iostat-ok$/d' <<<"$io")
	io=$(sed '/^iostat-ok$/,$d' <<<"$io")
	ioline=$(awk -v d="loop$loop" '$1 == d { print $6, $7 }' <<<"$io")
	want=$(awk -v ma="$major" -v mi="$minor" \
		'$1 == ma && $2 == mi { printf "%d %d\n", $6 / 2, $10 / 2 }' <<<"$ds_after")
	tap_is "$state: iostat -d shows loop$loop's kB read and written as /proc/diskstats says" \
		"$ioline" "$want"
	hostline=$(awk -v d="$host_disk" '$1 == d { print $6, $7 }' <<<"$io")
	ct_r=0 ct_w=0 h_r=0 h_w=0
	read -r ct_r ct_w < <(awk -v d="$host_disk" '$3 == d { printf "%d %d\n", $6 / 2, $10 / 2 }' \
		<<<"$ds_after")
	read -r h_r h_w < <(awk '{ printf "%d %d\n", $3 / 2, $7 / 2 }' "/sys/block/$host_disk/stat")
	if [ -z "$hostline" ]; then
		tap_fail "$state: iostat -d ALL lists the host's disk $host_disk" "$io"
	else
		read -r io_r io_w <<<"$hostline"
		if [ "$io_r" -le "$ct_r" ] && [ "$io_w" -le "$ct_w" ] &&
			[ $((io_r + io_w)) -lt $((h_r + h_w)) ]; then
			tap_ok "$state: iostat -d lists $host_disk with the container's counters ($io_r $io_w kB; the host's: $h_r $h_w)"
		else
			tap_fail "$state: iostat -d lists $host_disk with the container's counters" \
				"iostat: $io_r $io_w kB, container's diskstats after: $ct_r $ct_w," \
				"host: $h_r $h_w"
		fi
	fi
	plain=$(dk exec "$cid" iostat -d 2>&1)
	if [ "$counted" = yes ]; then
		tap_is "$state, counted: plain iostat -d lists loop$loop likewise" \
			"$(awk -v d="loop$loop" '$1 == d { print $6, $7 }' <<<"$plain")" "$want"
	elif grep -q "^loop$loop " <<<"$plain"; then
		tap_fail "$state, not counted: plain iostat -d leaves loop$loop out (all 0)" "$plain"
	else
		tap_ok "$state, not counted: plain iostat -d leaves loop$loop out (all 0)"
	fi
done

tap_end
