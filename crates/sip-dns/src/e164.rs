//! ENUM (RFC 6116): E.164 numbers to domain names, and the NAPTR
//! substitution expressions (RFC 3402 §3.2) that turn them into URIs.

use regex::{Regex, RegexBuilder};

use crate::lookup::Naptr;

/// Visual separators allowed between the digits of a number.
const SEPARATORS: &[char] = &['-', '.', ' ', '(', ')'];

/// The Application Unique String for `number` (RFC 6116 §2.4): `+` and
/// the digits, without visual separators (`"+33 1-23"` → `"+33123"`).
/// `None` when the number does not start with `+`, has no digit, or has a
/// character that is neither a digit nor a separator.
pub fn application_unique_string(number: &str) -> Option<String> {
    let rest = number.trim().strip_prefix('+')?;
    let mut aus = String::with_capacity(rest.len() + 1);
    aus.push('+');
    for c in rest.chars() {
        if c.is_ascii_digit() {
            aus.push(c);
        } else if !SEPARATORS.contains(&c) {
            return None;
        }
    }
    (aus.len() > 1).then_some(aus)
}

/// The ENUM domain of `number` under `suffix` (RFC 6116 §2.4): its digits
/// reversed and dot-separated, then the suffix
/// (`enum_domain("+33 1-23.45", "e164.arpa")` →
/// `"5.4.3.2.1.3.3.e164.arpa"`). `None` as for
/// [`application_unique_string`].
pub fn enum_domain(number: &str, suffix: &str) -> Option<String> {
    let aus = application_unique_string(number)?;
    let suffix = suffix.trim_matches('.');
    let mut domain = String::with_capacity(aus.len() * 2 + suffix.len());
    for digit in aus[1..].chars().rev() {
        domain.push(digit);
        domain.push('.');
    }
    if suffix.is_empty() {
        domain.pop();
    } else {
        domain.push_str(suffix);
    }
    Some(domain)
}

/// Whether a NAPTR service field names the SIP enumservice: `E2U+sip`
/// (RFC 6116), or the obsolete `sip+E2U` (RFC 2916), case-insensitively.
pub(crate) fn is_sip_service(services: &str) -> bool {
    let mut tokens = services.split('+');
    let (Some(a), Some(b), None) = (tokens.next(), tokens.next(), tokens.next()) else {
        return false;
    };
    let is_sip = |t: &str| {
        t.split(':')
            .next()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("sip"))
    };
    (a.eq_ignore_ascii_case("E2U") && is_sip(b)) || (is_sip(a) && b.eq_ignore_ascii_case("E2U"))
}

/// A parsed substitution expression `<delim>ere<delim>repl<delim>flags`.
#[derive(Debug)]
pub(crate) struct Substitution {
    regex: Regex,
    // In the regex crate's syntax: `${1}` for `\1`, `$$` for `$`.
    replacement: String,
}

impl Substitution {
    /// Parses an expression; `None` when it is malformed or its ERE does
    /// not compile.
    pub(crate) fn parse(expr: &str) -> Option<Substitution> {
        let mut chars = expr.chars();
        let delim = chars.next()?;
        // RFC 3402: the delimiter is not a digit, a backslash or the flag.
        if delim.is_ascii_digit() || delim == '\\' || delim == 'i' {
            return None;
        }
        let parts = split_unescaped(chars.as_str(), delim)?;
        let [ere, repl, flags] = parts;
        let case_insensitive = match flags.as_str() {
            "" => false,
            "i" => true,
            _ => return None,
        };
        let regex = RegexBuilder::new(&ere)
            .case_insensitive(case_insensitive)
            .size_limit(1 << 20)
            .build()
            .ok()?;
        Some(Substitution {
            regex,
            replacement: to_regex_replacement(&repl)?,
        })
    }

