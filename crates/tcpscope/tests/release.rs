//! `tcpscope release` end to end on real sockets: a lab's CLOSE-WAIT pile listed by a dry run that
//! changes nothing, then released with the lab alive and its peers in TIME-WAIT; a stopped server
//! released by FIN and by RST while it stays stopped; a socket two processes share; TIME-WAIT
//! with --rst; sockets in another namespace; a dead peer leaving LAST-ACK until --rst; sockets
//! that close or change between the dry run and --yes; SIGPIPE warnings that come true; refusals
//! (no filter, no root, listeners); `ls -K`; doctor's release step run as it is printed.
//!
//! The host is shared with other tests: every filter names this test's own address and port.
//! `--wait 30s` lets a slow host take its time: release stops waiting once the sockets are gone.

mod common;

use common::lab::Lab;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStdin, ChildStdout, Command, Output, Stdio};

/// Run `tcpscope release ARGS --json`; the report and the exit status.
fn release(args: &[&str]) -> (Value, i32) {
    release_as(None, args)
}

/// `release` as another user (`setpriv --reuid UID`) when `uid` is given.
fn release_as(uid: Option<u32>, args: &[&str]) -> (Value, i32) {
    let mut json = vec!["--json"];
    json.extend_from_slice(args);
    let out = release_cmd(uid, &json)
        .output()
        .expect("running tcpscope release");
    let code = out.status.code().expect("release exited normally");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "release {args:?} printed invalid JSON ({e}); exit {code}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, code)
}

fn release_cmd(uid: Option<u32>, args: &[&str]) -> Command {
    let mut c = match uid {
        Some(uid) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={uid}"),
                &format!("--regid={uid}"),
                "--clear-groups",
            ])
            .arg(env!("CARGO_BIN_EXE_tcpscope"));
            c
        }
        None => bin(),
    };
    c.arg("release").args(args);
    c
}

/// The text report.
fn release_text(args: &[&str]) -> (String, i32) {
    let out: Output = release_cmd(None, args)
        .output()
        .expect("running tcpscope release");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (text, out.status.code().expect("exited normally"))
}

fn items(report: &Value) -> &Vec<Value> {
    report["sockets"].as_array().expect("a sockets array")
}

fn results(report: &Value) -> Vec<String> {
    items(report)
        .iter()
        .map(|i| {
            i["outcome"]["result"]
                .as_str()
                .unwrap_or("none")
                .to_string()
        })
        .collect()
}

/// lab's first listener as ADDR:PORT.
fn listener(lab: &Lab) -> String {
    let l = &lab.doc["listeners"][0];
    format!(
        "{}:{}",
        l["addr"].as_str().unwrap(),
        l["port"].as_u64().unwrap()
    )
}

