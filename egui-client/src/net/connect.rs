//! Reaching the relay: the host looked up here (a name that does not resolve is a typo, not
//! retried), the pin given or read from the local relay's certificate file, and a relay started
//! in-process only when the app allows it ([`LocalRelay::StartIfNoneAnswers`]). The QUIC
//! transport (keep-alive, idle timeout: how fast a dead relay is noticed) is the connection
//! helper's, `quic_relay::client`.

use std::net::SocketAddr;
use std::time::Duration;

use quic_relay::client::{ConnectError, RelayConnection};
use quic_relay::server::{Relay, RelayConfig, RelayHandle};

use super::ConnectParams;
use crate::app::connect::{LocalRelay, RelayAddress};

/// How long one connection attempt may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an attempt failed, in the user's words.
pub(super) struct ConnectFailure {
    pub(super) reason: String,
    pub(super) retry: bool,
    pub(super) offer_local_relay: bool,
}

impl ConnectFailure {
    fn from_error(e: &ConnectError, addr: &RelayAddress) -> Self {
        let reason = match e {
            ConnectError::WrongPin => format!(
                "The relay at {addr} presented a different certificate than the pin. Check the pin (the relay prints it when it starts). \
                 If it is right, someone may be intercepting the connection."
            ),
            ConnectError::TimedOut(_) => {
                format!("The relay at {addr} did not answer. Is it running?")
            }
            ConnectError::Unreachable { reason, .. } => {
                format!("Could not reach the relay at {addr}: {reason}")
            }
            ConnectError::Io(e) => format!("Network error: {e}"),
        };
        ConnectFailure {
            reason,
            retry: !matches!(e, ConnectError::WrongPin),
            offer_local_relay: false,
        }
    }
}

/// Looks the host up (a name that does not resolve is not retried: it is a typo).
pub(super) async fn resolve(addr: &RelayAddress) -> Result<SocketAddr, ConnectFailure> {
    if let Ok(ip) = addr.host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, addr.port));
    }
    match tokio::net::lookup_host((addr.host.as_str(), addr.port)).await {
        Ok(mut found) => found.next().ok_or_else(|| ConnectFailure {
            reason: format!("The host name \"{}\" has no address.", addr.host),
            retry: false,
            offer_local_relay: false,
        }),
        Err(e) => Err(ConnectFailure {
            reason: format!(
                "Cannot find the host \"{}\" ({e}). Check the spelling of the relay address.",
                addr.host
            ),
            retry: false,
            offer_local_relay: false,
        }),
    }
}

/// Connects with the given or local pin; starts a relay here only when allowed.
pub(super) async fn connect(
    p: &ConnectParams,
    local_relay: &mut Option<RelayHandle>,
) -> Result<(RelayConnection, [u8; 32]), ConnectFailure> {
    let sock = resolve(&p.relay).await?;
    let local = p.pin.is_none() && sock.ip().is_loopback();
    if let Some(pin) = p.pin {
        return RelayConnection::connect(sock, pin, CONNECT_TIMEOUT)
            .await
            .map(|c| (c, pin))
            .map_err(|e| ConnectFailure::from_error(&e, &p.relay));
    }
    if !local {
        return Err(ConnectFailure {
            reason: format!(
                "Enter the certificate pin of the relay at {}: the relay prints it when it starts.",
                p.relay
            ),
            retry: false,
            offer_local_relay: false,
        });
    }
    let ours = local_relay
        .as_ref()
        .filter(|h| h.local_addr() == sock)
        .map(|h| h.fingerprint());
    let known = ours.or_else(|| quic_relay::cert::local_relay_pin(p.relay_cert_dir.as_deref()));
    if let Some(pin) = known {
        match RelayConnection::connect(sock, pin, CONNECT_TIMEOUT).await {
            Ok(c) => return Ok((c, pin)),
            // A relay with another certificate answers here: not ours to replace.
            Err(e @ ConnectError::WrongPin) => {
                return Err(ConnectFailure::from_error(&e, &p.relay));
            }
            Err(_) => {} // nobody there (or a stale certificate file)
        }
    }
    if p.local_relay != LocalRelay::StartIfNoneAnswers {
        return Err(ConnectFailure {
            reason: format!(
                "No relay answers at {}. Check the address (the default is {}).",
                p.relay,
                crate::DEFAULT_RELAY
            ),
            retry: false,
            offer_local_relay: true,
        });
    }
    if local_relay.as_ref().is_none_or(|h| h.local_addr() != sock) {
        if let Some(old) = local_relay.take() {
            old.shutdown().await;
        }
        let config = RelayConfig {
            listen: sock,
            cert_dir: p
                .relay_cert_dir
                .clone()
                .or_else(quic_relay::cert::default_cert_dir),
            ..RelayConfig::default()
        };
        let handle = Relay::bind(config).await.map_err(|e| ConnectFailure {
            reason: format!(
                "No relay answered at {} and starting one there failed: {e}",
                p.relay
            ),
            retry: true,
            offer_local_relay: false,
        })?;
        tracing::info!(addr = %handle.local_addr(), "started an in-process relay");
        *local_relay = Some(handle);
    }
    let pin = local_relay
        .as_ref()
        .map(|h| h.fingerprint())
        .unwrap_or_default();
    RelayConnection::connect(sock, pin, CONNECT_TIMEOUT)
        .await
        .map(|c| (c, pin))
        .map_err(|e| ConnectFailure::from_error(&e, &p.relay))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ip_addresses_need_no_lookup_and_bad_names_are_named() {
        let ip = RelayAddress {
            host: "::1".into(),
            port: 9,
        };
        assert_eq!(resolve(&ip).await.ok(), Some("[::1]:9".parse().unwrap()));
        let bad = RelayAddress {
            host: "nonsense.invalid".into(),
            port: 4433,
        };
        let Err(e) = resolve(&bad).await else {
            panic!("resolved")
        };
        assert!(
            e.reason
                .contains("Cannot find the host \"nonsense.invalid\"")
        );
        assert!(!e.retry && !e.offer_local_relay);
    }
}
