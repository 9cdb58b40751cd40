//! The one mechanism behind [`crate::scenario::Scenario`] and [`crate::mistake::Mistake`]: a
//! lesson a request switches on by a W3C baggage entry. [`lesson_switch!`] declares one as an enum
//! whose variants each have a name (in baggage, query strings and the span attribute) and a
//! sentence on what its trace shows, and gives it the rest: every variant in teaching order, the
//! name and back (an unknown name's error lists the valid ones), and the one the current request
//! carries.

/// Declares a lesson switch: `pub enum Name(kind = "scenario", key = BAGGAGE_KEY, error =
/// UnknownName) { /// doc \n Variant = "name": "lesson", ... }`.
macro_rules! lesson_switch {
    (
        $(#[$meta:meta])*
        pub enum $switch:ident(kind = $kind:literal, key = $key:ident, error = $unknown:ident) {
            $( $(#[$variant_meta:meta])* $variant:ident = $name:literal: $lesson:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $switch {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $switch {
            /// Every one, in the order they are taught.
            pub const ALL: [$switch; [$(stringify!($variant)),+].len()] = [$($switch::$variant),+];

            /// The name used in baggage, query strings and the span attribute.
            pub fn name(self) -> &'static str {
                match self { $( $switch::$variant => $name, )+ }
            }

            /// One sentence on what its trace shows.
            pub fn lesson(self) -> &'static str {
                match self { $( $switch::$variant => $lesson, )+ }
            }

            #[doc = concat!("The ", $kind, " the current request asks for, from its baggage: `None` for none, ")]
            /// or a name that is not one (downstream services ignore it; the gateway refuses it).
            pub fn current() -> Option<$switch> {
                Self::raw_current()?.parse().ok()
            }

            #[doc = concat!("The raw `", $kind, "` baggage value of the current request, if any (valid or not).")]
            pub fn raw_current() -> Option<String> {
                shared_tracing::propagation::current_baggage($key)
            }

            /// Whether the current request asks for this one.
            pub fn is_current(self) -> bool {
                Self::current() == Some(self)
            }
        }

        impl std::fmt::Display for $switch {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        #[doc = concat!("The name is not a ", $kind, "; the message lists the valid ones.")]
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error(
            "unknown {} {:?}; valid {}s are: {}",
            $kind, .0, $kind, $switch::ALL.map($switch::name).join(", ")
        )]
        pub struct $unknown(pub String);

        impl std::str::FromStr for $switch {
            type Err = $unknown;

            fn from_str(name: &str) -> Result<Self, Self::Err> {
                $switch::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| $unknown(name.to_owned()))
            }
        }
    };
}

pub(crate) use lesson_switch;
