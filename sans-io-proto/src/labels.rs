//! Every domain-separation label of the protocol, in one place (PROTOCOL.md §2: the session protocol's
//! labels all start with `"e2e-chat v2 "`, so a new protocol version changes every derived key; the two
//! identity-bound values of §8.1 keep their v1 text so verified contacts stay verified).

// ---- §5 handshake ----------------------------------------------------------------------------
/// Commitment to a Hello (§5.2).
pub(crate) const COMMIT: &[u8] = b"e2e-chat v2 commit";
/// `hello_hash` (§5.3).
pub(crate) const HELLO: &[u8] = b"e2e-chat v2 hello";
/// HKDF info of the short authentication string and key picture (§5.3, §8.2).
pub(crate) const SAS: &[u8] = b"e2e-chat v2 sas";
/// HKDF info of the identity-hiding key sets (§5.3).
pub(crate) const HANDSHAKE_HIDING: &[u8] = b"e2e-chat v2 handshake hiding";
/// MAC label of the responder's sealed identity (§5.5).
pub(crate) const RESP_IDENTITY: &[u8] = b"e2e-chat v2 responder identity";
/// MAC label of the initiator's sealed encapsulation (§5.6).
pub(crate) const INIT_KEM: &[u8] = b"e2e-chat v2 initiator kem";
/// HKDF info of the initiator's identity keys and MAC label of its sealed identity (§5.6).
pub(crate) const INIT_IDENTITY: &[u8] = b"e2e-chat v2 initiator identity";
/// MAC label of the responder's sealed encapsulation (§5.7).
pub(crate) const RESP_KEM: &[u8] = b"e2e-chat v2 responder kem";
/// Prefix of the RSA-OAEP label of the initiator's encapsulation (§5.6).
pub(crate) const KEM_I: &[u8] = b"e2e-chat v2 kem I";
/// Prefix of the RSA-OAEP label of the responder's encapsulation (§5.7).
pub(crate) const KEM_R: &[u8] = b"e2e-chat v2 kem R";
/// Transcript hash `TH` (§5.8).
pub(crate) const TRANSCRIPT: &[u8] = b"e2e-chat v2 transcript";
/// HKDF info of the session keys (§5.8).
pub(crate) const SESSION_KEYS: &[u8] = b"e2e-chat v2 session keys";
/// The responder's key confirmation (§5.7).
pub(crate) const CONFIRM_R: &[u8] = b"e2e-chat v2 confirm R";
/// The initiator's key confirmation (§5.9).
pub(crate) const CONFIRM_I: &[u8] = b"e2e-chat v2 confirm I";

// ---- §6 ratchet ------------------------------------------------------------------------------
/// `KDF_RK` info (§6.1).
pub(crate) const RATCHET: &[u8] = b"e2e-chat v2 ratchet";
/// Message-key expansion info (§6.1).
pub(crate) const MESSAGE_KEYS: &[u8] = b"e2e-chat v2 message keys";
/// Header-key expansion info (§6.1).
pub(crate) const HEADER_KEYS: &[u8] = b"e2e-chat v2 header keys";
/// Header MAC label (§6.6).
pub(crate) const HEADER_MAC: &[u8] = b"e2e-chat v2 header";
/// Body MAC label (§6.6).
pub(crate) const BODY_MAC: &[u8] = b"e2e-chat v2 body";

// ---- §8 identity-bound values (v1 text kept on purpose, §2) -----------------------------------
/// Identity fingerprint (§8.1).
pub(crate) const FINGERPRINT: &[u8] = b"e2e-chat v1 identity";
/// Safety-number iteration seed (§8.1).
pub(crate) const SAFETY: &[u8] = b"e2e-chat v1 safety";

// ---- §9 identity file --------------------------------------------------------------------------
/// HKDF info and MAC label of the version 2 identity file (§9.1).
pub(crate) const IDENTITY_FILE: &[u8] = b"e2e-chat v2 identity file";

/// Every versioned label, for the spec-sync test.
#[cfg(test)]
pub(crate) const SESSION_LABELS: [&[u8]; 20] = [
    COMMIT,
    HELLO,
    SAS,
    HANDSHAKE_HIDING,
    RESP_IDENTITY,
    INIT_KEM,
    INIT_IDENTITY,
    RESP_KEM,
    KEM_I,
    KEM_R,
    TRANSCRIPT,
    SESSION_KEYS,
    CONFIRM_R,
    CONFIRM_I,
    RATCHET,
    MESSAGE_KEYS,
    HEADER_KEYS,
    HEADER_MAC,
    BODY_MAC,
    IDENTITY_FILE,
];

#[cfg(test)]
mod tests {
    /// PROTOCOL.md is the single source of truth for the key schedule: every label the code uses
    /// must appear there verbatim (in quotes), so renaming one in either place fails here.
    #[test]
    fn every_label_is_written_in_protocol_md() {
        let spec = include_str!("../../PROTOCOL.md");
        for label in super::SESSION_LABELS {
            let label = core::str::from_utf8(label).expect("labels are ASCII");
            assert!(
                label.starts_with("e2e-chat v2 "),
                "{label}: missing the version prefix"
            );
            assert!(
                spec.contains(&format!("\"{label}\"")),
                "PROTOCOL.md never mentions \"{label}\""
            );
        }
        for label in [super::FINGERPRINT, super::SAFETY] {
            let label = core::str::from_utf8(label).expect("labels are ASCII");
            assert!(spec.contains(&format!("\"{label}\"")), "{label}");
        }
    }

    #[test]
    fn labels_are_distinct() {
        let all = super::SESSION_LABELS;
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
