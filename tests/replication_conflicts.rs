//! The conflict rules for incoming replicas, one test per row of the
//! tables of MS-WINSRA 3.2.5.5 as Samba 4 applies them
//! (`wrepl_apply_records.c`, checked against smbtorture
//! `nbt.winsreplication`): replica vs replica, owned vs replica, the
//! challenge answers and the special-group merge.

use core::net::Ipv4Addr;

use nbns::winsrepl::{
    ChallengeAnswer, ChallengeOutcome, Decision, Member, RecordSide, RecordState, RecordType,
    after_challenge, decide, merge_multihomed, merge_special_group,
};

/// Ourselves.
const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Two other owners (smbtorture's fake owners A and B).
const A: Ipv4Addr = Ipv4Addr::new(127, 65, 65, 1);
const B: Ipv4Addr = Ipv4Addr::new(127, 66, 66, 1);
const X: Ipv4Addr = Ipv4Addr::new(127, 88, 88, 1);

/// A record: owner, type, state, static flag, members.
struct Rec {
    owner: Ipv4Addr,
    record_type: RecordType,
    state: RecordState,
    is_static: bool,
    members: Vec<Member>,
}

impl Rec {
    fn side(&self) -> RecordSide<'_> {
        let list = self.record_type.has_list();
        RecordSide {
            owner: self.owner,
            record_type: self.record_type,
            state: self.state,
            is_static: self.is_static,
            single: if list {
                None
            } else {
                self.members.first().copied()
            },
            list: if list { &self.members } else { &[] },
        }
    }

    fn fixed(mut self) -> Self {
        self.is_static = true;
        self
    }
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 9, 9, last)
}

/// `code` is type and state as the reference writes them: `U-A`, `G-T`,
/// `S-R`, `M-A`; members are `10.9.9.<n>`, owned by `owner`.
fn rec(owner: Ipv4Addr, code: &str, addrs: &[u8]) -> Rec {
    let (t, s) = code.split_once('-').unwrap();
    let record_type = match t {
        "U" => RecordType::Unique,
        "G" => RecordType::NormalGroup,
        "S" => RecordType::SpecialGroup,
        "M" => RecordType::Multihomed,
        _ => unreachable!(),
    };
    let state = match s {
        "A" => RecordState::Active,
        "R" => RecordState::Released,
        "T" => RecordState::Tombstone,
        _ => unreachable!(),
    };
    let members = addrs
        .iter()
        .map(|&n| Member {
            owner,
            address: ip(n),
        })
        .collect();
    Rec {
        owner,
        record_type,
        state,
        is_static: false,
        members,
    }
}

/// Members with their own owners.
fn with_members(mut r: Rec, members: &[(Ipv4Addr, u8)]) -> Rec {
    r.members = members
        .iter()
        .map(|&(owner, n)| Member {
            owner,
            address: ip(n),
        })
        .collect();
    r
}

fn d(local: Option<&Rec>, replica: &Rec) -> Decision {
    decide(local.map(Rec::side).as_ref(), &replica.side(), US)
}

const COLUMNS: [&str; 8] = ["U-A", "U-T", "G-A", "G-T", "S-A", "S-T", "M-A", "M-T"];

/// One row of the replica table: r1 from A with `local` (type-state)
/// against each column's r2 from B; `expect` is R (replace) or K (keep)
/// per column, `.` for a column decided elsewhere.
fn replica_row(local: &str, expect: &str) {
    let r1 = rec(A, local, &[1]);
    for (column, want) in COLUMNS.iter().zip(expect.chars()) {
        let r2 = rec(B, column, &[2]);
        let want = match want {
            'R' => Decision::Replace,
            'K' => Decision::Keep,
            _ => continue,
        };
        assert_eq!(d(Some(&r1), &r2), want, "{local} vs {column}");
    }
}

// ---- Rules before the tables (reference e.1) --------------------------------

#[test]
fn no_local_record_adds() {
    assert_eq!(d(None, &rec(B, "U-A", &[2])), Decision::Add);
    assert_eq!(d(None, &rec(B, "S-T", &[])), Decision::Add);
}

#[test]
fn same_owner_replaces_whatever_it_holds() {
    // Even a static local record, and even a released replica.
    for local in ["U-A", "G-A", "S-A", "M-A", "U-T"] {
        for replica in ["U-A", "G-T", "S-A", "M-T", "U-R"] {
            let r1 = rec(A, local, &[1]).fixed();
            assert_eq!(d(Some(&r1), &rec(A, replica, &[2])), Decision::Replace);
        }
    }
}

