//! The end-to-end envelope carried in every relay `Payload` (PROTOCOL.md §4):
//! `e2e_version: u8 || type: u8 || body`, decoded **once** into a typed value.
//!
//! [`Envelope::decode`] checks the version, the type and the body size of every type, and splits the
//! body into its fixed fields as sized slices (vodozemac's `olm/messages` discipline). The handshake
//! takes a [`HandshakeMessage`], the ratchet a [`DataMessage`]; neither looks at offsets again.

use crate::crypto::dh::DH_LEN;

/// The end-to-end protocol version this crate speaks.
pub const E2E_VERSION: u8 = 0x02;
/// Length of the envelope prefix (version and type).
pub const PREFIX_LEN: usize = 2;
/// Length of every MAC tag.
pub const TAG_LEN: usize = 32;
/// Length of a Hello nonce (§5.3).
pub const NONCE_LEN: usize = 32;
/// Length of the attempt identifier (`hello_hash[0..16]`, §5.3).
pub const ATTEMPT_LEN: usize = 16;
/// Length of a commitment (§5.2).
pub const COMMIT_LEN: usize = 32;
/// A sealed identity plaintext: `ik_pub (260) || 0^12` (§5.4).
pub const IDENTITY_PT_LEN: usize = 272;
/// A sealed encapsulation plaintext: one RSA-2048 ciphertext (§5.6).
pub const KEM_PT_LEN: usize = 256;
/// Header nonce of a Data envelope (§6.6).
pub const HEADER_NONCE_LEN: usize = 16;
/// Plaintext header of a Data envelope: `DHs (256) || PN || N || 0^8` (§6.3).
pub const HEADER_LEN: usize = DH_LEN + 4 + 4 + 8;
/// Body ciphertexts are a whole number of these (§6.6, §7.1).
pub const BODY_BUCKET: usize = 256;
/// Most body buckets in one Data envelope (the envelope must fit a relay frame, §6.6).
pub const MAX_BODY_BUCKETS: usize = 254;

const SEALED_ID_LEN: usize = IDENTITY_PT_LEN + TAG_LEN;
const SEALED_KEM_LEN: usize = KEM_PT_LEN + TAG_LEN;
/// Body sizes (after the prefix) of the handshake messages (§4).
pub(crate) const COMMIT_BODY: usize = COMMIT_LEN;
pub(crate) const HELLO_BODY: usize = NONCE_LEN + DH_LEN;
pub(crate) const RESP_IDENTITY_BODY: usize = ATTEMPT_LEN + SEALED_ID_LEN;
pub(crate) const INIT_AUTH_BODY: usize = ATTEMPT_LEN + SEALED_KEM_LEN + SEALED_ID_LEN;
pub(crate) const RESP_AUTH_BODY: usize = ATTEMPT_LEN + SEALED_KEM_LEN + TAG_LEN;
pub(crate) const INIT_CONFIRM_BODY: usize = ATTEMPT_LEN + TAG_LEN;
/// Bytes of a Data envelope that are not body ciphertext: prefix, hn, header, two tags (§6.6).
pub const DATA_OVERHEAD: usize = PREFIX_LEN + HEADER_NONCE_LEN + HEADER_LEN + 2 * TAG_LEN;
/// Offset of the body ciphertext in a Data envelope.
const BODY_AT: usize = PREFIX_LEN + HEADER_NONCE_LEN + HEADER_LEN;
/// Bytes of RespAuth covered by the transcript hash (prefix, attempt, sealed encapsulation; §5.8).
pub(crate) const RESP_AUTH_TRANSCRIBED: usize = PREFIX_LEN + ATTEMPT_LEN + SEALED_KEM_LEN;

/// The type byte of an envelope (PROTOCOL.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EnvelopeType {
    /// Handshake: commitment to the Hello (§5.2).
    Commit,
    /// Handshake: nonce and ephemeral DH value (§5.3).
    Hello,
    /// Handshake: the responder's sealed identity (§5.5).
    RespIdentity,
    /// Handshake: the initiator's encapsulation and sealed identity (§5.6).
    InitAuth,
    /// Handshake: the responder's encapsulation and key confirmation (§5.7).
    RespAuth,
    /// Handshake: the initiator's key confirmation (§5.9).
    InitConfirm,
    /// A double-ratchet message (§6.6).
    Data,
}

