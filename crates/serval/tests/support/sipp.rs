//! Running SIPp (Debian `sip-tester`) scenarios from `tests/sipp/` against a running
//! `serval`, and reading back what SIPp sent and received (its `-trace_msg` log).
//!
//! Every SIPp runs one call (`-m 1`) with a global timeout that fails the run
//! (`-timeout 20s -timeout_error`): a test waits on the processes' exit status, never on
//! a clock of its own. Exit status 0 means every call of the scenario succeeded.

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// How long SIPp may take for its one call before it gives up (exit status 255).
pub const SIPP_TIMEOUT: &str = "20s";

/// The transport a SIPp runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// The `transport` URI parameter value.
    pub fn token(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }

    /// SIPp's `-t` mode: one socket (UDP), or one connection (TCP).
    fn sipp_mode(self) -> &'static str {
        match self {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
        }
    }
}

/// `n` different ports on `ip`, each free for both UDP and TCP (SIPp binds both with
/// `-p`).
pub fn free_ports(ip: IpAddr, n: usize) -> Vec<u16> {
    let mut held = Vec::new();
    while held.len() < n {
        let udp = UdpSocket::bind((ip, 0)).expect("bind an ephemeral UDP port");
        let port = udp.local_addr().expect("local address").port();
        if let Ok(tcp) = TcpListener::bind((ip, port)) {
            held.push((port, udp, tcp));
        }
    }
    held.into_iter().map(|(port, _, _)| port).collect()
}

/// A directory of its own for one test's SIPp files (logs, traces), emptied.
pub fn work_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("sipp")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("SIPp work directory");
    dir
}

/// What one SIPp process does.
pub struct SippRun<'a> {
    /// A short name for its files and for failure messages ("uac", "uas").
    pub name: &'a str,
    /// The scenario file in `tests/sipp/`.
    pub scenario: &'a str,
    /// Where it binds (`-i`, `-p`): also what it writes in Via and Contact.
    pub local: SocketAddr,
    pub transport: Transport,
    /// Where it sends every request of the call (the proxy).
    pub remote: SocketAddr,
    /// The call's Call-ID (`-cid_str`): a callee that first sends a request of its own
    /// (its scenario starts with a send) shares it with the caller, so that SIPp runs the
    /// caller's INVITE as the rest of that call.
    pub call_id: &'a str,
    /// More options (`-s`, `-key`...).
    pub extra: Vec<String>,
}

/// A running SIPp.
pub struct Sipp {
    name: String,
    child: Option<Child>,
    dir: PathBuf,
}

impl Sipp {
    /// Starts `sipp` for `run`, its files in `dir`.
    pub fn start(dir: &Path, run: SippRun<'_>) -> Sipp {
        Sipp::start_in(None, dir, run)
    }

    /// [`Sipp::start`] inside the network namespace `netns`, when given.
    pub fn start_in(netns: Option<&crate::support::Netns>, dir: &Path, run: SippRun<'_>) -> Sipp {
        let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(run.scenario);
        let file = |suffix: &str| dir.join(format!("{}.{suffix}", run.name));
        let output = std::fs::File::create(file("out")).expect("SIPp output file");
        let mut command = match netns {
            Some(ns) => ns.command("sipp"),
            None => Command::new("sipp"),
        };
        let child = command
            .arg("-sf")
            .arg(&scenario)
            .args(["-i", &run.local.ip().to_string()])
            .args(["-p", &run.local.port().to_string()])
            .args(["-t", run.transport.sipp_mode()])
            .arg(run.remote.to_string())
            .args(["-cid_str", run.call_id])
            .args(["-m", "1"])
            .args(["-timeout", SIPP_TIMEOUT, "-timeout_error"])
            .args(["-nostdin", "-trace_msg", "-trace_err"])
            .arg("-message_file")
            .arg(file("messages"))
            .arg("-error_file")
            .arg(file("errors"))
            .args(&run.extra)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("output file handle"))
            .stderr(output)
            .spawn()
            .expect("sipp starts (Debian package sip-tester)");
        Sipp {
            name: run.name.to_owned(),
            child: Some(child),
            dir: dir.to_owned(),
        }
    }

    /// Waits for SIPp to finish, and returns how.
    pub fn wait(&mut self) -> ExitStatus {
        let child = self.child.as_mut().expect("running");
        let status = child.wait().expect("sipp exit status");
        self.child = None;
        status
    }

    /// What it sent and received.
    pub fn log(&self) -> SipLog {
        SipLog::parse(&read(&self.file("messages")))
    }

    /// SIPp's own account of its run: errors, then every message.
    pub fn report(&self) -> String {
        format!(
            "--- sipp {name}: errors ---\n{}\n--- sipp {name}: messages ---\n{}\n\
             (files in {})",
            read(&self.file("errors")),
            read(&self.file("messages")),
            self.dir.display(),
            name = self.name,
        )
    }

    fn file(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}.{suffix}", self.name))
    }
}

/// Waits for every SIPp to finish; fails the test, with their reports, unless every one
/// exits with status 0 (its call succeeded). Returns their logs, in order.
pub fn all_succeed(mut sipps: Vec<Sipp>) -> Vec<SipLog> {
    let statuses: Vec<ExitStatus> = sipps.iter_mut().map(Sipp::wait).collect();
    if statuses.iter().any(|s| s.code() != Some(0)) {
        let summary: Vec<String> = sipps
            .iter()
            .zip(&statuses)
            .map(|(sipp, status)| format!("sipp {}: {status}", sipp.name))
            .collect();
        let reports: Vec<String> = sipps.iter().map(Sipp::report).collect();
        panic!(
            "{} (255 is SIPp's global timeout)\n{}",
            summary.join(", "),
            reports.join("\n")
        );
    }
    sipps.iter().map(Sipp::log).collect()
}

