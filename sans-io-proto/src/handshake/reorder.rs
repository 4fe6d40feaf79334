//! What a handshake keeps while the relay reorders (PROTOCOL.md §5.10): one slot per handshake
//! message type that arrived before its turn, and the Data envelopes that arrived before the session
//! existed.

use crate::envelope::EnvelopeType;

use super::HandshakeError;

/// How many Data envelopes are kept while the handshake finishes (PROTOCOL.md §5.10).
pub const MAX_EARLY_DATA: usize = 16;

/// Copies of one later message type kept while the attempt is unknown (before the Hellos, a stale
/// copy from another attempt cannot be told from the genuine one, so a few are kept, first ones win).
pub(crate) const MAX_EARLY_COPIES: usize = 4;

/// Messages kept for later, all owned raw envelopes (decoded again, infallibly, when due).
#[derive(Clone, Default)]
pub(crate) struct Early {
    /// Indexed by [`slot`]: RespIdentity, InitAuth, RespAuth, InitConfirm (the Hello has its own).
    slots: [Vec<Vec<u8>>; 4],
    /// A Hello that arrived before the peer's Commit.
    hello: Option<Vec<u8>>,
    data: Vec<Vec<u8>>,
}

fn slot(kind: EnvelopeType) -> Option<usize> {
    match kind {
        EnvelopeType::RespIdentity => Some(0),
        EnvelopeType::InitAuth => Some(1),
        EnvelopeType::RespAuth => Some(2),
        EnvelopeType::InitConfirm => Some(3),
        _ => None,
    }
}

impl Early {
    /// Keeps a message that arrived before its turn. Only one Hello can be genuine: a second,
    /// different one is `UnexpectedMessage` (fatal, PROTOCOL.md §5.10). Of the later types, up to
    /// [`MAX_EARLY_COPIES`] different copies are kept (their attempt is checked when they are due).
    pub(crate) fn keep(&mut self, kind: EnvelopeType, raw: &[u8]) -> Result<(), HandshakeError> {
        if kind == EnvelopeType::Hello {
            return match &self.hello {
                None => {
                    self.hello = Some(raw.to_vec());
                    Ok(())
                }
                Some(kept) if kept.as_slice() == raw => Err(HandshakeError::Duplicate(kind)),
                Some(_) => Err(HandshakeError::UnexpectedMessage(kind)),
            };
        }
        let Some(i) = slot(kind) else {
            return Err(HandshakeError::UnexpectedMessage(kind));
        };
        let copies = &mut self.slots[i];
        if copies.iter().any(|kept| kept.as_slice() == raw) {
            return Err(HandshakeError::Duplicate(kind));
        }
        if copies.len() >= MAX_EARLY_COPIES {
            return Err(HandshakeError::Stale(kind));
        }
        copies.push(raw.to_vec());
        Ok(())
    }

    /// Takes the oldest kept message of `kind`, if any.
    pub(crate) fn take(&mut self, kind: EnvelopeType) -> Option<Vec<u8>> {
        match (kind, slot(kind)) {
            (EnvelopeType::Hello, _) => self.hello.take(),
            (_, Some(i)) if !self.slots[i].is_empty() => Some(self.slots[i].remove(0)),
            _ => None,
        }
    }

    /// Keeps a Data envelope for the session (at most [`MAX_EARLY_DATA`]).
    pub(crate) fn keep_data(&mut self, raw: &[u8]) -> Result<(), HandshakeError> {
        if self.data.len() >= MAX_EARLY_DATA {
            return Err(HandshakeError::EarlyDataOverflow);
        }
        self.data.push(raw.to_vec());
        Ok(())
    }

    /// The kept Data envelopes, oldest first.
    pub(crate) fn take_data(&mut self) -> Vec<Vec<u8>> {
        core::mem::take(&mut self.data)
    }

    /// Forgets every handshake message (data stays for the session).
    pub(crate) fn clear_messages(&mut self) {
        self.slots = Default::default();
        self.hello = None;
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        *self = Early::default();
    }
}
