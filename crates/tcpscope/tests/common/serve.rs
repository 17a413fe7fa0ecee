//! Running `tcpscope serve` from tests and talking to it: start it on a free loopback port (it
//! prints the address it listens on), a minimal HTTP/1.1 client over std's TcpStream (so the
//! tests see exactly the bytes on the wire, slow and broken clients included), and a reader for
//! the Prometheus text format. Also where the external tools (Prometheus, promtool, Chromium)
//! are found.

use super::{bin, ChildGuard, HANG_GUARD};
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;

/// A running `tcpscope serve` and the address it listens on.
pub struct Serve {
    pub child: ChildGuard,
    pub addr: SocketAddr,
}

impl Serve {
    /// `tcpscope serve --listen 127.0.0.1:0 ARGS...`, once it listens.
    pub fn start(args: &[&str]) -> Serve {
        Serve::start_with(bin(), args)
    }

    /// The same, from a prepared command (e.g. `setpriv ... tcpscope`).
    pub fn start_with(cmd: Command, args: &[&str]) -> Serve {
        Serve::start_at(cmd, "127.0.0.1:0", args)
    }

    /// `tcpscope serve --listen LISTEN ARGS...` from a prepared command, once it listens.
    pub fn start_at(mut cmd: Command, listen: &str, args: &[&str]) -> Serve {
        let mut child = ChildGuard(
            cmd.arg("serve")
                .args(["--listen", listen])
                .args(args)
                .stderr(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .expect("starting tcpscope serve"),
        );
        let stderr = child.0.stderr.take().expect("serve's stderr");
        let (tx, rx) = mpsc::channel();
        // Read stderr to its end (so serve never blocks on it), passing on the address.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_string());
                } else {
                    eprintln!("serve: {line}");
                }
            }
        });
        let addr = rx.recv_timeout(HANG_GUARD).unwrap_or_else(|_| {
            panic!("serve {args:?} did not say where it listens (a hang, or it failed)")
        });
        Serve {
            child,
            addr: addr.parse().expect("an address"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    pub fn get(&self, path: &str) -> Http {
        get(self.addr, path, &[]).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GET `path` and parse the Prometheus text format.
    pub fn metrics(&self) -> Vec<Metric> {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "{}", r.text());
        parse_metrics(&r.text())
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Http {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Http {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One request on a new connection (`Connection: close`), read to the end.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> io::Result<Http> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(HANG_GUARD))?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

/// A keep-alive connection: several requests, one after the other, on one TCP connection.
pub struct KeepAlive {
    stream: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl KeepAlive {
    pub fn connect(addr: SocketAddr) -> io::Result<KeepAlive> {
        let s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(HANG_GUARD))?;
        Ok(KeepAlive {
            stream: BufReader::new(s),
            addr,
        })
    }

    pub fn get(&mut self, path: &str) -> io::Result<Http> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        self.stream.get_mut().write_all(req.as_bytes())?;
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            if self.stream.read_until(b'\n', &mut line)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
            }
            head.extend_from_slice(&line);
            if line == b"\r\n" {
                break;
            }
        }
        let mut r = parse_response(&head)?;
        let len: usize = r
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::other("no content-length"))?;
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body)?;
        r.body = body;
        Ok(r)
    }
}

fn parse_response(raw: &[u8]) -> io::Result<Http> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other(format!("no header end in {} bytes", raw.len())))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut r = Http {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    };
    if r.header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        r.body = dechunk(&r.body)?;
    }
    Ok(r)
}

/// The body of a `Transfer-Encoding: chunked` answer (Prometheus sends large ones so).
fn dechunk(mut raw: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| io::Error::other("a chunk without its size line"))?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| io::Error::other(format!("bad chunk size {size_text:?}")))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size + 2 {
            return Err(io::Error::other("a chunk cut short"));
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// One sample of the Prometheus text format.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Metric {
    pub fn label(&self, k: &str) -> &str {
        self.labels.get(k).map_or("", String::as_str)
    }
}

/// Parse the samples of a Prometheus text (or OpenMetrics) document, unescaping label values.
pub fn parse_metrics(text: &str) -> Vec<Metric> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => (&line[..i], &line[i..]),
            None => panic!("bad sample line {line:?}"),
        };
        let mut labels = BTreeMap::new();
        let mut chars = rest.chars().peekable();
        if rest.starts_with('{') {
            chars.next();
            loop {
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                assert_eq!(chars.next(), Some('"'), "in {line:?}");
                let mut value = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some(other) => value.push(other),
                            None => panic!("dangling escape in {line:?}"),
                        },
                        '"' => break,
                        c => value.push(c),
                    }
                }
                labels.insert(key.trim_start_matches(',').to_string(), value);
                match chars.next() {
                    Some(',') => continue,
                    Some('}') => break,
                    other => panic!("unexpected {other:?} in {line:?}"),
                }
            }
        }
        let rest: String = chars.collect();
        let value = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no value in {line:?}"));
        out.push(Metric {
            name: name.to_string(),
            labels,
            value,
        });
    }
    out
}

/// The sum of the samples named `name` whose labels include every pair of `labels`.
pub fn sum(metrics: &[Metric], name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .iter()
        .filter(|m| m.name == name && labels.iter().all(|(k, v)| m.label(k) == *v))
        .map(|m| m.value)
        .sum()
}

/// Where an external program is: `TCPSCOPE_TOOLS_DIR` (default: target/tools/root/usr/bin,
/// filled by scripts/fetch-tools.sh), then the PATH.
pub fn tool(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("TCPSCOPE_TOOLS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/root/usr/bin"),
        PathBuf::from,
    );
    let local = dir.join(name);
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
}

/// The tool (from target/tools or PATH), or `None` after [`super::skip`] said why the test
/// skips — a failure under TCPSCOPE_REQUIRE_ROOT_TESTS=1 or TCPSCOPE_FORBID_SKIPS=1 (CI, whose
/// `.ci/run` installs every tool).
pub fn tool_or_skip(test: &str, name: &str) -> Option<PathBuf> {
    if let Some(p) = tool(name) {
        return Some(p);
    }
    let how = "scripts/fetch-tools.sh puts prometheus, promtool and node_exporter under \
               target/tools; `apt-get install chromium` gives chromium";
    if std::env::var("TCPSCOPE_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
        panic!("{test} needs {name}, and TCPSCOPE_REQUIRE_ROOT_TESTS=1 forbids skipping: {how}");
    }
    super::skip(test, &format!("{name} not found ({how})"));
    None
}

/// A free loopback port for a program that cannot be told to pick one (Prometheus).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binding port 0");
    l.local_addr().expect("an address").port()
}
