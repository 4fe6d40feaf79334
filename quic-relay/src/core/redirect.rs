//! Room families: the rooms a full room's newcomers are redirected to (`name-2`, `name-3`, ...),
//! and the shard that owns a whole family, so a redirect never leaves its shard.

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

/// Bytes of a name that decide its shard: 64 minus the longest suffix `alternative` appends
/// (`-4294967295`, 11 bytes), so shortening a base for a suffix never touches them.
const KEY_PREFIX: usize = MAX_ROOM_NAME_LEN - 11;

/// The shard key of a room: its first 53 bytes with any trailing run of digits and `-` removed.
///
/// Every alternative of a room has the room's key, so a room and all its overflow rooms live in
/// one shard. Proof: `alternative(r, n)` is `r[..k] + "-n"` with `k = min(len r, 64 - len "-n")`
/// and `len "-n" <= 11`. If `len r >= 53` then `k >= 53` and both names share their first 53
/// bytes. Otherwise `k = len r` and the first 53 bytes of the alternative are `r` followed by
/// digits and dashes only, which the stripping removes together with `r`'s own trailing run.
pub fn shard_key(room: &RoomName) -> &str {
    let name = room.as_str();
    let prefix = &name[..name.len().min(KEY_PREFIX)];
    prefix.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
}

/// The shard (of `shards`) that owns `room` and all its alternatives: FNV-1a of the shard key.
pub fn shard_of(room: &RoomName, shards: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in shard_key(room).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % shards.max(1) as u64) as usize
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

    #[test]
    fn a_room_and_its_alternatives_share_a_shard() {
        let names = [
            "chat".to_owned(),
            "chat-2".to_owned(),
            "a-1-1-1".to_owned(),
            "12345".to_owned(),
            "-".to_owned(),
            "x".repeat(64),
            format!("{}-9", "y".repeat(62)),
            format!("{}1234567890", "z".repeat(50)),
            format!("q{}", "1".repeat(60)),
            format!("{}-{}", "w".repeat(52), "9".repeat(11)),
        ];
        for name in &names {
            let r = RoomName::new(name).unwrap();
            for n in [2, 3, 9, 10, 99, 1000, 65_536, u32::MAX] {
                let alt = alternative(&r, n);
                assert_eq!(shard_key(&alt), shard_key(&r), "{name} / {alt}");
                // Alternatives of alternatives too (a client may ask for `chat-2` directly).
                let alt2 = alternative(&alt, n);
                assert_eq!(shard_key(&alt2), shard_key(&r), "{name} / {alt2}");
                for shards in 1..9 {
                    assert_eq!(shard_of(&alt, shards), shard_of(&r, shards));
                }
            }
        }
    }

    #[test]
    fn unrelated_rooms_spread_over_the_shards() {
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            let r = RoomName::new(&format!("room{i}x")).unwrap();
            counts[shard_of(&r, 4)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
