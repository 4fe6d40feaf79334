//! The conversation list (one per contact) and the selected contact's card: its name, whether it
//! is verified (and a way to remove that), when it was seen, its rooms, the disappearing-messages
//! timer and whether the conversation is kept on disk.

use chrono::TimeZone;
use sans_io_proto::Fingerprint;

use crate::app::App;
use crate::model::Timer;

pub(super) fn list(ui: &mut egui::Ui, app: &mut App) {
    ui.heading("Conversations");
    egui::ScrollArea::vertical().show(ui, |ui| {
        for c in app.conversation_list() {
            let mut label = c.name.clone();
            if c.verified {
                label.push_str(" ✔");
            }
            if c.connected {
                label.push_str(" · here");
            }
            if c.unread > 0 {
                label.push_str(&format!("  ({} new)", c.unread));
            }
            let selected = app.selected().map(|s| s.contact) == Some(c.contact);
            if ui.selectable_label(selected, label).clicked() {
                app.select(c.contact);
            }
        }
    });
}

fn date(ms: u64) -> String {
    chrono::Local
        .timestamp_millis_opt(i64::try_from(ms).unwrap_or(0))
        .single()
        .map_or_else(|| "?".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// The card of the selected contact (or the unknown identity).
pub(super) fn details(
    ui: &mut egui::Ui,
    app: &mut App,
    rename: &mut Option<(Fingerprint, String)>,
) {
    let Some(fp) = app.selected().map(|c| c.contact) else {
        return;
    };
    let Some(contact) = app.contacts().get(&fp).cloned() else {
        ui.strong(app.name_of(&fp));
        ui.separator();
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.heading(&contact.petname);
        if contact.verified {
            ui.colored_label(super::widgets::GREEN, "✔ verified");
            if ui.small_button("Remove verification").clicked() {
                app.set_verified(fp, false);
            }
        } else {
            ui.weak("not verified");
        }
        if !contact.peer_name.is_empty() && contact.peer_name != contact.petname {
            ui.weak(format!("(calls themself \"{}\")", contact.peer_name));
        }
    });
    egui::CollapsingHeader::new("Contact details")
        .id_salt(("details", fp))
        .show(ui, |ui| {
            ui.label(format!(
                "First seen {}, last seen {}. Met in: {}.",
                date(contact.first_seen_ms),
                date(contact.last_seen_ms),
                contact.rooms.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
            ui.small(format!("Identity fingerprint: {fp}"));
            ui.horizontal(|ui| {
                let l = ui.label("Name");
                let entry = rename.get_or_insert_with(|| (fp, contact.petname.clone()));
                if entry.0 != fp {
                    *entry = (fp, contact.petname.clone());
                }
                ui.add(egui::TextEdit::singleline(&mut entry.1).desired_width(160.0))
                    .labelled_by(l.id);
                if ui.button("Rename").clicked() {
                    // A refused name is reported in the error banner by the state.
                    let _ = app.rename(fp, &entry.1.clone());
                }
            });
            ui.horizontal(|ui| {
                ui.label("Disappearing messages:");
                let mut chosen = contact.timer;
                egui::ComboBox::from_id_salt(("timer", fp))
                    .selected_text(chosen.label())
                    .show_ui(ui, |ui| {
                        for t in Timer::ALL {
                            ui.selectable_value(&mut chosen, t, t.label());
                        }
                        // A setting the peer's app chose outside the menu stays selectable.
                        if let Timer::Other(_) = contact.timer {
                            ui.selectable_value(&mut chosen, contact.timer, contact.timer.label());
                        }
                    });
                if chosen != contact.timer {
                    app.request_timer(fp, chosen);
                }
            });
            let mut keep = contact.keep_history;
            if ui
                .checkbox(
                    &mut keep,
                    "Keep this conversation on this computer (encrypted)",
                )
                .changed()
            {
                app.set_keep_history(fp, keep);
            }
        });
    ui.separator();
}
