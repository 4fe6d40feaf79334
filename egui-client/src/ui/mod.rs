//! The egui views. They draw [`Controller`]'s state and turn clicks into its commands; no logic
//! lives here.

mod chat;
mod connect;
mod status;
mod verify;
mod widgets;

use std::sync::Arc;

use crate::controller::{Controller, Screen, Settings};

/// The eframe application.
pub struct ChatApp {
    /// The logic.
    pub controller: Controller,
    /// What to do with characters no font can draw. Message text comes from the peer, so the
    /// app uses boxes ("tofu") and never aborts; tests may switch to `Panic` to check that the
    /// app's own labels only use glyphs the bundled fonts have.
    pub glyph_policy: egui::MissingGlyphPolicy,
}

impl ChatApp {
    /// Creates the app; the network thread wakes the window through `ctx.request_repaint()`.
    pub fn new(ctx: &egui::Context, settings: Settings) -> std::io::Result<Self> {
        let repaint = ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || repaint.request_repaint());
        Ok(ChatApp {
            controller: Controller::new(settings, wake)?,
            glyph_policy: egui::MissingGlyphPolicy::Tofu,
        })
    }

    /// Draws one frame (also used by the kittest tests through [`eframe::App::ui`]).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        // Applied every frame, so nothing (a harness, a future default) can turn peer text into
        // a crash.
        ui.ctx().set_missing_glyph_policy(self.glyph_policy);
        self.controller.poll();
        let c = &mut self.controller;
        egui::Panel::top("header").show(ui, |ui| status::header(ui, c));
        match c.screen().clone() {
            Screen::Connect => {
                egui::CentralPanel::default().show(ui, |ui| connect::show(ui, c));
            }
            Screen::Busy(what) => {
                egui::CentralPanel::default().show(ui, |ui| status::busy(ui, &what));
            }
            Screen::Waiting => {
                egui::CentralPanel::default().show(ui, |ui| status::waiting(ui, c));
            }
            Screen::ExchangingKeys => {
                egui::CentralPanel::default()
                    .show(ui, |ui| status::busy(ui, "Exchanging keys with your peer…"));
            }
            Screen::RelayLost {
                reason,
                retrying_in,
            } => {
                egui::CentralPanel::default()
                    .show(ui, |ui| status::relay_lost(ui, c, &reason, retrying_in));
            }
            Screen::Secure => {
                egui::Panel::right("verify")
                    .resizable(true)
                    .default_size(330.0)
                    .show(ui, |ui| verify::show(ui, c));
                egui::Panel::bottom("compose").show(ui, |ui| chat::compose(ui, c));
                egui::CentralPanel::default().show(ui, |ui| chat::messages(ui, c));
            }
        }
    }
}

impl eframe::App for ChatApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }
}
