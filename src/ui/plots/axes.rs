//! Axes that keep their numbers at every size: ticks at "nice" steps (1, 2 or 5 times a
//! power of ten) chosen from the plot's visible range and its size in points, so a small or
//! projected plot gets fewer ticks rather than none; tick labels in the theme's body size;
//! an axis wide enough for its widest label. The y axis always shows at least two numbers,
//! a time axis at least three, and the sweep's server axis one tick per measured count.

use std::ops::RangeInclusive;

use egui::{Id, Rangef, Ui};
use egui_plot::{AxisHints, GridInput, GridMark, Plot};

use crate::ui::theme::Theme;

/// The plot's grid spacing floor in points: `GridInput::base_step_size` is this many
/// points in plot units, which is how a spacer learns the plot's size.
const GRID_MIN_POINTS: f32 = 8.0;

/// The id of the plot named `name` (`plot-latency`, `sweep-latency`), the same wherever it
/// is drawn, so its frame can be looked up (`egui_plot::PlotMemory::load`).
pub fn plot_id(name: &str) -> Id {
    Id::unique(("hopscope plot", name))
}

/// The largest of 1, 2, 5 times a power of ten that is at most `v` (`v` > 0).
pub fn nice_floor(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s <= v * (1.0 + 1e-9))
        .unwrap_or(p)
}

/// The smallest of 1, 2, 5 times a power of ten that is at least `v` (`v` > 0).
pub fn nice_ceil(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= v * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// The top of a y axis showing values up to `max`: 10% headroom, rounded up to a round
/// number, so the top of a short plot carries a label.
pub fn nice_top(max: f64) -> f64 {
    let v = (max * 1.1).max(1.0);
    let step = nice_ceil(v / 5.0);
    (v / step).ceil() * step
}

/// The multiples of `step` within `lo..=hi`.
pub fn tick_values(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// The tick step for a range of `span` plot units over `length` points: labels at least
/// `gap` points apart, but at least `min_ticks` of them as long as they stay `tight` points
/// apart (a label's own size).
pub fn choose_step(span: f64, length: f32, gap: f32, tight: f32, min_ticks: usize) -> f64 {
    if span <= 0.0 || length <= 0.0 {
        return 1.0;
    }
    let per_point = span / f64::from(length);
    let step = nice_ceil(per_point * f64::from(gap));
    let fits = |s: f64| (span / s + 1e-9).floor() as usize + 1;
    if fits(step) >= min_ticks || min_ticks < 2 {
        return step;
    }
    let denser = nice_floor(span / (min_ticks - 1) as f64);
    if denser / per_point >= f64::from(tight) {
        denser
    } else {
        step
    }
}

/// How a tick value reads: as many decimals as its step needs, never `-0`.
pub fn tick_text(value: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let text = format!("{value:.decimals$}");
    if text.trim_start_matches(['-', '0', '.']).is_empty() {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// A value axis (y, or time on x): `gap` and `tight` in points as in [`choose_step`], no
/// step finer than `min_step`.
fn value_spacer<'a>(
    gap: f32,
    tight: f32,
    min_ticks: usize,
    min_step: f64,
) -> impl Fn(GridInput) -> Vec<GridMark> + 'a {
    move |input: GridInput| {
        let (lo, hi) = input.bounds;
        if input.base_step_size <= 0.0 || hi <= lo {
            return Vec::new();
        }
        let length = ((hi - lo) / input.base_step_size) as f32 * GRID_MIN_POINTS;
        let step = choose_step(hi - lo, length, gap, tight, min_ticks).max(min_step);
        tick_values(lo, hi, step)
            .into_iter()
            .map(|value| GridMark {
                value,
                step_size: step,
            })
            .collect()
    }
}

/// The width of `text` in the body font, in points.
fn text_width(ui: &Ui, text: &str) -> f32 {
    let font = egui::TextStyle::Body.resolve(ui.style());
    ui.painter()
        .layout_no_wrap(text.to_string(), font, egui::Color32::WHITE)
        .size()
        .x
}

/// Sets both axes of a plot of values against time: nice ticks on both (whole seconds on
/// x), the y axis wide enough for `y_top`'s label, the x axis titled `x_label`.
pub fn value_axes<'a>(
    plot: Plot<'a>,
    ui: &Ui,
    theme: &Theme,
    x_label: &str,
    x_max: f64,
    y_top: f64,
) -> Plot<'a> {
    let line = theme.body_size * 1.3;
    let widest_y =
        text_width(ui, &tick_text(-y_top.abs().max(1.0), 1.0)).max(text_width(ui, "0.5"));
    let widest_x = text_width(ui, &format!("{:.0}", x_max.abs().max(10.0)));
    let x_axis = AxisHints::new_x()
        .label(x_label.to_string())
        .formatter(|mark: GridMark, _: &RangeInclusive<f64>| tick_text(mark.value, mark.step_size))
        .label_spacing(Rangef::new(1.0, 2.0));
    let y_axis = AxisHints::new_y()
        .formatter(|mark: GridMark, _: &RangeInclusive<f64>| tick_text(mark.value, mark.step_size))
        .min_thickness(widest_y + 10.0)
        .label_spacing(Rangef::new(1.0, 2.0));
    plot.grid_spacing(Rangef::new(GRID_MIN_POINTS, 120.0))
        .x_grid_spacer(value_spacer(
            widest_x + theme.body_size * 1.5,
            widest_x + theme.body_size * 0.4,
            3,
            1.0,
        ))
        .y_grid_spacer(value_spacer(line * 1.4, line, 2, 0.0))
        .custom_x_axes(vec![x_axis])
        .custom_y_axes(vec![y_axis])
}

