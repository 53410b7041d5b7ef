//! A tokio service holding two NetBIOS names at a WINS server: it
//! registers them, re-registers them (`nbtstat -RR`) on every line read
//! from stdin, and releases them on Ctrl-C or at the end of stdin.
//!
//! `cargo run --example embed_tokio --features tokio -- --wins 10.0.0.1:137 --bind 10.0.0.7:137`
use core::net::SocketAddrV4;

use clap::Parser;

use nbns::client::{ClientConfig, NameSpec};
use nbns::tokio::NameNode;
use nbns::wire::{Name, NetbiosName};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Holds two NetBIOS names at a WINS server; a line on stdin re-registers
/// them, Ctrl-C or the end of stdin releases them.
#[derive(Parser)]
#[command(name = "embed_tokio")]
struct Args {
    /// The WINS server.
    #[arg(long, value_name = "IP:PORT")]
    wins: SocketAddrV4,
    /// The address and port to register from.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:137")]
    bind: SocketAddrV4,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn core::error::Error>> {
    let Args { wins, bind } = Args::parse();
    let node = NameNode::bind(bind, ClientConfig::with_servers([wins])).await?;
    let me = [*node.local_addr().ip()];
    for suffix in [0x00, 0x20] {
        let name = Name::unscoped(NetbiosName::new("EMBEDDED", suffix)?);
        match node.register(NameSpec::unique(name, &me)).await {
            Ok(r) => println!("registered {} TTL {} s (WINS {})", r.name, r.ttl, r.server),
            Err(e) => println!("not registered {name}: {e}"),
        }
    }
    let mut events = node.events(); // refreshes, conflicts, defences, later on
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = stdin.next_line() => match line? {
                Some(_) => match node.reregister_all().await {
                    Ok(outcomes) => outcomes.iter().for_each(|o| println!("re-registered {o}")),
                    Err(e) => println!("re-register refused: {e}"),
                },
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            Ok(event) = events.recv() => println!("event: {event}"),
        }
    }
    for (name, outcome) in node.shutdown().await {
        println!("released {name}: {outcome}");
    }
    Ok(())
}
