//! Running the real `serval` binary and talking SIP to it over real sockets.

pub mod databases;
pub mod digest;
pub mod phones;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long to wait for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long to wait to be sure that something does not happen.
pub const QUIET: Duration = Duration::from_millis(500);

/// A running `serval` listening on UDP and TCP on 127.0.0.1, on ports it chose.
pub struct Serval {
    child: Child,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    log: mpsc::Receiver<String>,
}

impl Serval {
    /// Starts `serval -l udp:127.0.0.1:0 -l tcp:127.0.0.1:0 ARGS` and waits until it
    /// says where it listens.
    pub fn start(args: &[&str]) -> Serval {
        Serval::start_logging("info", args)
    }

    /// [`Serval::start`] with the log filter `RUST_LOG=filter` (`"info,sip=trace"` logs
    /// every SIP message received and sent, for [`Serval::wait_for_log`]).
    ///
    /// Unless `args` name a database (`--db`), each server gets a fresh SQLite file of
    /// its own in the test's temporary directory.
    pub fn start_logging(filter: &str, args: &[&str]) -> Serval {
        Serval::start_in(None, &["udp:127.0.0.1:0", "tcp:127.0.0.1:0"], filter, args)
    }

    /// [`Serval::start_logging`] in the network namespace `netns` (when given),
    /// listening on `listen` (one UDP and one TCP address).
    pub fn start_in(netns: Option<&Netns>, listen: &[&str], filter: &str, args: &[&str]) -> Serval {
        let own_db;
        let mut args: Vec<&str> = args.to_vec();
        if !args.contains(&"--db") {
            own_db = fresh_sqlite_url();
            args.extend(["--db", own_db.as_str()]);
        }
        let mut command = match netns {
            Some(ns) => ns.command(env!("CARGO_BIN_EXE_serval")),
            None => Command::new(env!("CARGO_BIN_EXE_serval")),
        };
        for spec in listen {
            command.args(["-l", spec]);
        }
        command.args(&args).env("RUST_LOG", filter);
        Serval::spawn(command)
    }

    /// Runs `command` (a serval binary with its arguments: this build's, or the
    /// packaged one) and waits until it says where it listens, one UDP and one TCP
    /// address.
    pub fn spawn(mut command: Command) -> Serval {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serval starts");
        let (tx, log) = mpsc::channel();
        forward_lines(child.stderr.take().expect("stderr piped"), tx);
        let mut server = Serval {
            child,
            udp: unbound(),
            tcp: unbound(),
            log,
        };
        while server.udp == unbound() || server.tcp == unbound() {
            let line = server.wait_for_log("listening on ");
            let spec = line
                .split("listening on ")
                .nth(1)
                .expect("address after 'listening on'");
            let (proto, addr) = spec.split_once(':').expect("PROTO:ADDR:PORT");
            let addr: SocketAddr = addr.trim().parse().expect("socket address");
            if addr.ip().is_multicast() {
                continue;
            }
            match proto {
                "udp" => server.udp = addr,
                "tcp" => server.tcp = addr,
                other => panic!("unexpected listener {other}"),
            }
        }
        server
    }

    /// Waits for a log line containing `needle`, and returns it.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("serval did not log {needle:?} within {PATIENCE:?}"),
            }
        }
    }

    /// The log lines written since the last wait, without waiting for more.
    pub fn log_so_far(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Kills the process at once (SIGKILL): no shutdown, no flush.
    pub fn kill(&self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("signal sent");
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("signal sent");
    }

    /// Waits for the process to exit, and returns how.
    pub fn wait_for_exit(mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serval still running after {PATIENCE:?}"
            );
            // Polling the exit status; no event to wait on without a reaper thread.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Serval {
    fn drop(&mut self) {
        // A test that failed half-way must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each line of `pipe` to `tx`, from a thread of its own, until either end closes.
pub fn forward_lines(pipe: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

/// The root of the clone (the workspace).
pub fn workspace_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace root")
        .to_owned()
}

/// `sqlite:PATH` for a database file nobody else uses.
pub fn fresh_sqlite_url() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("serval-{}-{n}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    format!("sqlite:{}", path.display())
}

fn unbound() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

/// Runs `serval ARGS` to completion (for --check-config, --help, bad options...).
pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_serval"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("serval runs")
}

/// A file in the test's temporary directory with `content`.
pub fn temp_file(name: &str, content: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, content).expect("file written");
    path
}

