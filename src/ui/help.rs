//! Keyboard shortcuts (for teachers at a projector) and the help overlay that lists them.
//! Keys are read once per frame, before any panel draws, and become `UiCommand`s; they are
//! ignored while a text field has the keyboard, so typing a path never pauses the traffic.

use egui::{Key, Modifiers};

use super::command::{Commands, UiCommand};
use crate::scenario::Command;

/// A shortcut as the help overlay lists it.
pub struct Shortcut {
    pub keys: &'static str,
    pub does: &'static str,
}

/// Every shortcut, in the order the overlay lists them.
pub const SHORTCUTS: &[Shortcut] = &[
    Shortcut {
        keys: "Space",
        does: "pause or resume the traffic",
    },
    Shortcut {
        keys: "r",
        does: "send one request",
    },
    Shortcut {
        keys: "s",
        does: "step mode on or off",
    },
    Shortcut {
        keys: "n",
        does: "next hop (step mode)",
    },
    Shortcut {
        keys: "Page Down / Page Up",
        does: "next or previous lesson step (a presenter's clicker)",
    },
    Shortcut {
        keys: "+  or  =",
        does: "add a server",
    },
    Shortcut {
        keys: "-",
        does: "remove the last server",
    },
    Shortcut {
        keys: "p",
        does: "presentation mode on or off",
    },
    Shortcut {
        keys: "F11",
        does: "full screen",
    },
    Shortcut {
        keys: "?  or  h",
        does: "this help",
    },
    Shortcut {
        keys: "Esc",
        does: "close this help or a dialog",
    },
];

/// What the shortcuts need to know about the window.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyContext {
    pub step_mode: bool,
    pub presentation: bool,
    pub help_open: bool,
    /// The highest server number, for "-".
    pub last_server: Option<u16>,
    /// More than one server runs (so "-" may remove one).
    pub several_servers: bool,
}

/// Reads this frame's shortcut keys into commands.
pub fn read_keys(ctx: &egui::Context, k: KeyContext, out: &mut Commands) {
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    let none = Modifiers::NONE;
    ctx.input_mut(|i| {
        if i.consume_key(none, Key::Space) {
            out.push(UiCommand::TogglePause);
        }
        if i.consume_key(none, Key::R) {
            out.push(UiCommand::SendOne);
        }
        if i.consume_key(none, Key::S) {
            out.push(UiCommand::SetStepMode(!k.step_mode));
        }
        if i.consume_key(none, Key::N) {
            out.push(UiCommand::NextHop);
        }
        if i.consume_key(none, Key::PageDown) {
            out.push(UiCommand::LessonStep(true));
        }
        if i.consume_key(none, Key::PageUp) {
            out.push(UiCommand::LessonStep(false));
        }
        if i.consume_key(none, Key::Plus) || i.consume_key(none, Key::Equals) {
            out.engine(Command::AddServer);
        }
        if i.consume_key(none, Key::Minus)
            && k.several_servers
            && let Some(n) = k.last_server
        {
            out.engine(Command::RemoveServer(n));
        }
        if i.consume_key(none, Key::P) {
            out.push(UiCommand::SetPresentation(!k.presentation));
        }
        if i.consume_key(none, Key::F11) {
            out.push(UiCommand::ToggleFullscreen);
        }
        if i.consume_key(none, Key::Questionmark) || i.consume_key(none, Key::H) {
            out.push(UiCommand::ShowHelp(!k.help_open));
        }
        if i.consume_key(none, Key::Escape) {
            out.push(UiCommand::ShowHelp(false));
            out.push(UiCommand::ShowOpener(false));
        }
    });
}

/// The help overlay: the shortcuts, and how to read the picture.
pub fn overlay_ui(ctx: &egui::Context, open: bool, out: &mut Commands) {
    if !open {
        return;
    }
    let mut still_open = true;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut still_open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts")
                .num_columns(2)
                .spacing([
                    ui.spacing().item_spacing.x * 3.0,
                    ui.spacing().item_spacing.y,
                ])
                .show(ui, |ui| {
                    for s in SHORTCUTS {
                        ui.monospace(s.keys);
                        ui.label(s.does);
                        ui.end_row();
                    }
                });
            ui.separator();
            ui.label("Each request is a dot. Its shape and colour say how it ended:");
            ui.label("ring: in flight · ● 2xx · ◆ 3xx · ▲ 4xx · ■ 5xx · × failed (it falls away).");
            ui.label(
                "Dots stacked above a server wait in its queue; dots under a node wait there.",
            );
            ui.label(
                "A number on a dot: that many requests at one spot. Above the CDN, the cache \
                 strip shows its latest lookups: H hit, M miss, E expired (fetched again), \
                 R revalidated (the server said 304: not modified).",
            );
            ui.label("Click a dot to pick out its request.");
            if ui.button("Close").clicked() {
                out.push(UiCommand::ShowHelp(false));
            }
        });
    if !still_open {
        out.push(UiCommand::ShowHelp(false));
    }
}