impl EnvelopeType {
    /// Every type, in wire order.
    pub const ALL: [EnvelopeType; 7] = [
        EnvelopeType::Commit,
        EnvelopeType::Hello,
        EnvelopeType::RespIdentity,
        EnvelopeType::InitAuth,
        EnvelopeType::RespAuth,
        EnvelopeType::InitConfirm,
        EnvelopeType::Data,
    ];

    /// The wire value.
    pub const fn to_byte(self) -> u8 {
        match self {
            EnvelopeType::Commit => 0x01,
            EnvelopeType::Hello => 0x02,
            EnvelopeType::RespIdentity => 0x03,
            EnvelopeType::InitAuth => 0x04,
            EnvelopeType::RespAuth => 0x05,
            EnvelopeType::InitConfirm => 0x06,
            EnvelopeType::Data => 0x10,
        }
    }

    /// Parses the wire value.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(EnvelopeType::Commit),
            0x02 => Some(EnvelopeType::Hello),
            0x03 => Some(EnvelopeType::RespIdentity),
            0x04 => Some(EnvelopeType::InitAuth),
            0x05 => Some(EnvelopeType::RespAuth),
            0x06 => Some(EnvelopeType::InitConfirm),
            0x10 => Some(EnvelopeType::Data),
            _ => None,
        }
    }

    /// Whether this type belongs to the handshake.
    pub const fn is_handshake(self) -> bool {
        !matches!(self, EnvelopeType::Data)
    }

    /// The exact body size of a handshake type (`None` for Data, whose size varies).
    pub const fn handshake_body_len(self) -> Option<usize> {
        match self {
            EnvelopeType::Commit => Some(COMMIT_BODY),
            EnvelopeType::Hello => Some(HELLO_BODY),
            EnvelopeType::RespIdentity => Some(RESP_IDENTITY_BODY),
            EnvelopeType::InitAuth => Some(INIT_AUTH_BODY),
            EnvelopeType::RespAuth => Some(RESP_AUTH_BODY),
            EnvelopeType::InitConfirm => Some(INIT_CONFIRM_BODY),
            EnvelopeType::Data => None,
        }
    }
}

/// Why bytes are not an envelope this version can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Fewer than the two prefix bytes.
    #[error("envelope too short ({len} bytes)")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// Another protocol version (§4.1): `1` means the peer runs the older protocol.
    #[error("the peer speaks end-to-end protocol version {0}; this client speaks version 2")]
    UnsupportedVersion(u8),
    /// A type byte this crate does not know.
    #[error("unknown envelope type {0:#04x}")]
    UnknownType(u8),
    /// The body has the wrong size for its type.
    #[error("{kind:?} body has {len} bytes, expected {expected}")]
    BadLength {
        /// The envelope type.
        kind: EnvelopeType,
        /// Body bytes received.
        len: usize,
        /// What the type requires (for Data: the smallest size).
        expected: usize,
    },
}

/// A sealed box: `ct || tag` (§5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed<'a> {
    /// The IGE ciphertext.
    pub ct: &'a [u8],
    /// The HMAC tag over `label || attempt || ct`.
    pub tag: &'a [u8; TAG_LEN],
}

/// The typed fields of a handshake message (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeBody<'a> {
    /// §5.2.
    Commit {
        /// `H("e2e-chat v2 commit" || Hello)`.
        commitment: &'a [u8; COMMIT_LEN],
    },
    /// §5.3.
    Hello {
        /// Fresh random nonce.
        nonce: &'a [u8; NONCE_LEN],
        /// The ephemeral DH value (not yet validated).
        eph_pub: &'a [u8; DH_LEN],
    },
    /// §5.5.
    RespIdentity {
        /// The attempt identifier.
        attempt: &'a [u8; ATTEMPT_LEN],
        /// The responder's sealed identity.
        id_box: Sealed<'a>,
    },
    /// §5.6.
    InitAuth {
        /// The attempt identifier.
        attempt: &'a [u8; ATTEMPT_LEN],
        /// The sealed RSA-OAEP encapsulation of `k_I`.
        kem_box: Sealed<'a>,
        /// The initiator's identity sealed under keys from `dh` and `k_I`.
        id_box: Sealed<'a>,
    },
    /// §5.7.
    RespAuth {
        /// The attempt identifier.
        attempt: &'a [u8; ATTEMPT_LEN],
        /// The sealed RSA-OAEP encapsulation of `k_R`.
        kem_box: Sealed<'a>,
        /// `HMAC(confirm_R, "e2e-chat v2 confirm R" || TH)`.
        confirm: &'a [u8; TAG_LEN],
    },
    /// §5.9.
    InitConfirm {
        /// The attempt identifier.
        attempt: &'a [u8; ATTEMPT_LEN],
        /// `HMAC(confirm_I, "e2e-chat v2 confirm I" || TH)`.
        mac: &'a [u8; TAG_LEN],
    },
}

