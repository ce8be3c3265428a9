# One reader in a container, for tests/lib/restart-load.sh:
#   restart-reader.py MOUNT MODE OUT STOPFILE
# MODE "cycle": open+read+close of ip_forward, meminfo and uptime, in a loop;
# MODE "pread": one fd of meminfo kept open, pread at 0 in a loop.
# Every failed call (an exception or a wrong answer) is counted; the longest call is the
# longest stall this reader saw. Writes "ops fails max_stall_ms errors..." to OUT.
import os
import sys
import time

mnt, mode, out, stop = sys.argv[1:5]
files = [mnt + "/proc/sys/net/ipv4/ip_forward", mnt + "/proc/meminfo", mnt + "/proc/uptime"]
ops = fails = 0
stall = 0.0
errors = {}
fd = os.open(mnt + "/proc/meminfo", os.O_RDONLY) if mode == "pread" else -1
check = 0
while True:
    check += 1
    if check % 16 == 0 and os.path.exists(stop):
        break
    t = time.monotonic()
    try:
        if mode == "cycle":
            for f in files:
                with open(f, "rb", buffering=0) as fh:
                    d = fh.read(65536)
                if not d:
                    raise OSError(0, "empty read of " + f)
        else:
            d = os.pread(fd, 4096, 0)
            if not d.startswith(b"MemTotal:"):
                raise OSError(0, "wrong content")
    except OSError as e:
        fails += 1
        k = "%s:%s" % (e.errno, e.strerror)
        errors[k] = errors.get(k, 0) + 1
        time.sleep(0.001)
    dt = time.monotonic() - t
    stall = max(stall, dt)
    ops += 1
    if ops == 1:
        open(out + ".ready", "w").close()
with open(out + ".tmp", "w") as f:
    f.write("%d %d %.1f %s\n" % (ops, fails, stall * 1000,
                                 ",".join("%s=%d" % kv for kv in errors.items()) or "-"))
os.rename(out + ".tmp", out)
