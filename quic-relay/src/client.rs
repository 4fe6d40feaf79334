//! A client's connection to the relay: QUIC with a pinned certificate, one bidirectional stream,
//! frames both ways. Shared by the integration tests, the load tool and the desktop client.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sans_io_proto::frame::{ClientFrame, FrameDecoder, FrameError, RelayFrame};

use crate::pin::client_config;

/// Why connecting failed, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The relay presented a certificate with another fingerprint.
    #[error("the relay's certificate does not match the pin (wrong pin, or someone in the middle)")]
    WrongPin,
    /// Nothing answered in time.
    #[error("the relay at {0} did not answer in time")]
    TimedOut(SocketAddr),
    /// The connection was refused or failed.
    #[error("could not connect to the relay at {addr}: {reason}")]
    Unreachable {
        /// Where.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// A local socket could not be opened.
    #[error("local network error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why receiving stopped.
#[derive(Debug, thiserror::Error)]
pub enum RecvError {
    /// The relay sent bytes that are not frames.
    #[error("the relay broke the framing: {0}")]
    Framing(#[from] FrameError),
    /// The connection failed.
    #[error("connection lost: {0}")]
    Connection(String),
}

/// An open relay connection.
pub struct RelayConnection {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
}

impl RelayConnection {
    /// Connects to `addr`, trusting only the certificate whose SHA-256 is `pin`, and opens the
    /// frame stream (announced to the relay with a Ping, since a QUIC stream is invisible to the
    /// other side until something is written on it).
    pub async fn connect(
        addr: SocketAddr,
        pin: [u8; 32],
        timeout: Duration,
    ) -> Result<Self, ConnectError> {
        let bind: SocketAddr = if addr.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        }
        .parse()
        .map_err(|_| ConnectError::Unreachable {
            addr,
            reason: "bad local address".into(),
        })?;
        let endpoint = crate::socket::client_endpoint(bind)?;
        Self::connect_on(&endpoint, addr, pin, timeout).await
    }

    /// Like [`Self::connect`], on an existing client endpoint (one UDP socket can carry many
    /// connections: the load tool opens thousands).
    pub async fn connect_on(
        endpoint: &quinn::Endpoint,
        addr: SocketAddr,
        pin: [u8; 32],
        timeout: Duration,
    ) -> Result<Self, ConnectError> {
        let (config, mismatch) = client_config(pin).map_err(|e| ConnectError::Unreachable {
            addr,
            reason: e.to_string(),
        })?;
        let unreachable = |e: &dyn std::fmt::Display| ConnectError::Unreachable {
            addr,
            reason: e.to_string(),
        };
        let attempt = async {
            let connecting = endpoint
                .connect_with(config, addr, crate::SERVER_NAME)
                .map_err(|e| unreachable(&e))?;
            let connection = connecting.await.map_err(|e| {
                if mismatch.load(Ordering::SeqCst) {
                    ConnectError::WrongPin
                } else {
                    unreachable(&e)
                }
            })?;
            let (mut send, recv) = connection.open_bi().await.map_err(|e| unreachable(&e))?;
            send.write_all(&ClientFrame::Ping(0).to_bytes())
                .await
                .map_err(|e| unreachable(&e))?;
            Ok::<_, ConnectError>((connection, send, recv))
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok((connection, send, recv))) => Ok(RelayConnection {
                endpoint: endpoint.clone(),
                connection,
                send,
                recv,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) if mismatch.load(Ordering::SeqCst) => Err(ConnectError::WrongPin),
            Err(_) => Err(ConnectError::TimedOut(addr)),
        }
    }

    /// Splits into a sending and a receiving half, for two tasks.
    pub fn split(self) -> (RelaySender, RelayReceiver) {
        (
            RelaySender {
                send: self.send,
                connection: self.connection,
                _endpoint: self.endpoint,
            },
            RelayReceiver {
                recv: self.recv,
                decoder: FrameDecoder::new(),
            },
        )
    }
}

/// The sending half.
pub struct RelaySender {
    send: quinn::SendStream,
    connection: quinn::Connection,
    _endpoint: quinn::Endpoint,
}

impl RelaySender {
    /// Sends one frame.
    pub async fn send_frame(&mut self, frame: &ClientFrame) -> Result<(), RecvError> {
        self.send_bytes(&frame.to_bytes()).await
    }

    /// Sends already-encoded frame bytes (as produced by the sans-IO client).
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), RecvError> {
        self.send
            .write_all(bytes)
            .await
            .map_err(|e| RecvError::Connection(e.to_string()))
    }

    /// Closes the connection politely.
    pub fn close(&self) {
        self.connection.close(0u32.into(), b"bye");
    }

    /// The underlying connection (for statistics and closing).
    pub fn connection(&self) -> &quinn::Connection {
        &self.connection
    }
}

/// The receiving half.
pub struct RelayReceiver {
    recv: quinn::RecvStream,
    decoder: FrameDecoder<RelayFrame>,
}

impl RelayReceiver {
    /// The next chunk of raw stream bytes (for a sans-IO client that decodes itself); `None` at
    /// the end of the stream.
    pub async fn recv_bytes(&mut self) -> Result<Option<Vec<u8>>, RecvError> {
        match self.recv.read_chunk(64 * 1024, true).await {
            Ok(Some(chunk)) => Ok(Some(chunk.bytes.to_vec())),
            Ok(None) => Ok(None),
            Err(e) => Err(RecvError::Connection(e.to_string())),
        }
    }

    /// The next whole frame; `None` at the end of the stream.
    pub async fn recv_frame(&mut self) -> Result<Option<RelayFrame>, RecvError> {
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                return Ok(Some(frame));
            }
            match self.recv_bytes().await? {
                Some(bytes) => self.decoder.push(&bytes),
                None => return Ok(None),
            }
        }
    }
}
