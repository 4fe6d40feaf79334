//! Room names: 1..=64 bytes of ASCII `[A-Za-z0-9._-]`, case-sensitive (PROTOCOL.md §3).

use super::FrameError;

/// Longest room name in bytes.
pub const MAX_ROOM_NAME_LEN: usize = 64;

/// A room name that is valid by construction.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomName(String);

impl RoomName {
    /// Validates a room name.
    pub fn new(name: &str) -> Result<Self, FrameError> {
        let ok = !name.is_empty()
            && name.len() <= MAX_ROOM_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(RoomName(name.to_owned()))
        } else {
            Err(FrameError::InvalidRoomName)
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for RoomName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::fmt::Debug for RoomName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RoomName({:?})", self.0)
    }
}

impl core::str::FromStr for RoomName {
    type Err = FrameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RoomName::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        for ok in ["a", "Room-1", "x.y_z", &"r".repeat(64)] {
            assert!(RoomName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", " ", "a b", "ü", "a/b", &"r".repeat(65), "a\0"] {
            assert_eq!(
                RoomName::new(bad),
                Err(FrameError::InvalidRoomName),
                "{bad:?}"
            );
        }
    }
}
