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
/// visible below it): waiting, exchanging keys, relay lost, key exchanges paused or failed with a
/// "Try again" button, the last aborted key exchange, and where a message written now goes.
pub(super) fn phase_strip(ui: &mut egui::Ui, app: &mut App, phase: &Phase) {
    let mut shown = false;
    let text = match phase {
        Phase::Waiting => {
            let room = app.room().unwrap_or("the room");
            Some(format!(
                "{} Ask your peer to join the room \"{room}\" on the same relay.",
                sans_io_proto::frame::WAITING_TEXT
            ))
        }
        Phase::ExchangingKeys => Some("Exchanging keys with your peer…".to_owned()),
        Phase::RelayLost {
            reason,
            retrying_in,
        } => Some(match retrying_in {
            Some(t) => format!(
                "Relay lost ({reason}). Reconnecting in {} s…",
                t.as_secs().max(1)
            ),
            None => format!("Relay lost ({reason})."),
        }),
        _ => None,
    };
    if let Some(text) = text {
        ui.horizontal_wrapped(|ui| {
            ui.spinner();
            ui.label(text);
        });
        shown = true;
    }
    let stopped = match phase {
        Phase::Suspended { recent } => Some(crate::app::suspension_words(*recent)),
        Phase::ExchangeFailed { reason } => Some(format!("{reason}.")),
        _ => None,
    };
    if let Some(text) = stopped {
        egui::Frame::new()
            .stroke(egui::Stroke::new(1.0, super::widgets::RED))
            .inner_margin(6.0)
            .show(ui, |ui| {
                ui.colored_label(super::widgets::RED, text);
                if ui.button("Try again").clicked() {
                    app.try_again();
                }
            });
        shown = true;
    }
    if let Some(note) = app.exchange_note().map(str::to_owned) {
        ui.colored_label(super::widgets::AMBER, note);
        shown = true;
    }
    if let Some(offline) = app.offline_notice() {
        ui.label(egui::RichText::new(offline).italics());
        shown = true;
    }
    if shown {
        ui.separator();
    }
}