/// A decoded handshake envelope: its raw bytes (for transcripts and duplicate checks) and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeMessage<'a> {
    raw: &'a [u8],
    body: HandshakeBody<'a>,
}

impl<'a> HandshakeMessage<'a> {
    /// The whole envelope, prefix included.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The typed fields.
    pub fn body(&self) -> &HandshakeBody<'a> {
        &self.body
    }

    /// Its type.
    pub fn kind(&self) -> EnvelopeType {
        match self.body {
            HandshakeBody::Commit { .. } => EnvelopeType::Commit,
            HandshakeBody::Hello { .. } => EnvelopeType::Hello,
            HandshakeBody::RespIdentity { .. } => EnvelopeType::RespIdentity,
            HandshakeBody::InitAuth { .. } => EnvelopeType::InitAuth,
            HandshakeBody::RespAuth { .. } => EnvelopeType::RespAuth,
            HandshakeBody::InitConfirm { .. } => EnvelopeType::InitConfirm,
        }
    }

    /// The attempt identifier, for the types after the Hellos.
    pub fn attempt(&self) -> Option<&'a [u8; ATTEMPT_LEN]> {
        match self.body {
            HandshakeBody::Commit { .. } | HandshakeBody::Hello { .. } => None,
            HandshakeBody::RespIdentity { attempt, .. }
            | HandshakeBody::InitAuth { attempt, .. }
            | HandshakeBody::RespAuth { attempt, .. }
            | HandshakeBody::InitConfirm { attempt, .. } => Some(attempt),
        }
    }
}

/// A decoded Data envelope (§6.6): every field as a sized slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataMessage<'a> {
    raw: &'a [u8],
    /// The random header nonce.
    pub hn: &'a [u8; HEADER_NONCE_LEN],
    /// The encrypted header.
    pub header_ct: &'a [u8; HEADER_LEN],
    /// The encrypted body, a whole number of [`BODY_BUCKET`]s.
    pub body_ct: &'a [u8],
    /// `HMAC(mkeys.mac_key, "e2e-chat v2 body" || AD || bytes[0..290+N])`.
    pub body_tag: &'a [u8; TAG_LEN],
    /// `HMAC(hkeys.mac_key, "e2e-chat v2 header" || AD || bytes[0..322+N])`.
    pub header_tag: &'a [u8; TAG_LEN],
}

impl<'a> DataMessage<'a> {
    /// The whole envelope.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The bytes the header tag covers: everything before it.
    pub fn header_covered(&self) -> &'a [u8] {
        &self.raw[..self.raw.len() - TAG_LEN]
    }

    /// The bytes the body tag covers: everything before it.
    pub fn body_covered(&self) -> &'a [u8] {
        &self.raw[..self.raw.len() - 2 * TAG_LEN]
    }
}

/// One decoded envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope<'a> {
    /// A handshake message.
    Handshake(HandshakeMessage<'a>),
    /// A ratchet message.
    Data(DataMessage<'a>),
}

/// A cursor that hands out sized slices; the caller checked the total length first.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        head
    }

    fn array<const N: usize>(&mut self) -> Option<&'a [u8; N]> {
        self.take(N).try_into().ok()
    }

    fn sealed(&mut self, ct_len: usize) -> Option<Sealed<'a>> {
        let ct = self.take(ct_len);
        let tag = self.array::<TAG_LEN>()?;
        (ct.len() == ct_len).then_some(Sealed { ct, tag })
    }
}

