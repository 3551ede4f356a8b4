//! Where a new password comes from: asked on the terminal (twice, nothing echoed), read
//! from standard input (`--password-stdin`, for scripts and secret stores), or given on
//! the command line (still accepted, but visible to every user of the machine in the
//! process list and kept in shell histories).

use crate::error::CtlError;
use std::io::{BufRead, ErrorKind, IsTerminal};

/// How the password of a `user add` or `user passwd` is obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordInput {
    /// Given as an argument.
    Given(String),
    /// The first line of standard input.
    Stdin,
    /// Asked on the terminal, twice.
    Prompt,
}

impl PasswordInput {
    /// From the command line: the argument when there is one, else standard input when
    /// `--password-stdin`, else the prompt.
    pub fn new(argument: Option<String>, stdin: bool) -> PasswordInput {
        match (argument, stdin) {
            (Some(password), _) => PasswordInput::Given(password),
            (None, true) => PasswordInput::Stdin,
            (None, false) => PasswordInput::Prompt,
        }
    }

    /// The password for `address`; never empty. Every failure says that nothing was
    /// changed, since the password is read before anything is written.
    pub fn read(&self, address: &str) -> Result<String, CtlError> {
        let password = match self {
            PasswordInput::Given(password) => password.clone(),
            PasswordInput::Stdin => first_line(std::io::stdin().lock())?,
            PasswordInput::Prompt => prompt_twice(address)?,
        };
        if password.is_empty() {
            return Err(CtlError::Invalid(
                "the password is empty; nothing changed".to_owned(),
            ));
        }
        Ok(password)
    }
}

/// The first line of `input`, without its line end.
fn first_line(mut input: impl BufRead) -> Result<String, CtlError> {
    let mut line = String::new();
    let read = input
        .read_line(&mut line)
        .map_err(|source| CtlError::File {
            path: "-".to_owned(),
            source,
        })?;
    if read == 0 {
        return Err(CtlError::Invalid(
            "no password on standard input; nothing changed".to_owned(),
        ));
    }
    let end = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(end);
    Ok(line)
}

/// Asks on the terminal, then asks again to confirm. Standard input must be the
/// terminal: a script that pipes something in means `--password-stdin`.
fn prompt_twice(address: &str) -> Result<String, CtlError> {
    if !std::io::stdin().is_terminal() {
        return Err(CtlError::Invalid(
            "standard input is not a terminal to ask for the password on: give it with --password-stdin; nothing changed".to_owned(),
        ));
    }
    let first = prompt(&format!("Password for {address}: "))?;
    if first.is_empty() {
        return Err(CtlError::Invalid(
            "the password is empty; nothing changed".to_owned(),
        ));
    }
    let again = prompt("Again, to confirm: ")?;
    if first != again {
        return Err(CtlError::Invalid(
            "the two passwords differ; nothing changed".to_owned(),
        ));
    }
    Ok(first)
}

/// One password read from the terminal (`/dev/tty`), not echoed.
fn prompt(text: &str) -> Result<String, CtlError> {
    rpassword::prompt_password(text).map_err(|err| {
        CtlError::Invalid(match err.kind() {
            ErrorKind::UnexpectedEof => "the password prompt was closed; nothing changed".into(),
            ErrorKind::Interrupted => "interrupted; nothing changed".into(),
            _ => format!(
                "cannot ask for the password on the terminal ({err}): give it with --password-stdin; nothing changed"
            ),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_follows_the_arguments() {
        assert_eq!(
            PasswordInput::new(Some("pw".into()), false),
            PasswordInput::Given("pw".into())
        );
        assert_eq!(PasswordInput::new(None, true), PasswordInput::Stdin);
        assert_eq!(PasswordInput::new(None, false), PasswordInput::Prompt);
    }

    #[test]
    fn standard_input_gives_its_first_line() {
        let line = |input: &[u8]| first_line(input).map_err(|err| err.to_string());
        assert_eq!(line(b"s3cret\n"), Ok("s3cret".to_owned()));
        assert_eq!(line(b"s3cret\r\nrest\n"), Ok("s3cret".to_owned()));
        assert_eq!(line(b"no newline"), Ok("no newline".to_owned()));
        assert_eq!(
            line(b""),
            Err("no password on standard input; nothing changed".to_owned())
        );
    }
}
