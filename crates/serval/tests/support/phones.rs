//! Real phones driven by the tests: baresip (Debian's `baresip-core`) through its
//! `ctrl_tcp` command interface, and pjsip through its Python binding (`pjsua2-python`,
//! the script `tests/phones/pjsua_phone.py`). Each runs as its own process with its own
//! SIP port on 127.0.0.1, and the test waits on what the phone reports, never on time.
//!
//! Both kinds offer the same verbs ([`Phone`]): register, call, answer, hang up, send
//! and receive a MESSAGE, so a test reads the same whichever phone is on each side.

use super::PATIENCE;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a phone may take to register, ring or hang up: retransmissions on UDP
/// start at 500 ms, so a few seconds is a lost message, not a slow one.
pub const PHONE_PATIENCE: Duration = Duration::from_secs(15);

/// A SIP transport the phones use towards the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// `udp` or `tcp`, as in a `transport=` URI parameter.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// What every phone of the tests does, in the words of its user.
pub trait Phone {
    /// Its address-of-record, `sip:user@domain`.
    fn aor(&self) -> &str;
    /// Waits for the 200 to its REGISTER.
    fn wait_registered(&mut self);
    /// Calls `uri`.
    fn dial(&mut self, uri: &str);
    /// Waits for a call to ring here, and returns the caller's URI as the phone shows it.
    fn wait_incoming(&mut self) -> String;
    /// Answers the ringing call.
    fn accept(&mut self);
    /// Waits until the call is up (200 and ACK).
    fn wait_established(&mut self);
    /// Hangs up the call (BYE).
    fn hangup(&mut self);
    /// Waits until the call is over.
    fn wait_closed(&mut self);
    /// Sends a MESSAGE with `text` to `uri`, and waits for its 2xx.
    fn message(&mut self, uri: &str, text: &str);
    /// Waits for a MESSAGE with `text`; returns the sender's URI.
    fn wait_message(&mut self, text: &str) -> String;
}

/// What a phone reports (lines it prints, events of its command interface), read by a
/// thread. A wait takes the first report that matches, among those not taken yet, so
/// one that came early (a call's end before the answer to `hangup`) is not lost. All
/// of them are kept for the message of a failed wait.
struct Reports<T> {
    rx: mpsc::Receiver<T>,
    pending: Vec<T>,
    seen: Vec<String>,
}

