//! The connect screen: who you are, which relay, which room.

use super::widgets::{explain, field};
use crate::app::App;

pub(super) fn show(ui: &mut egui::Ui, app: &mut App) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.heading("Join a room");
        ui.label(
            "Pick a room name and tell it to the person you want to talk to. Messages are \
             end-to-end encrypted: the relay only forwards ciphertext.",
        );
        ui.add_space(8.0);
        let new_identity = !app.identity_exists();
        let mut submit = false;
        let enter = |ui: &egui::Ui, r: &egui::Response| {
            r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
        };
        let r = field(
            ui,
            "Display name",
            &mut app.form.display_name,
            false,
            "e.g. Alice",
        );
        submit |= enter(ui, &r);
        let r = field(
            ui,
            "Passphrase",
            &mut app.form.passphrase,
            true,
            "protects your identity key on disk",
        );
        submit |= enter(ui, &r);
        if new_identity && !app.form.display_name.trim().is_empty() {
            let r = field(
                ui,
                "Repeat passphrase",
                &mut app.form.passphrase_repeat,
                true,
                "a new identity is created for this name",
            );
            submit |= enter(ui, &r);
        }
        field(
            ui,
            "Relay address",
            &mut app.form.relay,
            false,
            crate::DEFAULT_RELAY,
        );
        explain(
            ui,
            "The relay is the server both of you connect to; it passes encrypted messages on and \
             cannot read them. The default is the relay on this computer.",
        );
        field(
            ui,
            "Certificate pin",
            &mut app.form.pin,
            false,
            "empty: the relay on this computer",
        );
        explain(
            ui,
            "The relay's certificate fingerprint (64 hex digits, printed by the relay when it \
             starts): it proves you reach that relay and nobody in between.",
        );
        let r = field(ui, "Room", &mut app.form.room, false, "e.g. lunch-plans");
        submit |= enter(ui, &r);
        ui.add_space(8.0);
        if ui.button("Connect").clicked() || submit {
            app.connect();
        }
        if let Some(e) = app.form_error().map(str::to_owned) {
            ui.add_space(8.0);
            ui.colored_label(super::widgets::RED, e);
        }
        if let Some(addr) = app.local_relay_question().cloned() {
            ui.add_space(8.0);
            egui::Frame::new()
                .stroke(egui::Stroke::new(1.0, super::widgets::AMBER))
                .inner_margin(8.0)
                .show(ui, |ui| {
                    ui.label(format!(
                        "No relay answers at {addr}. Start a relay inside this window at that \
                         address? Only do this if your peer will connect to {addr} too; \
                         otherwise check the address."
                    ));
                    ui.horizontal(|ui| {
                        if ui.button("Start a relay here").clicked() {
                            app.start_local_relay_here();
                        }
                        if ui.button("No").clicked() {
                            app.dismiss_local_relay_question();
                        }
                    });
                });
        }
    });
}
