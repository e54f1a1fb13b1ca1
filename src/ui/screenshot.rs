//! PNG screenshots of the window: asked of egui (`Context::request_screenshot`), delivered to
//! a callback once the frame is rendered, written from there as a PNG (the `image` crate that
//! eframe already depends on). The result comes back to the window through a bounded channel
//! so it can say where the file went, or why it could not be written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use egui::ColorImage;

/// What became of a screenshot.
pub type Written = Result<PathBuf, String>;

/// A screenshot the command line asked for: taken once, some time after the start, and then
/// the window closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreenshotPlan {
    pub path: PathBuf,
    pub after: Duration,
}

/// Encodes `image` as a PNG at `path`.
pub fn write_png(image: &ColorImage, path: &Path) -> Result<(), String> {
    let [w, h] = image.size;
    let (w, h) = (
        u32::try_from(w).map_err(|_| "the image is too wide")?,
        u32::try_from(h).map_err(|_| "the image is too tall")?,
    );
    let mut rgba = Vec::with_capacity(image.pixels.len() * 4);
    for p in &image.pixels {
        // The window is opaque: store what was on screen, without alpha.
        let [r, g, b, _] = p.to_srgba_unmultiplied();
        rgba.extend_from_slice(&[r, g, b, 255]);
    }
    let buffer = image::RgbaImage::from_raw(w, h, rgba)
        .ok_or("the screenshot's pixels do not match its size")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    buffer
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A file name for a screenshot saved from the window into `dir`, named after the scenario
/// and the time.
pub fn default_path(dir: &Path, scenario: &str) -> PathBuf {
    output_path(dir, scenario, "png")
}

/// A file name in `dir` for something saved from the window:
/// `hopscope-SCENARIO-SECONDS.EXT`.
pub fn output_path(dir: &Path, scenario: &str, extension: &str) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("hopscope-{name}-{secs}.{extension}"))
}

/// Screenshots asked for and not yet reported.
#[derive(Debug)]
pub struct Screenshots {
    done: (Sender<Written>, Receiver<Written>),
    pending: usize,
}

impl Default for Screenshots {
    fn default() -> Self {
        Screenshots {
            done: crossbeam_channel::bounded(8),
            pending: 0,
        }
    }
}

impl Screenshots {
    /// Asks egui for a picture of the next frame, to be written to `path`.
    pub fn request(&mut self, ctx: &egui::Context, path: PathBuf) {
        let done = self.done.0.clone();
        let repaint = ctx.clone();
        self.pending += 1;
        ctx.request_screenshot(move |image: Arc<ColorImage>| {
            let result = write_png(&image, &path).map(|()| path);
            let _ = done.try_send(result);
            repaint.request_repaint();
        });
    }

    /// Screenshots finished since the last call.
    pub fn finished(&mut self) -> Vec<Written> {
        let done: Vec<Written> = self.done.1.try_iter().collect();
        self.pending = self.pending.saturating_sub(done.len());
        done
    }

    /// Whether a screenshot is still on its way.
    pub fn pending(&self) -> bool {
        self.pending > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_color_image_becomes_a_png_of_the_same_size() {
        let dir = std::env::temp_dir().join(format!("hopscope-shot-{}", std::process::id()));
        let path = dir.join("shot.png");
        let image = ColorImage::filled([3, 2], egui::Color32::from_rgb(10, 20, 30));
        write_png(&image, &path).expect("writes");
        let back = image::open(&path).expect("reads back").to_rgba8();
        assert_eq!(back.dimensions(), (3, 2));
        assert_eq!(back.get_pixel(2, 1).0, [10, 20, 30, 255]);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            default_path(Path::new("."), "lesson 1/2")
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .starts_with("hopscope-lesson_1_2-")
        );
    }
}
