//! Fixtures: the `format` files of this VM's kernel (6.18), and records built byte by byte.

use super::*;

/// `events/sock/inet_sock_set_state/format` as read on Linux 6.18 (print fmt cut).
pub(crate) const SET_STATE_FORMAT: &str = r#"name: inet_sock_set_state
ID: 2287
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:const void * skaddr;	offset:8;	size:8;	signed:0;
	field:int oldstate;	offset:16;	size:4;	signed:1;
	field:int newstate;	offset:20;	size:4;	signed:1;
	field:__u16 sport;	offset:24;	size:2;	signed:0;
	field:__u16 dport;	offset:26;	size:2;	signed:0;
	field:__u16 family;	offset:28;	size:2;	signed:0;
	field:__u16 protocol;	offset:30;	size:2;	signed:0;
	field:__u8 saddr[4];	offset:32;	size:4;	signed:0;
	field:__u8 daddr[4];	offset:36;	size:4;	signed:0;
	field:__u8 saddr_v6[16];	offset:40;	size:16;	signed:0;
	field:__u8 daddr_v6[16];	offset:56;	size:16;	signed:0;

"#;

/// `events/tcp/tcp_destroy_sock/format` as read on Linux 6.18 (print fmt cut).
pub(crate) const DESTROY_FORMAT: &str = r#"name: tcp_destroy_sock
ID: 2278
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:const void * skaddr;	offset:8;	size:8;	signed:0;
	field:__u16 sport;	offset:16;	size:2;	signed:0;
	field:__u16 dport;	offset:18;	size:2;	signed:0;
	field:__u16 family;	offset:20;	size:2;	signed:0;
	field:__u8 saddr[4];	offset:22;	size:4;	signed:0;
	field:__u8 daddr[4];	offset:26;	size:4;	signed:0;
	field:__u8 saddr_v6[16];	offset:30;	size:16;	signed:0;
	field:__u8 daddr_v6[16];	offset:46;	size:16;	signed:0;
	field:__u64 sock_cookie;	offset:64;	size:8;	signed:0;

print fmt: "family=%s sport=%hu dport=%hu saddr=%pI4 daddr=%pI4 saddrv6=%pI6c daddrv6=%pI6c sock_cookie=%llx", __print_symbolic(REC->family, { 2, "AF_INET" }, { 10, "AF_INET6" }), REC->sport, REC->dport, REC->saddr, REC->daddr, REC->saddr_v6, REC->daddr_v6, REC->sock_cookie
"#;

fn put(raw: &mut [u8], off: usize, bytes: &[u8]) {
    raw[off..off + bytes.len()].copy_from_slice(bytes);
}

/// A raw inet_sock_set_state record as the kernel writes it (offsets from the fixture).
pub(crate) fn set_state_record(
    id: u16,
    flags: u8,
    skaddr: u64,
    old: u32,
    new: u32,
    v4: bool,
) -> Vec<u8> {
    let mut raw = vec![0u8; 72];
    put(&mut raw, 0, &id.to_ne_bytes());
    raw[2] = flags;
    put(&mut raw, 4, &1234i32.to_ne_bytes());
    put(&mut raw, 8, &skaddr.to_ne_bytes());
    put(&mut raw, 16, &old.to_ne_bytes());
    put(&mut raw, 20, &new.to_ne_bytes());
    put(&mut raw, 24, &5555u16.to_ne_bytes());
    put(&mut raw, 26, &40000u16.to_ne_bytes());
    put(&mut raw, 28, &(if v4 { 2u16 } else { 10u16 }).to_ne_bytes());
    put(&mut raw, 30, &6u16.to_ne_bytes());
    put(&mut raw, 32, &[127, 0, 0, 1]);
    put(&mut raw, 36, &[127, 64, 0, 1]);
    let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    put(&mut raw, 40, &v6.octets());
    let v6b: std::net::Ipv6Addr = "::1".parse().unwrap();
    put(&mut raw, 56, &v6b.octets());
    raw
}

fn meta() -> SampleMeta {
    SampleMeta {
        time_unix_ns: 1_000_000_000,
        cpu: 1,
        pid: 77,
    }
}

#[test]
fn parses_the_format_file() {
    let f = EventFormat::parse(SET_STATE_FORMAT).unwrap();
    assert_eq!(f.name, "inet_sock_set_state");
    assert_eq!(f.id, 2287);
    let saddr = f.field("saddr").unwrap();
    assert_eq!(
        (saddr.offset, saddr.size, saddr.c_type.as_str()),
        (32, 4, "__u8")
    );
    let sk = f.field("skaddr").unwrap();
    assert_eq!(
        (sk.offset, sk.size, sk.c_type.as_str()),
        (8, 8, "const void *")
    );
    assert!(f.field("common_pid").unwrap().signed);
    assert_eq!(f.fields.len(), 15);
}

#[test]
fn decodes_a_state_change() {
    let layout =
        StateChangeLayout::from_format(&EventFormat::parse(SET_STATE_FORMAT).unwrap()).unwrap();
    let raw = set_state_record(2287, 0x10, 0xffff_8880_1234_5678, 1, 8, true);
    let c = layout.decode(&raw, meta()).unwrap();
    assert_eq!(c.old, TcpState::Established);
    assert_eq!(c.new, TcpState::CloseWait);
    assert_eq!(c.skaddr, 0xffff_8880_1234_5678);
    assert_eq!(c.local.to_string(), "127.0.0.1:5555");
    assert_eq!(c.peer.to_string(), "127.64.0.1:40000");
    assert_eq!(c.family, Family::Inet);
    assert_eq!((c.pid, c.cpu, c.flags), (77, 1, 0x10));
    assert!(!c.in_task_context(), "softirq: the pid is not the owner");

    let raw6 = set_state_record(2287, 0, 1, 7, 2, false);
    let c6 = layout.decode(&raw6, meta()).unwrap();
    assert_eq!(c6.family, Family::Inet6);
    assert_eq!(c6.local.to_string(), "[2001:db8::1]:5555");
    assert!(c6.in_task_context());
}

