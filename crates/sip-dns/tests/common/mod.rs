//! A fake DNS for the locator tests: tables of records by name, a set of
//! names whose queries fail, and the log of queries made.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;

use sip_dns::{DnsError, Lookup, Naptr, Srv};

#[derive(Default)]
pub struct FakeDns {
    pub naptr: HashMap<String, Vec<Naptr>>,
    pub srv: HashMap<String, Vec<Srv>>,
    pub ips: HashMap<String, Vec<IpAddr>>,
    /// Names whose queries (any type) fail with `Failed`.
    pub failing: HashSet<String>,
    /// Every query made, as "TYPE name".
    pub queries: Mutex<Vec<String>>,
}

impl FakeDns {
    pub fn new() -> Self {
        FakeDns::default()
    }

    pub fn naptr(mut self, name: &str, records: &[(u16, u16, &str, &str, &str)]) -> Self {
        let list = self.naptr.entry(name.to_owned()).or_default();
        for &(order, preference, flags, services, replacement) in records {
            list.push(Naptr {
                order,
                preference,
                flags: flags.into(),
                services: services.into(),
                regexp: String::new(),
                replacement: replacement.into(),
            });
        }
        self
    }

    pub fn enum_naptr(mut self, name: &str, record: Naptr) -> Self {
        self.naptr.entry(name.to_owned()).or_default().push(record);
        self
    }

    pub fn srv(mut self, name: &str, records: &[(u16, u16, u16, &str)]) -> Self {
        let list = self.srv.entry(name.to_owned()).or_default();
        for &(priority, weight, port, target) in records {
            list.push(Srv {
                priority,
                weight,
                port,
                target: target.into(),
            });
        }
        self
    }

    pub fn ip(mut self, name: &str, ips: &[&str]) -> Self {
        let list = self.ips.entry(name.to_owned()).or_default();
        for ip in ips {
            list.push(ip.parse().expect("test IP"));
        }
        self
    }

    pub fn failing(mut self, name: &str) -> Self {
        self.failing.insert(name.to_owned());
        self
    }

    pub fn queried(&self) -> Vec<String> {
        self.queries.lock().expect("log").clone()
    }

    fn answer<T: Clone>(
        &self,
        kind: &str,
        table: &HashMap<String, Vec<T>>,
        name: &str,
    ) -> Result<Vec<T>, DnsError> {
        self.queries
            .lock()
            .expect("log")
            .push(format!("{kind} {name}"));
        if self.failing.contains(name) {
            return Err(DnsError::Failed("SERVFAIL".into()));
        }
        match table.get(name) {
            Some(records) if !records.is_empty() => Ok(records.clone()),
            _ => Err(DnsError::NotFound),
        }
    }
}

impl Lookup for FakeDns {
    async fn naptr(&self, name: &str) -> Result<Vec<Naptr>, DnsError> {
        self.answer("NAPTR", &self.naptr, name)
    }

    async fn srv(&self, name: &str) -> Result<Vec<Srv>, DnsError> {
        self.answer("SRV", &self.srv, name)
    }

    async fn ips(&self, name: &str) -> Result<Vec<IpAddr>, DnsError> {
        self.answer("A", &self.ips, name)
    }
}
