//! Replaying a recorded trace in the window: the topology, the inspector and the plots show
//! the run as it was at time t, built from the trace alone (no engine runs). A timeline
//! scrubber moves t back and forth; "previous/next hop" moves it request by request, hop by
//! hop, with the hop said in words, so a real run can be stepped backwards.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use egui::{RichText, Slider, Ui};

use super::command::{Commands, UiCommand};
use super::live::Live;
use super::step::{CaptionContext, caption};
use super::theme::Theme;
use crate::lesson::check::path_of;
use crate::scenario::{Command, Scenario, World};
use crate::trace::replay::{HopEvent, HopKind, Replay};
use crate::trace::{Component, Journey, Phase, Snapshot};

/// Playback speeds offered (trace time per real time).
const SPEEDS: [f64; 6] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0];

/// A trace being replayed.
pub struct ReplayView {
    replay: Replay,
    scenario: Scenario,
    path: PathBuf,
    /// The moment shown, in trace microseconds.
    pub t: u64,
    pub playing: bool,
    pub speed: f64,
    last_tick: Option<Instant>,
    shown: Option<(u64, Arc<Snapshot>)>,
    /// What the last hop step showed, in words.
    caption: Option<String>,
    /// The cache's size as the trace's cache spans said it, by time (older traces: empty).
    cache_entries: Vec<(u64, usize)>,
}

impl ReplayView {
    /// Replays `replay`, read from `path`, from its start.
    pub fn new(replay: Replay, path: &Path) -> ReplayView {
        let info = &replay.meta().info;
        let mut scenario: Scenario = info
            .scenario_config
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        if scenario.name.is_empty() || scenario.name == "untitled" {
            scenario.name = info.scenario.clone();
        }
        // The canvas draws the servers the run had at its end.
        let servers = replay.meta().servers.len();
        if servers > 0 {
            scenario.servers.count = servers;
        }
        let mut cache_entries: Vec<(u64, usize)> = replay
            .journeys()
            .iter()
            .flat_map(|j| j.spans.iter())
            .filter(|s| s.component == Component::Cdn && s.phase == Phase::Cache)
            .filter_map(|s| Some((s.end_micros, s.attr("entries")?.parse().ok()?)))
            .collect();
        cache_entries.sort_unstable();
        ReplayView {
            scenario,
            cache_entries,
            path: path.to_path_buf(),
            t: 0,
            // A recording opens playing (slowly): a still first frame would show nothing.
            playing: true,
            speed: 0.25,
            last_tick: None,
            shown: None,
            caption: None,
            replay,
        }
    }

    /// The recorded scenario (as far as the trace says).
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The trace file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run's length in trace microseconds.
    pub fn duration_micros(&self) -> u64 {
        self.replay.duration_micros()
    }

    /// What the window shows now (moving `t` on while playing).
    pub fn live(&mut self) -> Live {
        let now = Instant::now();
        if self.playing {
            if let Some(last) = self.last_tick {
                let step = now.duration_since(last).as_secs_f64() * self.speed * 1e6;
                self.t = (self.t + step as u64).min(self.duration_micros());
                if self.t >= self.duration_micros() {
                    self.playing = false;
                }
            }
            self.last_tick = Some(now);
        } else {
            self.last_tick = None;
        }
        let snapshot = match &self.shown {
            Some((t, snap)) if *t == self.t => snap.clone(),
            _ => {
                let snap = Arc::new(self.replay.snapshot_at(self.t));
                self.shown = Some((self.t, snap.clone()));
                snap
            }
        };
        let mut live = Live::offline(&self.scenario, snapshot, self.t);
        self.settings_at(self.t, &mut live);
        let topology = &self.replay.meta().info.topology;
        if !topology.edge_address.is_empty() {
            live.addresses.edge = topology.edge_address.clone();
            live.addresses.edge_tls = topology.edge_tls.clone();
            live.addresses.zone = topology.zone.clone();
        }
        // The addresses the run really had.
        for c in &topology.components {
            let Some(address) = c.address.clone() else {
                continue;
            };
            match c.name.as_str() {
                "dns" => live.addresses.dns = address,
                "cdn" => live.addresses.cdn = Some(address),
                "lb" => live.addresses.lb = address,
                _ => {}
            }
        }
        live.paused = !self.playing;
        live.sent = live.snapshot.totals.begun;
        live
    }