/// An OPTIONS request for `target` (a Request-URI host) sent from `from` over `transport`.
pub fn options(target: &str, transport: &str, from: SocketAddr, call_id: &str) -> String {
    format!(
        "OPTIONS sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {from};branch=z9hG4bK-{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:tester@{from}>;tag=t{call_id}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: {call_id}@test\r\n\
         CSeq: 1 OPTIONS\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// A SIP response as seen on the wire.
#[derive(Debug)]
pub struct Response {
    pub code: u16,
    pub reason: String,
    headers: HashMap<String, Vec<String>>,
    pub raw: String,
}

impl Response {
    /// Parses the text of a response, panicking (the test fails) when it is not one.
    pub fn parse(raw: &str) -> Response {
        let (head, _body) = raw.split_once("\r\n\r\n").expect("header section ends");
        let mut lines = head.split("\r\n");
        let status = lines.next().expect("status line");
        let mut parts = status.splitn(3, ' ');
        assert_eq!(parts.next(), Some("SIP/2.0"), "{raw}");
        let code = parts
            .next()
            .and_then(|c| c.parse().ok())
            .expect("status code");
        let reason = parts.next().unwrap_or_default().to_owned();
        let mut headers: HashMap<String, Vec<String>> = HashMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').expect("header line");
            headers
                .entry(name.trim().to_ascii_lowercase())
                .or_default()
                .push(value.trim().to_owned());
        }
        Response {
            code,
            reason,
            headers,
            raw: raw.to_owned(),
        }
    }

    /// Every value of header `name` (any case), in order.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(|values| values.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .and_then(|values| values.first())
            .map(String::as_str)
    }
}

/// A UDP client on 127.0.0.1.
pub struct UdpClient {
    socket: UdpSocket,
}

impl UdpClient {
    pub fn bind() -> UdpClient {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("client socket");
        UdpClient { socket }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("address")
    }

    pub fn send(&self, to: SocketAddr, data: &[u8]) {
        self.socket.send_to(data, to).expect("sent");
    }

    /// The next datagram within `wait`, if any.
    pub fn receive(&self, wait: Duration) -> Option<(String, SocketAddr)> {
        self.socket.set_read_timeout(Some(wait)).expect("timeout");
        let mut data = vec![0; 65_536];
        match self.socket.recv_from(&mut data) {
            Ok((len, from)) => Some((String::from_utf8_lossy(&data[..len]).into_owned(), from)),
            Err(_) => None,
        }
    }

    /// Sends `request` and returns the response.
    pub fn request(&self, to: SocketAddr, request: &str) -> Response {
        self.send(to, request.as_bytes());
        let (raw, from) = self
            .receive(PATIENCE)
            .expect("a response within the patience");
        assert_eq!(
            from, to,
            "the response comes from the address the request was sent to"
        );
        Response::parse(&raw)
    }
}

/// A TCP connection to the server.
pub struct TcpClient {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl TcpClient {
    pub fn connect(to: SocketAddr) -> TcpClient {
        let stream = TcpStream::connect_timeout(&to, PATIENCE).expect("connected");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        TcpClient {
            stream,
            buffer: Vec::new(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("address")
    }

    pub fn send(&mut self, data: &[u8]) {
        self.stream.write_all(data).expect("sent");
    }

    /// Reads one whole response (header section and Content-Length body).
    pub fn response(&mut self) -> Response {
        loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                let body_len = head
                    .split("\r\n")
                    .filter_map(|line| line.split_once(':'))
                    .find(|(name, _)| {
                        name.trim().eq_ignore_ascii_case("content-length") || name.trim() == "l"
                    })
                    .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                let total = end + 4 + body_len;
                if self.buffer.len() >= total {
                    let raw: Vec<u8> = self.buffer.drain(..total).collect();
                    return Response::parse(&String::from_utf8_lossy(&raw));
                }
            }
            let mut chunk = [0; 4096];
            let len = self
                .stream
                .read(&mut chunk)
                .expect("read within the patience");
            assert!(len > 0, "connection closed before a whole response");
            self.buffer.extend_from_slice(&chunk[..len]);
        }
    }

