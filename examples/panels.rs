//! A small window around the inspector, plots and sweep panels, for trying them and for
//! screenshots before the full app shell exists. It runs the default scenario with a few
//! timed changes (a server killed, restarted, one added) so the plots have markers and the
//! list has failures.
//!
//! ```text
//! cargo run --example panels -- [--panel inspector|plots|sweep] [--presentation]
//!     [--select miss|failure|hit] [--after SECONDS] [--sweep-now]
//! ```
//! `--select` picks a request of that kind once `--after` seconds have passed (default 4);
//! `--sweep-now` starts a sweep at once on a scenario whose servers saturate quickly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hopscope::engine::{Engine, EngineOptions};
use hopscope::scenario::{self, Distribution, Dur, Event, Scenario, ServiceTime};
use hopscope::trace::{CacheStatus, Journey, OutcomeClass, Phase, Snapshot, TraceId};
use hopscope::ui::inspector::InspectorPanel;
use hopscope::ui::plots::PlotsPanel;
use hopscope::ui::sweep_panel::SweepPanel;
use hopscope::ui::theme::Theme;

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Inspector,
    Plots,
    Sweep,
}

struct Args {
    tab: Tab,
    presentation: bool,
    select: Option<String>,
    after: Duration,
    sweep_now: bool,
}

fn args() -> Args {
    let mut a = Args {
        tab: Tab::Inspector,
        presentation: false,
        select: None,
        after: Duration::from_secs(4),
        sweep_now: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--panel" => {
                a.tab = match it.next().as_deref() {
                    Some("plots") => Tab::Plots,
                    Some("sweep") => Tab::Sweep,
                    _ => Tab::Inspector,
                }
            }
            "--presentation" => a.presentation = true,
            "--select" => a.select = it.next(),
            "--after" => {
                let secs = it.next().and_then(|s| s.parse().ok()).unwrap_or(4.0);
                a.after = Duration::from_secs_f64(secs);
            }
            "--sweep-now" => a.sweep_now = true,
            other => eprintln!("panels: ignoring `{other}`"),
        }
    }
    a
}

/// The default scenario with a few changes along the way.
fn demo_scenario() -> Scenario {
    let (mut s, _) = scenario::resolve("default").unwrap_or_else(|e| {
        eprintln!("panels: {e}");
        std::process::exit(2)
    });
    s.traffic.rate = 40.0;
    for (at, action) in [
        (3, "kill server-2"),
        (6, "restart server-2"),
        (8, "add server"),
    ] {
        s.events.push(Event {
            at: Some(Dur::from_secs(at)),
            action: Some(action.into()),
            ..Event::default()
        });
    }
    s
}

/// One worker per server at a constant 50 ms: about 20 requests/s each, so at 80 requests/s
/// a sweep shows the effect of every added server up to four.
fn scaling_scenario() -> Scenario {
    let mut s = demo_scenario();
    s.name = "default, 1 worker per server".into();
    s.servers.workers = 1;
    s.servers.service = ServiceTime {
        distribution: Distribution::Constant,
        mean: Dur::from_millis(50),
        sigma: 0.0,
    };
    s.traffic.rate = 80.0;
    s
}

struct App {
    args: Args,
    engine: Option<Engine>,
    scenario: Scenario,
    theme: Theme,
    tab: Tab,
    started: Instant,
    inspector: InspectorPanel,
    plots: PlotsPanel,
    sweep: SweepPanel,
    selected: Option<TraceId>,
    picked: bool,
}

