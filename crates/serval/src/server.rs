//! Running the server: everything is configured and bound before the first message is
//! received, and a signal stops it after the listeners and connections are closed.

use crate::config::Config;
use crate::local_domains::local_domains;
use crate::proxy_shards::ProxyHandler;
use crate::router::Router;
use crate::shutdown::ShutdownSignals;
use registrar::{LocationService, MemoryOnly, RegistrarConfig, StorageMode};
use sip_core::proxy::ProxyConfig;
use sip_core::proxy::routing::Interface;
use sip_core::transaction::TimerConfig;
use sip_transport::{BindError, ListenSpec, Transports};
use std::net::IpAddr;
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
    tracing::info!("local domains: {}", domains.join(", "));
    tracing::info!("database: {}", config.database);
    for spec in transports.local_specs() {
        tracing::info!("listening on {spec}");
    }
    let interfaces = interfaces(
        &transports.local_specs(),
        &domains,
        config.proxy.advertise.as_deref(),
    );
    for i in &interfaces {
        tracing::info!(
            "{} {} advertised as {}",
            i.transport.uri_token(),
            i.bind,
            i.advertise
        );
    }
    let mut proxy = ProxyConfig::new(domains.clone(), interfaces, config.server_header.clone());
    proxy.timers = TimerConfig {
        t1: config.proxy.t1,
        t2: config.proxy.t2,
        t4: config.proxy.t4,
    };
    proxy.timer_c = config.proxy.timer_c;
    proxy.limits = config.message_limits();
    let location = Arc::new(LocationService::new(
        MemoryOnly,
        StorageMode::Memory,
        RegistrarConfig::default(),
    ));
    let router = Arc::new(Router::new(
        location,
        domains.clone(),
        config.proxy.relay_to_ip_literals,
    ));
    let shards = std::thread::available_parallelism().map_or(1, usize::from);
    let handler = Arc::new(ProxyHandler::start(
        proxy,
        router,
        shards,
        transports.sender(),
    ));
    transports.run(handler, signals.received()).await;
    tracing::info!("stopped");
    Ok(())
}

/// What each listener advertises in Via and Record-Route: the configured host, else its
/// own address, else (for a wildcard) the first local address of its family that is not
/// loopback, else loopback.
fn interfaces(specs: &[ListenSpec], domains: &[String], advertise: Option<&str>) -> Vec<Interface> {
    specs
        .iter()
        .map(|spec| {
            let ip = spec.addr.ip();
            let host = match advertise {
                Some(h) => h.to_owned(),
                None if !ip.is_unspecified() => host_text(ip),
                None => domains
                    .iter()
                    .filter_map(|d| d.parse::<IpAddr>().ok())
                    .find(|a| a.is_ipv4() == ip.is_ipv4() && !a.is_loopback())
                    .map_or_else(
                        || {
                            if ip.is_ipv4() {
                                "127.0.0.1".to_owned()
                            } else {
                                "[::1]".to_owned()
                            }
                        },
                        host_text,
                    ),
            };
            Interface {
                transport: spec.transport,
                bind: spec.addr,
                advertise: format!("{host}:{}", spec.addr.port()),
            }
        })
        .collect()
}

fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}
