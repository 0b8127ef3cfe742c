//! Colour on a terminal, for the human summaries: on only when stdout is a
//! terminal that takes colour, and never with `NO_COLOR` set (anstream's
//! rules, the same clap uses for `--help`). Colours are written as private
//! markers that the one writer (`term::painted`) turns into the terminal's
//! codes after cleaning the text between them.

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
    pub fn for_stdout() -> Self {
        Self {
            // `--color always` (or FORCE_COLOR) wins, even in a pipeline's log.
            on: anstream::ColorChoice::global() == anstream::ColorChoice::Always
                || (super::term::stdout_takes_colour() && super::pipeline::Pipeline::detect().is_none()),
        }
    }

    fn with(self, style: usize, text: &str) -> String {
        if self.on {
            format!("{}{text}{RESET}", MARKS[style])
        } else {
            text.to_owned()
        }
    }

    /// A row's state in the colour of what it means.
    pub fn state(self, e: &Entry) -> String {
        let style = match e.state {
            Some(RegistrationState::RegistrationFailed) => RED,
            Some(RegistrationState::RegistrationPending) => YELLOW,
            Some(_) => GREEN,
            None => MAGENTA,
        };
        self.with(style, &e.state_text())
    }

    /// A heading.
    pub fn bold(self, text: &str) -> String {
        self.with(BOLD, text)
    }

    /// Something to notice: a problem's name.
    pub fn warn(self, text: &str) -> String {
        self.with(WARN, text)
    }
}

const RED: usize = 0;
const YELLOW: usize = 1;
const GREEN: usize = 2;
const MAGENTA: usize = 3;
const BOLD: usize = 4;
const WARN: usize = 5;

/// The markers, one per style (Unicode noncharacters, which no cleaned
/// text holds), and the one that ends a style.
const MARKS: [char; 6] = [
    '\u{fdd0}', '\u{fdd1}', '\u{fdd2}', '\u{fdd3}', '\u{fdd4}', '\u{fdd5}',
];
const RESET: char = '\u{fddf}';

fn style(i: usize) -> Style {
    let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
    match i {
        RED => fg(AnsiColor::Red),
        YELLOW => fg(AnsiColor::Yellow),
        GREEN => fg(AnsiColor::Green),
        MAGENTA => fg(AnsiColor::Magenta),
        BOLD => Style::new().bold(),
        _ => fg(AnsiColor::Yellow).bold(),
    }
}

/// The terminal's code for a marker; `None` for any other character.
pub fn code(c: char) -> Option<String> {
    if c == RESET {
        return Some(anstyle::Reset.render().to_string());
    }
    MARKS
        .iter()
        .position(|m| *m == c)
        .map(|i| style(i).render().to_string())
}

pub use apctl::report::count;
