//! UI preferences kept between runs: presentation mode, smooth motion and the recently
//! opened scenario files. Only preferences, never engine state. eframe's `persistence` feature is off (it
//! would pull in more crates), so they live in a small JSON file in the user's config folder:
//! `$XDG_CONFIG_HOME/hopscope/`, else `~/.config/hopscope/` (`%APPDATA%\hopscope\` on Windows).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How many recent files are remembered.
pub const MAX_RECENT: usize = 8;

/// The preferences.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub presentation: bool,
    /// Animate at 60 frames a second instead of 30 (smoother, but a busier GPU and CPU).
    pub smooth_motion: bool,
    /// Scenario files opened lately, newest first.
    pub recent: Vec<PathBuf>,
}

impl Prefs {
    /// Puts `path` first in the recent list.
    pub fn remember(&mut self, path: &Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(MAX_RECENT);
    }

    /// Reads the preferences at `path`; defaults when the file is missing or unreadable (a
    /// broken preferences file must never stop the window from opening).
    pub fn load(path: &Path) -> Prefs {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Writes the preferences to `path`, creating its folder.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::trace::write_atomic(path, |w| w.write_all(text.as_bytes()))
    }
}

/// Where the preferences file lives on this machine, if a config folder can be found.
pub fn default_path() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = if cfg!(windows) {
        var("APPDATA")
    } else {
        var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")))
    }?;
    Some(dir.join("hopscope").join("prefs.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_files_are_newest_first_without_repeats_and_bounded() {
        let mut p = Prefs::default();
        for i in 0..12 {
            p.remember(Path::new(&format!("s{i}.toml")));
        }
        p.remember(Path::new("s5.toml"));
        assert_eq!(p.recent.len(), MAX_RECENT);
        assert_eq!(p.recent[0], PathBuf::from("s5.toml"));
        assert_eq!(
            p.recent
                .iter()
                .filter(|r| r.as_path() == Path::new("s5.toml"))
                .count(),
            1
        );
    }

    #[test]
    fn preferences_round_trip_and_a_broken_file_gives_defaults() {
        let dir = std::env::temp_dir().join(format!("hopscope-prefs-{}", std::process::id()));
        let path = dir.join("prefs.json");
        let mut p = Prefs {
            presentation: true,
            smooth_motion: true,
            ..Prefs::default()
        };
        p.remember(Path::new("/tmp/lesson.toml"));
        p.save(&path).expect("writes");
        assert_eq!(Prefs::load(&path), p);
        std::fs::write(&path, "{ not json").expect("writes");
        assert_eq!(Prefs::load(&path), Prefs::default());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
