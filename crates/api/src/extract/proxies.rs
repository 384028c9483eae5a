//! Which proxies are trusted to name the client's address (`CRM_TRUSTED_PROXIES`).

use actix_web::HttpRequest;

/// The operator's own load balancers (`CRM_TRUSTED_PROXIES`): addresses or
/// CIDR blocks. Empty: no forwarding header is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub(crate) Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// `"10.0.0.0/8, 192.168.1.7, ::1"`; an empty text trusts no one.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("{item:?} is neither an IP address nor a CIDR block such as 10.0.0.0/8")
                })?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a connection from `peer` that carried these
    /// `X-Forwarded-For` values: the peer itself unless it is a trusted
    /// proxy; otherwise the rightmost hop that is not one (each proxy appends
    /// the address it saw, so hops left of that were written by the client
    /// and prove nothing). A hop that is not an address ends the walk at the
    /// last trusted one.
    pub fn client_of<'a>(
        &self,
        peer: std::net::IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> std::net::IpAddr {
        if !self.contains(peer) {
            return canonical(peer);
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).map(str::trim).collect();
        let mut client = canonical(peer);
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// An IPv4 address mapped into IPv6 is the IPv4 address.
pub(crate) fn canonical(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// `203.0.113.7`, `203.0.113.7:5123`, `2001:db8::1` or `[2001:db8::1]:443`.
pub(crate) fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = hop.parse::<std::net::IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// The client's address for rate limits and throttling: the peer, or — when
/// the peer is one of `CRM_TRUSTED_PROXIES` — the rightmost `X-Forwarded-For`
/// hop that is not. `Forwarded` and `X-Real-IP` are never read.
pub fn client_address(req: &HttpRequest, proxies: &TrustedProxies) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".to_owned();
    };
    let values = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok());
    proxies.client_of(peer, values).to_string()
}
