//! Integration tests: the window at the sizes a class projects it (1280×720, 1920×1080),
//! presentation mode on and off, with the default lesson open. Read back from the painted
//! frame: every node's address is drawn whole inside the window (the port a learner types
//! into `dig` or `curl`), no word on the canvas is cut with an ellipsis, and the lesson's Next
//! button is inside the window.

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, Queryable};
use hopscope::scenario::resolve;
use hopscope::ui::plots::readout::{PaintedText, painted_texts};
use hopscope::ui::{AppOptions, HopscopeApp};

use super::gui::{open_window, wait_for};

/// The projectors and screens a class meets.
const SIZES: [[f32; 2]; 4] = [
    [1280.0, 720.0],
    [1366.0, 768.0],
    [1920.0, 1080.0],
    [2560.0, 1440.0],
];

/// The addresses a learner may need to read off the canvas.
fn addresses(app: &HopscopeApp) -> Vec<String> {
    let live = app.live().expect("the run is live");
    let a = &live.addresses;
    let mut out = vec![a.dns.clone(), a.lb.clone()];
    out.extend(a.cdn.clone());
    out.extend(live.snapshot.servers.iter().map(|s| s.address.clone()));
    out
}

/// Checks the frame as drawn at the window's current size and theme.
fn check_frame(h: &Harness<'_, HopscopeApp>, what: &str) {
    let screen = h.ctx.content_rect();
    let texts = painted_texts(&h.output().shapes);
    let whole = |t: &PaintedText| {
        let inside = |r: egui::Rect| r.expand(1.0).contains_rect(t.rect);
        inside(screen) && inside(t.clip)
    };
    for address in addresses(h.state()) {
        assert!(
            texts.iter().any(|t| t.text == address && whole(t)),
            "{what}: {address} is drawn whole; texts with its port: {:?}",
            texts
                .iter()
                .filter(|t| t.text.contains(address.rsplit(':').next().unwrap_or("")))
                .collect::<Vec<_>>()
        );
    }
    let canvas = h.state().canvas().area;
    let cut: Vec<&PaintedText> = texts
        .iter()
        .filter(|t| canvas.intersects(t.rect) && t.text.contains('…'))
        .collect();
    assert!(cut.is_empty(), "{what}: words cut on the canvas: {cut:?}");
    let next = h.get_by_role_and_label(Role::Button, "Next").rect();
    assert!(
        screen.contains_rect(next),
        "{what}: the lesson's Next button {next:?} is inside the window {screen:?}"
    );
}

#[test]
fn addresses_and_the_lessons_next_button_fit_at_class_sizes_and_projected() {
    let (scenario, _) = resolve("default").expect("the default scenario loads");
    let mut h = open_window(scenario, AppOptions::default());
    wait_for(&mut h, "every server drawn with its address", |a| {
        a.live()
            .is_some_and(|l| !l.snapshot.servers.is_empty() && a.servers_in_view() > 0)
    });
    // Nothing is picked yet: the step says how to pick a request, not "the selected one".
    h.get_by_label_contains("click any dot to pick it");
    for presentation in [false, true] {
        if h.state().presentation() != presentation {
            h.key_press(egui::Key::P);
        }
        for size in SIZES {
            h.set_size(egui::Vec2::from(size));
            h.run_steps(4);
            let what = format!("{size:?}, presentation {presentation}");
            assert_eq!(h.state().presentation(), presentation, "{what}");
            check_frame(&h, &what);
        }
    }
}

#[test]
fn the_inspector_beside_the_lesson_fits_its_panel_and_leaves_the_canvas_whole() {
    let (scenario, _) = resolve("default").expect("the default scenario loads");
    let mut h = open_window(scenario, AppOptions::default());
    // Some requests, then a pause, so the list holds still under the pointer.
    wait_for(&mut h, "ten requests ended", |a| {
        a.live().is_some_and(|l| l.snapshot.recent.len() >= 10)
    });
    h.get_by_role_and_label(Role::Button, "Pause").click();
    for size in SIZES {
        h.set_size(egui::Vec2::from(size));
        // Laid out at the new size before anything is clicked.
        h.run_steps(3);
        // Wait for exactly what is clicked: a row that says 200 OK.
        let deadline = Instant::now() + Duration::from_secs(15);
        let row = || By::new().role(Role::Button).label_contains("200 OK");
        while h.query_all(row()).next().is_none() {
            assert!(Instant::now() < deadline, "a 200 OK request is listed");
            h.step();
            std::thread::sleep(Duration::from_millis(15));
        }
        h.query_all(row())
            .next()
            .expect("a finished request is listed")
            .click();
        h.run_steps(4);
        let what = format!("{size:?}, a request inspected");
        assert!(
            h.state().selected().is_some(),
            "{what}: a request is picked"
        );
        let screen = h.ctx.content_rect();
        let close = h.get_by_role_and_label(Role::Button, "Close").rect();
        let canvas = h.state().canvas().area;
        assert!(
            screen.contains_rect(close),
            "{what}: Close {close:?} is inside the window"
        );
        let heading = h.get_by_label("Timing waterfall").rect();
        assert!(
            canvas.right() <= heading.left(),
            "{what}: the canvas {canvas:?} stops before the inspector's views {heading:?}"
        );
        // Nothing in the inspector runs off its panel's sides.
        let spilled: Vec<PaintedText> = painted_texts(&h.output().shapes)
            .into_iter()
            .filter(|t| t.clip.left() >= canvas.right() - 1.0 && t.clip.top() < canvas.bottom())
            .filter(|t| t.rect.top() < t.clip.bottom() && t.rect.bottom() > t.clip.top())
            .filter(|t| {
                t.rect.left() < t.clip.left() - 1.0
                    || t.rect.right() > t.clip.right().min(screen.right()) + 1.0
            })
            .collect();
        assert!(
            spilled.is_empty(),
            "{what}: cut at the inspector's sides: {spilled:?}"
        );
        check_frame(&h, &what);
        h.get_by_role_and_label(Role::Button, "Close").click();
        h.run_steps(2);
    }
}
