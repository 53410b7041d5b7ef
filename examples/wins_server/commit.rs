//! Where the server's changes go ([`Persist`], run by the runner on a
//! thread of its own): the redb database of `--db`, then one stdout line
//! per committed change, then the `--hook`.
//!
//! A failing commit is logged and counted here, and the database is
//! opened again for the next attempt (after an I/O error redb refuses
//! further transactions); the runner retries with backoff. Nothing of a
//! batch is printed or announced before it is committed.

use core::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::PathBuf;

use nbns::server::Change;
use nbns::store::Store;
use nbns::tokio::{Persist, StoreFailure};

use crate::hook::Hook;

/// The database (if any) and the hook (if any).
pub(crate) struct Committer {
    db: Option<(PathBuf, Option<Store>)>,
    hook: Option<Hook>,
    failures: u64,
    text: String,
}

impl Committer {
    /// Commits to `store`, opened from `path`; without them changes are
    /// complete when made and only go to the hook.
    pub(crate) fn new(db: Option<(PathBuf, Store)>, hook: Option<Hook>) -> Self {
        Self {
            db: db.map(|(path, store)| (path, Some(store))),
            hook,
            failures: 0,
            text: String::new(),
        }
    }
}

impl Persist for Committer {
    fn commit(&mut self, batch: &[Change]) -> Result<(), StoreFailure> {
        if let Some((path, store)) = &mut self.db {
            let result = match store.as_mut() {
                Some(s) => s.commit(batch),
                None => Store::open(&*path).and_then(|s| store.insert(s).commit(batch)),
            };
            if let Err(e) = result {
                self.failures += 1;
                eprintln!(
                    "wins_server: commit of {} changes failed ({} failures so far): {e}; retrying",
                    batch.len(),
                    self.failures
                );
                *store = None;
                return Err(e.into());
            }
            self.text.clear();
            for c in batch {
                let _ = writeln!(self.text, "{c}");
            }
            let mut out = io::stdout().lock();
            let _ = out.write_all(self.text.as_bytes());
            let _ = out.flush();
        }
        if let Some(h) = &self.hook {
            h.announce(batch);
        }
        Ok(())
    }

    /// A log left by a large commit (a replication pull) is folded into
    /// the database's tables while the server is idle.
    fn has_idle_work(&self) -> bool {
        self.db
            .as_ref()
            .and_then(|(_, store)| store.as_ref())
            .is_some_and(|s| s.unfolded() > 0)
    }
}
