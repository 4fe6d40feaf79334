//! Every intermediate value of one v2 handshake and its first Data message each way, for
//! implementers of PROTOCOL.md in other languages: `vectors/transcripts/handshake-v2-values.txt`.
//!
//! The values are computed by `common::spec`, a second implementation written from the text of
//! PROTOCOL.md with only the public primitives (`crypto::{hkdf, hmac, ige, dh, rsa}`) and `sha2`,
//! and every envelope it builds is checked byte for byte against what the real code sent in the
//! same run, which is the run of `handshake-v2.txt` (same identities, same seeds, same texts).
//!
//! Where the values come from:
//! - the ephemeral exponents `x_I`, `x_R`: re-drawn from each side's seeded ChaCha20Rng (the first 32
//!   bytes are the Hello nonce, then one `DhPrivateKey::generate`), checked against the Hellos;
//! - `k_I`, `k_R`: the OAEP ciphertexts are randomised, so they are taken from the envelopes
//!   (opening `kem_box` with the hiding keys) and OAEP-decrypted with the test identities' private
//!   keys (`rsa::RsaPrivateKey::oaep_decrypt`);
//! - the initiator's first ratchet key `DHs_I`: its public value is read from the decrypted header
//!   of its first Data message and `DH(DHs_I, eph_R)` computed as `DH(x_R, DHs_I)`;
//! - the responder's new ratchet key after its DH step: re-drawn with `DhPrivateKey::generate` from
//!   a copy of its RNG taken just before it decrypted that message;
//! - header nonces `hn` and body padding: read from the envelopes (the padding by decryption).
//!
//! `UPDATE_GOLDEN=1 cargo test -p sans-io-proto --test vectors_v2` re-records the file.

mod common;

use common::golden::Out;
use common::spec::{self, Agreed};
use common::{From, alice, bob, pair, text, vectors_dir};
use sans_io_proto::SafetyNumber;
use sans_io_proto::crypto::dh::DhPrivateKey;

const FILE: &str = "transcripts/handshake-v2-values.txt";
const SEED: u64 = 2026;

