//! `tcpscope serve` with the real Prometheus (Debian's prometheus package, fetched by
//! scripts/fetch-tools.sh): promtool's unit tests of the shipped alert rules, `promtool check
//! metrics` on the live output, and a Prometheus server scraping serve on loopback while lab
//! builds the conditions each alert is about — then every alert expression and every query of
//! the shipped Grafana dashboard must return data through Prometheus's HTTP API, and the
//! CLOSE-WAIT count Prometheus stored must be what `ls` sees.

mod common;

use common::lab::Lab;
use common::serve::{get, tool_or_skip, Serve};
use common::{bin, root_or_skip, unique_name, ChildGuard, HANG_GUARD};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn contrib(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../contrib")
        .join(path)
}

#[test]
fn alert_rules_pass_their_promtool_unit_tests() {
    let Some(promtool) = tool_or_skip("alert_rules_pass_their_promtool_unit_tests", "promtool")
    else {
        return;
    };
    let check = Command::new(&promtool)
        .args(["check", "rules"])
        .arg(contrib("prometheus/tcpscope-alerts.yml"))
        .output()
        .expect("running promtool");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let test = Command::new(&promtool)
        .args(["test", "rules", "tcpscope-alerts.test.yml"])
        .current_dir(contrib("prometheus"))
        .output()
        .expect("running promtool");
    let out = String::from_utf8_lossy(&test.stdout);
    assert!(
        test.status.success() && out.contains("SUCCESS"),
        "{out}{}",
        String::from_utf8_lossy(&test.stderr)
    );
}

#[test]
fn promtool_finds_no_problem_in_the_live_metrics() {
    if !root_or_skip("promtool_finds_no_problem_in_the_live_metrics") {
        return;
    }
    let Some(promtool) = tool_or_skip("promtool_finds_no_problem_in_the_live_metrics", "promtool")
    else {
        return;
    };
    let lab = Lab::start(&["close-wait", "--count", "3", "--own-netns"]);
    let ns = lab.netns().expect("lab's namespace");
    let _tw = Lab::start_in(&ns, &["time-wait", "--count", "3"]);
    let serve = Serve::start(&["--netns", &ns]);
    // promtool reads the Prometheus text format (OpenMetrics is checked by Prometheus itself,
    // which asks for it when it scrapes: see the test below).
    for round in 0..2 {
        let body = get(serve.addr, "/metrics", &[]).unwrap().body;
        let mut child = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running promtool");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&body).unwrap();
        let out = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && said.trim().is_empty(),
            "round {round}: {said}"
        );
    }
}

