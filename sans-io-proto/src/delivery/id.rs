//! Message ids (PROTOCOL.md §7.3): `stream: u64 || number: u64`, inside the encrypted body.

use rand_core::CryptoRngCore;

/// Length of an encoded id.
pub const MESSAGE_ID_LEN: usize = 16;

/// A reliable message's id: the sender's stream and the message's number in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    /// The sender's stream: random, fixed while the sender keeps its delivery state.
    pub stream: u64,
    /// 1, 2, 3, ... in the order the user created the messages.
    pub number: u64,
}

impl MessageId {
    /// The 16-byte encoding.
    pub fn to_bytes(self) -> [u8; MESSAGE_ID_LEN] {
        let mut out = [0u8; MESSAGE_ID_LEN];
        out[..8].copy_from_slice(&self.stream.to_be_bytes());
        out[8..].copy_from_slice(&self.number.to_be_bytes());
        out
    }

    /// Decodes 16 bytes.
    pub fn from_bytes(bytes: &[u8; MESSAGE_ID_LEN]) -> Self {
        let mut stream = [0u8; 8];
        let mut number = [0u8; 8];
        stream.copy_from_slice(&bytes[..8]);
        number.copy_from_slice(&bytes[8..]);
        MessageId {
            stream: u64::from_be_bytes(stream),
            number: u64::from_be_bytes(number),
        }
    }

    /// Lower-case hex of the 16 bytes (for logs and storage keys; ids are not secret).
    pub fn to_hex(self) -> String {
        self.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A random non-zero stream id (§7.3).
pub(crate) fn new_stream(rng: &mut impl CryptoRngCore) -> u64 {
    loop {
        let s = rng.next_u64();
        if s != 0 {
            return s;
        }
    }
}

impl core::fmt::Display for MessageId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:016x}:{}", self.stream, self.number)
    }
}
