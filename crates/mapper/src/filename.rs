//! File names SIR accepts for attachments: 1 to 255 characters of `[a-zA-Z0-9._-]`.

use sirslack_domain::limits::FILE_NAME_MAX;

/// The name used when nothing usable is left of a file name.
pub const FALLBACK_FILE_NAME: &str = "file";

/// Longest extension kept apart from the stem when a name must be shortened or tidied.
const EXTENSION_MAX: usize = 16;

/// Turns any file name (typically a Slack file's `name`) into one SIR accepts.
///
/// - Latin letters with accents and ligatures are transliterated (`Résumé` -> `Resume`,
///   `Straße` -> `Strasse`); every other character outside `[a-zA-Z0-9._-]` becomes `_`, and
///   runs of `_` collapse to one.
/// - `_` is trimmed from both ends of the stem and from the end of the extension, so
///   `my report (1).pdf` becomes `my_report_1.pdf`.
/// - The extension (the part after the last `.`, up to 16 letters or digits) survives
///   shortening to 255 characters; an empty stem becomes `file` (`😀.pdf` -> `file.pdf`).
/// - The result is never empty, `.` or `..`: names with nothing usable become `file`.
///
/// The result always satisfies [`sirslack_domain::limits::is_valid_sir_file_name`], and
/// sanitising it again changes nothing.
pub fn sanitize_file_name(name: &str) -> String {
    let tidied = tidy(&map_to_allowed(name.trim()));
    if tidied.len() <= FILE_NAME_MAX {
        return tidied;
    }
    // Everything is ASCII from here on, so byte lengths are character counts.
    let (stem, extension) = split_extension(&tidied);
    let suffix = extension
        .map(|extension| format!(".{extension}"))
        .unwrap_or_default();
    let cut = &stem[..FILE_NAME_MAX - suffix.len()];
    // Tidy again: the cut may leave `_` at the end of the stem.
    tidy(&format!("{cut}{suffix}"))
}

/// Longest Slack file ID kept in a name (Slack's are about 11 characters).
const TAG_MAX: usize = 32;

/// The name a Slack file gets in SIR: [`sanitize_file_name`] of its name with the Slack file
/// ID before the extension (`Incident report.pdf`, `F07ABC123` -> `Incident_report-F07ABC123.pdf`).
///
/// The ID makes the name unique to that Slack file, so the integration can recognise its own
/// upload by name whenever SIR lists it (SIR answers an upload with no attachment ID), and a
/// responder's file of the same name is never mistaken for it. The stem is shortened, never the
/// ID or the extension, to stay within 255 characters.
pub fn slack_upload_file_name(name: &str, slack_file_id: &str) -> String {
    let base = sanitize_file_name(name);
    let mapped = map_to_allowed(slack_file_id.trim());
    let tag = mapped.trim_matches(|c| c == '_' || c == '.');
    let tag = &tag[..tag.len().min(TAG_MAX)];
    if tag.is_empty() {
        return base;
    }
    let (stem, extension) = split_extension(&base);
    let suffix = match extension {
        Some(extension) => format!("-{tag}.{extension}"),
        None => format!("-{tag}"),
    };
    // Everything is ASCII here, so byte lengths are character counts.
    let room = FILE_NAME_MAX - suffix.len();
    let stem = stem[..stem.len().min(room)].trim_end_matches('_');
    format!("{stem}{suffix}")
}

/// Maps every character to allowed ASCII, transliterating Latin letters and collapsing runs of
/// `_`.
fn map_to_allowed(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut push = |c: char| {
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    };
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
            push(c);
        } else if let Some(ascii) = transliterate(c) {
            ascii.chars().for_each(&mut push);
        } else {
            push('_');
        }
    }
    out
}

/// Trims `_` around the stem and the extension of an already mapped name, and replaces a stem
/// with nothing usable by [`FALLBACK_FILE_NAME`]. Applying it twice changes nothing.
fn tidy(mapped: &str) -> String {
    let (stem, extension) = split_extension(mapped);
    let stem = stem.trim_matches('_');
    let stem = if stem.trim_matches('.').is_empty() {
        FALLBACK_FILE_NAME
    } else {
        stem
    };
    match extension {
        Some(extension) => format!("{stem}.{extension}"),
        None => stem.to_owned(),
    }
}

/// `report.final.pdf` -> (`report.final`, `Some("pdf")`). Only 1 to 16 letters or digits after
/// the last dot (ignoring trailing `_`) count as an extension, and only after a non-empty
/// stem.
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, extension)) => {
            let extension = extension.trim_end_matches('_');
            let is_extension = !stem.is_empty()
                && (1..=EXTENSION_MAX).contains(&extension.len())
                && extension.bytes().all(|b| b.is_ascii_alphanumeric());
            if is_extension {
                (stem, Some(extension))
            } else {
                (name, None)
            }
        }
        None => (name, None),
    }
}

/// ASCII spellings of the Latin letters most often seen in file names.
fn transliterate(c: char) -> Option<&'static str> {
    let ascii = match c {
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "A",
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'Æ' => "AE",
        'æ' => "ae",
        'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ď' | 'Đ' | 'Ð' => "D",
        'ď' | 'đ' | 'ð' => "d",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĥ' | 'Ħ' => "H",
        'ĥ' | 'ħ' => "h",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'Ĵ' => "J",
        'ĵ' => "j",
        'Ķ' => "K",
        'ķ' => "k",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "N",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ŏ' | 'Ő' => "O",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'Œ' => "OE",
        'œ' => "oe",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "S",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "T",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'Þ' => "TH",
        'þ' => "th",
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'Ŵ' => "W",
        'ŵ' => "w",
        'Ý' | 'Ÿ' | 'Ŷ' => "Y",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    };
    Some(ascii)
}

