//! Offline checks of single values: hardware hash, product key, group tag
//! and assigned user. Each returns what is wrong in one sentence, so the
//! reader can attach file, line and column.

/// Fewest decoded bytes a real hardware hash has. The shortest published
/// one (Microsoft's Managed Desktop sample, an older hash) decodes to 1,089
/// bytes; today's 4K hashes decode to 3,000 (SPEC §6). Half the shortest
/// leaves room for older devices and still catches cut-off values.
pub const MIN_HASH_BYTES: usize = 512;
/// Most decoded bytes a plausible hardware hash has: well above the 3,000
/// of today's hashes, far below a pasted file.
pub const MAX_HASH_BYTES: usize = 16 * 1024;
/// Longest group tag apctl sends. Microsoft publishes no limit; Intune's
/// device properties commonly cap free text at 128, and a longer tag is
/// almost always a pasted wrong column.
pub const MAX_GROUP_TAG_CHARS: usize = 128;

sentence_error! {
    /// What is wrong with a value, in one sentence.
    FieldError
}

fn invalid<T>(why: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError(why.into()))
}

/// Checks a hardware hash: standard base64 (`+` and `/`, `=` padding only
/// at the end) that decodes to a plausible number of bytes. Base64url (`-`,
/// `_`) is refused: real hashes never use it, although the OpenAPI says so.
pub fn check_hash(text: &str) -> Result<usize, FieldError> {
    let bytes = text.as_bytes();
    if let Some(pos) = bytes.iter().position(|b| !is_base64(*b)) {
        let c = text[pos..].chars().next().unwrap_or('?');
        let what = match c {
            '-' | '_' => "base64url, not standard base64".to_owned(),
            c if c.is_whitespace() => "white space inside the hash".to_owned(),
            c => format!("character {:?}", c),
        };
        return invalid(format!(
            "the hash is not standard base64: {what} at character {}",
            pos + 1
        ));
    }
    if !bytes.len().is_multiple_of(4) {
        return invalid(format!(
            "the hash is not standard base64: {} characters is not a multiple of 4 (cut off?)",
            bytes.len()
        ));
    }
    let body = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="))
        .unwrap_or(bytes);
    if body.contains(&b'=') {
        return invalid("the hash is not standard base64: `=` padding inside the hash");
    }
    let decoded = bytes.len() / 4 * 3 - (bytes.len() - body.len());
    if decoded < MIN_HASH_BYTES {
        return invalid(format!(
            "the hash decodes to {decoded} bytes, too short for a hardware hash (at least {MIN_HASH_BYTES}; today's are 3000)"
        ));
    }
    if decoded > MAX_HASH_BYTES {
        return invalid(format!(
            "the hash decodes to {decoded} bytes, too long for a hardware hash (at most {MAX_HASH_BYTES})"
        ));
    }
    Ok(decoded)
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

/// Checks a Windows product key field: either a 25-character key in five
/// groups (`XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`, as Partner Center's samples
/// show) or a numeric product key id (PKID) of 10 to 15 digits.
pub fn check_product_key(text: &str) -> Result<(), FieldError> {
    let groups: Vec<&str> = text.split('-').collect();
    let key = groups.len() == 5
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_alphanumeric()));
    let pkid = (10..=15).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    if key || pkid {
        Ok(())
    } else {
        invalid(
            "the product key is neither a key in five groups (`XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`) nor a numeric product key id of 10 to 15 digits",
        )
    }
}

/// Longest serial number apctl takes. SMBIOS keeps a serial in a string of
/// at most 255 bytes, and real ones are 8 to 50 characters; Microsoft
/// publishes no limit. Longer is a pasted wrong column.
pub const MAX_SERIAL_CHARS: usize = 128;

