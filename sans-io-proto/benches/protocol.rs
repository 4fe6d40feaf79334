//! The protocol's costs: a whole handshake, a message in one chain (no DH step), and a message
//! that triggers a DH ratchet step (the common case with receipts). No reference exists; these
//! give the per-operation figures BENCHMARKS.md records.
//!
//! `cargo bench -p sans-io-proto --bench protocol`

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::{Content, Handshake, IdentityKeyPair, MessageId, Session};

fn identities() -> (IdentityKeyPair, IdentityKeyPair) {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    (
        IdentityKeyPair::generate(&mut rng),
        IdentityKeyPair::generate(&mut rng),
    )
}

fn handshake(
    a: &IdentityKeyPair,
    b: &IdentityKeyPair,
    rng: &mut ChaCha20Rng,
) -> (Session, Session) {
    let now = Instant::now();
    let mut x = Handshake::new(a, rng, now);
    let mut y = Handshake::new(b, rng, now);
    while !(x.is_established() && y.is_established()) {
        while let Some(m) = x.poll_transmit() {
            y.handle_bytes(&m, rng).unwrap();
        }
        while let Some(m) = y.poll_transmit() {
            x.handle_bytes(&m, rng).unwrap();
        }
    }
    (x.into_session().unwrap(), y.into_session().unwrap())
}

fn text(number: &mut u64, text: &str) -> Content {
    *number += 1;
    Content::Text {
        id: MessageId {
            stream: 1,
            number: *number,
        },
        expire_secs: 0,
        text: text.into(),
    }
}

fn protocol(c: &mut Criterion) {
    let (a, b) = identities();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut group = c.benchmark_group("protocol");
    group.sample_size(20);
    group.bench_function("handshake_both_sides", |bench| {
        bench.iter(|| handshake(&a, &b, &mut rng))
    });
    let (mut x, mut y) = handshake(&a, &b, &mut rng);
    let mut n = 0u64;
    group.bench_function("message_same_chain", |bench| {
        bench.iter(|| {
            let content = text(&mut n, "hello, this is a short chat message");
            let m = x.encrypt(&content, 0, &mut rng).unwrap();
            y.decrypt(&m.envelope, &mut rng).unwrap()
        })
    });
    group.bench_function("message_round_trip_with_dh_steps", |bench| {
        bench.iter(|| {
            let m = x.encrypt(&text(&mut n, "ping"), 0, &mut rng).unwrap();
            y.decrypt(&m.envelope, &mut rng).unwrap();
            let r = y.encrypt(&text(&mut n, "pong"), 0, &mut rng).unwrap();
            x.decrypt(&r.envelope, &mut rng).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, protocol);
criterion_main!(benches);