#[test]
fn static_local_record_is_kept_and_ours_propagates() {
    let replica_static = rec(B, "U-A", &[2]).fixed();
    assert_eq!(
        d(Some(&rec(A, "U-T", &[1]).fixed()), &rec(B, "U-A", &[2])),
        Decision::Keep
    );
    assert_eq!(
        d(Some(&rec(A, "U-A", &[1]).fixed()), &replica_static),
        Decision::Keep
    );
    // Ours and static against a dynamic replica: a new version (Samba).
    assert_eq!(
        d(Some(&rec(US, "U-A", &[1]).fixed()), &rec(B, "U-A", &[2])),
        Decision::Propagate
    );
    assert_eq!(
        d(Some(&rec(US, "U-A", &[1]).fixed()), &replica_static),
        Decision::Keep
    );
}

#[test]
fn static_replica_replaces_dynamic_record() {
    let r2 = rec(B, "U-T", &[2]).fixed();
    assert_eq!(d(Some(&rec(A, "G-A", &[1])), &r2), Decision::Replace);
    assert_eq!(d(Some(&rec(US, "U-A", &[1])), &r2), Decision::Replace);
}

#[test]
fn replica_claiming_to_be_ours_is_kept() {
    assert_eq!(
        d(Some(&rec(A, "U-T", &[1])), &rec(US, "U-A", &[2])),
        Decision::Keep
    );
}

// ---- Replica vs replica (reference e.2) -------------------------------------

#[test]
fn replica_unique_active_row() {
    replica_row("U-A", "RKRKKKRK");
}

#[test]
fn replica_unique_released_or_tombstone_row() {
    replica_row("U-R", "RRRRRRRR");
    replica_row("U-T", "RRRRRRRR");
}

#[test]
fn replica_group_active_row() {
    replica_row("G-A", "KKKKKKKK");
}

#[test]
fn replica_group_released_row() {
    replica_row("G-R", "KKRRKKKK");
}

#[test]
fn replica_group_tombstone_row() {
    replica_row("G-T", "KKRRRRRR");
}

#[test]
fn replica_sgroup_active_row() {
    replica_row("S-A", "KKKK.RKK");
}

#[test]
fn replica_sgroup_released_or_tombstone_row() {
    replica_row("S-R", "RRRRRRRR");
    replica_row("S-T", "RRRRRRRR");
}

#[test]
fn replica_mhomed_active_row() {
    replica_row("M-A", "RKRKKKRK");
}

#[test]
fn replica_mhomed_released_or_tombstone_row() {
    replica_row("M-R", "RRRRRRRR");
    replica_row("M-T", "RRRRRRRR");
}

// ---- Active special group vs active special group ---------------------------

#[test]
fn sgroup_vs_sgroup_replica_without_members() {
    let empty = rec(B, "S-A", &[]);
    let with_b = with_members(rec(A, "S-A", &[]), &[(A, 1), (B, 2)]);
    assert_eq!(d(Some(&with_b), &empty), Decision::MergeSpecialGroup);
    let without_b = with_members(rec(A, "S-A", &[]), &[(A, 1), (X, 2)]);
    assert_eq!(d(Some(&without_b), &empty), Decision::Keep);
}

#[test]
fn sgroup_vs_sgroup_local_superset_keeps() {
    let r1 = with_members(rec(A, "S-A", &[]), &[(A, 1), (B, 2), (X, 3)]);
    let r2 = with_members(rec(B, "S-A", &[]), &[(B, 2), (X, 3)]);
    assert_eq!(d(Some(&r1), &r2), Decision::Keep);
}

#[test]
fn sgroup_vs_sgroup_same_addresses_other_owners_replaces() {
    let r1 = rec(A, "S-A", &[3, 4]);
    let r2 = rec(B, "S-A", &[3, 4]);
    assert_eq!(d(Some(&r1), &r2), Decision::Replace);
}

#[test]
fn sgroup_vs_sgroup_otherwise_merges() {
    let r1 = rec(A, "S-A", &[3, 4]);
    let r2 = rec(B, "S-A", &[5, 6]);
    assert_eq!(d(Some(&r1), &r2), Decision::MergeSpecialGroup);
}

// ---- Owned record vs replica (reference e.3) --------------------------------

