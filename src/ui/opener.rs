//! Opening scenarios: a small window to pick a built-in, a recent file or type (or paste) a
//! path, plus files dropped on the window. There is no native file dialog (it would need GTK
//! development packages to build). Loading happens when the app applies the command; a bad
//! file is reported in the window and the running scenario keeps running.
//!
//! `FileWatch` notices when the scenario file on screen changes on disk, so the app can load
//! it again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use egui::{Key, TextEdit};

use super::command::{Commands, UiCommand};
use super::live::ScenarioSource;
use crate::scenario::BUILTINS;

/// How often the scenario file's modification time is checked.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The "Open a scenario" window's state.
#[derive(Clone, Debug, Default)]
pub struct Opener {
    pub open: bool,
    path: String,
}

impl Opener {
    /// Draws the window when open.
    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        recent: &[PathBuf],
        current: &ScenarioSource,
        out: &mut Commands,
    ) {
        if !self.open {
            return;
        }
        let mut still_open = true;
        egui::Window::new("Open a scenario")
            .open(&mut still_open)
            .collapsible(false)
            .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 60.0))
            .show(ctx, |ui| {
                ui.label(format!("Now running: {}", current.label()));
                if let ScenarioSource::File(_) = current
                    && ui.button("Reload from disk").clicked()
                {
                    out.push(UiCommand::Reload);
                }
                ui.separator();
                ui.strong("Built-in scenarios");
                for b in BUILTINS {
                    if ui.button(b.name).on_hover_text(b.summary()).clicked() {
                        out.push(UiCommand::Open(ScenarioSource::Builtin(b.name.to_string())));
                    }
                }
                if !recent.is_empty() {
                    ui.separator();
                    ui.strong("Recent files");
                    for path in recent {
                        if ui.button(path.display().to_string()).clicked() {
                            out.push(UiCommand::Open(ScenarioSource::File(path.clone())));
                        }
                    }
                }
                ui.separator();
                let label = ui.strong("A scenario (.toml) or recorded trace (.json)");
                let mut go = false;
                ui.horizontal(|ui| {
                    let edit = ui
                        .add(
                            TextEdit::singleline(&mut self.path)
                                .hint_text("path/to/lesson.toml")
                                .desired_width(ui.spacing().text_edit_width),
                        )
                        .labelled_by(label.id);
                    go |= edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                    go |= ui
                        .add_enabled(!self.path.trim().is_empty(), egui::Button::new("Open"))
                        .clicked();
                });
                ui.label("…or drop a .toml file on the window.");
                if go && !self.path.trim().is_empty() {
                    out.push(UiCommand::OpenText(self.path.trim().to_string()));
                }
            });
        if !still_open {
            out.push(UiCommand::ShowOpener(false));
        }
    }
}

/// Files dropped on the window this frame.
pub fn dropped_files(ctx: &egui::Context) -> Vec<PathBuf> {
    ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .collect()
    })
}

/// Notices changes to one file on disk, checking at most once a second.
#[derive(Debug)]
pub struct FileWatch {
    path: PathBuf,
    modified: Option<SystemTime>,
    checked: Instant,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl FileWatch {
    /// Starts watching `path` as it is now.
    pub fn new(path: &Path) -> FileWatch {
        FileWatch {
            path: path.to_path_buf(),
            modified: modified(path),
            checked: Instant::now(),
        }
    }

    /// The file watched.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file changed since the last call that said so (rate-limited).
    pub fn changed(&mut self) -> bool {
        if self.checked.elapsed() < WATCH_EVERY {
            return false;
        }
        self.checked = Instant::now();
        let now = modified(&self.path);
        if now.is_some() && now != self.modified {
            self.modified = now;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_changes_on_disk_is_noticed_once() {
        let dir = std::env::temp_dir().join(format!("hopscope-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("s.toml");
        std::fs::write(&path, "name = \"a\"\n").expect("writes");
        let mut w = FileWatch::new(&path);
        assert!(!w.changed(), "unchanged (and too soon)");
        // Pretend the last check was long ago and the file was rewritten.
        w.checked = Instant::now() - WATCH_EVERY * 2;
        w.modified = Some(SystemTime::UNIX_EPOCH);
        assert!(w.changed());
        w.checked = Instant::now() - WATCH_EVERY * 2;
        assert!(!w.changed(), "reported once");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
