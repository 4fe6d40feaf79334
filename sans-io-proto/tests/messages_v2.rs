//! Data messages that `handshake-v2-values.txt` does not show, with every intermediate value, for
//! implementers of PROTOCOL.md in other languages: `vectors/transcripts/messages-v2-values.txt`.
//!
//! The run is the handshake of `handshake-v2.txt` (same identities, same seeds: `common::pair`),
//! after which the RESPONDER speaks first, on its handshake chain (`CK_R0`, `HK_R0`, ratchet key
//! `eph_R`, §6.2), with one body of each content type it can send (Text, Profile, Timer, Resume,
//! §7.2); the initiator then answers on its first sending chain (`CKs_I`, `HK_I0`) with an Ack, a
//! ResumeOk and a Text. Every envelope is produced by the real `Session`, received by the real
//! peer, and rebuilt byte for byte by `common::spec` (written from PROTOCOL.md); header nonces and
//! body padding are read from the envelopes. The file also publishes `fp(ik_pub)` of both
//! identities (§8.1).
//!
//! `UPDATE_GOLDEN=1 cargo test -p sans-io-proto --test messages_v2` re-records the file.

mod common;

use common::golden::Out;
use common::spec;
use common::{alice, bob, pair};
use sans_io_proto::{Content, Fingerprint, MessageId, Session};

const FILE: &str = "transcripts/messages-v2-values.txt";
/// The seed of `handshake-v2.txt` and `handshake-v2-values.txt`.
const SEED: u64 = 2026;
/// The fixed Resume nonce of this vector (a real client draws it at random, §7.8).
const RESUME_NONCE: [u8; 16] = *b"resume nonce 16b";
/// `sent_at_ms` of the first message; each next one adds 1000.
const T0: u64 = 1_764_120_600_000;
const L_FINGERPRINT: &[u8] = b"e2e-chat v1 identity";

fn id(stream: u64, number: u64) -> MessageId {
    MessageId { stream, number }
}

fn id_bytes(stream: u64, number: u64) -> Vec<u8> {
    [stream.to_be_bytes(), number.to_be_bytes()].concat()
}

/// One sending chain as the spec sees it: header key, ratchet public key, PN and chain key.
struct Chain {
    hk: [u8; 32],
    dhs: Vec<u8>,
    pn: u32,
    n: u32,
    ck: [u8; 32],
}

/// One message of the run.
struct Msg<'a> {
    name: &'a str,
    /// `(type, content bytes)` written from §7.2, independently of the code's encoder.
    kind: u8,
    content_bytes: Vec<u8>,
    content: Content,
    describe: &'a str,
}

/// `sender` encrypts `m` (seq = its next), `receiver` decrypts it; the spec rebuilds the envelope
/// on `chain`; the values are written to `o`.
#[allow(clippy::too_many_arguments)]
fn send(
    o: &mut Out,
    ad: &[u8; 32],
    chain: &mut Chain,
    sender: &mut Session,
    rng_s: &mut rand_chacha::ChaCha20Rng,
    receiver: &mut Session,
    rng_r: &mut rand_chacha::ChaCha20Rng,
    m: Msg<'_>,
    sent_at: u64,
) -> Vec<u8> {
    let seq = sender.next_seq();
    let env = sender
        .encrypt(&m.content, sent_at, rng_s)
        .expect("encrypt")
        .envelope;
    let got = receiver.decrypt(&env, rng_r).expect("the peer decrypts it");
    assert_eq!(
        (got.seq, got.sent_at_ms, &got.content),
        (seq, sent_at, &m.content)
    );

    let header = spec::open_header(&chain.hk, ad, &env).expect("header tag under the chain's HK");
    assert_eq!(
        header,
        spec::header(&chain.dhs, chain.pn, chain.n),
        "header"
    );
    let (mk, ck_next) = spec::kdf_ck(&chain.ck);
    let body = spec::open_body(&mk, ad, &env).expect("body tag under KDF_CK(CK)");
    assert_eq!(
        spec::parse_body(&body),
        (m.kind, seq, sent_at, m.content_bytes.clone()),
        "{}: body fields",
        m.name
    );
    let hn: [u8; 16] = env[2..18].try_into().unwrap();
    assert_eq!(
        spec::seal_data(&chain.hk, &mk, ad, &hn, &header, &body),
        env,
        "{}: envelope rebuilt from the spec",
        m.name
    );

    let n = m.name;
    o.section(&format!(
        "{n}: {} (type 0x{:02x}, seq {seq}, sent_at_ms {sent_at})",
        m.describe, m.kind
    ));
    o.hex(&format!("{n}.hk"), &chain.hk);
    o.hex(&format!("{n}.ck"), &chain.ck);
    o.text(&format!("{n}.pn"), &chain.pn.to_string());
    o.text(&format!("{n}.n"), &chain.n.to_string());
    o.hex(&format!("{n}.mk"), &mk);
    o.hex(&format!("{n}.ck_next"), &ck_next);
    o.hex(&format!("{n}.hn"), &hn);
    o.keys(
        &format!("{n}.header_keys"),
        &spec::header_keys(&chain.hk, &hn),
    );
    o.keys(&format!("{n}.message_keys"), &spec::message_keys(&mk));
    o.hex(&format!("{n}.header"), &header);
    o.hex(&format!("{n}.content"), &m.content_bytes);
    o.hex(&format!("{n}.body"), &body);
    o.hex(
        &format!("{n}.body_tag"),
        &env[env.len() - 64..env.len() - 32],
    );
    o.hex(&format!("{n}.header_tag"), &env[env.len() - 32..]);
    o.hex(&format!("{n}.envelope"), &env);

    chain.ck = ck_next;
    chain.n += 1;
    env
}

