//! The `commands!` macro: every command the UI may call is written once, as an ordinary
//! function inside one `commands! { … }` list (in `commands.rs`). From that list come both
//! the invoke handler (`tauri::generate_handler!`) and, in tests, a description of each
//! command (its name, the arguments the UI sends and what it answers) from which
//! `bindings/ipc.rs` writes `ui/src/ipc.ts`. A command cannot be registered without appearing
//! in the UI's typed surface, or the other way round, and a renamed argument renames the
//! TypeScript parameter.
//!
//! Each function in the list is written as usual, with two constraints the macro relies on:
//! attributes are doc comments only, and the answer is spelled `CommandResult<T>`.
//! Parameters typed `State<'_, _>` or `AppHandle` are what Tauri injects; every other
//! parameter is sent by the UI, under its camelCased name (Tauri's default).

/// One argument the UI sends.
#[cfg(test)]
#[derive(Debug)]
pub struct ArgSpec {
    /// The Rust parameter name (snake_case); the UI sends it camelCased.
    pub name: &'static str,
    /// Its TypeScript type, from ts-rs.
    pub ts: String,
}

/// One command as the UI sees it.
#[cfg(test)]
#[derive(Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    pub docs: &'static [&'static str],
    pub args: Vec<ArgSpec>,
    /// The TypeScript type of what it answers.
    pub returns: String,
}

macro_rules! commands {
    // Munch the list one function at a time, keeping each one's description in `[…]`.
    (@item [$($done:tt)*]
        $(#[doc = $doc:literal])*
        async fn $name:ident ( $($params:tt)* ) -> CommandResult<$ok:ty> $body:block
        $($rest:tt)*
    ) => {
        $(#[doc = $doc])*
        #[tauri::command]
        async fn $name($($params)*) -> CommandResult<$ok> $body

        commands!(@item [$($done)* { $name [$($doc)*] ($($params)*) $ok }] $($rest)*);
    };
    (@item [$($done:tt)*]
        $(#[doc = $doc:literal])*
        fn $name:ident ( $($params:tt)* ) -> CommandResult<$ok:ty> $body:block
        $($rest:tt)*
    ) => {
        $(#[doc = $doc])*
        #[tauri::command]
        fn $name($($params)*) -> CommandResult<$ok> $body

        commands!(@item [$($done)* { $name [$($doc)*] ($($params)*) $ok }] $($rest)*);
    };
    // The end of the list: the handler, and the description the bindings test reads.
    (@item [$({ $name:ident [$($doc:literal)*] ($($params:tt)*) $ok:ty })*]) => {
        /// The invoke handler of every command in the list.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// Every command in the list, as the UI calls it.
        #[cfg(test)]
        pub fn surface() -> Vec<crate::command_list::CommandSpec> {
            vec![$(crate::command_list::CommandSpec {
                name: stringify!($name),
                docs: &[$($doc),*],
                args: commands!(@args [] $($params)*),
                returns: <$ok as ts_rs::TS>::name(),
            }),*]
        }
    };

    // The parameters the UI sends; what Tauri injects is left out.
    (@args [$($out:expr),*]) => {
        vec![$($out),*]
    };
    (@args [$($out:expr),*] $arg:ident : State<$lt:lifetime, $state:ty> $(, $($rest:tt)*)?) => {
        commands!(@args [$($out),*] $($($rest)*)?)
    };
    (@args [$($out:expr),*] $arg:ident : AppHandle $(, $($rest:tt)*)?) => {
        commands!(@args [$($out),*] $($($rest)*)?)
    };
    (@args [$($out:expr),*] $arg:ident : $ty:ty $(, $($rest:tt)*)?) => {
        commands!(@args [$($out,)* crate::command_list::ArgSpec {
            name: stringify!($arg),
            ts: <$ty as ts_rs::TS>::name(),
        }] $($($rest)*)?)
    };

    (@item [$($done:tt)*] $($rest:tt)+) => {
        compile_error!(
            "commands!: each entry is `/// docs` (optional), then \
             `[async] fn name(params) -> CommandResult<T> { … }`"
        );
    };

    ($($items:tt)*) => {
        commands!(@item [] $($items)*);
    };
}
