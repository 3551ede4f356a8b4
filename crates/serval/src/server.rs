//! Running the server: everything is configured and bound before the first message is
//! received, and a signal stops it after the listeners and connections are closed.

use crate::authorize::Authorizer;
use crate::config::local_domains;
use crate::config::{Config, DatabaseUrl, RelayPolicy, Routing};
use crate::keepalive::Keepalive;
use crate::outbound::Outbound;
use crate::proxy_shards::{FlowClosed, ProxyHandler};
use crate::router::{Relay, Router};
use crate::settings;
use crate::shutdown::ShutdownSignals;
use crate::sql_location::SqlLocation;
use crate::subscriber_cache::Subscribers;
use registrar::unix_seconds;
use registrar::{LocationService, StorageMode};
use serval_store::Store;
use sip_core::LocalDomains;
use sip_core::proxy::ProxyConfig;
use sip_core::proxy::routing::Interface;
use sip_core::transaction::TimerConfig;
use sip_msg::Transport;
use sip_transport::{BindError, ListenSpec, Transports};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listen address could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The signal handlers could not be installed.
    #[error("cannot watch for SIGTERM and SIGINT: {0}")]
    Signals(std::io::Error),
    /// The database could not be opened, migrated or read.
    #[error(transparent)]
    Database(#[from] serval_store::StoreError),
    /// The location table could not be loaded.
    #[error("loading the location table: {0}")]
    Location(registrar::StoreError),
    /// No randomness for the nonce key.
    #[error("cannot make the nonce key: {0}")]
    Auth(#[from] sip_auth::Error),
    /// No DNS resolver configuration.
    #[error("DNS: {0} (name servers can be given in [routing] dns_servers)")]
    Dns(sip_dns::DnsError),
}

/// Serves `config` until SIGTERM or SIGINT. Must be called within a tokio runtime.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let signals = ShutdownSignals::install().map_err(ServerError::Signals)?;
    let domains = local_domains(&config.domains, &config.listen);
    let store = Store::connect_split(
        config.database.as_str(),
        config.database_read_only.as_ref().map(DatabaseUrl::as_str),
    )
    .await?;
    let migrated = store.migrate().await?;
    if migrated.from != migrated.to {
        tracing::info!(
            "database {}: schema migrated from version {} to {}",
            config.database,
            migrated.from,
            migrated.to
        );
    } else {
        tracing::info!(
            "database {}: schema version {}",
            config.database,
            migrated.to
        );
    }
    if let Some(read_only) = &config.database_read_only {
        tracing::info!("database lookups through {read_only}");
    }
    let location = Arc::new(LocationService::new(
        SqlLocation(store.clone()),
        settings::storage(config.registrar.storage),
        settings::registrar(&config.registrar),
    ));
    let loaded = location.load().await.map_err(ServerError::Location)?;
    tracing::info!(
        "location: {} storage, {loaded} bindings loaded",
        config.registrar.storage
    );
    let auth = Authorizer::new(&config.auth)?;
    if auth.is_none() {
        tracing::warn!("authentication is off ([auth] enabled = false)");
    }
    let transports = Transports::bind(&config.listen, config.transport_config())?;
    tracing::info!("local domains: {}", domains.names().join(", "));
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
    proxy.failover_timeout = config.routing.failover_timeout;
    let nat = settings::nat(&config.nat);
    proxy.nat = nat.clone();
    if !config.nat.enabled {
        tracing::warn!("NAT handling is off ([nat] enabled = false)");
    }
    let relay = Relay {
        policy: config.routing.relay,
        trusted: config.auth.trusted.clone(),
    };
    if relay.policy == RelayPolicy::Authenticated && auth.is_none() && relay.trusted.is_empty() {
        tracing::warn!(
            "authentication is off and no source is trusted: requests for other domains get 403 ([routing] relay = \"local-from\" lets local users through)"
        );
    }
    let router = Arc::new(Router::new(
        location.clone(),
        Subscribers::new(store.clone(), config.auth.cache_ttl),
        auth,
        domains.clone(),
        relay,
        outbound(&config.routing, &transports.local_specs())?,
        nat,
    ));
    let keepalive = config.nat.keepalive_interval.map(|every| {
        Arc::new(Keepalive::new(
            every,
            config.nat.keepalive_max_missed,
            &proxy.interfaces,
        ))
    });
    let upkeep = tokio::spawn(upkeep(
        location.clone(),
        router.clone(),
        config.registrar.clone(),
        keepalive.clone().map(|k| (k, transports.sender())),
    ));
    let shards = std::thread::available_parallelism().map_or(1, usize::from);
    let handler = Arc::new(ProxyHandler::start(
        proxy,
        router,
        shards,
        transports.sender(),
        keepalive,
        Some(remove_closed_flows(location.clone())),
    ));
    transports.run(handler, signals.received()).await;
    upkeep.abort();
    if location.mode() == StorageMode::WriteBack {
        match location.flush().await {
            Ok(n) => tracing::info!("write-back: {n} changes written at shutdown"),
            Err(e) => tracing::error!("write-back: changes lost at shutdown: {e}"),
        }
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// When a TCP connection closes, the bindings registered over it go: they could only be
/// reached through it (their Contact is an ephemeral port, or behind a NAT).
fn remove_closed_flows(location: Arc<LocationService<SqlLocation>>) -> FlowClosed {
    Box::new(move |transport, remote| {
        let location = location.clone();
        tokio::spawn(async move {
            match location.remove_flow(transport, remote).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(
                    "{}:{remote} closed: {n} bindings removed",
                    transport.uri_token()
                ),
                Err(e) => tracing::warn!("removing the bindings of {remote}: {e}"),
            }
        });
    })
}

/// Routing to other domains, over the transports we listen on (UDP first, as RFC 3263
/// prefers when DNS leaves the choice to us).
fn outbound(routing: &Routing, specs: &[ListenSpec]) -> Result<Outbound, ServerError> {
    let lookup = if routing.dns_servers.is_empty() {
        sip_dns::HickoryLookup::from_system().map_err(ServerError::Dns)?
    } else {
        sip_dns::HickoryLookup::with_servers(&routing.dns_servers)
    };
    let mut supported = Vec::new();
    for t in [Transport::Udp, Transport::Tcp, Transport::Tls] {
        if specs.iter().any(|s| s.transport == t) {
            supported.push(t);
        }
    }
    Ok(Outbound::new(lookup, routing, supported))
}

/// The periodic work: expired bindings purged, write-back flushes, nonce counts of
/// expired nonces, cached subscribers and blocklist entries forgotten, NAT keep-alive
/// rounds.
async fn upkeep(
    location: Arc<LocationService<SqlLocation>>,
    router: Arc<Router<SqlLocation>>,
    cfg: crate::config::Registrar,
    keepalive: Option<(Arc<Keepalive>, sip_transport::Sender)>,
) {
    // The first ticks come one period after the start, not at once (tokio's interval
    // would flush a write-back batch made in the first instants right away).
    let every = |period| tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut purge = every(cfg.purge_interval);
    let mut flush = every(cfg.flush_interval);
    // Without keep-alives the branch below is disabled; the interval only has to exist.
    let mut ping = every(
        keepalive
            .as_ref()
            .map_or(cfg.purge_interval, |(k, _)| k.interval()),
    );
    loop {
        tokio::select! {
            _ = purge.tick() => {
                let now = SystemTime::now();
                match location.purge(unix_seconds(now)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!("{n} expired bindings removed"),
                    Err(e) => tracing::warn!("purging expired bindings: {e}"),
                }
                if let Some(auth) = router.authorizer() {
                    auth.purge(now);
                }
                router.subscribers().purge();
                router.outbound().purge();
            }
            _ = flush.tick(), if location.mode() == StorageMode::WriteBack => {
                if let Err(e) = location.flush().await {
                    tracing::warn!("write-back flush failed, kept for the next one: {e}");
                }
            }
            _ = ping.tick(), if keepalive.is_some() => {
                if let Some((k, sender)) = &keepalive {
                    k.round(&location, sender).await;
                }
            }
        }
    }
}

/// What each listener advertises in Via and Record-Route: the configured host, else its
/// own address, else (for a wildcard) the first local address of its family that is not
/// loopback, else loopback.
fn interfaces(
    specs: &[ListenSpec],
    domains: &LocalDomains,
    advertise: Option<&str>,
) -> Vec<Interface> {
    specs
        .iter()
        // A multicast group only receives: replies and relayed requests leave from a
        // unicast socket, whose address goes in Via and Record-Route.
        .filter(|spec| !spec.is_multicast())
        .map(|spec| {
            let ip = spec.addr.ip();
            let host = match advertise {
                Some(h) => h.to_owned(),
                None if !ip.is_unspecified() => host_text(ip),
                None => domains
                    .addresses()
                    .iter()
                    .copied()
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
