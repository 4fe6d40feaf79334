//! QUIC relay library: room logic and the quinn server.
#![forbid(unsafe_code)]
