//! The DNS wire details the stub and the clients' resolver share: the EDNS option that
//! carries a request's trace id, the mnemonic of a response code, the payload sizes, and
//! encoding an answer (truncated, with TC set, when it does not fit).

use hickory_proto::op::{Message, Metadata, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};

use crate::trace::TraceId;

/// EDNS option code in which simulated clients send their request's 128-bit trace id
/// (16 bytes, big-endian). Taken from the range RFC 6891 leaves for local use.
pub const TRACE_ID_OPTION: u16 = 65001;

/// The UDP payload size the stub advertises in its own OPT record.
pub(super) const EDNS_PAYLOAD_BYTES: u16 = 1232;
/// Largest answer to a query without EDNS (RFC 1035).
pub(super) const PLAIN_UDP_BYTES: usize = 512;

/// The mnemonic dig prints for a response code (`NOERROR`, `NXDOMAIN`, …).
pub fn rcode_name(rcode: ResponseCode) -> String {
    let name = match rcode {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::BADVERS => "BADVERS",
        other => return format!("RCODE{}", u16::from(other)),
    };
    name.to_string()
}

/// The EDNS option that carries `id` from a simulated client to the stub.
pub fn trace_id_option(id: TraceId) -> EdnsOption {
    EdnsOption::Unknown(TRACE_ID_OPTION, id.0.to_be_bytes().to_vec())
}

/// The trace id a query carries in EDNS option [`TRACE_ID_OPTION`], if any.
pub fn trace_id_of(message: &Message) -> Option<TraceId> {
    let option = message
        .edns
        .as_ref()?
        .option(EdnsCode::from(TRACE_ID_OPTION))?;
    match option {
        EdnsOption::Unknown(_, data) => {
            let bytes: [u8; 16] = data.as_slice().try_into().ok()?;
            Some(TraceId(u128::from_be_bytes(bytes)))
        }
        _ => None,
    }
}

/// A header-only error answer (the question is not echoed when it could not be read).
pub(super) fn error_reply(request: &Metadata, rcode: ResponseCode) -> Message {
    let mut response = Message::error_msg(request.id, request.op_code, rcode);
    response.metadata.recursion_desired = request.recursion_desired;
    response
}

/// Encodes `message`; when it does not fit `limit` bytes, sends only the question with TC set.
pub(super) fn encode(mut message: Message, limit: usize) -> Option<Vec<u8>> {
    let bytes = message.to_vec().ok()?;
    if bytes.len() <= limit {
        return Some(bytes);
    }
    message.answers.clear();
    message.authorities.clear();
    message.additionals.clear();
    message.metadata.truncation = true;
    message.to_vec().ok()
}
