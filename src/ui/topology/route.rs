//! A request's path across the canvas, from what the trace measured: the stations it stopped
//! at (node, when it arrived, when it left), in the order of its real hops, and where its dot
//! is at a given moment. Pure data, tested without a window.
//!
//! Loopback hops take microseconds, so the display stretches each move between two nodes to
//! at least `min_hop` (scaled by the time scale by the caller); time spent at a node is shown
//! as measured. A request that failed without an answer falls away after its last station.

use crate::trace::{Component, Journey, Outcome, OutcomeClass, Phase};

use super::layout::NodeId;

/// A stop on a request's path, in trace microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Station {
    pub node: NodeId,
    pub arrive: u64,
    pub leave: u64,
}

/// Builds stations, reusing its buffers from one request to the next.
#[derive(Debug, Default)]
pub struct RouteBuilder {
    facts: Vec<(u64, NodeId)>,
    stations: Vec<Station>,
}

impl RouteBuilder {
    /// The stations of `j`, whose client node is `client` and whose first hop after the
    /// name lookup is `edge` (the CDN, or the load balancer without one).
    pub fn build(&mut self, j: &Journey, client: NodeId, edge: Component) -> &[Station] {
        self.facts.clear();
        self.stations.clear();
        let facts = &mut self.facts;
        let edge_node = NodeId::of(edge, client);
        facts.push((j.start_micros, client));
        for s in &j.spans {
            match (s.component, s.phase) {
                (Component::Client, Phase::Dns | Phase::Blocked) => {
                    facts.push((s.start_micros, client));
                    facts.push((s.end_micros, client));
                }
                (Component::Client, Phase::Connect) => {
                    // The TCP (and TLS) handshake is a round trip to the edge.
                    facts.push((s.start_micros, client));
                    facts.push((s.start_micros.midpoint(s.end_micros), edge_node));
                    facts.push((s.end_micros, client));
                }
                (Component::Client, _) => {}
                (Component::Db, Phase::Db) => {
                    let server = j
                        .arrivals
                        .iter()
                        .rev()
                        .find(|(c, t)| matches!(c, Component::Server(_)) && *t <= s.start_micros)
                        .map(|(c, _)| NodeId::of(*c, client));
                    if let Some(server) = server {
                        facts.push((s.start_micros, server));
                        facts.push((s.start_micros.midpoint(s.end_micros), NodeId::Db));
                        facts.push((s.end_micros, server));
                    }
                }
                (c, _) => {
                    let node = NodeId::of(c, client);
                    facts.push((s.start_micros, node));
                    facts.push((s.end_micros, node));
                }
            }
        }
        let mut edge_seen = false;
        for &(c, t) in &j.arrivals {
            // A simulated client reports reaching the edge just before it sends: that first
            // report is the request leaving the client; the edge's own report follows.
            if c == edge && !j.external && !edge_seen {
                edge_seen = true;
                facts.push((t, client));
                continue;
            }
            facts.push((t, NodeId::of(c, client)));
        }
        let failed = j
            .outcome
            .is_some_and(|o| o.class() == OutcomeClass::Failure);
        match (j.outcome, j.end_micros) {
            (Some(Outcome::Status(_)), Some(end)) => facts.push((end, client)),
            (Some(_), Some(end)) if failed => {
                // Refused, timed out or reset before reaching anything: it died on the way
                // to the edge, so it falls there.
                let reached_edge = facts.iter().any(|(_, n)| n.depth() >= edge_node.depth());
                if !reached_edge && !matches!(j.outcome, Some(Outcome::DnsFailure)) {
                    facts.push((end, edge_node));
                }
            }
            _ => {}
        }
        facts.sort_by_key(|(t, _)| *t);
        for &(t, node) in facts.iter() {
            match self.stations.last_mut() {
                Some(last) if last.node == node => last.leave = last.leave.max(t),
                _ => self.stations.push(Station {
                    node,
                    arrive: t,
                    leave: t,
                }),
            }
        }
        // A failed lookup falls at the DNS stub, not back home.
        if failed && self.stations.len() > 1 && self.stations.last().map(|s| s.node) == Some(client)
        {
            self.stations.pop();
        }
        &self.stations
    }
}

/// Where a dot is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DotAt {
    /// Waiting at a node (in a queue, being handled, or held in step mode).
    Resting(NodeId),
    /// On the way from one node to the next, `frac` of the way.
    Moving { from: NodeId, to: NodeId, frac: f32 },
    /// Failed: falling away below `node`, `frac` of the way through the fall.
    Falling { node: NodeId, frac: f32 },
}

/// A dot's place and whether it already shows its outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    pub at: DotAt,
    /// The outcome is shown (the answer is on its way back, or the request is falling).
    pub settled: bool,
    /// Index of the station it is at or just left.
    pub station: usize,
}

/// Display timing, in trace microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// The least time a move between two nodes takes on screen.
    pub min_hop: u64,
    /// How long a failed request takes to fall away.
    pub fall: u64,
}

