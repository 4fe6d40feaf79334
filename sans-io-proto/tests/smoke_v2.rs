//! The v2 handshake end to end through the test driver: both sides establish, agree on the SAS,
//! key picture and safety number, and exchange messages both ways.

mod common;

#[test]
fn handshake_completes_and_messages_flow_both_ways() {
    let mut p = common::pair(7);
    assert_eq!(p.a.sas(), p.b.sas());
    assert_eq!(p.a.key_visual(), p.b.key_visual());
    assert_eq!(p.a.safety_number(), p.b.safety_number());
    assert_ne!(p.a.role(), p.b.role());
    let kinds: Vec<u8> = p.wire.iter().map(|(_, m)| m[1]).collect();
    assert_eq!(kinds.len(), 8, "{kinds:?}");
    for i in 0..5 {
        p.a_to_b(&format!("a{i}"));
        p.b_to_a(&format!("b{i}"));
    }
    p.a_to_b("x");
    p.a_to_b("y");
    p.b_to_a("z");
}
