//! The end-to-end envelope carried in every relay `Payload` (PROTOCOL.md §4):
//! `e2e_version: u8 || type: u8 || body`.

/// The end-to-end protocol version this crate speaks.
pub const E2E_VERSION: u8 = 0x01;

/// Length of the envelope prefix (version and type).
pub const PREFIX_LEN: usize = 2;

/// The type byte of an envelope (PROTOCOL.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeType {
    /// Handshake: nonce and ephemeral DH value (§5.2).
    Hello,
    /// Handshake: the sealed identity key (§5.4).
    Identity,
    /// Handshake: the sealed RSA-OAEP key encapsulation (§5.5).
    Encap,
    /// Handshake: key confirmation (§5.7).
    Confirm,
    /// A double-ratchet message (§6.6).
    Data,
}

impl EnvelopeType {
    /// The wire value.
    pub const fn to_byte(self) -> u8 {
        match self {
            EnvelopeType::Hello => 0x01,
            EnvelopeType::Identity => 0x02,
            EnvelopeType::Encap => 0x03,
            EnvelopeType::Confirm => 0x04,
            EnvelopeType::Data => 0x10,
        }
    }

    /// Parses the wire value.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(EnvelopeType::Hello),
            0x02 => Some(EnvelopeType::Identity),
            0x03 => Some(EnvelopeType::Encap),
            0x04 => Some(EnvelopeType::Confirm),
            0x10 => Some(EnvelopeType::Data),
            _ => None,
        }
    }

    /// Whether this type belongs to the handshake.
    pub const fn is_handshake(self) -> bool {
        !matches!(self, EnvelopeType::Data)
    }
}

/// Why an envelope could not even be classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Fewer than the two prefix bytes.
    #[error("envelope too short ({len} bytes)")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// A version this crate does not speak.
    #[error("unsupported end-to-end protocol version {0}")]
    UnsupportedVersion(u8),
    /// A type byte this crate does not know.
    #[error("unknown envelope type {0:#04x}")]
    UnknownType(u8),
    /// The body has the wrong size for its type.
    #[error("{kind:?} body has {len} bytes, expected {expected}")]
    BadLength {
        /// The envelope type.
        kind: EnvelopeType,
        /// Body bytes received.
        len: usize,
        /// What the type requires (the minimum, for `Data`).
        expected: usize,
    },
}

/// Splits an envelope into its type and body.
pub fn parse(envelope: &[u8]) -> Result<(EnvelopeType, &[u8]), EnvelopeError> {
    match envelope {
        [version, kind, body @ ..] => {
            if *version != E2E_VERSION {
                return Err(EnvelopeError::UnsupportedVersion(*version));
            }
            let kind = EnvelopeType::from_byte(*kind).ok_or(EnvelopeError::UnknownType(*kind))?;
            Ok((kind, body))
        }
        _ => Err(EnvelopeError::TooShort {
            len: envelope.len(),
        }),
    }
}

/// Starts an envelope of `kind` with room for `body_len` more bytes.
pub(crate) fn start(kind: EnvelopeType, body_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX_LEN + body_len);
    out.push(E2E_VERSION);
    out.push(kind.to_byte());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_others_are_rejected() {
        for byte in 0..=u8::MAX {
            match EnvelopeType::from_byte(byte) {
                Some(kind) => assert_eq!(kind.to_byte(), byte),
                None => assert_eq!(
                    parse(&[E2E_VERSION, byte]),
                    Err(EnvelopeError::UnknownType(byte))
                ),
            }
        }
    }

    #[test]
    fn short_and_foreign_versions_are_typed_errors() {
        assert_eq!(parse(&[]), Err(EnvelopeError::TooShort { len: 0 }));
        assert_eq!(parse(&[1]), Err(EnvelopeError::TooShort { len: 1 }));
        assert_eq!(parse(&[2, 0x10]), Err(EnvelopeError::UnsupportedVersion(2)));
        assert_eq!(parse(&[1, 0x10, 7]), Ok((EnvelopeType::Data, &[7u8][..])));
    }
}
