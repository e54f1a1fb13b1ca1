//! Unit tests of the world: building it, applying commands, and the diffs that restore it.

use super::*;

fn start() -> World {
    let s = crate::scenario::load_str(
        "w.toml",
        "[servers]\ncount = 3\n[[profiles]]\nname = \"app\"\n[[profiles]]\nname = \"tourists\"\n",
    )
    .expect("valid");
    World::from_scenario(&s)
}

fn cmd(text: &str) -> Command {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Applying a diff's commands to the live world gives the target.
fn heals(live: &World, target: &World) {
    let mut healed = live.clone();
    for c in live.diff(target, &Scope::all()) {
        healed.apply(&c.command);
    }
    assert_eq!(&healed, target);
}

#[test]
fn a_diff_undoes_every_kind_of_change() {
    let target = start();
    let mut live = target.clone();
    for text in [
        "kill server-2",
        "hang server-1",
        "slow server-3 200ms",
        "error server-3 0.5",
        "remove server-3",
        "add server",
        "add server",
        "dns nxdomain",
        "kill dns",
        "kill cdn",
        "policy least_connections",
        "cache off",
        "cache capacity 1",
        "cache ttl 5s",
        "rate 150",
        "weight tourists 9",
        "pause",
        "zipf 0.2",
        "keepalive off",
        "latency lb 20ms",
        "latency client 80ms",
        "drop client 1",
        "stateless on",
        "time_scale 4",
        "tls on",
    ] {
        live.apply(&cmd(text));
    }
    assert_ne!(live, target);
    heals(&live, &target);
    // ... and the other way round: the changes are made again.
    heals(&target, &live);
    assert!(target.diff(&target, &Scope::all()).is_empty());
}

#[test]
fn a_restore_limited_to_some_settings_leaves_the_others() {
    let target = start();
    let mut live = target.clone();
    live.apply(&cmd("error server-1 1"));
    live.apply(&cmd("rate 3"));
    let only = Scope::Only(["server-1".to_string()].into());
    let changes = live.diff(&target, &only);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].command, cmd("error server-1 0"));
    assert_eq!(changes[0].words, "server-1 answering without errors");
    assert_eq!(key_of(&cmd("rate 9")).as_deref(), Some("rate"));
    let but = Scope::AllBut(["rate".to_string()].into());
    assert_eq!(live.diff(&target, &but).len(), 1);
    assert_eq!(key_of(&cmd("cache flush")), None);
}

#[test]
fn a_server_removed_and_added_again_keeps_its_number() {
    let mut w = start();
    w.apply(&cmd("remove server-2"));
    assert_eq!(w.free_server_number(), 2);
    w.apply(&cmd("add server"));
    assert!(w.servers.contains_key(&2));
    assert_eq!(w.free_server_number(), 4);
}
