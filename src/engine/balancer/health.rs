//! The health of one backend as the load balancer sees it: a small state machine fed by
//! active health checks and by passive ejection on failed connections.
//!
//! Owns: the counts of consecutive good and failed checks, the healthy/unhealthy flag and
//! the end of a passive ejection. Guarantees: no clock is read here (every time is a `u64`
//! of trace-clock microseconds passed in by the caller); every change of state is returned
//! as a [`Transition`] value exactly once, with a reason written for learners, so the proxy
//! can put a marker on the trace; no sequence of calls panics, whatever the times.
//!
//! Rules:
//! - A new backend starts healthy, so traffic flows as soon as it is added (HAProxy and
//!   nginx do the same); the checks take it out if it is not.
//! - `unhealthy_after` failed checks in a row take a healthy backend out; `healthy_after`
//!   good checks in a row put an unhealthy one back. A threshold of 0 counts as 1.
//! - A failed connection ejects the backend at once for `eject_for`. The ejection ends when
//!   that time has passed, whatever the checks say meanwhile: checks keep their own count,
//!   so a backend that is really down is also marked unhealthy by them. A further failed
//!   connection during an ejection extends it without a new transition.
//! - A backend is eligible for new requests when it is healthy and not ejected.

use crate::scenario::{BalancerConfig, Dur};

/// The thresholds of the state machine, taken from the scenario's balancer settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthRules {
    /// Failed checks in a row before a backend is taken out (at least 1).
    pub unhealthy_after: u32,
    /// Good checks in a row before it is put back (at least 1).
    pub healthy_after: u32,
    /// How long a failed connection keeps a backend out, in microseconds.
    pub eject_for_micros: u64,
}

impl HealthRules {
    /// The rules in `config` (thresholds of 0 count as 1).
    pub fn from_config(config: &BalancerConfig) -> HealthRules {
        HealthRules {
            unhealthy_after: config.unhealthy_after.max(1),
            healthy_after: config.healthy_after.max(1),
            eject_for_micros: u64::try_from(config.eject_for.get().as_micros()).unwrap_or(u64::MAX),
        }
    }
}

impl Default for HealthRules {
    fn default() -> Self {
        HealthRules::from_config(&BalancerConfig::default())
    }
}

/// A change in a backend's health, to be shown as a trace marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Health checks failed often enough: no new requests go to it.
    BecameUnhealthy { reason: String },
    /// Health checks passed often enough: it takes requests again.
    BecameHealthy { reason: String },
    /// A connection to it failed: it is left out until `until_micros`.
    Ejected { until_micros: u64, reason: String },
    /// Its ejection time is over; `back` when it takes requests again (its health checks
    /// have not taken it out meanwhile).
    EjectionEnded { back: bool, reason: String },
}

impl Transition {
    /// The reason alone, e.g. "2 health checks failed in a row".
    pub fn reason(&self) -> &str {
        match self {
            Transition::BecameUnhealthy { reason }
            | Transition::BecameHealthy { reason }
            | Transition::Ejected { reason, .. }
            | Transition::EjectionEnded { reason, .. } => reason,
        }
    }

    /// The marker text for backend `name`, e.g.
    /// "server-2 marked unhealthy: 2 health checks failed in a row".
    pub fn marker_text(&self, name: &str) -> String {
        let what = match self {
            Transition::BecameUnhealthy { .. } => "marked unhealthy",
            Transition::BecameHealthy { .. } => "marked healthy again",
            Transition::Ejected { .. } => "ejected",
            Transition::EjectionEnded { back: true, .. } => "back in rotation",
            Transition::EjectionEnded { back: false, .. } => "ejection over",
        };
        format!("{name} {what}: {}", self.reason())
    }
}

/// Where a backend stands, for gauges and the status line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthStatus {
    /// Takes new requests.
    Healthy,
    /// Failed its health checks; checks continue and can bring it back.
    Unhealthy,
    /// Left out after a failed connection, for this many more microseconds (it may also be
    /// unhealthy).
    Ejected { remaining_micros: u64 },
}

/// One backend's health.
#[derive(Clone, Debug)]
pub struct Health {
    rules: HealthRules,
    healthy: bool,
    failed_in_row: u32,
    passed_in_row: u32,
    /// End of the current passive ejection, until `tick` reports it over.
    ejected_until: Option<u64>,
}

