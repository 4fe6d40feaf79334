//! The bundled fonts: every script the issue names has its glyphs, right-to-left text comes out
//! in reading order, the verification emoji are drawable, and installing the fonts costs little
//! at start-up.

use std::time::Instant;

use egui::{Color32, Context, FontId, RawInput};
use egui_client::text::display_text;
use egui_kittest::Harness;

const SAMPLES: [(&str, &str); 8] = [
    ("Chinese", "你好世界，这是中文。漢字繁體"),
    ("Japanese", "こんにちは、カタカナ、日本語の漢字"),
    ("Korean", "안녕하세요 한국어"),
    ("Hebrew", "שלום עולם, מה שלומך?"),
    ("Arabic", "مرحبا بالعالم"),
    ("Cyrillic", "Привет, мир! Ёё Ґґ Її Ўў"),
    ("Greek", "Γειά σου κόσμε ΑΩαω ά"),
    ("Emoji", "😀👍❤🎉🔒✔🙂"),
];

/// One frame; the texture updates a renderer would upload are dropped on purpose.
fn frame(ctx: &Context, ui: impl FnMut(&mut egui::Ui)) {
    let mut out = ctx.run_ui(RawInput::default(), ui);
    out.textures_delta.clear();
}

fn context(with_bundled: bool) -> Context {
    let ctx = Context::default();
    if with_bundled {
        egui_client::fonts::install(&ctx);
    }
    // Fonts set with `set_fonts` apply from the next pass.
    for _ in 0..2 {
        frame(&ctx, |_| {});
    }
    ctx
}

fn missing(ctx: &Context, text: &str) -> Vec<char> {
    let font = FontId::proportional(14.0);
    ctx.fonts_mut(|f| {
        text.chars()
            .filter(|c| !c.is_whitespace() && !f.has_glyph(&font, *c))
            .collect()
    })
}

#[test]
fn every_script_has_its_glyphs_and_egui_alone_would_not() {
    let ours = context(true);
    for (script, sample) in SAMPLES {
        assert_eq!(missing(&ours, sample), Vec::<char>::new(), "{script}");
    }
    // The test would catch a font that is not loaded: egui's own fonts lack these scripts.
    let plain = context(false);
    for (script, sample) in &SAMPLES[..5] {
        assert!(
            !missing(&plain, sample).is_empty(),
            "{script} drawn without our fonts?"
        );
    }
}

/// Characters of the first row, left to right as drawn.
fn drawn_order(ctx: &Context, text: &str) -> String {
    let galley = ctx.fonts_mut(|f| {
        f.layout_no_wrap(text.to_owned(), FontId::proportional(14.0), Color32::WHITE)
    });
    let mut glyphs: Vec<(f32, char)> = galley.rows[0]
        .glyphs
        .iter()
        .filter(|g| g.advance_width > 0.0)
        .map(|g| (g.pos.x, g.chr))
        .collect();
    glyphs.sort_by(|a, b| a.0.total_cmp(&b.0));
    glyphs.into_iter().map(|(_, c)| c).collect()
}

#[test]
fn right_to_left_text_is_drawn_in_reading_order() {
    let ctx = context(true);
    for logical in ["שלום עולם", "مرحبا بالعالم"] {
        // Read right to left, the drawn characters are the logical ones: left to right they are
        // the logical string reversed.
        let expected: String = logical.chars().rev().collect();
        assert_eq!(
            drawn_order(&ctx, &display_text(logical)),
            expected,
            "{logical}"
        );
    }
    // Mixed: the English word stays readable, the Hebrew words keep their right-to-left order.
    let drawn = drawn_order(&ctx, &display_text("שלום Bob עולם"));
    assert_eq!(drawn, "םלוע Bob םולש");
}

#[test]
fn every_safety_number_emoji_has_a_glyph() {
    let ctx = context(true);
    let mut missing_emoji = Vec::new();
    for e in sans_io_proto::identity::EMOJI_TABLE {
        if !missing(&ctx, e.symbol).is_empty() {
            missing_emoji.push(e.name);
        }
    }
    assert!(missing_emoji.is_empty(), "no glyph for: {missing_emoji:?}");
    // The harness (which panics on a missing glyph) draws them all.
    let mut h = Harness::builder().build_ui(|ui| {
        egui_client::fonts::install(ui.ctx());
        for e in sans_io_proto::identity::EMOJI_TABLE {
            ui.label(e.symbol);
        }
    });
    h.run_steps(2);
}

#[test]
fn installing_the_fonts_costs_little_at_start_up() {
    // Start-up cost: set the fonts and draw a first frame with text of every script (the glyphs
    // are rasterized on demand). Printed for BENCHMARKS-style reporting; the bound is loose so a
    // busy machine does not fail it, yet catches parsing every glyph up front.
    let time = |bundled: bool| {
        let t = Instant::now();
        let ctx = Context::default();
        if bundled {
            egui_client::fonts::install(&ctx);
        }
        for _ in 0..2 {
            frame(&ctx, |ui| {
                for (_, s) in SAMPLES {
                    ui.label(s);
                }
            });
        }
        t.elapsed()
    };
    let _ = time(true); // warm the allocator and page cache
    let plain = time(false);
    let ours = time(true);
    println!("first two frames: egui fonts {plain:?}, with the bundled fonts {ours:?}");
    assert!(ours.as_millis() < 1_500, "{ours:?}");
}