impl<'a> Envelope<'a> {
    /// Decodes an envelope: version, type, exact body size, fields. Total: any bytes give a value or
    /// a typed error.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        let [version, kind, body @ ..] = bytes else {
            return Err(EnvelopeError::TooShort { len: bytes.len() });
        };
        if *version != E2E_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(*version));
        }
        let kind = EnvelopeType::from_byte(*kind).ok_or(EnvelopeError::UnknownType(*kind))?;
        let Some(expected) = kind.handshake_body_len() else {
            return decode_data(bytes, body.len()).map(Envelope::Data);
        };
        let bad = EnvelopeError::BadLength {
            kind,
            len: body.len(),
            expected,
        };
        if body.len() != expected {
            return Err(bad);
        }
        let mut f = Fields { rest: body };
        let decoded = match kind {
            EnvelopeType::Commit => f
                .array()
                .map(|commitment| HandshakeBody::Commit { commitment }),
            EnvelopeType::Hello => f
                .array()
                .zip(f.array())
                .map(|(nonce, eph_pub)| HandshakeBody::Hello { nonce, eph_pub }),
            EnvelopeType::RespIdentity => (|| {
                let attempt = f.array()?;
                let id_box = f.sealed(IDENTITY_PT_LEN)?;
                Some(HandshakeBody::RespIdentity { attempt, id_box })
            })(),
            EnvelopeType::InitAuth => (|| {
                let attempt = f.array()?;
                let kem_box = f.sealed(KEM_PT_LEN)?;
                let id_box = f.sealed(IDENTITY_PT_LEN)?;
                Some(HandshakeBody::InitAuth {
                    attempt,
                    kem_box,
                    id_box,
                })
            })(),
            EnvelopeType::RespAuth => (|| {
                let attempt = f.array()?;
                let kem_box = f.sealed(KEM_PT_LEN)?;
                let confirm = f.array()?;
                Some(HandshakeBody::RespAuth {
                    attempt,
                    kem_box,
                    confirm,
                })
            })(),
            EnvelopeType::InitConfirm => f
                .array()
                .zip(f.array())
                .map(|(attempt, mac)| HandshakeBody::InitConfirm { attempt, mac }),
            EnvelopeType::Data => None,
        };
        decoded
            .map(|body| Envelope::Handshake(HandshakeMessage { raw: bytes, body }))
            .ok_or(bad)
    }

    /// Its type.
    pub fn kind(&self) -> EnvelopeType {
        match self {
            Envelope::Handshake(m) => m.kind(),
            Envelope::Data(_) => EnvelopeType::Data,
        }
    }
}

fn decode_data(raw: &[u8], body_len: usize) -> Result<DataMessage<'_>, EnvelopeError> {
    let min = DATA_OVERHEAD - PREFIX_LEN + BODY_BUCKET;
    let buckets = raw.len().saturating_sub(DATA_OVERHEAD);
    if raw.len() < DATA_OVERHEAD + BODY_BUCKET
        || !buckets.is_multiple_of(BODY_BUCKET)
        || buckets / BODY_BUCKET > MAX_BODY_BUCKETS
    {
        return Err(EnvelopeError::BadLength {
            kind: EnvelopeType::Data,
            len: body_len,
            expected: min,
        });
    }
    let n = raw.len() - DATA_OVERHEAD;
    let bad = EnvelopeError::BadLength {
        kind: EnvelopeType::Data,
        len: body_len,
        expected: min,
    };
    let mut f = Fields {
        rest: &raw[PREFIX_LEN..],
    };
    let hn = f.array().ok_or(bad)?;
    let header_ct = f.array().ok_or(bad)?;
    let body_ct = f.take(n);
    let body_tag = f.array().ok_or(bad)?;
    let header_tag = f.array().ok_or(bad)?;
    debug_assert_eq!(body_ct.as_ptr(), raw[BODY_AT..].as_ptr());
    Ok(DataMessage {
        raw,
        hn,
        header_ct,
        body_ct,
        body_tag,
        header_tag,
    })
}

