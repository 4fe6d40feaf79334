//! Names of the rooms a full room's newcomers are redirected to: `name-2`, `name-3`, ...

use sans_io_proto::frame::{MAX_ROOM_NAME_LEN, RoomName};

/// The `n`-th alternative of `base` (`n >= 2`): `base-n`, with `base` shortened (at the end) when
/// needed so the result is still a valid room name of at most 64 bytes.
pub(crate) fn alternative(base: &RoomName, n: u32) -> RoomName {
    let suffix = format!("-{n}");
    let keep = MAX_ROOM_NAME_LEN
        .saturating_sub(suffix.len())
        .min(base.as_str().len());
    // Room names are ASCII, so any byte index is a char boundary.
    let name = format!("{}{suffix}", &base.as_str()[..keep]);
    // Always valid: ASCII base characters plus '-' and digits, 2..=64 bytes.
    RoomName::new(&name).unwrap_or_else(|_| base.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_and_long_names() {
        let r = RoomName::new("chat").unwrap();
        assert_eq!(alternative(&r, 2).as_str(), "chat-2");
        assert_eq!(alternative(&r, 1000).as_str(), "chat-1000");
        let long = RoomName::new(&"x".repeat(64)).unwrap();
        let alt = alternative(&long, 12);
        assert_eq!(alt.as_str().len(), 64);
        assert!(alt.as_str().ends_with("-12"));
    }
}