impl Health {
    /// A new backend, healthy and not ejected.
    pub fn new(rules: HealthRules) -> Health {
        Health {
            rules,
            healthy: true,
            failed_in_row: 0,
            passed_in_row: 0,
            ejected_until: None,
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> HealthRules {
        self.rules
    }

    /// Whether the health checks consider it healthy (ejection aside).
    pub fn is_healthy(&self) -> bool {
        self.healthy
    }

    /// Whether a passive ejection keeps it out at `now_micros`.
    pub fn is_ejected(&self, now_micros: u64) -> bool {
        self.ejected_until.is_some_and(|until| now_micros < until)
    }

    /// Whether new requests may go to it at `now_micros`: healthy and not ejected.
    pub fn is_eligible(&self, now_micros: u64) -> bool {
        self.healthy && !self.is_ejected(now_micros)
    }

    /// Where it stands at `now_micros`.
    pub fn status(&self, now_micros: u64) -> HealthStatus {
        match self.ejected_until {
            Some(until) if now_micros < until => HealthStatus::Ejected {
                remaining_micros: until - now_micros,
            },
            _ if self.healthy => HealthStatus::Healthy,
            _ => HealthStatus::Unhealthy,
        }
    }

    /// Records the result of one active health check at `now_micros`. Returns the change
    /// it caused, if any.
    pub fn record_check(&mut self, ok: bool, now_micros: u64) -> Option<Transition> {
        let _ = now_micros; // Checks count in a row; when they happened does not matter.
        if ok {
            self.failed_in_row = 0;
            self.passed_in_row = self.passed_in_row.saturating_add(1);
            if !self.healthy && self.passed_in_row >= self.rules.healthy_after {
                self.healthy = true;
                let n = self.rules.healthy_after;
                let reason = if n == 1 {
                    "its health check passed".to_string()
                } else {
                    format!("{n} health checks passed in a row")
                };
                return Some(Transition::BecameHealthy { reason });
            }
        } else {
            self.passed_in_row = 0;
            self.failed_in_row = self.failed_in_row.saturating_add(1);
            if self.healthy && self.failed_in_row >= self.rules.unhealthy_after {
                self.healthy = false;
                let n = self.rules.unhealthy_after;
                let reason = if n == 1 {
                    "its health check failed; no new requests go to it".to_string()
                } else {
                    format!("{n} health checks failed in a row; no new requests go to it")
                };
                return Some(Transition::BecameUnhealthy { reason });
            }
        }
        None
    }

    /// Records a failed connection to it at `now_micros` (refused, reset): ejects it at once
    /// for the rules' `eject_for`. Returns `Ejected` unless it was already ejected, in which
    /// case the ejection is only extended.
    pub fn record_connect_failure(&mut self, now_micros: u64) -> Option<Transition> {
        let until = now_micros.saturating_add(self.rules.eject_for_micros);
        let already = self.is_ejected(now_micros);
        self.ejected_until = Some(self.ejected_until.map_or(until, |u| u.max(until)));
        if already {
            return None;
        }
        let period = Dur::from(std::time::Duration::from_micros(
            self.rules.eject_for_micros,
        ));
        Some(Transition::Ejected {
            until_micros: until,
            reason: format!(
                "a connection to it failed, so it is left out for {period} (passive ejection)"
            ),
        })
    }

    /// Lets time pass: reports `EjectionEnded` once when an ejection is over at
    /// `now_micros`. Eligibility does not depend on calling this; only the marker does.
    pub fn tick(&mut self, now_micros: u64) -> Option<Transition> {
        let until = self.ejected_until?;
        if now_micros < until {
            return None;
        }
        self.ejected_until = None;
        let period = Dur::from(std::time::Duration::from_micros(
            self.rules.eject_for_micros,
        ));
        let reason = if !self.healthy {
            format!("its {period} ejection is over, but it stays out until its health checks pass")
        } else if self.failed_in_row > 0 {
            // Down for real but not yet for the checks: the next request finds out.
            format!(
                "its {period} ejection is over, so it takes requests again: its health checks \
                 have failed {} of the {} times in a row that take it out",
                self.failed_in_row, self.rules.unhealthy_after
            )
        } else {
            format!("its {period} ejection is over, so it takes requests again")
        };
        Some(Transition::EjectionEnded {
            back: self.healthy,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(unhealthy_after: u32, healthy_after: u32, eject_for_micros: u64) -> HealthRules {
        HealthRules {
            unhealthy_after,
            healthy_after,
            eject_for_micros,
        }
    }

    #[test]
    fn failed_checks_in_a_row_take_it_out_and_good_ones_bring_it_back() {
        let mut h = Health::new(rules(2, 3, 1_000_000));
        assert!(h.is_eligible(0), "a new backend starts healthy");
        assert_eq!(h.record_check(false, 10), None, "one failure is not enough");
        assert_eq!(h.record_check(true, 20), None);
        assert_eq!(h.record_check(false, 30), None, "the count restarted");
        let t = h.record_check(false, 40).expect("second failure in a row");
        assert!(matches!(t, Transition::BecameUnhealthy { .. }));
        assert_eq!(
            t.marker_text("server-2"),
            "server-2 marked unhealthy: 2 health checks failed in a row; \
             no new requests go to it"
        );
        assert!(!h.is_eligible(50));
        assert_eq!(h.status(50), HealthStatus::Unhealthy);
        assert_eq!(
            h.record_check(false, 60),
            None,
            "already unhealthy: no repeat"
        );

        assert_eq!(h.record_check(true, 70), None);
        assert_eq!(h.record_check(true, 80), None);
        let back = h.record_check(true, 90).expect("third good check");
        assert_eq!(
            back.marker_text("server-2"),
            "server-2 marked healthy again: 3 health checks passed in a row"
        );
        assert!(h.is_eligible(100));
    }

    #[test]
    fn thresholds_of_one_read_naturally_and_zero_counts_as_one() {
        let config = BalancerConfig {
            unhealthy_after: 0,
            healthy_after: 0,
            ..BalancerConfig::default()
        };
        let mut h = Health::new(HealthRules::from_config(&config));
        let t = h.record_check(false, 0).expect("one failure suffices");
        assert_eq!(
            t.reason(),
            "its health check failed; no new requests go to it"
        );
        let t = h.record_check(true, 1).expect("one success suffices");
        assert_eq!(t.reason(), "its health check passed");
    }

    #[test]
    fn a_failed_connection_ejects_until_the_time_is_over() {
        let mut h = Health::new(rules(2, 1, 3_000_000));
        let t = h.record_connect_failure(1_000).expect("ejected");
        assert_eq!(
            t,
            Transition::Ejected {
                until_micros: 3_001_000,
                reason: "a connection to it failed, so it is left out for 3s (passive ejection)"
                    .into(),
            }
        );
        assert_eq!(
            t.marker_text("server-4"),
            "server-4 ejected: a connection to it failed, so it is left out for 3s \
             (passive ejection)"
        );
        assert!(h.is_healthy(), "ejection is not a health-check verdict");
        assert!(!h.is_eligible(1_000));
        assert_eq!(
            h.status(2_000),
            HealthStatus::Ejected {
                remaining_micros: 2_999_000
            }
        );
        // A good health check does not cut the ejection short.
        assert_eq!(h.record_check(true, 2_000_000), None);
        assert!(!h.is_eligible(2_000_000));
        assert_eq!(h.tick(3_000_999), None, "not over yet");
        assert!(
            h.is_eligible(3_001_000),
            "eligible once the time has passed"
        );
        let end = h.tick(3_001_000).expect("reported once");
        assert_eq!(
            end.marker_text("server-4"),
            "server-4 back in rotation: its 3s ejection is over, so it takes requests again"
        );
        assert_eq!(h.tick(4_000_000), None, "reported only once");
    }

    #[test]
    fn repeated_failures_extend_an_ejection_quietly() {
        let mut h = Health::new(rules(2, 1, 1_000));
        assert!(h.record_connect_failure(0).is_some());
        assert_eq!(h.record_connect_failure(500), None, "already ejected");
        assert!(!h.is_eligible(1_200), "extended to 1500");
        assert!(h.is_eligible(1_500));
        // After the ejection ends (even unreported), a new failure ejects again.
        assert!(h.record_connect_failure(2_000).is_some());
    }

    #[test]
    fn an_unhealthy_backend_stays_out_after_its_ejection() {
        let mut h = Health::new(rules(1, 1, 1_000));
        assert!(h.record_connect_failure(0).is_some());
        assert!(h.record_check(false, 100).is_some());
        let end = h.tick(1_000).expect("ejection over");
        assert_eq!(
            end.marker_text("server-1"),
            "server-1 ejection over: its 1ms ejection is over, but it stays out until its \
             health checks pass",
            "never \"back in rotation\" while the checks keep it out"
        );
        assert!(!h.is_eligible(1_000));
        assert!(h.record_check(true, 1_100).is_some());
        assert!(h.is_eligible(1_100));
    }

    #[test]
    fn an_ejection_that_ends_before_the_checks_decide_says_the_next_request_finds_out() {
        let mut h = Health::new(rules(3, 1, 1_000));
        assert!(h.record_connect_failure(0).is_some());
        assert_eq!(h.record_check(false, 100), None, "1 of 3 failed checks");
        let end = h.tick(1_000).expect("ejection over");
        assert!(h.is_eligible(1_000), "the load balancer tries it again");
        assert_eq!(
            end.marker_text("server-1"),
            "server-1 back in rotation: its 1ms ejection is over, so it takes requests again: \
             its health checks have failed 1 of the 3 times in a row that take it out"
        );
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let mut h = Health::new(rules(1, 1, u64::MAX));
        assert!(h.record_connect_failure(u64::MAX).is_some());
        assert_eq!(h.tick(0), None);
        assert!(!h.is_eligible(u64::MAX - 1));
        assert_eq!(
            h.status(0),
            HealthStatus::Ejected {
                remaining_micros: u64::MAX
            }
        );
    }
}
