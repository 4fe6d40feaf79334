//! Chat client: app logic (headless-testable) and the egui view.
#![forbid(unsafe_code)]
