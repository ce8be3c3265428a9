#!/usr/bin/env bash
# A private Docker for tests: its own dockerd, in its own empty network namespace,
# with its own data-root, exec-root, socket and cgroup parent, so that it never
# touches the host's network or a Docker the host may run.
#
#   rig.sh up [--userns-remap] [--add-runtime NAME=PATH]...
#                                install docker.io if needed, start dockerd, import the image
#   rig.sh down                  remove everything up made; safe to run at any time, twice
#   rig.sh run ARGS...           docker run --network none --pull=never ARGS...
#   rig.sh docker ARGS...        any docker command against the rig's daemon
#   rig.sh image                 prints the busybox image's name
#
# State lives in $PROCBOX_RIG_DIR (default /run/procbox-rig). Set PROCBOX_RIG_NO_INSTALL=1
# to forbid apt-get. The containers see no network: dockerd has no bridge and its
# namespace holds only a downed loopback.
#
# dockerd outlives "rig.sh up". PID 1 on the test machines does not reap, so a caller
# that wants no zombie left runs under a subreaper (tests/lib/tap.sh's tap_reap).
set -euo pipefail

RIG=${PROCBOX_RIG_DIR:-/run/procbox-rig}
RIG=${RIG%/}
SOCK=$RIG/docker.sock
IMAGE=procbox-rig/busybox:latest
DOCKERD=/usr/sbin/dockerd
# Debian's client, matched to its daemon; another docker earlier in PATH may not be.
DOCKER=/usr/bin/docker

# Each rig dir gets its own cgroup parent, so two rigs never remove each other's cgroups.
if [ "$RIG" = /run/procbox-rig ]; then
	CGPARENT=procbox-rig
else
	CGPARENT=procbox-rig-$(printf '%s' "$RIG" | cksum | cut -d' ' -f1)
fi

say()
{
	printf 'rig: %s\n' "$*" >&2
}

die()
{
	say "$*"
	exit 1
}

# apt-get must not start the host's docker and containerd services: a policy-rc.d that
# exits 101 tells invoke-rc.d to start nothing. An existing one is left as it is.
ensure_policy_rc_d()
{
	local p=/usr/sbin/policy-rc.d rc=0
	if [ ! -e "$p" ]; then
		printf '#!/bin/sh\n# Installed by procbox tests/rig: packages must not start services.\nexit 101\n' >"$p"
		chmod 755 "$p"
		say "created $p (exit 101)"
	fi
	"$p" docker start >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 101 ] ||
		die "$p exists but exits $rc, not 101; refusing to install docker.io (it would start services)"
}

