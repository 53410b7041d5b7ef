//! The database as text, for people: one line per record, sorted by
//! version ID.
//!
//! ```text
//! # nbns WINS database: 2 records
//! version-mark 1024
//! HOST<20> - unique active version 1 owner 10.0.0.1 expires 1764590000 6000/10.0.0.7
//! DC<1c> corp special active version 2 owner 10.0.0.1 expires 1764590000 e000/10.0.0.2,e000/10.0.0.3
//! ```
//!
//! Fields, separated by single spaces: the name (`NAME<xx>`, as shown
//! everywhere in the crate); the scope ID (escaped), or `-` for none; the
//! kind; the state; the version ID; the owner; when the current state
//! ends, in seconds since the Unix epoch; the addresses, each as NB_FLAGS
//! in hex, `/`, dotted quad, joined by commas.

use std::io::Write;

use super::{Store, StoreError};

impl Store {
    /// Writes every record as text (see the `export` module docs).
    ///
    /// # Errors
    /// [`StoreError::Db`] or [`StoreError::Damaged`] if reading fails,
    /// [`StoreError::Io`] if writing does.
    pub fn export(&self, w: &mut impl Write) -> Result<(), StoreError> {
        let mut rows = self.rows()?;
        rows.sort_by_key(|r| r.version);
        writeln!(w, "# nbns WINS database: {} records", rows.len())?;
        writeln!(w, "version-mark {}", self.version_mark()?)?;
        for r in rows {
            let scope = if r.scope.is_empty() {
                "-".to_owned()
            } else {
                r.scope.escape_ascii().to_string()
            };
            write!(
                w,
                "{} {scope} {} {} version {} owner {} expires {} ",
                r.name, r.kind, r.state, r.version, r.owner, r.deadline
            )?;
            for (i, e) in r.addresses.iter().enumerate() {
                let sep = if i > 0 { "," } else { "" };
                write!(w, "{sep}{:04x}/{}", e.flags.bits(), e.address)?;
            }
            writeln!(w)?;
        }
        w.flush()?;
        Ok(())
    }
}