    /// The replacement expanded with the captures of the ERE on `input`,
    /// or `None` when the ERE does not match.
    ///
    /// As ENUM clients commonly do, the result is the expanded replacement
    /// alone, not `input` with its matched part replaced (the two are the
    /// same for the usual anchored `^...$` expressions).
    pub(crate) fn apply(&self, input: &str) -> Option<String> {
        let captures = self.regex.captures(input)?;
        let mut out = String::new();
        captures.expand(&self.replacement, &mut out);
        Some(out)
    }
}

/// Splits `rest` (the expression after its first delimiter) at unescaped
/// delimiters into ERE, replacement and flags. An escaped delimiter
/// (`\!`) stands for the delimiter itself; other escapes are kept as they
/// are for the next stage.
fn split_unescaped(rest: &str, delim: char) -> Option<[String; 3]> {
    let mut parts: [String; 3] = Default::default();
    let mut index = 0;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let next = chars.next()?;
            if next == delim && index < 2 {
                if index == 0 && is_regex_meta(delim) {
                    parts[index].push('\\');
                }
                parts[index].push(delim);
            } else {
                parts[index].push('\\');
                parts[index].push(next);
            }
        } else if c == delim {
            index += 1;
            if index > 2 {
                return None;
            }
        } else {
            parts[index].push(c);
        }
    }
    (index == 2).then_some(parts)
}

fn is_regex_meta(c: char) -> bool {
    r"\.+*?()|[]{}^$#&-~".contains(c)
}

/// Converts an RFC 3402 replacement (`\1`..`\9` back-references, `\\` for
/// a backslash, other escapes for the character) to the regex crate's
/// syntax. `None` on a trailing lone backslash.
fn to_regex_replacement(repl: &str) -> Option<String> {
    let mut out = String::with_capacity(repl.len() + 8);
    let mut chars = repl.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next()?;
                if let Some(d) = next.to_digit(10).filter(|d| *d >= 1) {
                    out.push_str(&format!("${{{d}}}"));
                } else if next == '$' {
                    out.push_str("$$");
                } else {
                    out.push(next);
                }
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    Some(out)
}

