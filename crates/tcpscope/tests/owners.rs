//! Process attribution (`ls -p`) against real processes: sockets held by a child are attributed
//! to its pid and fd, a socket shared after fork lists both processes, TIME_WAIT is
//! kernel-owned, owners agree with `ss -tanp`, an unprivileged run says what it cannot see, and
//! sockets inside a test-made network namespace are found with `--netns` and `--all-netns`.
//! Every test looks only at its own sockets (ports chosen by the kernel).

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Run a Python program that prints one JSON line when its sockets are ready, then holds them
/// until its stdin closes (so dropping the guard ends it and any child it forked).
fn spawn_python(prefix: &[&str], program: &str) -> (ChildGuard, Value) {
    let mut cmd = Command::new(prefix.first().copied().unwrap_or("python3"));
    cmd.args(prefix.iter().skip(1));
    if !prefix.is_empty() {
        cmd.arg("python3");
    }
    let mut child = cmd
        .args(["-c", program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting python3");
    let stdout = child.stdout.take().expect("child stdout");
    let guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reading the child's ready line");
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("child printed {line:?} instead of JSON: {e}"));
    (guard, ready)
}

/// A listener, a connection to it and the accepted end: prints ports and fds.
const PAIR: &str = r#"
import socket, sys, json, os
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
print(json.dumps({"port": l.getsockname()[1], "cport": c.getsockname()[1],
                  "lfd": l.fileno(), "cfd": c.fileno(), "afd": a.fileno(), "pid": os.getpid()}), flush=True)
sys.stdin.read()
"#;

fn port(ready: &Value, key: &str) -> u64 {
    ready[key].as_u64().expect("a port in the ready line")
}

/// Sockets of `doc` whose local or peer endpoint is 127.0.0.1:`port` (other address:port pairs
/// may reuse the number, e.g. TIME-WAIT sockets of other tests or benchmarks).
fn ours(doc: &Value, port: u64) -> Vec<Value> {
    let me = format!("127.0.0.1:{port}");
    sockets(doc)
        .iter()
        .filter(|s| endpoint(&s["local"]) == me || endpoint(&s["peer"]) == me)
        .cloned()
        .collect()
}

fn owners_of(s: &Value) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = s["owners"]
        .as_array()
        .expect("owners array")
        .iter()
        .map(|o| (o["pid"].as_u64().unwrap(), o["fd"].as_u64().unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn child_sockets_are_attributed_to_its_pid_and_fd() {
    let (child, ready) = spawn_python(&[], PAIR);
    let pid = u64::from(child.pid());
    let p = port(&ready, "port");
    let cport = port(&ready, "cport");
    for args in [
        vec!["ls", "-p", "--json"],
        vec!["ls", "-p", "--json", "state", "listening", "established"],
        vec!["ls", "-p", "--json", "state", "established"],
    ] {
        let doc = run_json(&args);
        let socks = ours(&doc, p);
        let find = |state: &str, local: u64| {
            socks
                .iter()
                .find(|s| s["state"] == state && s["local"]["port"].as_u64() == Some(local))
                .unwrap_or_else(|| panic!("no {state} socket on port {local} in {args:?}"))
        };
        let est_server = find("established", p);
        assert_eq!(
            owners_of(est_server),
            vec![(pid, ready["afd"].as_u64().unwrap())]
        );
        let est_client = find("established", cport);
        assert_eq!(
            owners_of(est_client),
            vec![(pid, ready["cfd"].as_u64().unwrap())]
        );
        let o = &est_client["owners"][0];
        assert_eq!(o["comm"], "python3");
        assert!(o["cmdline"].as_str().unwrap().contains("python3"), "{o}");
        assert_eq!(
            o["user"],
            if rustix::process::geteuid().is_root() {
                "root"
            } else {
                o["user"].as_str().unwrap()
            }
        );
        assert!(
            o.get("container").is_some(),
            "container key present (null): {o}"
        );
        if args.len() == 3 || args.contains(&"listening") {
            let listener = find("listen", p);
            assert_eq!(
                owners_of(listener),
                vec![(pid, ready["lfd"].as_u64().unwrap())]
            );
        }
    }
    // The table names the process and fd.
    let out = run_ok(&["ls", "-p", "state", "established"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let want = format!("python3[{pid}]/fd{}", ready["cfd"]);
    assert!(text.contains(&want), "{want} not in:\n{text}");
}

#[test]
fn a_socket_shared_after_fork_lists_both_processes() {
    let program = r#"
import socket, sys, os, json
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
pid = os.fork()
if pid == 0:
    sys.stdin.read(); os._exit(0)
print(json.dumps({"port": l.getsockname()[1], "fd": l.fileno(), "child": pid}), flush=True)
sys.stdin.read()
os.waitpid(pid, 0)
"#;
    let (parent, ready) = spawn_python(&[], program);
    let p = port(&ready, "port");
    let fd = ready["fd"].as_u64().unwrap();
    let want = {
        let mut v = vec![
            (u64::from(parent.pid()), fd),
            (ready["child"].as_u64().unwrap(), fd),
        ];
        v.sort();
        v
    };
    for args in [vec!["ls", "-p", "--json"], vec!["ls", "-lp", "--json"]] {
        let doc = run_json(&args);
        let socks = ours(&doc, p);
        assert_eq!(socks.len(), 1, "{socks:?}");
        assert_eq!(owners_of(&socks[0]), want, "{args:?}");
    }
}

#[test]
fn time_wait_is_kernel_owned() {
    let program = r#"
import socket, sys, json
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
cport = c.getsockname()[1]
c.close(); a.recv(1); a.close()
print(json.dumps({"port": l.getsockname()[1], "cport": cport}), flush=True)
sys.stdin.read()
"#;
    let row_of = |cport: u64| format!("127.0.0.1:{cport}");
    let alive = |(_, cport): &(ChildGuard, u64)| {
        ss_rows(&[])
            .iter()
            .any(|r| r.0 == "TIME-WAIT" && r.1 == row_of(*cport))
    };
    let make = || {
        let (child, ready) = spawn_python(&[], program);
        let made = (child, port(&ready, "cport"));
        // The client enters TIME-WAIT when the server's FIN is processed, which a loaded host
        // may do a little later: wait for it.
        wait_for("the client's TIME-WAIT", || alive(&made));
        made
    };
    // TIME-WAIT expires after 60 s: should the test outlive it on a slow host, again.
    retry_if_expired("time_wait_is_kernel_owned", make, alive, |(_, cport)| {
        let doc = run_json(&["ls", "-p", "--json", "state", "time-wait"]);
        let tw = ours(&doc, *cport);
        assert_eq!(tw.len(), 1, "{tw:?}");
        assert_eq!(tw[0]["inode"], 0);
        assert!(owners_of(&tw[0]).is_empty());
        let out = run_ok(&["ls", "-p", "state", "time-wait"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let row = text
            .lines()
            .find(|l| l.contains(&format!("127.0.0.1:{cport} ")))
            .unwrap_or_else(|| panic!("no TIME-WAIT row for port {cport}:\n{text}"));
        assert!(row.ends_with("kernel-owned (time-wait)"), "{row}");
    });
}

/// `users:(("python3",pid=1,fd=3),...)` -> sorted (pid, fd) pairs.
fn ss_users(field: &str) -> Vec<(u64, u64)> {
    let mut v = Vec::new();
    for part in field.split("pid=").skip(1) {
        let pid: u64 = part.split(',').next().unwrap().parse().unwrap();
        let fd: u64 = part
            .split("fd=")
            .nth(1)
            .unwrap()
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        v.push((pid, fd));
    }
    v.sort();
    v
}

/// (local, peer, sorted (pid, fd) owners) of one socket.
type Row = (String, String, Vec<(u64, u64)>);

#[test]
fn owners_agree_with_ss() {
    let (_child, ready) = spawn_python(&[], PAIR);
    let p = port(&ready, "port");
    let out = Command::new("ss")
        .args(["-Htanp"])
        .output()
        .expect("running ss");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut from_ss: Vec<Row> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local = f.get(3)?.to_string();
            let peer = f.get(4)?.to_string();
            let me = format!("127.0.0.1:{p}");
            let mine = local == me || peer == me;
            mine.then(|| (local, peer, f.get(5).map_or(Vec::new(), |u| ss_users(u))))
        })
        .collect();
    from_ss.sort();
    let doc = run_json(&["ls", "-p", "--json"]);
    let mut from_us: Vec<Row> = ours(&doc, p)
        .iter()
        .map(|s| {
            let peer = endpoint(&s["peer"]);
            let peer = if peer == "0.0.0.0:0" {
                "0.0.0.0:*".to_string()
            } else {
                peer
            };
            (endpoint(&s["local"]), peer, owners_of(s))
        })
        .collect();
    from_us.sort();
    assert_eq!(from_us.len(), 3, "{from_us:?}");
    assert_eq!(from_us, from_ss);
}

#[test]
fn unprivileged_run_attributes_what_it_may_and_says_what_is_hidden() {
    if !root_or_skip("unprivileged_run_attributes_what_it_may_and_says_what_is_hidden") {
        return;
    }
    let (_child, ready) = spawn_python(&[], PAIR);
    let p = port(&ready, "port");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_tcpscope"))
        .args(["ls", "-p", "--json", "state", "listening"])
        .output()
        .expect("running setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed: {stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(stderr.contains("CAP_SYS_PTRACE"), "{stderr}");
    assert_eq!(
        stderr.matches("CAP_SYS_PTRACE").count(),
        1,
        "said once: {stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let socks = ours(&doc, p);
    assert_eq!(socks.len(), 1);
    assert!(
        owners_of(&socks[0]).is_empty(),
        "root's socket is hidden from nobody"
    );
    assert!(
        doc["notes"].to_string().contains("CAP_SYS_PTRACE"),
        "the note is recorded too"
    );

    // Every state: the streaming path says the same, in the header and on stderr.
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_tcpscope"))
        .args(["ls", "-p", "--json"])
        .output()
        .expect("running setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed: {stderr}");
    assert_eq!(
        stderr.matches("CAP_SYS_PTRACE").count(),
        1,
        "said once: {stderr}"
    );
    assert!(stderr.contains("show no owner"), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(doc["notes"].to_string().contains("CAP_SYS_PTRACE"));
    assert!(ours(&doc, p).iter().all(|s| owners_of(s).is_empty()));
}

#[test]
fn sockets_in_a_namespace_are_listed_and_attributed() {
    if !root_or_skip("sockets_in_a_namespace_are_listed_and_attributed") {
        return;
    }
    let ns = NetnsGuard::new("own");
    let (child, ready) = spawn_python(&["ip", "netns", "exec", &ns.name], PAIR);
    let p = port(&ready, "port");
    let pid = ready["pid"].as_u64().unwrap();
    assert_eq!(
        pid,
        u64::from(child.pid()),
        "ip netns exec runs python in place"
    );

    // Not visible from our own namespace.
    let doc = run_json(&["ls", "--json", "state", "listening"]);
    assert!(ours(&doc, p).iter().all(
        |s| s["netns"].is_null() && owners_of(s) != vec![(pid, ready["lfd"].as_u64().unwrap())]
    ));

    for args in [
        vec!["ls", "-p", "--json", "--netns", ns.name.as_str()],
        vec!["ls", "-p", "--json", "--netns", &format!("pid:{pid}")],
        vec!["ls", "-p", "--json", "--all-netns"],
        vec!["ls", "-p", "--json", "--all-netns", "state", "established"],
    ] {
        let doc = run_json(&args);
        let socks: Vec<Value> = ours(&doc, p)
            .into_iter()
            .filter(|s| {
                s["netns"]["name"] == ns.name.as_str() || s["netns"]["pid"].as_u64() == Some(pid)
            })
            .collect();
        let want = if args.contains(&"established") { 2 } else { 3 };
        assert_eq!(socks.len(), want, "{args:?}: {socks:?}");
        for s in &socks {
            let owners = owners_of(s);
            assert_eq!(owners.len(), 1, "{s}");
            assert_eq!(owners[0].0, pid, "{s}");
            assert!(s["netns"]["inode"].as_u64().unwrap() > 0);
        }
    }
    // The table has a Netns column naming the namespace.
    let out = run_ok(&["ls", "-p", "--all-netns", "state", "listening"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Netns"), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains(&format!("127.0.0.1:{p} ")))
        .unwrap_or_else(|| panic!("no row for port {p}:\n{text}"));
    assert!(row.starts_with(&ns.name), "{row}");
    assert!(row.contains(&format!("python3[{pid}]")), "{row}");
}

#[test]
fn an_unnamed_namespace_is_found_through_its_processes() {
    if !root_or_skip("an_unnamed_namespace_is_found_through_its_processes") {
        return;
    }
    // `unshare --net` gives python a namespace of its own that no name points to, like a
    // container's; its loopback is down, so bring it up first.
    let program = format!(
        "import subprocess; subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)\n{PAIR}"
    );
    let (child, ready) = spawn_python(&["unshare", "--net"], &program);
    let pid = ready["pid"].as_u64().unwrap();
    assert_eq!(pid, u64::from(child.pid()), "unshare execs python in place");
    let p = port(&ready, "port");
    let doc = run_json(&["ls", "-p", "--json", "--all-netns", "state", "listening"]);
    let socks: Vec<Value> = ours(&doc, p)
        .into_iter()
        .filter(|s| s["netns"]["pid"].as_u64() == Some(pid))
        .collect();
    assert_eq!(socks.len(), 1, "{:?}", ours(&doc, p));
    assert!(socks[0]["netns"]["name"].is_null());
    assert_eq!(
        owners_of(&socks[0]),
        vec![(pid, ready["lfd"].as_u64().unwrap())]
    );
    let out = run_ok(&["ls", "--all-netns", "state", "listening"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(
            |l| l.starts_with(&format!("pid:{pid} ")) && l.contains(&format!("127.0.0.1:{p} "))
        ),
        "{text}"
    );
}

#[test]
fn netns_errors_say_what_to_do() {
    let out = bin()
        .args(["ls", "--netns", "no-such-namespace-here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ip netns list"), "{err}");
    let out = bin()
        .args(["ls", "--netns", "pid:notapid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out = bin()
        .args(["ls", "--netns", "x", "--all-netns"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn recorded_owners_replay_without_a_new_walk() {
    let (child, ready) = spawn_python(&[], PAIR);
    let p = port(&ready, "port");
    let dir = std::env::temp_dir().join(unique_name("tcpscope-owners"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("snap.json");
    run_ok(&[
        "ls",
        "-p",
        "-H",
        "--record",
        file.to_str().unwrap(),
        "state",
        "listening",
    ]);
    drop(child);
    let doc = run_json(&["ls", "-p", "--json", "--from", file.to_str().unwrap()]);
    let socks = ours(&doc, p);
    assert_eq!(socks.len(), 1);
    assert_eq!(
        owners_of(&socks[0]).len(),
        1,
        "owners come from the recording"
    );
    let out = bin()
        .args(["ls", "--all-netns", "--from", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A cgroup named like docker's (`docker-<64 hex>.scope`) in the unified hierarchy, removed on
/// drop (after the processes in it have ended).
struct CgroupGuard {
    parent: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl CgroupGuard {
    fn docker_like(id: &str) -> Option<CgroupGuard> {
        let root = std::path::Path::new("/sys/fs/cgroup/unified");
        let root = if root.join("cgroup.procs").exists() {
            root.to_path_buf()
        } else {
            let v2 = std::path::PathBuf::from("/sys/fs/cgroup");
            v2.join("cgroup.subtree_control").exists().then_some(v2)?
        };
        let parent = root.join(unique_name("tcpscope-test"));
        let dir = parent.join(format!("docker-{id}.scope"));
        std::fs::create_dir_all(&dir).ok()?;
        Some(CgroupGuard { parent, dir })
    }

    fn add(&self, pid: u32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .expect("moving into the cgroup");
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        // The processes in it end when their guards drop, a moment before this.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::fs::remove_dir(&self.dir).is_err()
            && self.dir.exists()
            && std::time::Instant::now() < until
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir(&self.parent);
    }
}

#[test]
fn the_container_comes_from_the_cgroup() {
    if !root_or_skip("the_container_comes_from_the_cgroup") {
        return;
    }
    let id = format!("{:016x}", std::process::id()).repeat(4);
    let Some(cgroup) = CgroupGuard::docker_like(&id) else {
        skip(
            "the_container_comes_from_the_cgroup",
            "no writable cgroup v2 hierarchy here",
        );
        return;
    };
    let (child, ready) = spawn_python(&[], PAIR);
    cgroup.add(child.pid());
    let p = port(&ready, "port");
    let doc = run_json(&["ls", "-p", "--json", "state", "listening"]);
    let socks = ours(&doc, p);
    assert_eq!(socks.len(), 1);
    let owner = &socks[0]["owners"][0];
    assert_eq!(owner["container"]["runtime"], "docker", "{owner}");
    assert_eq!(owner["container"]["id"], id.as_str(), "{owner}");
    assert_eq!(
        owner["unit"],
        format!("docker-{id}.scope").as_str(),
        "{owner}"
    );
    let out = run_ok(&["ls", "-p", "state", "listening"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let want = format!(
        "python3[{}]/fd{}@docker:{}",
        child.pid(),
        ready["lfd"],
        &id[..12]
    );
    assert!(text.contains(&want), "{want} not in:\n{text}");
    drop(child);
}

/// A process that renamed itself with terminal escape sequences and holds a CLOSE-WAIT socket.
const EVIL: &str = r#"
import ctypes, socket, sys, json
ctypes.CDLL(None).prctl(15, b"\x1b[31mevil\x07", 0, 0, 0)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
c.shutdown(socket.SHUT_WR)
print(json.dumps({"port": l.getsockname()[1]}), flush=True)
sys.stdin.read()
"#;

/// Control characters other than the line breaks of the output itself.
fn has_control(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes)
        .chars()
        .any(|c| c.is_control() && c != '\n')
}

/// Regression (issue 11, defect 6): a process name with terminal escape sequences was printed
/// raw by `ls -p`, doctor and replays. Text escapes it; JSON keeps the exact bytes.
#[test]
fn control_characters_in_process_names_are_escaped_in_text_and_exact_in_json() {
    let (_child, ready) = spawn_python(&[], EVIL);
    let p = port(&ready, "port");
    let filter = format!("sport = :{p} or dport = :{p}");
    let escaped = "\\x1b[31mevil\\x07";

    let out = run_ok(&["ls", "-p", &filter]);
    assert!(
        !has_control(&out.stdout),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(escaped));

    let doc = run_json(&["ls", "-p", "--json", &filter]);
    let held = ours(&doc, p)
        .into_iter()
        .find(|s| s["state"] == "close-wait")
        .expect("the CLOSE-WAIT socket");
    assert_eq!(
        held["owners"][0]["comm"], "\u{1b}[31mevil\u{7}",
        "exact in JSON"
    );

    // doctor (live, in this namespace only) and a replay of a recording.
    let dir = std::env::temp_dir().join(unique_name("tcpscope-evil"));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("evil.json");
    let mut args = vec!["doctor".to_string()];
    if rustix::process::geteuid().is_root() {
        args.extend(["--netns".into(), format!("pid:{}", std::process::id())]);
    }
    args.extend([
        "--record".into(),
        rec.to_str().unwrap().into(),
        filter.clone(),
    ]);
    let out = bin().args(&args).output().unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 2), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(escaped),
        "doctor names the process, escaped: {text}"
    );
    assert!(!has_control(&out.stdout), "{text:?}");
    for cmd in [
        vec!["doctor", "--from"],
        vec!["ls", "-p", "--from"],
        vec!["summary", "--from"],
    ] {
        let out = bin().args(&cmd).arg(&rec).output().unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 2),
            "{cmd:?}: {out:?}"
        );
        assert!(!has_control(&out.stdout), "{cmd:?}: {:?}", out.stdout);
        assert!(!has_control(&out.stderr), "{cmd:?}: {:?}", out.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A recording from another host may carry anything in any string: notes, host and namespace
/// names, units, devices. Replays print none of it raw.
#[test]
fn a_recording_from_elsewhere_cannot_drive_the_terminal() {
    let esc = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let socket = serde_json::json!({
        "state": "close-wait", "family": "inet",
        "local": {"addr": "10.0.0.1", "port": 80}, "peer": {"addr": "10.0.0.2", "port": 4000},
        "recv_q": 1, "send_q": 0, "timer": null, "uid": 0, "inode": 5, "cookie": 1,
        "ifindex": 3, "dev": esc, "tcp_info": null,
        "owners": [{"pid": 9, "comm": esc, "cmdline": esc, "user": esc, "fd": 4,
                    "container": {"runtime": esc, "id": esc}, "unit": esc}],
        "netns": {"inode": 7, "name": esc, "container": esc}
    });
    let doc = serde_json::json!({
        "format": "tcpscope-snapshot", "version": 1, "taken_at_unix_ms": 1_700_000_000_000u64,
        "host": {"hostname": esc, "kernel": esc}, "notes": [esc],
        "processes": {"9": {"pid": 9, "comm": esc, "state": "S", "ppid": 1}},
        "sockets": [socket]
    });
    let dir = std::env::temp_dir().join(unique_name("tcpscope-evil-rec"));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("rec.json");
    std::fs::write(&rec, doc.to_string()).unwrap();
    for cmd in [
        vec!["ls", "-p", "-e", "--from"],
        vec!["ls", "-i", "-m", "--from"],
        vec!["doctor", "--from"],
        vec!["summary", "--from"],
    ] {
        let out = bin().args(&cmd).arg(&rec).output().unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 2),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !has_control(&out.stdout),
            "{cmd:?}: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            !has_control(&out.stderr),
            "{cmd:?}: {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--netns PATH`: a namespace file names the namespace, whatever put it there — `ip netns`
/// (/run/netns/NAME), a process (/proc/PID/ns/net) or a container runtime's bind mount.
#[test]
fn netns_accepts_a_namespace_file() {
    if !root_or_skip("netns_accepts_a_namespace_file") {
        return;
    }
    let ns = NetnsGuard::new("path");
    let (child, ready) = spawn_python(&["ip", "netns", "exec", &ns.name], PAIR);
    let p = port(&ready, "port");
    // A runtime-style bind mount of the namespace somewhere else.
    let dir = std::env::temp_dir().join(unique_name("tcpscope-nsfile"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("netns");
    std::fs::write(&file, "").unwrap();
    let mounted = Command::new("mount")
        .args(["--bind", &format!("/run/netns/{}", ns.name)])
        .arg(&file)
        .status()
        .expect("mount --bind");
    assert!(mounted.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
            let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
        }
    }
    let _unmount = Unmount(file.clone());
    for (path, label) in [
        (format!("/run/netns/{}", ns.name), "name"),
        (format!("/proc/{}/ns/net", child.pid()), "pid"),
        (file.to_str().unwrap().to_string(), "path"),
    ] {
        let doc = run_json(&["ls", "-p", "--json", "--netns", &path, "state", "listening"]);
        let socks = ours(&doc, p);
        assert_eq!(socks.len(), 1, "{path}: {socks:?}");
        assert!(
            !socks[0]["netns"][label].is_null(),
            "{path}: {}",
            socks[0]["netns"]
        );
        assert_eq!(owners_of(&socks[0])[0].0, u64::from(child.pid()), "{path}");
    }
    // What is not a network namespace file says so.
    for (path, says) in [
        ("/proc/self/ns/mnt", "not a network namespace"),
        ("/etc/hostname", "not a namespace file"),
        ("/no/such/file", "no such file"),
    ] {
        let out = bin().args(["ls", "--netns", path]).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{path}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{path}: {err}");
    }
}

/// Regression (issue 11, defect 5): `--netns pid:1` as root said "run as root". The kernel
/// refuses a root tcpscope without CAP_SYS_PTRACE (or facing a process it may not ptrace):
/// say that.
#[test]
fn netns_pid_as_root_says_what_failed() {
    if !root_or_skip("netns_pid_as_root_says_what_failed") {
        return;
    }
    let (child, _) = spawn_python(&[], PAIR);
    let out = Command::new("setpriv")
        .args(["--bounding-set=-sys_ptrace"])
        .arg(env!("CARGO_BIN_EXE_tcpscope"))
        .args(["ls", "--netns", &format!("pid:{}", child.pid())])
        .output()
        .expect("setpriv");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("run as root"), "{err}");
    assert!(err.contains("although tcpscope runs as root"), "{err}");
    assert!(err.contains("CAP_SYS_PTRACE"), "{err}");
}
