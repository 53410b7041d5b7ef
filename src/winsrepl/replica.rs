//! A name record as a replication partner holds it between the wire and
//! the database: owned, with its owner (MS-WINSRA 3.1.1.1).
//!
//! On the wire a name record carries no owner: the owner is the one the
//! Name Records Request named (MS-WINSRA 2.2.9, 2.2.10). [`Replica`] adds
//! it, so that one value travels from a parsed reply to
//! [`ReplicationDb::apply_replica`](crate::winsrepl::ReplicationDb::apply_replica)
//! and from [`ReplicationDb::records`](crate::winsrepl::ReplicationDb::records)
//! to an emitted reply.

use core::net::Ipv4Addr;

use crate::winsrepl::conflict::RecordSide;
use crate::winsrepl::{
    Addresses, AddressesRepr, MAX_SCOPE_LEN, Member, NameRecord, NameRecordRepr, RecordFlags,
    RecordState, RecordType,
};
use crate::wire::NetbiosName;

/// Most members a special group or multihomed record holds: Samba treats a
/// record with more as corrupt and replication never adds a 26th
/// (MS-NBTE 3.2.1 asks for at least 25).
pub const MAX_MEMBERS: usize = 25;

/// The scope a replica keeps at most: Windows 2008 and Samba cut longer
/// scopes to 237 bytes on apply.
pub const MAX_REPLICA_SCOPE_LEN: usize = 237;

/// The addresses of a [`Replica`], by entry type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReplicaAddresses {
    /// Unique and normal group records: one address (a normal group sends
    /// 255.255.255.255 or a member; the owner of the record owns it).
    Single(Ipv4Addr),
    /// Special group and multihomed records: at most [`MAX_MEMBERS`]
    /// members, each with its own owner (MS-WINSRA 2.2.10.1.1.1).
    List(Vec<Member>),
}

/// Why a parsed name record cannot become a [`Replica`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplicaError {
    /// The Name field is shorter than 17 bytes or does not end in 0x00.
    #[error("name field not in the normal form")]
    BadName,
    /// More than [`MAX_MEMBERS`] members.
    #[error("{0} members, more than the 25 a record holds")]
    TooManyMembers(usize),
    /// The address form does not suit the entry type (the parser follows
    /// the ET bits, so only a hand-built record gets this).
    #[error("address form does not match the entry type")]
    AddressForm,
}

/// One name record with its owner (MS-WINSRA 3.1.1.1): name, scope, flags,
/// version, owner and addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Replica {
    /// The NetBIOS name (the 0x1B swap undone).
    pub name: NetbiosName,
    /// The scope as dotted text, at most [`MAX_REPLICA_SCOPE_LEN`] bytes.
    pub scope: Vec<u8>,
    /// Type, state, node type, static flag (and the L bit as received).
    pub flags: RecordFlags,
    /// The owner's version ID of this record.
    pub version: u64,
    /// The WINS server that owns the record.
    pub owner: Ipv4Addr,
    /// The address or the member list.
    pub addresses: ReplicaAddresses,
}

impl Replica {
    /// A record from a Name Records Response for `owner`'s records
    /// (MS-WINSRA 2.2.10.1). The scope is cut to 237 bytes as Samba and
    /// Windows 2008 do.
    ///
    /// # Errors
    /// A [`ReplicaError`] for a name not in the normal form or more than
    /// 25 members.
    pub fn from_wire(record: &NameRecord<'_>, owner: Ipv4Addr) -> Result<Self, ReplicaError> {
        if !record.name.is_canonical() {
            return Err(ReplicaError::BadName);
        }
        let name = record.name.netbios().ok_or(ReplicaError::BadName)?;
        let scope = record.name.scope();
        let scope = scope.get(..MAX_REPLICA_SCOPE_LEN).unwrap_or(scope).to_vec();
        let addresses = match record.addresses {
            Addresses::Single(a) => ReplicaAddresses::Single(a),
            Addresses::List(members) => {
                if members.len() > MAX_MEMBERS {
                    return Err(ReplicaError::TooManyMembers(members.len()));
                }
                ReplicaAddresses::List(members.iter().collect())
            }
        };
        Ok(Self {
            name,
            scope,
            flags: record.flags,
            version: record.version,
            owner,
            addresses,
        })
    }

    /// The entry type.
    #[must_use]
    pub fn record_type(&self) -> RecordType {
        self.flags.record_type()
    }

    /// The state.
    #[must_use]
    pub fn state(&self) -> RecordState {
        self.flags.state()
    }

