//! Name rules for collections, databases and tenants (Chroma's `validate_name`).

use crate::error::{Error, Result};

/// Collection names (and database names over HTTP): 3-512 chars of `[a-zA-Z0-9._-]`, alphanumeric at both
/// ends, no `..`, not an IP address.
pub fn validate_collection_name(name: &str) -> Result<()> {
    let fail = |msg: String| Err(Error::invalid(format!("Validation error: name: {msg}")));
    let bytes = name.as_bytes();
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    let shape_ok = (3..=512).contains(&bytes.len())
        && bytes.iter().all(allowed)
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if !shape_ok {
        return fail(format!(
            "Expected a name containing 3-512 characters from [a-zA-Z0-9._-], starting and ending with a character in [a-zA-Z0-9]. Got: {name}"
        ));
    }
    if name.contains("..") {
        return fail(format!("Expected a name that does not contains two consecutive periods (..). Got {name}"));
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return fail(format!("Expected a name that is not a valid ip address. Got {name}"));
    }
    Ok(())
}

pub fn validate_tenant_name(name: &str) -> Result<()> {
    if name.chars().count() < 3 {
        return Err(Error::invalid(format!(
            "Validation error: name: Expected a tenant name of at least 3 characters. Got: {name}"
        )));
    }
    Ok(())
}

pub fn validate_database_name(name: &str) -> Result<()> {
    if name.chars().count() < 3 {
        return Err(Error::invalid("database name must be at least 3 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_names() {
        for ok in ["abc", "a.b", "a_b-c", "A1z", &"x".repeat(512)] {
            assert!(validate_collection_name(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "-abc", "abc-", "a..b", "a b", "192.168.1.1", "ábc", &"x".repeat(513), ""] {
            assert!(validate_collection_name(bad).is_err(), "{bad}");
        }
        let msg = validate_collection_name("a..b").unwrap_err().to_string();
        assert!(msg.contains("two consecutive periods"), "{msg}");
        let msg = validate_collection_name("10.0.0.1").unwrap_err().to_string();
        assert!(msg.contains("ip address"), "{msg}");
    }
}
