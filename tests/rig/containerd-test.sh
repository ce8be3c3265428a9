#!/usr/bin/env bash
# timeout: 600
# procbox under containerd, in TAP: Debian's containerd started like the rig's dockerd
# (its own root, state, socket and empty network namespace), containers made by `ctr
# run` through the io.containerd.runc.v2 shim with procbox-runc as its runc binary (as
# contrib/containerd/config.toml.in registers it), plain and user-namespaced, side
# by side with plain runc: the first see procbox's uptime and meminfo under a memory
# limit and write their own ip_forward; the second see the kernel's. The wrapper passes
# every runc command and flag of the shim through unchanged, and changes in config.json
# only what it must.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
tap_reexec_reaped "$0" "$@"

build=${PROCBOX_BUILD_DIR:-$here/../../build}
pb=$build/procbox
CTR_TIMEOUT=60

if [ "$(id -u)" -ne 0 ] || [ ! -x "$pb" ] || [ ! -w /dev/fuse ]; then
	tap_skip "procbox under containerd" "needs root, $pb and /dev/fuse"
	tap_end
	exit
fi
need=()
command -v containerd >/dev/null && command -v ctr >/dev/null || need+=(containerd)
[ -x /usr/sbin/runc ] || need+=(runc)
[ -x /usr/bin/docker-init ] || need+=(tini)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
	if [ -n "${PROCBOX_RIG_NO_INSTALL:-}" ]; then
		tap_skip "procbox under containerd" "missing ${need[*]} and installing is not allowed"
		tap_end
		exit
	fi
	# No package may start a service here.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" \
		>/dev/null 2>&1 || {
		tap_fail "apt-get install ${need[*]}"
		tap_end
		exit 1
	}
fi
init=/usr/bin/docker-init
[ -x "$init" ] || init=/usr/bin/tini

# Socket paths are short: a dir of our own under /run.
W=$(mktemp -d /run/procbox-ctd-XXXXXX)
chmod 711 "$W"
ns=procbox-test
cgparent=/$(basename "$W")
mnt=$W/mnt
pbpid=
ctdpid=
# ctr and the shim put fifos and sockets under /run/containerd whatever the config
# says: if it is not there now, it goes again at the end.
run_containerd_existed=$([ -e /run/containerd ] && echo yes)

