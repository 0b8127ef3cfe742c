//! Colour on a terminal, for the human summaries: on only when stdout is a
//! terminal that takes colour, and never with `NO_COLOR` set (anstream's
//! rules, the same clap uses for `--help`).

use anstyle::{AnsiColor, Style};

use apctl::portal::state::RegistrationState;
use apctl::report::Entry;

/// Paints text, or leaves it plain.
#[derive(Clone, Copy, Debug)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Colour when stdout takes it.
    pub fn stdout() -> Self {
        let choice = anstream::AutoStream::choice(&std::io::stdout());
        Self {
            on: choice != anstream::ColorChoice::Never && super::pipeline::Pipeline::detect().is_none(),
        }
    }

    fn with(self, style: Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    /// A row's state in the colour of what it means.
    pub fn state(self, e: &Entry) -> String {
        let colour = match e.state {
            Some(RegistrationState::RegistrationFailed) => AnsiColor::Red,
            Some(RegistrationState::RegistrationPending) => AnsiColor::Yellow,
            Some(_) => AnsiColor::Green,
            None => AnsiColor::Magenta,
        };
        self.with(Style::new().fg_color(Some(colour.into())), &e.state_text())
    }

    /// A heading.
    pub fn bold(self, text: &str) -> String {
        self.with(Style::new().bold(), text)
    }

    /// Something to notice: a problem's name.
    pub fn warn(self, text: &str) -> String {
        self.with(Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold(), text)
    }
}

pub use apctl::report::count;
