//! The crate's own WINS server, in-process on loopback, for `-RR` with no
//! `--wins`: a demonstration that needs no privileges and no network.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::io;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use nbns::server::{Durability, ServerConfig, WinsServer};
use nbns::wire::NetbiosName;

pub(crate) struct Embedded {
    pub(crate) addr: SocketAddrV4,
    server: Arc<Mutex<WinsServer>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Embedded {
    /// Starts the server on 127.0.0.1 with an ephemeral port.
    pub(crate) fn start() -> io::Result<Self> {
        let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = match sock.local_addr()? {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => return Err(io::Error::other("IPv6 socket")),
        };
        let mut config = ServerConfig::default();
        config.address = *addr.ip();
        // in memory only: nothing to persist, answers go out at once
        config.durability = Durability::Volatile;
        let server = Arc::new(Mutex::new(WinsServer::new(config, Instant::now())));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let server = Arc::clone(&server);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || serve(&sock, &server, &stop))
        };
        Ok(Self {
            addr,
            server,
            stop,
            thread: Some(thread),
        })
    }

    /// The version ID of `name`'s record, if there is one.
    pub(crate) fn version(&self, name: NetbiosName) -> Option<u64> {
        let server = self.server.lock().unwrap_or_else(PoisonError::into_inner);
        server.record(name, b"").map(|r| r.version())
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(sock: &UdpSocket, server: &Mutex<WinsServer>, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let wait = {
            let s = server.lock().unwrap_or_else(PoisonError::into_inner);
            s.poll_timeout().map_or(Duration::MAX, |t| {
                t.saturating_duration_since(Instant::now())
            })
        };
        let wait = wait.clamp(Duration::from_millis(1), Duration::from_millis(50));
        let _ = sock.set_read_timeout(Some(wait));
        let received = sock.recv_from(&mut buf);
        let mut s = server.lock().unwrap_or_else(PoisonError::into_inner);
        match received {
            Ok((n, SocketAddr::V4(from))) => {
                s.handle_datagram(Instant::now(), from, buf.get(..n).unwrap_or_default());
            }
            _ => s.handle_timeout(Instant::now()),
        }
        while let Some(t) = s.poll_transmit() {
            // Only loopback peers exist here: never send anywhere else.
            if t.destination.ip().is_loopback() {
                let _ = sock.send_to(&t.contents, t.destination);
            }
        }
        while s.poll_event().is_some() {}
    }
}