/// Runs the golden handshake and messages, rebuilds everything with `common::spec`, and renders
/// the values. Panics where the real code and the spec disagree.
fn render() -> String {
    let mut p = pair(SEED);
    let r = spec::rebuild(&p.wire, SEED, SEED ^ 0x5eed_5eed, alice(), bob());
    assert!(
        r.a_is_initiator,
        "the seeds make A the initiator; this file is written for that"
    );
    let a: &Agreed = &r.agreed;
    let mut o = Out::default();
    o.0.push_str(
        "# e2e-chat v2: every intermediate value of the handshake of handshake-v2.txt and its first Data\n\
         # message each way, PROTOCOL.md §5-§8. Computed by sans-io-proto/tests/common/spec.rs (written\n\
         # from PROTOCOL.md with the public primitives only) and checked against the real envelopes by\n\
         # sans-io-proto/tests/vectors_v2.rs. Identities 0 (A, alice) and 1 (B, bob) of\n\
         # vectors/identities/test-identities.txt; A (ChaCha20Rng seed 2026) is the initiator I, B (seed\n\
         # 2026^0x5eed5eed) the responder R. All values hex unless stated; integers big-endian.\n",
    );
    o.section("§2.1 identities");
    o.hex("ik_I", &r.ik_i);
    o.hex("ik_R", &r.ik_r);

    o.section("§5.2-5.3 Commit and Hello (x = the 256-bit DH exponent drawn after the nonce)");
    for (name, x, hello, commit) in [
        ("I", &r.x_i, &a.hello_i, &a.commit_i),
        ("R", &r.x_r, &a.hello_r, &a.commit_r),
    ] {
        let (nonce, eph) = spec::hello_fields(hello);
        o.hex(&format!("nonce_{name}"), nonce);
        o.hex(&format!("x_{name}"), &x.to_bytes());
        o.hex(&format!("eph_{name}"), eph);
        o.hex(&format!("Hello_{name}"), hello);
        o.hex(&format!("Commit_{name}"), commit);
    }

    o.section("§5.3 after the Hellos");
    o.hex("hello_hash", &a.hello_hash);
    o.hex("attempt", &a.attempt());
    o.hex("dh", &a.dh);
    o.hex("sas_okm", &a.sas_okm);
    o.hex("sas", &a.sas_okm[..6]);
    o.text("sas_emoji_names", &a.sas_words().join(" "));
    o.hex("key_picture", &a.sas_okm[6..42]);
    o.hex("hide", &a.hide);
    o.keys("resp_identity", &a.resp_identity_keys());
    o.keys("init_kem", &a.init_kem_keys());
    o.keys("resp_kem", &a.resp_kem_keys());

    o.section("§5.5 RespIdentity (R -> I)");
    o.hex("RespIdentity", &r.resp_identity);

    o.section("§5.6 InitAuth (I -> R); kem_I is randomised OAEP, read from the envelope");
    o.hex("k_I", &r.k_i);
    o.hex("kem_I_label", &a.kem_label(true));
    o.hex("kem_I", &r.kem_i);
    o.keys("init_id", &a.init_id_keys(&r.k_i));
    o.hex("InitAuth", &r.init_auth);

    o.section("§5.7-5.8 RespAuth (R -> I), transcript and session keys");
    o.hex("k_R", &r.k_r);
    o.hex("kem_R_label", &a.kem_label(false));
    o.hex("kem_R", &r.kem_r);
    o.hex("TH", &r.th);
    o.hex("PRK", &r.keys.prk);
    o.hex("OKM", &r.keys.okm);
    o.hex("confirm_I", &r.keys.confirm_i());
    o.hex("confirm_R", &r.keys.confirm_r());
    o.hex("RK0", &r.keys.rk0());
    o.hex("CK_R0", &r.keys.ck_r0());
    o.hex("HK_R0", &r.keys.hk_r0());
    o.hex("HK_I0", &r.keys.hk_i0());
    o.hex("NHK_R1", &r.keys.nhk_r1());
    o.hex("RespAuth.confirm", &r.keys.confirm_r_mac(&r.th));
    o.hex("RespAuth", &r.resp_auth);

    o.section("§5.9 InitConfirm (I -> R)");
    o.hex("InitConfirm.mac", &r.keys.confirm_i_mac(&r.th));
    o.hex("InitConfirm", &r.init_confirm);

    // ---- the first Data message, I -> R (§6.2, §6.3, §6.6, §7.1) -----------------------------
    let ad = r.th;
    let content_i = text(0xa, 1, super_text(0));
    let out_i = p.a.encrypt(&content_i, 0, &mut p.rng_a).unwrap();
    let env_i = out_i.envelope.clone();
    let mut rng_b_before = p.rng_b.clone();
    assert_eq!(
        p.b.decrypt(&env_i, &mut p.rng_b).unwrap().content,
        content_i
    );

    let header_i = spec::open_header(&r.keys.hk_i0(), &ad, &env_i).expect("header under HK_I0");
    let dhs_i_pub = &header_i[..256];
    let ratchet0 = spec::dh(&r.x_r, dhs_i_pub); // = DH(DHs_I, eph_R)
    let (rk1, cks_i, nhks_i) = spec::kdf_rk(&r.keys.rk0(), &ratchet0);
    let (mk_i, ck_i_next) = spec::kdf_ck(&cks_i);
    let body_i = spec::open_body(&mk_i, &ad, &env_i).expect("body under mk");
    assert_eq!(spec::header_counters(&header_i), (0, 0));
    assert_eq!(
        spec::parse_body(&body_i),
        (0x01, 1, 0, spec::text_content(0xa, 1, 0, super_text(0)))
    );
    let hn_i: [u8; 16] = env_i[2..18].try_into().unwrap();
    assert_eq!(
        spec::seal_data(&r.keys.hk_i0(), &mk_i, &ad, &hn_i, &header_i, &body_i),
        env_i,
        "the initiator's first Data envelope, rebuilt"
    );
    o.section("§6.2 the initiator's first ratchet state (DHs_I from the header of its first Data message)");
    o.hex("DHs_I", dhs_i_pub);
    o.hex("DH(DHs_I, eph_R)", &ratchet0);
    o.hex("RK_1", &rk1);
    o.hex("CKs_I", &cks_i);
    o.hex("NHKs_I", &nhks_i);
    o.section("§6.3-6.6 first Data message I -> R: Text 'hello bob', stream 0xa number 1, seq 1, sent_at_ms 0");
    data_values(
        &mut o,
        "data1",
        &r.keys.hk_i0(),
        &hn_i,
        &header_i,
        &mk_i,
        &body_i,
        &env_i,
    );
    o.hex("data1.ck_next", &ck_i_next);

    // ---- the responder's answer after its DH step (§6.4 step 3) -------------------------------
    let content_r = text(0xb, 1, super_text(1));
    let out_r = p.b.encrypt(&content_r, 0, &mut p.rng_b).unwrap();
    let env_r = out_r.envelope.clone();
    assert_eq!(
        p.a.decrypt(&env_r, &mut p.rng_a).unwrap().content,
        content_r
    );
    let dhs_r1 = DhPrivateKey::generate(&mut rng_b_before);
    // Receiving half: RK, CKr, NHKr = KDF_RK(RK0, DH(eph_R, DHs_I)) (the initiator's RK_1 chain).
    let (rk_recv, ckr, nhkr) = spec::kdf_rk(&r.keys.rk0(), &ratchet0);
    assert_eq!((rk_recv, ckr, nhkr), (rk1, cks_i, nhks_i));
    let dh_send = spec::dh(&dhs_r1, dhs_i_pub);
    let (rk2, cks_r1, nhks_r1) = spec::kdf_rk(&rk1, &dh_send);
    // HKs becomes the old NHKs = NHK_R1; PN = 0 (nothing sent before), N = 0.
    let header_r = spec::open_header(&r.keys.nhk_r1(), &ad, &env_r).expect("header under NHK_R1");
    assert_eq!(
        &header_r[..256],
        dhs_r1.public_key().as_bytes(),
        "the re-drawn ratchet key"
    );
    assert_eq!(spec::header_counters(&header_r), (0, 0));
    let (mk_r, _) = spec::kdf_ck(&cks_r1);
    let body_r = spec::open_body(&mk_r, &ad, &env_r).expect("body under mk");
    assert_eq!(
        spec::parse_body(&body_r),
        (0x01, 1, 0, spec::text_content(0xb, 1, 0, super_text(1)))
    );
    let hn_r: [u8; 16] = env_r[2..18].try_into().unwrap();
    assert_eq!(
        spec::seal_data(&r.keys.nhk_r1(), &mk_r, &ad, &hn_r, &header_r, &body_r),
        env_r,
        "the responder's first Data envelope, rebuilt"
    );
    o.section("§6.4 step 3: the responder's DH ratchet step on receiving data1");
    o.hex("x_DHs_R1", &dhs_r1.to_bytes());
    o.hex("DHs_R1", &header_r[..256]);
    o.hex("DH(DHs_R1, DHs_I)", &dh_send);
    o.hex("RK_2", &rk2);
    o.hex("CKs_R1", &cks_r1);
    o.hex("NHKs_R1", &nhks_r1);
    o.section("§6.3-6.6 first Data message R -> I: Text 'hello alice', stream 0xb number 1, seq 1, sent_at_ms 0");
    data_values(
        &mut o,
        "data2",
        &r.keys.nhk_r1(),
        &hn_r,
        &header_r,
        &mk_r,
        &body_r,
        &env_r,
    );

    // ---- §8 what the users compare -------------------------------------------------------------
    let digits = spec::safety_number(&r.ik_i, &r.ik_r);
    let qr = spec::qr_text(&digits);
    for s in [&p.a, &p.b] {
        assert_eq!(s.safety_number().digits(), digits);
        assert_eq!(s.safety_number().qr_text(), qr);
        assert_eq!(s.sas().words().to_vec(), a.sas_words());
        assert_eq!(s.key_visual().as_bytes().as_slice(), &a.sas_okm[6..42]);
    }
    assert_eq!(
        SafetyNumber::new(alice().public(), bob().public()).digits(),
        digits
    );
    o.section("§8.1 safety number (60 digits) and §8.4 QR text (lines joined by '|' here)");
    o.text("safety_digits_I", &spec::safety_digits(&r.ik_i));
    o.text("safety_digits_R", &spec::safety_digits(&r.ik_r));
    o.text("safety_number", &digits);
    o.text("qr_text", &qr.replace('\n', "|"));

    // The same run is the golden transcript: its envelopes are these.
    let golden =
        std::fs::read_to_string(vectors_dir().join("transcripts/handshake-v2.txt")).unwrap();
    let golden: Vec<&str> = golden.lines().filter(|l| !l.starts_with('#')).collect();
    let mut ours: Vec<String> = p
        .wire
        .iter()
        .map(|(f, m)| {
            format!(
                "{} {}",
                if *f == From::A { "A" } else { "B" },
                hex::encode(m)
            )
        })
        .collect();
    ours.push(format!("A {}", hex::encode(&env_i)));
    ours.push(format!("B {}", hex::encode(&env_r)));
    assert_eq!(
        golden[..10],
        ours[..],
        "this run is the run of handshake-v2.txt"
    );
    o.0
}

