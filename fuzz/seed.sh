#!/usr/bin/env bash
# Writes the seed corpora of every fuzz target into fuzz/corpus/TARGET/
# (gitignored) from the captured environments (tests/fixtures/envs,
# tests/fixtures/captured), this machine's podman/crun/runc packages and
# binaries when present, and the few hand-made seeds committed under
# fuzz/seeds/TARGET/. Generated at fuzz time rather than committed: the
# files are copies of fixtures that already live in the repository.
# Idempotent: a seed is named by the SHA-1 of its bytes, as libFuzzer does.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import glob, hashlib, json, os, shutil, struct, subprocess, sys

out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus"
envs = sorted(d for d in glob.glob("tests/fixtures/envs/*") if os.path.isfile(d + "/host.json"))
captured = sorted(glob.glob("tests/fixtures/captured/*"))
trees = envs + captured
seen = {}

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if not data or len(data) > 64 * 1024:
        return
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    seen.setdefault(target, set()).add(path)

def files(rel):
    for t in trees:
        for p in glob.glob(os.path.join(t, "root", rel.lstrip("/"))):
            if os.path.isfile(p):
                yield open(p, "rb").read()

for rel in ["/etc/subuid", "/etc/subgid"]:
    for b in files(rel): put("subid", b)
for b in files("/etc/passwd"): put("passwd", b)
for b in files("/proc/self/mountinfo"): put("mountinfo", b)
for b in files("/proc/self/status"): put("status", b)
for b in files("/proc/self/limits"): put("limits", b)
for rel in ["/proc/self/cgroup", "/sys/fs/cgroup/cgroup.controllers", "/sys/fs/cgroup/unified/cgroup.controllers"]:
    for b in files(rel): put("cgroup", b)
for rel in ["/proc/self/uid_map", "/proc/self/gid_map"]:
    for b in files(rel): put("idmap", b)
for rel in ["/etc/containers/**/*.conf", "/usr/share/containers/**/*.conf", "/home/**/*.conf", "/root/**/*.conf", "/tmp/**/*.conf"]:
    for t in trees:
        for p in glob.glob(os.path.join(t, "root", rel.lstrip("/")), recursive=True):
            if os.path.isfile(p): put("toml", open(p, "rb").read())
for p in glob.glob("/usr/share/containers/*.conf") + glob.glob("/etc/containers/*.conf"):
    put("toml", open(p, "rb").read())

# Version lines: what the captured environments' tools printed.
for e in envs:
    doc = json.load(open(e + "/host.json"))
    for argv, ans in (doc.get("commands") or {}).items():
        if "version" in argv and isinstance(ans, dict):
            put("version", ans.get("stdout", "") + ans.get("stderr", ""))

# Package databases and Go build information of this machine's tools.
for pkg in ["podman", "crun", "runc", "uidmap"]:
    r = subprocess.run(["dpkg-query", "-s", pkg], capture_output=True)
    if r.returncode == 0:
        put("dpkg", r.stdout)
    for suffix in [".list", ".md5sums"]:
        p = f"/var/lib/dpkg/info/{pkg}{suffix}"
        if os.path.isfile(p): put("dpkg", open(p, "rb").read())
for tool in ["/usr/bin/podman", "/usr/sbin/runc", "/usr/bin/runc"]:
    if not os.path.isfile(tool) or not shutil.which("objcopy"):
        continue
    tmp = os.path.join(out, ".section")
    os.makedirs(out, exist_ok=True)
    r = subprocess.run(["objcopy", "--dump-section", ".go.buildinfo=" + tmp, tool, "/dev/null"], capture_output=True)
    if r.returncode == 0 and os.path.exists(tmp):
        put("gobuild", open(tmp, "rb").read())
        os.remove(tmp)

# The tree target: each seed's own files, all of them, in one input
# (fuzz/src/tree.rs: byte 0 = mode << 4 | seed, chunks [index][u16 LE len][bytes]).
SEEDS = ["deb13-rootless-priv", "deb12-root-fuse-nnp", "deb13-openshift-gu-priv"]
extra = [l.strip() for l in open("fuzz/tree-files.txt") if l.startswith(("/", "$"))]
for si, name in enumerate(SEEDS):
    seed = "tests/fixtures/envs/" + name
    root = seed + "/root"
    listed = set()
    for dirpath, _, names in os.walk(root):
        for n in names:
            listed.add("/" + os.path.relpath(os.path.join(dirpath, n), root))
    home = json.load(open(seed + "/host.json")).get("env", {}).get("HOME")
    for l in extra:
        if l.startswith("$HOME"):
            if home and home.startswith("/"):
                listed.add(home.rstrip("/") + l[len("$HOME"):])
        else:
            listed.add(l)
    paths = sorted(listed, key=lambda s: s.encode())
    for mode in range(3):
        body = b""
        for i, p in enumerate(paths):
            f = root + p
            if os.path.isfile(f):
                data = open(f, "rb").read()[:0xffff]
                body += bytes([i % 256]) + struct.pack("<H", len(data)) + data
        put("tree", bytes([(mode << 4) | si]) + body)
        put("tree", bytes([(mode << 4) | si]))  # the seed as it is

for d in sorted(glob.glob("fuzz/seeds/*")):
    for p in sorted(glob.glob(d + "/*")):
        put(os.path.basename(d), open(p, "rb").read())

print("seeds: " + ", ".join(f"{t} {len(n)}" for t, n in sorted(seen.items())))
PY
