//! Which IP addresses an outbound call may reach. Private, loopback,
//! link-local (cloud metadata lives there), unspecified, shared (CGNAT),
//! multicast, documentation and IPv6 unique-local addresses are refused after
//! DNS resolution, with IPv4 in IPv6 (mapped, NAT64) unwrapped first, unless the
//! platform config allows a range explicitly (`outbound.allow_private`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::Cidr;

/// Why an address is refused, or `None` if it may be called.
pub(super) fn refusal(ip: IpAddr, allowed: &[Cidr]) -> Option<&'static str> {
    let ip = unwrap_v4(ip);
    let why = match ip {
        IpAddr::V4(v4) => v4_refusal(v4),
        IpAddr::V6(v6) => v6_refusal(v6),
    }?;
    if allowed.iter().any(|c| c.contains(ip)) { None } else { Some(why) }
}

/// IPv4 carried in IPv6 (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`) is judged as IPv4.
fn unwrap_v4(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return IpAddr::V4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
            }
            if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
                return IpAddr::V4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
            }
            ip
        }
        v4 => v4,
    }
}

fn v4_refusal(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [0, ..] => "an unspecified/this-network address (0.0.0.0/8)",
        [127, ..] => "a loopback address",
        [10, ..] => "a private address (10.0.0.0/8)",
        [172, b, ..] if (16..=31).contains(&b) => "a private address (172.16.0.0/12)",
        [192, 168, ..] => "a private address (192.168.0.0/16)",
        [169, 254, ..] => "a link-local address (169.254.0.0/16, where cloud metadata lives)",
        [100, b, ..] if (64..=127).contains(&b) => "a shared (CGNAT) address (100.64.0.0/10)",
        [192, 0, 0, _] => "an IETF protocol address (192.0.0.0/24)",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "a documentation address",
        [198, b, ..] if b == 18 || b == 19 => "a benchmarking address (198.18.0.0/15)",
        [a, ..] if a >= 224 => "a multicast or reserved address",
        _ => return None,
    })
}

fn v6_refusal(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(if ip.is_unspecified() {
        "the unspecified address (::)"
    } else if ip.is_loopback() {
        "a loopback address (::1)"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "a unique-local address (fc00::/7)"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "a link-local address (fe80::/10)"
    } else if s[0] & 0xff00 == 0xff00 {
        "a multicast address"
    } else if s[0] == 0x2001 && s[1] == 0xdb8 {
        "a documentation address (2001:db8::/32)"
    } else if s[0] & 0xffc0 == 0xfec0 {
        "a site-local address (fec0::/10)"
    } else if s[0] == 0x2002 {
        // 6to4 embeds an IPv4 address, possibly a private one, and relays reach it.
        "a 6to4 address (2002::/16)"
    } else if s[0] == 0x2001 && s[1] == 0 {
        // Teredo tunnels to an embedded IPv4 address and port.
        "a Teredo address (2001::/32)"
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        // Local-use NAT64 (RFC 8215): translated inside the operator's network.
        "a local NAT64 address (64:ff9b:1::/48)"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        refusal(ip.parse().unwrap(), &[]).is_some()
    }

    #[test]
    fn tunnels_and_old_site_local_ranges_are_refused() {
        for ip in ["2002:7f00:1::1", "2001:0:4136:e378::1", "64:ff9b:1::a00:1", "fec0::1", "feff::1"] {
            assert!(refused(ip), "{ip} should be refused");
        }
        assert!(!refused("2606:4700::1111"));
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "ff02::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "172.32.0.1", "2606:4700::1111", "::ffff:1.1.1.1"] {
            assert!(!refused(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn explicitly_allowed_ranges() {
        let allowed = [Cidr::parse("127.0.0.0/8").unwrap(), Cidr::parse("::1").unwrap()];
        assert_eq!(refusal("127.0.0.1".parse().unwrap(), &allowed), None);
        assert_eq!(refusal("::1".parse().unwrap(), &allowed), None);
        assert_eq!(refusal("::ffff:127.0.0.1".parse().unwrap(), &allowed), None);
        assert!(refusal("10.0.0.1".parse().unwrap(), &allowed).is_some());
        assert!(Cidr::parse("0.0.0.0/0").unwrap_err().contains("every address"));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
    }
}
