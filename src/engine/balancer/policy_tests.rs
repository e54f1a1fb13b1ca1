//! Tests of `policy.rs`: behaviour a user of the component would notice.
use super::*;
use proptest::prelude::*;
use rand::SeedableRng;

fn cand(number: u32, weight: u32, active: u32) -> Candidate<'static> {
    let name = Box::leak(format!("server-{number}").into_boxed_str());
    let eligible = true;
    Candidate {
        name,
        number,
        weight,
        active,
        eligible,
    }
}

/// Servers 1..=n, weight 1, idle, eligible.
fn fleet(n: u32) -> Vec<Candidate<'static>> {
    (1..=n).map(|k| cand(k, 1, 0)).collect()
}

/// Servers 1.. with these requests in progress.
fn busy(active: &[u32]) -> Vec<Candidate<'static>> {
    (1..).zip(active).map(|(k, &a)| cand(k, 1, a)).collect()
}

fn picker(policy: Policy) -> Picker {
    Picker::new(policy, StdRng::seed_from_u64(7))
}

fn pick_at(p: &mut Picker, c: &[Candidate<'_>], key: &str, now: u64) -> u32 {
    p.pick(c, key, now).choice().expect("a backend").number
}

fn picks(p: &mut Picker, c: &[Candidate<'_>], n: usize) -> Vec<u32> {
    (0..n).map(|_| pick_at(p, c, "client", 0)).collect()
}

fn count(seq: &[u32], n: u32) -> usize {
    seq.iter().filter(|&&x| x == n).count()
}

#[test]
fn round_robin_cycles_evenly() {
    let mut p = picker(Policy::RoundRobin);
    assert_eq!(picks(&mut p, &fleet(3), 9), [1, 2, 3, 1, 2, 3, 1, 2, 3]);
    let reason = "server-1: next in turn (round robin over 3 healthy servers)";
    assert_eq!(p.pick(&fleet(3), "x", 0).reason(), reason);
}

#[test]
fn weighted_round_robin_is_proportional_and_smooth() {
    let mut p = picker(Policy::WeightedRoundRobin);
    let c = vec![cand(1, 5, 0), cand(2, 1, 0), cand(3, 1, 0)];
    let seq = picks(&mut p, &c, 700);
    // nginx's interleaving for weights 5, 1, 1: a a b a c a a, then again.
    assert_eq!(seq[..7], [1, 1, 2, 1, 3, 1, 1]);
    assert_eq!([1, 2, 3].map(|n| count(&seq, n)), [500, 100, 100]);
    let longest = seq.chunk_by(|a, b| a == b).map(<[u32]>::len).max();
    assert_eq!(longest, Some(4), "a plain rotation would give 5 in a row");
    let reason = "server-1: its turn by weight (5 of a total 7, smooth weighted round robin)";
    assert_eq!(p.pick(&c, "x", 0).reason(), reason);
}

#[test]
fn least_connections_picks_the_least_busy_and_rotates_ties() {
    let mut p = picker(Policy::LeastConnections);
    let reason = "server-2: 1 request in progress, fewest of 3 healthy servers";
    assert_eq!(p.pick(&busy(&[3, 1, 2]), "x", 0).reason(), reason);
    assert_eq!(picks(&mut p, &fleet(3), 4), [3, 1, 2, 3], "idle: in turn");
    let tied = p.pick(&fleet(3), "x", 0);
    assert!(tied.reason().contains("tied with 2 others"));
}

#[test]
fn power_of_two_prefers_the_less_busy_of_its_two_samples() {
    let mut p = picker(Policy::PowerOfTwo);
    let c = busy(&[0, 1, 2, 3]);
    let active = |n: &str| c.iter().find(|k| k.name == n).expect("known").active;
    let mut seq = Vec::new();
    for _ in 0..1200 {
        let pick = p.pick(&c, "x", 0);
        let names = pick.reason().split_once(':').expect("reason").0;
        let (won, lost) = names.split_once(" over ").expect("two names");
        assert!(active(won) < active(lost), "{}", pick.reason());
        seq.push(pick.choice().expect("picked").number);
    }
    assert_eq!(count(&seq, 4), 0, "the busiest never wins");
    // Expected shares: 1/2, 1/3, 1/6.
    assert!((520..680).contains(&count(&seq, 1)), "{}", count(&seq, 1));
    assert!(count(&seq, 2) > count(&seq, 3) + 100);
    let again = picks(&mut picker(Policy::PowerOfTwo), &c, 1200);
    assert_eq!(again, seq, "same seed, same picks");
}

#[test]
fn random_is_uniform_and_reproducible() {
    let seq = picks(&mut picker(Policy::Random), &fleet(4), 4000);
    for n in 1..=4 {
        assert!((850..1150).contains(&count(&seq, n)), "server-{n}");
    }
    assert_eq!(picks(&mut picker(Policy::Random), &fleet(4), 4000), seq);
}

#[test]
fn peak_ewma_avoids_a_slow_server_and_tries_it_again_later() {
    let mut p = picker(Policy::PeakEwma);
    let c = fleet(3);
    let t1 = 1_000_000;
    for n in 1..=3 {
        p.observe(n, if n == 3 { 100_000 } else { 5_000 }, t1);
    }
    let seq: Vec<u32> = (0..50).map(|_| pick_at(&mut p, &c, "x", t1)).collect();
    assert_eq!(count(&seq, 3), 0, "the 100 ms server is avoided");
    assert_eq!(count(&seq, 1), 25, "equals take turns");
    let reason = "server-2: lowest load score 5.0 ms = (0 in progress + 1) x 5.0 ms \
                  peak-EWMA latency; next best server-1 at 10.0 ms";
    assert_eq!(p.pick(&busy(&[1, 0, 0]), "x", t1).reason(), reason);
    p.observe(1, 50_000, t1);
    assert_eq!(
        p.latency_estimate_micros(1, t1),
        Some(50_000.0),
        "a peak counts at once"
    );
    // 40 s later server-3's old estimate has decayed below the others' fresh 5 ms.
    let t2 = t1 + 40_000_000;
    p.observe(1, 5_000, t2);
    p.observe(2, 5_000, t2);
    assert_eq!(pick_at(&mut p, &c, "x", t2), 3);
    p.observe(3, 4_000, t2);
    let seq: Vec<u32> = (0..5).map(|_| pick_at(&mut p, &c, "x", t2)).collect();
    assert_eq!(
        seq, [3; 5],
        "recovered: now the fastest (and idle in this test)"
    );
}

#[test]
fn peak_ewma_gives_a_new_server_the_mean_of_the_others() {
    let mut p = picker(Policy::PeakEwma);
    p.observe(1, 2_000, 0);
    p.observe(2, 4_000, 0);
    let c = vec![cand(1, 1, 5), cand(2, 1, 5), cand(9, 1, 0)];
    assert_eq!(pick_at(&mut p, &c, "x", 0), 9);
    assert_eq!(p.latency_estimate_micros(9, 0), Some(3_000.0));
}

#[test]
fn client_hash_is_sticky_and_removal_moves_only_that_servers_clients() {
    let mut p = picker(Policy::ClientHash);
    let c = fleet(5);
    let clients: Vec<String> = (0..300).map(|k| format!("browser-{k}")).collect();
    let home: Vec<u32> = clients.iter().map(|k| pick_at(&mut p, &c, k, 0)).collect();
    for n in 1..=5 {
        assert!(count(&home, n) > 30, "server-{n} gets a share");
    }
    let again: Vec<u32> = clients.iter().map(|k| pick_at(&mut p, &c, k, 0)).collect();
    assert_eq!(home, again, "each client stays on its server");
    let without_3: Vec<_> = c.iter().copied().filter(|k| k.number != 3).collect();
    for (key, &was) in clients.iter().zip(&home) {
        let now = pick_at(&mut p, &without_3, key, 0);
        assert!(
            now == was || (was == 3 && now != 3),
            "{key} moved from {was} to {now}"
        );
    }
    let (key, _) = clients
        .iter()
        .zip(&home)
        .find(|(_, h)| **h == 3)
        .expect("on 3");
    let reason = format!("server-3: client {key} hashes to it (sticky)");
    assert_eq!(p.pick(&c, key, 0).reason(), reason);
    let mut down = c.clone();
    down[2].eligible = false;
    let fallback = p.pick(&down, key, 0);
    assert!(
        fallback
            .reason()
            .contains("hashes to server-3, which is out of rotation")
    );
}

#[test]
fn ineligible_backends_are_never_picked() {
    let mut c = fleet(4);
    c[1].eligible = false;
    c[3].weight = 3;
    for policy in Policy::ALL {
        let mut p = picker(policy);
        for k in 0..200 {
            assert_ne!(pick_at(&mut p, &c, &format!("c{k}"), k), 2, "{policy}");
        }
    }
}

#[test]
fn no_eligible_backend_is_a_503_with_a_reason() {
    let mut c = fleet(3);
    c.iter_mut().for_each(|k| k.eligible = false);
    for policy in Policy::ALL {
        let mut p = picker(policy);
        let pick = p.pick(&c, "x", 0);
        assert!(pick.choice().is_none());
        let reason = "no healthy backend: all 3 servers are unhealthy or ejected";
        assert_eq!(pick.reason(), reason);
        assert!(
            p.pick(&[], "x", 0)
                .reason()
                .contains("there are no servers")
        );
    }
}

#[test]
fn picks_stay_valid_when_servers_come_and_go() {
    let mut p = picker(Policy::RoundRobin);
    assert_eq!(picks(&mut p, &fleet(3), 2), [1, 2]);
    let changed = vec![cand(1, 1, 0), cand(2, 1, 0), cand(4, 1, 0)];
    assert_eq!(picks(&mut p, &changed, 4), [4, 1, 2, 4]);
    assert_eq!(
        picks(&mut p, &fleet(1), 2),
        [1, 1],
        "turn beyond the only server"
    );

    let mut w = picker(Policy::WeightedRoundRobin);
    let _ = picks(&mut w, &[cand(1, 5, 0), cand(2, 1, 0), cand(3, 1, 0)], 3);
    let seq = picks(&mut w, &[cand(3, 1, 0), cand(2, 1, 0)], 6);
    assert_eq!([2, 3].map(|n| count(&seq, n)), [3, 3], "no leftover scores");
}

#[test]
fn changing_the_policy_live_takes_effect_at_once() {
    let mut p = picker(Policy::RoundRobin);
    let c = busy(&[4, 0, 9]);
    assert_eq!(picks(&mut p, &c, 3), [1, 2, 3]);
    p.set_policy(Policy::LeastConnections);
    assert_eq!(picks(&mut p, &c, 3), [2, 2, 2]);
    let policy = p.pick(&c, "x", 0).choice().map(|k| k.policy);
    assert_eq!(policy, Some(Policy::LeastConnections));
}

#[derive(Clone, Debug)]
enum Op {
    Add,
    Remove(usize),
    Toggle(usize),
    Busy(usize, u32),
    Observe(usize, u64),
    Policy(usize),
    Pick(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Add),
        1 => any::<usize>().prop_map(Op::Remove),
        2 => any::<usize>().prop_map(Op::Toggle),
        2 => (any::<usize>(), 0..5u32).prop_map(|(i, a)| Op::Busy(i, a)),
        1 => (any::<usize>(), 0..200_000u64).prop_map(|(i, l)| Op::Observe(i, l)),
        1 => any::<usize>().prop_map(Op::Policy),
        8 => any::<u8>().prop_map(Op::Pick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Round robin passes every eligible backend before coming back to any (backend
    /// numbers are never reused here), so none waits more picks than there have been
    /// backends.
    #[test]
    fn picks_are_always_eligible_and_round_robin_starves_no_one(
        seed in any::<u64>(),
        start in 0..Policy::ALL.len(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let mut p = Picker::new(Policy::ALL[start], StdRng::seed_from_u64(seed));
        let (mut c, mut created) = (fleet(3), 3);
        // Round-robin picks each backend has waited since it was last picked (or
        // became eligible, or round robin was chosen).
        let mut waiting: BTreeMap<u32, u32> = BTreeMap::new();
        for (t, op) in ops.into_iter().enumerate() {
            let now = t as u64 * 1_000;
            let len = c.len();
            let at = |i: usize| (len > 0).then(|| i % len);
            match op {
                Op::Add => {
                    created += 1;
                    c.push(cand(created, 1 + created % 3, 0));
                }
                Op::Remove(i) => if let Some(i) = at(i) {
                    waiting.remove(&c[i].number);
                    p.forget(c.remove(i).number);
                },
                Op::Toggle(i) => if let Some(i) = at(i) {
                    c[i].eligible = !c[i].eligible;
                    waiting.remove(&c[i].number);
                },
                Op::Busy(i, a) => if let Some(i) = at(i) { c[i].active = a },
                Op::Observe(i, l) => if let Some(i) = at(i) { p.observe(c[i].number, l, now) },
                Op::Policy(k) => {
                    p.set_policy(Policy::ALL[k % Policy::ALL.len()]);
                    waiting.clear();
                }
                Op::Pick(key) => match p.pick(&c, &format!("client-{key}"), now) {
                    Pick::Backend(choice) => {
                        let chosen = c.get(choice.index).expect("index in range");
                        prop_assert_eq!(chosen.number, choice.number);
                        prop_assert!(chosen.eligible, "picked an ineligible backend");
                        prop_assert!(choice.reason.starts_with(chosen.name));
                        if p.policy() != Policy::RoundRobin {
                            continue;
                        }
                        for k in c.iter().filter(|k| k.eligible) {
                            let w = waiting.entry(k.number).or_insert(0);
                            *w = if k.number == choice.number { 0 } else { *w + 1 };
                            prop_assert!(*w < created, "server-{} starved", k.number);
                        }
                    }
                    Pick::NoHealthyBackend { .. } => {
                        prop_assert!(c.iter().all(|k| !k.eligible));
                    }
                },
            }
        }
    }
}