/// The URI a terminal ENUM NAPTR gives for `aus`, when it is a usable SIP
/// record: service `E2U+sip`, flag `u`, and a substitution that matches and
/// yields a `sip:` or `sips:` URI.
pub(crate) fn terminal_sip_uri(naptr: &Naptr, aus: &str) -> Option<String> {
    if !naptr.flags.eq_ignore_ascii_case("u") || !is_sip_service(&naptr.services) {
        return None;
    }
    let uri = Substitution::parse(&naptr.regexp)?.apply(aus)?;
    let scheme = uri.split(':').next()?;
    (uri.contains(':')
        && (scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")))
    .then_some(uri)
}

/// The domain a non-terminal NAPTR (empty flags) points to, if any.
pub(crate) fn non_terminal_next(naptr: &Naptr) -> Option<&str> {
    let next = naptr.replacement.trim_end_matches('.');
    (naptr.flags.is_empty() && !next.is_empty()).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(
            enum_domain("+33 1-23.45", "e164.arpa").as_deref(),
            Some("5.4.3.2.1.3.3.e164.arpa")
        );
        assert_eq!(
            enum_domain("+33123456789", "e164.arpa.").as_deref(),
            Some("9.8.7.6.5.4.3.2.1.3.3.e164.arpa")
        );
        assert_eq!(
            enum_domain(" +1 (555) 010 ", "e164.example").as_deref(),
            Some("0.1.0.5.5.5.1.e164.example")
        );
        assert_eq!(enum_domain("+12", "").as_deref(), Some("2.1"));
        assert_eq!(enum_domain("33123", "e164.arpa"), None);
        assert_eq!(enum_domain("+33a123", "e164.arpa"), None);
        assert_eq!(enum_domain("+", "e164.arpa"), None);
        assert_eq!(enum_domain("+ - ", "e164.arpa"), None);
        assert_eq!(enum_domain("+3+3", "e164.arpa"), None);
        assert_eq!(
            application_unique_string("+33 1-23.45").as_deref(),
            Some("+3312345")
        );
    }

    #[test]
    fn services() {
        assert!(is_sip_service("E2U+sip"));
        assert!(is_sip_service("e2u+SIP"));
        assert!(is_sip_service("sip+E2U"));
        assert!(!is_sip_service("E2U+mailto"));
        assert!(!is_sip_service("E2U+sips+x"));
        assert!(!is_sip_service("SIP+D2U"));
        assert!(!is_sip_service(""));
    }

    fn sub(expr: &str, input: &str) -> Option<String> {
        Substitution::parse(expr)?.apply(input)
    }

    #[test]
    fn substitutions() {
        assert_eq!(
            sub("!^.*$!sip:alice@example.test!", "+3312").as_deref(),
            Some("sip:alice@example.test")
        );
        assert_eq!(
            sub(r"!^\+33(.*)$!sip:0\1@example.test!", "+33123").as_deref(),
            Some("sip:0123@example.test")
        );
        // Two back-references and another delimiter.
        assert_eq!(
            sub(r"/^\+(..)(.*)$/sip:\2@cc\1.test/", "+33123").as_deref(),
            Some("sip:123@cc33.test")
        );
        // `$` in the replacement is literal; an escaped delimiter is the delimiter.
        assert_eq!(
            sub(r"!^.*$!sip:a$b\!c@x.test!", "+1").as_deref(),
            Some("sip:a$b!c@x.test")
        );
        // The `i` flag.
        assert_eq!(sub("!^ABC$!sip:x@y!", "abc"), None);
        assert_eq!(sub("!^ABC$!sip:x@y!i", "abc").as_deref(), Some("sip:x@y"));
        // No match, malformed expressions.
        assert_eq!(sub(r"!^\+44!sip:x@y!", "+33"), None);
        assert!(Substitution::parse("!^.*$!sip:x@y").is_none());
        assert!(Substitution::parse("!^.*$!sip:x@y!z").is_none());
        assert!(Substitution::parse("!^.*$!sip:x@y!!").is_none());
        assert!(Substitution::parse("!(!sip:x@y!").is_none());
        assert!(Substitution::parse("").is_none());
        assert!(Substitution::parse(r"!^.*$!sip:x@y\").is_none());
    }

    fn naptr(flags: &str, services: &str, regexp: &str, replacement: &str) -> Naptr {
        Naptr {
            order: 100,
            preference: 10,
            flags: flags.into(),
            services: services.into(),
            regexp: regexp.into(),
            replacement: replacement.into(),
        }
    }

    #[test]
    fn terminal_records() {
        let aus = "+3312";
        let ok = naptr("u", "E2U+sip", "!^.*$!sip:a@b!", "");
        assert_eq!(terminal_sip_uri(&ok, aus).as_deref(), Some("sip:a@b"));
        let upper = naptr("U", "E2U+sip", "!^.*$!SIPS:a@b!", "");
        assert_eq!(terminal_sip_uri(&upper, aus).as_deref(), Some("SIPS:a@b"));
        let mail = naptr("u", "E2U+mailto", "!^.*$!mailto:a@b!", "");
        assert_eq!(terminal_sip_uri(&mail, aus), None);
        let not_sip = naptr("u", "E2U+sip", "!^.*$!tel:+33!", "");
        assert_eq!(terminal_sip_uri(&not_sip, aus), None);
        let no_flag = naptr("", "E2U+sip", "!^.*$!sip:a@b!", "");
        assert_eq!(terminal_sip_uri(&no_flag, aus), None);
        assert_eq!(non_terminal_next(&no_flag), None);
        let next = naptr("", "E2U+sip", "", "next.example.");
        assert_eq!(non_terminal_next(&next), Some("next.example"));
        assert_eq!(non_terminal_next(&naptr("", "", "", ".")), None);
    }
}
