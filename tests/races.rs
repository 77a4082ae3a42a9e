//! Issue 9, faults during fixes, on the real system: two `env` runs at once
//! on one HOME, a target swapped or planted by another uid while the doctor
//! works, and `/etc/passwd` appended by another writer while the doctor
//! appends. Each scenario runs in a private mount namespace over a sandbox
//! (/etc behind an overlay, /root, /tmp, /var/tmp on tmpfs), as root and
//! as unprivileged uids, so nothing reaches the host.
//!
//! Needs root (mount namespaces, other uids). Not root is a failure, not a
//! skip: a silently skipped race test proves nothing. Figures (pairs run,
//! swaps won and lost) are printed; run with `--nocapture` to see them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "tests/races.rs needs root (private mount namespaces, files of other uids): run \
         `cargo test` as root, as tests/run.sh does in CI"
    );
    for tool in ["unshare", "python3"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(tool).exists());
        assert!(found, "tests/races.rs needs {tool} installed");
    }
}

/// The sandbox every scenario starts from, and `as UID GID CMD…`, which
/// drops to another uid without reading /etc/passwd (tests/faults/as_user.py).
const SANDBOX: &str = r#"set -u
mount --make-rprivate /
mount -t tmpfs tmpfs "$SB"
mkdir "$SB/u" "$SB/w"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$SB/u,workdir=$SB/w" /etc
for d in /root /tmp /var/tmp /var/lib/containers; do
  mkdir -p "$d" && mount -t tmpfs -o size=64m tmpfs "$d"
done
chmod 1777 /tmp /var/tmp
AS="python3 -S $HERE/tests/faults/as_user.py"
export PODRUN_DOCTOR_NO_FAIL=1
cd /
"#;

/// Runs `script` after [`SANDBOX`] in a new mount namespace; its files go
/// to the returned directory ($OUT), outside the namespace's tmpfs.
fn in_namespace(name: &str, script: &str, vars: &[(&str, String)]) -> Out {
    use std::os::unix::fs::PermissionsExt;
    let out = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    // The doctor runs as other uids too and writes its reports here.
    std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let sb = Path::new("/run").join(format!("podrun-races-{name}"));
    std::fs::create_dir_all(&sb).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "bash", "-c"])
        .arg(format!("{SANDBOX}\n{script}"))
        .env("SB", &sb)
        .env("OUT", out.path())
        .env("HERE", env!("CARGO_MANIFEST_DIR"))
        .env("BIN", env!("CARGO_BIN_EXE_podrun-doctor"))
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let done = cmd.output().unwrap();
    let _ = std::fs::remove_dir(&sb);
    if std::env::var_os("PODRUN_RACE_KEEP").is_some() {
        println!("{name}: outputs kept in {}", out.path().display());
        return Out {
            _removed_on_drop: None,
            path: out.keep(),
        };
    }
    assert!(
        done.status.success(),
        "{name}: the scenario script failed:\n{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    let path = out.path().to_path_buf();
    Out {
        _removed_on_drop: Some(out),
        path,
    }
}

/// A scenario's output directory, removed at the end unless kept.
struct Out {
    _removed_on_drop: Option<tempfile::TempDir>,
    path: std::path::PathBuf,
}

