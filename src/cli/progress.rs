//! Progress for people: a bar on a terminal, plain lines otherwise, on
//! stderr so stdout stays for results.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

use apctl::import::{Event, Progress};

use super::style::count;

/// Shows import progress.
pub struct Printer {
    bar: Option<ProgressBar>,
    /// Settled and total devices per tenant (and pipe).
    last: Mutex<std::collections::BTreeMap<String, (usize, usize)>>,
    quiet: bool,
    /// Under Azure DevOps: the run's progress as the task's progress, as it
    /// goes (the last percent said).
    azure: Option<Mutex<Option<u64>>>,
}

impl Printer {
    /// A bar on a TTY, lines elsewhere, nothing when `quiet`.
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && super::term::stderr_is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} settled ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        let azure = matches!(
            super::pipeline::Pipeline::detect(),
            Some(super::pipeline::Pipeline::AzureDevOps { .. })
        )
        .then(Mutex::default);
        Self {
            bar,
            last: Mutex::default(),
            quiet,
            azure,
        }
    }

    /// `##vso[task.setprogress]` when the whole run's percent moves: the
    /// pipeline's page shows progress while the run goes, not after it.
    fn task_progress(&self, settled: usize, total: usize, label: &str) {
        let Some(said) = &self.azure else {
            return;
        };
        let percent = (settled * 100).checked_div(total).unwrap_or(0) as u64;
        let mut said = said.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *said == Some(percent) {
            return;
        }
        *said = Some(percent);
        let label = apctl::sanitize::for_pipeline(label, apctl::sanitize::Runner::AzureDevOps)
            .replace(['\r', '\n', ']', ';'], " ");
        let command = format!("##vso[task.setprogress value={percent};]{label}\n");
        let _ = super::term::Commands::new(command).write(super::term::Stream::Stderr);
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.set_message(super::term::display(&text)),
            None if !self.quiet => super::term::err_line(&text),
            None => {}
        }
    }
}

impl Progress for Printer {
    fn event(&self, event: Event) {
        match event {
            // Warnings show even with `--quiet` (it quiets progress), above
            // the bar rather than under it.
            Event::Warning { tenant, message } => {
                let text = apctl::sanitize::clean_line(&format!("warning: {tenant}: {message}"));
                match &self.bar {
                    Some(bar) => bar.println(super::term::display(&text)),
                    None => super::term::err_line(&text),
                }
            }
            Event::LookedUp {
                tenant,
                registered,
                staged,
            } => {
                self.line(format!(
                    "{tenant}: the tenant holds {} and {}",
                    count(registered as u64, "Autopilot device"),
                    count(staged as u64, "staged import")
                ));
            }
            Event::LookedUpBatch {
                tenant,
                registered,
                batch,
                in_batch,
            } => self.line(format!(
                "{tenant}: the tenant holds {}; {} already in device batch {batch}",
                count(registered as u64, "Autopilot device"),
                count(in_batch as u64, "device")
            )),
            Event::Sent { tenant, count: n } => {
                self.line(format!("{tenant}: {} sent", count(n as u64, "device")))
            }
            Event::Settled {
                tenant,
                settled,
                total,
            } => {
                let mut last = self
                    .last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if last.get(&tenant) == Some(&(settled, total)) {
                    return;
                }
                last.insert(tenant.clone(), (settled, total));
                let (all_settled, all_total) = last.values().fold((0, 0), |(s, t), (a, b)| (s + a, t + b));
                let label = if last.len() > 1 {
                    format!("{} customers and pipes", last.len())
                } else {
                    tenant.clone()
                };
                self.task_progress(all_settled, all_total, &label);
                match &self.bar {
                    Some(bar) => {
                        bar.set_length(all_total as u64);
                        bar.set_position(all_settled as u64);
                        bar.set_message(super::term::display(&label));
                    }
                    None if !self.quiet => super::term::err_line(&format!(
                        "{tenant}: {settled} of {} settled",
                        count(total as u64, "device")
                    )),
                    None => {}
                }
            }
        }
    }
}
