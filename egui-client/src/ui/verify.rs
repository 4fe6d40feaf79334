//! The verification panel: what to compare and how (PROTOCOL.md §8: the emoji and words of this
//! key exchange, or the safety number, also as a QR code, and the key picture), the warning when
//! an identity is not the one met in this room before (naming that contact), and the verify /
//! accept buttons.

use crate::app::App;
use crate::app::contacts::Recognition;

pub(super) fn show(ui: &mut egui::Ui, app: &mut App) {
    let Some(peer) = app.peer().cloned() else {
        return;
    };
    let fp = peer.fingerprint();
    egui::ScrollArea::vertical().show(ui, |ui| {
        if !peer.approved {
            let before = match peer.recognition {
                Recognition::NotTheOneMetHere { previous } => app.name_of(&previous),
                _ => "your contact".to_owned(),
            };
            egui::Frame::new()
                .fill(super::widgets::RED)
                .inner_margin(8.0)
                .show(ui, |ui| {
                    ui.colored_label(
                        egui::Color32::WHITE,
                        egui::RichText::new(format!("⚠ NOT {before}")).heading().strong(),
                    );
                    ui.colored_label(
                        egui::Color32::WHITE,
                        format!(
                            "This is not {before}, whom you met in this room: it is an identity you \
                             have never seen. It may be someone else in {before}'s place. Call \
                             {before} (or meet) and compare the emoji or the safety number below. \
                             Nothing you write is sent until you accept."
                        ),
                    );
                    if let Some(name) = &peer.display_name {
                        ui.colored_label(
                            egui::Color32::WHITE,
                            format!("It calls itself \"{name}\" (anyone can choose any name)."),
                        );
                    }
                    if ui
                        .button("I compared the emoji or the safety number: accept as a new contact")
                        .clicked()
                    {
                        app.accept_peer();
                    }
                });
        } else {
            let name = app.name_of(&fp);
            if app.contacts().get(&fp).is_some_and(|c| c.verified) {
                ui.colored_label(super::widgets::GREEN, format!("✔ {name} is verified"));
            } else {
                ui.label(format!("{name} is not verified yet."));
            }
        }
        let v = &peer.verification;
        ui.separator();
        ui.heading("Verify");
        ui.label(v.instructions());
        ui.add_space(6.0);
        ui.strong("Emoji and words of this key exchange:");
        ui.horizontal_wrapped(|ui| {
            for s in &v.sas {
                ui.vertical(|ui| {
                    ui.label(egui::RichText::new(&s.emoji).size(26.0));
                    ui.small(&s.word);
                });
            }
        });
        ui.small(
            "Read the words aloud: they must be the same, in the same order, on both screens.",
        );
        ui.add_space(6.0);
        ui.strong("Safety number");
        ui.monospace(v.display_lines());
        ui.horizontal(|ui| {
            super::widgets::qr(ui, v, 150.0);
            ui.vertical(|ui| {
                ui.label("Key picture of this key exchange:");
                super::widgets::key_visual(ui, &v.key_picture, 110.0);
            });
        });
        ui.small(
            "Scan the code with a phone camera: it shows the safety number as text. Compare those digits with the ones above.",
        );
        ui.small(format!("Peer identity: {fp}"));
        if let Some(own) = app.own_fingerprint() {
            ui.small(format!("Your identity: {own}"));
        }
        ui.add_space(6.0);
        if peer.approved
            && !app.contacts().get(&fp).is_some_and(|c| c.verified)
            && ui.button("Mark as verified").clicked()
        {
            app.set_verified(fp, true);
        }
    });
}