impl Timing {
    /// The latest a request that ended at `end` can still be on screen, given it has at most
    /// `stations` stations.
    pub fn visible_until(&self, start: u64, end: u64, stations: usize) -> u64 {
        end.max(start) + self.min_hop * stations as u64 + self.fall
    }
}

/// The station whose departure shows the outcome: where the answer was made, i.e. the
/// deepest point of the final way back (the server after its last query, or the CDN for a
/// hit). For a request that failed, its last station.
fn answer_station(stations: &[Station], failed: bool) -> usize {
    let last = stations.len().saturating_sub(1);
    if failed {
        return last;
    }
    let mut i = last;
    while i > 0 && stations[i - 1].node.depth() > stations[i].node.depth() {
        i -= 1;
    }
    i
}

/// Where the dot of a request with these `stations` is at `now`. `None` once it is off
/// screen (home with its answer, or done falling).
pub fn place(
    stations: &[Station],
    outcome: Option<Outcome>,
    now: u64,
    timing: Timing,
) -> Option<Placement> {
    let first = stations.first()?;
    let failed = outcome.is_some_and(|o| o.class() == OutcomeClass::Failure);
    let answer = outcome.map(|_| answer_station(stations, failed));
    let mut arrive = first.arrive;
    for (i, s) in stations.iter().enumerate() {
        let leave = arrive + (s.leave - s.arrive);
        let settled = answer.is_some_and(|a| i > a || (i == a && now >= leave));
        if now < leave || (i + 1 == stations.len() && outcome.is_none()) {
            return Some(Placement {
                at: DotAt::Resting(s.node),
                settled: answer.is_some_and(|a| i > a),
                station: i,
            });
        }
        let Some(next) = stations.get(i + 1) else {
            // Past the last station of a request that ended.
            if failed && now < leave + timing.fall {
                let frac = (now - leave) as f32 / timing.fall.max(1) as f32;
                return Some(Placement {
                    at: DotAt::Falling { node: s.node, frac },
                    settled: true,
                    station: i,
                });
            }
            return None;
        };
        let travel = next.arrive.saturating_sub(s.leave).max(timing.min_hop);
        let next_arrive = leave + travel;
        if now < next_arrive {
            return Some(Placement {
                at: DotAt::Moving {
                    from: s.node,
                    to: next.node,
                    frac: (now - leave) as f32 / travel.max(1) as f32,
                },
                settled,
                station: i,
            });
        }
        arrive = next_arrive;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::CacheStatus;
    use crate::trace::testing::span;

    /// A request that looks the name up, connects, misses the cache and is served by
    /// server-2 after one query: as the engine reports it.
    fn full_journey() -> Journey {
        let mut j = Journey {
            start_micros: 0,
            ..Journey::default()
        };
        for s in [
            span(1, Component::Client, Phase::Dns, 10, 100),
            span(1, Component::Dns, Phase::Dns, 40, 60),
            span(1, Component::Client, Phase::Connect, 100, 200),
            span(1, Component::Cdn, Phase::Cache, 260, 270),
            span(1, Component::Cdn, Phase::Forward, 270, 900),
            span(1, Component::Lb, Phase::Pick, 300, 310),
            span(1, Component::Lb, Phase::Forward, 310, 850),
            span(1, Component::Server(2), Phase::Queue, 400, 420),
            span(1, Component::Server(2), Phase::Handler, 420, 800),
            span(1, Component::Db, Phase::Db, 500, 600),
            span(1, Component::Client, Phase::Wait, 250, 950),
        ] {
            j.add_span(s);
        }
        for (c, t) in [
            (Component::Dns, 20),
            (Component::Cdn, 240),
            (Component::Cdn, 255),
            (Component::Lb, 295),
            (Component::Server(2), 390),
        ] {
            j.add_arrival(c, t);
        }
        j.outcome = Some(Outcome::Status(200));
        j.end_micros = Some(1000);
        j.cache = Some(CacheStatus::Miss);
        j
    }

    fn nodes(stations: &[Station]) -> Vec<NodeId> {
        stations.iter().map(|s| s.node).collect()
    }

    const TIMING: Timing = Timing {
        min_hop: 0,
        fall: 100,
    };

    #[test]
    fn a_full_journey_visits_every_hop_in_order_and_comes_back() {
        let mut b = RouteBuilder::default();
        let c = NodeId::Clients(0);
        let s = b.build(&full_journey(), c, Component::Cdn).to_vec();
        use NodeId::*;
        assert_eq!(
            nodes(&s),
            vec![
                c,
                Dns,
                c,
                Cdn, // the TCP handshake
                c,
                Cdn,
                Lb,
                Server(2),
                Db,
                Server(2),
                Lb,
                Cdn,
                c
            ]
        );
        assert!(s.windows(2).all(|w| w[0].leave <= w[1].arrive));
        assert_eq!(s[7].arrive, 390, "server-2 from its arrival");
        assert_eq!(s.last().map(|s| s.arrive), Some(1000));
    }

    #[test]
    fn a_cache_hit_turns_back_at_the_cdn() {
        let mut j = Journey::default();
        j.add_arrival(Component::Cdn, 10);
        j.add_arrival(Component::Cdn, 20);
        j.add_span(span(1, Component::Cdn, Phase::Cache, 20, 30));
        j.outcome = Some(Outcome::Status(200));
        j.end_micros = Some(50);
        let mut b = RouteBuilder::default();
        let c = NodeId::Clients(1);
        let s = b.build(&j, c, Component::Cdn).to_vec();
        assert_eq!(nodes(&s), vec![c, NodeId::Cdn, c]);
        // The dot shows its outcome once it leaves the CDN.
        let at_cdn = place(&s, j.outcome, 25, TIMING).expect("on screen");
        assert_eq!(at_cdn.at, DotAt::Resting(NodeId::Cdn));
        assert!(!at_cdn.settled);
        let leaving = place(&s, j.outcome, 40, TIMING).expect("on screen");
        assert!(matches!(leaving.at, DotAt::Moving { to, .. } if to == c));
        assert!(leaving.settled);
        assert_eq!(place(&s, j.outcome, 51, TIMING), None, "home: gone");
    }

    #[test]
    fn an_outside_request_starts_at_the_outside_node_and_goes_straight_to_the_edge() {
        let mut j = Journey {
            external: true,
            start_micros: 5,
            ..Journey::default()
        };
        j.add_arrival(Component::Cdn, 5);
        j.add_arrival(Component::Lb, 30);
        j.add_arrival(Component::Server(1), 60);
        let mut b = RouteBuilder::default();
        let s = b.build(&j, NodeId::Outside, Component::Cdn).to_vec();
        assert_eq!(
            nodes(&s),
            vec![NodeId::Outside, NodeId::Cdn, NodeId::Lb, NodeId::Server(1)]
        );
        // Still in flight: it waits at the server.
        let p = place(&s, None, 1_000, TIMING).expect("in flight stays");
        assert_eq!(p.at, DotAt::Resting(NodeId::Server(1)));
        assert!(!p.settled);
    }

    #[test]
    fn refused_requests_fall_at_the_edge_and_failed_lookups_at_the_dns() {
        let mut b = RouteBuilder::default();
        let c = NodeId::Clients(0);
        let refused = Journey {
            outcome: Some(Outcome::ConnectionRefused),
            end_micros: Some(100),
            ..Journey::default()
        };
        let s = b.build(&refused, c, Component::Cdn).to_vec();
        assert_eq!(nodes(&s), vec![c, NodeId::Cdn]);
        let p = place(&s, refused.outcome, 150, TIMING).expect("falling");
        assert!(
            matches!(p.at, DotAt::Falling { node: NodeId::Cdn, frac } if (frac - 0.5).abs() < 0.01)
        );
        assert_eq!(place(&s, refused.outcome, 201, TIMING), None);

        let mut nx = Journey::default();
        nx.add_span(span(1, Component::Client, Phase::Dns, 0, 50));
        nx.add_span(span(1, Component::Dns, Phase::Dns, 20, 30));
        nx.add_arrival(Component::Dns, 10);
        nx.outcome = Some(Outcome::DnsFailure);
        nx.end_micros = Some(50);
        let s = b.build(&nx, c, Component::Cdn).to_vec();
        assert_eq!(nodes(&s), vec![c, NodeId::Dns]);
    }

    #[test]
    fn short_hops_are_stretched_to_the_minimum_and_time_at_a_node_is_kept() {
        let s = [
            Station {
                node: NodeId::Clients(0),
                arrive: 0,
                leave: 0,
            },
            Station {
                node: NodeId::Lb,
                arrive: 10,
                leave: 1_010,
            },
            Station {
                node: NodeId::Clients(0),
                arrive: 1_020,
                leave: 1_020,
            },
        ];
        let t = Timing {
            min_hop: 500,
            fall: 0,
        };
        let done = Some(Outcome::Status(200));
        let p = place(&s, done, 250, t).expect("moving");
        assert_eq!(
            p.at,
            DotAt::Moving {
                from: NodeId::Clients(0),
                to: NodeId::Lb,
                frac: 0.5
            }
        );
        // Arrives on screen at 500, then rests the measured 1000 µs.
        assert_eq!(
            place(&s, done, 1_400, t).map(|p| p.at),
            Some(DotAt::Resting(NodeId::Lb))
        );
        assert!(matches!(
            place(&s, done, 1_600, t).map(|p| p.at),
            Some(DotAt::Moving { .. })
        ));
        assert_eq!(place(&s, done, 2_001, t), None);
        assert!(t.visible_until(0, 1_020, s.len()) >= 2_000);
    }
}