/// A Prometheus server on loopback, with its data in a directory removed when it stops.
struct Prometheus {
    _child: ChildGuard,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Prometheus {
    fn start(binary: &Path, target: SocketAddr) -> Prometheus {
        let dir = std::env::temp_dir().join(unique_name("tcpscope-prometheus"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [{:?}]\n\
             scrape_configs:\n  - job_name: tcpscope\n    static_configs:\n      - targets: ['{target}']\n",
            contrib("prometheus/tcpscope-alerts.yml")
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", common::serve::free_port())
            .parse()
            .unwrap();
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).unwrap())
            .spawn()
            .expect("starting prometheus");
        Prometheus {
            _child: ChildGuard(child),
            addr,
            dir,
        }
    }

    fn api(&self, path: &str) -> Option<Value> {
        let r = get(self.addr, path, &[]).ok()?;
        (r.status == 200).then(|| r.json())
    }

    /// The result of an instant query (empty when it failed).
    fn query(&self, promql: &str) -> Vec<Value> {
        self.api(&format!("/api/v1/query?query={}", encode(promql)))
            .and_then(|v| v["data"]["result"].as_array().cloned())
            .unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

/// Percent-encoding for a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Wait for `check` to give a value: Prometheus needs a few scrapes, rates a few more. The
/// limit is only a guard against a hang ([`HANG_GUARD`]).
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + HANG_GUARD;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < until,
            "{what}: still not there after {HANG_GUARD:?} (a hang)"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Every PromQL query of the dashboard, with Grafana's variables given values.
fn dashboard_queries() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(contrib("grafana/tcpscope-dashboard.json")).expect("the dashboard");
    let dash: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut out = Vec::new();
    for p in dash["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().expect("targets") {
            let expr = t["expr"].as_str().expect("an expr");
            out.push((
                p["title"].as_str().unwrap_or_default().to_string(),
                expr.replace("$instance", ".*")
                    .replace("$__rate_interval", "30s"),
            ));
        }
    }
    assert!(out.len() >= 10, "{out:?}");
    out
}

#[test]
fn prometheus_scrapes_serve_and_every_alert_and_dashboard_query_returns_data() {
    let test = "prometheus_scrapes_serve_and_every_alert_and_dashboard_query_returns_data";
    if !root_or_skip(test) {
        return;
    }
    let Some(prometheus) = tool_or_skip(test, "prometheus") else {
        return;
    };
    // CLOSE-WAIT held by lab's workers (the leak alert, the CLOSE-WAIT panels).
    let lab = Lab::start(&["close-wait", "--count", "12", "--own-netns"]);
    let ns = lab.netns().expect("lab's namespace");
    // A small port range in lab's namespace, and steady churn: TIME-WAIT towards one
    // destination takes most of it (the port exhaustion alert).
    let ok = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-qw",
            "net.ipv4.ip_local_port_range=40000 40199",
        ])
        .status()
        .expect("running sysctl");
    assert!(ok.success());
    let _churn = Lab::start_in(&ns, &["churn", "--rate", "20", "--duration", "10m"]);
    let serve = Serve::start(&["--netns", &ns, "--cache", "500ms"]);
    let prom = Prometheus::start(&prometheus, serve.addr);
    eventually("Prometheus to scrape serve", || {
        let t = prom.api("/api/v1/targets")?;
        (t["data"]["activeTargets"][0]["health"] == "up").then_some(())
    });
    // A full accept queue, started now so its clients' SYN retries (1, 3, 7 s ...) overflow it
    // while Prometheus watches (the overflow alert; doctor calls it critical).
    let _full = Lab::start_in(&ns, &["syn-sent", "--count", "2"]);

    // What Prometheus stored is what ls sees.
    let out = bin()
        .args(["ls", "--json", "--netns", &ns, "state", "close-wait"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = doc["sockets"].as_array().unwrap().len();
    assert_eq!(listed, 12);
    eventually("tcpscope_sockets{state=\"close-wait\"} = ls", || {
        let r = prom.query(r#"sum(tcpscope_sockets{state="close-wait"})"#);
        let v: f64 = r.first()?["value"][1].as_str()?.parse().ok()?;
        (v as usize == listed).then_some(())
    });

    // Every alert rule Prometheus loaded evaluates without error and its expression returns data.
    let rules: Vec<(String, String)> = eventually("the alert rules", || {
        let r = prom.api("/api/v1/rules")?;
        let rules: Vec<(String, String)> = r["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .map(|r| {
                (
                    r["name"].as_str().unwrap_or_default().to_string(),
                    r["query"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        (!rules.is_empty()).then_some(rules)
    });
    assert_eq!(rules.len(), 4, "{rules:?}");
    for (name, query) in &rules {
        eventually(&format!("alert {name} ({query}) to return data"), || {
            (!prom.query(query).is_empty()).then_some(())
        });
    }
    let health = prom.api("/api/v1/rules").unwrap();
    for g in health["data"]["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            assert_eq!(r["health"], "ok", "{r}");
        }
    }

    // Every query of the dashboard returns data, and its instance variable has values.
    for (panel, query) in dashboard_queries() {
        eventually(&format!("panel '{panel}': {query}"), || {
            (!prom.query(&query).is_empty()).then_some(())
        });
    }
    let instances = prom
        .api(&format!(
            "/api/v1/label/instance/values?match[]={}",
            encode("tcpscope_build_info")
        ))
        .unwrap();
    assert_eq!(instances["data"][0], serve.addr.to_string(), "{instances}");
    assert!(!prom.log().contains("level=error"), "{}", prom.log());
    lab.stop();
}
