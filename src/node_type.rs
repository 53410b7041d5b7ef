//! Node types as configuration: which of the two ways of finding a name on
//! the network a node uses, and in which order (RFC 1001 §10; H-nodes from
//! \[HYBRID\], draft-noon-hybrid-netbios, which MS-NBTE §3.1.1 adopts;
//! Windows' `NodeType` registry value).
//!
//! The type is the wire's [`NodeType`] (the ONT field of NB_FLAGS, RFC 1002
//! §4.2.1.3): a node announces in its registrations the type it behaves as,
//! so one enum serves both. Its four values cover the two ONT bits, so it is
//! total without an `Unknown` variant. What each type does:
//!
//! | type | name queries and registrations | source |
//! |---|---|---|
//! | B | broadcast only | RFC 1001 §10.1, RFC 1002 §5.1.1 |
//! | P | the name server (WINS) only | RFC 1001 §10.2, RFC 1002 §5.1.2 |
//! | M | broadcast first, then the name server | RFC 1001 §10.3, RFC 1002 §5.1.3 |
//! | H | the name server first; broadcast when every name server is silent | \[HYBRID\], MS-NBTE §3.1.1 (ONT value 3, reserved in RFC 1002) |
//!
//! Windows stores the type as the `NodeType` registry value of NetBT
//! (1 = B, 2 = P, 4 = M, 8 = H; [`NodeType::from_registry_value`]). A node
//! with no WINS server configured behaves as B, one with a server as H.

pub use crate::wire::NodeType;

/// One way of finding a name: the two columns of RFC 1001 §10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Unicast to a NetBIOS name server (WINS), with RD set (RFC 1002
    /// §4.2.12).
    NameServer,
    /// Broadcast to the local subnet, with B set (RFC 1002 §5.1.1).
    Broadcast,
}

impl core::fmt::Display for Method {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::NameServer => "name server",
            Self::Broadcast => "broadcast",
        })
    }
}

impl NodeType {
    /// The methods this type uses to query (and register) a name, in the
    /// order it tries them (see the module documentation).
    ///
    /// ```
    /// use nbns::node_type::{Method, NodeType};
    /// assert_eq!(NodeType::H.methods(), &[Method::NameServer, Method::Broadcast]);
    /// assert_eq!(NodeType::M.methods(), &[Method::Broadcast, Method::NameServer]);
    /// ```
    #[must_use]
    pub const fn methods(self) -> &'static [Method] {
        match self {
            Self::B => &[Method::Broadcast],
            Self::P => &[Method::NameServer],
            Self::M => &[Method::Broadcast, Method::NameServer],
            Self::H => &[Method::NameServer, Method::Broadcast],
        }
    }

    /// Whether the type ever broadcasts.
    #[must_use]
    pub const fn uses_broadcast(self) -> bool {
        !matches!(self, Self::P)
    }

    /// Whether the type ever talks to a name server.
    #[must_use]
    pub const fn uses_name_server(self) -> bool {
        !matches!(self, Self::B)
    }

    /// The type Windows' NetBT `NodeType` registry value (or the DHCP
    /// option 46 byte, RFC 2132 §8.7) names: 1 B, 2 P, 4 M, 8 H; `None` for
    /// any other value.
    ///
    /// ```
    /// use nbns::node_type::NodeType;
    /// assert_eq!(NodeType::from_registry_value(8), Some(NodeType::H));
    /// assert_eq!(NodeType::from_registry_value(3), None);
    /// ```
    #[must_use]
    pub const fn from_registry_value(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::B),
            2 => Some(Self::P),
            4 => Some(Self::M),
            8 => Some(Self::H),
            _ => None,
        }
    }

    /// The registry (and DHCP option 46) value of the type.
    #[must_use]
    pub const fn registry_value(self) -> u32 {
        match self {
            Self::B => 1,
            Self::P => 2,
            Self::M => 4,
            Self::H => 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_values_round_trip_and_others_are_none() {
        for t in [NodeType::B, NodeType::P, NodeType::M, NodeType::H] {
            assert_eq!(NodeType::from_registry_value(t.registry_value()), Some(t));
            assert_eq!(t.uses_broadcast(), t.methods().contains(&Method::Broadcast));
            assert_eq!(
                t.uses_name_server(),
                t.methods().contains(&Method::NameServer)
            );
        }
        for v in [0, 3, 5, 6, 7, 9, 16, u32::MAX] {
            assert_eq!(NodeType::from_registry_value(v), None);
        }
    }
}
