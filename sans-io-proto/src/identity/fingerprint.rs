//! Identity fingerprint: `fp(ik_pub) = SHA-256("e2e-chat v1 identity" || ik_pub)` (PROTOCOL.md §8.1).

use sha2::{Digest, Sha256};

use crate::labels;

/// The SHA-256 fingerprint of an identity public key. Public data: it is what the contact book and
/// the delivery state key their records by. (The safety number is derived from the public keys
/// themselves, not from this value: PROTOCOL.md §8.1.)
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

/// A fingerprint string that is not 64 hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a fingerprint is 64 hexadecimal digits")]
pub struct FingerprintParseError;

impl Fingerprint {
    /// The fingerprint of the canonical 260-byte encoding of an identity public key.
    pub fn of_public_key_bytes(ik_pub: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(labels::FINGERPRINT);
        h.update(ik_pub);
        Fingerprint(h.finalize().into())
    }

    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Fingerprint(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hexadecimal, 64 digits.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(hex_digit(b >> 4));
            s.push(hex_digit(b & 0x0f));
        }
        s
    }

    /// Parses 64 hexadecimal digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, FingerprintParseError> {
        let s = s.trim().as_bytes();
        if s.len() != 64 {
            return Err(FingerprintParseError);
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
            let hi = hex_value(pair[0]).ok_or(FingerprintParseError)?;
            let lo = hex_value(pair[1]).ok_or(FingerprintParseError)?;
            *byte = (hi << 4) | lo;
        }
        Ok(Fingerprint(out))
    }
}

impl core::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let hex = self.to_hex();
        write!(f, "Fingerprint({}…)", &hex[..16])
    }
}

impl core::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects_garbage() {
        let fp = Fingerprint::of_public_key_bytes(b"some key");
        assert_eq!(Fingerprint::from_hex(&fp.to_hex()), Ok(fp));
        assert_eq!(Fingerprint::from_hex(&fp.to_hex().to_uppercase()), Ok(fp));
        assert_eq!(Fingerprint::from_hex("00"), Err(FingerprintParseError));
        assert_eq!(
            Fingerprint::from_hex(&"g".repeat(64)),
            Err(FingerprintParseError)
        );
        assert_eq!(
            Fingerprint::from_hex(&"é".repeat(32)),
            Err(FingerprintParseError)
        );
    }

    #[test]
    fn label_is_part_of_the_hash() {
        let plain: [u8; 32] = Sha256::digest(b"k").into();
        assert_ne!(Fingerprint::of_public_key_bytes(b"k").as_bytes(), &plain);
    }
}