/// Checks a serial number for the shapes that cannot be one: control
/// characters, more than [`MAX_SERIAL_CHARS`] characters, a number Excel
/// rewrote in scientific notation (`1.23457E+11`: the digits are gone), or
/// a long base64 run (a hardware hash under the serial heading).
pub fn check_serial(text: &str) -> Result<(), FieldError> {
    if text.chars().any(char::is_control) {
        return invalid("the serial number holds a control character");
    }
    if let Some(c) = text.chars().find(|c| not_text(*c)) {
        return invalid(format!(
            "the serial number holds U+{:04X}, which is no character (XML and the services refuse it); it is a damaged or mis-decoded cell",
            c as u32
        ));
    }
    if let Some(c) = text.chars().find(|c| crate::sanitize::is_hidden(*c)) {
        return invalid(format!(
            "the serial number holds U+{:04X}, an invisible or direction-changing character: the device would be registered under a serial that does not read as it shows",
            c as u32
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_SERIAL_CHARS {
        return invalid(format!(
            "the serial number has {chars} characters; a serial has at most {MAX_SERIAL_CHARS}"
        ));
    }
    if is_scientific(text.trim()) {
        return invalid(format!(
            "{} is a number Excel rewrote in scientific notation: the serial's digits are lost",
            crate::input::problem::quoted(text.trim())
        ));
    }
    if chars >= 64 && text.bytes().all(is_base64) {
        return invalid("the serial number looks like a hardware hash: are the columns in the wrong order?");
    }
    Ok(())
}

/// `1.23457E+11`, `4E+15`, `1,5E+12`: what Excel shows for a long number.
/// Code points that are not text: noncharacters (U+FFFE, U+FFFF,
/// U+FDD0…U+FDEF and the last two of every plane), which XML 1.0 forbids
/// and no report can carry.
fn not_text(c: char) -> bool {
    let c = c as u32;
    (0xfdd0..=0xfdef).contains(&c) || c & 0xfffe == 0xfffe
}

fn is_scientific(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['E', 'e']) else {
        return false;
    };
    // Excel always writes the sign; without it `8E12345` may be a real serial.
    let Some(exponent) = exponent.strip_prefix(['+', '-']) else {
        return false;
    };
    let (whole, fraction) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    whole.len() == 1 && digits(whole) && digits(fraction) && digits(exponent)
}

/// Checks a group tag: at most [`MAX_GROUP_TAG_CHARS`] characters and no
/// control characters.
/// A `Tenant` cell: a tenant id, a verified domain or a customer's display
/// name, with no control characters or slashes.
pub fn check_tenant(text: &str) -> Result<(), FieldError> {
    crate::input::tenant::TenantRef::check(text).map(drop)
}

pub fn check_group_tag(text: &str) -> Result<(), FieldError> {
    let chars = text.chars().count();
    if chars > MAX_GROUP_TAG_CHARS {
        return invalid(format!(
            "the group tag has {chars} characters; apctl sends at most {MAX_GROUP_TAG_CHARS}"
        ));
    }
    if text.chars().any(char::is_control) {
        return invalid("the group tag holds a control character");
    }
    Ok(())
}

/// Checks an assigned user: a user principal name, `name@domain.tld`, with
/// no white space.
pub fn check_user(text: &str) -> Result<(), FieldError> {
    let shaped = match text.split_once('@') {
        Some((name, domain)) => {
            !name.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        }
        None => false,
    };
    if shaped && !text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(())
    } else {
        invalid("the assigned user is not a user principal name like `user@contoso.com`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_that_cannot_be_serials() {
        for good in [
            "PF3X2K1Z",
            "000123",
            "VMware-56 4d 8d 37 93 fe f5 0e-88 0c 3d 23 2b a1 5a 41",
            "8E12345",
            "1E5",
        ] {
            assert_eq!(check_serial(good), Ok(()), "{good}");
        }
        for bad in [
            "1.23457E+11",
            "4E+15",
            "1,5E-12",
            "a\u{1b}[31m",
            "PF3X\u{fffe}2K1Z",
            "PF3X\u{ffff}",
            "PF3X\u{202e}Z1K2",
            &"x".repeat(129),
            &"Ab+/".repeat(20),
        ] {
            assert!(check_serial(bad).is_err(), "{bad}");
        }
    }

    fn hash_of(bytes: usize) -> String {
        // Any standard-alphabet text of the right length decodes.
        let mut s = "Ab+/".repeat(bytes / 3);
        match bytes % 3 {
            1 => s.push_str("QQ=="),
            2 => s.push_str("QUE="),
            _ => {}
        }
        s
    }

    #[test]
    fn todays_and_older_hash_lengths_pass() {
        assert_eq!(check_hash(&hash_of(3000)), Ok(3000));
        assert_eq!(check_hash(&hash_of(1089)), Ok(1089));
        assert_eq!(check_hash(&hash_of(1000)), Ok(1000));
    }

    #[test]
    fn bad_hashes_say_why() {
        let placeholder = check_hash("aGFyZHdhcmVJZGVudGlmaWVy").unwrap_err();
        assert!(
            placeholder.0.contains("decodes to 18 bytes, too short"),
            "{placeholder}"
        );
        let url = format!("{}-A", &hash_of(3000)[..3998]);
        assert!(check_hash(&url).unwrap_err().0.contains("base64url"));
        let cut = &hash_of(3000)[..3999];
        assert!(check_hash(cut).unwrap_err().0.contains("multiple of 4"));
        let space = format!("{} {}", &hash_of(3000)[..1000], &hash_of(3000)[..2999]);
        assert!(check_hash(&space).unwrap_err().0.contains("white space"));
        let inner_pad = format!("{}==AA", &hash_of(3000)[..3996]);
        assert!(check_hash(&inner_pad).unwrap_err().0.contains("padding inside"));
        assert!(check_hash(&hash_of(20000)).unwrap_err().0.contains("too long"));
    }

    #[test]
    fn product_key_shapes() {
        assert!(check_product_key("12345-67890-09876-54321-13579").is_ok());
        assert!(check_product_key("VK7JG-NPHTM-C97JM-9MPGT-3V66T").is_ok());
        assert!(check_product_key("3300000123456").is_ok());
        assert!(check_product_key("12345").is_err());
        assert!(check_product_key("dc40a435-c6ca-41a6-812c-2f3b0f477bed").is_err());
    }

    #[test]
    fn group_tag_and_user_shapes() {
        assert!(check_group_tag("SP001_STD01").is_ok());
        assert!(check_group_tag(&"x".repeat(129)).is_err());
        assert!(check_group_tag("a\tb").is_err());
        assert!(check_user("ada@contoso.onmicrosoft.com").is_ok());
        for bad in [
            "ada",
            "ada@",
            "@contoso.com",
            "ada@contoso",
            "ada lovelace@contoso.com",
            "a@b@c.com",
        ] {
            assert!(check_user(bad).is_err(), "{bad}");
        }
    }
}