#[cfg(test)]
mod tests {
    use sirslack_domain::limits::is_valid_sir_file_name;

    use super::*;

    #[test]
    fn slack_uploads_carry_the_slack_file_id_before_the_extension() {
        assert_eq!(
            slack_upload_file_name("Incident report (final).pdf", "F07ABC123"),
            "Incident_report_final-F07ABC123.pdf"
        );
        assert_eq!(
            slack_upload_file_name("notes", "F07ABC123"),
            "notes-F07ABC123"
        );
        assert_eq!(slack_upload_file_name("😀", "F07ABC123"), "file-F07ABC123");
        assert_ne!(
            slack_upload_file_name("report.pdf", "F0AAA"),
            slack_upload_file_name("report.pdf", "F0BBB")
        );
        let long = format!("{}.tar.gz", "x".repeat(400));
        let tagged = slack_upload_file_name(&long, "F07ABC123");
        assert_eq!(tagged.len(), FILE_NAME_MAX);
        assert!(tagged.ends_with("-F07ABC123.gz"), "{tagged}");
        for (name, id) in [
            ("a b.txt", "F1"),
            ("résumé_.docx", "F07ABC123"),
            (&long, "F0"),
            ("x.pdf", "F/../1"),
            ("y", ""),
        ] {
            let tagged = slack_upload_file_name(name, id);
            assert!(is_valid_sir_file_name(&tagged), "{name} {id}: {tagged}");
        }
    }

    #[test]
    fn valid_names_are_kept() {
        for name in [
            "report.pdf",
            "a",
            "log-2024_01.v2.tar.gz",
            ".env",
            "A-B_c.9",
        ] {
            assert_eq!(sanitize_file_name(name), name);
        }
    }

    #[test]
    fn other_characters_become_single_underscores() {
        assert_eq!(sanitize_file_name("my report (1).pdf"), "my_report_1.pdf");
        assert_eq!(sanitize_file_name("a  /\\  b.txt"), "a_b.txt");
        assert_eq!(sanitize_file_name("  spaced out .log "), "spaced_out.log");
        assert_eq!(sanitize_file_name("日本語のファイル.docx"), "file.docx");
        assert_eq!(sanitize_file_name("x日本y.docx"), "x_y.docx");
    }

    #[test]
    fn latin_letters_are_transliterated() {
        assert_eq!(sanitize_file_name("Résumé.pdf"), "Resume.pdf");
        assert_eq!(
            sanitize_file_name("Straße Œuvre Łódź.txt"),
            "Strasse_OEuvre_Lodz.txt"
        );
    }

    #[test]
    fn nothing_usable_becomes_file() {
        for name in ["", " ", ".", "..", "...", "😀", "___", "_._"] {
            assert_eq!(sanitize_file_name(name), "file", "{name:?}");
        }
        assert_eq!(sanitize_file_name("😀.pdf"), "file.pdf");
    }

    #[test]
    fn odd_extensions_stay_in_the_stem() {
        assert_eq!(sanitize_file_name("archive.tar.gz"), "archive.tar.gz");
        assert_eq!(sanitize_file_name("notes."), "notes.");
        assert_eq!(sanitize_file_name("v1.0 final"), "v1.0_final");
        assert_eq!(sanitize_file_name("data.a-b"), "data.a-b");
        assert_eq!(sanitize_file_name("data._x"), "data._x");
        assert_eq!(sanitize_file_name("data.pdf)"), "data.pdf");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "x".repeat(400));
        let cut = sanitize_file_name(&long);
        assert_eq!(cut.len(), FILE_NAME_MAX);
        assert!(cut.ends_with("x.pdf"), "{cut}");
        let no_extension = sanitize_file_name(&"y".repeat(300));
        assert_eq!(no_extension, "y".repeat(FILE_NAME_MAX));
        // A cut that leaves `_` before a new last dot is tidied like any other name.
        let awkward = format!("{}_.ab_{}", "z".repeat(251), "c-".repeat(10));
        let cut = sanitize_file_name(&awkward);
        assert_eq!(cut, format!("{}.ab", "z".repeat(251)));
        assert_eq!(sanitize_file_name(&cut), cut);
        let accented = sanitize_file_name(&format!("{}.txt", "ß".repeat(200)));
        assert_eq!(accented.len(), FILE_NAME_MAX);
        assert!(accented.ends_with("s.txt"));
    }

    #[test]
    fn results_are_valid_for_sir() {
        for name in [
            "my report (1).pdf",
            "",
            "..",
            "Résumé.pdf",
            "a\0b",
            "\u{202e}gpj.exe",
        ] {
            let sanitized = sanitize_file_name(name);
            assert!(
                is_valid_sir_file_name(&sanitized),
                "{name:?} -> {sanitized:?}"
            );
        }
    }

    mod properties {
        use proptest::prelude::*;
        use sirslack_domain::limits::is_valid_sir_file_name;

        use super::super::*;

        proptest! {
            #[test]
            fn any_name_becomes_a_valid_one(name in any::<String>()) {
                let sanitized = sanitize_file_name(&name);
                prop_assert!(is_valid_sir_file_name(&sanitized), "{:?} -> {:?}", name, sanitized);
                prop_assert!(sanitized != "." && sanitized != "..");
            }

            #[test]
            fn sanitizing_is_idempotent(name in "[a-zé_. ()-]{0,300}") {
                let once = sanitize_file_name(&name);
                prop_assert!(is_valid_sir_file_name(&once));
                prop_assert_eq!(sanitize_file_name(&once), once.clone());
            }
        }
    }
}
