//! The relay framing (PROTOCOL.md §3): byte-exact golden encodings of both directions, round trips
//! of arbitrary frames, every malformed case as a typed error (a kind of the other direction
//! included), and hostile bytes in any split never panicking.

mod common;

use proptest::prelude::*;
use sans_io_proto::frame::{
    ClientFrame, ErrorCode, FrameDecoder, FrameError, HEADER_LEN, MAX_FRAME_BODY, RelayFrame,
    RoomName, WireFrame,
};

fn room(s: &str) -> RoomName {
    RoomName::new(s).unwrap()
}

fn client_frames() -> Vec<(&'static str, ClientFrame)> {
    vec![
        (
            "Join",
            ClientFrame::Join {
                room: room("lobby"),
            },
        ),
        ("Leave", ClientFrame::Leave),
        (
            "Payload",
            ClientFrame::Payload(vec![0x01, 0x10, 0xde, 0xad]),
        ),
        ("Ping", ClientFrame::Ping(0x0102_0304_0506_0708)),
    ]
}

fn relay_frames() -> Vec<(&'static str, RelayFrame)> {
    vec![
        ("Payload", RelayFrame::Payload(vec![0x01, 0x10, 0xde, 0xad])),
        ("Pong", RelayFrame::Pong(7)),
        (
            "Joined",
            RelayFrame::Joined {
                room: room("lobby"),
                seat: 1,
            },
        ),
        ("Waiting", RelayFrame::Waiting),
        (
            "Redirected",
            RelayFrame::Redirected {
                from: room("lobby"),
                to: room("lobby-2"),
            },
        ),
        ("PeerJoined", RelayFrame::PeerJoined),
        ("PeerLeft", RelayFrame::PeerLeft),
        (
            "Error",
            RelayFrame::Error {
                code: ErrorCode::RateLimited,
                message: "slow down".into(),
            },
        ),
    ]
}

