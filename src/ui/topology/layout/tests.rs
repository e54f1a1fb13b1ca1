//! Tests of the topology layout: where nodes, servers and edges go, as data.

use super::*;

fn metrics() -> Metrics {
    Metrics {
        node_size: vec2(120.0, 52.0),
        line_height: 18.0,
        dot_radius: 4.0,
        queue_spacing: 2.5,
    }
}

fn specs(servers: u16, cdn: bool) -> Vec<NodeSpec> {
    let mut v = vec![
        NodeSpec::new(NodeId::Clients(0), "browser", vec!["20 clients".into()]),
        NodeSpec::new(NodeId::Clients(1), "mobile", vec!["10 clients".into()]),
        NodeSpec::new(NodeId::Outside, "outside tools", vec!["curl, dig".into()]),
        NodeSpec::new(NodeId::Dns, "DNS stub", vec!["127.0.0.1:5353".into()]),
        NodeSpec::new(NodeId::Lb, "load balancer", vec!["127.0.0.1:8002".into()]),
        NodeSpec::new(NodeId::Db, "database", vec!["SQLite".into()]),
    ];
    if cdn {
        v.push(NodeSpec::new(
            NodeId::Cdn,
            "CDN",
            vec!["127.0.0.1:8001".into()],
        ));
    }
    for n in 1..=servers {
        v.push(NodeSpec::new(
            NodeId::Server(n),
            format!("server-{n}"),
            vec![format!("127.0.0.1:{}", 9000 + n), "idle".into()],
        ));
    }
    v
}

fn canvas() -> Rect {
    Rect::from_min_size(Pos2::ZERO, vec2(900.0, 700.0))
}

#[test]
fn every_node_is_placed_inside_the_canvas_without_overlap() {
    for servers in [1, 3, 8, 13] {
        let model = place(specs(servers, true), canvas(), &metrics());
        assert_eq!(model.servers().count(), servers as usize);
        for (i, a) in model.nodes.iter().enumerate() {
            assert!(
                canvas().contains_rect(a.rect),
                "{:?} at {:?} is outside with {servers} servers",
                a.spec.id,
                a.rect
            );
            for b in &model.nodes[i + 1..] {
                assert!(
                    !a.rect.intersects(b.rect),
                    "{:?} and {:?} overlap with {servers} servers",
                    a.spec.id,
                    b.spec.id
                );
            }
        }
    }
}

#[test]
fn a_short_canvas_leaves_a_line_for_the_cache_strip_between_dns_and_cdn() {
    let m = metrics();
    for height in [330.0, 400.0, 700.0] {
        let canvas = Rect::from_min_size(pos2(0.0, 0.0), vec2(600.0, height));
        let model = place(specs(3, true), canvas, &m);
        let (dns, cdn) = (model.rect(NodeId::Dns), model.rect(NodeId::Cdn));
        let gap = cdn.map_or(0.0, |r| r.top()) - dns.map_or(0.0, |r| r.bottom());
        assert!(
            gap >= m.line_height * 1.2,
            "{gap} between the DNS stub and the CDN at height {height}"
        );
    }
}

#[test]
fn a_canvas_too_short_for_its_nodes_is_said_not_to_fit() {
    let m = metrics();
    let roomy = Rect::from_min_size(pos2(0.0, 0.0), vec2(900.0, 700.0));
    assert!(place(specs(3, true), roomy, &m).fits(roomy));
    let short = Rect::from_min_size(pos2(0.0, 0.0), vec2(900.0, 250.0));
    assert!(!place(specs(3, true), short, &m).fits(short));
}

#[test]
fn the_journey_reads_left_to_right_then_down() {
    let model = place(specs(3, true), canvas(), &metrics());
    let x = |id| model.rect(id).map(|r| r.center().x).unwrap_or(f32::NAN);
    let y = |id| model.rect(id).map(|r| r.center().y).unwrap_or(f32::NAN);
    assert!(x(NodeId::Clients(0)) < x(NodeId::Cdn));
    assert!(x(NodeId::Cdn) < x(NodeId::Lb));
    assert!(y(NodeId::Dns) < y(NodeId::Cdn));
    assert!(y(NodeId::Lb) < y(NodeId::Server(1)));
    assert!(y(NodeId::Server(1)) < y(NodeId::Db));
    // Servers share a row and have room for a queue above them.
    assert_eq!(y(NodeId::Server(1)), y(NodeId::Server(3)));
    assert!(model.servers().all(|s| s.stack_room >= 4));
}

#[test]
fn edges_follow_the_topology_and_the_edge_is_the_lb_without_a_cdn() {
    let model = place(specs(2, false), canvas(), &metrics());
    assert_eq!(model.edge_node, Some(NodeId::Lb));
    assert!(model.edges.contains(&(NodeId::Clients(0), NodeId::Lb)));
    assert!(model.edges.contains(&(NodeId::Outside, NodeId::Lb)));
    assert!(model.edges.contains(&(NodeId::Lb, NodeId::Server(2))));
    assert!(model.edges.contains(&(NodeId::Server(1), NodeId::Db)));
    assert!(
        !model
            .edges
            .iter()
            .any(|(a, b)| *a == NodeId::Cdn || *b == NodeId::Cdn)
    );
}

#[test]
fn segments_start_and_end_on_node_borders_with_separate_lanes() {
    let model = place(specs(3, true), canvas(), &metrics());
    let (a, b) = model
        .segment(NodeId::Cdn, NodeId::Lb, 0.0)
        .expect("both nodes exist");
    let cdn = model.rect(NodeId::Cdn).expect("cdn");
    let lb = model.rect(NodeId::Lb).expect("lb");
    assert!((a.x - cdn.right()).abs() < 0.5, "{a:?} {cdn:?}");
    assert!((b.x - lb.left()).abs() < 0.5, "{b:?} {lb:?}");
    let (out, _) = model.segment(NodeId::Cdn, NodeId::Lb, 3.0).expect("out");
    let (_, back) = model.segment(NodeId::Lb, NodeId::Cdn, 3.0).expect("back");
    assert!(
        (out.y - back.y).abs() > 5.0,
        "lanes apart: {out:?} {back:?}"
    );
    assert_eq!(model.segment(NodeId::Cdn, NodeId::Server(9), 0.0), None);
}

#[test]
fn accessible_labels_name_the_kind_the_address_and_a_problem() {
    let mut s = NodeSpec::new(NodeId::Server(2), "server-2", vec!["127.0.0.1:9".into()]);
    s.health = Health::Down;
    assert_eq!(
        s.accessible_label(),
        "Server node server-2, 127.0.0.1:9, × down"
    );
}
