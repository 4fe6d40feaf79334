//! Relay load tool: N rooms of two real QUIC clients against the relay **binary** running as a
//! separate process (so its CPU time and memory can be read from /proc), M messages of S bytes
//! from every client to its peer; prints relayed messages per second, latency percentiles
//! (timestamps inside the payload), the relay's CPU use and resident memory. An idle mode opens
//! K connections and reports the relay's memory.
//!
//! Several relays can be measured in one run, one after the other on the same machine state:
//! `--workers 1,2` runs this relay with 1 and then 2 workers, `--baseline <binary>` first runs an
//! older relay binary (e.g. main's) with its own flags, `--compare <binary>,...` then runs other
//! builds of this relay with this relay's flags and worker counts, `--runs` repeats each, and
//! `--relay-cpus 0` pins the relays to CPU 0 (`taskset`; run the tool itself under
//! `taskset -c 1` to give it the other core).
//!
//! ```text
//! cargo bench -p quic-relay --bench load -- --rooms 1000 --messages 50 --size 256 --workers 1,2
//! taskset -c 1 cargo bench -p quic-relay --bench load -- --rate 25000 --relay-cpus 0 --workers 1 --runs 5
//! cargo bench -p quic-relay --bench load -- --idle 10000 --baseline /tmp/relay-main
//! ```
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a tiny smoke run.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use quic_relay::client::RelayConnection;
use sans_io_proto::frame::{ClientFrame, RelayFrame, RoomName};

#[derive(Debug, Parser, Clone)]
struct Args {
    /// Rooms (two clients each).
    #[arg(long, default_value_t = 1000)]
    rooms: usize,
    /// Messages each client sends.
    #[arg(long, default_value_t = 50)]
    messages: usize,
    /// Payload size in bytes (at least 16).
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// Aggregate send rate in messages/s (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Idle mode: open this many connections, report memory, and stop.
    #[arg(long, default_value_t = 0)]
    idle: usize,
    /// Idle mode: after the measurement, keep the connections open this many seconds more and
    /// report the relay's memory again (does it grow while idle?).
    #[arg(long, default_value_t = 0)]
    hold: u64,
    /// Worker counts of this relay to measure, in order (e.g. `1,2`); empty: its default.
    #[arg(long, value_delimiter = ',')]
    workers: Vec<usize>,
    /// An older relay binary to measure first, with the flags main's relay takes.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Other builds of this relay (same flags as this one, e.g. the previous commit's) to
    /// measure after the baseline and before this relay, each labelled by its file name.
    #[arg(long, value_delimiter = ',')]
    compare: Vec<PathBuf>,
    /// Run this binary (built from this tree, e.g. an experiment) instead of the bench's own.
    #[arg(long)]
    relay_bin: Option<PathBuf>,
    /// Measure each relay this many times.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Pin the relay processes to these CPUs (`taskset -c`).
    #[arg(long)]
    relay_cpus: Option<String>,
    /// Use a relay that is already running (e.g. under a profiler) instead of starting one.
    #[arg(long)]
    relay: Option<SocketAddr>,
    /// The pin of `--relay`.
    #[arg(long, default_value = "")]
    pin: String,
    /// Client UDP endpoints to spread connections over.
    #[arg(long, default_value_t = 16)]
    endpoints: usize,
    #[arg(long, hide = true)]
    bench: bool,
}

/// Which relay to start.
#[derive(Debug, Clone)]
enum Kind {
    /// This crate's binary with this many workers (`None`: its default).
    This(Option<usize>),
    /// Another binary, started with main's flags.
    Baseline(PathBuf),
    /// Another build of this relay, with this relay's flags (and worker count).
    Other(PathBuf, Option<usize>),
    /// Already running.
    External(SocketAddr, [u8; 32]),
}

impl Kind {
    fn label(&self) -> String {
        match self {
            Kind::This(Some(w)) => {
                format!("this relay, {w} worker{}", if *w == 1 { "" } else { "s" })
            }
            Kind::This(None) => "this relay".into(),
            Kind::Baseline(_) => "baseline (main)".into(),
            Kind::Other(path, workers) => {
                let name = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into(),
                );
                match workers {
                    Some(w) => format!("{name}, {w} worker{}", if *w == 1 { "" } else { "s" }),
                    None => name,
                }
            }
            Kind::External(addr, _) => format!("relay at {addr}"),
        }
    }
}

