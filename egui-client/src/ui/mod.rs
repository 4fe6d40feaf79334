//! The egui views. They draw the [`App`](crate::app::App) state and turn clicks into its commands;
//! no logic lives here.

mod chat;
mod connect;
mod contacts;
mod status;
mod verify;
mod widgets;

use std::sync::Arc;

use crate::app::Phase;
use crate::shell::{Settings, Shell};

/// The eframe application.
pub struct ChatApp {
    /// The state and its threads.
    pub shell: Shell,
    /// What to do with characters no font can draw. Message text comes from the peer, so the
    /// app uses boxes ("tofu") and never aborts; tests may switch to `Panic` to check that the
    /// app's own labels only use glyphs the bundled fonts have.
    pub glyph_policy: egui::MissingGlyphPolicy,
    title: String,
    rename: Option<(sans_io_proto::Fingerprint, String)>,
}

impl ChatApp {
    /// Creates the app (installing the bundled fonts); the network thread wakes the window
    /// through `ctx.request_repaint()`.
    pub fn new(ctx: &egui::Context, settings: Settings) -> std::io::Result<Self> {
        crate::fonts::install(ctx);
        let repaint = ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || repaint.request_repaint());
        Ok(ChatApp {
            shell: Shell::new(settings, wake)?,
            glyph_policy: egui::MissingGlyphPolicy::Tofu,
            title: String::new(),
            rename: None,
        })
    }

    /// Draws one frame (also used by the kittest tests through [`eframe::App::ui`]).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        // Applied every frame, so nothing (a harness, a future default) can turn peer text into
        // a crash.
        ui.ctx().set_missing_glyph_policy(self.glyph_policy);
        let focused = ui.ctx().input(|i| i.viewport().focused).unwrap_or(true);
        self.shell.app.set_focused(focused);
        let next = self.shell.pump();
        if let Some(at) = next {
            let wait = at.saturating_sub(crate::shell::now_ms());
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(wait.clamp(10, 60_000)));
        }
        let title = self.shell.app.window_title();
        if title != self.title {
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
        let app = &mut self.shell.app;
        egui::Panel::top("header").show(ui, |ui| status::header(ui, app));
        match app.phase().clone() {
            Phase::Connect => {
                egui::CentralPanel::default().show(ui, |ui| connect::show(ui, app));
            }
            Phase::Busy(what) => {
                egui::CentralPanel::default().show(ui, |ui| status::busy(ui, &what));
            }
            phase => {
                egui::Panel::left("conversations")
                    .resizable(true)
                    .default_size(190.0)
                    .show(ui, |ui| contacts::list(ui, app));
                if phase == Phase::Secure && app.peer().is_some() {
                    egui::Panel::right("verify")
                        .resizable(true)
                        .default_size(330.0)
                        .show(ui, |ui| verify::show(ui, app));
                }
                egui::Panel::bottom("compose").show(ui, |ui| chat::compose(ui, app));
                egui::CentralPanel::default().show(ui, |ui| {
                    status::phase_strip(ui, app, &phase);
                    contacts::details(ui, app, &mut self.rename);
                    chat::timeline(ui, app);
                });
            }
        }
    }
}

impl eframe::App for ChatApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }
}
