//! Live controls: every change to the running topology a learner can make, each sent as a
//! control `Command` through the engine (the same implementation behind the CLI's `serve`
//! and scenario events). Servers (add, remove, kill, restart, hang, slow, error rate), the
//! load balancer's policy, the cache, the clients (rate, mix, keep-alive, TLS), link
//! latencies, the DNS stub's behaviour, and killing or restarting the CDN, LB or DNS.
//!
//! Values the engine can report (policy, cache state) are read from `Live`; the others start
//! from the scenario and remember what was last sent.

use egui::{CollapsingHeader, ComboBox, DragValue, Response, Slider, Ui};

use super::command::Commands;
use super::live::Live;
use crate::scenario::{
    CacheCommand, Command, DnsMode, Dur, Eviction, Link, Policy, Scenario, Target, server_name,
    server_number,
};

/// What the DNS stub is told to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DnsChoice {
    Ok,
    Nxdomain,
    Drop,
}

/// The controls panel's state.
#[derive(Clone, Debug)]
pub struct ControlsPanel {
    server: Option<u16>,
    slow_millis: u64,
    error_share: f64,
    cache_capacity: usize,
    ttl_override: bool,
    ttl_secs: u64,
    rate: f64,
    weights: Vec<(String, f64)>,
    keep_alive: bool,
    tls: bool,
    latency_millis: [u64; 4],
    dns: DnsChoice,
    dns_drop: f64,
}

/// Whether a slider's value should be sent now: when released, or changed without a drag
/// (keyboard, a click on the rail).
fn commit(r: &Response) -> bool {
    r.drag_stopped() || (r.changed() && !r.dragged())
}

fn millis(d: Dur) -> u64 {
    d.as_millis_f64().round() as u64
}

impl ControlsPanel {
    /// Controls starting from `scenario`'s settings.
    pub fn new(scenario: &Scenario) -> ControlsPanel {
        let profiles = scenario.effective_profiles();
        ControlsPanel {
            server: None,
            slow_millis: 200,
            error_share: 0.5,
            cache_capacity: scenario.cdn.capacity,
            ttl_override: false,
            ttl_secs: 10,
            rate: scenario.traffic.rate,
            weights: profiles
                .iter()
                .map(|p| (p.name.clone(), p.weight))
                .collect(),
            keep_alive: profiles.iter().all(|p| p.keep_alive),
            tls: scenario.tls.enabled,
            latency_millis: [
                profiles.first().map_or(0, |p| millis(p.latency)),
                millis(scenario.cdn.latency),
                millis(scenario.balancer.latency),
                millis(scenario.database.latency),
            ],
            dns: DnsChoice::Ok,
            dns_drop: 0.3,
        }
    }

    /// Draws the controls; changes become commands.
    pub fn ui(&mut self, ui: &mut Ui, live: &Live, out: &mut Commands) {
        CollapsingHeader::new("Servers")
            .default_open(true)
            .show(ui, |ui| self.servers_ui(ui, live, out));
        CollapsingHeader::new("Load balancer")
            .default_open(true)
            .show(ui, |ui| policy_ui(ui, live, out));
        CollapsingHeader::new("Cache (CDN)")
            .default_open(false)
            .show(ui, |ui| self.cache_ui(ui, live, out));
        CollapsingHeader::new("Clients")
            .default_open(false)
            .show(ui, |ui| self.clients_ui(ui, out));
        CollapsingHeader::new("Link latency")
            .default_open(false)
            .show(ui, |ui| self.links_ui(ui, live, out));
        CollapsingHeader::new("DNS, CDN and LB faults")
            .default_open(false)
            .show(ui, |ui| self.faults_ui(ui, live, out));
    }

