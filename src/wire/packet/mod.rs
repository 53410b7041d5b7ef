//! Whole NBNS packets (RFC 1002 §4.2), a file per job: the parsed view
//! ([`view`]: [`Packet`]), the message to build ([`message`]: [`Message`],
//! [`Sections`]), writing it ([`emit`]), classifying either ([`kind`]:
//! [`PacketKind`]) and the constructors of every packet kind ([`build`]).

mod build;
mod emit;
mod kind;
mod message;
mod view;

pub use kind::PacketKind;
pub use message::{Message, Sections};
pub use view::Packet;

#[cfg(test)]
mod tests;
