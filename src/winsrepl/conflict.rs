//! What to do with an incoming replica that meets a local record of the
//! same name: the conflict rules of MS-WINSRA 3.2.5.5 as Samba 4 applies
//! them (`wrepl_apply_records.c`, checked against smbtorture
//! `nbt.winsreplication`), as pure functions.
//!
//! [`decide`] takes the local record (if any) and the replica and returns a
//! [`Decision`]. Two decisions need more than the two records:
//! [`Decision::Challenge`] asks the holder of our record with a name query
//! to its UDP port 137, and [`after_challenge`] turns the answer into the
//! final [`ChallengeOutcome`]; [`Decision::MergeSpecialGroup`] and
//! [`ChallengeOutcome::MergeMultihomed`] build the merged member list with
//! [`merge_special_group`] and [`merge_multihomed`].
//!
//! Order of the rules (Samba `wreplsrv_apply_one_record`):
//!
//! 1. No local record: [`Decision::Add`].
//! 2. A replica that claims to be owned by us: [`Decision::Keep`]. Only we
//!    change our records; a pull never asks a partner for them (Samba would
//!    overwrite; this crate does not let a partner rewrite its records).
//! 3. The local record has the replica's owner: [`Decision::Replace`],
//!    whatever it holds ("blindly overwrite").
//! 4. A static local record: [`Decision::Keep`], or
//!    [`Decision::Propagate`] when it is ours and the replica dynamic
//!    (Samba; Windows 2003 keeps it without a new version).
//! 5. A static replica over a dynamic local record: [`Decision::Replace`].
//! 6. Ours: the owned-record table (Samba `replace_*_owned_vs_X_replica`).
//!    A replica of another owner: the replica table
//!    (`replace_*_replica_vs_X_replica`).
//!
//! Where Samba and Microsoft differ, Samba's choice is kept (it is the peer
//! the rules are tested against): an active unique replica survives a
//! special group and yields to a normal group (KB 136571 keeps the group
//! entry in both cases); our static record against a dynamic replica
//! propagates (Windows 2003 keeps it). The one rule of our own is 2.

use core::net::Ipv4Addr;

use crate::winsrepl::{Member, RecordState, RecordType};

/// The facts of one record the rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSide<'a> {
    /// The owner of the record.
    pub owner: Ipv4Addr,
    /// Unique, normal group, special group or multihomed.
    pub record_type: RecordType,
    /// Active, released or tombstone (reserved counts as tombstone).
    pub state: RecordState,
    /// Added by an administrator.
    pub is_static: bool,
    /// The address of a unique or normal group record, with the record's
    /// owner as its owner.
    pub single: Option<Member>,
    /// The members of a special group or multihomed record.
    pub list: &'a [Member],
}

impl RecordSide<'_> {
    /// The addresses with their owners: the single one or the list.
    pub fn members(&self) -> impl Iterator<Item = Member> + '_ {
        self.single.into_iter().chain(self.list.iter().copied())
    }

    fn active(&self) -> bool {
        self.state == RecordState::Active
    }

    fn has_address(&self, address: Ipv4Addr) -> bool {
        self.members().any(|m| m.address == address)
    }

    fn has_member(&self, member: Member) -> bool {
        self.members().any(|m| m == member)
    }

    /// Every address of `self` is one of `other`'s (owners ignored).
    fn addresses_within(&self, other: &RecordSide<'_>) -> bool {
        self.members().all(|m| other.has_address(m.address))
    }
}

/// What to do with an incoming replica (MS-WINSRA 3.2.5.5; Samba's
/// `_R_ACTION_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// No local record: store the replica.
    Add,
    /// Store the replica in place of the local record, with its owner and
    /// version.
    Replace,
    /// Keep the local record unchanged.
    Keep,
    /// Keep our record, give it a new local version (and ownership), so
    /// that it replicates back over the loser.
    Propagate,
    /// Our active record's addresses differ from the replica's: send a
    /// name query to each of our record's addresses (UDP 137, 3 tries of
    /// 1 s each) and pass the answer to [`after_challenge`].
    Challenge,
    /// Store the replica, then send a name release for the name to each
    /// address of our old record (UDP 137; the answer is ignored).
    ReleaseDemand,
    /// Merge the two special groups with [`merge_special_group`].
    MergeSpecialGroup,
}

/// The answer of the holder of our record to a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeAnswer<'a> {
    /// No answer from any address after every try.
    NoAnswer,
    /// A negative answer (NAM_ERR).
    Negative,
    /// A positive answer listing these addresses.
    Positive(&'a [Ipv4Addr]),
}

