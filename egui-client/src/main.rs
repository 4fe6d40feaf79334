//! `egui-client`: the desktop chat window.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use clap::Parser;
use egui_client::app::Config;
use egui_client::app::connect::ConnectForm;
use egui_client::shell::Settings;
use egui_client::ui::ChatApp;

/// End-to-end encrypted chat. Run it twice (two windows, two display names) and join the same
/// room to talk; with the default relay address it uses the relay on this computer, or starts one.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Relay address (host:port).
    #[arg(long, default_value = egui_client::DEFAULT_RELAY)]
    relay: String,
    /// The relay's certificate SHA-256 pin (empty: the relay on this computer).
    #[arg(long, default_value = "")]
    pin: String,
    /// Room to pre-fill.
    #[arg(long, default_value = "")]
    room: String,
    /// Display name to pre-fill.
    #[arg(long, default_value = "")]
    name: String,
    /// Data directory (profiles, identities, contacts, history) [default: the user's data
    /// directory].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Never start a relay inside this window.
    #[arg(long)]
    no_local_relay: bool,
    /// No desktop notifications.
    #[arg(long)]
    no_notifications: bool,
}

fn main() -> eframe::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let settings = Settings {
        data_dir: args
            .data_dir
            .unwrap_or_else(egui_client::profile::default_data_dir),
        config: Config {
            start_local_relay: !args.no_local_relay,
            ..Config::default()
        },
        form: ConnectForm {
            display_name: args.name,
            relay: args.relay,
            pin: args.pin,
            room: args.room,
            ..ConnectForm::default()
        },
        notifications: !args.no_notifications,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([1000.0, 660.0])
            .with_title("e2e-chat"),
        ..Default::default()
    };
    eframe::run_native(
        "e2e-chat",
        options,
        Box::new(move |cc| {
            Ok(Box::new(ChatApp::new(&cc.egui_ctx, settings)?) as Box<dyn eframe::App>)
        }),
    )
}
