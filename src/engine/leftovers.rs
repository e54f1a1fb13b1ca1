//! The working files every live engine has on disk (its folder in the temporary directory,
//! a spool kept elsewhere), listed in one place so that a process told to end at once (a
//! second Ctrl-C) can still remove them before it exits.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn paths() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while the list was held leaves it intact: the lock's poison is ignored.
    PATHS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Lists `path` (a folder or a file) as a working file of a live engine.
pub fn add(path: &Path) {
    paths().push(path.to_path_buf());
}

/// Takes `path` off the list (its engine has removed it).
pub fn forget(path: &Path) {
    paths().retain(|p| p != path);
}

/// Removes every listed working file now, for a process about to exit without unwinding.
pub fn remove_all() {
    let all: Vec<PathBuf> = paths().drain(..).collect();
    for path in all {
        remove(&path);
    }
}

/// Removes a working folder (or file) that threads may still be using. A folder is first
/// renamed, so a database connection opening its file by name while the folder is being
/// emptied cannot make it again under the old name (which left `app.db` behind).
pub fn remove(path: &Path) {
    if !path.is_dir() {
        let _ = std::fs::remove_file(path);
        return;
    }
    let mut doomed = path.as_os_str().to_owned();
    doomed.push(".removing");
    let doomed = PathBuf::from(doomed);
    let renamed = std::fs::rename(path, &doomed);
    let target = if renamed.is_ok() {
        doomed
    } else {
        path.to_path_buf()
    };
    // A file made while emptying it makes the last step fail: try again a few times.
    for _ in 0..5 {
        if std::fs::remove_dir_all(&target).is_ok() || !target.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_files_are_removed_and_forgotten_ones_kept() {
        let base = std::env::temp_dir().join(format!("hopscope-leftovers-{}", std::process::id()));
        let (gone, kept) = (base.join("gone"), base.join("kept"));
        std::fs::create_dir_all(gone.join("inner")).expect("mkdir");
        std::fs::create_dir_all(&kept).expect("mkdir");
        add(&gone);
        add(&kept);
        forget(&kept);
        remove_all();
        assert!(
            !gone.exists(),
            "a listed folder is removed with its contents"
        );
        assert!(kept.exists(), "a forgotten folder is left alone");
        let _ = std::fs::remove_dir_all(&base);
    }
}