/// The result of a challenge (Samba `r_do_challenge_handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChallengeOutcome {
    /// The holder is gone: store the replica.
    Replace,
    /// The holder still uses the name at addresses the replica lacks: keep
    /// our record.
    Keep,
    /// The holder answers with the replica's addresses but not all of
    /// ours: keep our record, and send a name release to the addresses the
    /// holder answered with.
    LateReleaseDemand,
    /// The holder answers with both records' addresses: store a
    /// multihomed record with the replica's owner and version and the
    /// members of [`merge_multihomed`].
    MergeMultihomed,
}

/// The decision for `replica` against the `local` record of the same name
/// (see the module docs for the order of the rules). `us` is our own owner
/// address.
#[must_use]
pub fn decide(local: Option<&RecordSide<'_>>, replica: &RecordSide<'_>, us: Ipv4Addr) -> Decision {
    let Some(local) = local else {
        return Decision::Add;
    };
    if replica.owner == us {
        return Decision::Keep;
    }
    if local.owner == replica.owner {
        return Decision::Replace;
    }
    let ours = local.owner == us;
    if local.is_static {
        return if ours && !replica.is_static {
            Decision::Propagate
        } else {
            Decision::Keep
        };
    }
    if replica.is_static {
        return Decision::Replace;
    }
    if ours {
        owned_vs_replica(local, replica)
    } else {
        replica_vs_replica(local, replica)
    }
}

use Decision::{Keep as K, Replace as R};

/// The replica table (reference e.2): rows are the local record's type and
/// state, columns the replica's, both as [`row`] and [`column`] give them.
/// `None` is the special group against special group case, decided by
/// [`sgroup_vs_sgroup`].
const REPLICA_TABLE: [[Option<Decision>; 8]; 9] = {
    const fn row(r: [Decision; 8]) -> [Option<Decision>; 8] {
        [
            Some(r[0]),
            Some(r[1]),
            Some(r[2]),
            Some(r[3]),
            Some(r[4]),
            Some(r[5]),
            Some(r[6]),
            Some(r[7]),
        ]
    }
    //            U-A U-T G-A G-T S-A S-T M-A M-T
    let mut sgroup_active = row([K, K, K, K, K, R, K, K]);
    sgroup_active[4] = None;
    [
        row([R, K, R, K, K, K, R, K]), // unique, active
        row([R, R, R, R, R, R, R, R]), // unique, released or tombstone
        row([K, K, K, K, K, K, K, K]), // normal group, active
        row([K, K, R, R, K, K, K, K]), // normal group, released
        row([K, K, R, R, R, R, R, R]), // normal group, tombstone
        sgroup_active,                 // special group, active
        row([R, R, R, R, R, R, R, R]), // special group, released or tombstone
        row([R, K, R, K, K, K, R, K]), // multihomed, active
        row([R, R, R, R, R, R, R, R]), // multihomed, released or tombstone
    ]
};

/// The row of [`REPLICA_TABLE`] for a local record.
fn row(side: &RecordSide<'_>) -> usize {
    let inactive = usize::from(!side.active());
    match side.record_type {
        RecordType::Unique => inactive,
        RecordType::NormalGroup => match side.state {
            RecordState::Active => 2,
            RecordState::Released => 3,
            RecordState::Tombstone | RecordState::Reserved => 4,
        },
        RecordType::SpecialGroup => 5 + inactive,
        RecordType::Multihomed => 7 + inactive,
    }
}

/// The column of [`REPLICA_TABLE`] for a replica: its type, then active or
/// not (a released replica, which a correct push partner never sends,
/// counts as a tombstone).
fn column(side: &RecordSide<'_>) -> usize {
    let inactive = usize::from(!side.active());
    let kind = match side.record_type {
        RecordType::Unique => 0,
        RecordType::NormalGroup => 1,
        RecordType::SpecialGroup => 2,
        RecordType::Multihomed => 3,
    };
    2 * kind + inactive
}

fn replica_vs_replica(local: &RecordSide<'_>, replica: &RecordSide<'_>) -> Decision {
    let cell = REPLICA_TABLE
        .get(row(local))
        .and_then(|r| r.get(column(replica)))
        .copied()
        .flatten();
    cell.unwrap_or_else(|| sgroup_vs_sgroup(local, replica))
}

/// Two active special groups of different owners, neither ours (Samba
/// `replace_sgroup_replica_vs_X_replica`).
fn sgroup_vs_sgroup(local: &RecordSide<'_>, replica: &RecordSide<'_>) -> Decision {
    if replica.list.is_empty() {
        return if local.members().any(|m| m.owner == replica.owner) {
            Decision::MergeSpecialGroup
        } else {
            Decision::Keep
        };
    }
    if replica.members().all(|m| local.has_member(m)) {
        return Decision::Keep;
    }
    if replica.addresses_within(local) && local.addresses_within(replica) {
        return Decision::Replace;
    }
    Decision::MergeSpecialGroup
}

