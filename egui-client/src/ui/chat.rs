//! The conversation and the message box.

use crate::controller::{Controller, Delivery};

pub(super) fn messages(ui: &mut egui::Ui, c: &Controller) {
    egui::ScrollArea::vertical()
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for line in c.messages() {
                match &line.sender {
                    None => {
                        ui.label(
                            egui::RichText::new(format!("{}  {}", line.time, line.text))
                                .italics()
                                .weak(),
                        );
                    }
                    Some(sender) => {
                        let state = match line.delivery {
                            Some(Delivery::Sending) => " ·",
                            Some(Delivery::Sent) => " ✔",
                            Some(Delivery::Delivered) => " ✔✔",
                            Some(Delivery::Failed) => " ❌ not sent",
                            None => "",
                        };
                        ui.horizontal_wrapped(|ui| {
                            ui.weak(&line.time);
                            ui.strong(format!("{sender}:"));
                            ui.label(&line.text);
                            ui.weak(state);
                        });
                    }
                }
            }
        });
}

pub(super) fn compose(ui: &mut egui::Ui, c: &mut Controller) {
    if let Some(e) = c.error() {
        ui.colored_label(egui::Color32::from_rgb(0xd0, 0x30, 0x30), e);
    }
    ui.horizontal(|ui| {
        let label = ui.label("Message");
        let enabled = c.can_send();
        let edit = egui::TextEdit::multiline(&mut c.draft)
            .desired_rows(2)
            .desired_width(ui.available_width() - 80.0)
            .hint_text(if enabled {
                "Enter to send, Shift+Enter for a new line"
            } else {
                "sending is blocked until the identity is accepted"
            });
        let response = ui.add_enabled(enabled, edit).labelled_by(label.id);
        // Enter sends; Shift+Enter inserts a newline (the TextEdit handles that itself).
        let enter = response.has_focus()
            && ui.input(|i| i.key_pressed(egui::Key::Enter) && !i.modifiers.shift);
        if enter {
            // The TextEdit already inserted the newline for this Enter: drop it before sending.
            if c.draft.ends_with('\n') {
                c.draft.pop();
            }
        }
        let clicked = ui.add_enabled(enabled, egui::Button::new("Send")).clicked();
        if enter || clicked {
            c.send_draft();
            response.request_focus();
        }
    });
}