fn check_golden<F: WireFrame + PartialEq + std::fmt::Debug>(
    blocks: &[&std::collections::BTreeMap<String, String>],
    frames: Vec<(&'static str, F)>,
) {
    assert_eq!(blocks.len(), frames.len());
    for (block, (name, frame)) in blocks.iter().zip(frames) {
        assert_eq!(block["kind"], name);
        let bytes = common::hex_field(block, "bytes");
        assert_eq!(
            frame.to_bytes(),
            bytes,
            "{name} encodes differently from the vector"
        );
        assert_eq!(F::decode(&bytes), Ok((frame, bytes.len())));
    }
}

#[test]
fn golden_encodings_of_every_kind_in_each_direction() {
    let blocks = common::vector_blocks("frames/frames.txt");
    let dir = |d: &str| blocks.iter().filter(|b| b["dir"] == d).collect::<Vec<_>>();
    assert_eq!(
        dir("C->R").len() + dir("R->C").len(),
        blocks.len(),
        "every block names its direction"
    );
    check_golden(&dir("C->R"), client_frames());
    check_golden(&dir("R->C"), relay_frames());
}

#[test]
fn a_kind_of_the_other_direction_is_refused() {
    for (_, f) in relay_frames() {
        let bytes = f.to_bytes();
        if bytes[1] == 0x03 {
            // Payload is the one kind both directions use.
            continue;
        }
        let want = FrameError::WrongDirection(bytes[1]);
        assert_eq!(ClientFrame::decode(&bytes), Err(want.clone()), "{f:?}");
        let mut d = FrameDecoder::<ClientFrame>::new();
        d.push(&bytes);
        assert_eq!(d.next_frame(), Err(want));
    }
    for (_, f) in client_frames() {
        let bytes = f.to_bytes();
        if bytes[1] == 0x03 {
            continue;
        }
        assert_eq!(
            RelayFrame::decode(&bytes),
            Err(FrameError::WrongDirection(bytes[1])),
            "{f:?}"
        );
    }
}

fn malformed_cases() -> Vec<(Vec<u8>, FrameError)> {
    vec![
        (vec![2, 2, 0, 0, 0, 0], FrameError::UnsupportedVersion(2)),
        (vec![1, 0x42, 0, 0, 0, 0], FrameError::UnknownKind(0x42)),
        (
            vec![1, 3, 0, 1, 0, 1],
            FrameError::TooLarge {
                len: MAX_FRAME_BODY + 1,
            },
        ),
        (
            vec![1, 3, 0xff, 0xff, 0xff, 0xff],
            FrameError::TooLarge {
                len: u32::MAX as usize,
            },
        ),
        (
            vec![1, 3, 0, 0, 0, 0],
            FrameError::Malformed {
                kind: "Payload",
                reason: "empty payload",
            },
        ),
        (vec![1, 3, 0, 0], FrameError::Incomplete { needed: 2 }),
        (
            vec![1, 3, 0, 0, 0, 9, 5],
            FrameError::Incomplete { needed: 8 },
        ),
    ]
}

#[test]
fn malformed_frames_get_typed_errors() {
    for (bytes, want) in malformed_cases() {
        assert_eq!(ClientFrame::decode(&bytes).unwrap_err(), want, "{bytes:?}");
        assert_eq!(RelayFrame::decode(&bytes).unwrap_err(), want, "{bytes:?}");
    }
    let client_cases: Vec<(Vec<u8>, FrameError)> = vec![
        (
            vec![1, 2, 0, 0, 0, 1, 0],
            FrameError::Malformed {
                kind: "Leave",
                reason: "trailing bytes",
            },
        ),
        (
            vec![1, 4, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0],
            FrameError::Malformed {
                kind: "Ping",
                reason: "body too short",
            },
        ),
        (vec![1, 1, 0, 0, 0, 2, 1, b' '], FrameError::InvalidRoomName),
        (vec![1, 1, 0, 0, 0, 1, 0], FrameError::InvalidRoomName),
        (
            vec![1, 1, 0, 0, 0, 3, 2, 0xc3, 0x28],
            FrameError::Malformed {
                kind: "Join",
                reason: "invalid UTF-8",
            },
        ),
    ];
    for (bytes, want) in client_cases {
        assert_eq!(ClientFrame::decode(&bytes).unwrap_err(), want, "{bytes:?}");
    }
    let relay_cases: Vec<(Vec<u8>, FrameError)> = vec![
        (
            vec![1, 0x10, 0, 0, 0, 3, 1, b'a', 2],
            FrameError::Malformed {
                kind: "Joined",
                reason: "seat must be 0 or 1",
            },
        ),
        (
            vec![1, 0x1f, 0, 0, 0, 3, 0, 1, 5],
            FrameError::Malformed {
                kind: "Error",
                reason: "body too short",
            },
        ),
        (
            vec![1, 0x11, 0, 0, 0, 1, 0],
            FrameError::Malformed {
                kind: "Waiting",
                reason: "trailing bytes",
            },
        ),
    ];
    for (bytes, want) in relay_cases {
        assert_eq!(RelayFrame::decode(&bytes).unwrap_err(), want, "{bytes:?}");
    }
    // Unknown error codes survive decoding as Unknown.
    let f = RelayFrame::Error {
        code: ErrorCode::Unknown(999),
        message: String::new(),
    };
    assert_eq!(RelayFrame::decode(&f.to_bytes()).unwrap().0, f);
}

#[test]
fn long_error_messages_are_truncated_at_a_char_boundary() {
    let f = RelayFrame::Error {
        code: ErrorCode::MalformedFrame,
        message: "é".repeat(200),
    };
    let (back, _) = RelayFrame::decode(&f.to_bytes()).unwrap();
    let RelayFrame::Error { message, .. } = back else {
        panic!()
    };
    assert!(message.len() <= 255 && message.chars().all(|c| c == 'é'));
}

#[test]
fn the_decoder_refuses_an_oversized_length_from_the_header_alone() {
    let mut d = FrameDecoder::<ClientFrame>::new();
    d.push(&[1, 3, 0, 2, 0, 0]); // announces 131 072 bytes
    assert_eq!(d.wanted(), 0);
    assert_eq!(d.next_frame(), Err(FrameError::TooLarge { len: 131_072 }));
    d.push(&[0u8; 1000]);
    assert_eq!(d.buffered(), 0, "nothing of the oversized body is buffered");
    assert!(
        d.next_frame().is_err(),
        "the stream stays failed: framing is lost"
    );
}

#[test]
fn wanted_counts_the_rest_of_the_header_then_of_the_body() {
    let mut d = FrameDecoder::<ClientFrame>::new();
    assert_eq!(d.wanted(), HEADER_LEN);
    d.push(&[1, 3, 0]);
    assert_eq!(d.wanted(), 3);
    d.push(&[0, 0, 5]);
    assert_eq!(d.wanted(), 5);
    d.push(&[9, 9]);
    assert_eq!(d.wanted(), 3);
    assert_eq!(d.next_frame(), Ok(None));
    d.push(&[9, 9, 9]);
    assert_eq!(d.wanted(), 0);
    assert_eq!(d.next_frame(), Ok(Some(ClientFrame::Payload(vec![9; 5]))));
    assert_eq!(d.wanted(), HEADER_LEN);
}

fn arb_room() -> impl Strategy<Value = RoomName> {
    "[A-Za-z0-9._-]{1,64}".prop_map(|s| RoomName::new(&s).unwrap())
}

fn arb_client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        arb_room().prop_map(|room| ClientFrame::Join { room }),
        Just(ClientFrame::Leave),
        proptest::collection::vec(any::<u8>(), 1..2000).prop_map(ClientFrame::Payload),
        any::<u64>().prop_map(ClientFrame::Ping),
    ]
}

