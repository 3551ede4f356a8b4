//! Progress of long work (imports, backups, restores of many rows) on standard error:
//! a bar or a counter, drawn only when stderr is a terminal, so nothing of it lands in
//! a pipe, a log or a file.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, Write};
use std::time::Duration;

/// A bar of `len` steps, counted in `unit`.
pub fn bar(len: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A bar over `len` bytes of input.
pub fn bytes(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A counter of an unknown total, counted in `unit`.
pub fn counter(unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} {{human_pos}} {unit} ({{per_sec}})"))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A writer that moves `bar` by one for each line written through it.
pub struct CountLines<W> {
    inner: W,
    bar: ProgressBar,
}

impl<W> CountLines<W> {
    /// Counts the lines written to `inner` on `bar`.
    pub fn new(inner: W, bar: ProgressBar) -> CountLines<W> {
        CountLines { inner, bar }
    }
}

impl<W: Write> Write for CountLines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let lines = memchr::memchr_iter(b'\n', &buf[..n]).count();
        self.bar.inc(lines as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
