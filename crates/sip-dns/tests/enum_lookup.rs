//! ENUM (RFC 6116) against a fake DNS.

mod common;

use common::FakeDns;
use sip_dns::{LocateError, Locator, Naptr, Transport};

const DOMAIN: &str = "9.8.7.6.5.4.3.2.1.3.3.e164.arpa";
const NUMBER: &str = "+33 1 23 45 67 89";

fn naptr(
    order: u16,
    preference: u16,
    flags: &str,
    services: &str,
    regexp: &str,
    replacement: &str,
) -> Naptr {
    Naptr {
        order,
        preference,
        flags: flags.into(),
        services: services.into(),
        regexp: regexp.into(),
        replacement: replacement.into(),
    }
}

fn locator(dns: FakeDns) -> Locator<FakeDns> {
    Locator::new(dns, vec![Transport::Udp])
}

#[tokio::test]
async fn maps_with_backreferences() {
    let dns = FakeDns::new().enum_naptr(
        DOMAIN,
        naptr(
            100,
            10,
            "u",
            "E2U+sip",
            r"!^\+33(.*)$!sip:0\1@example.test;user=phone!",
            "",
        ),
    );
    let loc = locator(dns);
    assert_eq!(
        loc.enum_lookup(NUMBER, "e164.arpa").await,
        Ok(Some("sip:0123456789@example.test;user=phone".into()))
    );
    assert_eq!(loc.lookup().queried(), [format!("NAPTR {DOMAIN}")]);
}

#[tokio::test]
async fn case_insensitive_flag_and_obsolete_service() {
    let dns = FakeDns::new().enum_naptr(
        "2.1.e164.test",
        naptr(
            10,
            10,
            "U",
            "sip+E2U",
            "!^[+]12$!sip:twelve@example.test!i",
            "",
        ),
    );
    let loc = locator(dns);
    assert_eq!(
        loc.enum_lookup("+12", "e164.test").await,
        Ok(Some("sip:twelve@example.test".into()))
    );
    // Case matters without `i`.
    let dns = FakeDns::new().enum_naptr(
        "2.1.e164.test",
        naptr(10, 10, "u", "E2U+sip", "!^\\+12$!sip:A@EXAMPLE.test!", ""),
    );
    assert_eq!(
        locator(dns).enum_lookup("+12", "e164.test").await,
        Ok(Some("sip:A@EXAMPLE.test".into()))
    );
}

#[tokio::test]
async fn order_then_preference_and_skips() {
    let dns = FakeDns::new()
        .enum_naptr(
            DOMAIN,
            naptr(
                100,
                20,
                "u",
                "E2U+sip",
                "!^.*$!sip:pref20@example.test!",
                "",
            ),
        )
        .enum_naptr(
            DOMAIN,
            naptr(
                200,
                1,
                "u",
                "E2U+sip",
                "!^.*$!sip:order200@example.test!",
                "",
            ),
        )
        .enum_naptr(
            DOMAIN,
            naptr(
                100,
                10,
                "u",
                "E2U+sip",
                "!^.*$!sip:pref10@example.test!",
                "",
            ),
        )
        // Better placed but unusable: other service, a tel: result, no match.
        .enum_naptr(
            DOMAIN,
            naptr(50, 1, "u", "E2U+mailto", "!^.*$!mailto:a@example.test!", ""),
        )
        .enum_naptr(DOMAIN, naptr(50, 2, "u", "E2U+sip", "!^.*$!tel:+331!", ""))
        .enum_naptr(
            DOMAIN,
            naptr(50, 3, "u", "E2U+sip", "!^\\+44.*$!sip:uk@example.test!", ""),
        );
    assert_eq!(
        locator(dns).enum_lookup(NUMBER, "e164.arpa").await,
        Ok(Some("sip:pref10@example.test".into()))
    );
}

#[tokio::test]
async fn follows_non_terminal_records() {
    let dns = FakeDns::new()
        .enum_naptr(
            DOMAIN,
            naptr(10, 10, "", "E2U+sip", "", "hop1.example.test."),
        )
        .enum_naptr(
            DOMAIN,
            naptr(20, 10, "u", "E2U+sip", "!^.*$!sip:later@example.test!", ""),
        )
        .enum_naptr(
            "hop1.example.test",
            naptr(10, 10, "", "", "", "hop2.example.test"),
        )
        .enum_naptr(
            "hop2.example.test",
            naptr(
                10,
                10,
                "u",
                "E2U+sip",
                "!^.*$!sip:chained@example.test!",
                "",
            ),
        );
    let loc = locator(dns);
    assert_eq!(
        loc.enum_lookup(NUMBER, "e164.arpa").await,
        Ok(Some("sip:chained@example.test".into()))
    );
    assert_eq!(
        loc.lookup().queried(),
        [
            format!("NAPTR {DOMAIN}"),
            "NAPTR hop1.example.test".into(),
            "NAPTR hop2.example.test".into()
        ]
    );
}

#[tokio::test]
async fn non_terminal_chain_is_bounded() {
    let mut dns =
        FakeDns::new().enum_naptr("2.1.e164.test", naptr(10, 10, "", "", "", "loop.test"));
    dns = dns.enum_naptr("loop.test", naptr(10, 10, "", "", "", "loop.test"));
    let loc = locator(dns);
    assert_eq!(loc.enum_lookup("+12", "e164.test").await, Ok(None));
    assert_eq!(loc.lookup().queried().len(), 1 + sip_dns::MAX_ENUM_HOPS);
}

#[tokio::test]
async fn nothing_found() {
    let loc = locator(FakeDns::new().failing("2.1.e164.test"));
    assert_eq!(loc.enum_lookup("+34", "e164.test").await, Ok(None));
    // Malformed numbers are not looked up.
    assert_eq!(loc.enum_lookup("0123", "e164.test").await, Ok(None));
    assert_eq!(loc.enum_lookup("+33x", "e164.test").await, Ok(None));
    assert_eq!(loc.lookup().queried(), ["NAPTR 4.3.e164.test"]);
    // A DNS failure is an error, not "no record".
    let result = loc.enum_lookup("+12", "e164.test").await;
    assert!(matches!(result, Err(LocateError::Failed(_))), "{result:?}");
    // Records, but none for SIP.
    let dns = FakeDns::new().enum_naptr(
        "2.1.e164.test",
        naptr(
            10,
            10,
            "u",
            "E2U+email:mailto",
            "!^.*$!mailto:a@example.test!",
            "",
        ),
    );
    assert_eq!(locator(dns).enum_lookup("+12", "e164.test").await, Ok(None));
}
