//! Applying the frame's commands: window commands here, engine commands through the
//! session (never waiting), and opening scenarios. Part of `HopscopeApp`.

use std::path::PathBuf;

use super::HopscopeApp;
use crate::engine::{Answer, Reply};
use crate::scenario::{self, Command};
use crate::ui::command::UiCommand;
use crate::ui::live::ScenarioSource;
use crate::ui::screenshot;
use crate::ui::step::StepMode;
use crate::ui::theme::Theme;

impl HopscopeApp {
    pub(super) fn apply(&mut self, ctx: &egui::Context, command: UiCommand) {
        match command {
            UiCommand::Open(source) => self.open(source),
            UiCommand::OpenText(text) if super::files::is_trace(std::path::Path::new(&text)) => {
                self.opener.open = false;
                self.open_trace(PathBuf::from(text));
            }
            UiCommand::OpenText(text) => {
                let source = if scenario::builtin(&text).is_some() {
                    ScenarioSource::Builtin(text)
                } else {
                    ScenarioSource::File(PathBuf::from(text))
                };
                self.open(source);
            }
            UiCommand::Reload => {
                if let Some(source) = self.session.as_ref().map(|s| s.source.clone())
                    && matches!(source, ScenarioSource::File(_))
                {
                    self.open(source);
                }
            }
            UiCommand::SetPresentation(on) => {
                self.theme = if on {
                    Theme::presentation()
                } else {
                    Theme::normal()
                };
                self.prefs.presentation = on;
                self.prefs_dirty = true;
                // A projector needs the canvas big; the panels are a click away. A lesson
                // stays: the class follows it.
                self.show_controls = !on || self.docks.guide.is_some();
                self.show_details = !on;
            }
            UiCommand::SetSmoothMotion(on) => {
                self.prefs.smooth_motion = on;
                self.prefs_dirty = true;
            }
            UiCommand::ToggleFullscreen => {
                let full = ctx.input(|i| i.viewport().fullscreen.unwrap_or(false));
                ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(!full));
            }
            UiCommand::ShowHelp(on) => self.help_open = on,
            UiCommand::ShowOpener(on) => self.opener.open = on,
            UiCommand::ShowControls(on) => self.show_controls = on,
            UiCommand::ShowDetails(on) => self.show_details = on,
            UiCommand::Screenshot(path) => {
                let name = self.live.as_ref().map_or("window", |l| l.name.as_str());
                let path =
                    path.unwrap_or_else(|| screenshot::default_path(&self.options.save_dir, name));
                self.screenshots.request(ctx, path);
            }
            UiCommand::DismissError => self.error = None,
            UiCommand::Select(id) => self.selected = id,
            UiCommand::ExportTrace(format) => self.export_trace(format),
            UiCommand::SaveSettings => self.save_settings(),
            UiCommand::ResetRun => self.reset_run(),
            UiCommand::OpenTrace(path) => self.open_trace(path),
            UiCommand::CloseReplay => self.close_replay(),
            UiCommand::LessonStep(forward) => {
                if let Some(guide) = &mut self.docks.guide {
                    guide.turn(forward);
                }
            }
            UiCommand::TogglePause if self.replay.is_some() => {
                if let Some(r) = &mut self.replay {
                    r.playing = !r.playing;
                }
            }
            UiCommand::NextHop if self.replay.is_some() => {
                if let Some(r) = &mut self.replay {
                    r.step_hop(true);
                }
            }
            other => self.apply_to_engine(other),
        }
    }

    /// Commands that act on the running engine: each goes out on its control channel, and
    /// what it did is told when its answer arrives (`take_answers`).
    fn apply_to_engine(&mut self, command: UiCommand) {
        let (Some(session), Some(live)) = (&mut self.session, &self.live) else {
            self.log.error("no scenario is running");
            return;
        };
        let sent = match command {
            UiCommand::Engine(c) => session.send(c),
            UiCommand::Lesson(ops) => session.submit(ops),
            UiCommand::TogglePause => session.send(if live.paused {
                Command::Resume
            } else {
                Command::Pause
            }),
            UiCommand::SendOne if self.step.on => {
                if self.step.can_send(live) {
                    session.send_one(true)
                } else {
                    self.log
                        .error("the stepped request is still on its way: press Next hop");
                    Ok(())
                }
            }
            UiCommand::SendOne => session.send_one(false),
            UiCommand::NextHop => {
                if !self.step.on {
                    self.log.error("Next hop works in step mode (press s)");
                    Ok(())
                } else if let Some(j) = self.step.journey(live).filter(|_| self.step.can_step(live))
                {
                    let hops = j.arrivals.len();
                    self.step.stepped_at(hops);
                    session.step()
                } else {
                    if self.step.stepped.is_none() {
                        self.log.error("send a request first (key r)");
                    }
                    Ok(())
                }
            }
            UiCommand::SetStepMode(true) if !self.step.on => {
                self.step.on = true;
                self.step.resume_after = !live.paused;
                if live.paused {
                    Ok(())
                } else {
                    session.send(Command::Pause)
                }
            }
            UiCommand::SetStepMode(false) if self.step.on => {
                let resume = self.step.resume_after;
                self.step = StepMode::default();
                session.release_steps().and_then(|()| {
                    if resume {
                        session.send(Command::Resume)
                    } else {
                        Ok(())
                    }
                })
            }
            _ => Ok(()),
        };
        if let Err(e) = sent {
            self.log.error(e.to_string());
        }
    }

    /// Tells what the engine did with what the window sent, in the order it was sent.
    /// Returns whether a command changed the running world.
    pub(super) fn take_answers(&mut self) -> bool {
        let Some(session) = &mut self.session else {
            return false;
        };
        let mut changed = false;
        for answer in session.answers() {
            match answer {
                Answer::Applied(Reply {
                    result: Ok(applied),
                    ..
                }) => {
                    changed = true;
                    self.log.info(applied.message);
                }
                Answer::Applied(Reply {
                    command,
                    result: Err(why),
                }) => self.log.error(format!("{command}: {why}")),
                Answer::Restored { tag, restored } => {
                    if let Some(guide) = &mut self.docks.guide {
                        guide.restored(tag, &restored);
                    }
                }
                Answer::Planned {
                    id: Some(id),
                    stepped: true,
                } => {
                    self.step.sent(id);
                    self.selected = Some(id);
                    self.log
                        .info(format!("sent request {} in step mode", id.short()));
                }
                Answer::Planned {
                    id: Some(id),
                    stepped: false,
                } => self.log.info(format!("sent request {}", id.short())),
                Answer::Planned { id: None, .. }
                | Answer::Sent(_)
                | Answer::Stepped
                | Answer::Released => {}
            }
        }
        if changed {
            session.refresh_addresses();
        }
        changed
    }

    /// Loads `source` and runs it; a problem is shown in the window.
    pub(super) fn open(&mut self, source: ScenarioSource) {
        self.opener.open = false;
        let loaded = match &source {
            ScenarioSource::Builtin(name) => scenario::resolve(name).map(|(s, _)| s),
            ScenarioSource::File(path) => scenario::load(path),
            ScenarioSource::Inline => return,
        };
        match loaded {
            Ok(s) => self.run_scenario(s, source),
            Err(e) => {
                self.log.error(format!("{} has problems", source.label()));
                self.error = Some(e.to_string());
            }
        }
    }
}