    /// Sends `request` and returns the response.
    pub fn request(&mut self, request: &str) -> Response {
        self.send(request.as_bytes());
        self.response()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Creates the schema of the database at `url` and adds `(user, domain, password)`
/// subscribers with both HA1s stored, as `servalctl user add` does.
pub fn add_subscribers(url: &str, users: &[(&str, &str, &str)]) {
    with_store(url, |store| async move {
        for (user, domain, password) in users {
            let secret = format!("{user}:{domain}:{password}");
            store
                .add_subscriber(&serval_store::Subscriber {
                    username: user.to_string(),
                    domain: domain.to_string(),
                    ha1: Some(digest::hex_hash("MD5", &secret)),
                    ha1_sha256: Some(digest::hex_hash("SHA-256", &secret)),
                    ..serval_store::Subscriber::default()
                })
                .await
                .expect("subscriber added");
        }
    });
}

/// Runs `work` on the (migrated) database at `url`.
pub fn with_store<F, Fut, T>(url: &str, work: F) -> T
where
    F: FnOnce(serval_store::Store) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = serval_store::Store::connect(url)
            .await
            .expect("database reachable");
        store.migrate().await.expect("schema");
        let out = work(store.clone()).await;
        store.close().await;
        out
    })
}

/// A network namespace made for one test (`ip netns add`), deleted with its interfaces
/// when dropped.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates the namespace `name`, its loopback up.
    pub fn new(name: &str) -> Netns {
        // A namespace left by an earlier run that was killed half-way.
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", name]);
        let ns = Netns {
            name: name.to_owned(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Runs `ip -n NAME ARGS`; fails the test if it fails.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// `program` to run inside the namespace (`ip netns exec NAME program`).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Links this namespace to `other` with a veth pair: `here` on this side with
    /// `address` (CIDR), `there` on the other side, both up.
    pub fn link(&self, here: &str, address: &str, other: &Netns, there: &str) {
        ip(&[
            "link",
            "add",
            here,
            "netns",
            &self.name,
            "type",
            "veth",
            "peer",
            "name",
            there,
            "netns",
            &other.name,
        ]);
        self.ip(&["addr", "add", address, "dev", here]);
        self.ip(&["link", "set", here, "up"]);
        other.ip(&["link", "set", there, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs `ip ARGS`; fails the test, with what `ip` said, if it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (iproute2) runs: these tests need root");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A serval in `ns` for `domain`, on UDP and TCP `ip`:5060, whose subscribers are alice
/// and bob of `domain` (passwords `alice-secret`, `bob-secret`), on the default
/// authentication settings, logging every message and registration; `extra` is
/// appended to its config file (named after `name`).
pub fn start_router_in(
    ns: &Netns,
    ip: std::net::IpAddr,
    domain: &str,
    name: &str,
    extra: &str,
) -> Serval {
    let db = fresh_sqlite_url();
    add_subscribers(
        &db,
        &[
            ("alice", domain, "alice-secret"),
            ("bob", domain, "bob-secret"),
        ],
    );
    let config = temp_file(
        &format!("{name}.toml"),
        &format!("[server]\ndomains = [\"{domain}\"]\n{extra}\n"),
    );
    Serval::start_in(
        Some(ns),
        &[&format!("udp:{ip}:5060"), &format!("tcp:{ip}:5060")],
        "info,serval=debug,registrar::respond=debug,sip=trace",
        &["-c", config.to_str().expect("UTF-8 path"), "--db", &db],
    )
}