/// Starts an envelope of `kind` with room for `body_len` more bytes.
pub(crate) fn start(kind: EnvelopeType, body_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX_LEN + body_len);
    out.push(E2E_VERSION);
    out.push(kind.to_byte());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(kind: EnvelopeType, body_len: usize) -> Vec<u8> {
        let mut out = start(kind, body_len);
        out.extend((0..body_len).map(|i| i as u8));
        out
    }

    #[test]
    fn sizes_match_protocol_md_section_4() {
        assert_eq!(COMMIT_BODY, 32);
        assert_eq!(HELLO_BODY, 288);
        assert_eq!(RESP_IDENTITY_BODY, 320);
        assert_eq!(INIT_AUTH_BODY, 608);
        assert_eq!(RESP_AUTH_BODY, 336);
        assert_eq!(INIT_CONFIRM_BODY, 48);
        assert_eq!(DATA_OVERHEAD - PREFIX_LEN, 352);
        assert_eq!(RESP_AUTH_TRANSCRIBED, 306);
        const { assert!(DATA_OVERHEAD + MAX_BODY_BUCKETS * BODY_BUCKET <= 65_536) };
        const { assert!(DATA_OVERHEAD + (MAX_BODY_BUCKETS + 1) * BODY_BUCKET > 65_536) };
    }

    #[test]
    fn every_type_round_trips_and_others_are_rejected() {
        for byte in 0..=u8::MAX {
            match EnvelopeType::from_byte(byte) {
                Some(kind) => assert_eq!(kind.to_byte(), byte),
                None => assert_eq!(
                    Envelope::decode(&[E2E_VERSION, byte]),
                    Err(EnvelopeError::UnknownType(byte))
                ),
            }
        }
    }

    #[test]
    fn exact_sizes_decode_and_every_other_size_is_a_typed_error() {
        for kind in EnvelopeType::ALL {
            let Some(len) = kind.handshake_body_len() else {
                continue;
            };
            let ok = envelope(kind, len);
            let decoded = Envelope::decode(&ok).unwrap();
            assert_eq!(decoded.kind(), kind);
            let Envelope::Handshake(m) = decoded else {
                panic!("{kind:?} decoded as data")
            };
            assert_eq!(m.raw(), ok.as_slice());
            for wrong in [0, 1, len - 1, len + 1, len + 256] {
                assert!(matches!(
                    Envelope::decode(&envelope(kind, wrong)),
                    Err(EnvelopeError::BadLength { .. })
                ));
            }
        }
    }

    #[test]
    fn fields_land_at_their_offsets() {
        let e = envelope(EnvelopeType::InitAuth, INIT_AUTH_BODY);
        let Ok(Envelope::Handshake(m)) = Envelope::decode(&e) else {
            panic!()
        };
        let HandshakeBody::InitAuth {
            attempt,
            kem_box,
            id_box,
        } = *m.body()
        else {
            panic!()
        };
        assert_eq!(attempt.as_slice(), &e[2..18]);
        assert_eq!(kem_box.ct, &e[18..274]);
        assert_eq!(kem_box.tag.as_slice(), &e[274..306]);
        assert_eq!(id_box.ct, &e[306..578]);
        assert_eq!(id_box.tag.as_slice(), &e[578..610]);
        assert_eq!(m.attempt(), Some(attempt));
    }

    #[test]
    fn data_sizes() {
        for k in [1usize, 2, MAX_BODY_BUCKETS] {
            let e = envelope(
                EnvelopeType::Data,
                DATA_OVERHEAD - PREFIX_LEN + k * BODY_BUCKET,
            );
            let Ok(Envelope::Data(d)) = Envelope::decode(&e) else {
                panic!("{k}")
            };
            assert_eq!(d.body_ct.len(), k * BODY_BUCKET);
            assert_eq!(d.hn.as_slice(), &e[2..18]);
            assert_eq!(d.header_ct.as_slice(), &e[18..290]);
            assert_eq!(d.body_tag.as_slice(), &e[e.len() - 64..e.len() - 32]);
            assert_eq!(d.header_tag.as_slice(), &e[e.len() - 32..]);
            assert_eq!(d.header_covered().len(), e.len() - 32);
            assert_eq!(d.body_covered().len(), e.len() - 64);
        }
        for body in [0, 352, 352 + 255, 352 + 257, 352 + 255 * 256] {
            assert!(matches!(
                Envelope::decode(&envelope(EnvelopeType::Data, body)),
                Err(EnvelopeError::BadLength { .. })
            ));
        }
    }

    #[test]
    fn short_and_foreign_versions_are_typed_errors() {
        assert_eq!(
            Envelope::decode(&[]),
            Err(EnvelopeError::TooShort { len: 0 })
        );
        assert_eq!(
            Envelope::decode(&[2]),
            Err(EnvelopeError::TooShort { len: 1 })
        );
        assert_eq!(
            Envelope::decode(&[1, 0x01, 0, 0]),
            Err(EnvelopeError::UnsupportedVersion(1))
        );
    }
}
