//! The connect form: what the user typed, checked into a [`ConnectTarget`] with one clear message
//! per mistake. No I/O here: host names are looked up by the network driver.

use sans_io_proto::frame::RoomName;

use crate::identity_store::MIN_PASSPHRASE_LEN;

/// The relay address used when the user does not type one.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The default relay port.
pub const DEFAULT_PORT: u16 = 4433;

/// The connect form's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectForm {
    /// Display name (also selects the profile: one identity per name).
    pub display_name: String,
    /// Passphrase of the identity file.
    pub passphrase: String,
    /// Passphrase again, when creating a new identity.
    pub passphrase_repeat: String,
    /// Relay address `host:port`.
    pub relay: String,
    /// The relay certificate's SHA-256 pin (empty: the relay on this computer).
    pub pin: String,
    /// The room to join.
    pub room: String,
}

impl Default for ConnectForm {
    fn default() -> Self {
        ConnectForm {
            display_name: String::new(),
            passphrase: String::new(),
            passphrase_repeat: String::new(),
            relay: crate::DEFAULT_RELAY.to_owned(),
            pin: String::new(),
            room: String::new(),
        }
    }
}

/// What an error message was about: when the form no longer matches, the message goes away (a
/// "passphrase too short" does not stay after the name changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSnapshot {
    display_name: String,
    relay: String,
    pin: String,
    room: String,
    passphrase_len: usize,
    repeat_len: usize,
}

impl ConnectForm {
    /// The fields an error message refers to (passphrases by length only).
    pub fn snapshot(&self) -> FormSnapshot {
        FormSnapshot {
            display_name: self.display_name.clone(),
            relay: self.relay.clone(),
            pin: self.pin.clone(),
            room: self.room.clone(),
            passphrase_len: self.passphrase.len(),
            repeat_len: self.passphrase_repeat.len(),
        }
    }
}

/// A relay address: a host name or IP address, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayAddress {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port, 1..=65535.
    pub port: u16,
}

impl RelayAddress {
    /// The default address: the relay on this computer.
    pub fn default_local() -> Self {
        RelayAddress {
            host: DEFAULT_HOST.into(),
            port: DEFAULT_PORT,
        }
    }

    /// Whether this is this computer (a loopback address or `localhost`).
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether this is the default address (where the app may start a relay by itself).
    pub fn is_default(&self) -> bool {
        self.port == DEFAULT_PORT
            && (self.host == DEFAULT_HOST || self.host.eq_ignore_ascii_case("localhost"))
    }
}

impl core::fmt::Display for RelayAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parses `host:port` (or `[v6]:port`), with one message per kind of mistake.
pub fn parse_relay(input: &str) -> Result<RelayAddress, String> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(RelayAddress::default_local());
    }
    let example = crate::DEFAULT_RELAY;
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("\"{s}\": a bracketed IPv6 address needs its closing ']'"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| format!("\"{s}\" has no port: write [address]:port, e.g. [::1]:4433"))?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("\"{host}\" is not an IPv6 address"));
        }
        (host, port)
    } else {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("\"{s}\" has no port: write host:port, e.g. {example}"))?;
        if host.contains(':') {
            return Err(format!(
                "\"{s}\": put an IPv6 address in brackets, e.g. [::1]:4433"
            ));
        }
        (host, port)
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "\"{port}\" is not a port number: use 1 to 65535, e.g. {example}"
        ));
    }
    let port = match port.parse::<u32>() {
        Ok(p @ 1..=65535) => p as u16,
        _ => {
            return Err(format!(
                "Port {port} is out of range: a port is a number from 1 to 65535."
            ));
        }
    };
    if host.is_empty() {
        return Err(format!(
            "\"{s}\" has no host: write host:port, e.g. {example}"
        ));
    }
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    let hostname_ok = host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !is_ip && !hostname_ok {
        return Err(format!(
            "\"{host}\" is not a host name or IP address (letters, digits, '-' and '.')"
        ));
    }
    Ok(RelayAddress {
        host: host.to_owned(),
        port,
    })
}

/// Whether the app may start a relay inside the window when none answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalRelay {
    /// Start one if nobody answers (the default address, or the user said yes).
    StartIfNoneAnswers,
    /// Never: report that nobody answered (and, on a loopback address, offer to start one).
    Never,
}

/// A checked form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTarget {
    /// The display name.
    pub display_name: String,
    /// The relay.
    pub relay: RelayAddress,
    /// The pin, if typed.
    pub pin: Option<[u8; 32]>,
    /// The room.
    pub room: RoomName,
    /// Whether a relay may be started here.
    pub local_relay: LocalRelay,
}

