//! Stopping on SIGTERM or SIGINT (Ctrl-C). The handlers are installed before any socket
//! is bound, so a signal sent as soon as the server says it listens is never fatal.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signals that stop the server.
pub struct ShutdownSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl ShutdownSignals {
    /// Starts listening for SIGTERM and SIGINT. Must be called within a tokio runtime.
    pub fn install() -> std::io::Result<ShutdownSignals> {
        Ok(ShutdownSignals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Completes when one of the signals arrives, and logs which.
    pub async fn received(mut self) {
        let name = tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        };
        tracing::info!("received {name}, shutting down");
    }
}