impl Out {
    fn path(&self) -> &Path {
        &self.path
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn report(dir: &Path, name: &str) -> Value {
    let text = read(dir, name);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
}

/// `(path, action)` of every change a report lists.
fn changes(doc: &Value) -> Vec<(String, String)> {
    doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Whether the run applied any job fix (it raced to write).
fn applied(doc: &Value) -> bool {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["fix"]["applied"].as_bool() == Some(true))
}

fn problems(doc: &Value) -> Vec<String> {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// How a job is run in [`PAIR_SCRIPT`]: as root with HOME /root, or as an
/// OpenShift job (arbitrary uid in group 0, HOME of its own, `/etc/passwd`,
/// `/etc/subuid`, `/etc/subgid` made g=u), which appends to system files.
const MODES: [(&str, &str); 2] = [
    ("root", "OWNER=0:0; RUN=''; H=/root"),
    (
        "openshift",
        "OWNER=1000680000:0; RUN=\"$AS 1000680000 0\"; H=/tmp/oshome; \
         chmod g=u /etc/passwd /etc/subuid /etc/subgid",
    ),
];

/// A snapshot of what the fixes write (owner, mode and contents of every
/// file or link), a reference run alone, then N pairs of `env` at once,
/// each followed by a third run; the state is reset between pairs.
const PAIR_SCRIPT: &str = r#"
cp -a /etc/passwd /etc/subuid /etc/subgid "$SB/"
snapshot() {
  find /etc/containers "$H" /tmp /etc/passwd /etc/subuid /etc/subgid -xdev \( -type f -o -type l \) 2>/dev/null |
    sort | while read -r f; do
      echo "== $f $(stat -c '%u:%g %a %F' "$f")"; cat "$f"; done
}
reset() {
  rm -rf /etc/containers/containers.conf.d/podrun-* /tmp/podrun-* "$H" 2>/dev/null
  mkdir -p "$H" && chown "$OWNER" "$H"
  for f in passwd subuid subgid; do cat "$SB/$f" >"/etc/$f"; done
}
doctor() { env HOME="$H" $RUN "$BIN" env --json "$OUT/$1.json" >"$OUT/$1.env" 2>"$OUT/$1.err"; echo $? >"$OUT/$1.rc"; }
reset
doctor ref; snapshot >"$OUT/ref.files"; reset
for i in $(seq "$N"); do
  doctor "$i.a" & doctor "$i.b" & wait
  snapshot >"$OUT/$i.files"
  doctor "$i.c"
  reset
done
"#;

/// Two `env` runs at once on one HOME, 50 pairs per mode: each pair leaves
/// exactly what one run alone leaves (every file whole, nothing appended
/// twice, no temp file), the pair lists each change once between them, no
/// run reports a problem a lone run does not, and a third run changes
/// nothing.
#[test]
fn two_env_runs_at_once_on_one_home_leave_what_one_run_leaves() {
    require_root();
    let pairs: usize = std::env::var("PODRUN_RACE_PAIRS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    for (mode, setup) in MODES {
        let script = format!("{setup}\n{PAIR_SCRIPT}");
        let out = in_namespace(
            &format!("pairs-{mode}"),
            &script,
            &[("N", pairs.to_string())],
        );
        let dir = out.path();
        let reference = report(dir, "ref.json");
        let mut want = changes(&reference);
        want.sort();
        assert!(
            !want.is_empty(),
            "{mode}: a lone run changed nothing, so the pairs prove nothing"
        );
        let want_problems = problems(&reference);
        let ref_files = read(dir, "ref.files");
        let (mut split, mut both) = (0, 0);
        for i in 1..=pairs {
            let (a, b) = (
                report(dir, &format!("{i}.a.json")),
                report(dir, &format!("{i}.b.json")),
            );
            for run in ["a", "b", "c"] {
                assert_eq!(
                    read(dir, &format!("{i}.{run}.rc")).trim(),
                    "0",
                    "{mode} pair {i} run {run}: {}",
                    read(dir, &format!("{i}.{run}.err"))
                );
            }
            assert_eq!(
                read(dir, &format!("{i}.files")),
                ref_files,
                "{mode} pair {i}: the files differ from a lone run's"
            );
            let mut got = changes(&a);
            got.extend(changes(&b));
            got.sort();
            assert_eq!(
                got, want,
                "{mode} pair {i}: changes listed (a and b together)"
            );
            if !changes(&a).is_empty() && !changes(&b).is_empty() {
                split += 1;
            }
            if applied(&a) && applied(&b) {
                both += 1;
            }
            for (run, doc) in [("a", &a), ("b", &b)] {
                for p in problems(doc) {
                    assert!(
                        want_problems.contains(&p),
                        "{mode} pair {i} run {run}: new problem: {p}"
                    );
                }
            }
            let third = report(dir, &format!("{i}.c.json"));
            assert_eq!(
                changes(&third),
                vec![],
                "{mode} pair {i}: the third run changed something"
            );
        }
        println!(
            "races: {mode}: {pairs} env pairs on one HOME, {} changes each; in {both} pairs both runs \
             applied the fixes at once, in {split} both wrote some; every pair as one run alone",
            want.len()
        );
    }
}

/// uid 1000 races root for the job directory in the sticky /tmp: in a
/// loop it plants `/tmp/podrun-0` as a symlink to a root directory, then
/// as a directory of its own, each for a random moment, while root runs
/// `env` with /etc/containers and HOME read-only (so the fixes go to the
/// job directory). Whoever wins, nothing is written, made or chmodded
/// through the link, no exported path leads through uid 1000's entry, a
/// lost fix is listed as a problem naming the path (or, taken before the
/// probes looked, the verdict is not ready), and once the racer is gone a
/// run settles what the race changed and the one after changes nothing.
const JOB_DIR_RACE: &str = r#"
mount --bind /etc/containers /etc/containers && mount -o remount,bind,ro /etc/containers
mount -o remount,ro /root
mkdir -m 0755 /var/tmp/victim
cat >"$SB/racer.py" <<'PY'
import os, random, time
p = "/tmp/podrun-0"
while not os.path.exists("/var/tmp/stop"):
    for make, undo in ((lambda: os.symlink("/var/tmp/victim", p), os.unlink),
                       (lambda: os.mkdir(p, 0o777), os.rmdir)):
        try:
            make()
            time.sleep(random.random() / 500)
            undo(p)
        except OSError:
            pass
        time.sleep(random.random() / 500)
PY
for i in $(seq "$N"); do
  rm -rf /tmp/podrun-0 /var/tmp/stop
  $AS 1000 1000 python3 -S "$SB/racer.py" & racer=$!
  sleep 0.0$((RANDOM % 5))
  "$BIN" env --json "$OUT/$i.json" >"$OUT/$i.env" 2>"$OUT/$i.err"; echo $? >"$OUT/$i.rc"
  touch /var/tmp/stop; wait $racer
  stat -c '%u %a %F' /tmp/podrun-0 >"$OUT/$i.dir" 2>/dev/null || echo absent >"$OUT/$i.dir"
  { stat -c '%u %a' /var/tmp/victim; ls -A /var/tmp/victim; } >"$OUT/$i.victim"
  "$BIN" env --json "$OUT/$i.again.json" >/dev/null 2>&1
  "$BIN" env --json "$OUT/$i.third.json" >/dev/null 2>&1
done
"#;

#[test]
fn a_job_dir_raced_by_another_uid_steers_nothing() {
    require_root();
    let rounds: usize = std::env::var("PODRUN_RACE_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let out = in_namespace("jobdir", JOB_DIR_RACE, &[("N", rounds.to_string())]);
    let dir = out.path();
    let (mut lost, mut refused, mut avoided) = (0, 0, 0);
    for i in 1..=rounds {
        let doc = report(dir, &format!("{i}.json"));
        let exports = read(dir, &format!("{i}.env"));
        let ctx = format!("round {i}: {}{}", exports, read(dir, &format!("{i}.err")));
        assert_eq!(read(dir, &format!("{i}.rc")).trim(), "0", "{ctx}");
        assert_eq!(read(dir, &format!("{i}.victim")), "0 755\n", "{ctx}");
        let ours = read(dir, &format!("{i}.dir")) == "0 700 directory\n";
        let through = changes(&doc)
            .iter()
            .any(|(p, _)| p.starts_with("/tmp/podrun-0/"));
        if through || exports.contains("=/tmp/podrun-0/") {
            // The doctor's fix landed: only ever in root's own 0700 directory.
            assert!(
                ours,
                "{ctx}: written under a /tmp/podrun-0 that is not root's"
            );
            lost += 1;
        } else if problems(&doc).iter().any(|p| {
            p.contains("/tmp/podrun-0")
                && (p.contains("symbolic link") || p.contains("belongs to uid 1000"))
        }) {
            refused += 1;
        } else {
            // Taken before the probes looked: no fix planned there, and the
            // verdict is not a false READY.
            let ready = doc["verdict"]["ready_after"].as_bool();
            assert_eq!(ready, Some(false), "{ctx}: the fix did not land, yet READY");
            avoided += 1;
        }
        let third = report(dir, &format!("{i}.third.json"));
        assert_eq!(
            changes(&third),
            vec![],
            "round {i}: a third run changed something"
        );
    }
    println!(
        "races: job dir: {rounds} rounds against a uid-1000 racer: the racer won {} \
         ({refused} refused by the fix engine and reported, {avoided} seen by the probes, \
         not ready), lost {lost} (root's own 0700 directory); nothing written, made or \
         chmodded through its entry, no path through it exported",
        refused + avoided
    );
}

/// The OpenShift case (`chmod g=u /etc/passwd`, the job an arbitrary uid
/// in group 0): another writer appends 300 accounts to /etc/passwd, one
/// `write(2)` each, while the doctor appends the job's own line. All the
/// other writer's lines are there once, the doctor's line at most once and
/// then listed as appended once (or, if it gave up, a problem says so and
/// the next run adds it), every line whole, and a later run changes
/// nothing.
const PASSWD_RACE: &str = r#"
chmod g=u /etc/passwd /etc/subuid /etc/subgid
cp -a /etc/passwd /etc/subuid /etc/subgid "$SB/"
mkdir -p /tmp/oshome
cat >"$SB/writer.py" <<'PY'
import os, sys, time
fd = os.open("/etc/passwd", os.O_WRONLY | os.O_APPEND)
for i in range(300):
    os.write(fd, b"other%d:x:%d:0::/nonexistent:/usr/sbin/nologin\n" % (i, 20000 + i))
    time.sleep(0.001)
PY
for i in $(seq "$N"); do
  for f in passwd subuid subgid; do cat "$SB/$f" >"/etc/$f"; done
  rm -rf /tmp/oshome/.config /tmp/podrun-*; chown 1000680000:0 /tmp/oshome
  $AS 1001 0 python3 -S "$SB/writer.py" & w=$!
  sleep 0.0$((RANDOM % 3))
  env HOME=/tmp/oshome $AS 1000680000 0 "$BIN" env --json "$OUT/$i.json" >"$OUT/$i.env" 2>"$OUT/$i.err"
  echo $? >"$OUT/$i.rc"
  wait $w
  cp /etc/passwd "$OUT/$i.passwd"
  env HOME=/tmp/oshome $AS 1000680000 0 "$BIN" env --json "$OUT/$i.again.json" >/dev/null 2>&1
  cp /etc/passwd "$OUT/$i.passwd.again"
  env HOME=/tmp/oshome $AS 1000680000 0 "$BIN" env --json "$OUT/$i.third.json" >/dev/null 2>&1
done
cp "$SB/passwd" "$OUT/passwd.orig"
"#;

#[test]
fn passwd_appended_by_another_writer_loses_nothing() {
    require_root();
    let rounds: usize = std::env::var("PODRUN_RACE_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(25);
    let out = in_namespace("passwd", PASSWD_RACE, &[("N", rounds.to_string())]);
    let dir = out.path();
    let orig = read(dir, "passwd.orig");
    let ours = |l: &&str| l.split(':').nth(2) == Some("1000680000");
    let (mut interleaved, mut gave_up) = (0, 0);
    for i in 1..=rounds {
        let doc = report(dir, &format!("{i}.json"));
        let ctx = format!("round {i}: {}", read(dir, &format!("{i}.err")));
        assert_eq!(read(dir, &format!("{i}.rc")).trim(), "0", "{ctx}");
        let passwd = read(dir, &format!("{i}.passwd"));
        assert!(
            passwd.starts_with(&orig),
            "{ctx}: the original lines changed"
        );
        assert!(passwd.ends_with('\n'), "{ctx}: a half-written last line");
        let added: Vec<&str> = passwd[orig.len()..].lines().collect();
        for line in &added {
            assert_eq!(line.split(':').count(), 7, "{ctx}: a broken line {line:?}");
        }
        for n in 0..300 {
            let want = format!("other{n}:x:{}:0::/nonexistent:/usr/sbin/nologin", 20000 + n);
            let count = added.iter().filter(|l| **l == want).count();
            assert_eq!(
                count, 1,
                "{ctx}: the other writer's line {want:?} is there {count} times"
            );
        }
        let mine: Vec<usize> = (0..added.len()).filter(|k| ours(&added[*k])).collect();
        let listed = changes(&doc)
            .iter()
            .filter(|(p, a)| p == "/etc/passwd" && a == "appended")
            .count();
        assert_eq!(
            mine.len(),
            listed,
            "{ctx}: the doctor's line {mine:?} vs listed {listed}"
        );
        if listed == 0 {
            let said = problems(&doc).iter().any(|p| p.contains("/etc/passwd"));
            assert!(
                said,
                "{ctx}: the passwd line was not added and no problem says so"
            );
            let again = read(dir, &format!("{i}.passwd.again"));
            assert_eq!(
                again.lines().filter(ours).count(),
                1,
                "{ctx}: the second run did not add it"
            );
            gave_up += 1;
        } else if mine[0] > 0 && mine[0] + 1 < added.len() {
            interleaved += 1;
        }
        let third = report(dir, &format!("{i}.third.json"));
        assert_eq!(
            changes(&third),
            vec![],
            "{ctx}: a third run changed something"
        );
    }
    println!(
        "races: passwd: {rounds} rounds with another writer appending 300 lines: the doctor's \
         line landed among them in {interleaved}, gave up (reported, added by the next run) in \
         {gave_up}; no line lost, broken or doubled"
    );
}

/// The OpenShift HOME shared through group 0 (`/opt/app-root/src`, 1001:0,
/// g+w, the job an arbitrary uid in group 0): uid 1001 plants
/// `$HOME/.config`, where the doctor's config fixes go, in a loop as a
/// symlink to a directory of the job's, then as a directory of its own,
/// each for a random moment. The doctor never writes through the link and
/// never into uid 1001's directory; what it lists as changed under HOME is
/// in a `.config` of its own; a later run changes nothing.
const SHARED_HOME_RACE: &str = r##"
cat >"$SB/racer.py" <<'PY'
import os, random, sys, time
t, lost, plants = "/tmp/oshome/.config", 0, 0
def pause():
    time.sleep(random.random() / 400)
while not os.path.exists("/tmp/stop"):
    try:
        os.symlink("/tmp/victim", t)
        plants += 1
        pause()
        if os.path.islink(t):
            os.unlink(t)
    except OSError:
        pass
    try:
        os.mkdir(t, 0o775)
        plants += 1
        pause()
        if os.listdir(t):
            lost += 1
            break
        os.rmdir(t)
    except OSError:
        pass
    pause()
print(plants, lost)
PY
for i in $(seq "$N"); do
  rm -rf /tmp/oshome /tmp/podrun-* /tmp/stop /tmp/victim
  mkdir -m 0775 /tmp/oshome && chown 1001:0 /tmp/oshome
  mkdir -m 0755 /tmp/victim && chown 1000680000:0 /tmp/victim
  $AS 1001 0 python3 -S "$SB/racer.py" >"$OUT/$i.racer" & racer=$!
  sleep 0.0$((RANDOM % 5))
  env HOME=/tmp/oshome $AS 1000680000 0 "$BIN" env --json "$OUT/$i.json" >"$OUT/$i.env" 2>"$OUT/$i.err"
  echo $? >"$OUT/$i.rc"
  touch /tmp/stop; wait $racer
  ls -A /tmp/victim >"$OUT/$i.victim"
  stat -c '%u %F' /tmp/oshome/.config >"$OUT/$i.config" 2>/dev/null || echo absent >"$OUT/$i.config"
  env HOME=/tmp/oshome $AS 1000680000 0 "$BIN" env --json "$OUT/$i.again.json" >/dev/null 2>&1
  env HOME=/tmp/oshome $AS 1000680000 0 "$BIN" env --json "$OUT/$i.third.json" >/dev/null 2>&1
done
"##;

#[test]
fn a_config_dir_raced_in_a_shared_home_steers_nothing() {
    require_root();
    let rounds: usize = std::env::var("PODRUN_RACE_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let out = in_namespace("shared", SHARED_HOME_RACE, &[("N", rounds.to_string())]);
    let dir = out.path();
    let (mut landed, mut refused, mut moved, mut plants) = (0, 0, 0, 0);
    for i in 1..=rounds {
        let doc = report(dir, &format!("{i}.json"));
        let ctx = format!("round {i}: {}", read(dir, &format!("{i}.err")));
        assert_eq!(read(dir, &format!("{i}.rc")).trim(), "0", "{ctx}");
        assert_eq!(
            read(dir, &format!("{i}.victim")),
            "",
            "{ctx}: written through the link"
        );
        let racer = read(dir, &format!("{i}.racer"));
        let (n, lost) = racer.trim().split_once(' ').unwrap();
        assert_eq!(
            lost, "0",
            "{ctx}: the doctor wrote into uid 1001's directory"
        );
        plants += n.parse::<usize>().unwrap();
        let under_home = changes(&doc)
            .iter()
            .any(|(p, _)| p.starts_with("/tmp/oshome/"));
        if under_home {
            let config = read(dir, &format!("{i}.config"));
            assert_eq!(
                config, "1000680000 directory\n",
                "{ctx}: written under {config:?}"
            );
            landed += 1;
        } else if problems(&doc)
            .iter()
            .any(|p| p.contains("/tmp/oshome/.config"))
        {
            refused += 1;
        } else {
            // The probes saw uid 1001's entry and moved HOME, as podman
            // refuses a config directory of another uid.
            moved += 1;
        }
        let third = report(dir, &format!("{i}.third.json"));
        assert_eq!(
            changes(&third),
            vec![],
            "{ctx}: a third run changed something"
        );
    }
    println!(
        "races: shared HOME: {rounds} rounds, uid 1001 planted $HOME/.config {plants} times: \
         the doctor's fixes landed in a .config of its own in {landed}, were refused and \
         reported in {refused}, went to a HOME of the job's own in {moved}; never through the \
         link, never into uid 1001's directory"
    );
}
