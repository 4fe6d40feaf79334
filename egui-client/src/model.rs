//! Small value types shared by the app state, the network driver and the storage: message ids,
//! delivery states, the disappearing-messages timer and what a secure session shows.

use sans_io_proto::Fingerprint;

/// An opaque 16-byte message id. The app gives every message it writes an id; the driver maps the
/// protocol's own numbering (today the session's sequence numbers, v2's message ids) to it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// `prefix || counter`, both big-endian: unique within a run when `prefix` is random per run.
    pub fn from_parts(prefix: u64, counter: u64) -> Self {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&prefix.to_be_bytes());
        b[8..].copy_from_slice(&counter.to_be_bytes());
        MessageId(b)
    }
}

impl core::fmt::Debug for MessageId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "MessageId(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…")?;
        for b in &self.0[12..] {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// Where a message we wrote stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendState {
    /// Handed to the network thread.
    Sending,
    /// Encrypted and taken by the relay.
    Sent,
    /// The peer confirmed receipt.
    Delivered,
    /// Kept in the outbox until this contact is connected and approved.
    WaitingForPeer,
    /// Not sent, and why.
    Failed(String),
}

/// A per-conversation disappearing-messages timer, agreed by both sides through the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Timer {
    /// Messages stay.
    #[default]
    Off,
    /// 30 seconds.
    Secs30,
    /// 5 minutes.
    Min5,
    /// 1 hour.
    Hour1,
    /// 1 day.
    Day1,
    /// 1 week.
    Week1,
}

impl Timer {
    /// Every setting, shortest last-but-off first (the order of the menu).
    pub const ALL: [Timer; 6] = [
        Timer::Off,
        Timer::Secs30,
        Timer::Min5,
        Timer::Hour1,
        Timer::Day1,
        Timer::Week1,
    ];

    /// The timer in seconds (0 for off): what the protocol carries.
    pub fn secs(self) -> u32 {
        match self {
            Timer::Off => 0,
            Timer::Secs30 => 30,
            Timer::Min5 => 300,
            Timer::Hour1 => 3_600,
            Timer::Day1 => 86_400,
            Timer::Week1 => 604_800,
        }
    }

    /// The setting for a number of seconds, if it is one of the six.
    pub fn from_secs(secs: u32) -> Option<Timer> {
        Timer::ALL.into_iter().find(|t| t.secs() == secs)
    }

    /// How long a message lives, in ms (`None`: forever).
    pub fn lifetime_ms(self) -> Option<u64> {
        (self != Timer::Off).then(|| u64::from(self.secs()) * 1_000)
    }

    /// Words for the menu.
    pub fn label(self) -> &'static str {
        match self {
            Timer::Off => "off",
            Timer::Secs30 => "30 seconds",
            Timer::Min5 => "5 minutes",
            Timer::Hour1 => "1 hour",
            Timer::Day1 => "1 day",
            Timer::Week1 => "1 week",
        }
    }
}

/// One symbol of the per-session short authentication string (protocol v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SasSymbol {
    /// The emoji.
    pub emoji: String,
    /// Its word (the same on both screens).
    pub word: String,
}

/// What the driver reports when a session becomes secure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSession {
    /// The peer's identity fingerprint.
    pub fingerprint: Fingerprint,
    /// The 60-digit safety number of both identities (stays the same for this contact).
    pub safety_number: String,
    /// The per-session short authentication string (emoji and words), when the protocol has one
    /// that a relay cannot grind (v2); `None` before.
    pub sas: Option<Vec<SasSymbol>>,
    /// This session's key picture: 12×12 cells of 2 bits.
    pub key_picture: [[u8; 12]; 12],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_seconds_round_trip_and_refuse_other_values() {
        for t in Timer::ALL {
            assert_eq!(Timer::from_secs(t.secs()), Some(t));
        }
        assert_eq!(Timer::from_secs(31), None);
        assert_eq!(Timer::Off.lifetime_ms(), None);
        assert_eq!(Timer::Secs30.lifetime_ms(), Some(30_000));
    }

    #[test]
    fn message_ids_differ_by_prefix_and_counter() {
        assert_ne!(MessageId::from_parts(1, 2), MessageId::from_parts(1, 3));
        assert_ne!(MessageId::from_parts(1, 2), MessageId::from_parts(2, 2));
        assert_eq!(MessageId::from_parts(1, 2), MessageId::from_parts(1, 2));
    }
}
