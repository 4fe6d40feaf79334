//! The connect screen: who you are, which relay, which room.

use crate::controller::Controller;

pub(super) fn show(ui: &mut egui::Ui, c: &mut Controller) {
    ui.heading("Join a room");
    ui.label("Pick a room name and tell it to the person you want to talk to. Messages are end-to-end encrypted: the relay only forwards ciphertext.");
    ui.add_space(8.0);
    let new_identity = !c.identity_exists();
    let mut submit = false;
    let r = super::widgets::field(
        ui,
        "Display name",
        &mut c.form.display_name,
        false,
        "e.g. Alice",
    );
    submit |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    let r = super::widgets::field(
        ui,
        "Passphrase",
        &mut c.form.passphrase,
        true,
        "protects your identity key on disk",
    );
    submit |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if new_identity && !c.form.display_name.trim().is_empty() {
        let r = super::widgets::field(
            ui,
            "Repeat passphrase",
            &mut c.form.passphrase_repeat,
            true,
            "a new identity is created for this name",
        );
        submit |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    }
    super::widgets::field(
        ui,
        "Relay address",
        &mut c.form.relay,
        false,
        crate::DEFAULT_RELAY,
    );
    super::widgets::field(
        ui,
        "Certificate pin",
        &mut c.form.pin,
        false,
        "empty: the relay on this computer (found or started)",
    );
    let r = super::widgets::field(ui, "Room", &mut c.form.room, false, "e.g. lunch-plans");
    submit |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.add_space(8.0);
    if ui.button("Connect").clicked() || submit {
        c.connect();
    }
    if let Some(e) = c.error() {
        ui.add_space(8.0);
        ui.colored_label(egui::Color32::from_rgb(0xd0, 0x30, 0x30), e);
    }
}
