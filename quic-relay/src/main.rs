//! `quic-relay`: the relay server binary.
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use quic_relay::cert::fingerprint_hex;
use quic_relay::core::Limits;
use quic_relay::server::{Relay, RelayConfig};

/// Relay for the end-to-end encrypted chat: rooms of two clients over QUIC. It forwards opaque
/// ciphertext between the two seats of a room and never holds a key or stores a message.
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
    /// Most connections at once.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Most rooms at once.
    #[arg(long, default_value_t = Limits::default().max_rooms)]
    max_rooms: usize,
    /// Joins per second per connection (sustained; the burst is twice this).
    #[arg(long, default_value_t = Limits::default().joins_per_second)]
    joins_per_second: f64,
    /// Payload frames per second per connection (sustained; the burst is twice this).
    #[arg(long, default_value_t = Limits::default().payloads_per_second)]
    payloads_per_second: f64,
    /// Seconds without traffic after which a connection is closed.
    #[arg(long, default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout_secs: u64,
    /// Frames queued per connection before a slow reader is disconnected.
    #[arg(long, default_value_t = 1024)]
    queue_len: usize,
    /// Log filter (error, warn, info, debug, trace, or a tracing filter).
    #[arg(long, default_value = "info")]
    log: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
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
    let limits = Limits {
        max_connections: args.max_connections,
        max_rooms: args.max_rooms,
        joins_per_second: args.joins_per_second,
        join_burst: args.joins_per_second * 2.0,
        payloads_per_second: args.payloads_per_second,
        payload_burst: args.payloads_per_second * 2.0,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs.max(1)),
        ..Limits::default()
    };
    let config = RelayConfig {
        listen: SocketAddr::new(args.listen, args.port),
        cert_dir: Some(cert_dir.clone()),
        limits,
        queue_len: args.queue_len,
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
