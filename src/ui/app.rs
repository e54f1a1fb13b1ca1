//! The window: the app state and the frame loop. Each frame (1) reads the engine's latest
//! state and the keyboard, (2) draws the panels, which only read state and queue
//! `UiCommand`s, and (3) applies the commands once, at the end. The engine is started and
//! stopped here only when a scenario is opened; everything else goes through non-blocking
//! commands.
//!
//! Layout: a top bar (scenario, playback, window buttons), the live controls on the left,
//! the request panel on the right and the totals/markers at the bottom (the plug-in points
//! in `panels.rs`), and the topology canvas in the middle.

mod apply;
mod arrange;
mod bars;
mod files;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use egui::Ui;

use super::command::{Commands, UiCommand};
use super::controls::ControlsPanel;
use super::docks::Docks;
use super::help;
use super::live::{Live, ScenarioSource, Session};
use super::opener::{FileWatch, Opener, dropped_files};
use super::prefs::Prefs;
use super::repaint::{Activity, FrameStats, next_frame};
use super::replay_view::ReplayView;
use super::screenshot::{ScreenshotPlan, Screenshots, Written};
use super::status::StatusLog;
use super::step::StepMode;
use super::theme::Theme;
use super::topology::{CanvasReport, TopologyView};
use super::waker::Waker;
use crate::engine::Engine;
use crate::lesson::ProgressStore;
use crate::scenario::Scenario;
use crate::scenario::server_number;
use crate::trace::TraceId;

/// After an input or a command, the window keeps painting frames this long, so its effect
/// shows at once.
const BOOST: Duration = Duration::from_millis(600);
/// How long closing the window waits for the engine to stop.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// How the app starts.
#[derive(Clone, Debug)]
pub struct AppOptions {
    /// Where the scenario came from (for reloading and the title).
    pub source: ScenarioSource,
    /// Generated traffic flows from the start.
    pub traffic: bool,
    /// The scenario's timed events play.
    pub play_events: bool,
    /// The preferences file (`None`: preferences are neither read nor written).
    pub prefs_path: Option<PathBuf>,
    /// Presentation mode on or off whatever the preferences say.
    pub presentation: Option<bool>,
    /// Take one screenshot after a while, then close.
    pub screenshot: Option<ScreenshotPlan>,
    /// Where the screenshot's outcome is reported (for the command line's exit code).
    pub screenshot_done: Option<Arc<OnceLock<Written>>>,
    /// Replay this recorded trace instead of running the scenario.
    pub trace: Option<PathBuf>,
    /// Where screenshots, exported traces and saved settings go.
    pub save_dir: PathBuf,
    /// Set from outside (Ctrl-C in the terminal): close the window the normal way, so the
    /// engine stops and its working files go.
    pub quit: Option<Arc<AtomicBool>>,
    /// Lessons open at their first step without offering saved progress (lab machines).
    pub fresh_lessons: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            source: ScenarioSource::Inline,
            traffic: true,
            play_events: true,
            prefs_path: None,
            presentation: None,
            screenshot: None,
            screenshot_done: None,
            trace: None,
            save_dir: PathBuf::from("."),
            quit: None,
            fresh_lessons: false,
        }
    }
}

/// The hopscope window.
pub struct HopscopeApp {
    options: AppOptions,
    session: Option<Session>,
    waker: Arc<Waker>,
    live: Option<Live>,
    theme: Theme,
    applied_theme: Option<bool>,
    prefs: Prefs,
    prefs_dirty: bool,
    controls: ControlsPanel,
    topology: TopologyView,
    step: StepMode,
    opener: Opener,
    watch: Option<FileWatch>,
    help_open: bool,
    show_controls: bool,
    show_details: bool,
    selected: Option<TraceId>,
    error: Option<String>,
    log: StatusLog,
    screenshots: Screenshots,
    started: Instant,
    shot_requested: bool,
    boost_until: Instant,
    time_scale: f64,
    scale_dragging: bool,
    stopping: Vec<JoinHandle<()>>,
    commands: Commands,
    report: CanvasReport,
    docks: Docks,
    replay: Option<ReplayView>,
    /// The scenario last run (for "back to live" after a replay).
    last_run: Option<(Scenario, ScenarioSource)>,
    /// Markers seen when the plots' theory lines were last worked out (they follow changes).
    theory_markers: Option<usize>,
    jobs: files::Jobs,
    frame_stats: FrameStats,
}

