//! `hopscope gui [SCENARIO] [--screenshot FILE --after 5s]`: the window, with the scenario
//! running at once (traffic on, timed events playing; a lesson opens at its first step,
//! offering "Resume" when there is saved progress, unless `--fresh`). With `--screenshot`, it waits, writes
//! a PNG of the window and exits (0 when the file was written, 1 if not).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use clap::Args;

use super::signals::Stop;
use super::{Failure, ScenarioArgs, load_scenario};
use crate::scenario::{Dur, Scenario, builtin};
use crate::ui::screenshot::{ScreenshotPlan, Written};
use crate::ui::{AppOptions, HopscopeApp, ScenarioSource, prefs};

/// How the window opens, for `gui` and `open` alike.
#[derive(Debug, Args)]
pub struct WindowArgs {
    /// Write a PNG of the window to FILE, then exit.
    #[arg(long, value_name = "FILE")]
    pub screenshot: Option<PathBuf>,
    /// With --screenshot: how long to run first, like `5s`.
    #[arg(long, default_value = "5s", requires = "screenshot")]
    pub after: Dur,
    /// Start in presentation mode (large, high contrast), whatever was chosen last time.
    #[arg(long)]
    pub presentation: bool,
    /// Window size in points, like `1440x900`.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(f32, f32)>,
}

impl Default for WindowArgs {
    fn default() -> Self {
        WindowArgs {
            screenshot: None,
            after: Dur::from_secs(5),
            presentation: false,
            size: None,
        }
    }
}

impl WindowArgs {
    /// Fills `options` with what these flags ask (a screenshot run ignores this machine's
    /// preferences, so that it does not depend on them).
    fn apply(&self, options: &mut AppOptions, done: &Arc<OnceLock<Written>>) {
        let shooting = self.screenshot.is_some();
        if shooting {
            options.prefs_path = None;
        }
        options.presentation = (self.presentation || shooting).then_some(self.presentation);
        options.screenshot = self.screenshot.clone().map(|path| ScreenshotPlan {
            path,
            after: self.after.get(),
        });
        options.screenshot_done = Some(done.clone());
    }

    /// After the window closed: says where the screenshot went, or fails if it was not
    /// written.
    fn report(&self, done: &OnceLock<Written>) -> Result<(), Failure> {
        if self.screenshot.is_none() {
            return Ok(());
        }
        match done.get() {
            Some(Ok(path)) => {
                println!("wrote {}", path.display());
                Ok(())
            }
            Some(Err(e)) => Err(Failure::runtime(format!("screenshot failed: {e}"))),
            None => Err(Failure::runtime(
                "the window closed before the screenshot was taken",
            )),
        }
    }
}

/// Options of `hopscope gui`.
#[derive(Debug, Args)]
pub struct GuiArgs {
    #[command(flatten)]
    pub common: ScenarioArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Where File ▸ Export trace, Save settings and Save screenshot write their files.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub save_dir: PathBuf,
    /// Lessons open at their first step and saved progress is not offered (lab machines
    /// shared by several learners). New progress is still saved.
    #[arg(long)]
    pub fresh: bool,
    /// Start with the generated traffic paused (Resume or Space starts it).
    #[arg(long)]
    pub paused: bool,
}

impl GuiArgs {
    /// The window on the default scenario, as bare `hopscope` opens it.
    pub fn default_window() -> GuiArgs {
        GuiArgs {
            common: ScenarioArgs {
                scenario: None,
                seed: None,
                time_scale: None,
                spool_dir: std::env::var_os("HOPSCOPE_SPOOL_DIR").map(PathBuf::from),
            },
            window: WindowArgs::default(),
            save_dir: PathBuf::from("."),
            fresh: false,
            paused: false,
        }
    }
}

fn parse_size(text: &str) -> Result<(f32, f32), String> {
    let bad = || format!("`{text}` is not a size: write WIDTHxHEIGHT, like 1440x900");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let w: f32 = w.trim().parse().map_err(|_| bad())?;
    let h: f32 = h.trim().parse().map_err(|_| bad())?;
    if !(320.0..=10_000.0).contains(&w) || !(240.0..=10_000.0).contains(&h) {
        return Err(bad());
    }
    Ok((w, h))
}

/// Opens the window and runs until it closes.
pub fn gui(args: GuiArgs) -> Result<(), Failure> {
    let scenario = load_scenario(&args.common)?;
    let name = args
        .common
        .scenario
        .clone()
        .unwrap_or_else(|| "default".into());
    let source = if builtin(&name).is_some() {
        ScenarioSource::Builtin(name)
    } else {
        ScenarioSource::File(PathBuf::from(name))
    };
    let done: Arc<OnceLock<Written>> = Arc::new(OnceLock::new());
    // Ctrl-C or SIGTERM closes the window the normal way (`signals`).
    let stop = Stop::watch();
    let mut options = AppOptions {
        source,
        traffic: !args.paused,
        play_events: true,
        prefs_path: prefs::default_path(),
        trace: None,
        save_dir: args.save_dir,
        quit: Some(stop.flag()),
        fresh_lessons: args.fresh,
        ..AppOptions::default()
    };
    args.window.apply(&mut options, &done);
    let title = format!("hopscope — {}", scenario.name);
    run_window(scenario, options, args.window.size, title)?;
    if let Some(stopped) = stop.failure() {
        return Err(stopped);
    }
    args.window.report(&done)
}

/// Opens the window on `scenario` and runs until it closes.
fn run_window(
    scenario: Scenario,
    options: AppOptions,
    size: Option<(f32, f32)>,
    title: String,
) -> Result<(), Failure> {
    let (w, h) = size.unwrap_or((1440.0, 900.0));
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size([w, h])
            .with_min_inner_size([640.0, 420.0])
            .with_drag_and_drop(true),
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "hopscope",
        native,
        Box::new(move |_cc| Ok(Box::new(HopscopeApp::new(scenario, options)))),
    )
    .map_err(|e| Failure::runtime(format!("the window could not open: {e}")))
}

/// Opens the window replaying the trace at `path` (`hopscope open TRACE`).
pub fn replay_window(path: PathBuf, window: &WindowArgs) -> Result<(), Failure> {
    // Ctrl-C or SIGTERM closes the window the normal way (`signals`).
    let stop = Stop::watch();
    let done: Arc<OnceLock<Written>> = Arc::new(OnceLock::new());
    let mut options = AppOptions {
        source: ScenarioSource::Builtin("default".into()),
        prefs_path: prefs::default_path(),
        trace: Some(path.clone()),
        quit: Some(stop.flag()),
        ..AppOptions::default()
    };
    window.apply(&mut options, &done);
    let (scenario, _) = crate::scenario::resolve("default").map_err(Failure::runtime)?;
    run_window(
        scenario,
        options,
        window.size,
        format!("hopscope — replay of {}", path.display()),
    )?;
    if let Some(stopped) = stop.failure() {
        return Err(stopped);
    }
    window.report(&done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sizes_parse_and_nonsense_is_refused() {
        assert_eq!(parse_size("1440x900"), Ok((1440.0, 900.0)));
        assert!(parse_size("big").is_err());
        assert!(parse_size("10x10").is_err());
    }
}