#[test]
fn owned_unique_or_mhomed_released_vs_anything_replaces() {
    for local in ["U-R", "M-R", "U-T"] {
        for replica in COLUMNS {
            let r1 = rec(US, local, &[1]);
            assert_eq!(d(Some(&r1), &rec(B, replica, &[2])), Decision::Replace);
        }
    }
}

#[test]
fn owned_unique_or_mhomed_active_vs_tombstone_propagates() {
    for local in ["U-A", "M-A"] {
        for replica in ["U-T", "G-T", "S-T", "M-T"] {
            assert_eq!(
                d(Some(&rec(US, local, &[1])), &rec(B, replica, &[1])),
                Decision::Propagate
            );
        }
    }
}

#[test]
fn owned_unique_or_mhomed_active_vs_group_active_demands_release() {
    for local in ["U-A", "M-A"] {
        for replica in ["G-A", "S-A"] {
            assert_eq!(
                d(Some(&rec(US, local, &[1])), &rec(B, replica, &[2])),
                Decision::ReleaseDemand
            );
        }
    }
}

#[test]
fn owned_unique_or_mhomed_active_vs_covering_unique_or_mhomed_replaces() {
    // Same address (SI), and a replica holding all of ours (SP, SM).
    assert_eq!(
        d(Some(&rec(US, "U-A", &[1])), &rec(B, "U-A", &[1])),
        Decision::Replace
    );
    assert_eq!(
        d(Some(&rec(US, "U-A", &[1])), &rec(B, "M-A", &[1, 2])),
        Decision::Replace
    );
    assert_eq!(
        d(Some(&rec(US, "M-A", &[1, 2])), &rec(B, "M-A", &[2, 1])),
        Decision::Replace
    );
}

#[test]
fn owned_unique_or_mhomed_active_vs_other_addresses_challenges() {
    assert_eq!(
        d(Some(&rec(US, "U-A", &[1])), &rec(B, "U-A", &[2])),
        Decision::Challenge
    );
    // The replica holds only one of our two (SB).
    assert_eq!(
        d(Some(&rec(US, "M-A", &[1, 2])), &rec(B, "M-A", &[1])),
        Decision::Challenge
    );
}

#[test]
fn owned_group_active_vs_group_active_replaces() {
    assert_eq!(
        d(Some(&rec(US, "G-A", &[1])), &rec(B, "G-A", &[2])),
        Decision::Replace
    );
}

#[test]
fn owned_group_active_vs_anything_else_propagates() {
    for replica in ["U-A", "U-T", "G-T", "S-A", "S-T", "M-A", "M-T"] {
        assert_eq!(
            d(Some(&rec(US, "G-A", &[1])), &rec(B, replica, &[2])),
            Decision::Propagate,
            "{replica}"
        );
    }
}

#[test]
fn owned_group_released_vs_group_replaces() {
    for replica in ["G-A", "G-T"] {
        assert_eq!(
            d(Some(&rec(US, "G-R", &[1])), &rec(B, replica, &[2])),
            Decision::Replace
        );
    }
}

#[test]
fn owned_group_released_vs_anything_else_propagates() {
    for replica in ["U-A", "U-T", "S-A", "S-T", "M-A", "M-T"] {
        assert_eq!(
            d(Some(&rec(US, "G-R", &[1])), &rec(B, replica, &[2])),
            Decision::Propagate,
            "{replica}"
        );
    }
}

#[test]
fn owned_sgroup_released_vs_anything_replaces() {
    for replica in COLUMNS {
        assert_eq!(
            d(Some(&rec(US, "S-R", &[1])), &rec(B, replica, &[2])),
            Decision::Replace
        );
    }
}

#[test]
fn owned_sgroup_active_vs_non_sgroup_or_tombstone_propagates() {
    for replica in ["U-A", "U-T", "G-A", "G-T", "S-T", "M-A", "M-T"] {
        assert_eq!(
            d(Some(&rec(US, "S-A", &[1])), &rec(B, replica, &[1])),
            Decision::Propagate,
            "{replica}"
        );
    }
}

#[test]
fn owned_sgroup_active_vs_same_members_keeps() {
    let r1 = with_members(rec(US, "S-A", &[]), &[(US, 1), (B, 2)]);
    let r2 = with_members(rec(B, "S-A", &[]), &[(B, 2), (US, 1)]);
    assert_eq!(d(Some(&r1), &r2), Decision::Keep);
}

