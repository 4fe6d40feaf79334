//! The short authentication string (PROTOCOL.md §8.2): 48 bits of `sas_okm`, bound to one key
//! exchange by the Hello commitments (§5.2), shown as eight emoji with their names as words.
//!
//! A relay that sits in the middle gets one try per key exchange: the two victims' strings match
//! with probability 2⁻⁴⁸ whatever it computes beforehand (`tests/sas_grinding.rs`).

use super::{EMOJI_TABLE, Emoji};

/// Number of emoji shown.
pub const SAS_EMOJI_COUNT: usize = 8;
/// Bits of the short authentication string.
pub const SAS_BITS: u32 = 48;

/// The short authentication string of one session.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortAuthString {
    bytes: [u8; 6],
}

impl ShortAuthString {
    /// From `sas_okm[0..6]`.
    pub(crate) fn from_bytes(bytes: [u8; 6]) -> Self {
        ShortAuthString { bytes }
    }

    /// The 48 bits as an integer (most significant bit first).
    pub fn value(&self) -> u64 {
        self.bytes
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }

    /// The eight emoji: 6-bit indices, most significant first, into [`EMOJI_TABLE`].
    pub fn emoji(&self) -> [Emoji; SAS_EMOJI_COUNT] {
        let bits = self.value();
        core::array::from_fn(|i| EMOJI_TABLE[((bits >> (42 - 6 * i)) & 0x3f) as usize])
    }

    /// The emoji names, the words to read aloud.
    pub fn words(&self) -> [&'static str; SAS_EMOJI_COUNT] {
        self.emoji().map(|e| e.name)
    }
}

impl core::fmt::Debug for ShortAuthString {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.words()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_read_most_significant_first() {
        let value: u64 = (0..8u64).fold(0, |acc, i| (acc << 6) | (i + 1));
        let bytes: [u8; 6] = core::array::from_fn(|i| (value >> (40 - 8 * i)) as u8);
        let sas = ShortAuthString::from_bytes(bytes);
        assert_eq!(sas.value(), value);
        for (i, emoji) in sas.emoji().iter().enumerate() {
            assert_eq!(*emoji, EMOJI_TABLE[i + 1]);
        }
        assert_eq!(sas.words()[0], EMOJI_TABLE[1].name);
    }
}
