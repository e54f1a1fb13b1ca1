//! The dots of one frame: every request on screen placed on the canvas, then aggregated so
//! that thousands stay cheap to draw. Dots waiting at a node are counted per node; moving
//! dots that land in the same small cell are drawn once with a count. Pure data: computed
//! from a snapshot and the layout, tested without a window.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use egui::{Pos2, pos2, vec2};

use super::layout::{Metrics, NodeId, TopologyModel};
use super::route::{DotAt, Placement, RouteBuilder, Station, Timing, place};
use crate::trace::{CacheStatus, Component, Journey, OutcomeClass, Phase, Snapshot, TraceId};

/// The most stations a request's path can have on screen (for the visibility bound).
const MAX_STATIONS: usize = 32;
/// How many recent cache lookups the CDN shows.
pub const CACHE_STRIP: usize = 8;

/// A dot as drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dot {
    pub pos: Pos2,
    /// `None` while in flight.
    pub class: Option<OutcomeClass>,
    /// 1 is opaque; falling dots fade.
    pub alpha: f32,
    /// How many requests this dot stands for.
    pub count: u32,
    /// One of them (for clicking).
    pub id: TraceId,
}

/// Requests waiting at one node, by outcome class (`None` first: in flight).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resting {
    pub in_flight: u32,
    pub by_class: [u32; 5],
    /// A few of them, for clicking.
    pub ids: Vec<TraceId>,
}

impl Resting {
    /// Every request waiting here.
    pub fn total(&self) -> u32 {
        self.in_flight + self.by_class.iter().sum::<u32>()
    }
}

/// The request picked out (selected, or stepped): drawn on its own, on top.
#[derive(Clone, Debug)]
pub struct Highlight {
    pub journey: Arc<Journey>,
    pub placement: Placement,
    pub dot: Dot,
}

/// Everything the canvas draws for requests in one frame.
#[derive(Clone, Debug, Default)]
pub struct DotFrame {
    /// Moving and falling dots after aggregation.
    pub dots: Vec<Dot>,
    /// Requests waiting at each node.
    pub resting: BTreeMap<NodeId, Resting>,
    pub highlight: Option<Highlight>,
    /// The latest cache results as shown (oldest first).
    pub cache_recent: Vec<CacheStatus>,
    /// The request whose load-balancer pick was shown last.
    pub last_pick: Option<Arc<Journey>>,
    /// Requests on screen (before aggregation).
    pub on_screen: usize,
    /// Of those, requests from outside tools (curl and the like).
    pub external: usize,
    /// Whether anything moves (so the canvas needs another frame).
    pub moving: bool,
}

/// What the frame is computed from, besides the snapshot and the layout.
#[derive(Clone, Debug)]
pub struct DotParams<'a> {
    /// Trace time now.
    pub now: u64,
    pub timing: Timing,
    pub metrics: Metrics,
    /// Sideways distance between the outgoing and returning lanes.
    pub lane: f32,
    pub fall_distance: f32,
    /// Moving dots closer than this share a cell (and one drawn dot).
    pub cell: f32,
    /// The profile names, in node order (`NodeId::Clients(i)`).
    pub profiles: &'a [String],
    /// The component clients connect to first.
    pub edge: Component,
    /// The request to pick out.
    pub highlight: Option<TraceId>,
}

/// Hashes a trace id cheaply (ids need no protection against chosen keys), mixing every bit
/// into the top ones the hash table uses as tags, so sequential ids work as well as random.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = ((v as u64) ^ ((v >> 64) as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A request's stations, kept while the request does not change.
#[derive(Debug)]
struct CachedRoute {
    /// Hops, spans and end: a journey that changed has a different one.
    version: (usize, usize, Option<u64>),
    stations: Vec<Station>,
    /// When its cache lookup and its load-balancer pick started, if they did.
    lookup: Option<u64>,
    pick: Option<u64>,
    /// The last frame that used it.
    seen: u64,
}

/// Reusable buffers and the stations of requests seen lately, so a frame only routes the
/// requests that changed since the last one.
#[derive(Debug, Default)]
pub struct Scratch {
    route: RouteBuilder,
    raw: Vec<(u64, Dot)>,
    routes: HashMap<TraceId, CachedRoute, BuildHasherDefault<IdHasher>>,
    frame: u64,
}

fn class_code(class: Option<OutcomeClass>) -> u64 {
    class.map_or(0, |c| c.index() as u64 + 1)
}

