//! Every safety-number emoji must be drawable with the fonts the app bundles, or two people
//! comparing emoji would compare boxes.

use egui_kittest::Harness;

#[test]
fn every_safety_number_emoji_has_a_glyph() {
    let mut missing = Vec::new();
    for e in sans_io_proto::identity::EMOJI_TABLE {
        // The harness panics on a missing glyph (its default policy); catch it per emoji.
        let drawn = std::panic::catch_unwind(|| {
            let mut h = Harness::builder().build_ui(move |ui| {
                ui.label(e.symbol);
            });
            h.run_steps(1);
        });
        if drawn.is_err() {
            missing.push(e.name);
        }
    }
    assert!(missing.is_empty(), "no glyph for: {missing:?}");
}
