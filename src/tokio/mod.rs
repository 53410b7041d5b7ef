//! Drivers for the tokio runtime (feature `tokio`): the sans-IO
//! [`NameClient`](crate::client::NameClient) and
//! [`WinsServer`](crate::server::WinsServer) on UDP sockets, as quinn
//! drives quinn-proto. The state machines stay as they are; a driver
//! owns the socket, the timers and the polling order of the
//! [run loop](crate#the-run-loop).
//!
//! * [`NameNode`]: register, release and re-register names, with a
//!   stream of what happens later.
//! * [`ServerRunner`]: a WINS server on a UDP socket, committing its
//!   durable changes through a [`Persist`] store before it answers; with
//!   [`RunnerBuilder::replication`], also a WINS replication partner on
//!   TCP (port 42).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use core::net::{Ipv4Addr, SocketAddrV4};
//! use nbns::client::{ClientConfig, NameSpec};
//! use nbns::tokio::NameNode;
//! use nbns::wire::{Name, NetbiosName};
//!
//! let me = Ipv4Addr::new(10, 0, 0, 7);
//! let config = ClientConfig::with_servers(["10.0.0.1:137".parse()?]);
//! let node = NameNode::bind(SocketAddrV4::new(me, 137), config).await?;
//! let name = Name::unscoped(NetbiosName::new("MYHOST", 0x20)?);
//! let granted = node.register(NameSpec::unique(name, &[me])).await?;
//! println!("{} registered for {} s", granted.name, granted.ttl);
//! for outcome in node.reregister_all().await? {
//!     println!("{outcome}");
//! }
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod node;
mod replication;
mod server;

pub use node::{
    EVENT_CAPACITY, HeldName, NameNode, NodeOptions, RegisterError, Registration, ReleaseError,
    ReregisterError,
};
pub use replication::{CONNECT_TIMEOUT, WRITE_TIMEOUT};
pub use server::{
    CommitRetry, Inspect, Persist, RunnerBuilder, RunnerError, ServerRunner, StoreFailure,
};
