//! The header bar and the in-between states: busy, waiting, exchanging keys, relay lost.

use crate::app::{App, Phase, Tone};

pub(super) fn header(ui: &mut egui::Ui, app: &mut App) {
    ui.horizontal(|ui| {
        ui.strong("e2e-chat");
        if let Some(room) = app.room() {
            ui.separator();
            ui.label(format!("Room: {room}"));
        }
        ui.separator();
        let status = app.status();
        let color = match status.tone {
            Tone::Good => super::widgets::GREEN,
            Tone::Warning => super::widgets::RED,
            Tone::Neutral => ui.visuals().text_color(),
        };
        ui.colored_label(color, egui::RichText::new(status.text).strong());
        if app.rejected() > 0 {
            ui.separator();
            ui.weak(format!(
                "{} message(s) refused (forged or damaged)",
                app.rejected()
            ));
        }
        if app.hosts_local_relay() {
            ui.separator();
            ui.weak("relay running in this window");
        }
        if !matches!(app.phase(), Phase::Connect) {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Leave").clicked() {
                    app.leave();
                }
            });
        }
    });
    if let Some(r) = app.redirect().map(str::to_owned) {
        ui.colored_label(super::widgets::AMBER, r);
    }
    if let Some(e) = app.error().map(str::to_owned) {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(super::widgets::RED, e);
            if ui.small_button("Dismiss").clicked() {
                app.dismiss_error();
            }
        });
    }
    if !app.warnings().is_empty() {
        let warnings = app.warnings().to_vec();
        for w in &warnings {
            ui.colored_label(super::widgets::AMBER, w);
        }
        if ui.small_button("Dismiss these notices").clicked() {
            app.dismiss_warnings();
        }
    }
}

pub(super) fn busy(ui: &mut egui::Ui, what: &str) {
    ui.vertical_centered(|ui| {
        ui.add_space(60.0);
        ui.spinner();
        ui.label(what);
    });
}

/// A strip above the conversation saying what the connection does (the conversation stays
/// visible below it).
pub(super) fn phase_strip(ui: &mut egui::Ui, app: &mut App, phase: &Phase) {
    let text = match phase {
        Phase::Waiting => {
            let room = app.room().unwrap_or("the room");
            format!(
                "{} Ask your peer to join the room \"{room}\" on the same relay. Messages you write now wait until a contact is back.",
                sans_io_proto::frame::WAITING_TEXT
            )
        }
        Phase::ExchangingKeys => "Exchanging keys with your peer…".to_owned(),
        Phase::RelayLost {
            reason,
            retrying_in,
        } => match retrying_in {
            Some(t) => format!(
                "Relay lost ({reason}). Reconnecting in {} s…",
                t.as_secs().max(1)
            ),
            None => format!("Relay lost ({reason})."),
        },
        _ => return,
    };
    ui.horizontal_wrapped(|ui| {
        ui.spinner();
        ui.label(text);
    });
    ui.separator();
}
