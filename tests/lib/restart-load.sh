# Restarts under load, shared by tests/integration/restart.sh and bench/restart:
#   restart_load WORK CONTAINERS KILLS UPGRADES
# starts procbox on WORK/mnt, CONTAINERS unshare-made containers (own user, pid, net,
# uts, ipc and mount namespaces), each reading through its own set of kernel inodes
# (WORK/mnt/.inodes/ctN, as attach and the OCI hook bind), writing its own kernel/panic
# and running two
# readers (tests/lib/restart-reader.py: open+read+close of ip_forward, meminfo and
# uptime; a long-open meminfo fd read with pread at 0), then kills procbox with SIGKILL
# and starts it again KILLS times, then runs `procbox upgrade` UPGRADES times. Sets:
#   RL_OPS RL_FAILS RL_STALL_MS RL_ERRORS    reads done, failed, the longest call
#   RL_VALUES_KEPT RL_VALUES_WANT            containers that read back their panic value
#   RL_INODES_KEPT RL_INODES_OWN             containers whose panic file kept its st_ino
#                                            across the restarts; distinct st_ino values
#   RL_DAEMON_FDS_BEFORE/AFTER RL_HOLDER_FDS_BEFORE/AFTER RL_PROCS_BEFORE/AFTER
#   RL_HOLDER_BEFORE/AFTER (pids) RL_LEFT (mounts and holders left after a stop: 0)
#   RL_RESTART_MS_MAX                         the longest kill-to-serving time
# Needs PB (the procbox binary) and RL_READER (restart-reader.py).

rl_ms() { date +%s%3N; }

rl_wait_serving() # PIDFILE OLDCONTENT
{
	local i
	for i in $(seq 1 3000); do
		if [ -f "$1" ] && [ "$(cat "$1" 2>/dev/null)" != "$2" ] &&
			kill -0 "$(cut -d' ' -f1 "$1")" 2>/dev/null; then
			return 0
		fi
		sleep 0.01
	done
	return 1
}

# The holder: the process whose fd 3 is the listening socket at $1.
rl_holder_pid()
{
	local ino p
	ino=$(awk -v p="$1" '$8 == p { print $7; exit }' /proc/net/unix)
	[ -n "$ino" ] || return 0
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/fd/3" 2>/dev/null)" = "socket:[$ino]" ]; then
			echo "${p#/proc/}"
			return 0
		fi
	done
}

rl_fds() { [ -n "$1" ] && ls "/proc/$1/fd" 2>/dev/null | wc -l || echo 0; }