ensure_installed()
{
	local need=()
	[ -x "$DOCKERD" ] && [ -x "$DOCKER" ] && [ -x /usr/sbin/runc ] || need+=(docker.io)
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
		need+=(busybox-static)
	[ ${#need[@]} -gt 0 ] || return 0
	[ -z "${PROCBOX_RIG_NO_INSTALL:-}" ] || die "missing ${need[*]} and PROCBOX_RIG_NO_INSTALL is set"
	ensure_policy_rc_d
	say "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >"${TMPDIR:-/tmp}/procbox-rig-apt.log" 2>&1 || {
		tail -n 20 "${TMPDIR:-/tmp}/procbox-rig-apt.log" >&2
		die "apt-get install ${need[*]} failed"
	}
}

dk()
{
	"$DOCKER" -H "unix://$SOCK" "$@"
}

# A pid counts as alive unless it is gone or a zombie (a zombie may wait for a reaper
# that never comes, since PID 1 here does not reap).
alive()
{
	local st
	[ -n "$1" ] || return 1
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	st=${st%% *}
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# The dockerd of this rig, if one runs: its pidfile names it and its command line
# carries our exec-root, so a recycled pid is never mistaken for it.
dockerd_pid()
{
	local pid
	pid=$(cat "$RIG/dockerd.pid" 2>/dev/null) || return 1
	alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--exec-root $RIG/exec " || return 1
	echo "$pid"
}

daemon_answers()
{
	timeout 10 "$DOCKER" -H "unix://$SOCK" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Sends TERM, waits up to $2 seconds, then KILL and a short wait.
stop_pid()
{
	local pid=$1 grace=$2 i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	say "pid $pid ignored SIGTERM for ${grace}s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	say "pid $pid survived SIGKILL"
	return 1
}

# Processes of this rig that outlived dockerd (containerd, shims, runc): their command
# lines name a path inside the rig dir.
rig_leftover_pids()
{
	local d comm
	for d in /proc/[0-9]*; do
		{ read -r comm <"$d/comm"; } 2>/dev/null || continue
		case $comm in
		dockerd | containerd | containerd-shim* | runc | docker-init | docker-proxy) ;;
		*) continue ;;
		esac
		alive "${d#/proc/}" || continue
		tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "$RIG/" && echo "${d#/proc/}"
	done
	return 0
}

# Mount points at or below the rig dir, deepest first.
rig_mounts()
{
	awk -v rig="$RIG" '{ t = $5; gsub(/\\040/, " ", t); if (t == rig || index(t, rig "/") == 1) print t }' \
		/proc/self/mountinfo | sort -r -u
}

# Our cgroup parent in every hierarchy; container cgroups sit below it.
rig_cgroups()
{
	local d
	for d in /sys/fs/cgroup/*/"$CGPARENT" /sys/fs/cgroup/"$CGPARENT"; do
		[ -d "$d" ] && echo "$d"
	done
	return 0
}

# Kills what is left in our cgroups and removes them, leaves first.
remove_cgroups()
{
	local cg dir pid i
	for cg in $(rig_cgroups); do
		while read -r dir; do
			while read -r pid; do
				[ -n "$pid" ] || continue
				kill -KILL "$pid" 2>/dev/null || true
			done <"$dir/cgroup.procs"
		done < <(find "$cg" -depth -type d)
	done
	# A killed task leaves its cgroup only once it has exited: retry for a while.
	for ((i = 0; i < 50; i++)); do
		for cg in $(rig_cgroups); do
			find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
		[ -n "$(rig_cgroups)" ] || return 0
		sleep 0.1
	done
	for cg in $(rig_cgroups); do
		say "cgroup $cg could not be removed"
	done
	return 1
}

cmd_down()
{
	local rc=0 pid ids sup="" m

	if [ -S "$SOCK" ] && daemon_answers; then
		ids=$(timeout 30 "$DOCKER" -H "unix://$SOCK" ps -aq 2>/dev/null) || ids=""
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			timeout 60 "$DOCKER" -H "unix://$SOCK" rm -f -v $ids >/dev/null 2>&1 ||
				say "docker rm -f failed; continuing with dockerd's shutdown"
		fi
	fi

	if pid=$(dockerd_pid); then
		sup=$(cat "$RIG/supervisor.pid" 2>/dev/null || true)
		stop_pid "$pid" 30 || rc=1
	fi
	# The supervisor (docker-init) ends with dockerd; wait for it so nothing is left.
	if [ -z "$sup" ]; then
		sup=$(cat "$RIG/supervisor.pid" 2>/dev/null || true)
	fi
	if [ -n "$sup" ] && alive "$sup" && tr '\0' ' ' <"/proc/$sup/cmdline" 2>/dev/null | grep -qF -- "$RIG/exec "; then
		stop_pid "$sup" 10 || rc=1
	fi
	for pid in $(rig_leftover_pids); do
		say "stopping leftover $(cat "/proc/$pid/comm" 2>/dev/null) (pid $pid)"
		stop_pid "$pid" 5 || rc=1
	done

	remove_cgroups || rc=1

	while read -r m; do
		[ -n "$m" ] || continue
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || {
			say "cannot unmount $m"
			rc=1
		}
	done < <(rig_mounts)

	if [ -n "$(rig_mounts)" ]; then
		say "mounts remain under $RIG; leaving its files in place"
		rc=1
	elif [ -e "$RIG" ]; then
		# --one-file-system: never reach into anything still mounted below.
		rm -rf --one-file-system "$RIG" || rc=1
	fi
	return "$rc"
}

# A busybox-static root filesystem: /bin/busybox and its applets, root and a user 1000.
build_rootfs()
{
	local root=$1 a
	if ldd /bin/busybox >/dev/null 2>&1; then
		die "/bin/busybox is dynamically linked; the image needs busybox-static"
	fi
	mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,root,home/user}
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root"
	chown 1000:1000 "$root/home/user"
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\nuser:x:1000:\n' >"$root/etc/group"
}

import_image()
{
	local root=$RIG/rootfs
	rm -rf --one-file-system "$root"
	build_rootfs "$root"
	tar --numeric-owner -C "$root" -cf - . |
		dk import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$IMAGE" >/dev/null
	rm -rf --one-file-system "$root"
}

cmd_up()
{
	local mode=plain pid i log
	local args=() runtimes=()
	while [ $# -gt 0 ]; do
		case $1 in
		--userns-remap) mode=userns-remap ;;
		--add-runtime)
			[[ ${2:-} == ?*=/?* ]] || die "--add-runtime needs NAME=/absolute/path"
			runtimes+=("--add-runtime=$2")
			shift
			;;
		*) die "usage: rig.sh up [--userns-remap] [--add-runtime NAME=PATH]..." ;;
		esac
		shift
	done
	# The mode names everything that needs a restart to change.
	[ ${#runtimes[@]} -eq 0 ] || mode="$mode ${runtimes[*]}"

	if dockerd_pid >/dev/null && daemon_answers; then
		if [ "$(cat "$RIG/mode" 2>/dev/null)" = "$mode" ]; then
			# A rig left up by an earlier run is reused, but never trusted to still
			# hold the image: a test may have removed it.
			dk image inspect "$IMAGE" >/dev/null 2>&1 || import_image ||
				die "could not import $IMAGE"
			return 0
		fi
		say "restarting dockerd in $mode mode"
	fi
	cmd_down || die "could not clear the previous rig in $RIG"
	ensure_installed

	# Unix socket paths are limited to 108 bytes; containerd's lives deepest.
	[ ${#RIG} -le 60 ] || die "PROCBOX_RIG_DIR is too long for dockerd's sockets: $RIG"
	mkdir -p "$RIG"
	# With --userns-remap the remapped root must traverse this dir.
	chmod 711 "$RIG"
	# Our own config file keeps the host's /etc/docker/daemon.json out of the rig, and
	# moves the daemon's identity key from /etc/docker into the rig dir.
	printf '{ "deprecated-key-path": "%s/key.json" }\n' "$RIG" >"$RIG/daemon.json"
	log=$RIG/dockerd.log

	args=(
		--data-root "$RIG/data"
		--exec-root "$RIG/exec"
		--pidfile "$RIG/dockerd.pid"
		-H "unix://$SOCK"
		--config-file "$RIG/daemon.json"
		--bridge=none
		--iptables=false
		--ip6tables=false
		--ip-forward=false
		--ip-masq=false
		--userland-proxy=false
		--cgroup-parent "/$CGPARENT"
		--exec-opt native.cgroupdriver=cgroupfs
	)
	[[ $mode != userns-remap* ]] || args+=(--userns-remap=default)
	args+=(${runtimes[@]+"${runtimes[@]}"})

	# unshare --net: dockerd's namespace holds only a downed loopback, so nothing it
	# does to networking reaches the host. docker-init -s (tini as a subreaper) reaps
	# the containerd shims, which PID 1 here would leave as zombies.
	(
		cd /
		exec unshare --net -- /usr/bin/docker-init -s -- "$DOCKERD" "${args[@]}"
	) </dev/null >"$log" 2>&1 &
	echo $! >"$RIG/supervisor.pid"

	for ((i = 0; i < 600; i++)); do
		if ! alive "$(cat "$RIG/supervisor.pid")"; then
			tail -n 30 "$log" >&2
			cmd_down || true
			die "dockerd exited during start-up"
		fi
		if pid=$(dockerd_pid) && [ -S "$SOCK" ] && daemon_answers; then
			break
		fi
		sleep 0.1
	done
	if ! daemon_answers; then
		tail -n 30 "$log" >&2
		cmd_down || true
		die "dockerd did not answer on $SOCK within 60 s"
	fi
	if ! import_image; then
		cmd_down || true
		die "could not import $IMAGE"
	fi
	echo "$mode" >"$RIG/mode"
}

cmd_run()
{
	dk run --network none --pull=never "$@"
}

case "${1:-}" in
up)
	shift
	cmd_up "$@"
	;;
down)
	cmd_down
	;;
run)
	shift
	cmd_run "$@"
	;;
docker)
	shift
	dk "$@"
	;;
image)
	echo "$IMAGE"
	;;
*)
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
	exit 2
	;;
esac
