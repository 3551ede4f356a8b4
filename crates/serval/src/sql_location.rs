//! The registrar's bindings kept in the SQL store: [`registrar::LocationStore`] over
//! [`serval_store::Store`], each binding one `location` row.

use futures_util::TryStreamExt;
use registrar::{Aor, Binding, Change, LocationStore, Reach, StoreError};
use serval_store::{BindingRecord, Store};

/// The `flags` bit of a binding whose UA is behind a NAT.
const FLAG_NAT: u32 = 1;

/// The `location` table of a database.
#[derive(Debug, Clone)]
pub struct SqlLocation(pub Store);

/// A binding as its row.
pub fn to_record(aor: &Aor, b: &Binding) -> BindingRecord {
    BindingRecord {
        aor: aor.as_str().to_owned(),
        contact: b.contact.to_string(),
        expires: b.expires,
        q: b.q,
        call_id: b.call_id.to_string(),
        cseq: b.cseq,
        instance: b.instance.as_deref().map(str::to_owned),
        reg_id: b.reg_id,
        path: (!b.path.is_empty()).then(|| b.path.join(", ")),
        received: b.reach.map(|r| r.remote_text()),
        socket: b.reach.and_then(|r| r.local_text()),
        user_agent: b.user_agent.as_deref().map(str::to_owned),
        flags: if b.reach.is_some_and(|r| r.nat) {
            FLAG_NAT
        } else {
            0
        },
        last_modified: b.last_modified,
    }
}

/// A row as its binding.
pub fn from_record(r: BindingRecord) -> (Aor, Binding) {
    let path = r
        .path
        .as_deref()
        .map(|p| {
            sip_msg::header::split_list(p)
                .map(|v| v.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let reach = r
        .received
        .as_deref()
        .and_then(|remote| Reach::from_text(remote, r.socket.as_deref()))
        .map(|reach| Reach {
            nat: r.flags & FLAG_NAT != 0,
            ..reach
        });
    let binding = Binding {
        contact: r.contact.into(),
        expires: r.expires,
        q: r.q,
        call_id: r.call_id.into(),
        cseq: r.cseq,
        instance: r.instance.map(Into::into),
        reg_id: r.reg_id,
        path,
        reach,
        user_agent: r.user_agent.map(Into::into),
        last_modified: r.last_modified,
    };
    (Aor::from_text(&r.aor), binding)
}

fn failed(e: serval_store::StoreError) -> StoreError {
    StoreError(e.to_string())
}

impl LocationStore for SqlLocation {
    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let rows: Vec<serval_store::Change> = changes
            .iter()
            .map(|c| match c {
                Change::Save(aor, b) => serval_store::Change::Save(to_record(aor, b)),
                Change::Delete(aor, contact) => serval_store::Change::Delete {
                    aor: aor.as_str().to_owned(),
                    contact: contact.to_string(),
                },
            })
            .collect();
        self.0.apply(&rows).await.map_err(failed)
    }

    async fn bindings(&self, aor: &Aor) -> Result<Vec<Binding>, StoreError> {
        let rows = self.0.bindings(aor.as_str()).await.map_err(failed)?;
        Ok(rows.into_iter().map(|r| from_record(r).1).collect())
    }

    async fn load(&self, mut sink: impl FnMut(Aor, Binding) + Send) -> Result<u64, StoreError> {
        let rows = self.0.all_bindings();
        futures_util::pin_mut!(rows);
        let mut n = 0;
        while let Some(row) = rows.try_next().await.map_err(failed)? {
            let (aor, b) = from_record(row);
            sink(aor, b);
            n += 1;
        }
        Ok(n)
    }

    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        self.0.purge_expired(now).await.map_err(failed)
    }
}
