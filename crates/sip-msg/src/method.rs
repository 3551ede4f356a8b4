//! Request methods (RFC 3261 §7.1 and the extensions a server meets).

/// A request method. Methods are case-sensitive (RFC 3261 §7.1): `invite` is an
/// extension method, not INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// REGISTER (RFC 3261).
    Register,
    /// OPTIONS (RFC 3261).
    Options,
    /// INFO (RFC 6086).
    Info,
    /// UPDATE (RFC 3311).
    Update,
    /// PRACK (RFC 3262).
    Prack,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// PUBLISH (RFC 3903).
    Publish,
    /// Any other token; its text is in the message.
    Other,
}

impl Method {
    const KNOWN: [(&'static str, Method); 14] = [
        ("INVITE", Method::Invite),
        ("ACK", Method::Ack),
        ("BYE", Method::Bye),
        ("CANCEL", Method::Cancel),
        ("REGISTER", Method::Register),
        ("OPTIONS", Method::Options),
        ("INFO", Method::Info),
        ("UPDATE", Method::Update),
        ("PRACK", Method::Prack),
        ("SUBSCRIBE", Method::Subscribe),
        ("NOTIFY", Method::Notify),
        ("REFER", Method::Refer),
        ("MESSAGE", Method::Message),
        ("PUBLISH", Method::Publish),
    ];

    /// Recognises a method token (case-sensitive).
    pub fn from_token(token: &str) -> Method {
        Self::KNOWN
            .iter()
            .find(|(name, _)| *name == token)
            .map_or(Method::Other, |&(_, m)| m)
    }

    /// The method's name, `None` for [`Method::Other`].
    pub fn name(self) -> Option<&'static str> {
        Self::KNOWN
            .iter()
            .find(|(_, m)| *m == self)
            .map(|&(n, _)| n)
    }
}
