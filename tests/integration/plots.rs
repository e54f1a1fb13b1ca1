//! Integration tests: the plots read at the window sizes a class uses (1280×720, 1920×1080),
//! presentation mode on and off. What is checked is what a reader sees, read back from the
//! painted frame: numbers on every y axis, at least three on every x axis, none cut off or
//! on top of each other, and no text spilling over a plot's edge.

use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hopscope::ui::plots::readout::read_plot;
use hopscope::ui::{AppOptions, HopscopeApp};

use super::gui::{open_window, run_for, scenario};

const PLOTS: [&str; 4] = [
    "plot-hit-ratio",
    "plot-latency",
    "plot-throughput",
    "plot-load",
];

/// Checks every plot at the window's current size and theme.
fn check_plots(h: &Harness<'_, HopscopeApp>, what: &str) {
    let screen = h.ctx.content_rect();
    for name in PLOTS {
        let plot = read_plot(&h.ctx, &h.output().shapes, name)
            .unwrap_or_else(|| panic!("{what}: {name} is drawn"));
        assert!(
            plot.y_ticks.len() >= 2,
            "{what}: {name} shows y numbers, got {:?} in {:?}",
            plot.y_texts(),
            plot.frame
        );
        assert!(
            plot.x_ticks.len() >= 3,
            "{what}: {name} shows three x numbers, got {:?} (frame {:?}, y {:?})",
            plot.x_texts(),
            plot.frame,
            plot.y_texts()
        );
        let problems = plot.problems(screen);
        assert!(problems.is_empty(), "{what}: {name}: {problems:?}");
    }
}

#[test]
fn every_plot_keeps_its_numbers_at_class_sizes_and_projected() {
    let mut h = open_window(scenario(), AppOptions::default());
    // A few seconds closed, so every plot has lines and end labels.
    run_for(&mut h, Duration::from_millis(3500));
    for presentation in [false, true] {
        if presentation {
            // Presentation mode hides the details; the teacher opens them to show a plot.
            h.key_press(egui::Key::P);
            h.run_steps(2);
            h.get_by_label("Details").click();
        }
        for size in [[1280.0, 720.0], [1920.0, 1080.0]] {
            h.set_size(egui::Vec2::from(size));
            h.run_steps(4);
            assert_eq!(h.state().presentation(), presentation);
            check_plots(&h, &format!("{size:?}, presentation {presentation}"));
        }
    }
}