fn super_text(i: usize) -> &'static str {
    ["hello bob", "hello alice"][i]
}

#[allow(clippy::too_many_arguments)]
fn data_values(
    o: &mut Out,
    name: &str,
    hk: &[u8],
    hn: &[u8; 16],
    header: &[u8],
    mk: &[u8],
    body: &[u8],
    env: &[u8],
) {
    o.hex(&format!("{name}.hk"), hk);
    o.hex(&format!("{name}.hn"), hn);
    o.keys(&format!("{name}.header_keys"), &spec::header_keys(hk, hn));
    o.hex(&format!("{name}.header"), header);
    o.hex(&format!("{name}.mk"), mk);
    o.keys(&format!("{name}.message_keys"), &spec::message_keys(mk));
    o.hex(&format!("{name}.body"), body);
    o.hex(
        &format!("{name}.body_tag"),
        &env[env.len() - 64..env.len() - 32],
    );
    o.hex(&format!("{name}.header_tag"), &env[env.len() - 32..]);
    o.hex(&format!("{name}.envelope"), env);
}

#[test]
fn every_intermediate_value_matches_the_spec_and_the_file() {
    common::golden::check_against_file(FILE, &render());
}

#[test]
fn the_file_parses_as_name_value_lines_and_names_every_spec_value() {
    let owned = common::golden::value_names(FILE);
    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
    for needed in [
        "Hello_I",
        "Hello_R",
        "Commit_I",
        "Commit_R",
        "hello_hash",
        "attempt",
        "dh",
        "sas_okm",
        "sas_emoji_names",
        "resp_identity.mac_key",
        "init_kem.aes_key",
        "resp_kem.aes_iv",
        "k_I",
        "k_R",
        "kem_I_label",
        "kem_R_label",
        "init_id.mac_key",
        "TH",
        "PRK",
        "OKM",
        "confirm_I",
        "RK0",
        "CK_R0",
        "HK_R0",
        "HK_I0",
        "NHK_R1",
        "RK_1",
        "CKs_I",
        "data1.header_keys.aes_key",
        "data1.message_keys.mac_key",
        "data2.envelope",
        "safety_number",
        "qr_text",
    ] {
        assert!(names.contains(&needed), "{needed} missing from {FILE}");
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "a name appears twice");
}