fn arb_relay_frame() -> impl Strategy<Value = RelayFrame> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..2000).prop_map(RelayFrame::Payload),
        any::<u64>().prop_map(RelayFrame::Pong),
        (arb_room(), 0u8..2).prop_map(|(room, seat)| RelayFrame::Joined { room, seat }),
        Just(RelayFrame::Waiting),
        (arb_room(), arb_room()).prop_map(|(from, to)| RelayFrame::Redirected { from, to }),
        Just(RelayFrame::PeerJoined),
        Just(RelayFrame::PeerLeft),
        (any::<u16>(), "\\PC{0,80}").prop_map(|(c, m)| RelayFrame::Error {
            code: ErrorCode::from_u16(c),
            message: m
        }),
    ]
}

/// Feeds `stream` to a decoder in pieces cut at `cuts`, reading at most `wanted()` bytes at a
/// time when `bounded` (as the relay does), and returns the frames.
fn decode_split<F: WireFrame>(stream: &[u8], cuts: &[usize], bounded: bool) -> Vec<F> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.sort_unstable();
    let mut d = FrameDecoder::<F>::new();
    let mut got = Vec::new();
    let mut last = 0;
    for p in points.into_iter().chain([stream.len()]) {
        while last < p {
            let n = if bounded {
                d.wanted().min(p - last)
            } else {
                p - last
            };
            d.push(&stream[last..last + n]);
            last += n;
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
            if bounded {
                assert!(d.buffered() <= HEADER_LEN + MAX_FRAME_BODY);
            }
        }
    }
    assert_eq!(d.buffered(), 0);
    got
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn client_frame_sequences_round_trip_through_any_split(frames in proptest::collection::vec(arb_client_frame(), 1..20), cuts in proptest::collection::vec(any::<usize>(), 0..10), bounded in any::<bool>()) {
        let mut stream = Vec::new();
        for f in &frames {
            f.encode(&mut stream);
        }
        prop_assert_eq!(decode_split::<ClientFrame>(&stream, &cuts, bounded), frames);
    }

    #[test]
    fn relay_frame_sequences_round_trip_through_any_split(frames in proptest::collection::vec(arb_relay_frame(), 1..20), cuts in proptest::collection::vec(any::<usize>(), 0..10), bounded in any::<bool>()) {
        let mut stream = Vec::new();
        for f in &frames {
            f.encode(&mut stream);
        }
        prop_assert_eq!(decode_split::<RelayFrame>(&stream, &cuts, bounded), frames);
    }

    #[test]
    fn hostile_bytes_never_panic_and_errors_are_typed(bytes in proptest::collection::vec(any::<u8>(), 0..3000), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let _ = ClientFrame::decode(&bytes);
        let _ = RelayFrame::decode(&bytes);
        let mut c = FrameDecoder::<ClientFrame>::new();
        let mut r = FrameDecoder::<RelayFrame>::new();
        let mut last = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        for p in points.into_iter().chain([bytes.len()]) {
            c.push(&bytes[last..p]);
            r.push(&bytes[last..p]);
            last = p;
            while let Ok(Some(_)) = c.next_frame() {}
            while let Ok(Some(_)) = r.next_frame() {}
        }
        prop_assert!(c.buffered() <= 6 + MAX_FRAME_BODY);
        prop_assert!(r.buffered() <= 6 + MAX_FRAME_BODY);
    }

    #[test]
    fn frames_with_one_byte_changed_decode_to_a_frame_or_a_typed_error(c in arb_client_frame(), r in arb_relay_frame(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = c.to_bytes();
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = ClientFrame::decode(&bytes);
        let mut bytes = r.to_bytes();
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = RelayFrame::decode(&bytes);
    }
}

#[test]
fn frame_len_is_known_from_the_header_and_errors_from_a_bad_one() {
    let mut d = FrameDecoder::<ClientFrame>::new();
    assert_eq!(d.frame_len(), Ok(None));
    d.push(&[1, 3, 0, 0, 1]);
    assert_eq!(d.frame_len(), Ok(None));
    d.push(&[0]);
    assert_eq!(d.frame_len(), Ok(Some(HEADER_LEN + 256)));
    let mut bad = FrameDecoder::<ClientFrame>::new();
    bad.push(&[1, 0x13, 0, 0, 0, 0]);
    assert_eq!(bad.frame_len(), Err(FrameError::WrongDirection(0x13)));
}