/// Computes the frame's dots.
pub fn build(
    snapshot: &Snapshot,
    model: &TopologyModel,
    p: &DotParams<'_>,
    scratch: &mut Scratch,
) -> DotFrame {
    let mut frame = DotFrame::default();
    scratch.raw.clear();
    scratch.frame += 1;
    let now_frame = scratch.frame;
    let mut shown = Shown::default();

    let recent_visible = snapshot.recent.iter().rev().take_while(|j| {
        let end = j.end_micros.unwrap_or(j.start_micros);
        p.timing.visible_until(j.start_micros, end, MAX_STATIONS) >= p.now
    });
    for j in snapshot.in_flight.iter().chain(recent_visible) {
        let cached = route_of(&mut scratch.routes, &mut scratch.route, j, p, now_frame);
        let Some(placement) = place(&cached.stations, j.outcome, p.now, p.timing) else {
            continue;
        };
        shown.note(j, cached, &placement);
        frame.on_screen += 1;
        frame.external += usize::from(j.external);
        let class = placement
            .settled
            .then(|| j.outcome.map(|o| o.class()))
            .flatten();
        let is_highlight = p.highlight == Some(j.id);
        if let DotAt::Resting(node) = placement.at
            && !is_highlight
        {
            frame.rest(node, class, j.id);
            continue;
        }
        let Some((pos, alpha)) = position(model, p, placement.at, &mut frame.moving) else {
            continue;
        };
        let dot = Dot {
            pos,
            class,
            alpha,
            count: 1,
            id: j.id,
        };
        if is_highlight {
            frame.highlight = Some(Highlight {
                journey: j.clone(),
                placement,
                dot,
            });
            continue;
        }
        scratch.raw.push((cell_key(pos, p.cell, class), dot));
    }
    aggregate(&mut scratch.raw, &mut frame.dots);

    // Forget requests no longer on screen (every so often: retaining is a full pass).
    if now_frame.is_multiple_of(32) {
        scratch.routes.retain(|_, r| r.seen + 32 >= now_frame);
    }
    shown.finish(&mut frame);
    frame
}

/// The stations of `j`, routed again only when the journey changed since they were.
fn route_of<'r>(
    routes: &'r mut HashMap<TraceId, CachedRoute, BuildHasherDefault<IdHasher>>,
    builder: &mut RouteBuilder,
    j: &Journey,
    p: &DotParams<'_>,
    now_frame: u64,
) -> &'r CachedRoute {
    let version = (j.arrivals.len(), j.spans.len(), j.end_micros);
    let cached = routes.entry(j.id).or_insert_with(|| CachedRoute {
        version: (usize::MAX, 0, None),
        stations: Vec::new(),
        lookup: None,
        pick: None,
        seen: 0,
    });
    cached.seen = now_frame;
    if cached.version != version {
        let client = if j.external {
            NodeId::Outside
        } else {
            p.profiles
                .iter()
                .position(|name| *name == j.profile)
                .map_or(NodeId::Outside, |i| NodeId::Clients(i as u16))
        };
        cached.version = version;
        cached.stations.clear();
        cached
            .stations
            .extend_from_slice(builder.build(j, client, p.edge));
        cached.lookup = j.span(Phase::Cache).map(|s| s.start_micros);
        cached.pick = j.span(Phase::Pick).map(|s| s.start_micros);
    }
    cached
}

/// What the CDN and the load balancer show: results whose dot has passed them.
#[derive(Default)]
struct Shown<'a> {
    cache: Vec<(u64, CacheStatus)>,
    pick: Option<(u64, &'a Arc<Journey>)>,
}

impl<'a> Shown<'a> {
    /// Notes `j`'s cache result and pick if its dot has passed the CDN or the balancer.
    fn note(&mut self, j: &'a Arc<Journey>, cached: &CachedRoute, placement: &Placement) {
        let stations = &cached.stations;
        let left = match placement.at {
            DotAt::Resting(_) => placement.station,
            DotAt::Moving { .. } | DotAt::Falling { .. } => placement.station + 1,
        };
        if let Some(cache) = j.cache.filter(|c| *c != CacheStatus::Bypass)
            && let Some(lookup) = cached.lookup
            && let Some(t) = passed(stations, left, NodeId::Cdn, lookup)
        {
            self.cache.push((t, cache));
        }
        if let Some(pick) = cached.pick
            && let Some(t) = passed(stations, left, NodeId::Lb, pick)
            && self.pick.is_none_or(|(seen, _)| t > seen)
        {
            self.pick = Some((t, j));
        }
    }

