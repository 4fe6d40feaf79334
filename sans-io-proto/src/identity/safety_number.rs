//! Safety numbers (PROTOCOL.md §7.1–7.2): what two people compare out of band to be sure that
//! nobody sits between them. The value depends only on the two identity keys, not on their order.

use sha2::{Digest, Sha256};

use crate::etm::derive_array;
use crate::labels;

use super::{EMOJI_TABLE, Emoji, Fingerprint, PublicIdentity};

/// Number of decimal digits in a safety number.
pub const SAFETY_NUMBER_DIGITS: usize = 60;
/// Hash iterations per identity (Signal's figure for its safety numbers).
const ITERATIONS: usize = 5200;
/// Number of emoji shown.
const EMOJI_COUNT: usize = 8;
/// Length of the QR payload: `"E2EC" || 0x01 || fp_lo || fp_hi`.
pub const QR_PAYLOAD_LEN: usize = 69;
const QR_MAGIC: &[u8; 4] = b"E2EC";
const QR_VERSION: u8 = 0x01;

/// The safety number of a pair of identities, in its three forms.
#[derive(Clone, PartialEq, Eq)]
pub struct SafetyNumber {
    digits: String,
    emoji: [Emoji; EMOJI_COUNT],
    qr: [u8; QR_PAYLOAD_LEN],
}

impl SafetyNumber {
    /// Computes the safety number of two identities (order does not matter).
    pub fn new(a: &PublicIdentity, b: &PublicIdentity) -> Self {
        let (da, db) = (digits_of(a.as_bytes()), digits_of(b.as_bytes()));
        let digits = if da <= db { da + &db } else { db + &da };

        let (fa, fb) = (a.fingerprint(), b.fingerprint());
        let (lo, hi) = if fa <= fb { (fa, fb) } else { (fb, fa) };
        let mut ikm = [0u8; 64];
        ikm[..32].copy_from_slice(lo.as_bytes());
        ikm[32..].copy_from_slice(hi.as_bytes());
        let emoji = emoji_of(&derive_array::<6>(b"", &ikm, labels::EMOJI));

        let mut qr = [0u8; QR_PAYLOAD_LEN];
        qr[..4].copy_from_slice(QR_MAGIC);
        qr[4] = QR_VERSION;
        qr[5..37].copy_from_slice(lo.as_bytes());
        qr[37..].copy_from_slice(hi.as_bytes());
        SafetyNumber { digits, emoji, qr }
    }

    /// The 60 digits, without spaces.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The 60 digits in 12 groups of five, four groups a line (how Signal shows them).
    pub fn display_groups(&self) -> String {
        let groups: Vec<&str> = (0..SAFETY_NUMBER_DIGITS / 5)
            .map(|i| &self.digits[i * 5..i * 5 + 5])
            .collect();
        groups
            .chunks(4)
            .map(|line| line.join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Eight emoji derived from both fingerprints.
    pub fn emoji(&self) -> &[Emoji; EMOJI_COUNT] {
        &self.emoji
    }

    /// The bytes to put in a QR code.
    pub fn qr_payload(&self) -> &[u8; QR_PAYLOAD_LEN] {
        &self.qr
    }

    /// Whether a scanned QR payload names the same pair of identities.
    pub fn matches_qr(&self, scanned: &[u8]) -> bool {
        scanned == self.qr.as_slice()
    }

    /// The two fingerprints carried by a QR payload, if it is well formed.
    pub fn parse_qr(scanned: &[u8]) -> Option<(Fingerprint, Fingerprint)> {
        if scanned.len() != QR_PAYLOAD_LEN || &scanned[..4] != QR_MAGIC || scanned[4] != QR_VERSION
        {
            return None;
        }
        let mut lo = [0u8; 32];
        let mut hi = [0u8; 32];
        lo.copy_from_slice(&scanned[5..37]);
        hi.copy_from_slice(&scanned[37..69]);
        Some((Fingerprint::from_bytes(lo), Fingerprint::from_bytes(hi)))
    }
}

impl core::fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("SafetyNumber").field(&self.digits).finish()
    }
}

/// 30 digits for one identity: iterate `h = H(h || ik_pub)` 5200 times from
/// `H("e2e-chat v1 safety" || ik_pub)`, then read six 5-byte big-endian integers mod 100000.
fn digits_of(ik_pub: &[u8]) -> String {
    let mut h: [u8; 32] = {
        let mut d = Sha256::new();
        d.update(labels::SAFETY);
        d.update(ik_pub);
        d.finalize().into()
    };
    for _ in 0..ITERATIONS {
        let mut d = Sha256::new();
        d.update(h);
        d.update(ik_pub);
        h = d.finalize().into();
    }
    let mut out = String::with_capacity(30);
    for chunk in h[..30].chunks_exact(5) {
        let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        out.push_str(&format!("{:05}", value % 100_000));
    }
    out
}

/// Eight 6-bit indices, most significant bit first, from 6 bytes.
fn emoji_of(bytes: &[u8; 6]) -> [Emoji; EMOJI_COUNT] {
    let bits = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    core::array::from_fn(|i| EMOJI_TABLE[((bits >> (42 - 6 * i)) & 0x3f) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_indices_are_read_most_significant_first() {
        // 0b000001 000010 000011 ... : bytes of the 48-bit value 0x04_20_C4_14_61_C8 etc.
        let value: u64 = (0..8u64).fold(0, |acc, i| (acc << 6) | (i + 1));
        let bytes: [u8; 6] = core::array::from_fn(|i| (value >> (40 - 8 * i)) as u8);
        let got = emoji_of(&bytes);
        for (i, emoji) in got.iter().enumerate() {
            assert_eq!(*emoji, EMOJI_TABLE[i + 1]);
        }
    }

    #[test]
    fn digits_are_thirty_decimal_digits() {
        let d = digits_of(b"any bytes");
        assert_eq!(d.len(), 30);
        assert!(d.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(d, digits_of(b"other bytes"));
    }

    #[test]
    fn malformed_qr_payloads_are_refused() {
        assert!(SafetyNumber::parse_qr(&[]).is_none());
        assert!(SafetyNumber::parse_qr(&[0u8; QR_PAYLOAD_LEN]).is_none());
        let mut ok = [0u8; QR_PAYLOAD_LEN];
        ok[..4].copy_from_slice(QR_MAGIC);
        ok[4] = QR_VERSION;
        assert!(SafetyNumber::parse_qr(&ok).is_some());
        ok[4] = 2;
        assert!(SafetyNumber::parse_qr(&ok).is_none());
    }
}
