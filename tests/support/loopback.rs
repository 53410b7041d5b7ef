//! The tokio driver's WINS server on loopback, for the tests of the driver
//! and of the programs built on it: ephemeral ports, no root.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use nbns::server::{Durability, ServerConfig, WinsServer};
use nbns::tokio::ServerRunner;
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// The IPv4 address of a socket bound to an IPv4 address (panics on IPv6).
pub(crate) fn v4(a: SocketAddr) -> SocketAddrV4 {
    match a {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(_) => panic!("IPv4 expected"),
    }
}

/// A volatile WINS server on 127.0.0.1, on an ephemeral port.
pub(crate) async fn wins() -> ServerRunner {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let mut config = ServerConfig::default();
    config.durability = Durability::Volatile;
    let server = WinsServer::new(config, Instant::now().into_std());
    ServerRunner::spawn(socket, server, None).unwrap()
}
