//! The byte layout of the plaintexts inside sealed files (PROTOCOL.md §10.3): big-endian
//! integers, `len: u32 || UTF-8` strings with a limit each, and a reader that refuses anything
//! truncated, too long, not UTF-8, or followed by stray bytes.

use zeroize::Zeroizing;

/// A plaintext that does not follow the layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("damaged data: {0}")]
pub struct Malformed(pub &'static str);

/// Appends values to a buffer that is wiped when dropped.
#[derive(Default)]
pub struct Writer {
    buf: Zeroizing<Vec<u8>>,
}

impl Writer {
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// Big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Big-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Raw bytes of a fixed size.
    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// `len: u32 || bytes`, cut at `max` bytes on a character boundary (callers bound their
    /// strings before, so this only guards the format).
    pub fn str(&mut self, v: &str, max: usize) {
        let mut end = v.len().min(max);
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        self.u32(end as u32);
        self.buf.extend_from_slice(&v.as_bytes()[..end]);
    }
    /// The bytes written.
    pub fn finish(self) -> Zeroizing<Vec<u8>> {
        self.buf
    }
}

/// Reads values from untrusted bytes.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.rest.len() < n {
            return Err(Malformed("truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }
    /// Big-endian u16.
    pub fn u16(&mut self) -> Result<u16, Malformed> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    /// Big-endian u32.
    pub fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    /// Big-endian u64.
    pub fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    /// A string of at most `max` bytes.
    pub fn str(&mut self, max: usize) -> Result<String, Malformed> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(Malformed("string too long"));
        }
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Malformed("not UTF-8"))
    }
    /// A count of items each at least `min_item_len` bytes long, checked against what is left
    /// (so a planted count cannot make us allocate more than the file's size).
    pub fn count(&mut self, min_item_len: usize) -> Result<usize, Malformed> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_len.max(1)) > self.rest.len() {
            return Err(Malformed("count larger than the data"));
        }
        Ok(n)
    }
    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_truncation_fails() {
        let mut w = Writer::default();
        w.u8(1);
        w.u16(2);
        w.u32(3);
        w.u64(4);
        w.str("héllo", 64);
        w.bytes(&[9; 4]);
        let bytes = w.finish();
        type Values = (u8, u16, u32, u64, String, [u8; 4]);
        let read = |b: &[u8]| -> Result<Values, Malformed> {
            let mut r = Reader::new(b);
            let v = (
                r.u8()?,
                r.u16()?,
                r.u32()?,
                r.u64()?,
                r.str(64)?,
                r.array()?,
            );
            r.finish()?;
            Ok(v)
        };
        assert_eq!(read(&bytes).unwrap(), (1, 2, 3, 4, "héllo".into(), [9; 4]));
        for cut in 0..bytes.len() {
            assert!(read(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(read(&longer), Err(Malformed("trailing bytes")));
    }

    #[test]
    fn limits_utf8_and_counts_are_checked() {
        let mut w = Writer::default();
        w.str("abcdef", 64);
        assert_eq!(
            Reader::new(&w.finish()).str(3),
            Err(Malformed("string too long"))
        );
        assert_eq!(
            Reader::new(&[0, 0, 0, 2, 0xff, 0xfe]).str(8),
            Err(Malformed("not UTF-8"))
        );
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 1]).count(1).is_err());
        // The writer cuts on a character boundary.
        let mut w = Writer::default();
        w.str("éé", 3);
        assert_eq!(Reader::new(&w.finish()).str(3).unwrap(), "é");
    }
}
