//! The boilerplate of the total wire enums, written once.

/// Declares a wire enum over an unsigned integer with an `Unknown(n)`
/// variant, `From` conversions both ways, and equality and hashing by wire
/// value (so `Unknown(0)` equals the variant whose value is 0).
macro_rules! enum_with_unknown {
    (
        $(#[$attr:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vattr:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, Eq)]
        pub enum $name {
            $( $(#[$vattr])* $variant, )+
            /// Any other value, kept as it was on the wire.
            Unknown($ty),
        }

        impl From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( $value => Self::$variant, )+
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                <$ty>::from(*self) == <$ty>::from(*other)
            }
        }

        impl core::hash::Hash for $name {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                <$ty>::from(*self).hash(state);
            }
        }
    };
}

pub(crate) use enum_with_unknown;
