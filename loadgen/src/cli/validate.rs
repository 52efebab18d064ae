//! `sfchaos validate SCENARIO...`: parse and check scenario files and print what each one says.
//!
//! Every file is checked, even after one fails, so a suite is fixed in one pass: a valid file's
//! summary (with its warnings) goes to stdout, every problem of an invalid one to stderr as
//! `file:line: key: message`. Any invalid file makes the command a usage error (exit 2).

use super::{Outcome, UsageError};
use crate::scenario::Scenario;
use std::io::Write;
use std::path::PathBuf;

pub fn run(paths: &[PathBuf]) -> Result<Outcome, UsageError> {
    if paths.is_empty() {
        return Err(UsageError::new("give at least one scenario file"));
    }
    let mut invalid = 0;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    for (i, path) in paths.iter().enumerate() {
        match Scenario::from_file(path) {
            Ok(scenario) => {
                let mut out = stdout.lock();
                if i > 0 {
                    let _ = writeln!(out);
                }
                let _ = write!(out, "{}", scenario.summary());
            }
            Err(errors) => {
                invalid += 1;
                let mut err = stderr.lock();
                for e in errors.iter() {
                    let _ = writeln!(err, "{e}");
                }
            }
        }
    }
    if invalid > 0 {
        return Err(UsageError::new(format!(
            "{invalid} of {} scenario file{} invalid",
            paths.len(),
            if paths.len() == 1 { " is" } else { "s are" }
        )));
    }
    Ok(Outcome::Ok)
}
