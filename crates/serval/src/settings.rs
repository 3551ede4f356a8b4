//! The config file's sections onto the settings of the parts they configure: the
//! config crate speaks the file's terms and links none of those parts (so the admin
//! tool reads the file without the proxy), and this is the one place where its values
//! become the proxy's, the registrar's and the location service's.

use crate::config;
use registrar::{RegistrarConfig, StorageMode};
use sip_core::proxy::nat::NatConfig;

/// `[nat] enabled` and `force`: the proxy's and the router's NAT handling.
pub fn nat(section: &config::Nat) -> NatConfig {
    NatConfig {
        enabled: section.enabled,
        force: section.force.clone(),
    }
}

/// `[registrar]` expiry limits and contacts per AOR.
pub fn registrar(section: &config::Registrar) -> RegistrarConfig {
    RegistrarConfig {
        default_expires: section.default_expires,
        min_expires: section.min_expires,
        max_expires: section.max_expires,
        max_contacts: section.max_contacts,
    }
}

/// `[registrar] storage`.
pub fn storage(mode: config::StorageMode) -> StorageMode {
    match mode {
        config::StorageMode::Memory => StorageMode::Memory,
        config::StorageMode::WriteThrough => StorageMode::WriteThrough,
        config::StorageMode::WriteBack => StorageMode::WriteBack,
        config::StorageMode::DbOnly => StorageMode::DbOnly,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_parts_defaults() {
        let defaults = config::Config::default();
        assert_eq!(nat(&defaults.nat), NatConfig::default());
        assert_eq!(registrar(&defaults.registrar), RegistrarConfig::default());
        assert_eq!(storage(defaults.registrar.storage), StorageMode::default());
    }

    #[test]
    fn every_storage_mode_maps_to_its_namesake() {
        for mode in config::StorageMode::ALL {
            assert_eq!(format!("{:?}", storage(mode)), format!("{mode:?}"));
        }
    }
}
