//! A driver that interprets arbitrary bytes as a sequence of inputs to a
//! [`NameClient`] and checks its invariants; shared by the property tests
//! and the fuzz target.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use super::{ClientConfig, NameClient, NameSpec};
use crate::wire::{
    Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeType, Packet, Rcode, RrType,
};

const SERVERS: [SocketAddrV4; 2] = [
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137),
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 137),
];
const ME: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 0, 0, 7), Ipv4Addr::new(10, 1, 0, 7)];
const OWNER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 137);

/// Drives a client with two servers through the inputs `data` encodes —
/// datagrams from servers and strangers (raw, or forged answers to what the
/// client last sent), clock jumps and commands — and panics if an invariant
/// breaks: a deadline in the past after `handle_timeout`, more pending
/// transactions than names, or an unbounded transmit queue. The client
/// itself must never panic.
#[doc(hidden)]
pub fn fuzz_drive(data: &[u8]) {
    let mut input = data.iter().copied();
    let mut next = move || input.next();
    let config = ClientConfig::with_servers(SERVERS);
    let seed = u64::from(next().unwrap_or(0));
    let mut c = NameClient::with_deterministic_ids(config, seed);
    let start = Instant::now();
    let mut now = start;
    let mut last: Vec<Vec<u8>> = Vec::new();
    let names: Vec<Name<'static>> = [b"A", b"B", b"C", b"*"]
        .iter()
        .filter_map(|n| NetbiosName::from_bytes(&n[..], 0).ok())
        .map(Name::unscoped)
        .collect();
    let mut steps = 0;
    while let Some(op) = next() {
        steps += 1;
        if steps > 4096 {
            break;
        }
        let pick = next().unwrap_or(0);
        match op % 8 {
            0 => {
                // A raw datagram.
                let len = usize::from(next().unwrap_or(0));
                let bytes: Vec<u8> = (0..len).map_while(|_| next()).collect();
                let from = source(pick);
                c.handle_datagram(now, from, &bytes);
            }
            1 => {
                // Time passes.
                let ms = u64::from(next().unwrap_or(0)) * u64::from(pick).max(1) * 50;
                now += Duration::from_millis(ms);
                c.handle_timeout(now);
                if let Some(t) = c.poll_timeout() {
                    assert!(t > now, "deadline not after handle_timeout's now");
                }
            }
            2 => {
                // Jump to the next deadline.
                if let Some(t) = c.poll_timeout() {
                    now = now.max(t);
                    c.handle_timeout(now);
                }
            }
            3 | 4 => {
                // A forged or genuine answer to something we sent.
                let kind = next().unwrap_or(0);
                let ttl = u32::from(next().unwrap_or(0)) * 7;
                if let Some(req) = last.get(usize::from(pick) % last.len().max(1))
                    && let Ok(p) = Packet::parse(req)
                    && let Some(bytes) = answer(&p, kind, ttl)
                {
                    let from = if pick & 0x80 == 0 {
                        SERVERS[usize::from(pick & 1)]
                    } else {
                        source(pick)
                    };
                    c.handle_datagram(now, from, &bytes);
                }
            }
            5 => {
                let n = names[usize::from(pick) % names.len()];
                let addrs = &ME[..1 + usize::from(pick & 0x40 != 0)];
                let spec = if pick & 0x20 != 0 {
                    NameSpec::group(n, addrs)
                } else {
                    NameSpec::unique(n, addrs)
                };
                let _ = c.add_name(now, spec);
            }
            6 => {
                let n = names[usize::from(pick) % names.len()];
                let _ = c.release(now, n);
            }
            _ => match pick % 3 {
                0 => c.release_all(now),
                1 => c.refresh_now(now),
                _ => {
                    let _ = c.reregister_all(now);
                }
            },
        }
        assert!(c.by_id.len() <= c.len());
        let bound = 3 * c.len() + c.config().max_queued_answers + 1;
        assert!(c.transmits.len() <= bound, "transmit queue unbounded");
        let drained: Vec<Vec<u8>> = core::iter::from_fn(|| c.poll_transmit())
            .map(|t| t.contents)
            .collect();
        if !drained.is_empty() {
            last = drained;
        }
        while c.poll_event().is_some() {}
        let _ = c.names().count();
    }
}

fn source(pick: u8) -> SocketAddrV4 {
    match pick % 4 {
        0 | 1 => SERVERS[usize::from(pick % 2)],
        2 => OWNER,
        _ => SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, pick), u16::from(pick) * 3),
    }
}

/// Builds some answer to `req`, chosen by `kind`.
fn answer(req: &Packet<'_>, kind: u8, ttl: u32) -> Option<Vec<u8>> {
    let name = req.question()?.name;
    let entry = req
        .additional()
        .and_then(|r| r.nb())
        .and_then(|n| n.first())
        .unwrap_or(NbAddrEntry::new(
            NbFlags::new(false, NodeType::H),
            OWNER.ip().to_owned(),
        ));
    let id = req.id.wrapping_add(u16::from(kind >> 6 == 3));
    let p = match kind % 10 {
        0 => Message::positive_registration_response(id, name, ttl, entry),
        1 => Message::negative_registration_response(id, name, Rcode::from(kind >> 4), entry),
        2 => Message::wack(id, name, ttl, req.flags, RrType::Nb),
        3 => {
            let owner = NbAddrEntry::new(entry.flags, *OWNER.ip());
            Message::end_node_challenge_response(id, name, ttl, owner)
        }
        4 => Message::positive_release_response(id, name, entry),
        5 => Message::negative_release_response(id, name, Rcode::from(kind >> 4), entry),
        6 => Message::positive_name_query_response(id, name, ttl, NbAddrs::one(entry)),
        7 => Message::negative_name_query_response(id, name, Rcode::NameError),
        8 => Message::name_conflict_demand(id, name, NodeType::B),
        _ => Message::registration_request(id, name, ttl, entry, kind & 1 == 0),
    };
    let mut v = Vec::new();
    p.emit_buf(&mut v).ok()?;
    Some(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn drives_without_panicking() {
        super::fuzz_drive(&[]);
        super::fuzz_drive(&[1, 5, 0, 3, 0, 0, 0, 2, 0, 1, 9, 9, 7, 2, 2, 0]);
        let mut seq = vec![0u8];
        for i in 0..2000u32 {
            seq.push((i * 37 % 251) as u8);
        }
        super::fuzz_drive(&seq);
    }
}
