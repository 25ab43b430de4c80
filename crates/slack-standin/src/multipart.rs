//! Just enough `multipart/form-data` to read what Slack clients send. Part bodies are slices of
//! the request body (`Bytes::slice`), so a large file part is never copied.

use bytes::Bytes;

#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) name: Option<String>,
    pub(crate) filename: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) data: Bytes,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MultipartError {
    #[error("no opening boundary")]
    NoOpeningBoundary,
    #[error("part headers are not terminated")]
    UnterminatedHeaders,
    #[error("part is not terminated by a boundary")]
    UnterminatedPart,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let mut pieces = content_type.split(';');
    let mime = pieces.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    pieces.find_map(|piece| {
        let (key, value) = piece.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

pub(crate) fn parse(body: &Bytes, boundary: &str) -> Result<Vec<Part>, MultipartError> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // Later delimiters are preceded by CRLF, which belongs to the delimiter, not the part.
    let inner_delimiter = [b"\r\n".as_slice(), delimiter].concat();

    let mut position = find(body, delimiter, 0).ok_or(MultipartError::NoOpeningBoundary)?;
    let mut parts = Vec::new();
    loop {
        position += delimiter.len();
        if body[position..].starts_with(b"--") {
            return Ok(parts);
        }
        // Skip the rest of the delimiter line (transport padding, then CRLF).
        let line_end = find(body, b"\r\n", position).ok_or(MultipartError::UnterminatedHeaders)?;
        let headers_start = line_end + 2;
        let headers_end = if body[headers_start..].starts_with(b"\r\n") {
            headers_start
        } else {
            find(body, b"\r\n\r\n", headers_start).ok_or(MultipartError::UnterminatedHeaders)?
        };
        let data_start = if headers_end == headers_start {
            headers_start + 2
        } else {
            headers_end + 4
        };
        let data_end =
            find(body, &inner_delimiter, data_start).ok_or(MultipartError::UnterminatedPart)?;

        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        let mut part = Part {
            name: None,
            filename: None,
            content_type: None,
            data: body.slice(data_start..data_end),
        };
        for header in headers.split("\r\n") {
            let Some((key, value)) = header.split_once(':') else {
                continue;
            };
            let key = key.trim();
            if key.eq_ignore_ascii_case("content-disposition") {
                part.name = disposition_param(value, "name");
                part.filename = disposition_param(value, "filename");
            } else if key.eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_string());
            }
        }
        parts.push(part);
        position = data_end + 2;
    }
}

fn disposition_param(disposition: &str, wanted: &str) -> Option<String> {
    disposition.split(';').skip(1).find_map(|piece| {
        let (key, value) = piece.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(wanted)
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// Position of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut start = from;
    while start + needle.len() <= haystack.len() {
        let offset = haystack[start..=haystack.len() - needle.len()]
            .iter()
            .position(|&byte| byte == first)?;
        let candidate = start + offset;
        if haystack[candidate + 1..candidate + needle.len()] == *rest {
            return Some(candidate);
        }
        start = candidate + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_file_parts() {
        let body = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\nC1\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\n\
              Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n",
        );
        let parts = parse(&body, "XyZ").expect("parses");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name.as_deref(), Some("channel"));
        assert_eq!(&parts[0].data[..], b"C1");
        assert_eq!(parts[1].filename.as_deref(), Some("a b.txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(&parts[1].data[..], b"line1\r\nline2");
    }

    #[test]
    fn finds_the_boundary_parameter() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"abc\"").as_deref(),
            Some("abc")
        );
        assert_eq!(boundary("application/json"), None);
    }

    #[test]
    fn rejects_a_body_without_closing_boundary() {
        let body =
            Bytes::from_static(b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1");
        assert_eq!(
            parse(&body, "b").unwrap_err(),
            MultipartError::UnterminatedPart
        );
    }
}