impl HopscopeApp {
    /// A window running `scenario` (started at once; a failure to start is shown in the
    /// window, not returned).
    pub fn new(scenario: Scenario, options: AppOptions) -> HopscopeApp {
        let prefs = options
            .prefs_path
            .as_deref()
            .map(Prefs::load)
            .unwrap_or_default();
        let presentation = options.presentation.unwrap_or(prefs.presentation);
        let mut app = HopscopeApp {
            session: None,
            waker: Arc::new(Waker::watching(options.quit.as_ref())),
            live: None,
            theme: if presentation {
                Theme::presentation()
            } else {
                Theme::normal()
            },
            applied_theme: None,
            prefs,
            prefs_dirty: false,
            controls: ControlsPanel::new(&scenario),
            topology: TopologyView::default(),
            step: StepMode::default(),
            opener: Opener::default(),
            watch: None,
            help_open: false,
            // A lesson stays beside the canvas even on a projector.
            show_controls: !presentation || !scenario.steps.is_empty(),
            show_details: !presentation,
            selected: None,
            error: None,
            log: StatusLog::default(),
            screenshots: Screenshots::default(),
            started: Instant::now(),
            shot_requested: false,
            boost_until: Instant::now(),
            time_scale: scenario.time_scale,
            scale_dragging: false,
            stopping: Vec::new(),
            commands: Commands::default(),
            report: CanvasReport::default(),
            docks: Docks::new(&scenario, ProgressStore::disabled(), true),
            replay: None,
            last_run: None,
            theory_markers: None,
            jobs: files::Jobs::default(),
            frame_stats: FrameStats::from_env(),
            options,
        };
        match app.options.trace.clone() {
            Some(path) => {
                app.last_run = Some((scenario, app.options.source.clone()));
                app.load_trace_now(&path);
            }
            None => {
                let source = app.options.source.clone();
                app.run_scenario(scenario, source);
            }
        }
        app
    }

    /// Lesson progress is remembered only where preferences are (not in tests).
    fn progress_store(&self) -> ProgressStore {
        if self.options.prefs_path.is_some() {
            ProgressStore::default_location()
        } else {
            ProgressStore::disabled()
        }
    }

    /// The docked panels (inspector, plots, sweep, lesson guide).
    pub fn docks(&self) -> &Docks {
        &self.docks
    }

    /// The replay, when a recorded trace is on screen.
    pub fn replay(&self) -> Option<&ReplayView> {
        self.replay.as_ref()
    }

    /// The running engine, if the scenario started.
    pub fn engine(&self) -> Option<&Engine> {
        self.session.as_ref().map(Session::engine)
    }

    /// What the window showed last frame.
    pub fn live(&self) -> Option<&Live> {
        self.live.as_ref()
    }

    /// Servers drawn on the canvas last frame.
    pub fn servers_in_view(&self) -> usize {
        self.topology.model().servers().count()
    }

    /// What the canvas drew last frame.
    pub fn canvas(&self) -> CanvasReport {
        self.report
    }

    /// Step mode's state.
    pub fn step_mode(&self) -> &StepMode {
        &self.step
    }

    /// The request picked out.
    pub fn selected(&self) -> Option<TraceId> {
        self.selected
    }

    /// The scenario error shown, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether presentation mode is on.
    pub fn presentation(&self) -> bool {
        self.theme.presentation
    }

    /// One whole frame inside `ui` (for tests and benchmarks, which have no eframe).
    pub fn frame(&mut self, ui: &mut Ui) {
        self.begin_frame(ui.ctx());
        self.draw(ui);
        self.end_frame(ui.ctx());
    }

    /// Starts `scenario`; the old one (if any) stops in the background once the new one runs.
    fn run_scenario(&mut self, scenario: Scenario, source: ScenarioSource) {
        let label = source.label();
        match Session::start(
            scenario.clone(),
            source.clone(),
            self.options.traffic,
            self.options.play_events,
            &self.waker,
        ) {
            Ok(session) => {
                if let Some(old) = self.session.take() {
                    self.stopping.extend(old.stop_in_background());
                }
                self.controls = ControlsPanel::new(&scenario);
                self.docks =
                    Docks::new(&scenario, self.progress_store(), self.options.fresh_lessons);
                self.theory_markers = None;
                self.replay = None;
                self.last_run = Some((scenario.clone(), source.clone()));
                self.step = StepMode::default();
                self.selected = None;
                self.error = None;
                self.time_scale = scenario.time_scale;
                self.watch = match &source {
                    ScenarioSource::File(path) => {
                        self.prefs.remember(path);
                        self.prefs_dirty = true;
                        Some(FileWatch::new(path))
                    }
                    _ => None,
                };
                self.waker
                    .watch_file(self.watch.as_ref().map(FileWatch::path));
                self.session = Some(session);
                self.log.info(format!("running {label}"));
            }
            Err(e) => {
                self.error = Some(format!("{label} could not start: {e}"));
            }
        }
    }

