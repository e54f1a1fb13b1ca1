//! What the window's panels ask for while they draw. Panels never act on the engine or the
//! app directly: they push a `UiCommand`, and the app applies every command once, at the end
//! of the frame (like rerun's `SystemCommand`).

use std::path::PathBuf;

use crate::scenario::Command;
use crate::trace::{Format, TraceId};

use super::live::ScenarioSource;

/// An action found while drawing, applied at the end of the frame.
#[must_use = "a UI command does nothing until the app applies it"]
#[derive(Clone, Debug, PartialEq)]
pub enum UiCommand {
    /// A control command for the engine (the one language shared with the CLI and scenarios).
    Engine(Command),
    /// Pause generated traffic if it flows, resume it if paused.
    TogglePause,
    /// Send one request now (a stepped one in step mode).
    SendOne,
    /// Step mode: let the stepped request take its next hop.
    NextHop,
    /// The lesson's next step (`true`) or previous one (Page Down / Page Up, as a
    /// presenter's clicker sends).
    LessonStep(bool),
    /// Turn step mode on or off (off lets stepped requests run on).
    SetStepMode(bool),
    /// Pick out a request (or none).
    Select(Option<TraceId>),
    /// Run another scenario.
    Open(ScenarioSource),
    /// Open a path typed, pasted or dropped: a built-in name or a file.
    OpenText(String),
    /// Load the current scenario file again.
    Reload,
    SetPresentation(bool),
    /// Animate at 60 frames a second instead of 30 (a preference: costs a busier GPU).
    SetSmoothMotion(bool),
    ToggleFullscreen,
    ShowHelp(bool),
    ShowOpener(bool),
    /// Show or hide the live controls (left).
    ShowControls(bool),
    /// Show or hide the request and totals panels (right and bottom).
    ShowDetails(bool),
    /// Save a PNG of the window (to this file, or a name made up from the time).
    Screenshot(Option<PathBuf>),
    /// Close the scenario error box.
    DismissError,
    /// What the lesson asks of the engine (commands, requests, a restore of the world a
    /// step expects), performed in order.
    Lesson(Vec<crate::lesson::GuideCommand>),
    /// Write the trace so far to a file in this format.
    ExportTrace(Format),
    /// Save the running settings as a scenario file.
    SaveSettings,
    /// Start the current scenario again from scratch.
    ResetRun,
    /// Load a recorded trace and replay it.
    OpenTrace(PathBuf),
    /// Leave the replay and run the last scenario again.
    CloseReplay,
}

/// The commands found during one frame.
#[derive(Debug, Default)]
pub struct Commands(Vec<UiCommand>);

impl Commands {
    /// Queues `command` for the end of the frame.
    pub fn push(&mut self, command: UiCommand) {
        self.0.push(command);
    }

    /// Queues an engine command.
    pub fn engine(&mut self, command: Command) {
        self.0.push(UiCommand::Engine(command));
    }

    /// Takes every queued command, oldest first.
    pub fn take(&mut self) -> Vec<UiCommand> {
        std::mem::take(&mut self.0)
    }

    /// Whether nothing was asked for.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
