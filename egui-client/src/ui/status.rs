//! The header bar and the in-between screens: busy, waiting, relay lost.

use std::time::Duration;

use crate::controller::{Controller, Screen};

pub(super) fn header(ui: &mut egui::Ui, c: &mut Controller) {
    ui.horizontal(|ui| {
        ui.strong("e2e-chat");
        if let Some(room) = c.room() {
            ui.separator();
            ui.label(format!("Room: {room}"));
        }
        let state = match c.screen() {
            Screen::Connect => "Not connected",
            Screen::Busy(_) => "Working…",
            Screen::Waiting => "Waiting for peer",
            Screen::ExchangingKeys => "Exchanging keys",
            Screen::Secure => "🔒 Secure",
            Screen::RelayLost { .. } => "Relay lost",
        };
        ui.separator();
        ui.label(state);
        if c.hosts_local_relay() {
            ui.separator();
            ui.label("relay running in this window");
        }
        if !matches!(c.screen(), Screen::Connect) {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Leave").clicked() {
                    c.disconnect();
                }
            });
        }
    });
    for notice in c.notices() {
        ui.colored_label(egui::Color32::from_rgb(0xc0, 0x80, 0x00), notice);
    }
}

pub(super) fn busy(ui: &mut egui::Ui, what: &str) {
    ui.vertical_centered(|ui| {
        ui.add_space(60.0);
        ui.spinner();
        ui.label(what);
    });
}

pub(super) fn waiting(ui: &mut egui::Ui, c: &Controller) {
    ui.vertical_centered(|ui| {
        ui.add_space(60.0);
        ui.spinner();
        ui.heading(c.waiting_text());
        if let Some(room) = c.room() {
            ui.label(format!(
                "Ask your peer to join the room \"{room}\" on the same relay."
            ));
        }
    });
}

pub(super) fn relay_lost(
    ui: &mut egui::Ui,
    c: &mut Controller,
    reason: &str,
    retrying_in: Option<Duration>,
) {
    ui.vertical_centered(|ui| {
        ui.add_space(60.0);
        ui.heading("Relay lost");
        ui.label(reason);
        if let Some(t) = retrying_in {
            ui.spinner();
            ui.label(format!("Reconnecting in {} s…", t.as_secs().max(1)));
        }
        if ui.button("Back to the connect screen").clicked() {
            c.disconnect();
        }
    });
}
