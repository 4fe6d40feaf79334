//! Small value types shared by the app state, the network driver and the storage: message ids,
//! delivery states, the disappearing-messages timer and what a secure session shows.

use sans_io_proto::Fingerprint;
use sans_io_proto::session::MAX_EXPIRE_SECS;

/// A message's 16-byte id: the protocol's own id (PROTOCOL.md §7.3: the sender's `stream` and the
/// message's `number`, big-endian), the same on both sides and across restarts. A message the
/// protocol refused (too long, outbox full) never got one: it keeps the app's local id, drawn from
/// a random per-run prefix ([`MessageId::from_parts`]).
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

    /// The protocol's id (the same bytes).
    pub fn to_protocol(self) -> sans_io_proto::MessageId {
        sans_io_proto::MessageId::from_bytes(&self.0)
    }
}

impl From<sans_io_proto::MessageId> for MessageId {
    fn from(id: sans_io_proto::MessageId) -> Self {
        MessageId(id.to_bytes())
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

/// Where a message we wrote stands (PROTOCOL.md §7.4: what the user sees of an outbox entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendState {
    /// In the outbox; the protocol client has not said more yet.
    Sending,
    /// Encrypted and written to the relay connection in the current session.
    Sent,
    /// The peer acknowledged it: stored on its side.
    Delivered,
    /// In the outbox until this contact is connected (sent again, exactly once, when they are).
    WaitingForPeer,
    /// Refused when written (too long, outbox full), and why: it was never queued.
    Failed(String),
}

impl From<sans_io_proto::MessageState> for SendState {
    fn from(s: sans_io_proto::MessageState) -> Self {
        match s {
            sans_io_proto::MessageState::Waiting => SendState::WaitingForPeer,
            sans_io_proto::MessageState::Sent => SendState::Sent,
            sans_io_proto::MessageState::Delivered => SendState::Delivered,
        }
    }
}

/// A per-conversation disappearing-messages timer, agreed by both sides through the protocol
/// (PROTOCOL.md §7.7). The menu offers six settings; a peer may set any other number of seconds up
/// to a year ([`Timer::Other`]), which is honoured and shown as such.
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
    /// Another number of seconds (1 ..= one year), set by a peer's app.
    Other(u32),
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
            Timer::Other(s) => s,
        }
    }

    /// The setting for a number of seconds: one of the six, or [`Timer::Other`]; `None` above the
    /// protocol's one-year limit.
    pub fn from_secs(secs: u32) -> Option<Timer> {
        if secs > MAX_EXPIRE_SECS {
            return None;
        }
        Some(
            Timer::ALL
                .into_iter()
                .find(|t| t.secs() == secs)
                .unwrap_or(Timer::Other(secs)),
        )
    }

    /// How long a message lives, in ms (`None`: forever).
    pub fn lifetime_ms(self) -> Option<u64> {
        (self != Timer::Off).then(|| u64::from(self.secs()) * 1_000)
    }

    /// Words for the menu.
    pub fn label(self) -> String {
        match self {
            Timer::Off => "off".into(),
            Timer::Secs30 => "30 seconds".into(),
            Timer::Min5 => "5 minutes".into(),
            Timer::Hour1 => "1 hour".into(),
            Timer::Day1 => "1 day".into(),
            Timer::Week1 => "1 week".into(),
            Timer::Other(s) => {
                let (n, unit) = match s {
                    s if s % 86_400 == 0 => (s / 86_400, "day"),
                    s if s % 3_600 == 0 => (s / 3_600, "hour"),
                    s if s % 60 == 0 => (s / 60, "minute"),
                    s => (s, "second"),
                };
                format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
            }
        }
    }
}

/// One symbol of the key exchange's short authentication string (PROTOCOL.md §8.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SasSymbol {
    /// The emoji.
    pub emoji: String,
    /// Its name: the word to read aloud (the same on both screens).
    pub word: String,
}

/// What the driver reports when a session becomes secure: what to compare (PROTOCOL.md §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSession {
    /// The peer's identity fingerprint.
    pub fingerprint: Fingerprint,
    /// The 60-digit safety number of both identities (stays the same for this contact, §8.1).
    pub safety_number: String,
    /// The text of the QR code, exactly `SafetyNumber::qr_text()` (§8.4).
    pub qr_text: String,
    /// This key exchange's short authentication string: 8 emoji and their words (§8.2).
    pub sas: Vec<SasSymbol>,
    /// This key exchange's key picture: 12×12 cells of 2 bits (§8.3).
    pub key_picture: [[u8; 12]; 12],
}

impl PeerSession {
    /// From the protocol's values.
    pub fn new(
        fingerprint: Fingerprint,
        safety_number: &sans_io_proto::SafetyNumber,
        sas: &sans_io_proto::ShortAuthString,
        key_visual: &sans_io_proto::identity::KeyVisual,
    ) -> Self {
        PeerSession {
            fingerprint,
            safety_number: safety_number.digits().to_owned(),
            qr_text: safety_number.qr_text(),
            sas: sas
                .emoji()
                .iter()
                .map(|e| SasSymbol {
                    emoji: e.symbol.to_owned(),
                    word: e.name.to_owned(),
                })
                .collect(),
            key_picture: key_visual.cells(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_seconds_round_trip_and_refuse_other_values() {
        for t in Timer::ALL {
            assert_eq!(Timer::from_secs(t.secs()), Some(t));
        }
        // Another value a peer set is kept as such, up to the protocol's one-year limit.
        assert_eq!(Timer::from_secs(31), Some(Timer::Other(31)));
        assert_eq!(Timer::Other(31).label(), "31 seconds");
        assert_eq!(Timer::Other(7_200).label(), "2 hours");
        assert_eq!(Timer::Other(86_400 * 3).label(), "3 days");
        assert_eq!(
            Timer::from_secs(MAX_EXPIRE_SECS),
            Some(Timer::Other(MAX_EXPIRE_SECS))
        );
        assert_eq!(Timer::from_secs(MAX_EXPIRE_SECS + 1), None);
        assert_eq!(Timer::Off.lifetime_ms(), None);
        assert_eq!(Timer::Secs30.lifetime_ms(), Some(30_000));
        assert_eq!(Timer::Other(31).lifetime_ms(), Some(31_000));
    }

    #[test]
    fn ids_are_the_protocols_bytes_and_states_map_one_to_one() {
        let id = sans_io_proto::MessageId {
            stream: 0x0102_0304_0506_0708,
            number: 9,
        };
        let ours = MessageId::from(id);
        assert_eq!(ours, MessageId::from_parts(0x0102_0304_0506_0708, 9));
        assert_eq!(ours.to_protocol(), id);
        use sans_io_proto::MessageState as M;
        assert_eq!(SendState::from(M::Waiting), SendState::WaitingForPeer);
        assert_eq!(SendState::from(M::Sent), SendState::Sent);
        assert_eq!(SendState::from(M::Delivered), SendState::Delivered);
    }

    #[test]
    fn message_ids_differ_by_prefix_and_counter() {
        assert_ne!(MessageId::from_parts(1, 2), MessageId::from_parts(1, 3));
        assert_ne!(MessageId::from_parts(1, 2), MessageId::from_parts(2, 2));
        assert_eq!(MessageId::from_parts(1, 2), MessageId::from_parts(1, 2));
    }
}
