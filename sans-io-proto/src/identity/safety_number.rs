//! Safety numbers (PROTOCOL.md §8.1, §8.4): what two people compare out of band to be sure that
//! nobody sits between them, independent of any session. The value depends only on the two identity
//! keys, not on their order. Each half is 30 digits (99.7 bits) after 5 201 SHA-256 evaluations, so a
//! relay that wants a second identity with the same half pays about 2¹¹² hashes.

use sha2::{Digest, Sha256};

use crate::labels;

use super::PublicIdentity;

/// Number of decimal digits in a safety number.
pub const SAFETY_NUMBER_DIGITS: usize = 60;
/// Hash iterations per identity (Signal's figure for its safety numbers).
const ITERATIONS: usize = 5200;
/// The first line of the QR code's text (§8.4).
pub const QR_TEXT_PREFIX: &str = "E2E-CHAT SAFETY NUMBER";

/// The safety number of a pair of identities.
#[derive(Clone, PartialEq, Eq)]
pub struct SafetyNumber {
    digits: String,
}

impl SafetyNumber {
    /// Computes the safety number of two identities (order does not matter; 10 402 hashes).
    pub fn new(a: &PublicIdentity, b: &PublicIdentity) -> Self {
        let (da, db) = (digits_of(a.as_bytes()), digits_of(b.as_bytes()));
        let digits = if da <= db { da + &db } else { db + &da };
        SafetyNumber { digits }
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

    /// The text the QR code carries (§8.4): a phone's ordinary scanner shows it as is.
    pub fn qr_text(&self) -> String {
        format!("{QR_TEXT_PREFIX}\n{}", self.display_groups())
    }

    /// Whether a scanned QR text names the same safety number (spaces and line ends ignored).
    pub fn matches_qr_text(&self, scanned: &str) -> bool {
        let Some(rest) = scanned.trim().strip_prefix(QR_TEXT_PREFIX) else {
            return false;
        };
        let digits: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
        digits == self.digits
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_thirty_decimal_digits() {
        let d = digits_of(b"any bytes");
        assert_eq!(d.len(), 30);
        assert!(d.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(d, digits_of(b"other bytes"));
    }

    #[test]
    fn qr_text_is_the_groups_under_a_prefix_and_round_trips() {
        let n = SafetyNumber {
            digits: (0..60).map(|i| char::from(b'0' + (i % 10) as u8)).collect(),
        };
        let text = n.qr_text();
        assert_eq!(
            text,
            "E2E-CHAT SAFETY NUMBER\n01234 56789 01234 56789\n01234 56789 01234 56789\n01234 56789 01234 56789"
        );
        assert!(n.matches_qr_text(&text));
        assert!(n.matches_qr_text(&text.replace('\n', " ")));
        assert!(!n.matches_qr_text(&text.replace("01234 56789\n01234", "01234 56788\n01234")));
        assert!(!n.matches_qr_text("01234"));
        assert!(!n.matches_qr_text(""));
    }
}
