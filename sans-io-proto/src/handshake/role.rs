//! Which side of the exchange a client is (PROTOCOL.md §5.3): settled by comparing the two Hello
//! nonces, never by anything the relay says.

use crate::envelope::EnvelopeType;

/// Our side of the key exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side with the smaller Hello nonce ("Alice" in the Double Ratchet spec): it reveals its
    /// identity second, sealed to the identity key the responder showed (§5.6).
    Initiator,
    /// The other side ("Bob"): it reveals its identity first (§5.5).
    Responder,
}

impl Role {
    /// From the two nonces (they differ: equal nonces were refused as a reflection).
    pub(crate) fn from_nonces(own: &[u8], peer: &[u8]) -> Self {
        if own < peer {
            Role::Initiator
        } else {
            Role::Responder
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Role::Initiator => 0,
            Role::Responder => 1,
        }
    }

    /// Orders a pair of (own, peer) values as (initiator's, responder's).
    pub(crate) fn order<T>(self, own: T, peer: T) -> (T, T) {
        match self {
            Role::Initiator => (own, peer),
            Role::Responder => (peer, own),
        }
    }

    /// The messages this role receives after the two Hellos, in order (§5.10).
    pub(crate) fn receives(self) -> [EnvelopeType; 2] {
        match self {
            Role::Initiator => [EnvelopeType::RespIdentity, EnvelopeType::RespAuth],
            Role::Responder => [EnvelopeType::InitAuth, EnvelopeType::InitConfirm],
        }
    }
}