# The daemon, its children, and the holder.
rl_procs()
{
	local n=0 p
	for p in /proc/[0-9]*; do
		[ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$1" ] && n=$((n + 1))
	done
	echo $((n + 1 + ($2 > 0 ? 1 : 0)))
}

rl_start()
{
	"$PB" -f --timeout 10000 --agent-idle 1 --state-dir "$RL_WORK/state" "$RL_WORK/mnt" 2>>"$RL_WORK/procbox.log" &
	RL_PID=$!
}

rl_pidfile() { echo "$RL_WORK"/state/*/daemon.pid; }

restart_load()
{
	RL_WORK=$1
	local n=$2 kills=$3 upgrades=$4 i k pf old t0 t1 sock
	local -a cpids=()
	mkdir -p "$RL_WORK/mnt" "$RL_WORK/out"
	RL_RESTART_MS_MAX=0
	rl_start
	for i in $(seq 1 3000); do
		pf=$(rl_pidfile)
		[ -f "$pf" ] && break
		sleep 0.01
	done
	rl_wait_serving "$pf" "" || return 1
	sock=$(dirname "$pf")/holder.sock
	# Before: once the host files the resource views keep open are open, the agents
	# of a container that read once have stopped, and the container is swept.
	unshare --user --map-root-user --net --uts --ipc --pid --fork --mount sh -c \
		'cat "$1/proc/meminfo" "$1/proc/uptime" "$1/proc/sys/net/ipv4/ip_forward"' \
		sh "$RL_WORK/mnt" >/dev/null
	sleep 3
	RL_HOLDER_BEFORE=$(rl_holder_pid "$sock")
	RL_DAEMON_FDS_BEFORE=$(rl_fds "$RL_PID")
	RL_HOLDER_FDS_BEFORE=$(rl_fds "$RL_HOLDER_BEFORE")
	RL_PROCS_BEFORE=$(rl_procs "$RL_PID" "${RL_HOLDER_BEFORE:-0}")

	for i in $(seq 1 "$n"); do
		unshare --user --map-root-user --net --uts --ipc --pid --fork --mount \
			--propagation private sh -c '
			mnt=$1 out=$2 stop=$3 reader=$4 v=$5
			echo "$v" > "$mnt/proc/sys/kernel/panic" || exit 1
			stat -c %i "$mnt/proc/sys/kernel/panic" > "$out.ino0"
			python3 "$reader" "$mnt" cycle "$out.cycle" "$stop" &
			python3 "$reader" "$mnt" pread "$out.pread" "$stop" &
			wait
			cat "$mnt/proc/sys/kernel/panic" > "$out.panic"
			stat -c %i "$mnt/proc/sys/kernel/panic" > "$out.ino1"' sh \
			"$RL_WORK/mnt/.inodes/ct$i" "$RL_WORK/out/c$i" "$RL_WORK/stop" "$RL_READER" \
			$((100 + i)) &
		cpids+=($!)
	done
	# Restarts begin once every reader has read once (python starts slowly on a busy
	# machine).
	for i in $(seq 1 6000); do
		[ "$(ls "$RL_WORK"/out/*.ready 2>/dev/null | wc -l)" -ge $((2 * n)) ] && break
		sleep 0.01
	done
	sleep 0.5

	for k in $(seq 1 "$kills"); do
		old=$(cat "$pf")
		t0=$(rl_ms)
		kill -KILL "$RL_PID"
		wait "$RL_PID" 2>/dev/null
		rl_start
		rl_wait_serving "$pf" "$old" || echo "# restart $k: procbox did not come back" >&2
		t1=$(rl_ms)
		[ $((t1 - t0)) -gt "$RL_RESTART_MS_MAX" ] && RL_RESTART_MS_MAX=$((t1 - t0))
		sleep 0.2
	done
	for k in $(seq 1 "$upgrades"); do
		"$PB" upgrade --state-dir "$RL_WORK/state" "$RL_WORK/mnt" >/dev/null ||
			echo "# upgrade $k failed" >&2
		sleep 0.2
	done
	sleep 0.5
	touch "$RL_WORK/stop"
	for i in "${cpids[@]}"; do wait "$i"; done

	RL_OPS=0 RL_FAILS=0 RL_STALL_MS=0 RL_ERRORS= RL_VALUES_KEPT=0 RL_VALUES_WANT=$n
	local ops fails stall errs f
	for f in "$RL_WORK"/out/c*.cycle "$RL_WORK"/out/c*.pread; do
		[ -f "$f" ] || { RL_FAILS=$((RL_FAILS + 1)); RL_ERRORS="$RL_ERRORS no-result:$f"; continue; }
		read -r ops fails stall errs < "$f"
		RL_OPS=$((RL_OPS + ops))
		RL_FAILS=$((RL_FAILS + fails))
		[ "$errs" = "-" ] || RL_ERRORS="$RL_ERRORS $errs"
		RL_STALL_MS=$(awk -v a="$RL_STALL_MS" -v b="$stall" 'BEGIN { print (b > a ? b : a) }')
	done
	for i in $(seq 1 "$n"); do
		[ "$(cat "$RL_WORK/out/c$i.panic" 2>/dev/null)" = $((100 + i)) ] &&
			RL_VALUES_KEPT=$((RL_VALUES_KEPT + 1))
	done
	RL_INODES_KEPT=0
	for i in $(seq 1 "$n"); do
		[ -s "$RL_WORK/out/c$i.ino0" ] &&
			[ "$(cat "$RL_WORK/out/c$i.ino0")" = "$(cat "$RL_WORK/out/c$i.ino1" 2>/dev/null)" ] &&
			RL_INODES_KEPT=$((RL_INODES_KEPT + 1))
	done
	RL_INODES_OWN=$(cat "$RL_WORK"/out/c*.ino0 2>/dev/null | sort -u | wc -l)

	# Agents stop after a second idle, ended containers are swept every second.
	sleep 3
	RL_HOLDER_AFTER=$(rl_holder_pid "$sock")
	RL_DAEMON_FDS_AFTER=$(rl_fds "$RL_PID")
	RL_FDS_LIST=$(ls -l "/proc/$RL_PID/fd" 2>/dev/null | awk '{print $9 $10 $11}' | tr "\n" " ")
	RL_HOLDER_FDS_AFTER=$(rl_fds "$RL_HOLDER_AFTER")
	RL_PROCS_AFTER=$(rl_procs "$RL_PID" "${RL_HOLDER_AFTER:-0}")

	kill -TERM "$RL_PID"
	wait "$RL_PID" 2>/dev/null
	sleep 0.2
	RL_LEFT=$(( $(grep -c " $RL_WORK/mnt " /proc/self/mountinfo) + $( [ -n "$(rl_holder_pid "$sock")" ] && echo 1 || echo 0) ))
	return 0
}