/// Checks the form. `creating`: no identity exists for this name yet (the passphrase is then
/// typed twice and must be long enough); `unlocked`: this name's identity is open already (no
/// passphrase needed). `may_start_relay`: the settings allow an in-process
/// relay; `confirmed_local`: the user agreed to start one at this address.
pub fn validate(
    form: &ConnectForm,
    creating: bool,
    unlocked: bool,
    may_start_relay: bool,
    confirmed_local: Option<&RelayAddress>,
) -> Result<ConnectTarget, String> {
    let name = form.display_name.trim();
    if name.is_empty() {
        return Err("Enter a display name (your peer sees it; it also picks your identity on this computer).".into());
    }
    if name.chars().count() > crate::text::MAX_NAME_CHARS || crate::text::clean_name(name) != name {
        return Err(format!(
            "A display name is 1 to {} visible characters on one line.",
            crate::text::MAX_NAME_CHARS
        ));
    }
    if form.passphrase.is_empty() && !unlocked {
        return Err(
            "Enter your passphrase (it protects your identity key on this computer).".into(),
        );
    }
    if creating && !unlocked {
        if form.passphrase.chars().count() < MIN_PASSPHRASE_LEN {
            return Err(format!(
                "Choose a passphrase of at least {MIN_PASSPHRASE_LEN} characters for your new identity."
            ));
        }
        if form.passphrase != form.passphrase_repeat {
            return Err("The two passphrases differ.".into());
        }
    }
    let room = RoomName::new(form.room.trim()).map_err(|_| {
        "Enter a room name: 1 to 64 letters, digits, '.', '_' or '-' (share it with your peer)."
            .to_string()
    })?;
    let relay = parse_relay(&form.relay)?;
    let pin = match form.pin.trim() {
        "" => None,
        p => Some(quic_relay::cert::parse_fingerprint(p).map_err(|e| {
            format!(
                "Certificate pin: {e} (64 hexadecimal digits, printed by the relay when it starts)."
            )
        })?),
    };
    if pin.is_none() && !relay.is_loopback() {
        return Err(format!(
            "Enter the certificate pin of the relay at {relay}: it proves you reach that relay and \
             nobody in between (the relay prints it when it starts)."
        ));
    }
    let local_relay = if may_start_relay
        && pin.is_none()
        && (relay.is_default() || confirmed_local == Some(&relay))
    {
        LocalRelay::StartIfNoneAnswers
    } else {
        LocalRelay::Never
    };
    Ok(ConnectTarget {
        display_name: name.to_owned(),
        relay,
        pin,
        room,
        local_relay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ConnectForm {
        ConnectForm {
            display_name: "Alice".into(),
            passphrase: "long passphrase".into(),
            passphrase_repeat: "long passphrase".into(),
            room: "demo".into(),
            ..ConnectForm::default()
        }
    }

    #[test]
    fn each_address_mistake_has_its_own_message() {
        assert_eq!(parse_relay("").unwrap(), RelayAddress::default_local());
        assert_eq!(
            parse_relay("relay.example.org:4433").unwrap().host,
            "relay.example.org"
        );
        assert_eq!(parse_relay("[::1]:9").unwrap().host, "::1");
        // `nonsense:4433` is a well-formed host name: the driver looks it up and says it found
        // nothing; here it is accepted, unlike the malformed ones below.
        assert!(parse_relay("nonsense:4433").is_ok());
        assert!(
            parse_relay("127.0.0.1:70000")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            parse_relay("127.0.0.1:0")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_relay("127.0.0.1").unwrap_err().contains("no port"));
        assert!(
            parse_relay("127.0.0.1:http")
                .unwrap_err()
                .contains("not a port number")
        );
        assert!(
            parse_relay("not an address:1")
                .unwrap_err()
                .contains("not a host name")
        );
        assert!(parse_relay(":4433").unwrap_err().contains("no host"));
        assert!(parse_relay("::1:4433").unwrap_err().contains("brackets"));
    }

    #[test]
    fn a_relay_starts_here_only_on_the_default_address_or_when_confirmed() {
        let t = validate(&form(), true, false, true, None).unwrap();
        assert_eq!(t.local_relay, LocalRelay::StartIfNoneAnswers);
        let mut f = form();
        f.relay = "127.0.0.1:1".into();
        let t = validate(&f, true, false, true, None).unwrap();
        assert_eq!(
            t.local_relay,
            LocalRelay::Never,
            "a typo must not start a relay"
        );
        let confirmed = parse_relay("127.0.0.1:1").unwrap();
        let t = validate(&f, true, false, true, Some(&confirmed)).unwrap();
        assert_eq!(t.local_relay, LocalRelay::StartIfNoneAnswers);
        // Settings can forbid it; a typed pin means "that relay", never ours.
        assert_eq!(
            validate(&form(), true, false, false, None)
                .unwrap()
                .local_relay,
            LocalRelay::Never
        );
        let mut f = form();
        f.pin = "ab".repeat(32);
        assert_eq!(
            validate(&f, true, false, true, None).unwrap().local_relay,
            LocalRelay::Never
        );
    }

    #[test]
    fn the_form_names_each_mistake() {
        let mut f = form();
        f.display_name = " ".into();
        assert!(
            validate(&f, true, false, true, None)
                .unwrap_err()
                .contains("display name")
        );
        let mut f = form();
        f.passphrase = "short".into();
        f.passphrase_repeat = "short".into();
        assert!(
            validate(&f, true, false, true, None)
                .unwrap_err()
                .contains("at least 8")
        );
        // An existing identity may have any passphrase: only the file decides.
        assert!(validate(&f, false, false, true, None).is_ok());
        // An identity already open needs none at all.
        f.passphrase.clear();
        assert!(
            validate(&f, false, false, true, None)
                .unwrap_err()
                .contains("passphrase")
        );
        assert!(validate(&f, false, true, true, None).is_ok());
        let mut f = form();
        f.passphrase_repeat = "other".into();
        assert!(
            validate(&f, true, false, true, None)
                .unwrap_err()
                .contains("differ")
        );
        let mut f = form();
        f.room = "no spaces".into();
        assert!(
            validate(&f, true, false, true, None)
                .unwrap_err()
                .contains("room name")
        );
        let mut f = form();
        f.relay = "relay.example.org:4433".into();
        assert!(
            validate(&f, true, false, true, None)
                .unwrap_err()
                .contains("certificate pin")
        );
        f.pin = "1234".into();
        assert!(
            validate(&f, true, false, true, None)
                .unwrap_err()
                .contains("Certificate pin")
        );
        let mut f = form();
        f.display_name = "Bob\u{202E}".into();
        assert!(
            validate(&f, true, false, true, None)
                .unwrap_err()
                .contains("visible characters")
        );
    }
}
