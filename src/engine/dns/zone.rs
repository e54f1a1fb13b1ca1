//! The zone the stub answers for, fixed at start: its hosts (A records), their
//! `_http._tcp` services (SRV records pointing at the edge's port) and its SOA, and the
//! answer to each well-formed query (NOERROR, NODATA, NXDOMAIN, REFUSED, NOTIMP, BADVERS).

use std::net::Ipv4Addr;

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA, SRV};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::DnsError;
use super::wire::EDNS_PAYLOAD_BYTES;
use crate::scenario::{DnsConfig, DnsMode};

/// Where a name sits in the zone.
enum Found<'a> {
    Outside,
    Apex,
    /// A host with an A record.
    Host,
    /// An SRV name, pointing at this host.
    Service(&'a Name),
    /// An ancestor of existing names with no records of its own (RFC 8020: not NXDOMAIN).
    EmptyNonTerminal,
    Missing,
}

/// The zone's data, fixed at start.
#[derive(Debug)]
pub(super) struct Zone {
    origin: Name,
    /// The zone's SOA record, sent with negative answers.
    soa: Record,
    hosts: Vec<Name>,
    /// `_http._tcp.N.<zone>.` and the host it points at.
    services: Vec<(Name, Name)>,
    ttl_secs: u32,
}

fn fqdn(text: &str) -> Result<Name, DnsError> {
    let trimmed = text.trim_end_matches('.');
    let written = if trimmed.is_empty() {
        ".".to_string()
    } else {
        format!("{trimmed}.")
    };
    Name::from_ascii(&written)
        .map(|n| n.to_lowercase())
        .map_err(|e| DnsError::BadName {
            name: text.to_string(),
            reason: e.to_string(),
        })
}

impl Zone {
    pub(super) fn new(config: &DnsConfig) -> Result<Zone, DnsError> {
        let zone = config.zone.trim_end_matches('.');
        let origin = fqdn(zone)?;
        let mut hosts = Vec::new();
        let mut services = Vec::new();
        for name in &config.names {
            let host = fqdn(&format!("{}.{zone}", name.trim_end_matches('.')))?;
            let service = fqdn(&format!("_http._tcp.{host}"))?;
            if !hosts.contains(&host) {
                hosts.push(host.clone());
            }
            services.push((service, host));
        }
        // DNS TTLs count whole seconds: a part of a second rounds up so it is not lost.
        let ttl = config.ttl.get();
        let ttl_secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let ttl_secs = u32::try_from(ttl_secs).unwrap_or(u32::MAX);
        let (ns, hostmaster) = (
            fqdn(&format!("ns.{zone}"))?,
            fqdn(&format!("hostmaster.{zone}"))?,
        );
        let soa = SOA::new(ns, hostmaster, 1, 3600, 600, 86_400, ttl_secs);
        Ok(Zone {
            soa: Record::from_rdata(origin.clone(), ttl_secs, RData::SOA(soa)),
            origin,
            hosts,
            services,
            ttl_secs,
        })
    }

    fn find(&self, name: &Name) -> Found<'_> {
        if !self.origin.zone_of(name) {
            return Found::Outside;
        }
        if *name == self.origin {
            return Found::Apex;
        }
        if self.hosts.contains(name) {
            return Found::Host;
        }
        if let Some((_, host)) = self.services.iter().find(|(s, _)| s == name) {
            return Found::Service(host);
        }
        let existing = self
            .hosts
            .iter()
            .chain(self.services.iter().map(|(s, _)| s));
        if existing.clone().any(|e| name.zone_of(e)) {
            return Found::EmptyNonTerminal;
        }
        Found::Missing
    }

    fn a(&self, owner: Name) -> Record {
        Record::from_rdata(owner, self.ttl_secs, RData::A(A(Ipv4Addr::LOCALHOST)))
    }

    /// The answer to a well-formed message, given the stub's mode and the edge's port.
    pub(super) fn respond(&self, request: &Message, mode: DnsMode, edge_port: u16) -> Message {
        let mut response = Message::new(request.id, MessageType::Response, request.op_code);
        response.metadata = Metadata::response_from_request(&request.metadata);
        response.add_queries(request.queries.iter().cloned());
        if let Some(edns) = &request.edns {
            let mut ours = Edns::new();
            ours.set_max_payload(EDNS_PAYLOAD_BYTES);
            response.set_edns(ours);
            if edns.version() > 0 {
                response.metadata.response_code = ResponseCode::BADVERS;
                return response;
            }
        }
        if request.op_code != OpCode::Query {
            response.metadata.response_code = ResponseCode::NotImp;
            return response;
        }
        let [query] = request.queries.as_slice() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return response;
        };
        let qtype = query.query_type();
        let transfer = matches!(qtype, RecordType::AXFR | RecordType::IXFR);
        let found = self.find(query.name());
        if query.query_class() != DNSClass::IN || transfer || matches!(found, Found::Outside) {
            response.metadata.response_code = ResponseCode::Refused;
            return response;
        }
        response.metadata.authoritative = true;
        let owner = query.name().clone();
        let any = qtype == RecordType::ANY;
        match (mode, found) {
            (DnsMode::Nxdomain, _) | (_, Found::Missing) => {
                response.metadata.response_code = ResponseCode::NXDomain;
            }
            (_, Found::Host) if any || qtype == RecordType::A => {
                response.add_answer(self.a(owner));
            }
            (_, Found::Service(host)) if any || qtype == RecordType::SRV => {
                let srv = SRV::new(0, 0, edge_port, host.clone());
                response.add_answer(Record::from_rdata(owner, self.ttl_secs, RData::SRV(srv)));
                response.add_additional(self.a(host.clone()));
            }
            (_, Found::Apex) if any || qtype == RecordType::SOA => {
                response.add_answer(self.soa.clone());
            }
            _ => {}
        }
        if response.answers.is_empty() {
            // NXDOMAIN or NODATA: the SOA tells resolvers how long to remember it (RFC 2308).
            response.add_authority(self.soa.clone());
        }
        response
    }
}
