//! Running the server: everything is configured and bound before the first message is
//! received, and a signal stops it after the listeners and connections are closed.

use crate::config::Config;
use crate::local_domains::local_domains;
use crate::shutdown::ShutdownSignals;
use crate::sip_handler::EndpointHandler;
use sip_core::{Endpoint, EndpointConfig};
use sip_transport::{BindError, Transports};
use std::sync::Arc;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listen address could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The signal handlers could not be installed.
    #[error("cannot watch for SIGTERM and SIGINT: {0}")]
    Signals(std::io::Error),
}

/// Serves `config` until SIGTERM or SIGINT. Must be called within a tokio runtime.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let signals = ShutdownSignals::install().map_err(ServerError::Signals)?;
    let domains = local_domains(&config.domains, &config.listen);
    let transports = Transports::bind(&config.listen, config.transport_config())?;
    let endpoint = Endpoint::new(EndpointConfig {
        local_domains: domains.clone(),
        server: config.server_header.clone(),
        limits: config.message_limits(),
    });
    tracing::info!("local domains: {}", domains.join(", "));
    tracing::info!("database: {}", config.database);
    for spec in transports.local_specs() {
        tracing::info!("listening on {spec}");
    }
    let handler = Arc::new(EndpointHandler::new(endpoint));
    transports.run(handler, signals.received()).await;
    tracing::info!("stopped");
    Ok(())
}
