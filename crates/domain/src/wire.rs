//! Shared machinery for enums that travel as exact strings on the SIR wire.

/// Defines an enum whose variants each map to one exact wire string, plus `Other(String)` for
/// values this version does not know. Parsing is lenient (exact match, then ASCII
/// case-insensitive match, else `Other`), so a new value from the service never fails a whole
/// response; serialisation writes the wire string.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know, kept verbatim (trimmed) so it can be shown
            /// and sent back unchanged.
            Other(String),
        }

        impl $name {
            /// Every value this version knows, in the service's order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// The exact string the SIR API uses for this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(value) => value,
                }
            }

            /// Whether this is a value this version knows (not [`Self::Other`]).
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                let value = value.trim();
                $(if value == $wire { return Self::$variant; })+
                $(if value.eq_ignore_ascii_case($wire) { return Self::$variant; })+
                Self::Other(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::from(value.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(value.as_ref()))
            }
        }
    };
}

/// At most this many characters of a user's input are echoed back in an error message.
const PREVIEW_CHARS: usize = 60;

/// A short, single-line copy of untrusted input for error messages: whitespace runs collapse to
/// one space and long input is cut with an ellipsis, so an error never echoes a whole paste.
pub(crate) fn preview(input: &str) -> String {
    let single_line = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if single_line.chars().count() <= PREVIEW_CHARS {
        single_line
    } else {
        let cut: String = single_line.chars().take(PREVIEW_CHARS - 1).collect();
        format!("{cut}…")
    }
}
