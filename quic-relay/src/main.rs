//! `quic-relay`: the relay server binary.
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use quic_relay::cert::fingerprint_hex;
use quic_relay::core::Limits;
use quic_relay::server::{Relay, RelayConfig, default_workers};

/// Relay for the end-to-end encrypted chat: rooms of two clients over QUIC. It forwards opaque
/// ciphertext between the two seats of a room and never holds a key or stores a message.
/// PROTOCOL.md §3 describes every limit below.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    listen: IpAddr,
    /// UDP port to listen on (0 picks a free one).
    #[arg(long, default_value_t = quic_relay::DEFAULT_PORT)]
    port: u16,
    /// Directory of the certificate and key (created on first start) [default: the user's data
    /// directory, e.g. ~/.local/share/e2e-chat/relay].
    #[arg(long)]
    cert_dir: Option<PathBuf>,
    /// Worker threads, and room shards (rooms are spread over them by name) [default: the
    /// number of cores].
    #[arg(long)]
    workers: Option<usize>,
    /// Most connections at once, counted from accept (with or without a stream).
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Memory bound in MiB: every connection's reservation plus every frame held. New
    /// connections are refused and clients are read more slowly before it would be exceeded.
    #[arg(long, default_value_t = Limits::default().max_memory >> 20)]
    max_memory: usize,
    /// Most rooms at once (split evenly over the workers).
    #[arg(long, default_value_t = Limits::default().max_rooms)]
    max_rooms: usize,
    /// Joins per second per connection (sustained; the burst is twice this).
    #[arg(long, default_value_t = Limits::default().joins_per_second)]
    joins_per_second: f64,
    /// Frames per second per connection (sustained; the burst is twice this).
    #[arg(long, default_value_t = Limits::default().frames_per_second)]
    frames_per_second: f64,
    /// Payload KiB per second per connection (sustained; the burst is half a second's worth).
    #[arg(long, default_value_t = Limits::default().bytes_per_second / 1024.0)]
    kib_per_second: f64,
    /// A seat's outbound queue in KiB; when it is full the relay stops reading the sender.
    #[arg(long, default_value_t = Limits::default().queue_bytes >> 10)]
    queue_kib: usize,
    /// Seconds a client may leave everything sent to it unread before it is closed.
    #[arg(long, default_value_t = Limits::default().write_stall_timeout.as_secs())]
    stall_timeout_secs: u64,
    /// Seconds a new connection has for its handshake, and then to open its stream.
    #[arg(long, default_value_t = Limits::default().stream_timeout.as_secs())]
    stream_timeout_secs: u64,
    /// Seconds without a frame after which a connection is closed.
    #[arg(long, default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout_secs: u64,
    /// Log filter (error, warn, info, debug, trace, or a tracing filter).
    #[arg(long, default_value = "info")]
    log: String,
}

impl Args {
    fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            max_memory: self.max_memory.saturating_mul(1 << 20),
            max_rooms: self.max_rooms,
            joins_per_second: self.joins_per_second,
            join_burst: self.joins_per_second * 2.0,
            frames_per_second: self.frames_per_second,
            frame_burst: self.frames_per_second * 2.0,
            bytes_per_second: self.kib_per_second * 1024.0,
            byte_burst: self.kib_per_second * 512.0,
            queue_bytes: self.queue_kib.saturating_mul(1024),
            write_stall_timeout: Duration::from_secs(self.stall_timeout_secs),
            stream_timeout: Duration::from_secs(self.stream_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            ..Limits::default()
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let workers = args.workers.unwrap_or_else(default_workers).max(1);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args, workers))
}

async fn run(args: Args, workers: usize) -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into()),
        )
        .init();
    let Some(cert_dir) = args
        .cert_dir
        .clone()
        .or_else(quic_relay::cert::default_cert_dir)
    else {
        eprintln!("error: no data directory found for the certificate; pass --cert-dir");
        return std::process::ExitCode::FAILURE;
    };
    let config = RelayConfig {
        listen: SocketAddr::new(args.listen, args.port),
        cert_dir: Some(cert_dir.clone()),
        limits: args.limits(),
        workers,
    };
    let relay = match Relay::bind(config).await {
        Ok(relay) => relay,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "e2e-chat relay listening on {} (UDP/QUIC)",
        relay.local_addr()
    );
    println!("certificate: {}", cert_dir.display());
    println!(
        "certificate SHA-256 pin: {}",
        fingerprint_hex(&relay.fingerprint())
    );
    println!("Press Ctrl-C to stop.");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot listen for Ctrl-C: {e}");
    }
    println!("shutting down...");
    relay.shutdown().await;
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_flags_give_the_default_limits_and_they_are_consistent() {
        let args = Args::parse_from(["quic-relay"]);
        assert_eq!(args.limits(), Limits::default());
        assert_eq!(args.limits().validate(), Ok(()));
    }
}