    /// Reads the engine, the keyboard and what arrived since the last frame.
    fn begin_frame(&mut self, ctx: &egui::Context) {
        self.waker.connect(ctx);
        if self
            .options
            .quit
            .as_ref()
            .is_some_and(|q| q.load(Ordering::Acquire))
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if self.applied_theme.is_none() {
            Theme::install_fonts(ctx);
        }
        if self.applied_theme != Some(self.theme.presentation) {
            self.theme.apply(ctx);
            self.applied_theme = Some(self.theme.presentation);
        }
        if self.watch.as_mut().is_some_and(FileWatch::changed) {
            self.commands.push(UiCommand::Reload);
        }
        if let Some(path) = dropped_files(ctx).into_iter().next() {
            let command = if files::is_trace(&path) {
                UiCommand::OpenTrace(path)
            } else {
                UiCommand::Open(ScenarioSource::File(path))
            };
            self.commands.push(command);
        }
        self.finish_jobs();
        self.take_screenshot_if_due(ctx);
        let changed = self.replay.is_none() && self.take_answers();
        if let Some(replay) = &mut self.replay {
            self.live = Some(replay.live());
        } else if let Some(session) = &mut self.session {
            let live = session.poll();
            self.docks.tick_guide(&live, &mut self.commands);
            if let Some(wake) = self
                .docks
                .guide
                .as_ref()
                .and_then(|g| g.next_wake(live.time_scale))
            {
                ctx.request_repaint_after(wake);
            }
            let markers = live.snapshot.markers.len();
            if changed || self.theory_markers != Some(markers) {
                // Theory follows the topology as it is now (servers added, policy changed…).
                let now = session.engine().current_scenario();
                self.docks.plots.set_scenario(&now);
                self.theory_markers = Some(markers);
            }
            self.live = Some(live);
        }
        let servers: Vec<u16> = self
            .live
            .iter()
            .flat_map(|l| l.snapshot.servers.iter())
            .filter_map(|g| server_number(&g.name))
            .collect();
        help::read_keys(
            ctx,
            help::KeyContext {
                step_mode: self.step.on,
                presentation: self.theme.presentation,
                help_open: self.help_open,
                last_server: servers.iter().max().copied(),
                several_servers: servers.len() > 1,
            },
            &mut self.commands,
        );
        if ctx.input(|i| !i.events.is_empty() || i.pointer.any_down()) {
            self.boost_until = Instant::now() + BOOST;
        }
    }

    fn take_screenshot_if_due(&mut self, ctx: &egui::Context) {
        if let Some(plan) = &self.options.screenshot
            && !self.shot_requested
        {
            if self.started.elapsed() >= plan.after {
                self.shot_requested = true;
                self.screenshots.request(ctx, plan.path.clone());
            } else {
                ctx.request_repaint_after(plan.after.saturating_sub(self.started.elapsed()));
            }
        }
        for done in self.screenshots.finished() {
            match &done {
                Ok(path) => self
                    .log
                    .info(format!("screenshot saved to {}", path.display())),
                Err(e) => self.log.error(format!("screenshot failed: {e}")),
            }
            if self.options.screenshot.is_some() {
                if let Some(cell) = &self.options.screenshot_done {
                    let _ = cell.set(done);
                }
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// Applies the frame's commands, then decides when the next frame is needed.
    fn end_frame(&mut self, ctx: &egui::Context) {
        let commands = self.commands.take();
        if !commands.is_empty() {
            self.boost_until = Instant::now() + BOOST;
        }
        for command in commands {
            self.apply(ctx, command);
        }
        if self.prefs_dirty {
            self.prefs_dirty = false;
            if let Some(path) = &self.options.prefs_path
                && let Err(e) = self.prefs.save(path)
            {
                self.log.error(format!(
                    "cannot save preferences to {}: {e}",
                    path.display()
                ));
            }
        }
        let now = Instant::now();
        let replaying = self.replay.as_ref().is_some_and(|r| r.playing);
        let activity = Activity {
            hidden: ctx.input(|i| i.viewport().visible() == Some(false)),
            paused: self.replay.is_none() && self.live.as_ref().is_some_and(|l| l.paused),
            moving: self.report.moving,
            animating: replaying || now < self.boost_until || self.jobs.busy(),
            due: self.log.next_toast_gone(now),
            smooth: self.prefs.smooth_motion,
        };
        self.waker.set_activity(&activity);
        if let Some(gap) = next_frame(&activity) {
            ctx.request_repaint_after(gap);
        }
    }

    /// Whether frames are painted at 60 a second rather than 30.
    pub fn smooth_motion(&self) -> bool {
        self.prefs.smooth_motion
    }

    /// Stops the engine, waiting a little for it (closing the window).
    fn shut_down(&mut self) {
        if let Some(session) = self.session.take() {
            self.stopping.extend(session.stop_in_background());
        }
        let deadline = Instant::now() + EXIT_WAIT;
        while Instant::now() < deadline && self.stopping.iter().any(|h| !h.is_finished()) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for h in self.stopping.drain(..) {
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

impl eframe::App for HopscopeApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.begin_frame(ctx);
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.frame_stats.frame();
        self.draw(ui);
        self.end_frame(ui.ctx());
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.shut_down();
    }
}

impl Drop for HopscopeApp {
    fn drop(&mut self) {
        self.shut_down();
    }
}