    /// The members as (owner, address) pairs: the list, or the single
    /// address owned by the record's owner.
    #[must_use]
    pub fn members(&self) -> &[Member] {
        match &self.addresses {
            ReplicaAddresses::List(list) => list,
            ReplicaAddresses::Single(_) => &[],
        }
    }

    /// What the conflict rules look at.
    #[must_use]
    pub fn side(&self) -> RecordSide<'_> {
        let single = match self.addresses {
            ReplicaAddresses::Single(address) => Some(Member {
                owner: self.owner,
                address,
            }),
            ReplicaAddresses::List(_) => None,
        };
        RecordSide {
            owner: self.owner,
            record_type: self.record_type(),
            state: self.state(),
            is_static: self.flags.is_static(),
            single,
            list: self.members(),
        }
    }

    /// The record to emit, with the L (replica) bit set when `sender` is
    /// not its owner (MS-WINSRA 2.2.10.1).
    ///
    /// # Errors
    /// [`ReplicaError::AddressForm`] when the address form does not suit
    /// the entry type.
    pub fn to_repr(&self, sender: Ipv4Addr) -> Result<NameRecordRepr<'_>, ReplicaError> {
        let addresses = match (&self.addresses, self.record_type().has_list()) {
            (ReplicaAddresses::Single(a), false) => AddressesRepr::Single(*a),
            (ReplicaAddresses::List(list), true) => AddressesRepr::List(list),
            _ => return Err(ReplicaError::AddressForm),
        };
        let scope = self.scope.get(..MAX_SCOPE_LEN).unwrap_or(&self.scope);
        let flags = self.flags.with_replica(sender != self.owner);
        Ok(NameRecordRepr::new(self.name, flags, self.version, addresses).with_scope(scope))
    }

    /// Bytes the record takes in a Name Records Response.
    #[must_use]
    pub fn wire_len(&self) -> usize {
        let name = 17 + self.scope.len().min(MAX_SCOPE_LEN);
        let addresses = match &self.addresses {
            ReplicaAddresses::Single(_) => 4,
            ReplicaAddresses::List(list) => 4 + Member::LEN * list.len(),
        };
        4 + name + (4 - name % 4) + 16 + addresses + 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winsrepl::{Body, Message, MessageRepr};
    use crate::wire::NodeType;

    #[test]
    fn wire_and_back() {
        let owner = Ipv4Addr::new(10, 0, 0, 1);
        let members = vec![
            Member {
                owner,
                address: Ipv4Addr::new(10, 0, 0, 5),
            },
            Member {
                owner: Ipv4Addr::new(10, 0, 0, 2),
                address: Ipv4Addr::new(10, 0, 0, 6),
            },
        ];
        let r = Replica {
            name: NetbiosName::new("DOM", 0x1B).unwrap(),
            scope: b"corp".to_vec(),
            flags: RecordFlags::new(RecordType::Multihomed, RecordState::Active, NodeType::M),
            version: 77,
            owner,
            addresses: ReplicaAddresses::List(members),
        };
        let repr = r.to_repr(Ipv4Addr::new(10, 0, 0, 9)).unwrap();
        assert!(repr.flags.is_replica());
        assert_eq!(repr.buffer_len(), r.wire_len());
        let records = [repr];
        let mut bytes = Vec::new();
        MessageRepr::send_reply(1, &records)
            .emit_buf(&mut bytes)
            .unwrap();
        let m = Message::parse(&bytes).unwrap();
        let Body::SendReply(list) = m.body else {
            panic!("not a reply")
        };
        let back = Replica::from_wire(&list.iter().next().unwrap(), owner).unwrap();
        assert_eq!(back.flags, r.flags.with_replica(true));
        assert_eq!(
            Replica {
                flags: r.flags,
                ..back
            },
            r
        );
        let own = r.to_repr(owner).unwrap();
        assert!(!own.flags.is_replica());
    }

    #[test]
    fn form_mismatch_is_refused() {
        let r = Replica {
            name: NetbiosName::new("X", 0).unwrap(),
            scope: Vec::new(),
            flags: RecordFlags::new(RecordType::SpecialGroup, RecordState::Active, NodeType::B),
            version: 1,
            owner: Ipv4Addr::LOCALHOST,
            addresses: ReplicaAddresses::Single(Ipv4Addr::LOCALHOST),
        };
        assert_eq!(
            r.to_repr(Ipv4Addr::LOCALHOST),
            Err(ReplicaError::AddressForm)
        );
    }
}
