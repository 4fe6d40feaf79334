//! The verification panel: safety number as digits, emoji and QR code, the session key picture,
//! and the trust-on-first-use state with its loud warning.

use crate::controller::Controller;
use crate::trust_store::Trust;

pub(super) fn show(ui: &mut egui::Ui, c: &mut Controller) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        let peer = c.peer_name().unwrap_or("your peer").to_owned();
        match c.trust().cloned() {
            Some(Trust::Changed { previous }) => {
                egui::Frame::new().fill(egui::Color32::from_rgb(0x9b, 0x1c, 0x1c)).inner_margin(8.0).show(ui, |ui| {
                    ui.colored_label(egui::Color32::WHITE, egui::RichText::new("⚠ IDENTITY CHANGED").heading().strong());
                    ui.colored_label(
                        egui::Color32::WHITE,
                        format!(
                            "The identity in this room is not the one you met before (was {}…). It may be someone \
                             else. Compare the safety number with {peer} by another channel before sending.",
                            &previous.to_hex()[..16]
                        ),
                    );
                    if ui.button("I compared it: accept the new identity").clicked() {
                        c.accept_new_identity();
                    }
                });
            }
            Some(Trust::Verified) => {
                ui.colored_label(egui::Color32::from_rgb(0x20, 0x90, 0x40), "✔ Verified contact");
            }
            Some(Trust::FirstSeen) => {
                ui.label(format!("First time you meet {peer} in this room: compare the safety number."));
            }
            Some(Trust::Known) | None => {
                ui.label("Same identity as last time; not verified yet.");
            }
        }
        let Some(v) = c.verification().cloned() else { return };
        ui.separator();
        ui.heading("Safety number");
        ui.label("Read it to each other (or compare the emoji, or scan the code). If it matches, nobody is in the middle.");
        ui.monospace(&v.digits);
        ui.add_space(6.0);
        ui.horizontal_wrapped(|ui| {
            for (symbol, name) in &v.emoji {
                ui.vertical(|ui| {
                    ui.label(egui::RichText::new(*symbol).size(26.0));
                    ui.small(*name);
                });
            }
        });
        ui.add_space(6.0);
        super::widgets::qr(ui, &v.qr, 160.0);
        ui.add_space(6.0);
        ui.label("Session key picture (the same on both screens):");
        super::widgets::key_visual(ui, &v.visual, 120.0);
        ui.small(format!("Peer key fingerprint: {}", v.peer_fingerprint));
        if let Some(own) = c.own_fingerprint() {
            ui.small(format!("Your key fingerprint: {own}"));
        }
        ui.add_space(6.0);
        if !matches!(c.trust(), Some(Trust::Verified) | Some(Trust::Changed { .. })) && ui.button("Mark as verified").clicked() {
            c.mark_verified();
        }
    });
}
