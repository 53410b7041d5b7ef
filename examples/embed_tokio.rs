//! A tokio service holding two NetBIOS names at a WINS server: it
//! registers them, re-registers them (`nbtstat -RR`) on every line read
//! from stdin, and releases them on Ctrl-C or at the end of stdin.
//!
//! `cargo run --example embed_tokio --features tokio -- --wins 10.0.0.1:137 --bind 10.0.0.7:137`
use core::net::{Ipv4Addr, SocketAddrV4};

use nbns::client::{ClientConfig, NameSpec};
use nbns::tokio::NameNode;
use nbns::wire::{Name, NetbiosName};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn core::error::Error>> {
    let (mut wins, mut bind) = (None, SocketAddrV4::new(Ipv4Addr::LOCALHOST, 137));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .ok_or("usage: embed_tokio --wins IP:PORT [--bind IP:PORT]")?;
        match arg.as_str() {
            "--wins" => wins = Some(value.parse()?),
            "--bind" => bind = value.parse()?,
            _ => return Err(format!("unknown argument {arg}").into()),
        }
    }
    let wins: SocketAddrV4 = wins.ok_or("--wins IP:PORT is required")?;
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
