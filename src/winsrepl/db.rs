//! What a replication partner needs from the WINS database: the
//! owner-version map, one owner's records in a version range, and a place
//! to apply incoming replicas (MS-WINSRA 3.1.1, 3.2.5, 3.3.5).

use core::net::Ipv4Addr;
use std::time::Instant;

use crate::winsrepl::{OwnerRecord, Replica};

/// The WINS database as a replication partner sees it.
///
/// The [`Partner`](crate::winsrepl::Partner) takes it as an argument of
/// each call rather than owning it: the WINS server is driven by UDP as
/// well, and neither state machine owns the other.
///
/// Versions: every owner's records carry that owner's version IDs. Our
/// own entry in the map is our version counter (the last version handed
/// out); it must never go back, across restarts (MS-WINSRA 3.1.1.2).
///
/// Durability: a pull that says a range is done must never lose it in a
/// crash. Either [`ReplicationDb::apply_replica`] and
/// [`ReplicationDb::pulled`] return once their change is committed, or (as
/// [`WinsServer`](crate::server::WinsServer) does) the map entry of
/// `pulled` is a change ordered after the replicas it covers, committed in
/// order: a durable entry then implies durable replicas, and a crash
/// before the commit only makes the next pull ask again; a propagation or a merge
/// that takes a record over hands out a new version of ours, which is as
/// durable as any other. Challenges and release demands go out on UDP 137
/// (the NBNS side); [`ApplyOutcome::Challenging`] says one is under way.
pub trait ReplicationDb {
    /// Appends the owner-version map to `out`: one entry per owner whose
    /// records are held (ourselves included, with our version counter),
    /// `max_version` the highest version held or pulled for it,
    /// `min_version` 0 (as Samba sends).
    fn owner_versions(&self, out: &mut Vec<OwnerRecord>);

    /// The highest version held or pulled for `owner` (0 for an unknown
    /// owner; our version counter for ourselves).
    fn max_version(&self, owner: Ipv4Addr) -> u64;

    /// Appends to `out`, in version order, at most `limit` records of
    /// `owner` with `min <= version <= max`, active or tombstone only
    /// (released records never replicate, MS-WINSRA 3.2.5.1). Returns how
    /// many it appended.
    fn records(
        &self,
        owner: Ipv4Addr,
        min: u64,
        max: u64,
        limit: usize,
        out: &mut Vec<Replica>,
    ) -> usize;

    /// Applies one replica pulled from `from_partner`, under the conflict
    /// rules ([`decide`](crate::winsrepl::decide)), and says what it did.
    fn apply_replica(
        &mut self,
        record: &Replica,
        from_partner: Ipv4Addr,
        now: Instant,
    ) -> ApplyOutcome;

    /// `additional` replicas are about to be applied (the records of one
    /// Name Records Response, each one present in the message): room for
    /// them may be made at once instead of as they come. A hint; the
    /// default does nothing.
    fn reserve(&mut self, additional: usize) {
        let _ = additional;
    }

    /// A pull of `owner`'s records up to `max_version` is complete: raise
    /// the owner's map entry to it (the requested max, not the highest
    /// received, so that gaps are not asked for again; MS-WINSRA 3.2.5.1,
    /// Samba `wreplsrv_add_table`). Never lowers an entry.
    fn pulled(&mut self, owner: Ipv4Addr, max_version: u64, now: Instant);
}

/// What [`ReplicationDb::apply_replica`] did with a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApplyOutcome {
    /// A new record.
    Added,
    /// The replica took the place of the local record.
    Replaced,
    /// The local record stays.
    Kept,
    /// Our record stays with a new local version, to replicate back.
    Propagated,
    /// Merged into a special group or multihomed record.
    Merged,
    /// Our record's holder is being challenged; the replica waits for the
    /// answer.
    Challenging,
    /// The replica replaced our record; a release goes to its old holder.
    ReleaseDemanded,
    /// The database refused it (full, or malformed for it).
    Refused,
}