impl Drop for Sipp {
    fn drop(&mut self) {
        // A test that failed half-way must not leave a SIPp behind.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|_| format!("({} missing)", path.display()))
}

/// The SIP messages a SIPp sent and received, in order.
#[derive(Debug, Default)]
pub struct SipLog {
    pub messages: Vec<Logged>,
}

/// One message of a [`SipLog`].
#[derive(Debug)]
pub struct Logged {
    pub sent: bool,
    pub msg: SipMessage,
}

impl SipLog {
    /// Reads SIPp's `-trace_msg` file: blocks that start with a line of dashes, then
    /// "UDP message sent (N bytes):" or "TCP message received [N] bytes :", then the
    /// message. Blocks that report an unexpected message repeat one already logged.
    pub fn parse(text: &str) -> SipLog {
        let mut messages = Vec::new();
        for block in text.split("-----------------------------------------------") {
            let mut lines = block.lines().map(|l| l.trim_end_matches('\r'));
            // The rest of the dashes line: a timestamp, or nothing for "Unexpected".
            let _ = lines.next();
            let Some(what) = lines.next() else { continue };
            let sent = what.contains("message sent");
            if !sent && !what.contains("message received") || what.starts_with("Unexpected") {
                continue;
            }
            let body: Vec<&str> = lines.skip_while(|l| l.is_empty()).collect();
            if body.is_empty() {
                continue;
            }
            messages.push(Logged {
                sent,
                msg: SipMessage::new(&body.join("\r\n")),
            });
        }
        SipLog { messages }
    }

    /// The messages received, in order.
    pub fn received(&self) -> impl Iterator<Item = &SipMessage> {
        self.messages.iter().filter(|m| !m.sent).map(|m| &m.msg)
    }

    /// The first request `method` received; fails the test if there is none.
    pub fn request(&self, method: &str) -> &SipMessage {
        self.received()
            .find(|m| m.method() == Some(method))
            .unwrap_or_else(|| panic!("no {method} received in {:#?}", self.messages))
    }

    /// The first response `code` to `method` received; fails the test if there is none.
    pub fn response(&self, code: u16, method: &str) -> &SipMessage {
        self.received()
            .find(|m| m.code() == Some(code) && m.cseq_method() == Some(method))
            .unwrap_or_else(|| panic!("no {code} to {method} received in {:#?}", self.messages))
    }

    /// The codes of the responses received, in order.
    pub fn codes(&self) -> Vec<u16> {
        self.received().filter_map(SipMessage::code).collect()
    }
}

/// A SIP message as SIPp logged it, with its header fields by name.
#[derive(Debug)]
pub struct SipMessage {
    pub start_line: String,
    /// (lower-case full name, value), in order, one per line.
    fields: Vec<(String, String)>,
    pub raw: String,
}

impl SipMessage {
    fn new(raw: &str) -> SipMessage {
        let head = raw.split("\r\n\r\n").next().unwrap_or_default();
        let mut lines = head.split("\r\n");
        let start_line = lines.next().unwrap_or_default().to_owned();
        let fields = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(name, value)| (full_name(name.trim()), value.trim().to_owned()))
            .collect();
        SipMessage {
            start_line,
            fields,
            raw: raw.to_owned(),
        }
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&str> {
        (!self.start_line.starts_with("SIP/"))
            .then(|| self.start_line.split(' ').next())
            .flatten()
    }

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&str> {
        self.method()?;
        self.start_line.split(' ').nth(1)
    }

    /// The status code of a response.
    pub fn code(&self) -> Option<u16> {
        let mut parts = self.start_line.split(' ');
        (parts.next() == Some("SIP/2.0"))
            .then(|| parts.next()?.parse().ok())
            .flatten()
    }

    /// The method in CSeq.
    pub fn cseq_method(&self) -> Option<&str> {
        self.header("cseq")?.split_whitespace().nth(1)
    }

    /// The value of the first field `name` (full or compact form, any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = full_name(name);
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the comma-separated list `name`, over all its fields, in order.
    pub fn list(&self, name: &str) -> Vec<String> {
        let name = full_name(name);
        self.fields
            .iter()
            .filter(|(n, _)| *n == name)
            .flat_map(|(_, v)| split_list(v))
            .collect()
    }

    /// The branch parameter of the top Via.
    pub fn top_branch(&self) -> Option<String> {
        let via = self.list("via").into_iter().next()?;
        via.split(';')
            .find_map(|p| p.trim().strip_prefix("branch="))
            .map(str::to_owned)
    }
}

/// The full lower-case name of a header field, from either form (RFC 3261 §7.3.3).
fn full_name(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    let full = match name.as_str() {
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        other => other,
    };
    full.to_owned()
}

/// Splits a header value at the commas that separate list elements (not inside <> or "").
fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut angle, mut quote, mut start) = (false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            '"' if !angle => quote = !quote,
            '<' if !quote => angle = true,
            '>' if !quote => angle = false,
            ',' if !angle && !quote => {
                out.push(value[start..i].trim().to_owned());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim().to_owned());
    out.retain(|v| !v.is_empty());
    out
}
