//! The timeline of the selected conversation and the compose box.
//!
//! Lines are told apart by where they come from, never by their text: ours are right-aligned in
//! a blue bubble headed "You", the peer's left-aligned in a grey bubble headed with the name the
//! user gave them (not the name the peer chose), the app's own notices centred in a framed strip
//! with an icon. A peer message is one label inside its bubble however many lines it has, so its
//! continuation lines align with its first line and cannot pass for lines of their own.

use chrono::TimeZone;
use egui::{Align, Color32, Layout, RichText};

use crate::app::App;
use crate::app::conversation::{Author, Entry, NoticeLevel};
use crate::model::SendState;
use crate::text;

const OWN: Color32 = Color32::from_rgb(0x2b, 0x4a, 0x6f);
const PEER: Color32 = Color32::from_rgb(0x3a, 0x3a, 0x3a);
/// Most height the compose box takes; more text scrolls inside it.
pub(super) const COMPOSE_MAX_HEIGHT: f32 = 120.0;

fn time(ms: u64) -> String {
    chrono::Local
        .timestamp_millis_opt(i64::try_from(ms).unwrap_or(0))
        .single()
        .map_or_else(String::new, |t| t.format("%H:%M").to_string())
}

fn state_text(s: &Option<SendState>) -> String {
    match s {
        Some(SendState::Sending) => "sending…".into(),
        Some(SendState::Sent) => "✔ sent".into(),
        Some(SendState::Delivered) => "✔✔ delivered".into(),
        Some(SendState::WaitingForPeer) => "⏳ waiting: sent when your peer is back".into(),
        Some(SendState::Failed(r)) => format!("❌ not sent: {r}"),
        None => String::new(),
    }
}

pub(super) fn timeline(ui: &mut egui::Ui, app: &App) {
    let Some(conv) = app.selected() else {
        ui.weak("No conversation yet.");
        return;
    };
    let peer_name = app.name_of(&conv.contact);
    let width = ui.available_width();
    egui::ScrollArea::vertical()
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for entry in conv.entries() {
                match entry {
                    Entry::Notice(n) => {
                        let (icon, color) = match n.level {
                            NoticeLevel::Info => ("ℹ", ui.visuals().weak_text_color()),
                            NoticeLevel::Warning => ("⚠", super::widgets::RED),
                        };
                        ui.vertical_centered(|ui| {
                            egui::Frame::new()
                                .stroke(egui::Stroke::new(1.0, color))
                                .corner_radius(2.0)
                                .inner_margin(egui::Margin::symmetric(8, 4))
                                .show(ui, |ui| {
                                    ui.set_max_width(width * 0.8);
                                    ui.add(
                                        egui::Label::new(
                                            RichText::new(format!(
                                                "{icon} {}  {}",
                                                time(n.at_ms),
                                                n.text
                                            ))
                                            .italics()
                                            .color(color),
                                        )
                                        .wrap(),
                                    );
                                });
                        });
                    }
                    Entry::Message(m) => {
                        let mine = m.author == Author::Me;
                        let layout = if mine {
                            Layout::right_to_left(Align::Min)
                        } else {
                            Layout::left_to_right(Align::Min)
                        };
                        ui.with_layout(layout, |ui| {
                            egui::Frame::new()
                                .fill(if mine { OWN } else { PEER })
                                .corner_radius(6.0)
                                .inner_margin(egui::Margin::symmetric(8, 5))
                                .show(ui, |ui| {
                                    ui.set_max_width(width * 0.7);
                                    ui.with_layout(Layout::top_down(Align::Min), |ui| {
                                        let head = if mine {
                                            format!(
                                                "You · {} · {}",
                                                time(m.at_ms),
                                                state_text(&m.state)
                                            )
                                        } else {
                                            format!("{peer_name} · {}", time(m.at_ms))
                                        };
                                        let mut head =
                                            RichText::new(head).small().color(Color32::LIGHT_GRAY);
                                        if m.expires_at_ms.is_some() {
                                            head = head.italics();
                                        }
                                        ui.label(head);
                                        let shown = shown_text(ui, &m.text, width * 0.7 - 16.0);
                                        ui.add(
                                            egui::Label::new(
                                                RichText::new(shown).color(Color32::WHITE),
                                            )
                                            .wrap(),
                                        );
                                    });
                                });
                        });
                        ui.add_space(3.0);
                    }
                }
            }
        });
}

/// A message as drawn: paragraphs with right-to-left text are wrapped here, in logical order,
/// then each line is put in display order (egui would wrap the reordered text, putting the end
/// of a right-to-left paragraph first). Left-to-right paragraphs are left to egui's wrapping.
fn shown_text(ui: &egui::Ui, message: &str, max_width: f32) -> String {
    let font = egui::TextStyle::Body.resolve(ui.style());
    message
        .split('\n')
        .map(|paragraph| {
            if text::display_order(paragraph) == paragraph {
                return paragraph.to_owned();
            }
            let measure = |s: &str| {
                ui.fonts_mut(|f| {
                    f.layout_no_wrap(s.to_owned(), font.clone(), Color32::WHITE)
                        .size()
                        .x
                })
            };
            text::wrap_logical(paragraph, max_width.max(40.0), measure)
                .iter()
                .map(|line| text::display_order(line))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn compose(ui: &mut egui::Ui, app: &mut App) {
    let enabled = app.can_send();
    let hint = if !enabled {
        if app.warning_open() {
            "sending is blocked until you accept this identity".to_owned()
        } else {
            "choose a contact to write to".to_owned()
        }
    } else if app.selected_is_connected() {
        "Enter to send, Shift+Enter for a new line".to_owned()
    } else {
        app.offline_notice().unwrap_or_default()
    };
    ui.horizontal(|ui| {
        let label = ui.label("Message");
        let send_width = 70.0;
        let mut response = None;
        egui::ScrollArea::vertical()
            .id_salt("compose")
            .max_height(COMPOSE_MAX_HEIGHT)
            .max_width(ui.available_width() - send_width)
            .stick_to_bottom(true)
            .show(ui, |ui| {
                let edit = egui::TextEdit::multiline(&mut app.draft)
                    .desired_rows(2)
                    .desired_width(f32::INFINITY)
                    .hint_text(hint);
                response = Some(ui.add_enabled(enabled, edit).labelled_by(label.id));
            });
        let Some(response) = response else { return };
        // Enter sends; Shift+Enter inserts a newline (the TextEdit handles that itself).
        let enter = response.has_focus()
            && ui.input(|i| i.key_pressed(egui::Key::Enter) && !i.modifiers.shift);
        if enter && app.draft.ends_with('\n') {
            // The TextEdit already inserted the newline for this Enter: drop it before sending.
            app.draft.pop();
        }
        let clicked = ui.add_enabled(enabled, egui::Button::new("Send")).clicked();
        if enter || clicked {
            app.send_draft();
            response.request_focus();
        }
    });
}