    /// The latest cache results (oldest first) and the last pick, into the frame.
    fn finish(mut self, frame: &mut DotFrame) {
        self.cache.sort_by_key(|(t, _)| *t);
        let skip = self.cache.len().saturating_sub(CACHE_STRIP);
        frame.cache_recent = self.cache[skip..].iter().map(|(_, c)| *c).collect();
        frame.last_pick = self.pick.map(|(_, j)| j.clone());
    }
}

impl DotFrame {
    /// Counts a request waiting at `node` (drawn as part of the node's count).
    fn rest(&mut self, node: NodeId, class: Option<OutcomeClass>, id: TraceId) {
        let r = self.resting.entry(node).or_default();
        match class {
            None => r.in_flight += 1,
            Some(c) => r.by_class[c.index()] += 1,
        }
        if r.ids.len() < 16 {
            r.ids.push(id);
        }
    }
}

/// Where a dot is drawn and how opaque: at its node's rest point, along its segment, or
/// falling below the node that failed it (fading). Sets `moving` for the last two.
fn position(
    model: &TopologyModel,
    p: &DotParams<'_>,
    at: DotAt,
    moving: &mut bool,
) -> Option<(Pos2, f32)> {
    match at {
        DotAt::Resting(node) => model.rest_point(node, 0, &p.metrics).map(|pos| (pos, 1.0)),
        DotAt::Moving { from, to, frac } => {
            *moving = true;
            model
                .segment(from, to, p.lane)
                .map(|(a, b)| (a.lerp(b, frac), 1.0))
        }
        DotAt::Falling { node, frac } => {
            *moving = true;
            model.rect(node).map(|r| {
                let start = pos2(r.center().x, r.bottom() + p.metrics.dot_radius);
                (
                    start + vec2(frac * p.lane * 2.0, p.fall_distance * frac * frac),
                    1.0 - frac,
                )
            })
        }
    }
}

/// The aggregation key of a dot: its cell on the canvas and its class.
fn cell_key(pos: Pos2, cell: f32, class: Option<OutcomeClass>) -> u64 {
    let cell = cell.max(1.0);
    ((pos.x / cell).floor() as i32 as u32 as u64) << 32
        | ((pos.y / cell).floor() as i32 as u32 as u64) << 3
        | class_code(class)
}

/// One dot per cell and class, with a count.
fn aggregate(raw: &mut [(u64, Dot)], dots: &mut Vec<Dot>) {
    raw.sort_by_key(|(k, d)| (*k, d.id));
    let mut i = 0;
    while i < raw.len() {
        let key = raw[i].0;
        let mut dot = raw[i].1;
        let mut j = i + 1;
        while j < raw.len() && raw[j].0 == key {
            dot.count += 1;
            dot.alpha = dot.alpha.max(raw[j].1.alpha);
            j += 1;
        }
        dots.push(dot);
        i = j;
    }
}

