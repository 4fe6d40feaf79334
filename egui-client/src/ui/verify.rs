//! The verification panel: what to compare and how, the warning when an identity is not the one
//! met in this room before (naming that contact), and the verify / accept buttons.

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
                             {before} (or meet) and compare the safety number below. Nothing you \
                             write is sent until you accept."
                        ),
                    );
                    if let Some(name) = &peer.display_name {
                        ui.colored_label(
                            egui::Color32::WHITE,
                            format!("It calls itself \"{name}\" (anyone can choose any name)."),
                        );
                    }
                    if ui
                        .button("I compared the safety number: accept as a new contact")
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
        ui.heading("Safety number");
        ui.label(v.instructions());
        ui.monospace(v.display_lines());
        if let Some(sas) = &v.sas {
            ui.add_space(6.0);
            ui.strong("This session's emoji and words:");
            ui.horizontal_wrapped(|ui| {
                for s in sas {
                    ui.vertical(|ui| {
                        ui.label(egui::RichText::new(&s.emoji).size(26.0));
                        ui.small(&s.word);
                    });
                }
            });
        }
        ui.add_space(6.0);
        super::widgets::qr(ui, v, 150.0);
        ui.small(
            "Scan it with a phone camera: it shows the safety number as text. Compare those digits with the ones above.",
        );
        ui.add_space(6.0);
        ui.label("Session key picture (the same on both screens):");
        super::widgets::key_visual(ui, &v.key_picture, 110.0);
        ui.small(format!("Peer identity: {fp}"));
        if let Some(own) = app.own_fingerprint() {
            ui.small(format!("Your identity: {own}"));
        }
        ui.add_space(6.0);
        if peer.approved && !app.contacts().get(&fp).is_some_and(|c| c.verified)
            && ui.button("Mark as verified").clicked()
        {
            app.set_verified(fp, true);
        }
    });
}
