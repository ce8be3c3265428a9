#!/usr/bin/env bash
# timeout: 300
# deploy/kubernetes without a cluster, in TAP: procbox-node's install, a second install
# and uninstall against a node folder with containerd configs of each kind (the one
# `containerd config default` writes, a version 1 file, none at all, one edited after
# install), with containerd itself reading every result; the node label and the
# DaemonSet check against a stand-in API server on loopback; the manifests parsed by
# kubectl and checked for what the design needs.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
tap_reexec_reaped "$0" "$@"

node_tool=$top/deploy/kubernetes/procbox-node
handler='plugins."io.containerd.grpc.v1.cri".containerd.runtimes.procbox'

# containerd reads the configs; kubectl parses the manifests; curl talks to the API.
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v kubectl >/dev/null || need+=(kubernetes-client)
command -v curl >/dev/null || need+=(curl)
python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
	if [ -n "${PROCBOX_RIG_NO_INSTALL:-}" ] || [ "$(id -u)" -ne 0 ]; then
		tap_skip "deploy/kubernetes" "missing ${need[*]} and installing is not allowed"
		tap_end
		exit
	fi
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" \
		>/dev/null 2>&1 || {
		tap_fail "install ${need[*]}"
		tap_end
		exit 1
	}
fi

work=$(mktemp -d /tmp/procbox-k8s-XXXXXX)
api_pid=
cleanup()
{
	trap - EXIT
	if [ -n "$api_pid" ]; then
		kill "$api_pid" 2>/dev/null
		wait "$api_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# A stand-in procbox binary: the installer copies whatever it is given.
printf '#!/bin/sh\necho procbox\n' >"$work/procbox"
chmod 755 "$work/procbox"

# Runs procbox-node against node folder $1 with containerd's restarts counted in
# $1.restarts; the rest of the arguments are the command.
node()
{
	local root=$1
	shift
	HOST_ROOT=$root PROCBOX_BINARY=$work/procbox NODE_NAME= KUBE_API= \
		RESTART_CONTAINERD="echo restart >>'$root.restarts'" \
		"$node_tool" "$@" 2>>"$work/node.log"
}

restarts()
{
	[ -e "$1.restarts" ] && wc -l <"$1.restarts" || echo 0
}

# The runtime handler containerd itself reads from the config: its BinaryName.
handler_binary()
{
	containerd --config "$1" config dump 2>"$work/dump.err" | awk '
		index($0, "runtimes.procbox.options]") { on = 1; next }
		on && /^ *\[/ { on = 0 }
		on && /BinaryName/ { gsub(/[" ]/, ""); sub(/BinaryName=/, ""); print }'
}

# --- a node with containerd's default config ---
root=$work/node-default
mkdir -p "$root/etc/containerd"
containerd config default >"$root/etc/containerd/config.toml"
cp "$root/etc/containerd/config.toml" "$work/default.orig"

node "$root" install
tap_is "install adds the handler that containerd reads" \
	"$(handler_binary "$root/etc/containerd/config.toml")" "/usr/local/bin/procbox-runc"
tap_is "install restarts containerd once" "$(restarts "$root")" 1
tap_is "install puts procbox and the procbox-runc link on the node" \
	"$(cmp -s "$work/procbox" "$root/usr/local/bin/procbox" && readlink "$root/usr/local/bin/procbox-runc")" \
	procbox
cp "$root/etc/containerd/config.toml" "$work/default.installed"

node "$root" install
tap_check "a second install leaves the config as it was" \
	cmp "$work/default.installed" "$root/etc/containerd/config.toml"
tap_is "a second install does not restart containerd" "$(restarts "$root")" 1
tap_is "the handler is there once" \
	"$(grep -cF "[$handler]" "$root/etc/containerd/config.toml")" 1

node "$root" uninstall
tap_check "uninstall restores the config byte for byte" \
	cmp "$work/default.orig" "$root/etc/containerd/config.toml"
tap_is "uninstall restarts containerd once" "$(restarts "$root")" 2
tap_is "uninstall removes the files it installed and its state" \
	"$(find "$root" -mindepth 1 \( -path "$root/etc*" -o -name '*.restarts' \) -prune -o -print | sed "s|$root||" | sort | tr '\n' ' ')" \
	"/usr /usr/local /usr/local/bin /var /var/lib "
node "$root" uninstall
tap_is "a second uninstall changes nothing" "$(restarts "$root")" 2

# --- a node without a config file: containerd runs on its defaults ---
root=$work/node-none
mkdir -p "$root"
node "$root" install
tap_is "without a config, install writes one that containerd reads" \
	"$(handler_binary "$root/etc/containerd/config.toml")" "/usr/local/bin/procbox-runc"
node "$root" uninstall
tap_is "uninstall removes the config it created" \
	"$([ -e "$root/etc/containerd/config.toml" ] && echo present || echo absent)" absent

# --- a version 1 config ---
root=$work/node-v1
mkdir -p "$root/etc/containerd"
printf '[plugins.cri]\n  sandbox_image = "registry.local/pause:3.6"\n' >"$root/etc/containerd/config.toml"
cp "$root/etc/containerd/config.toml" "$work/v1.orig"
node "$root" install
tap_is "a version 1 config gets the handler in version 1's table" \
	"$(grep -cxF '[plugins.cri.containerd.runtimes.procbox]' "$root/etc/containerd/config.toml")" 1
tap_is "containerd reads the version 1 result" \
	"$(handler_binary "$root/etc/containerd/config.toml")" "/usr/local/bin/procbox-runc"
node "$root" uninstall
tap_check "uninstall restores the version 1 config" cmp "$work/v1.orig" "$root/etc/containerd/config.toml"

# --- edited after install: only our lines go ---
root=$work/node-edited
mkdir -p "$root/etc/containerd"
containerd config default >"$root/etc/containerd/config.toml"
node "$root" install
printf '\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.other]\n  runtime_type = "io.containerd.runc.v2"\n' \
	>>"$root/etc/containerd/config.toml"
node "$root" uninstall
{
	containerd config default
	printf '\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.other]\n  runtime_type = "io.containerd.runc.v2"\n'
} >"$work/edited.want"
tap_check "uninstall after an edit keeps the edit and drops only the handler" \
	cmp "$work/edited.want" "$root/etc/containerd/config.toml"

# --- someone else's procbox handler is left alone ---
root=$work/node-foreign
mkdir -p "$root/etc/containerd"
printf 'version = 2\n[%s]\n  runtime_type = "io.containerd.runc.v2"\n' "$handler" >"$root/etc/containerd/config.toml"
cp "$root/etc/containerd/config.toml" "$work/foreign.orig"
if node "$root" install; then
	tap_fail "install refuses a procbox handler it did not write"
else
	tap_check "install refuses a procbox handler it did not write, and leaves it" \
		cmp "$work/foreign.orig" "$root/etc/containerd/config.toml"
fi

# --- the node label and pre-stop, against a stand-in API server on loopback ---
cat >"$work/api.py" <<'EOF'
import http.server, json, sys
log = open(sys.argv[2], "a")
state = sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_PATCH(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        log.write("PATCH %s %s %s\n" % (self.path, self.headers["Content-Type"], body)); log.flush()
        self.send_response(200); self.end_headers(); self.wfile.write(b"{}")
    def do_GET(self):
        mode = open(state).read().strip()
        log.write("GET %s\n" % self.path); log.flush()
        if mode == "gone":
            self.send_response(404); self.end_headers(); self.wfile.write(b"{}"); return
        meta = {"name": "procbox"}
        if mode == "deleting":
            meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        self.send_response(200); self.end_headers()
        self.wfile.write(json.dumps({"metadata": meta}).encode())
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
echo present >"$work/api.state"
python3 "$work/api.py" "$work/api.port" "$work/api.log" "$work/api.state" &
api_pid=$!
for _ in $(seq 100); do
	[ -s "$work/api.port" ] && break
	sleep 0.05
done
api=http://127.0.0.1:$(cat "$work/api.port")

root=$work/node-api
mkdir -p "$root"
api_node()
{
	HOST_ROOT=$root PROCBOX_BINARY=$work/procbox NODE_NAME=node-1 KUBE_API=$api \
		DAEMONSET=procbox-system/procbox RESTART_CONTAINERD="echo restart >>'$root.restarts'" \
		"$node_tool" "$@" 2>>"$work/node.log"
}
api_node install
: >"$work/api.log"
api_node pre-stop
tap_is "pre-stop while the DaemonSet stays: one GET, nothing undone" \
	"$(cut -d' ' -f1 "$work/api.log" | tr '\n' ' ')$(restarts "$root")" "GET 1"
tap_is "the GET asks for the DaemonSet" "$(awk '{print $2}' "$work/api.log")" \
	/apis/apps/v1/namespaces/procbox-system/daemonsets/procbox
echo deleting >"$work/api.state"
: >"$work/api.log"
api_node pre-stop
tap_is "pre-stop while the DaemonSet is deleted: the label goes and the node is undone" \
	"$(grep PATCH "$work/api.log")|$(restarts "$root")|$([ -e "$root/usr/local/bin/procbox" ] && echo files || echo nofiles)" \
	'PATCH /api/v1/nodes/node-1 application/merge-patch+json {"metadata":{"labels":{"procbox/ready":null}}}|2|nofiles'
api_node install
echo gone >"$work/api.state"
api_node pre-stop
tap_is "pre-stop after the DaemonSet is gone uninstalls too" "$(restarts "$root")" 4

# --- the manifests ---
manifests=("$top"/deploy/kubernetes/*.yaml)
out=$(kubectl label --local -o name -f "$top/deploy/kubernetes" procbox-check=1 2>&1)
tap_is "kubectl parses every manifest (--local, no cluster)" "$(echo "$out" | sort | tr '\n' ' ')" \
	"clusterrole.rbac.authorization.k8s.io/procbox-node clusterrolebinding.rbac.authorization.k8s.io/procbox-node daemonset.apps/procbox namespace/procbox-system runtimeclass.node.k8s.io/procbox serviceaccount/procbox "
out=$(python3 - "${manifests[@]}" <<'EOF' 2>&1
import sys, yaml
docs = [d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]
by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
rc = by.get(("RuntimeClass", "procbox"))
need(rc and rc["handler"] == "procbox", "RuntimeClass procbox with handler procbox")
label = rc["scheduling"]["nodeSelector"] if rc else {}
ds = by.get(("DaemonSet", "procbox"))
spec = ds["spec"]["template"]["spec"]
need(ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items(),
     "the DaemonSet's selector matches its pods")
need(spec.get("hostPID") and spec.get("hostNetwork") and spec.get("hostIPC"), "host pid/net/ipc namespaces")
c = spec["containers"][0]
need(c["securityContext"].get("privileged") is True, "a privileged container")
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
mp = mounts.get("/var/lib/procbox", {})
need(mp.get("mountPropagation") == "Bidirectional", "the mountpoint shared with bidirectional propagation")
vols = {v["name"]: v for v in spec["volumes"]}
need(vols[mp["name"]]["hostPath"]["path"] == "/var/lib/procbox", "the mountpoint is the node's /var/lib/procbox")
probe = " ".join(c["livenessProbe"]["exec"]["command"])
need("/var/lib/procbox/proc/" in probe, "the liveness probe reads through the mount")
need(c["lifecycle"]["preStop"]["exec"]["command"][-1] == "pre-stop", "pre-stop undoes the node on deletion")
env = {e["name"]: e for e in c["env"]}
need(env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName", "NODE_NAME from the downward API")
ns, name = env["DAEMONSET"]["value"].split("/")
need((ns, name) == (ds["metadata"]["namespace"], ds["metadata"]["name"]), "DAEMONSET names this DaemonSet")
need(spec["serviceAccountName"] in [d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"],
     "the service account exists")
rules = by[("ClusterRole", "procbox-node")]["rules"]
need(any("nodes" in r["resources"] and "patch" in r["verbs"] for r in rules), "RBAC may label nodes")
need(any("daemonsets" in r["resources"] and "get" in r["verbs"] for r in rules), "RBAC may read the DaemonSet")
need(list(label.items()) == [("procbox/ready", "true")], "the RuntimeClass schedules on the ready label")
print("\n".join(bad) if bad else "ok")
EOF
)
tap_is "the manifests have what the design needs" "$out" ok
node_label=$(sed -n 's/^NODE_LABEL=\${NODE_LABEL:-\(.*\)}$/\1/p' "$node_tool")
tap_is "procbox-node sets the label the RuntimeClass selects" "$node_label" "procbox/ready=true"

# --- the image's binary: linked statically, as deploy/kubernetes/Dockerfile builds it,
# so that the copy procbox-node puts on a node runs there whatever libraries it has ---
if command -v meson >/dev/null && command -v ninja >/dev/null; then
	static=$work/build-static
	if meson setup "$static" "$top" -Dtests=disabled -Dbuildtype=release -Dwerror=true -Dlibsystemd=disabled -Dman=disabled \
		-Dprefer_static=true -Dc_link_args=-static >"$work/static.log" 2>&1 &&
		ninja -C "$static" procbox >>"$work/static.log" 2>&1; then
		out=$(ldd "$static/procbox" 2>&1)
		case $out in
		*"not a dynamic executable"* | *"statically linked"*) tap_ok "the image's procbox is linked statically" ;;
		*) tap_fail "the image's procbox is linked statically" "$out" ;;
		esac
		ln -s procbox "$static/procbox-runc"
		printf '#!/bin/sh\necho "runc $*"\n' >"$work/fake-runc"
		chmod 755 "$work/fake-runc"
		tap_is "the static binary runs, and as procbox-runc passes a command through" \
			"$("$static/procbox" --version | cut -d' ' -f1) $(PROCBOX_RUNC=$work/fake-runc "$static/procbox-runc" --root /r state x)" \
			"procbox runc --root /r state x"
	else
		tap_fail "the image's procbox builds statically" "$(tail -n 20 "$work/static.log")"
	fi
else
	tap_skip "the image's procbox is linked statically" "no meson/ninja"
fi

if [ "$TAP_FAILED" -gt 0 ]; then
	tap_diag "procbox-node's log:" "$(tail -n 40 "$work/node.log")"
fi
tap_end