#[test]
fn bad_records_are_errors_not_panics() {
    let layout =
        StateChangeLayout::from_format(&EventFormat::parse(SET_STATE_FORMAT).unwrap()).unwrap();
    let raw = set_state_record(2287, 0, 1, 1, 8, true);
    assert_eq!(layout.decode(&raw[..30], meta()), Err(RecordError::Short));
    assert_eq!(layout.decode(&raw[..1], meta()), Err(RecordError::Short));
    let other = set_state_record(9, 0, 1, 1, 8, true);
    assert_eq!(
        layout.decode(&other, meta()),
        Err(RecordError::OtherEvent(9))
    );
    let bad_state = set_state_record(2287, 0, 1, 1, 99, true);
    assert_eq!(
        layout.decode(&bad_state, meta()),
        Err(RecordError::State(99))
    );
    let mut sctp = raw.clone();
    put(&mut sctp, 30, &132u16.to_ne_bytes());
    assert_eq!(
        layout.decode(&sctp, meta()),
        Err(RecordError::Protocol(132))
    );
    let mut unix = raw.clone();
    put(&mut unix, 28, &1u16.to_ne_bytes());
    assert_eq!(layout.decode(&unix, meta()), Err(RecordError::Family(1)));
}

#[test]
fn offsets_come_from_the_format_not_from_the_code() {
    // The same event on a kernel that put protocol before the ports.
    let moved = SET_STATE_FORMAT
        .replace("__u16 sport;\toffset:24;", "__u16 sport;\toffset:30;")
        .replace("__u16 protocol;\toffset:30;", "__u16 protocol;\toffset:24;");
    let layout = StateChangeLayout::from_format(&EventFormat::parse(&moved).unwrap()).unwrap();
    let mut raw = set_state_record(2287, 0, 1, 1, 8, true);
    put(&mut raw, 24, &6u16.to_ne_bytes());
    put(&mut raw, 30, &5556u16.to_ne_bytes());
    assert_eq!(layout.decode(&raw, meta()).unwrap().local.port, 5556);
}

#[test]
fn a_missing_or_resized_field_is_named() {
    let no_cookie: String = DESTROY_FORMAT
        .lines()
        .filter(|l| !l.contains("sock_cookie"))
        .collect::<Vec<_>>()
        .join("\n");
    let err = DestroyLayout::from_format(&EventFormat::parse(&no_cookie).unwrap()).unwrap_err();
    assert!(err.to_string().contains("sock_cookie"), "{err}");
    let resized = SET_STATE_FORMAT.replace(
        "int oldstate;\toffset:16;\tsize:4;",
        "int oldstate;\toffset:16;\tsize:2;",
    );
    let err = StateChangeLayout::from_format(&EventFormat::parse(&resized).unwrap()).unwrap_err();
    assert!(err.to_string().contains("oldstate"), "{err}");
    assert!(EventFormat::parse("format:\n").is_err());
}

#[test]
fn decodes_a_destroy() {
    let layout = DestroyLayout::from_format(&EventFormat::parse(DESTROY_FORMAT).unwrap()).unwrap();
    assert_eq!(layout.id, 2278);
    let mut raw = vec![0u8; 72];
    put(&mut raw, 0, &2278u16.to_ne_bytes());
    put(&mut raw, 8, &0xabcdu64.to_ne_bytes());
    put(&mut raw, 64, &0x112e74u64.to_ne_bytes());
    let d = layout.decode(&raw, meta()).unwrap();
    assert_eq!((d.skaddr, d.cookie), (0xabcd, 0x112e74));
    assert_eq!(record_type(&raw), Some(2278));
    assert!(layout.decode(&raw[..60], meta()).is_err());
}

#[test]
fn a_field_offset_at_the_end_of_usize_is_a_short_record_not_an_overflow() {
    // Fuzz finding (tracepoint): `offset + size` overflowed (a panic with overflow checks).
    let text = SET_STATE_FORMAT.replace("offset:16;", "offset:18446744073709551615;");
    let layout = StateChangeLayout::from_format(&EventFormat::parse(&text).unwrap()).unwrap();
    let raw = set_state_record(2287, 0, 1, 1, 8, true);
    assert_eq!(layout.decode(&raw, meta()), Err(RecordError::Short));
}

#[test]
fn a_field_declared_with_a_multibyte_blank_is_read_not_a_panic() {
    // Fuzz finding (tracepoint, 2026-11-30): U+0085 (NEL) counts as whitespace and is two bytes
    // long; the declaration was cut inside it ("end byte index 5 is not a char boundary").
    let f =
        parse_field("field:int\u{85}common_pid;\toffset:4;\tsize:4;\tsigned:1;").expect("a field");
    assert_eq!((f.c_type.as_str(), f.name.as_str()), ("int", "common_pid"));
    let text = SET_STATE_FORMAT.replace("field:int common_pid;", "field:int\u{85}common_pid;");
    assert!(EventFormat::parse(&text).is_ok());
}
