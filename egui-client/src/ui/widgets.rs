//! Small custom widgets: a labelled text field, the QR code and the key picture.

use egui::{Color32, Rect, Sense, Stroke, Vec2};

/// A text field with a label that screen readers (and kittest) associate with it, and an
/// optional one-line explanation under it.
pub(super) fn field(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    password: bool,
    hint: &str,
) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.add_sized([150.0, 20.0], egui::Label::new(label));
        ui.add(
            egui::TextEdit::singleline(value)
                .password(password)
                .hint_text(hint)
                .desired_width(320.0),
        )
        .labelled_by(l.id)
    })
    .inner
}

/// A one-line explanation under a field, indented to the field.
pub(super) fn explain(ui: &mut egui::Ui, text: &str) {
    ui.horizontal(|ui| {
        ui.add_space(158.0);
        ui.add(egui::Label::new(egui::RichText::new(text).small().weak()).wrap());
    });
}

/// The QR code of the safety number, drawn module by module.
pub(super) fn qr(ui: &mut egui::Ui, v: &crate::app::verification::Verification, size: f32) {
    let Some((width, dark)) = v.qr_modules() else {
        ui.label("(QR code unavailable)");
        return;
    };
    let quiet = 4usize; // the quiet zone the QR standard asks for
    let cells = width + 2 * quiet;
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(size), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::WHITE);
    let cell = size / cells as f32;
    for (i, is_dark) in dark.iter().enumerate() {
        if *is_dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            let min = rect.min + Vec2::new(x as f32 * cell, y as f32 * cell);
            painter.rect_filled(
                Rect::from_min_size(min, Vec2::splat(cell)),
                0.0,
                Color32::BLACK,
            );
        }
    }
}

/// Telegram-style key picture: 12×12 cells in four shades of blue.
pub(super) fn key_visual(ui: &mut egui::Ui, cells: &[[u8; 12]; 12], size: f32) {
    const PALETTE: [Color32; 4] = [
        Color32::from_rgb(0xff, 0xff, 0xff),
        Color32::from_rgb(0xd5, 0xe6, 0xf3),
        Color32::from_rgb(0x2d, 0x57, 0x75),
        Color32::from_rgb(0x2f, 0x99, 0xc9),
    ];
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(size), Sense::hover());
    let painter = ui.painter_at(rect);
    let cell = size / 12.0;
    for (r, row) in cells.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let min = rect.min + Vec2::new(c as f32 * cell, r as f32 * cell);
            painter.rect_filled(
                Rect::from_min_size(min, Vec2::splat(cell)),
                0.0,
                PALETTE[usize::from(v & 3)],
            );
        }
    }
    painter.rect_stroke(
        rect,
        0.0,
        Stroke::new(1.0, Color32::GRAY),
        egui::StrokeKind::Inside,
    );
}

/// The red used for errors and warnings.
pub(super) const RED: Color32 = Color32::from_rgb(0x9b, 0x1c, 0x1c);
/// The amber of notices.
pub(super) const AMBER: Color32 = Color32::from_rgb(0xb0, 0x70, 0x00);
/// The green of "verified".
pub(super) const GREEN: Color32 = Color32::from_rgb(0x20, 0x90, 0x40);