cleanup()
{
	local c cg
	trap - EXIT
	if [ -n "$ctdpid" ]; then
		for c in $(ctr -a "$W/c.sock" -n "$ns" t ls -q 2>/dev/null); do
			timeout 10 ctr -a "$W/c.sock" -n "$ns" t kill -s KILL "$c" >/dev/null 2>&1
		done
		for c in $(ctr -a "$W/c.sock" -n "$ns" c ls -q 2>/dev/null); do
			timeout 20 ctr -a "$W/c.sock" -n "$ns" t rm -f "$c" >/dev/null 2>&1
			timeout 20 ctr -a "$W/c.sock" -n "$ns" c rm "$c" >/dev/null 2>&1
		done
		kill "$ctdpid" 2>/dev/null
		wait "$ctdpid" 2>/dev/null
	fi
	if [ -n "$pbpid" ]; then
		kill "$pbpid" 2>/dev/null
		wait "$pbpid" 2>/dev/null
	fi
	# The cgroups of our containers, leaves first; a killed task leaves late.
	for _ in $(seq 50); do
		for cg in /sys/fs/cgroup/*"$cgparent" /sys/fs/cgroup/unified"$cgparent"; do
			[ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
		done
		ls -d /sys/fs/cgroup/*"$cgparent" >/dev/null 2>&1 || break
		sleep 0.1
	done
	awk -v w="$W" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	rm -rf --one-file-system "$W"
	[ -n "$run_containerd_existed" ] || rm -rf /run/containerd
}
trap cleanup EXIT
trap 'exit 143' TERM

"$pb" -f "$mnt" >"$W/procbox.log" 2>&1 &
pbpid=$!
mkdir -p "$mnt"
for _ in $(seq 300); do
	[ "$(stat -f -c %T "$mnt" 2>/dev/null)" = fuseblk ] && [ -d "$mnt/proc/sys" ] && break
	sleep 0.02
done

cat >"$W/config.toml" <<EOF
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$W/c.sock"
[ttrpc]
  address = "$W/c.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$W/opt"
EOF
# The shim inherits containerd's environment and passes it to procbox-runc: that is
# how the wrapper's hook finds this test's mount. The init reaps the shims.
(
	cd /
	PROCBOX_MOUNTPOINT=$mnt exec unshare --net -- "$init" -s -- containerd --config "$W/config.toml"
) </dev/null >"$W/containerd.log" 2>&1 &
ctdpid=$!
for _ in $(seq 300); do
	timeout 5 ctr -a "$W/c.sock" version >/dev/null 2>&1 && break
	sleep 0.1
done
if ! timeout 5 ctr -a "$W/c.sock" version >/dev/null 2>&1; then
	tap_fail "containerd starts" "$(tail -n 20 "$W/containerd.log")"
	tap_end
	exit 1
fi
tap_diag "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}')"

# A busybox root, and one owned by the user namespace's root.
rootfs=$W/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$rootfs/bin/"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"
done
cp -a "$rootfs" "$W/rootfs-userns"
chown -R 100000:100000 "$W/rootfs-userns"

# What the shim gives the runtime, and what the wrapper gives runc: each logs its argv
# (and the bundle's config.json on create) before going on.
cat >"$W/shim-side" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$W/shim-side.log"
for a in "\$@"; do [ "\$prev" = --bundle ] && cp "\$a/config.json" "$W/config.shim.json"; prev=\$a; done
exec "$W/procbox-runc" "\$@"
EOF
cat >"$W/runc-side" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$W/runc-side.log"
for a in "\$@"; do [ "\$prev" = --bundle ] && cp "\$a/config.json" "$W/config.runc.json"; prev=\$a; done
exec /usr/sbin/runc "\$@"
EOF
chmod 755 "$W/shim-side" "$W/runc-side"
ln -s "$(readlink -f "$pb")" "$W/procbox-runc"

ctr_()
{
	timeout -k 5 "$CTR_TIMEOUT" ctr -a "$W/c.sock" -n "$ns" "$@"
}

# Writes a spec for ctr run --config. Usage: spec FILE NAME MEMORY USERNS CAPS CMD
spec()
{
	ctr oci spec >"$W/default-spec.json" || return 1
	python3 - "$@" <<'EOF'
import json, os, sys
out, name, mem, userns, caps, cmd = sys.argv[1:7]
s = json.load(open(out.rsplit("/", 1)[0] + "/default-spec.json"))
w = out.rsplit("/", 1)[0]
s["root"] = {"path": w + ("/rootfs-userns" if userns == "yes" else "/rootfs"), "readonly": False}
s["process"]["args"] = ["/bin/sh", "-c", cmd]
s["linux"]["cgroupsPath"] = sys.argv[7] + "/" + name
s["linux"].setdefault("resources", {})["memory"] = {"limit": int(mem)}
if userns == "yes":
    s["linux"]["namespaces"].append({"type": "user"})
    m = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    s["linux"]["uidMappings"] = m
    s["linux"]["gidMappings"] = m
if os.environ.get("CPUS"):
    s["linux"]["resources"]["cpu"] = {"cpus": os.environ["CPUS"]}
join = os.environ.get("JOIN")
if join:
    # A pod member: the pause container's network, IPC, UTS and pid namespaces (and
    # its user namespace when the pod has one), a cgroup and mount namespace of its own.
    kinds = [("network", "net"), ("ipc", "ipc"), ("uts", "uts"), ("pid", "pid")]
    if userns == "yes":
        kinds.append(("user", "user"))
    s["linux"]["namespaces"] = [n for n in s["linux"]["namespaces"]
                                if n["type"] not in [k for k, _ in kinds] + ["user"]]
    s["linux"]["namespaces"] += [{"type": k, "path": "/proc/%s/ns/%s" % (join, n)} for k, n in kinds]
if os.environ.get("RW") == "yes":
    s["linux"]["readonlyPaths"].remove("/proc/sys")
for c in filter(None, caps.split(",")):
    for k in s["process"]["capabilities"]:
        s["process"]["capabilities"][k].append(c)
json.dump(s, open(out, "w"))
EOF
}

# Runs a container to its end. Usage: run NAME RUNTIME-BINARY|- MEMORY USERNS CAPS CMD
run()
{
	local name=$1 bin=$2 rt=()
	spec "$W/$name.json" "$name" "$3" "$4" "$5" "$6" "$cgparent" || return 1
	[ "$bin" = - ] || rt=(--runc-binary "$bin")
	ctr_ run --rm --fifo-dir "$W/fifo" --runc-root "$W/runc" --config "$W/$name.json" \
		"${rt[@]}" "$name" 2>&1
}

probe='cut -d" " -f1 /proc/uptime; grep MemTotal /proc/meminfo | tr -s " " | cut -d" " -f2;
	if echo 1 2>/tmp/err >/proc/sys/net/ipv4/ip_forward; then echo written; else sed "s/.*: //" /tmp/err; fi;
	cat /proc/sys/net/ipv4/ip_forward'
host_forward=$(cat /proc/sys/net/ipv4/ip_forward)

for mode in plain userns; do
	u=$([ $mode = userns ] && echo yes || echo no)
	host_up=$(cut -d' ' -f1 /proc/uptime)
	out=$(run "pb-$mode" "$W/shim-side" 268435456 "$u" CAP_NET_ADMIN "$probe")
	mapfile -t f <<<"$out"
	f+=("" "" "" "")
	if awk -v c="${f[0]}" -v h="$host_up" 'BEGIN { exit !(c != "" && c + 0 < 60 && c + 0 < h - 60) }'; then
		tap_ok "$mode, procbox: /proc/uptime is the container's age (${f[0]} s, the host's $host_up s)"
	else
		tap_fail "$mode, procbox: /proc/uptime is the container's age" "got: $out" "host: $host_up"
	fi
	tap_is "$mode, procbox: MemTotal under a 256 MiB limit" "${f[1]}" 262144

	# The kernel's own answer to the same write, from the same kind of container with
	# its /proc/sys writable (runc's writable-/proc/sys reference, RW below).
	for caps in CAP_NET_ADMIN ""; do
		out=$(run "pb-$mode-w${caps:+-cap}" "$W/procbox-runc" 268435456 "$u" "$caps" "$probe")
		mapfile -t f <<<"$out"
		f+=("" "" "" "")
		got="${f[2]}, reads ${f[3]}"
		out=$(RW=yes run "ref-$mode-w${caps:+-cap}" - 268435456 "$u" "$caps" "$probe")
		mapfile -t f <<<"$out"
		f+=("" "" "" "")
		what=${caps:-no CAP_NET_ADMIN}
		tap_is "$mode, procbox: ip_forward write with $what gets the kernel's answer (${f[2]})" \
			"$got" "${f[2]}, reads ${f[3]}"
	done
	tap_is "$mode: the host's ip_forward is untouched" "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_forward"

	out=$(run "runc-$mode" - 268435456 "$u" CAP_NET_ADMIN "$probe")
	mapfile -t f <<<"$out"
	f+=("" "" "" "")
	host_up=$(cut -d' ' -f1 /proc/uptime)
	if awk -v c="${f[0]}" -v h="$host_up" 'BEGIN { exit !(c + 0 > h - 5 && c + 0 <= h) }'; then
		tap_ok "$mode, plain runc: the kernel's /proc/uptime (${f[0]} s)"
	else
		tap_fail "$mode, plain runc: the kernel's /proc/uptime" "got: $out" "host: $host_up"
	fi
	tap_is "$mode, plain runc: the kernel's MemTotal" "${f[1]}" \
		"$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2)"
	tap_is "$mode, plain runc: /proc/sys is read-only, as containerd makes it" "${f[2]}" \
		"Read-only file system"
done

# --- pods: shared network, IPC, UTS and pid namespaces (and user namespace), a cgroup
# and limits per container. Each member must see its own size, whichever reads first.
view='grep MemTotal /proc/meminfo | tr -s " " | cut -d" " -f2; grep -c "^cpu[0-9]" /proc/stat'
ncpu=$(grep -c '^cpu[0-9]' /proc/stat)
pod_checks()
{
	local mode=$1 first=$2 u pid a b order
	u=$([ "$mode" = userns ] && echo yes || echo no)
	CPUS=0 spec "$W/pause-$mode-$first.json" "pause-$mode-$first" 268435456 "$u" "" "sleep 600" "$cgparent"
	if ! ctr_ run -d --fifo-dir "$W/fifo" --runc-root "$W/runc" --config "$W/pause-$mode-$first.json" \
		--runc-binary "$W/procbox-runc" "pause-$mode-$first" >"$W/run.err" 2>&1; then
		tap_fail "$mode pod: the first container starts" "$(cat "$W/run.err")"
		return
	fi
	pid=$(ctr_ t ls | awk -v c="pause-$mode-$first" '$1 == c { print $2 }')
	JOIN=$pid spec "$W/member-$mode-$first.json" "member-$mode-$first" 536870912 "$u" "" "sleep 600" "$cgparent"
	if ! ctr_ run -d --fifo-dir "$W/fifo" --runc-root "$W/runc" --config "$W/member-$mode-$first.json" \
		--runc-binary "$W/procbox-runc" "member-$mode-$first" >"$W/run.err" 2>&1; then
		tap_fail "$mode pod: the second container joins the first's namespaces" "$(cat "$W/run.err")"
		return
	fi
	order=("pause-$mode-$first" "member-$mode-$first")
	[ "$first" = pause ] || order=("member-$mode-$first" "pause-$mode-$first")
	for c in "${order[@]}"; do
		ctr_ t exec --fifo-dir "$W/fifo" --exec-id "x$RANDOM" "$c" /bin/sh -c "$view" >"$W/$c.view" 2>&1
	done
	a=$(tr '\n' ' ' <"$W/pause-$mode-$first.view")
	b=$(tr '\n' ' ' <"$W/member-$mode-$first.view")
	tap_is "$mode pod, $first reads first: the 256 MiB container on CPU 0 sees its own size" "$a" "262144 1 "
	tap_is "$mode pod, $first reads first: the 512 MiB member with every CPU sees its own size" "$b" "524288 $ncpu "
	for c in "${order[@]}"; do
		ctr_ t kill -s KILL "$c" >/dev/null 2>&1
	done
	for c in "${order[@]}"; do
		for _ in $(seq 50); do
			ctr_ t rm "$c" >/dev/null 2>&1 && break
			sleep 0.1
		done
		ctr_ c rm "$c" >/dev/null 2>&1
	done
}
for mode in plain userns; do
	pod_checks "$mode" pause
	pod_checks "$mode" member
done

# The shim's calls reached runc unchanged, in the same order.
if [ -s "$W/shim-side.log" ]; then
	tap_diag "runc commands the shim used: $(awk '{ for (i = 1; i <= NF; i++) if ($i !~ /^-/ && $(i-1) !~ /^--(root|log|log-format|bundle|pid-file|console-socket)$/) { print $i; break } }' "$W/shim-side.log" | sort -u | tr '\n' ' ')"
fi
: >"$W/shim-side.log"
: >"$W/runc-side.log"
rm -f "$W/config.shim.json" "$W/config.runc.json"
# containerd passes PROCBOX_RUNC only from its own environment: a wrapper of ours
# named procbox-runc finds runc-side through PATH instead.
mkdir -p "$W/path"
ln -s "$W/runc-side" "$W/path/runc"
cat >"$W/shim-side-path" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$W/shim-side.log"
for a in "\$@"; do [ "\$prev" = --bundle ] && cp "\$a/config.json" "$W/config.shim.json"; prev=\$a; done
PATH=$W/path:\$PATH exec "$W/procbox-runc" "\$@"
EOF
chmod 755 "$W/shim-side-path"
run "pb-args" "$W/shim-side-path" 268435456 no "" "true" >/dev/null
if [ -s "$W/shim-side.log" ] && cmp -s "$W/shim-side.log" "$W/runc-side.log"; then
	tap_ok "every runc call of the shim reaches runc with its arguments unchanged ($(wc -l <"$W/shim-side.log") calls)"
else
	tap_fail "every runc call of the shim reaches runc with its arguments unchanged" \
		"$(diff "$W/shim-side.log" "$W/runc-side.log")"
fi
out=$(python3 - "$W/config.shim.json" "$W/config.runc.json" <<'EOF' 2>&1
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
diff = []
def walk(x, y, path):
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            walk(x.get(k), y.get(k), path + "." + k)
    elif x != y:
        diff.append(path)
walk(a, b, "")
bad = [d for d in diff if d not in (".hooks", ".linux.readonlyPaths")]
if ".hooks" not in diff:
    bad.append("no hook added")
if ".linux.readonlyPaths" in diff:
    ra, rb = a["linux"]["readonlyPaths"], b["linux"]["readonlyPaths"]
    if [p for p in ra if p != "/proc/sys"] != rb:
        bad.append("readonlyPaths %s -> %s" % (ra, rb))
print("; ".join(bad) or "ok")
EOF
)
tap_is "the wrapper changes only the hooks (and at most /proc/sys's read-only path) in config.json" \
	"$out" ok

if [ "$TAP_FAILED" -gt 0 ]; then
	tap_diag "containerd's log:" "$(tail -n 20 "$W/containerd.log")" "procbox's log:" "$(tail -n 20 "$W/procbox.log")"
fi
tap_end
