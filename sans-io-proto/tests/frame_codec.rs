//! The relay framing (PROTOCOL.md §3): byte-exact golden encodings, round trips of arbitrary
//! frames, every malformed case as a typed error, and hostile bytes in any split never panicking.

mod common;

use proptest::prelude::*;
use sans_io_proto::frame::{ErrorCode, Frame, FrameDecoder, FrameError, MAX_FRAME_BODY, RoomName};

fn room(s: &str) -> RoomName {
    RoomName::new(s).unwrap()
}

fn one_of_each() -> Vec<(&'static str, Frame)> {
    vec![
        (
            "Join",
            Frame::Join {
                room: room("lobby"),
            },
        ),
        ("Leave", Frame::Leave),
        ("Payload", Frame::Payload(vec![0x01, 0x10, 0xde, 0xad])),
        ("Ping", Frame::Ping(0x0102_0304_0506_0708)),
        ("Pong", Frame::Pong(7)),
        (
            "Joined",
            Frame::Joined {
                room: room("lobby"),
                seat: 1,
            },
        ),
        ("Waiting", Frame::Waiting),
        (
            "Redirected",
            Frame::Redirected {
                from: room("lobby"),
                to: room("lobby-2"),
            },
        ),
        ("PeerJoined", Frame::PeerJoined),
        ("PeerLeft", Frame::PeerLeft),
        (
            "Error",
            Frame::Error {
                code: ErrorCode::RateLimited,
                message: "slow down".into(),
            },
        ),
    ]
}

#[test]
fn golden_encodings_of_every_kind() {
    let blocks = common::vector_blocks("frames/frames.txt");
    let frames = one_of_each();
    assert_eq!(blocks.len(), frames.len());
    for (block, (name, frame)) in blocks.iter().zip(frames) {
        assert_eq!(block["kind"], name);
        let bytes = common::hex_field(block, "bytes");
        assert_eq!(
            frame.to_bytes(),
            bytes,
            "{name} encodes differently from the vector"
        );
        assert_eq!(Frame::decode(&bytes), Ok((frame, bytes.len())));
    }
}

#[test]
fn malformed_frames_get_typed_errors() {
    let cases: Vec<(Vec<u8>, FrameError)> = vec![
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
        (
            vec![1, 0x10, 0, 0, 0, 3, 1, b'a', 2],
            FrameError::Malformed {
                kind: "Joined",
                reason: "seat must be 0 or 1",
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
        (
            vec![1, 0x1f, 0, 0, 0, 3, 0, 1, 5],
            FrameError::Malformed {
                kind: "Error",
                reason: "body too short",
            },
        ),
        (vec![1, 1, 0, 0], FrameError::Incomplete { needed: 2 }),
        (
            vec![1, 1, 0, 0, 0, 9, 5],
            FrameError::Incomplete { needed: 8 },
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(Frame::decode(&bytes).unwrap_err(), want, "{bytes:?}");
    }
    // Unknown error codes survive decoding as Unknown.
    let f = Frame::Error {
        code: ErrorCode::Unknown(999),
        message: String::new(),
    };
    assert_eq!(Frame::decode(&f.to_bytes()).unwrap().0, f);
}

#[test]
fn long_error_messages_are_truncated_at_a_char_boundary() {
    let f = Frame::Error {
        code: ErrorCode::MalformedFrame,
        message: "é".repeat(200),
    };
    let (back, _) = Frame::decode(&f.to_bytes()).unwrap();
    let Frame::Error { message, .. } = back else {
        panic!()
    };
    assert!(message.len() <= 255 && message.chars().all(|c| c == 'é'));
}

#[test]
fn the_decoder_refuses_an_oversized_length_from_the_header_alone() {
    let mut d = FrameDecoder::new();
    d.push(&[1, 3, 0, 2, 0, 0]); // announces 131 072 bytes
    assert_eq!(d.next_frame(), Err(FrameError::TooLarge { len: 131_072 }));
    d.push(&[0u8; 1000]);
    assert_eq!(d.buffered(), 0, "nothing of the oversized body is buffered");
    assert!(
        d.next_frame().is_err(),
        "the stream stays failed: framing is lost"
    );
}

fn arb_room() -> impl Strategy<Value = RoomName> {
    "[A-Za-z0-9._-]{1,64}".prop_map(|s| RoomName::new(&s).unwrap())
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        arb_room().prop_map(|room| Frame::Join { room }),
        Just(Frame::Leave),
        proptest::collection::vec(any::<u8>(), 1..2000).prop_map(Frame::Payload),
        any::<u64>().prop_map(Frame::Ping),
        any::<u64>().prop_map(Frame::Pong),
        (arb_room(), 0u8..2).prop_map(|(room, seat)| Frame::Joined { room, seat }),
        Just(Frame::Waiting),
        (arb_room(), arb_room()).prop_map(|(from, to)| Frame::Redirected { from, to }),
        Just(Frame::PeerJoined),
        Just(Frame::PeerLeft),
        (any::<u16>(), "\\PC{0,80}").prop_map(|(c, m)| Frame::Error {
            code: ErrorCode::from_u16(c),
            message: m
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn any_frame_sequence_round_trips_through_any_split(frames in proptest::collection::vec(arb_frame(), 1..20), cuts in proptest::collection::vec(any::<usize>(), 0..10)) {
        let mut stream = Vec::new();
        for f in &frames {
            f.encode(&mut stream);
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        points.sort_unstable();
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        let mut last = 0;
        for p in points.into_iter().chain([stream.len()]) {
            d.push(&stream[last..p]);
            last = p;
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        prop_assert_eq!(got, frames);
        prop_assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn hostile_bytes_never_panic_and_errors_are_typed(bytes in proptest::collection::vec(any::<u8>(), 0..3000), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let _ = Frame::decode(&bytes);
        let mut d = FrameDecoder::new();
        let mut last = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        for p in points.into_iter().chain([bytes.len()]) {
            d.push(&bytes[last..p]);
            last = p;
            while let Ok(Some(_)) = d.next_frame() {}
        }
        prop_assert!(d.buffered() <= 6 + MAX_FRAME_BODY);
    }

    #[test]
    fn frames_with_one_byte_changed_decode_to_a_frame_or_a_typed_error(frame in arb_frame(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = frame.to_bytes();
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = Frame::decode(&bytes);
    }
}