struct Relay {
    child: Option<Child>,
    addr: SocketAddr,
    pin: [u8; 32],
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Relay {
    fn start(kind: &Kind, cpus: Option<&str>, this_bin: Option<&PathBuf>) -> Relay {
        let (binary, flags): (PathBuf, Vec<String>) = match kind {
            Kind::External(addr, pin) => {
                return Relay {
                    child: None,
                    addr: *addr,
                    pin: *pin,
                    _dir: TempDir(std::env::temp_dir().join("e2e-load-unused")),
                };
            }
            Kind::This(workers) | Kind::Other(_, workers) => {
                let mut flags: Vec<String> = ["--max-connections", "30000", "--max-rooms", "30000"]
                    .map(String::from)
                    .to_vec();
                if let Some(w) = workers {
                    flags.extend(["--workers".into(), w.to_string()]);
                }
                let binary = match kind {
                    Kind::Other(path, _) => path.clone(),
                    _ => this_bin
                        .cloned()
                        .unwrap_or_else(|| env!("CARGO_BIN_EXE_quic-relay").into()),
                };
                (binary, flags)
            }
            Kind::Baseline(path) => (
                path.clone(),
                [
                    "--max-connections",
                    "30000",
                    "--max-rooms",
                    "30000",
                    "--payloads-per-second",
                    "1000000",
                    "--joins-per-second",
                    "100",
                ]
                .map(String::from)
                .to_vec(),
            ),
        };
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let dir = TempDir(std::env::temp_dir().join(format!(
            "e2e-load-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        )));
        let mut command = match cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        let mut child = command
            .args(["--port", "0", "--log", "error"])
            .args(&flags)
            .arg("--cert-dir")
            .arg(&dir.0)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the relay binary");
        let stdout = child.stdout.take().expect("relay stdout");
        let mut addr = None;
        let mut pin = None;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("e2e-chat relay listening on ") {
                addr = rest.split_whitespace().next().and_then(|a| a.parse().ok());
            }
            if let Some(rest) = line.strip_prefix("certificate SHA-256 pin: ") {
                pin = quic_relay::cert::parse_fingerprint(rest).ok();
                break;
            }
        }
        // Keep reading what else it prints: a relay whose stdout is closed may die of it (main's
        // relay does).
        std::thread::spawn(move || lines.for_each(drop));
        Relay {
            child: Some(child),
            addr: addr.expect("relay address"),
            pin: pin.expect("relay pin"),
            _dir: dir,
        }
    }

    /// CPU time used by the relay process so far, in seconds (utime + stime of /proc/pid/stat).
    fn cpu_seconds(&self) -> f64 {
        let Some(child) = &self.child else { return 0.0 };
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
            .sum();
        ticks / 100.0 // USER_HZ is 100 on Linux
    }

    fn rss_kib(&self) -> u64 {
        let Some(child) = &self.child else { return 0 };
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn endpoints(n: usize) -> Vec<quinn::Endpoint> {
    (0..n.max(1))
        .map(|_| quic_relay::socket::client_endpoint("127.0.0.1:0".parse().unwrap()).unwrap())
        .collect()
}

async fn connect(relay: &Relay, eps: &[quinn::Endpoint], i: usize) -> RelayConnection {
    for attempt in 0..5 {
        match RelayConnection::connect_on(
            &eps[i % eps.len()],
            relay.addr,
            relay.pin,
            Duration::from_secs(20),
        )
        .await
        {
            Ok(c) => return c,
            Err(e) if attempt == 4 => panic!("client {i}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    unreachable!()
}

async fn idle(args: &Args, kind: &Kind) -> String {
    let relay = Arc::new(Relay::start(
        kind,
        args.relay_cpus.as_deref(),
        args.relay_bin.as_ref(),
    ));
    let eps = Arc::new(endpoints(args.endpoints.max(args.idle / 500)));
    let before = relay.rss_kib();
    let mut conns = Vec::with_capacity(args.idle);
    let started = Instant::now();
    for chunk in (0..args.idle).collect::<Vec<_>>().chunks(200) {
        let batch = futures_join(chunk.iter().map(|&i| {
            let (r, e) = (relay.clone(), eps.clone());
            async move { connect(&r, &e, i).await }
        }))
        .await;
        conns.extend(batch);
    }
    let opened = started.elapsed();
    // Let the connections settle (handshakes done, keep-alives running), then read the memory
    // over a few seconds of idle time.
    let settle = if relay.child.is_none() { 10 } else { 3 };
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let cpu_before = relay.cpu_seconds();
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_cpu = (relay.cpu_seconds() - cpu_before) / t.elapsed().as_secs_f64() * 100.0;
    let after = relay.rss_kib();
    let held = if args.hold > 0 {
        tokio::time::sleep(Duration::from_secs(args.hold)).await;
        format!(
            " {:.1} MiB after {} s more |",
            relay.rss_kib() as f64 / 1024.0,
            args.hold
        )
    } else {
        String::new()
    };
    format!(
        "| {} | {} | {:.1} s | {:.1} MiB | **{:.1} MiB ({:.1} MB)** | {:.1} KiB | {:.0}% of a core |{held}",
        kind.label(),
        conns.len(),
        opened.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after as f64 * 1024.0 / 1e6,
        (after.saturating_sub(before)) as f64 / conns.len().max(1) as f64,
        idle_cpu,
    )
}

async fn futures_join<F: std::future::Future<Output = T> + Send + 'static, T: Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<T> {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// One traffic run; returns its table row and its p99 in ms.
async fn traffic(args: &Args, kind: &Kind) -> (String, f64) {
    let relay = Arc::new(Relay::start(
        kind,
        args.relay_cpus.as_deref(),
        args.relay_bin.as_ref(),
    ));
    let eps = Arc::new(endpoints(args.endpoints));
    let before = relay.rss_kib();
    // Pair everyone up.
    let mut pairs = Vec::new();
    // At most 200 handshakes at once: a storm of thousands would outlast the 4 s idle timeout
    // of the handshake on a loaded machine.
    let handshakes = Arc::new(tokio::sync::Semaphore::new(200));
    for room in 0..args.rooms {
        let name = RoomName::new(&format!("load-{room}")).unwrap();
        let (r, e) = (relay.clone(), eps.clone());
        let n = name.clone();
        let slot = handshakes.clone().acquire_owned().await.unwrap();
        let a = tokio::spawn(async move {
            let mut c = connect(&r, &e, 2 * room).await.split();
            drop(slot);
            c.0.send_frame(&ClientFrame::Join { room: n })
                .await
                .unwrap();
            c
        });
        pairs.push((name, a));
    }
    let mut firsts = Vec::new();
    for (name, a) in pairs {
        let a = a.await.unwrap();
        firsts.push((name, a));
    }
    let mut clients = Vec::new();
    for (i, (name, mut a)) in firsts.into_iter().enumerate() {
        wait_for(&mut a.1, |f| matches!(f, RelayFrame::Waiting)).await;
        let mut b = connect(&relay, &eps, 2 * i + 1).await.split();
        b.0.send_frame(&ClientFrame::Join { room: name })
            .await
            .unwrap();
        wait_for(&mut a.1, |f| matches!(f, RelayFrame::PeerJoined)).await;
        wait_for(&mut b.1, |f| matches!(f, RelayFrame::PeerJoined)).await;
        clients.push(a);
        clients.push(b);
    }
    let paired = relay.rss_kib();
    let cpu_before = relay.cpu_seconds();
    let epoch = Instant::now();
    let total = (clients.len() * args.messages) as u64;
    let received = Arc::new(AtomicU64::new(0));
    let per_client_interval = if args.rate == 0 {
        None
    } else {
        Some(Duration::from_secs_f64(
            clients.len() as f64 / args.rate as f64,
        ))
    };
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    let n_clients = clients.len();
    for (index, (mut tx, mut rx)) in clients.into_iter().enumerate() {
        let (m, size) = (args.messages, args.size.max(16));
        senders.push(tokio::spawn(async move {
            // Stagger the clients' first sends over one interval so the aggregate rate is smooth
            // (starting them all together would send the whole population as one burst).
            let mut tick = per_client_interval.map(|d| {
                let offset = d.mul_f64(index as f64 / n_clients as f64);
                let mut t = tokio::time::interval_at(tokio::time::Instant::now() + offset, d);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            for _ in 0..m {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let mut payload = vec![0x42u8; size];
                payload[..16].copy_from_slice(&(epoch.elapsed().as_nanos()).to_be_bytes());
                tx.send_frame(&ClientFrame::Payload(payload)).await.unwrap();
            }
            tx
        }));
        let received = received.clone();
        receivers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(m);
            while lat.len() < m {
                match rx.recv_frame().await {
                    Ok(Some(RelayFrame::Payload(p))) => {
                        let sent = u128::from_be_bytes(p[..16].try_into().unwrap());
                        lat.push((epoch.elapsed().as_nanos() - sent) as u64);
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            lat
        }));
    }
    let mut latencies = Vec::new();
    for r in receivers {
        latencies.extend(r.await.unwrap());
    }
    let elapsed = epoch.elapsed();
    let during = relay.rss_kib();
    let cpu_used = relay.cpu_seconds() - cpu_before;
    let relay_cpu = cpu_used / elapsed.as_secs_f64() * 100.0;
    let per_message = cpu_used * 1e6 / received.load(Ordering::Relaxed).max(1) as f64;
    let mut lost = 0u64;
    for s in senders {
        if let Ok(tx) = s.await {
            lost += tx.connection().stats().path.lost_packets;
        }
    }
    latencies.sort_unstable();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1e6
    };
    let row = format!(
        "| {} | {} | {} B | {}/{} | {} | {:.0} | {:.2} ms | **{:.2} ms** | {:.2} ms | {:.0}% of a core, {:.1} µs/msg | {:.1} → {:.1} → {:.1} MiB | {} |",
        kind.label(),
        args.rooms * 2,
        args.size,
        received.load(Ordering::Relaxed),
        total,
        if args.rate == 0 {
            "max".to_string()
        } else {
            format!("{}/s", args.rate)
        },
        received.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        relay_cpu,
        per_message,
        before as f64 / 1024.0,
        paired as f64 / 1024.0,
        during as f64 / 1024.0,
        lost,
    );
    (row, pct(0.99))
}

async fn wait_for(rx: &mut quic_relay::client::RelayReceiver, what: impl Fn(&RelayFrame) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let f = tokio::time::timeout_at(deadline, rx.recv_frame())
            .await
            .expect("relay answered")
            .unwrap()
            .unwrap();
        if what(&f) {
            return;
        }
    }
}

fn kinds(args: &Args) -> Vec<Kind> {
    if let Some(addr) = args.relay {
        let pin = quic_relay::cert::parse_fingerprint(&args.pin).expect("--pin of --relay");
        return vec![Kind::External(addr, pin)];
    }
    let mut kinds: Vec<Kind> = args.baseline.iter().cloned().map(Kind::Baseline).collect();
    let workers: Vec<Option<usize>> = if args.workers.is_empty() {
        vec![None]
    } else {
        args.workers.iter().map(|&w| Some(w)).collect()
    };
    for path in &args.compare {
        kinds.extend(workers.iter().map(|&w| Kind::Other(path.clone(), w)));
    }
    kinds.extend(workers.iter().map(|&w| Kind::This(w)));
    kinds
}

fn main() {
    let raw: Vec<String> = std::env::args().collect();
    let smoke = !raw.iter().any(|a| a == "--bench");
    let mut args = Args::parse_from(raw.iter().filter(|a| *a != "--bench"));
    if smoke {
        // `cargo test --all-targets`: prove the tool works, in a second or two.
        args = Args {
            rooms: 5,
            messages: 5,
            size: 64,
            rate: 0,
            idle: 0,
            hold: 0,
            workers: vec![1, 2],
            baseline: None,
            compare: Vec::new(),
            relay_bin: None,
            runs: 1,
            relay_cpus: None,
            endpoints: 2,
            relay: None,
            pin: String::new(),
            bench: false,
        };
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    println!(
        "CPU: {cpu}, {} cores; relay pinned to: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.relay_cpus.as_deref().unwrap_or("none")
    );
    rt.block_on(async {
        if args.idle > 0 || smoke {
            let idle_args = Args {
                idle: if smoke { 20 } else { args.idle },
                ..args.clone()
            };
            if !smoke {
                println!(
                    "| relay | idle connections | open time | relay RSS before | relay RSS with all open | per connection | relay CPU while idle |"
                );
                println!("|---|---|---|---|---|---|---|");
            }
            for _ in 0..args.runs {
                for kind in kinds(&args) {
                    let row = idle(&idle_args, &kind).await;
                    println!("{row}");
                }
            }
            if !smoke {
                return;
            }
        }
        println!(
            "| relay | clients | size | messages | offered rate | relayed/s | p50 | p99 | max | relay CPU | relay RSS idle → paired → loaded | packets lost |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        // Runs interleave the relays (A B A B ...), so drifting load on a shared machine hits
        // them alike.
        let kinds = kinds(&args);
        let mut p99s: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
        for _ in 0..args.runs {
            for (i, kind) in kinds.iter().enumerate() {
                let (row, p99) = traffic(&args, kind).await;
                println!("{row}");
                p99s[i].push(p99);
            }
        }
        let summary: Vec<(String, Vec<f64>)> = kinds
            .iter()
            .zip(p99s)
            .map(|(k, mut p)| {
                p.sort_by(f64::total_cmp);
                (k.label(), p)
            })
            .collect();
        if args.runs > 1 {
            println!();
            println!("| relay | p99 of each run (sorted) | median p99 |");
            println!("|---|---|---|");
            for (label, p99s) in summary {
                let list: Vec<String> = p99s.iter().map(|p| format!("{p:.2}")).collect();
                println!(
                    "| {label} | {} ms | **{:.2} ms** |",
                    list.join(", "),
                    p99s[p99s.len() / 2]
                );
            }
        }
    });
}