fn render() -> String {
    let mut p = pair(SEED);
    let r = spec::rebuild(&p.wire, SEED, SEED ^ 0x5eed_5eed, alice(), bob());
    assert!(r.a_is_initiator, "the seeds make A the initiator");
    let ad = r.th;
    let mut o = Out::default();
    o.0.push_str(
        "# e2e-chat v2: Data messages after the handshake of handshake-v2.txt (same identities, same\n\
         # seeds; its values, e.g. TH = AD, RK0, CK_R0, HK_R0, HK_I0, x_R, are in handshake-v2-values.txt).\n\
         # Here the RESPONDER R (B, bob) speaks first on its handshake chain CK_R0/HK_R0 with ratchet key\n\
         # eph_R (PROTOCOL.md §6.2): r1 Text, r2 Profile, r3 Timer, r4 Resume. The initiator I (A, alice)\n\
         # receives them without a DH step (eph_R is its DHr) and answers on its first sending chain\n\
         # (CKs_I, HK_I0, ratchet key DHs_I): i1 Ack, i2 ResumeOk, i3 Text. Per message: hk = header key,\n\
         # ck = chain key before, mk, ck_next = KDF_CK(ck), hn and the padding come from the envelope.\n\
         # Computed by sans-io-proto/tests/common/spec.rs and checked against the real envelopes by\n\
         # sans-io-proto/tests/messages_v2.rs. All values hex unless stated; integers big-endian.\n",
    );

    o.section("§8.1 fingerprints fp(ik_pub) = SHA-256(\"e2e-chat v1 identity\" || ik_pub)");
    let fp_i = spec::h(&[L_FINGERPRINT, &r.ik_i]);
    let fp_r = spec::h(&[L_FINGERPRINT, &r.ik_r]);
    assert_eq!(&fp_i, alice().fingerprint().as_bytes());
    assert_eq!(&fp_r, bob().fingerprint().as_bytes());
    assert_eq!(Fingerprint::of_public_key_bytes(&r.ik_i).as_bytes(), &fp_i);
    o.hex("fp_I", &fp_i);
    o.hex("fp_R", &fp_r);

    // ---- R speaks first: chain CK_R0 / HK_R0 / eph_R (§6.2) ----------------------------------
    let (_, eph_r) = spec::hello_fields(&r.agreed.hello_r);
    let mut chain_r = Chain {
        hk: r.keys.hk_r0(),
        dhs: eph_r.to_vec(),
        pn: 0,
        n: 0,
        ck: r.keys.ck_r0(),
    };
    o.section("§6.2 the responder's handshake sending chain (from handshake-v2-values.txt)");
    o.hex("CK_R0", &chain_r.ck);
    o.hex("HK_R0", &chain_r.hk);
    o.hex("eph_R", eph_r);

    let r_msgs = [
        Msg {
            name: "r1",
            kind: 0x01,
            content_bytes: spec::text_content(0xb, 1, 0, "hello alice"),
            content: common::text(0xb, 1, "hello alice"),
            describe: "R -> I Text 'hello alice', id (0xb, 1), expire_secs 0",
        },
        Msg {
            name: "r2",
            kind: 0x03,
            content_bytes: b"Bob".to_vec(),
            content: Content::Profile("Bob".into()),
            describe: "R -> I Profile 'Bob'",
        },
        Msg {
            name: "r3",
            kind: 0x04,
            content_bytes: [
                id_bytes(0xb, 2),
                1u64.to_be_bytes().to_vec(),
                86_400u32.to_be_bytes().to_vec(),
            ]
            .concat(),
            content: Content::Timer {
                id: id(0xb, 2),
                version: 1,
                expire_secs: 86_400,
            },
            describe: "R -> I Timer id (0xb, 2), version 1, expire_secs 86400",
        },
        Msg {
            name: "r4",
            kind: 0x05,
            content_bytes: RESUME_NONCE.to_vec(),
            content: Content::Resume(RESUME_NONCE),
            describe: "R -> I Resume, nonce 'resume nonce 16b' (fixed here; random in real use)",
        },
    ];
    let mut t = T0;
    for m in r_msgs {
        let _ = send(
            &mut o,
            &ad,
            &mut chain_r,
            &mut p.b,
            &mut p.rng_b,
            &mut p.a,
            &mut p.rng_a,
            m,
            t,
        );
        t += 1000;
    }

    // ---- I answers on its first sending chain (§6.2: KDF_RK(RK0, DH(DHs_I, eph_R))) ----------
    // DHs_I's exponent is not published: its public value is read from the header of a probe
    // encryption of i1 on copies of A's session and RNG (the very envelope i1 becomes, checked
    // below), and the DH is computed from R's side as DH(x_R, DHs_I).
    let msg_i1 = Msg {
        name: "i1",
        kind: 0x02,
        content_bytes: [vec![2u8], id_bytes(0xb, 1), id_bytes(0xb, 2)].concat(),
        content: Content::Ack(vec![id(0xb, 1), id(0xb, 2)]),
        describe: "I -> R Ack of (0xb, 1) and (0xb, 2)",
    };
    let probe =
        p.a.clone()
            .encrypt(&msg_i1.content, t, &mut p.rng_a.clone())
            .expect("encrypt")
            .envelope;
    let first_header = spec::open_header(&r.keys.hk_i0(), &ad, &probe).expect("under HK_I0");
    let dhs_i = first_header[..256].to_vec();
    let ratchet0 = spec::dh(&r.x_r, &dhs_i);
    let (rk1, cks_i, nhks_i) = spec::kdf_rk(&r.keys.rk0(), &ratchet0);
    o.section("§6.2 the initiator's first sending chain (DHs_I read from the header of i1)");
    o.hex("DHs_I", &dhs_i);
    o.hex("DH(DHs_I, eph_R)", &ratchet0);
    o.hex("RK_1", &rk1);
    o.hex("CKs_I", &cks_i);
    o.hex("NHKs_I", &nhks_i);
    o.hex("HK_I0", &r.keys.hk_i0());
    let mut chain_i = Chain {
        hk: r.keys.hk_i0(),
        dhs: dhs_i,
        pn: 0,
        n: 0,
        ck: cks_i,
    };
    let i_msgs = [
        msg_i1,
        Msg {
            name: "i2",
            kind: 0x06,
            content_bytes: RESUME_NONCE.to_vec(),
            content: Content::ResumeOk(RESUME_NONCE),
            describe: "I -> R ResumeOk echoing r4's nonce",
        },
        Msg {
            name: "i3",
            kind: 0x01,
            content_bytes: spec::text_content(0xa, 1, 86_400, "hello bob"),
            content: Content::Text {
                id: id(0xa, 1),
                expire_secs: 86_400,
                text: "hello bob".into(),
            },
            describe: "I -> R Text 'hello bob', id (0xa, 1), expire_secs 86400",
        },
    ];
    let mut sent = Vec::new();
    for m in i_msgs {
        sent.push(send(
            &mut o,
            &ad,
            &mut chain_i,
            &mut p.a,
            &mut p.rng_a,
            &mut p.b,
            &mut p.rng_b,
            m,
            t,
        ));
        t += 1000;
    }
    assert_eq!(sent[0], probe, "the probe is i1");
    o.0
}

#[test]
fn responder_first_and_every_content_type_match_the_spec_and_the_file() {
    common::golden::check_against_file(FILE, &render());
}

#[test]
fn the_file_names_every_message_once() {
    let owned = common::golden::value_names(FILE);
    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
    for m in ["r1", "r2", "r3", "r4", "i1", "i2", "i3"] {
        for f in [
            "hk", "ck", "mk", "hn", "header", "content", "body", "envelope",
        ] {
            let needed = format!("{m}.{f}");
            assert!(names.contains(&needed.as_str()), "{needed} missing");
        }
    }
    for needed in ["fp_I", "fp_R", "CK_R0", "HK_R0", "DHs_I", "CKs_I"] {
        assert!(names.contains(&needed), "{needed} missing");
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "a name appears twice");
}