/// When the dot left the station at `node` where something happened at `at_real`, if it
/// has left it: among the first `left` stations.
fn passed(stations: &[Station], left: usize, node: NodeId, at_real: u64) -> Option<u64> {
    stations[..left.min(stations.len())]
        .iter()
        .find(|s| s.node == node && s.arrive <= at_real && at_real <= s.leave)
        .map(|s| s.leave)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Outcome, Phase, Span};
    use crate::ui::topology::layout::{NodeSpec, place as place_nodes};
    use egui::Rect;

    fn metrics() -> Metrics {
        Metrics {
            node_size: vec2(120.0, 52.0),
            line_height: 18.0,
            dot_radius: 4.0,
            queue_spacing: 2.5,
        }
    }

    fn model() -> TopologyModel {
        let specs = vec![
            NodeSpec::new(NodeId::Clients(0), "browser", vec![]),
            NodeSpec::new(NodeId::Outside, "outside", vec![]),
            NodeSpec::new(NodeId::Dns, "dns", vec![]),
            NodeSpec::new(NodeId::Cdn, "cdn", vec![]),
            NodeSpec::new(NodeId::Lb, "lb", vec![]),
            NodeSpec::new(NodeId::Server(1), "server-1", vec![]),
            NodeSpec::new(NodeId::Db, "db", vec![]),
        ];
        place_nodes(
            specs,
            Rect::from_min_size(Pos2::ZERO, vec2(900.0, 700.0)),
            &metrics(),
        )
    }

    /// A request of the browser profile that has reached `upto` arrivals of a CDN miss
    /// served by server-1.
    fn journey(id: u128, start: u64, ended: bool) -> Arc<Journey> {
        let mut j = Journey {
            id: TraceId(id),
            profile: "browser".into(),
            start_micros: start,
            ..Journey::default()
        };
        j.add_arrival(Component::Cdn, start + 10);
        j.add_arrival(Component::Cdn, start + 20);
        j.add_span(Span {
            id: TraceId(id),
            component: Component::Cdn,
            phase: Phase::Cache,
            start_micros: start + 20,
            end_micros: start + 30,
            attrs: vec![],
        });
        j.add_arrival(Component::Lb, start + 40);
        j.add_span(Span {
            id: TraceId(id),
            component: Component::Lb,
            phase: Phase::Pick,
            start_micros: start + 41,
            end_micros: start + 42,
            attrs: vec![],
        });
        j.add_arrival(Component::Server(1), start + 50);
        if ended {
            j.add_span(Span {
                id: TraceId(id),
                component: Component::Lb,
                phase: Phase::Forward,
                start_micros: start + 45,
                end_micros: start + 90,
                attrs: vec![],
            });
            j.outcome = Some(Outcome::Status(200));
            j.end_micros = Some(start + 100);
            j.cache = Some(CacheStatus::Miss);
        }
        Arc::new(j)
    }

    fn params(now: u64, profiles: &[String]) -> DotParams<'_> {
        DotParams {
            now,
            timing: Timing {
                min_hop: 1_000,
                fall: 1_000,
            },
            metrics: metrics(),
            lane: 3.0,
            fall_distance: 60.0,
            cell: 8.0,
            profiles,
            edge: Component::Cdn,
            highlight: None,
        }
    }

    #[test]
    fn requests_waiting_at_a_server_are_counted_there_and_moving_ones_are_dots() {
        let profiles = vec!["browser".to_string()];
        let snap = Snapshot {
            in_flight: (0..50).map(|i| journey(i, 0, false)).collect(),
            ..Snapshot::default()
        };
        // Long after: every request rests at server-1.
        let frame = build(
            &snap,
            &model(),
            &params(1_000_000, &profiles),
            &mut Scratch::default(),
        );
        assert_eq!(frame.on_screen, 50);
        assert_eq!(frame.resting[&NodeId::Server(1)].in_flight, 50);
        assert!(frame.dots.is_empty());
        assert!(!frame.moving);
        // Half-way along the first hop: all fifty overlap, so one dot stands for them.
        let frame = build(
            &snap,
            &model(),
            &params(500, &profiles),
            &mut Scratch::default(),
        );
        assert!(frame.moving);
        assert_eq!(frame.dots.len(), 1);
        assert_eq!(frame.dots[0].count, 50);
        assert_eq!(frame.dots[0].class, None);
    }

    #[test]
    fn ended_requests_travel_home_in_their_outcome_colour_then_vanish() {
        let profiles = vec!["browser".to_string()];
        let j = journey(7, 0, true);
        let snap = Snapshot {
            recent: vec![j],
            ..Snapshot::default()
        };
        let frames: Vec<DotFrame> = (0..12_000)
            .step_by(250)
            .map(|t| {
                build(
                    &snap,
                    &model(),
                    &params(t, &profiles),
                    &mut Scratch::default(),
                )
            })
            .collect();
        assert!(
            frames
                .iter()
                .any(|f| f.dots.iter().any(|d| d.class.is_none()))
        );
        assert!(frames.iter().any(|f| {
            f.dots
                .iter()
                .any(|d| d.class == Some(OutcomeClass::Success))
        }));
        assert_eq!(frames.last().map(|f| f.on_screen), Some(0), "home and gone");
        // The CDN's strip shows the miss once the dot has passed it.
        assert!(
            frames
                .iter()
                .any(|f| f.cache_recent == vec![CacheStatus::Miss])
        );
        assert!(frames.iter().any(|f| f.last_pick.is_some()));
    }

    #[test]
    fn the_highlighted_request_is_drawn_on_its_own() {
        let profiles = vec!["browser".to_string()];
        let snap = Snapshot {
            in_flight: (0..5).map(|i| journey(i, 0, false)).collect(),
            ..Snapshot::default()
        };
        let mut p = params(1_000_000, &profiles);
        p.highlight = Some(TraceId(3));
        let frame = build(&snap, &model(), &p, &mut Scratch::default());
        let h = frame.highlight.expect("highlighted");
        assert_eq!(h.journey.id, TraceId(3));
        assert_eq!(h.placement.at, DotAt::Resting(NodeId::Server(1)));
        assert_eq!(frame.resting[&NodeId::Server(1)].in_flight, 4);
    }
}