/// Sets the x axis to server counts: a tick at each of `counts`, every `stride`-th
/// labelled so labels never collide in `width` points; y as in [`value_axes`].
pub fn server_axes<'a>(
    plot: Plot<'a>,
    ui: &Ui,
    theme: &Theme,
    counts: Vec<usize>,
    width: f32,
    y_top: f64,
) -> Plot<'a> {
    let max = counts.iter().copied().max().unwrap_or(1);
    let span = max as f64; // the plot shows 0.5 ..= max + 0.5
    let label = text_width(ui, &max.to_string()) + theme.body_size * 0.8;
    let per_server = width / span.max(1.0) as f32;
    let stride = (label / per_server.max(1.0)).ceil().max(1.0) as usize;
    let labelled = move |n: usize| (n - 1).is_multiple_of(stride);
    let marks: Vec<GridMark> = counts
        .iter()
        .map(|&n| GridMark {
            value: n as f64,
            step_size: if labelled(n) { stride as f64 } else { 1.0 },
        })
        .collect();
    let x_axis = AxisHints::new_x()
        .label("servers")
        .formatter(move |mark: GridMark, _: &RangeInclusive<f64>| {
            if mark.step_size >= stride as f64 && mark.value >= 1.0 {
                format!("{:.0}", mark.value)
            } else {
                String::new()
            }
        })
        .label_spacing(Rangef::new(1.0, 2.0));
    let plot = value_axes(plot, ui, theme, "servers", span, y_top);
    plot.x_grid_spacer(move |_| marks.clone())
        .custom_x_axes(vec![x_axis])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_ceil(0.3), 0.5);
        assert_eq!(nice_ceil(3.0), 5.0);
        assert_eq!(nice_ceil(7.0), 10.0);
        assert_eq!(nice_ceil(20.0), 20.0);
        assert_eq!(nice_floor(7.0), 5.0);
        assert_eq!(nice_floor(0.15), 0.1);
        assert_eq!(nice_floor(20.0), 20.0);
    }

    #[test]
    fn the_top_of_an_axis_is_a_round_number() {
        assert_eq!(nice_top(400.0), 500.0);
        assert_eq!(nice_top(27.0), 30.0);
        assert_eq!(nice_top(0.0), 1.0);
    }

    #[test]
    fn a_short_axis_gets_fewer_ticks_but_at_least_two() {
        // 0..=30 over 60 points, labels 31 points apart: a step of 20 (0 and 20).
        let step = choose_step(30.0, 60.0, 31.0, 22.0, 2);
        assert_eq!(tick_values(-1.0, 30.0, step), vec![0.0, 20.0]);
        // The same over 300 points: a step of 5.
        assert_eq!(choose_step(30.0, 300.0, 31.0, 22.0, 2), 5.0);
    }

    #[test]
    fn a_narrow_time_axis_still_shows_three_ticks_when_they_fit() {
        // 0..=69 s over 190 points; labels wish 53 points apart (a step of 20 gives 4).
        assert_eq!(choose_step(69.0, 190.0, 53.0, 30.0, 3), 20.0);
        // Over 120 points the wish is a step of 50 (two ticks): 20 still fits 30 points.
        assert_eq!(choose_step(69.0, 120.0, 53.0, 30.0, 3), 20.0);
    }

    #[test]
    fn tick_texts_have_the_step_s_decimals_and_no_minus_zero() {
        assert_eq!(tick_text(20.0, 10.0), "20");
        assert_eq!(tick_text(0.5, 0.5), "0.5");
        assert_eq!(tick_text(-0.0, 1.0), "0");
        assert_eq!(tick_text(1.25, 0.05), "1.25");
    }
}