/// The most telling recent request of a kind: for `miss`, one that looked the name up,
/// connected and queried the database.
fn pick(snapshot: &Snapshot, kind: &str) -> Option<TraceId> {
    let has = |j: &Journey, phase: Phase| j.spans.iter().any(|s| s.phase == phase);
    let failed = |j: &Journey| {
        j.outcome
            .is_some_and(|o| matches!(o.class(), OutcomeClass::ServerError | OutcomeClass::Failure))
    };
    let recent = || snapshot.recent.iter().rev();
    let found = match kind {
        "failure" => recent().find(|j| failed(j)),
        "hit" => recent().find(|j| j.cache == Some(CacheStatus::Hit)),
        _ => recent()
            .find(|j| {
                j.cache == Some(CacheStatus::Miss)
                    && has(j, Phase::Dns)
                    && has(j, Phase::Db)
                    && has(j, Phase::Connect)
            })
            .or_else(|| recent().find(|j| j.cache == Some(CacheStatus::Miss) && has(j, Phase::Db))),
    };
    found.map(|j| j.id)
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let snapshot = self
            .engine
            .as_ref()
            .map_or_else(|| Arc::new(Snapshot::default()), Engine::snapshot);
        if let Some(kind) = &self.args.select
            && !self.picked
            && self.started.elapsed() >= self.args.after
            && let Some(id) = pick(&snapshot, kind)
        {
            self.selected = Some(id);
            self.picked = true;
        }
        if self.args.sweep_now && !self.sweep.is_running() && self.sweep.rows().is_empty() {
            self.args.sweep_now = false;
            self.sweep.max_servers = 4;
            self.sweep.seconds_each = 2;
            self.sweep.start(&self.scenario, ui.ctx());
        }
        egui::Panel::top("harness-tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.tab, Tab::Inspector, "Inspector");
                ui.selectable_value(&mut self.tab, Tab::Plots, "Plots");
                ui.selectable_value(&mut self.tab, Tab::Sweep, "Sweep");
                let mut presentation = self.theme.presentation;
                if ui
                    .checkbox(&mut presentation, "presentation mode")
                    .changed()
                {
                    self.theme = if presentation {
                        Theme::presentation()
                    } else {
                        Theme::normal()
                    };
                    apply_visuals(ui.ctx(), &self.theme);
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| match self.tab {
            Tab::Inspector => self
                .inspector
                .ui(ui, &snapshot, &self.theme, &mut self.selected),
            Tab::Plots => self.plots.ui(ui, &snapshot, &self.theme),
            Tab::Sweep => self.sweep.ui(ui, &self.scenario, &self.theme),
        });
        ui.ctx().request_repaint_after(Duration::from_millis(250));
    }
}

fn apply_visuals(ctx: &egui::Context, theme: &Theme) {
    let mut visuals = if theme.presentation {
        egui::Visuals::light()
    } else {
        egui::Visuals::dark()
    };
    visuals.panel_fill = theme.background;
    visuals.window_fill = theme.panel;
    visuals.override_text_color = Some(theme.text);
    ctx.set_visuals(visuals);
    ctx.all_styles_mut(|style| theme.apply_text_sizes(style));
}

fn main() -> eframe::Result {
    let args = args();
    let theme = if args.presentation {
        Theme::presentation()
    } else {
        Theme::normal()
    };
    let (scenario, engine) = if args.tab == Tab::Sweep {
        (scaling_scenario(), None)
    } else {
        let s = demo_scenario();
        let options = EngineOptions {
            traffic: true,
            play_events: true,
            ..EngineOptions::default()
        };
        match Engine::start(s.clone(), options) {
            Ok(e) => (s, Some(e)),
            Err(e) => {
                eprintln!("panels: {e}");
                std::process::exit(1)
            }
        }
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([1600.0, 1000.0]),
        ..eframe::NativeOptions::default()
    };
    let tab = args.tab;
    eframe::run_native(
        "hopscope panels",
        options,
        Box::new(move |cc| {
            apply_visuals(&cc.egui_ctx, &theme);
            Ok(Box::new(App {
                args,
                engine,
                scenario,
                theme,
                tab,
                started: Instant::now(),
                inspector: InspectorPanel::new(),
                plots: PlotsPanel::new(),
                sweep: SweepPanel::new(),
                selected: None,
                picked: false,
            }))
        }),
    )
}