impl<T: std::fmt::Display> Reports<T> {
    fn new(rx: mpsc::Receiver<T>) -> Self {
        Reports {
            rx,
            pending: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// The first report not taken yet for which `pick` gives a value.
    fn wait<V>(&mut self, who: &str, what: &str, mut pick: impl FnMut(&T) -> Option<V>) -> V {
        if let Some((i, value)) = self
            .pending
            .iter()
            .enumerate()
            .find_map(|(i, report)| pick(report).map(|v| (i, v)))
        {
            self.pending.remove(i);
            return value;
        }
        let deadline = Instant::now() + PHONE_PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(report) => {
                    self.seen.push(report.to_string());
                    match pick(&report) {
                        Some(value) => return value,
                        None => self.pending.push(report),
                    }
                }
                Err(_) => panic!(
                    "{who}: no {what} within {PHONE_PATIENCE:?}; it reported:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

/// The lines of a child's pipes, as they come.
fn lines_of(pipes: Vec<Box<dyn Read + Send>>) -> Reports<String> {
    let (tx, rx) = mpsc::channel();
    for pipe in pipes {
        super::forward_lines(pipe, tx.clone());
    }
    Reports::new(rx)
}

/// A free TCP port on 127.0.0.1 (the kernel's choice, released for the phone to take).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

/// A baresip account: the line of its `accounts` file, and the `contacts` it can send
/// a MESSAGE to (baresip 1.0 messages its current contact only).
#[derive(Debug, Clone)]
pub struct BaresipAccount {
    line: String,
    contacts: Vec<String>,
}

impl BaresipAccount {
    /// `user@domain` with `password`, registering through the server at `server`
    /// (`HOST:PORT`) over `transport`, answering calls only when told to.
    pub fn new(address: &str, password: &str, server: &str, transport: Transport) -> Self {
        let t = transport.name();
        BaresipAccount::line(&format!(
            "<sip:{address};transport={t}>;auth_pass={password};outbound=\"sip:{server};transport={t}\";regint=600"
        ))
    }

    /// An `accounts` line as a user writes it (README's example, say).
    pub fn line(line: &str) -> Self {
        BaresipAccount {
            line: line.trim().to_owned(),
            contacts: Vec::new(),
        }
    }

    /// Adds `uri` to its contacts, for [`Phone::message`].
    pub fn contact(mut self, uri: &str) -> Self {
        self.contacts.push(uri.to_owned());
        self
    }

    /// The AOR between `<` and `>`, without URI parameters.
    fn aor(&self) -> String {
        let inside = self
            .line
            .split_once('<')
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(uri, _)| uri)
            .expect("an accounts line starts with <sip:…>");
        inside.split(';').next().expect("a URI").to_owned()
    }
}

/// A running baresip 1.0 with one account. Commands go over `ctrl_tcp` (JSON in
/// netstrings); calls are followed through its events; its registration and a MESSAGE
/// received are read from what it prints (`sip:FROM: "TEXT"` for a MESSAGE).
pub struct Baresip {
    child: Child,
    /// Kept open: baresip's stdio interface quits at the end of its input.
    _stdin: ChildStdin,
    ctrl: TcpStream,
    events: Reports<Value>,
    output: Reports<String>,
    aor: String,
    contacts: Vec<String>,
    /// Which of `contacts` baresip has as its current one (the first, at start).
    current_contact: usize,
    dir: tempfile::TempDir,
    token: u64,
}

impl Baresip {
    /// Starts baresip with `account` and waits until its command interface answers.
    pub fn start(account: BaresipAccount) -> Baresip {
        let dir = tempfile::tempdir().expect("baresip's config directory");
        let ctrl_port = free_port();
        write(
            &dir.path().join("config"),
            &format!(
                "poll_method epoll\n\
                 sip_listen 127.0.0.1:0\n\
                 audio_player alsa,null\n\
                 audio_source alsa,null\n\
                 audio_alert alsa,null\n\
                 statmode_default off\n\
                 module_path /usr/lib/baresip/modules\n\
                 module stdio.so\n\
                 module g711.so\n\
                 module account.so\n\
                 module contact.so\n\
                 module menu.so\n\
                 module ctrl_tcp.so\n\
                 ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n"
            ),
        );
        write(&dir.path().join("accounts"), &format!("{}\n", account.line));
        let contacts: String = account
            .contacts
            .iter()
            .map(|uri| format!("<{uri}>\n"))
            .collect();
        write(&dir.path().join("contacts"), &contacts);
        // Line-buffered: what it prints reaches the test as it happens.
        let mut child = Command::new("stdbuf")
            .args(["-oL", "baresip", "-4", "-f"])
            .arg(dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("baresip starts (Debian package baresip-core)");
        let stdin = child.stdin.take().expect("stdin piped");
        // Its log goes to stdout, what its interface shows (a MESSAGE) to stderr.
        let output = lines_of(vec![
            Box::new(child.stdout.take().expect("stdout piped")),
            Box::new(child.stderr.take().expect("stderr piped")),
        ]);
        let ctrl = connect_when_listening(ctrl_port, &mut child);
        let (tx, events) = mpsc::channel();
        let reader = ctrl.try_clone().expect("ctrl_tcp stream");
        std::thread::spawn(move || read_netstrings(reader, tx));
        Baresip {
            child,
            _stdin: stdin,
            ctrl,
            events: Reports::new(events),
            output,
            aor: account.aor(),
            contacts: account.contacts,
            current_contact: 0,
            dir,
            token: 0,
        }
    }

    /// Sends a command with `params`, and waits for its response.
    fn command(&mut self, command: &str, params: &str) -> Value {
        self.token += 1;
        let token = format!("t{}", self.token);
        let body =
            serde_json::json!({ "command": command, "params": params, "token": token }).to_string();
        self.ctrl
            .write_all(format!("{}:{body},", body.len()).as_bytes())
            .expect("command sent to baresip");
        let response = self.wait_event(&format!("the response to {command}"), |v| {
            v["response"] == true && v["token"] == token.as_str()
        });
        assert_eq!(
            response["ok"], true,
            "baresip refused {command} {params}: {response}"
        );
        response
    }

    /// The first event not taken yet for which `matches` holds.
    fn wait_event(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let Baresip {
            events,
            output,
            aor,
            ..
        } = self;
        let who = format!("{aor} (its output:\n{}\n)", output.seen.join("\n"));
        events.wait(&who, what, |event| matches(event).then(|| event.clone()))
    }

    /// Waits for the call event `kind` (`CALL_INCOMING`, `CALL_ESTABLISHED`...).
    fn wait_call_event(&mut self, kind: &str) -> Value {
        self.wait_event(kind, |v| v["event"] == true && v["type"] == kind)
    }
}

impl Phone for Baresip {
    fn aor(&self) -> &str {
        &self.aor
    }

    fn wait_registered(&mut self) {
        // From what baresip prints (`alice@example.com: {0/UDP/v4} 200 OK (Serval/…)
        // [1 binding]`, or `…: Register: REASON`): its registration may end before the
        // command interface is connected, whose events would then be missed.
        let user_host = self.aor.trim_start_matches("sip:").to_owned();
        let outcome = self.output.wait(&self.aor, "outcome of REGISTER", |line| {
            let rest = line.rsplit('\r').next()?.strip_prefix(&user_host)?;
            (rest.contains("} 200 ") || rest.contains("Register:")).then(|| line.to_owned())
        });
        assert!(
            outcome.contains("} 200 "),
            "{} did not register: {outcome}",
            self.aor
        );
    }

    fn dial(&mut self, uri: &str) {
        self.command("dial", uri);
    }

    fn wait_incoming(&mut self) -> String {
        let event = self.wait_call_event("CALL_INCOMING");
        event["peeruri"].as_str().unwrap_or_default().to_owned()
    }

    fn accept(&mut self) {
        self.command("accept", "");
    }

    fn wait_established(&mut self) {
        self.wait_call_event("CALL_ESTABLISHED");
    }

    fn hangup(&mut self) {
        self.command("hangup", "");
    }

    fn wait_closed(&mut self) {
        self.wait_call_event("CALL_CLOSED");
    }

    fn message(&mut self, uri: &str, text: &str) {
        let wanted = self
            .contacts
            .iter()
            .position(|c| c == uri)
            .unwrap_or_else(|| panic!("{uri} is not among {}'s contacts", self.aor));
        while self.current_contact != wanted {
            let step = if self.current_contact < wanted {
                self.current_contact += 1;
                "contact_next"
            } else {
                self.current_contact -= 1;
                "contact_prev"
            };
            self.command(step, "");
        }
        // baresip prints nothing when the MESSAGE succeeds: the other side's
        // wait_message is the proof that it went through.
        self.command("message", text);
    }

    fn wait_message(&mut self, text: &str) -> String {
        let quoted = format!(": \"{text}\"");
        self.output
            .wait(&self.aor, &format!("MESSAGE {text:?}"), |line| {
                line.trim_start_matches('\r')
                    .strip_suffix(&quoted)
                    .map(|from| from.trim().to_owned())
            })
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Connects to baresip's `ctrl_tcp` once it listens (it opens the port after loading
/// its modules).
fn connect_when_listening(port: u16, child: &mut Child) -> TcpStream {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            return stream;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("baresip exited at start: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "baresip's ctrl_tcp did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads `LEN:JSON,` netstrings from baresip's ctrl_tcp into `tx`.
fn read_netstrings(stream: TcpStream, tx: mpsc::Sender<Value>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = Vec::new();
        if reader.read_until(b':', &mut length).unwrap_or(0) == 0 {
            return;
        }
        let Some(n) = std::str::from_utf8(&length[..length.len() - 1])
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
        else {
            return;
        };
        let mut body = vec![0; n + 1];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let Ok(value) = serde_json::from_slice::<Value>(&body[..n]) else {
            continue;
        };
        if tx.send(value).is_err() {
            return;
        }
    }
}

/// The pjsip phone: `tests/phones/pjsua_phone.py`, which reports one event per line.
pub struct Pjsua {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Reports<String>,
    aor: String,
    log: PathBuf,
}

/// How a [`Pjsua`] is set up.
#[derive(Debug, Clone)]
pub struct PjsuaAccount {
    pub user: String,
    pub domain: String,
    pub password: String,
    /// `HOST:PORT` of the server (its outbound proxy).
    pub server: String,
    pub transport: Transport,
    /// Asks for this digest algorithm with an initial empty Authorization (pjsip's
    /// `authInitialEmpty` and `authInitialAlgorithm`): `Some("SHA-256")`.
    pub initial_algorithm: Option<&'static str>,
}

impl Pjsua {
    /// Starts the phone and waits until its SIP transport is up.
    pub fn start(account: PjsuaAccount) -> Pjsua {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/phones/pjsua_phone.py");
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "pjsua-{}-{}-{}.log",
            account.user,
            std::process::id(),
            free_port()
        ));
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .args(["--user", &account.user])
            .args(["--password", &account.password])
            .args(["--domain", &account.domain])
            .args(["--proxy", &account.server])
            .args(["--transport", account.transport.name()])
            .arg("--log")
            .arg(&log);
        if let Some(algorithm) = account.initial_algorithm {
            command.args(["--auth-initial-algorithm", algorithm]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the pjsua2 phone (pip package pjsua2-python)");
        let stdin = child.stdin.take();
        let aor = format!("sip:{}@{}", account.user, account.domain);
        let mut events = lines_of(vec![Box::new(child.stdout.take().expect("stdout piped"))]);
        events.wait(&aor, "READY", |line| {
            line.starts_with("READY ").then_some(())
        });
        Pjsua {
            child,
            stdin,
            events,
            aor,
            log,
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("the phone runs");
        writeln!(stdin, "{line}").expect("command sent to the pjsua phone");
    }

    /// Waits for an event line starting with `prefix`, failing on an `ERROR` line.
    fn wait_event(&mut self, prefix: &str) -> String {
        let aor = self.aor.clone();
        let log = self.log.clone();
        self.events.wait(&aor, prefix, |line| {
            assert!(
                !line.starts_with("ERROR"),
                "{aor}: {line} (pjsip's log: {})",
                log.display()
            );
            line.strip_prefix(prefix).map(|rest| rest.trim().to_owned())
        })
    }

    /// Waits for the call to reach `state` (`CONFIRMED`, `DISCONNECTED`...).
    fn wait_call_state(&mut self, state: &str) -> String {
        self.wait_event(&format!("CALL {state}"))
    }

    /// pjsip's own log file (every message it sent and received).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Phone for Pjsua {
    fn aor(&self) -> &str {
        &self.aor
    }

    fn wait_registered(&mut self) {
        let aor = self.aor.clone();
        let outcome = self.events.wait(&aor, "REGISTERED or REG_FAILED", |line| {
            (line.starts_with("REGISTERED") || line.starts_with("REG_FAILED"))
                .then(|| line.to_owned())
        });
        assert!(
            outcome.starts_with("REGISTERED 200"),
            "{aor} did not register: {outcome}"
        );
    }

    fn dial(&mut self, uri: &str) {
        self.send(&format!("call {uri}"));
    }

    fn wait_incoming(&mut self) -> String {
        self.wait_event("INCOMING")
    }

    fn accept(&mut self) {
        // The script answers every call itself (180, then 200).
    }

    fn wait_established(&mut self) {
        self.wait_call_state("CONFIRMED");
    }

    fn hangup(&mut self) {
        self.send("hangup");
    }

    fn wait_closed(&mut self) {
        self.wait_call_state("DISCONNECTED");
    }

    fn message(&mut self, uri: &str, text: &str) {
        self.send(&format!("message {uri} {text}"));
        let status = self.wait_event("MESSAGE_STATUS");
        assert!(
            status.starts_with('2'),
            "{}: MESSAGE to {uri} got {status}",
            self.aor
        );
    }

    fn wait_message(&mut self, text: &str) -> String {
        let suffix = format!(" {text}");
        self.events
            .wait(&self.aor, &format!("MESSAGE {text:?}"), |line| {
                line.strip_prefix("MESSAGE ")
                    .and_then(|rest| rest.strip_suffix(&suffix))
                    .map(str::to_owned)
            })
    }
}

impl Drop for Pjsua {
    fn drop(&mut self) {
        // End of input: the script unregisters and exits; killed if it does not.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