    fn servers_ui(&mut self, ui: &mut Ui, live: &Live, out: &mut Commands) {
        let servers: Vec<(u16, String)> = live
            .snapshot
            .servers
            .iter()
            .filter_map(|g| Some((server_number(&g.name)?, g.name.clone())))
            .collect();
        ui.horizontal(|ui| {
            if ui
                .button("Add server")
                .on_hover_text(
                    "Start one more API server and put it behind the load balancer (key +)",
                )
                .clicked()
            {
                out.engine(Command::AddServer);
            }
            let last = servers.last().map(|(n, _)| *n);
            if ui
                .add_enabled(
                    last.is_some() && servers.len() > 1,
                    egui::Button::new("Remove server"),
                )
                .on_hover_text("Take the last server out of the pool and stop it (key -)")
                .clicked()
                && let Some(n) = last
            {
                out.engine(Command::RemoveServer(n));
            }
        });
        ui.label(format!("{} servers", servers.len()));
        if self
            .server
            .is_none_or(|n| !servers.iter().any(|(s, _)| *s == n))
        {
            self.server = servers.first().map(|(n, _)| *n);
        }
        let Some(picked) = self.server else {
            return;
        };
        ComboBox::from_label("Server")
            .selected_text(server_name(picked))
            .show_ui(ui, |ui| {
                for (n, name) in &servers {
                    ui.selectable_value(&mut self.server, Some(*n), name);
                }
            });
        ui.horizontal_wrapped(|ui| {
            if ui
                .button("Kill")
                .on_hover_text("Close its port: connections are refused")
                .clicked()
            {
                out.engine(Command::Kill(Target::Server(picked)));
            }
            if ui
                .button("Restart")
                .on_hover_text("Back on its old address, healthy and at normal speed")
                .clicked()
            {
                out.engine(Command::Restart(Target::Server(picked)));
            }
            if ui
                .button("Hang")
                .on_hover_text("Accept connections but never answer")
                .clicked()
            {
                out.engine(Command::Hang(picked));
            }
        });
        ui.horizontal(|ui| {
            ui.add(
                DragValue::new(&mut self.slow_millis)
                    .range(0..=10_000)
                    .suffix(" ms"),
            );
            if ui
                .button("Slow down")
                .on_hover_text("Add this much time to every request it serves")
                .clicked()
            {
                out.engine(Command::Slow(picked, Dur::from_millis(self.slow_millis)));
            }
        });
        ui.horizontal(|ui| {
            ui.add(Slider::new(&mut self.error_share, 0.0..=1.0).text("errors"));
            if ui
                .button("Set errors")
                .on_hover_text("This share of its requests answer 500 Internal Server Error")
                .clicked()
            {
                out.engine(Command::Error(picked, self.error_share));
            }
        });
    }

