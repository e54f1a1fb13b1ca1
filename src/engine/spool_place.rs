//! Where a run's trace spool goes and how large it may grow.
//!
//! The folder is, in order: the engine's option (tests), the one the command line set
//! (`--spool-dir`, or the `HOPSCOPE_SPOOL_DIR` environment variable), else the run's working
//! folder in the temporary directory. Either way the file is the run's own and is removed
//! when the engine is dropped. Its limit is `trace.spool_limit`, but never more than half the
//! space free on that disk when the run starts.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::scenario::ByteSize;
use crate::trace::SpoolLimit;

static DEFAULT_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Sets the folder every engine of this process spools to (from `--spool-dir` or
/// `HOPSCOPE_SPOOL_DIR`). Only the first call counts.
pub fn set_default_dir(dir: PathBuf) {
    let _ = DEFAULT_DIR.set(dir);
}

/// Where one run's spool goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The spool file.
    pub path: PathBuf,
    /// The file is not inside the run's working folder, so it is removed on its own.
    pub outside_workdir: bool,
}

/// Chooses the spool file for a run whose working folder is `workdir`.
pub fn choose(explicit: Option<&Path>, workdir: &Path) -> Place {
    let Some(dir) = explicit.or_else(|| DEFAULT_DIR.get().map(PathBuf::as_path)) else {
        return Place {
            path: workdir.join("journeys.spool"),
            outside_workdir: false,
        };
    };
    // A folder that does not exist yet is made; if that fails, creating the file fails
    // with the reason, and the run goes on without keeping journeys.
    let _ = std::fs::create_dir_all(dir);
    let name = workdir
        .file_name()
        .map_or_else(|| "hopscope".into(), |n| n.to_string_lossy().into_owned());
    Place {
        path: dir.join(format!("{name}.spool")),
        outside_workdir: true,
    }
}

impl Place {
    /// The limit for this place: `configured`, or half the space free on its disk now if
    /// that is less.
    pub fn limit(&self, configured: ByteSize) -> SpoolLimit {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        limit_for(configured, fs4::available_space(dir).ok(), dir)
    }
}

fn limit_for(configured: ByteSize, available: Option<u64>, dir: &Path) -> SpoolLimit {
    match available.map(|free| free / 2) {
        Some(half) if half < configured.bytes() => SpoolLimit {
            bytes: half,
            described: format!(
                "{}, half the free space on the disk of {} at start (trace.spool_limit is {configured})",
                ByteSize(half),
                dir.display()
            ),
        },
        _ => SpoolLimit {
            bytes: configured.bytes(),
            described: format!("{configured}, trace.spool_limit"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_never_more_than_half_the_free_space() {
        let dir = Path::new("/spool");
        let small_disk = limit_for(ByteSize::gib(4), Some(3 << 30), dir);
        assert_eq!(small_disk.bytes, 3 << 29);
        assert!(
            small_disk
                .described
                .starts_with("1536MiB, half the free space on the disk of /spool"),
            "{}",
            small_disk.described
        );
        let big_disk = limit_for(ByteSize::gib(4), Some(100 << 30), dir);
        assert_eq!(big_disk.bytes, 4 << 30);
        assert_eq!(big_disk.described, "4GiB, trace.spool_limit");
        assert_eq!(limit_for(ByteSize(1000), None, dir).bytes, 1000);
    }

    #[test]
    fn a_chosen_folder_gets_a_file_of_the_runs_own() {
        let workdir = Path::new("/tmp/hopscope-12-ab");
        let inside = choose(None, workdir);
        assert_eq!(inside.path, workdir.join("journeys.spool"));
        assert!(!inside.outside_workdir);
        let base = std::env::temp_dir().join(format!("hopscope-place-{}", std::process::id()));
        let chosen = choose(Some(&base.join("new")), workdir);
        assert_eq!(chosen.path, base.join("new").join("hopscope-12-ab.spool"));
        assert!(chosen.outside_workdir);
        assert!(base.join("new").is_dir(), "a missing folder is made");
        std::fs::remove_dir_all(&base).ok();
    }
}
