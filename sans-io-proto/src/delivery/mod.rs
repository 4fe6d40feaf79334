//! The conversation layer (PROTOCOL.md §7.3–7.7, §7.10): message ids, the sender's outbox, the
//! receiver's exactly-once, in-order inbox, and the disappearing-messages timer, per peer identity.
//!
//! Pure state, no time or I/O: the [`crate::Client`] decides when entries are (re)sent and hands the
//! encoded state to the application to store before anything it implies leaves or is shown.

mod conversation;
mod id;
mod inbox;
mod outbox;
mod state;
mod timer;

use std::time::Duration;

pub(crate) use conversation::stored_of;
pub use conversation::{Conversation, Received};
pub(crate) use id::new_stream;
pub use id::{MESSAGE_ID_LEN, MessageId};
pub use inbox::{Inbox, MAX_STREAMS};
pub use outbox::{OutEntry, Outbox, OutboxError};
pub use state::StateError;
pub use timer::{TimerSetting, TimerSource};

/// Message numbers, stream positions and timer versions stay below this (§7.2): a peer cannot push
/// a counter to where the next increment would overflow.
pub const MAX_NUMBER: u64 = 1 << 63;
/// Most entries in one peer's outbox (§7.4).
pub const MAX_OUTBOX: usize = 1000;
/// Most bytes of content in one peer's outbox (§7.4).
pub const MAX_OUTBOX_BYTES: usize = 4 * 1024 * 1024;
/// Numbers in an outbox span less than this; the receiver holds at most `WINDOW - 1` entries beyond
/// a gap (§7.4, §7.5).
pub const WINDOW: u64 = 1024;
/// Most entries held beyond a gap (§7.5).
pub const MAX_HELD: usize = (WINDOW - 1) as usize;
/// Most bytes of content held beyond a gap (§7.5).
pub const MAX_HELD_BYTES: usize = 4 * 1024 * 1024;
/// Most shown entries waiting for the application's confirmation (§7.5).
pub const MAX_UNCONFIRMED: usize = 1024;
/// Most bytes of shown entries waiting for the application's confirmation (§7.5).
pub const MAX_UNCONFIRMED_BYTES: usize = 4 * 1024 * 1024;
/// An unacknowledged entry is sent again after this long in the same session (§7.4) ...
pub const RESEND_AFTER: Duration = Duration::from_secs(10);
/// ... the delay doubling up to this.
pub const RESEND_MAX: Duration = Duration::from_secs(60);

/// A stored reliable content: what the outbox sends and the inbox shows.
#[derive(Clone, PartialEq, Eq)]
pub enum Entry {
    /// A chat message.
    Text {
        /// The sender's disappearing-messages timer when it was written.
        expire_secs: u32,
        /// The text (wiped when dropped).
        text: zeroize::Zeroizing<String>,
    },
    /// A change of the disappearing-messages timer (§7.7).
    Timer {
        /// The setting's version.
        version: u64,
        /// The new timer.
        expire_secs: u32,
    },
    /// A reliable content of a type this version does not know (received only).
    Unknown {
        /// Its type byte.
        kind: u8,
    },
}

impl Entry {
    /// Bytes of content it holds (for the byte bounds).
    pub(crate) fn size(&self) -> usize {
        match self {
            Entry::Text { text, .. } => text.len(),
            Entry::Timer { .. } | Entry::Unknown { .. } => 0,
        }
    }
}

impl core::fmt::Debug for Entry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Entry::Text { expire_secs, text } => {
                write!(f, "Text({} bytes, expire {expire_secs} s)", text.len())
            }
            Entry::Timer {
                version,
                expire_secs,
            } => write!(f, "Timer(v{version}, {expire_secs} s)"),
            Entry::Unknown { kind } => write!(f, "Unknown({kind:#04x})"),
        }
    }
}

/// A reliable content with its number and the sender's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its number in the sender's stream.
    pub number: u64,
    /// The sender's clock when the user wrote it (ms since the Unix epoch; display only).
    pub sent_at_ms: u64,
    /// What it is.
    pub entry: Entry,
}

#[cfg(test)]
mod tests;
