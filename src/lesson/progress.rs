//! The learner's progress through each lesson, remembered between launches in one small
//! JSON file: `hopscope/progress.json` under the user's config directory
//! (`$XDG_CONFIG_HOME`, else `%APPDATA%`, else `$HOME/.config`).
//!
//! Reading never fails: a missing or unreadable file is an empty record (a damaged one is
//! set aside as `progress.json.bad` so nothing is lost). Writing is atomic.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::trace::write_atomic;

/// Where the learner is in one lesson.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LessonProgress {
    /// The step shown last (0-based).
    pub step: usize,
    /// Steps whose checkpoint passed.
    pub passed: BTreeSet<usize>,
    /// The choice picked for each question step.
    pub answers: BTreeMap<usize, usize>,
}

impl LessonProgress {
    /// Keeps only what fits a lesson of `steps` steps (the file may have changed).
    pub fn fit(mut self, steps: usize) -> LessonProgress {
        self.step = self.step.min(steps.saturating_sub(1));
        self.passed.retain(|s| *s < steps);
        self.answers.retain(|s, _| *s < steps);
        self
    }
}

/// Everything remembered, by lesson name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressFile {
    /// The file format's version.
    pub version: u32,
    pub lessons: BTreeMap<String, LessonProgress>,
}

/// The progress file's place (or none, when no config directory is known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgressStore {
    path: Option<PathBuf>,
}

impl ProgressStore {
    /// The file under the user's config directory.
    pub fn default_location() -> ProgressStore {
        ProgressStore {
            path: config_dir(|k| std::env::var_os(k)).map(|d| d.join("hopscope/progress.json")),
        }
    }

    /// A store in a given file (tests, portable setups).
    pub fn at(path: impl Into<PathBuf>) -> ProgressStore {
        ProgressStore {
            path: Some(path.into()),
        }
    }

    /// A store that remembers nothing.
    pub fn disabled() -> ProgressStore {
        ProgressStore { path: None }
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Everything remembered (empty if there is nothing, or nothing readable).
    pub fn load(&self) -> ProgressFile {
        let Some(path) = &self.path else {
            return ProgressFile::default();
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return ProgressFile::default();
        };
        match serde_json::from_str(&text) {
            Ok(file) => file,
            Err(_) => {
                // Keep the damaged file for the curious, and start afresh.
                let _ = std::fs::rename(path, path.with_extension("json.bad"));
                ProgressFile::default()
            }
        }
    }

    /// The progress of lesson `name`.
    pub fn lesson(&self, name: &str) -> LessonProgress {
        self.load().lessons.remove(name).unwrap_or_default()
    }

    /// Remembers the progress of lesson `name`.
    pub fn save_lesson(&self, name: &str, progress: &LessonProgress) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut file = self.load();
        file.version = 1;
        file.lessons.insert(name.to_string(), progress.clone());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_atomic(path, |w| {
            serde_json::to_writer_pretty(&mut *w, &file).map_err(io::Error::other)?;
            w.write_all(b"\n")
        })
    }

    /// Forgets lesson `name` (start it over).
    pub fn forget(&self, name: &str) -> io::Result<()> {
        self.save_lesson(name, &LessonProgress::default())
    }
}

/// The user's config directory from the environment: `XDG_CONFIG_HOME`, else `APPDATA`
/// (Windows), else `HOME/.config`. Relative paths are ignored, as the XDG spec asks.
pub fn config_dir(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let absolute = |k: &str| {
        var(k)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && !p.as_os_str().is_empty())
    };
    absolute("XDG_CONFIG_HOME")
        .or_else(|| absolute("APPDATA"))
        .or_else(|| absolute("HOME").map(|h| h.join(".config")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hopscope-progress-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_config_dir_follows_xdg_then_appdata_then_home() {
        let root = if cfg!(windows) { "C:\\" } else { "/" };
        let abs = |p: &str| PathBuf::from(format!("{root}{p}"));
        let env = |pairs: Vec<(&'static str, String)>| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let xdg = format!("{root}xdg");
        let home = format!("{root}home/ann");
        let both = vec![("XDG_CONFIG_HOME", xdg), ("HOME", home.clone())];
        assert_eq!(config_dir(env(both)), Some(abs("xdg")));
        let relative = vec![("XDG_CONFIG_HOME", "rel".to_string()), ("HOME", home)];
        assert_eq!(
            config_dir(env(relative)),
            Some(abs("home/ann").join(".config"))
        );
        assert_eq!(config_dir(env(Vec::new())), None);
    }

    #[test]
    fn progress_survives_a_restart_and_a_damaged_file_is_set_aside() {
        let dir = temp("roundtrip");
        let store = ProgressStore::at(dir.join("hopscope/progress.json"));
        assert_eq!(store.lesson("caching"), LessonProgress::default());
        let mine = LessonProgress {
            step: 3,
            passed: [0, 1, 2].into(),
            answers: [(2, 1)].into(),
        };
        store.save_lesson("caching", &mine).expect("save");
        store
            .save_lesson("scaling", &LessonProgress::default())
            .expect("save");
        let again = ProgressStore::at(dir.join("hopscope/progress.json"));
        assert_eq!(again.lesson("caching"), mine);
        std::fs::write(dir.join("hopscope/progress.json"), "{ not json").expect("write");
        assert_eq!(again.lesson("caching"), LessonProgress::default());
        assert!(dir.join("hopscope/progress.json.bad").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn progress_is_fitted_to_a_changed_lesson() {
        let p = LessonProgress {
            step: 9,
            passed: [1, 8].into(),
            answers: [(7, 0), (2, 1)].into(),
        }
        .fit(4);
        assert_eq!(p.step, 3);
        assert_eq!(p.passed, [1].into());
        assert_eq!(p.answers, [(2, 1)].into());
        assert_eq!(
            ProgressStore::disabled().lesson("x"),
            LessonProgress::default()
        );
    }
}