    /// The settings as they were at `t`: the scenario's, changed by every command the trace's
    /// markers record up to then (a policy switched mid-run, the cache turned off, the CDN
    /// killed), and the cache's size from the last cache lookup before `t`.
    fn settings_at(&self, t: u64, live: &mut Live) {
        let mut world = World::from_scenario(&self.scenario);
        for m in self
            .replay
            .meta()
            .markers
            .iter()
            .take_while(|m| m.at_micros <= t)
        {
            if let Ok(command) = m.text.parse::<Command>() {
                world.apply(&command);
            }
        }
        live.policy = world.policy;
        live.dns_alive = world.dns_alive;
        live.cdn_alive = world.cdn_alive;
        live.lb_alive = world.lb_alive;
        let entries = self
            .cache_entries
            .partition_point(|&(at, _)| at <= t)
            .checked_sub(1)
            .map(|i| self.cache_entries[i].1);
        if let (Some(view), Some(cache)) = (live.cache.as_mut(), world.cache.as_ref()) {
            view.enabled = cache.enabled;
            view.capacity = cache.capacity;
            view.eviction = cache.eviction;
            view.ttl_override = cache.ttl.map(|d| d.get());
            view.entries = entries.unwrap_or(0);
        }
    }

    /// Moves to the previous or next hop of any request, and says what it was.
    pub fn step_hop(&mut self, forward: bool) {
        let event = if forward {
            self.replay.next_event(self.t)
        } else {
            self.replay.prev_event(self.t)
        };
        if let Some(e) = event.copied() {
            self.t = e.at_micros;
            self.caption = self.hop_caption(&e);
            self.playing = false;
        }
    }

    /// What the request of hop event `e` had done by then, in the sentence step mode would
    /// show at that hop ("At 1.234 s, GET /users/3: the load balancer picked server-2 …").
    fn hop_caption(&self, e: &HopEvent) -> Option<String> {
        let j = self.replay.journeys().get(e.journey as usize)?;
        let mut so_far = Journey::clone(j);
        let t = e.at_micros;
        so_far.arrivals.retain(|(_, at)| *at <= t);
        so_far.spans.retain(|s| s.end_micros <= t);
        if j.end_micros.is_none_or(|end| end > t) {
            so_far.end_micros = None;
            so_far.outcome = None;
        }
        let ctx = CaptionContext {
            edge: if self.scenario.cdn.enabled {
                Component::Cdn
            } else {
                Component::Lb
            },
            zone: self.scenario.dns.zone.clone(),
            ttl: self.scenario.dns.ttl.to_string(),
        };
        let said = if matches!(e.kind, HopKind::Begin) {
            "a client sends it.".to_string()
        } else {
            caption(&so_far, &ctx)
        };
        Some(format!(
            "At {:.3} s, {} {}: {said}",
            t as f64 / 1e6,
            j.method,
            path_of(&j.url)
        ))
    }