    fn cache_ui(&mut self, ui: &mut Ui, live: &Live, out: &mut Commands) {
        let Some(cache) = live.cache else {
            ui.label("This scenario has no CDN.");
            return;
        };
        let mut on = cache.enabled;
        if ui
            .checkbox(&mut on, "Cache on")
            .on_hover_text("Off: the CDN passes every request to the load balancer")
            .changed()
        {
            out.engine(Command::Cache(if on {
                CacheCommand::On
            } else {
                CacheCommand::Off
            }));
        }
        ui.label(format!(
            "{} of {} entries used",
            cache.entries, cache.capacity
        ));
        ui.horizontal(|ui| {
            ui.add(DragValue::new(&mut self.cache_capacity).range(1..=1_000_000));
            if ui.button("Set capacity").clicked() {
                out.engine(Command::Cache(CacheCommand::Capacity(self.cache_capacity)));
            }
        });
        let mut eviction = cache.eviction;
        ComboBox::from_label("Eviction")
            .selected_text(eviction.name())
            .show_ui(ui, |ui| {
                for e in Eviction::ALL {
                    if ui.selectable_value(&mut eviction, e, e.name()).clicked() {
                        out.engine(Command::Cache(CacheCommand::Eviction(e)));
                    }
                }
            });
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.ttl_override, "TTL override")
                .on_hover_text("Keep cacheable answers this long, whatever their max-age says");
            ui.add_enabled(
                self.ttl_override,
                DragValue::new(&mut self.ttl_secs)
                    .range(1..=86_400)
                    .suffix(" s"),
            );
            if ui.button("Set TTL").clicked() {
                let ttl = self.ttl_override.then(|| Dur::from_secs(self.ttl_secs));
                out.engine(Command::Cache(CacheCommand::Ttl(ttl)));
            }
        });
        if ui
            .button("Flush cache")
            .on_hover_text("Forget every cached answer: the next requests are misses")
            .clicked()
        {
            out.engine(Command::Cache(CacheCommand::Flush));
        }
    }

    fn clients_ui(&mut self, ui: &mut Ui, out: &mut Commands) {
        let r = ui.add(
            Slider::new(&mut self.rate, 0.0..=500.0)
                .logarithmic(true)
                .text("requests/s"),
        );
        if commit(&r) {
            out.engine(Command::Rate(self.rate));
        }
        ui.label("Mix (weight of each kind of client):");
        for (name, weight) in &mut self.weights {
            let r = ui.add(Slider::new(weight, 0.0..=10.0).text(name.as_str()));
            if commit(&r) {
                out.engine(Command::Weight(name.clone(), *weight));
            }
        }
        if ui
            .checkbox(&mut self.keep_alive, "Keep-alive")
            .on_hover_text("Reuse connections between requests (no new handshake each time)")
            .changed()
        {
            out.engine(Command::KeepAlive(self.keep_alive));
        }
        if ui
            .checkbox(&mut self.tls, "HTTPS (TLS)")
            .on_hover_text("Clients use HTTPS to the edge: a TLS handshake after TCP's")
            .changed()
        {
            out.engine(Command::Tls(self.tls));
        }
    }

    fn links_ui(&mut self, ui: &mut Ui, live: &Live, out: &mut Commands) {
        ui.label("One-way delay added to each hop:");
        for (i, link) in Link::ALL.into_iter().enumerate() {
            if link == Link::Cdn && live.cache.is_none() {
                continue;
            }
            let name = match link {
                Link::Client => "client → edge",
                Link::Cdn => "CDN → LB",
                Link::Lb => "LB → servers",
                Link::Db => "servers → DB",
            };
            let r = ui.add(
                Slider::new(&mut self.latency_millis[i], 0..=1000)
                    .logarithmic(true)
                    .suffix(" ms")
                    .text(name),
            );
            if commit(&r) {
                out.engine(Command::Latency(
                    link,
                    Dur::from_millis(self.latency_millis[i]),
                ));
            }
        }
    }

    fn faults_ui(&mut self, ui: &mut Ui, live: &Live, out: &mut Commands) {
        ui.label("DNS stub:");
        ui.horizontal_wrapped(|ui| {
            let before = self.dns;
            ui.radio_value(&mut self.dns, DnsChoice::Ok, "answers");
            ui.radio_value(&mut self.dns, DnsChoice::Nxdomain, "NXDOMAIN");
            ui.radio_value(&mut self.dns, DnsChoice::Drop, "drops");
            if self.dns != before {
                out.engine(Command::Dns(self.dns_mode()));
            }
        });
        if self.dns == DnsChoice::Drop {
            let r = ui.add(Slider::new(&mut self.dns_drop, 0.0..=1.0).text("share dropped"));
            if commit(&r) {
                out.engine(Command::Dns(self.dns_mode()));
            }
        }
        ui.separator();
        let mut row = |ui: &mut Ui, target: Target, name: &str, alive: bool| {
            ui.horizontal(|ui| {
                ui.label(format!("{name}: {}", if alive { "up" } else { "× down" }));
                if ui.button(format!("Kill {name}")).clicked() {
                    out.engine(Command::Kill(target));
                }
                if ui.button(format!("Restart {name}")).clicked() {
                    out.engine(Command::Restart(target));
                }
            });
        };
        row(ui, Target::Dns, "DNS", live.dns_alive);
        if live.cache.is_some() {
            row(ui, Target::Cdn, "CDN", live.cdn_alive);
        }
        row(ui, Target::Lb, "LB", live.lb_alive);
    }

    fn dns_mode(&self) -> DnsMode {
        match self.dns {
            DnsChoice::Ok => DnsMode::Ok,
            DnsChoice::Nxdomain => DnsMode::Nxdomain,
            DnsChoice::Drop => DnsMode::Drop(self.dns_drop),
        }
    }
}

/// The load balancer's policy: every policy there is, the one in force selected.
fn policy_ui(ui: &mut Ui, live: &Live, out: &mut Commands) {
    let mut policy = live.policy;
    ComboBox::from_label("Policy")
        .selected_text(policy.label())
        .width(ui.available_width().min(ui.spacing().combo_width))
        .show_ui(ui, |ui| {
            for p in Policy::ALL {
                if ui.selectable_value(&mut policy, p, p.label()).clicked() && p != live.policy {
                    out.engine(Command::Policy(p));
                }
            }
        });
}
