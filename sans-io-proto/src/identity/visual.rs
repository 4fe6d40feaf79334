//! Per-session key picture (PROTOCOL.md §8.3): 36 bytes of `sas_okm` (bound to the key exchange by
//! the Hello commitments, §5.2) drawn as a 12×12 grid of four colours, like the key image of
//! Telegram's secret chats. Both sides draw the same picture iff they derived the same `sas_okm`.

/// Cells per side of the grid.
pub const KEY_VISUAL_SIZE: usize = 12;

/// The grid: each cell is a colour index 0..=3.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyVisual {
    bytes: [u8; 36],
}

impl KeyVisual {
    /// From `sas_okm[6..42]`.
    pub(crate) fn from_bytes(bytes: [u8; 36]) -> Self {
        KeyVisual { bytes }
    }

    /// The colour index (0..=3) of the cell at `row`, `col`, read two bits a cell, most
    /// significant first, row by row. Out-of-range coordinates give 0.
    pub fn cell(&self, row: usize, col: usize) -> u8 {
        if row >= KEY_VISUAL_SIZE || col >= KEY_VISUAL_SIZE {
            return 0;
        }
        let index = row * KEY_VISUAL_SIZE + col;
        let byte = self.bytes[index / 4];
        (byte >> (6 - 2 * (index % 4))) & 0b11
    }

    /// All cells, row by row.
    pub fn cells(&self) -> [[u8; KEY_VISUAL_SIZE]; KEY_VISUAL_SIZE] {
        core::array::from_fn(|row| core::array::from_fn(|col| self.cell(row, col)))
    }

    /// The raw 36 bytes (e.g. for hex display).
    pub fn as_bytes(&self) -> &[u8; 36] {
        &self.bytes
    }
}

impl core::fmt::Debug for KeyVisual {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyVisual(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_two_bits_each_msb_first() {
        let mut bytes = [0u8; 36];
        bytes[0] = 0b11_10_01_00;
        bytes[35] = 0b00_00_00_11;
        let v = KeyVisual::from_bytes(bytes);
        assert_eq!(
            [v.cell(0, 0), v.cell(0, 1), v.cell(0, 2), v.cell(0, 3)],
            [3, 2, 1, 0]
        );
        assert_eq!(v.cell(11, 11), 3);
        assert_eq!(v.cell(12, 0), 0);
        assert_eq!(v.cells()[0][0], 3);
    }
}
