//! `enum_with_unknown!`: a total wire enum from one table of values.
//!
//! Every enum of a header field (opcode, rcode, record type, class) names
//! the values the RFCs assign and keeps any other as `Unknown(n)`, so that a
//! parse never fails on a value and re-emission is bit-exact. The macro writes
//! the conversions both ways, equality and hashing by value (an
//! `Unknown(n)` equal to a named value compares equal to it) and `Display`.

/// Declares a total enum over an integer wire field.
///
/// ```text
/// enum_with_unknown! {
///     /// docs
///     pub enum Opcode(u8, mask 0xF) {
///         /// docs
///         Query = 0 => "query",
///         ...
///     }
///     unknown => "unknown opcode {}";
/// }
/// ```
macro_rules! enum_with_unknown {
    (
        $(#[$attr:meta])*
        pub enum $name:ident($ty:ty, mask $mask:expr) {
            $(
                $(#[$vattr:meta])*
                $variant:ident = $value:literal => $text:literal
            ),+ $(,)?
        }
        unknown => $unknown:literal;
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, Eq)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        pub enum $name {
            $(
                $(#[$vattr])*
                $variant,
            )+
            /// Any other value.
            Unknown($ty),
        }

        impl From<$ty> for $name {
            #[inline]
            fn from(v: $ty) -> Self {
                match v & $mask {
                    $( $value => Self::$variant, )+
                    n => Self::Unknown(n),
                }
            }
        }

        impl From<$name> for $ty {
            #[inline]
            fn from(v: $name) -> Self {
                match v {
                    $( $name::$variant => $value, )+
                    $name::Unknown(n) => n & $mask,
                }
            }
        }

        impl PartialEq for $name {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                <$ty>::from(*self) == <$ty>::from(*other)
            }
        }

        impl core::hash::Hash for $name {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                <$ty>::from(*self).hash(state);
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match <$name>::from(<$ty>::from(*self)) {
                    $( Self::$variant => f.write_str($text), )+
                    Self::Unknown(n) => write!(f, $unknown, n),
                }
            }
        }
    };
}

pub(crate) use enum_with_unknown;