/// Our record against a replica of another owner (reference e.3).
fn owned_vs_replica(local: &RecordSide<'_>, replica: &RecordSide<'_>) -> Decision {
    use RecordType::{Multihomed, NormalGroup, SpecialGroup, Unique};
    match local.record_type {
        Unique | Multihomed => {
            if !local.active() {
                Decision::Replace
            } else if !replica.active() {
                Decision::Propagate
            } else if replica.record_type.is_group() {
                Decision::ReleaseDemand
            } else if local.addresses_within(replica) {
                Decision::Replace
            } else {
                Decision::Challenge
            }
        }
        NormalGroup => {
            let group = replica.record_type == NormalGroup;
            if local.active() {
                if group && replica.active() {
                    Decision::Replace
                } else {
                    Decision::Propagate
                }
            } else if group {
                Decision::Replace
            } else {
                Decision::Propagate
            }
        }
        SpecialGroup => {
            if !local.active() {
                Decision::Replace
            } else if replica.record_type != SpecialGroup || !replica.active() {
                Decision::Propagate
            } else if same_members(local, replica) {
                Decision::Keep
            } else {
                Decision::MergeSpecialGroup
            }
        }
    }
}

/// The same (owner, address) pairs on both sides.
fn same_members(a: &RecordSide<'_>, b: &RecordSide<'_>) -> bool {
    a.members().all(|m| b.has_member(m)) && b.members().all(|m| a.has_member(m))
}

/// The result of a challenge of our active unique or multihomed record
/// `local` by `replica` (reference e.4; Samba `r_do_challenge_handler`).
#[must_use]
pub fn after_challenge(
    local: &RecordSide<'_>,
    replica: &RecordSide<'_>,
    answer: ChallengeAnswer<'_>,
) -> ChallengeOutcome {
    let ChallengeAnswer::Positive(held) = answer else {
        return ChallengeOutcome::Replace;
    };
    let within = |side: &RecordSide<'_>| side.members().all(|m| held.contains(&m.address));
    if !within(replica) {
        ChallengeOutcome::Keep
    } else if !within(local) {
        ChallengeOutcome::LateReleaseDemand
    } else {
        ChallengeOutcome::MergeMultihomed
    }
}

/// The members of a multihomed merge (Samba `r_do_mhomed_merge`): the
/// replica's, then the local record's that the replica lacks, each with its
/// owner, at most `cap`. The merged record takes the replica's owner,
/// version, state, node type and static flag.
#[must_use]
pub fn merge_multihomed(
    local: &RecordSide<'_>,
    replica: &RecordSide<'_>,
    cap: usize,
) -> Vec<Member> {
    let mut out: Vec<Member> = replica.members().take(cap).collect();
    for m in local.members() {
        if out.len() >= cap {
            break;
        }
        if !out.iter().any(|o| o.address == m.address) {
            out.push(m);
        }
    }
    out
}

/// A merged special group (reference e.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialGroupMerge {
    /// The merged members, at most the cap.
    pub members: Vec<Member>,
    /// Whether we take the record over with a new local version; when
    /// false, it keeps the replica's owner and version.
    pub take_ownership: bool,
}

/// Merges the special group `replica` into `local` (Samba
/// `r_do_sgroup_merge`): a local member the replica also lists takes the
/// replica's entry; one the replica's owner no longer lists is dropped;
/// the others stay with their owners; then the replica's members are added,
/// up to `cap`. When nothing of the local record changed (a pure superset),
/// when the local record was ours, or when the result is empty, we take
/// the record over with a new local version.
#[must_use]
pub fn merge_special_group(
    local: &RecordSide<'_>,
    replica: &RecordSide<'_>,
    us: Ipv4Addr,
    cap: usize,
) -> SpecialGroupMerge {
    let mut members = Vec::new();
    let mut old_changed = false;
    for m in local.members() {
        if let Some(theirs) = replica.members().find(|r| r.address == m.address) {
            old_changed |= theirs.owner != m.owner;
            members.push(theirs);
        } else if m.owner == replica.owner {
            old_changed = true;
        } else {
            members.push(m);
        }
    }
    members.truncate(cap);
    for m in replica.members() {
        if members.len() >= cap {
            break;
        }
        if !members.iter().any(|o| o.address == m.address) {
            members.push(m);
        }
    }
    let take_ownership = !old_changed || local.owner == us || members.is_empty();
    SpecialGroupMerge {
        members,
        take_ownership,
    }
}