#[test]
fn owned_sgroup_active_vs_other_members_merges_and_stays_ours() {
    let r1 = rec(US, "S-A", &[1]);
    let r2 = rec(B, "S-A", &[2]);
    assert_eq!(d(Some(&r1), &r2), Decision::MergeSpecialGroup);
    let m = merge_special_group(&r1.side(), &r2.side(), US, 25);
    assert!(m.take_ownership);
    assert_eq!(m.members.len(), 2);
}

// ---- The answer to a challenge (reference e.4) ------------------------------

#[test]
fn challenge_without_answer_or_negative_replaces() {
    let (r1, r2) = (rec(US, "U-A", &[1]), rec(B, "U-A", &[2]));
    assert_eq!(
        after_challenge(&r1.side(), &r2.side(), ChallengeAnswer::NoAnswer),
        ChallengeOutcome::Replace
    );
    assert_eq!(
        after_challenge(&r1.side(), &r2.side(), ChallengeAnswer::Negative),
        ChallengeOutcome::Replace
    );
}

#[test]
fn challenge_positive_without_the_replicas_addresses_keeps() {
    let (r1, r2) = (rec(US, "U-A", &[1]), rec(B, "U-A", &[2]));
    let held = [ip(1)];
    assert_eq!(
        after_challenge(&r1.side(), &r2.side(), ChallengeAnswer::Positive(&held)),
        ChallengeOutcome::Keep
    );
    // Answers with other addresses altogether (O).
    let other = [ip(7)];
    assert_eq!(
        after_challenge(&r1.side(), &r2.side(), ChallengeAnswer::Positive(&other)),
        ChallengeOutcome::Keep
    );
}

#[test]
fn challenge_positive_with_the_replicas_but_not_ours_demands_release_late() {
    let (r1, r2) = (rec(US, "M-A", &[1, 2]), rec(B, "M-A", &[1]));
    let held = [ip(1)];
    assert_eq!(
        after_challenge(&r1.side(), &r2.side(), ChallengeAnswer::Positive(&held)),
        ChallengeOutcome::LateReleaseDemand
    );
}

#[test]
fn challenge_positive_with_both_merges_multihomed() {
    let (r1, r2) = (rec(US, "M-A", &[1, 2]), rec(B, "U-A", &[1]));
    let held = [ip(1), ip(2)];
    assert_eq!(
        after_challenge(&r1.side(), &r2.side(), ChallengeAnswer::Positive(&held)),
        ChallengeOutcome::MergeMultihomed
    );
    let members = merge_multihomed(&r1.side(), &r2.side(), 25);
    assert_eq!(
        members,
        [
            Member {
                owner: B,
                address: ip(1)
            },
            Member {
                owner: US,
                address: ip(2)
            }
        ]
    );
}

// ---- The special-group merge (reference e.5) --------------------------------

#[test]
fn sgroup_merge_drops_members_the_owner_no_longer_lists_and_keeps_its_owner() {
    // r1 (from A) lists .1 of A and .2 of B; B's replica lists .3 only:
    // .2 is dropped (B no longer lists it), .1 stays with A; the record
    // keeps B's owner and version.
    let r1 = with_members(rec(A, "S-A", &[]), &[(A, 1), (B, 2)]);
    let r2 = with_members(rec(B, "S-A", &[]), &[(B, 3)]);
    let m = merge_special_group(&r1.side(), &r2.side(), US, 25);
    assert!(!m.take_ownership);
    assert_eq!(
        m.members,
        [
            Member {
                owner: A,
                address: ip(1)
            },
            Member {
                owner: B,
                address: ip(3)
            }
        ]
    );
}

#[test]
fn sgroup_merge_of_a_pure_superset_takes_ownership() {
    let r1 = rec(A, "S-A", &[1]);
    let r2 = with_members(rec(B, "S-A", &[]), &[(B, 2)]);
    let m = merge_special_group(&r1.side(), &r2.side(), US, 25);
    assert!(m.take_ownership);
    assert_eq!(m.members.len(), 2);
}

#[test]
fn sgroup_merge_never_exceeds_the_cap() {
    let r1 = rec(A, "S-A", &(1..=20).collect::<Vec<_>>());
    let r2 = rec(B, "S-A", &(21..=40).collect::<Vec<_>>());
    let m = merge_special_group(&r1.side(), &r2.side(), US, 25);
    assert_eq!(m.members.len(), 25);
}