    /// The timeline bar: play, scrub, step by hop, speed, back to live.
    pub fn bar_ui(&mut self, ui: &mut Ui, theme: &Theme, out: &mut Commands) {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("Replaying {}", self.path.display())).strong())
                .on_hover_text("A recorded run: nothing is running, controls are off");
            let play = if self.playing { "Pause" } else { "Play" };
            if ui
                .button(play)
                .on_hover_text("Play the recording (key Space)")
                .clicked()
            {
                if !self.playing && self.t >= self.duration_micros() {
                    self.t = 0;
                }
                self.playing = !self.playing;
            }
            if ui
                .button("◀ Previous hop")
                .on_hover_text("Back to the previous hop of any request")
                .clicked()
            {
                self.step_hop(false);
            }
            if ui
                .button("Next hop ▶")
                .on_hover_text("On to the next hop of any request")
                .clicked()
            {
                self.step_hop(true);
            }
            egui::ComboBox::from_id_salt("replay-speed")
                .selected_text(format!("{}×", self.speed))
                .show_ui(ui, |ui| {
                    for s in SPEEDS {
                        ui.selectable_value(&mut self.speed, s, format!("{s}×"));
                    }
                })
                .response
                .on_hover_text("How fast the recording plays (1× is real time)");
            if ui
                .button("Back to live")
                .on_hover_text("Leave the recording and run a scenario again")
                .clicked()
            {
                out.push(UiCommand::CloseReplay);
            }
        });
        let total_ms = self.duration_micros() as f64 / 1000.0;
        let mut ms = self.t as f64 / 1000.0;
        ui.spacing_mut().slider_width = (ui.available_width() - theme.body_size * 14.0).max(100.0);
        let r = ui.add(
            Slider::new(&mut ms, 0.0..=total_ms.max(1.0))
                .suffix(" ms")
                .text("time"),
        );
        if r.changed() {
            self.t = (ms * 1000.0) as u64;
            self.caption = None;
        }
        if let Some(c) = &self.caption {
            ui.label(RichText::new(c).size(theme.body_size).color(theme.text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::import::Trace;
    use crate::trace::{Component, Journey, Outcome, TraceId};

    fn journey(id: u128, start: u64, end: u64) -> Journey {
        Journey {
            id: TraceId(id),
            method: "GET".into(),
            url: "/users/1".into(),
            start_micros: start,
            end_micros: Some(end),
            outcome: Some(Outcome::Status(200)),
            arrivals: vec![(Component::Cdn, start + 10)],
            ..Journey::default()
        }
    }

    #[test]
    fn scrubbing_and_hop_steps_move_through_the_recording() {
        let mut trace = Trace {
            meta: Default::default(),
            requests: vec![journey(1, 100, 1_000), journey(2, 2_000, 3_000)],
        };
        trace.meta.info.duration_micros = 3_000;
        let mut view = ReplayView::new(Replay::new(trace), Path::new("t.json"));
        assert_eq!(
            view.live().snapshot.totals.ended,
            0,
            "nothing has ended at the start"
        );
        view.step_hop(true);
        assert_eq!(view.t, 100, "the first hop is the first request's begin");
        assert!(
            view.caption
                .as_deref()
                .is_some_and(|c| c.contains("GET /users/1"))
        );
        view.step_hop(true);
        let said = view.caption.clone().unwrap_or_default();
        assert!(
            said.starts_with("At 0.000 s, GET /users/1:") && said.contains("the CDN"),
            "the hop is said in a sentence: {said}"
        );
        view.t = 2_500;
        let live = view.live();
        assert_eq!(live.snapshot.totals.ended, 1);
        assert_eq!(live.snapshot.in_flight.len(), 1);
        view.step_hop(false);
        assert!(view.t < 2_500, "a step back goes to an earlier hop");
        view.t = view.duration_micros();
        assert_eq!(view.live().snapshot.totals.ended, 2);
    }

    #[test]
    fn the_settings_and_the_cache_are_shown_as_they_were_at_each_moment() {
        let (scenario, _) = crate::scenario::resolve("default").expect("built in");
        let looked_up = |id: u128, start: u64, entries: usize| {
            let mut j = journey(id, start, start + 500);
            j.spans.push(crate::trace::Span {
                id: TraceId(id),
                component: Component::Cdn,
                phase: Phase::Cache,
                start_micros: start + 10,
                end_micros: start + 20,
                attrs: vec![crate::trace::Attr::new("entries", entries.to_string())],
            });
            j
        };
        let mut trace = Trace {
            meta: Default::default(),
            requests: vec![looked_up(1, 100, 3), looked_up(2, 3_000_000, 7)],
        };
        trace.meta.info.scenario_config = serde_json::to_value(&scenario).ok();
        trace.meta.info.duration_micros = 4_000_000;
        trace.meta.markers = vec![
            crate::trace::Marker {
                at_micros: 2_000_000,
                component: Some(Component::Lb),
                text: "policy least_connections".into(),
            },
            crate::trace::Marker {
                at_micros: 2_500_000,
                component: Some(Component::Cdn),
                text: "cache off".into(),
            },
        ];
        let mut view = ReplayView::new(Replay::new(trace), Path::new("t.json"));
        view.playing = false;
        let at = |view: &mut ReplayView, t: u64| {
            view.t = t;
            let live = view.live();
            let cache = live.cache.expect("a CDN");
            (live.policy, cache.enabled, cache.entries)
        };
        use crate::scenario::Policy::{LeastConnections, RoundRobin};
        assert_eq!(
            at(&mut view, 50),
            (RoundRobin, true, 0),
            "before any lookup"
        );
        assert_eq!(at(&mut view, 1_000_000), (RoundRobin, true, 3));
        assert_eq!(at(&mut view, 2_200_000), (LeastConnections, true, 3));
        assert_eq!(at(&mut view, 3_500_000), (LeastConnections, false, 7));
    }
}