/// How many sockets ss lists in `state` with one end at `endpoint` (ADDR:PORT), in `netns` if
/// given. (With a state filter ss leaves out its State column, so rows are counted, not parsed.)
fn ss_count(netns: Option<&str>, state: &str, endpoint: &str) -> usize {
    let filter = format!("( src {endpoint} or dst {endpoint} )");
    let out = command_in(netns, "ss")
        .args(["-Htan", "state", state, &filter])
        .output()
        .expect("running ss");
    assert!(out.status.success(), "ss failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// The state letter of a live process, `None` when it is gone (or a zombie).
fn process_state(pid: u64) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat[stat.rfind(')')? + 2..].chars().next()?;
    (state != 'Z' && state != 'X').then_some(state)
}

#[test]
fn close_wait_pile_dry_run_changes_nothing_then_yes_releases_it() {
    if !root_or_skip("close_wait_pile_dry_run_changes_nothing_then_yes_releases_it") {
        return;
    }
    let lab = Lab::start(&["close-wait", "--count", "5"]);
    let server = listener(&lab);
    let worker = u64::from(lab.pids()[0]);
    let filter = format!("state close-wait src {server}");

    let (dry, code) = release(&[&filter]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(dry["dry_run"], true);
    let listed = items(&dry);
    assert_eq!(listed.len(), 5, "{dry:#}");
    for i in listed {
        assert_eq!(i["method"], "fin", "{i:#}");
        assert_eq!(i["via"]["pid"], worker);
        assert_eq!(i["owners"][0]["sigpipe"], "ignored", "lab ignores SIGPIPE");
        assert_eq!(i["owners"][0]["danger"], false);
        assert_eq!(i["peer"]["state"], "fin-wait-2", "the peer is on this host");
        assert!(i["age"]["ms"].is_u64());
        assert!(i["outcome"].is_null());
    }
    assert_eq!(
        ss_count(None, "close-wait", &server),
        5,
        "a dry run changes nothing"
    );
    let (text, code) = release_text(&[&filter]);
    assert_eq!(code, 0);
    assert!(
        text.contains("dry run — 5 sockets would be ended"),
        "{text}"
    );
    assert!(
        text.contains(&format!("to end them: tcpscope release --yes '{filter}'")),
        "{text}"
    );

    let (done, code) = release(&["--yes", "--wait", "30s", &filter]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(results(&done), vec!["released"; 5], "{done:#}");
    assert_eq!(ss_count(None, "close-wait", &server), 0);
    assert!(
        process_state(worker).is_some(),
        "the lab's process lives on"
    );
    for i in items(&done) {
        let peer = &i["peer_after"];
        assert!(peer.is_null() || peer["state"] == "time-wait", "{i:#}");
    }
    assert_eq!(ss_count(None, "fin-wait-2", &server), 0, "peers moved on");
    lab.stop();
}

#[test]
fn a_stopped_server_is_released_by_fin_and_by_rst_and_stays_stopped() {
    if !root_or_skip("a_stopped_server_is_released_by_fin_and_by_rst_and_stays_stopped") {
        return;
    }
    let lab = Lab::start(&["stopped-server", "--count", "2"]);
    let server = listener(&lab);
    let children: Vec<u64> = lab.doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pid"].as_u64().unwrap())
        .collect();
    for (method, child) in [("--fin", children[0]), ("--rst", children[1])] {
        let filter = format!("state close-wait src {server} pid = {child}");
        let (dry, _) = release(&[method, &filter]);
        let owner = &items(&dry)[0]["owners"][0];
        assert_eq!(owner["stopped"], true, "{dry:#}");
        let (done, code) = release(&["--yes", "--wait", "30s", method, &filter]);
        assert_eq!(code, 0, "{done:#}");
        assert_eq!(results(&done), vec!["released"], "{done:#}");
        assert_eq!(
            process_state(child),
            Some('T'),
            "still stopped, still alive"
        );
    }
    assert_eq!(ss_count(None, "close-wait", &server), 0);
    lab.stop();
}

/// A program holding CLOSE-WAIT sockets (`n` of them), taking commands on stdin: `close I`,
/// `reuse I` (keep the socket through a dup, put another socket on its descriptor number),
/// `write I`. argv: SIGPIPE disposition (`ignore` or `default`), n, and `fork` to share them
/// with a child.
const HOLDER: &str = r#"
import socket, sys, json, os, signal
mode, n = sys.argv[1], int(sys.argv[2])
if mode == "default":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(16)
clients, accepted = [], []
for i in range(n):
    c = socket.create_connection(l.getsockname()); a, _ = l.accept()
    c.shutdown(socket.SHUT_WR)
    clients.append(c); accepted.append(a)
child = 0
if len(sys.argv) > 3 and sys.argv[3] == "fork":
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(w); os.read(r, 1); os._exit(0)
    os.close(r)
print(json.dumps({"port": l.getsockname()[1], "pid": os.getpid(), "child": child,
                  "fds": [a.fileno() for a in accepted]}), flush=True)
keep = []
for line in sys.stdin:
    cmd, i = line.split(); i = int(i)
    if cmd == "close":
        accepted[i].close(); print("closed", flush=True)
    elif cmd == "reuse":
        keep.append(os.dup(accepted[i].fileno())); s = socket.socket(); keep.append(s)
        os.dup2(s.fileno(), accepted[i].fileno()); print("reused", flush=True)
    elif cmd == "write":
        try:
            accepted[i].send(b"x"); print("sent", flush=True)
        except BrokenPipeError:
            print("EPIPE", flush=True)
        except OSError as e:
            print("ERR", e.errno, flush=True)
"#;

struct Holder {
    child: ChildGuard,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    ready: Value,
}

impl Holder {
    fn start(args: &[&str]) -> Holder {
        Holder::start_as(None, args)
    }

    /// Start it as user `uid` (through setpriv) when given.
    fn start_as(uid: Option<u32>, args: &[&str]) -> Holder {
        let mut cmd = match uid {
            Some(uid) => {
                let mut c = Command::new("setpriv");
                c.args([
                    &format!("--reuid={uid}"),
                    &format!("--regid={uid}"),
                    "--clear-groups",
                ])
                .arg("python3")
                // The system's python: a per-user one (pyenv under /root) is not the user's.
                .env("PATH", "/usr/local/bin:/usr/bin:/bin");
                c
            }
            None => Command::new("python3"),
        };
        let mut child = cmd
            .args(["-c", HOLDER])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting python3");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let child = ChildGuard(child);
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the ready line");
        let ready = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        Holder {
            child,
            stdin,
            stdout,
            ready,
        }
    }

    /// Send a command; its answer line ("" when the program died).
    fn cmd(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").expect("writing to the holder");
        let mut answer = String::new();
        let _ = self.stdout.read_line(&mut answer);
        answer.trim().to_string()
    }

    fn server(&self) -> String {
        format!("127.0.0.1:{}", self.ready["port"])
    }

    fn pid(&self) -> u64 {
        self.ready["pid"].as_u64().unwrap()
    }
}

#[test]
fn a_socket_shared_by_two_processes_lists_both_and_both_live_on() {
    if !root_or_skip("a_socket_shared_by_two_processes_lists_both_and_both_live_on") {
        return;
    }
    let h = Holder::start(&["ignore", "1", "fork"]);
    let child = h.ready["child"].as_u64().unwrap();
    let filter = format!("state close-wait src {}", h.server());
    let (dry, _) = release(&[&filter]);
    let listed = items(&dry);
    assert_eq!(listed.len(), 1, "{dry:#}");
    let mut pids: Vec<u64> = listed[0]["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["pid"].as_u64().unwrap())
        .collect();
    pids.sort_unstable();
    assert_eq!(pids, vec![h.pid(), child], "every holder is listed");
    let (done, code) = release(&["--yes", "--wait", "30s", &filter]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(results(&done), vec!["released"]);
    assert!(process_state(h.pid()).is_some() && process_state(child).is_some());
    assert_eq!(ss_count(None, "close-wait", &h.server()), 0);
}

#[test]
fn time_wait_goes_with_rst_and_a_fin_is_refused() {
    if !root_or_skip("time_wait_goes_with_rst_and_a_fin_is_refused") {
        return;
    }
    let lab = Lab::start(&["time-wait", "--count", "2"]);
    let filter = format!("state time-wait dst {}", listener(&lab));
    let (dry, _) = release(&[&filter]);
    assert_eq!(items(&dry).len(), 2, "{dry:#}");
    assert!(items(&dry).iter().all(|i| i["method"] == "rst"));
    let (refused, code) = release(&["--yes", "--wait", "30s", "--fin", &filter]);
    assert_eq!(code, 3, "nothing could be attempted: {refused:#}");
    assert_eq!(results(&refused), vec!["refused"; 2]);
    let (done, code) = release(&["--yes", "--wait", "30s", "--rst", &filter]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(results(&done), vec!["released"; 2]);
    assert_eq!(ss_count(None, "time-wait", &listener(&lab)), 0);
    lab.stop();
}

#[test]
fn sockets_in_another_namespace_are_released_there() {
    if !root_or_skip("sockets_in_another_namespace_are_released_there") {
        return;
    }
    let lab = Lab::start(&["close-wait", "--count", "2", "--own-netns"]);
    let ns = lab.netns().expect("lab's namespace");
    let server = listener(&lab);
    let filter = format!("state close-wait src {server}");
    // --all-netns sees them, labelled (other tests' namespaces may reuse the address: pid pins it).
    let pinned = format!("{filter} pid = {}", lab.pids()[0]);
    let (dry, _) = release(&["--all-netns", &pinned]);
    assert_eq!(items(&dry).len(), 2, "{dry:#}");
    assert!(items(&dry)
        .iter()
        .all(|i| i["socket"]["netns"]["name"] == ns.as_str()));
    let (done, code) = release(&["--yes", "--wait", "30s", "--netns", &ns, &filter]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(results(&done), vec!["released"; 2]);
    assert_eq!(ss_count(Some(&ns), "close-wait", &server), 0);
    assert_eq!(
        ss_count(Some(&ns), "time-wait", &server),
        2,
        "the peers closed cleanly"
    );
    lab.stop();
}

#[test]
fn a_fin_to_a_dead_peer_leaves_last_ack_until_rst() {
    if !root_or_skip("a_fin_to_a_dead_peer_leaves_last_ack_until_rst") {
        return;
    }
    // Every segment from the server to the client is lost: the server's FIN is never ACKed.
    let lab = Lab::start(&["fin-wait-1", "--lossy", "--count", "1"]);
    let ns = lab.netns().expect("lab's namespace");
    let filter = format!("state close-wait src {}", listener(&lab));
    let (done, code) = release(&["--yes", "--wait", "300ms", "--netns", &ns, &filter]);
    assert_eq!(code, 1, "it remains: {done:#}");
    let outcome = &items(&done)[0]["outcome"];
    assert_eq!(outcome["result"], "remains");
    assert_eq!(outcome["now"], "last-ack");
    let next = outcome["next"].as_str().unwrap();
    let cmd = next.split_once("tcpscope ").expect("a command").1;
    assert!(cmd.starts_with("release --rst --yes --netns"), "{next}");
    // Run the suggested command as printed (through a shell: it is quoted for one).
    let out = Command::new("sh")
        .args(["-c", &format!("\"$TCPSCOPE\" {cmd}")])
        .env("TCPSCOPE", env!("CARGO_BIN_EXE_tcpscope"))
        .output()
        .expect("running sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("1 of 1 socket released"), "{text}");
    assert_eq!(ss_count(Some(&ns), "last-ack", &listener(&lab)), 0);
    lab.stop();
}

#[test]
fn sockets_that_close_or_change_after_the_dry_run_are_not_touched() {
    if !root_or_skip("sockets_that_close_or_change_after_the_dry_run_are_not_touched") {
        return;
    }
    let mut h = Holder::start(&["ignore", "3"]);
    let filter = format!("state close-wait src {}", h.server());
    let (dry, _) = release(&[&filter]);
    assert_eq!(items(&dry).len(), 3);
    let listing = std::env::temp_dir().join(unique_name("release-listing"));
    std::fs::write(&listing, dry.to_string()).unwrap();
    // Socket 0 closes; socket 1's descriptor number is reused for another socket (the socket
    // itself lives on through a dup); socket 2 is untouched.
    assert_eq!(h.cmd("close 0"), "closed");
    assert_eq!(h.cmd("reuse 1"), "reused");
    let fds: Vec<u64> = h.ready["fds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_u64().unwrap())
        .collect();
    let (done, code) = release(&[
        "--yes",
        "--wait",
        "30s",
        "--listed",
        listing.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&listing);
    assert_eq!(code, 1, "the changed one remains: {done:#}");
    for i in items(&done) {
        let fd = i["socket"]["owners"][0]["fd"].as_u64().unwrap();
        let want = match fds.iter().position(|f| *f == fd) {
            Some(0) => "already-gone",
            Some(1) => "changed",
            _ => "released",
        };
        assert_eq!(i["outcome"]["result"], want, "{i:#}");
    }
    assert_eq!(
        ss_count(None, "close-wait", &h.server()),
        1,
        "the changed one is left"
    );
    assert!(process_state(h.pid()).is_some());
}

#[test]
fn sigpipe_warnings_come_true() {
    if !root_or_skip("sigpipe_warnings_come_true") {
        return;
    }
    for (mode, dies) in [("default", true), ("ignore", false)] {
        let mut h = Holder::start(&[mode, "1"]);
        let filter = format!("state close-wait src {}", h.server());
        let (dry, _) = release(&[&filter]);
        let owner = &items(&dry)[0]["owners"][0];
        assert_eq!(owner["danger"], dies, "{owner:#}");
        let (text, _) = release_text(&[&filter]);
        assert_eq!(text.contains("KILLS it"), dies, "{text}");
        let (done, code) = release(&["--yes", "--wait", "30s", &filter]);
        assert_eq!(code, 0, "{done:#}");
        let answer = h.cmd("write 0");
        if dies {
            assert_eq!(answer, "", "it died on the write");
            let status = h.child.0.wait().expect("waiting for the holder");
            assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status}");
        } else {
            assert_eq!(answer, "EPIPE", "the write failed and it lives on");
            assert!(process_state(h.pid()).is_some());
        }
    }
}

#[test]
fn without_root_nothing_is_touched_and_the_refusal_says_why() {
    if !root_or_skip("without_root_nothing_is_touched_and_the_refusal_says_why") {
        return;
    }
    let lab = Lab::start(&["close-wait", "--count", "2"]);
    let server = listener(&lab);
    let filter = format!("state close-wait src {server}");
    for method in [None, Some("--rst")] {
        let mut args = vec!["--yes"];
        args.extend(method);
        args.push(&filter);
        let (report, code) = release_as(Some(65534), &args);
        assert_eq!(code, 3, "{report:#}");
        assert_eq!(results(&report), vec!["refused"; 2], "{report:#}");
        let text = report.to_string();
        assert!(text.contains("root"), "{text}");
        if method.is_some() {
            assert!(text.contains("CAP_NET_ADMIN"), "{text}");
        }
    }
    let out = release_cmd(Some(65534), &["--yes", &filter])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nothing was touched"), "{text}");
    assert_eq!(ss_count(None, "close-wait", &server), 2, "nothing touched");
    lab.stop();
}

#[test]
fn a_user_may_release_the_sockets_of_its_own_processes_without_root() {
    if !root_or_skip("a_user_may_release_the_sockets_of_its_own_processes_without_root") {
        return;
    }
    let nobody = 65534;
    let h = Holder::start_as(Some(nobody), &["ignore", "1"]);
    let filter = format!("state close-wait src {}", h.server());
    let (done, code) = release_as(Some(nobody), &["--yes", "--wait", "30s", &filter]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(
        results(&done),
        vec!["released"],
        "FIN through its own process"
    );
    // RST needs CAP_NET_ADMIN, which the user lacks: refused, not attempted.
    let h2 = Holder::start_as(Some(nobody), &["ignore", "1"]);
    let filter = format!("state close-wait src {}", h2.server());
    let (refused, code) = release_as(Some(nobody), &["--yes", "--rst", &filter]);
    assert_eq!(code, 3, "{refused:#}");
    assert!(refused.to_string().contains("CAP_NET_ADMIN"));
    assert_eq!(ss_count(None, "close-wait", &h2.server()), 1);
    assert!(process_state(h.pid()).is_some() && process_state(h2.pid()).is_some());
}

#[test]
fn listeners_are_left_alone_unless_asked() {
    if !root_or_skip("listeners_are_left_alone_unless_asked") {
        return;
    }
    let h = Holder::start(&["ignore", "1"]);
    let both = format!("src {}", h.server());
    let (dry, _) = release(&[&both]);
    assert_eq!(items(&dry).len(), 1, "only the connection: {dry:#}");
    assert_eq!(dry["listeners_left_alone"].as_array().unwrap().len(), 1);
    let (text, _) = release_text(&[&both]);
    assert!(text.contains("add --listeners"), "{text}");
    let only = format!("state listening src {}", h.server());
    let (done, code) = release(&["--yes", "--wait", "30s", "--listeners", &only]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(results(&done), vec!["released"]);
    assert_eq!(ss_count(None, "listening", &h.server()), 0);
    assert!(process_state(h.pid()).is_some());
}

#[test]
fn an_empty_filter_is_refused() {
    for args in [vec![], vec!["--yes"], vec!["state", "all"]] {
        let out = release_cmd(None, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("needs a filter"), "{err}");
    }
}

#[test]
fn ls_dash_k_points_at_release() {
    let out = bin()
        .args(["ls", "-K", "state", "close-wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tcpscope release 'state close-wait'"), "{err}");
    assert!(err.contains("--yes"), "{err}");
}

#[test]
fn doctors_release_step_selects_exactly_its_finding() {
    if !root_or_skip("doctors_release_step_selects_exactly_its_finding") {
        return;
    }
    let lab = Lab::start(&["stopped-server", "--count", "2"]);
    let server = listener(&lab);
    let out = bin()
        .args([
            "doctor",
            "--json",
            "--netns",
            &format!("pid:{}", std::process::id()),
        ])
        .arg(format!("src {server} or dst {server}"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).expect("doctor's JSON");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "close-wait-leak")
        .expect("a close-wait-leak finding");
    let step = finding["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|s| s.starts_with("tcpscope release"))
        .expect("a release step");
    let cmd = step.split("   #").next().unwrap();
    let out = Command::new("sh")
        .args([
            "-c",
            &format!(
                "\"$TCPSCOPE\" release --json {}",
                &cmd["tcpscope release ".len()..]
            ),
        ])
        .env("TCPSCOPE", env!("CARGO_BIN_EXE_tcpscope"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{cmd}");
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<String> = items(&dry)
        .iter()
        .map(|i| endpoint(&i["socket"]["peer"]))
        .collect();
    got.sort();
    let mut want: Vec<String> = lab.doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| endpoint(&s["peer"]))
        .collect();
    want.sort();
    assert_eq!(got, want, "{cmd}");
    lab.stop();
}
