//! `ui/src/ipc.ts`: one typed function per command of `commands.rs` (its name camelCased, its
//! arguments under the keys Tauri expects, its answer's type from ts-rs) and one listener per
//! event the shell emits. Written from the `commands!` list itself, so a command the handler
//! registers is one the UI can call, with the same arguments, and nothing else.

use ts_rs::TS;

use crate::command_list::CommandSpec;

/// An event the shell emits to the UI, and the listener `ipc.ts` offers for it.
struct EventSpec {
    listener: &'static str,
    /// The Rust constant the shell emits it under.
    name: &'static str,
    payload: String,
    doc: &'static str,
}

fn events() -> Vec<EventSpec> {
    vec![
        EventSpec {
            listener: "onChanges",
            name: crate::bridge::CHANGES_EVENT,
            payload: format!("{}[]", <spartex_core::Change as TS>::name()),
            doc: "Subscribes to the core's changes, a burst to an event; resolves to the function that unsubscribes.",
        },
        EventSpec {
            listener: "onNavigate",
            name: crate::window::NAVIGATE_EVENT,
            payload: <crate::window::Navigate as TS>::name(),
            doc: "Subscribes to navigation requests (deep links, notification clicks).",
        },
        EventSpec {
            listener: "onQuitRefused",
            name: crate::background::QUIT_REFUSED_EVENT,
            payload: <crate::background::QuitRefused as TS>::name(),
            doc: "Subscribes to a Quit from the tray held back because actions still wait for the server.",
        },
    ]
}

const HEADER: &str = "\
// Generated from the command list in src-tauri/src/commands.rs by src-tauri/src/bindings/ipc.rs.
// Do not edit: run `UPDATE_BINDINGS=1 cargo nextest run -p spartex-desktop bindings`.
//
// Every call into the Rust core goes through this module, so tests can mock it whole
// (`vi.mock('../ipc')`). Each function invokes the command of the same name; a failure rejects
// with a `CommandError`. The core reads from its local cache: these are fast and work offline.
";

/// `server_url` → `serverUrl`, as Tauri names a command's arguments by default.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn ts_type(rust_ts: &str) -> String {
    // Integers travel as JSON numbers and stay below 2^53 (as in bindings.ts).
    rust_ts.replace("bigint", "number")
}

/// The declarations of `bindings.ts` that `ts` names; a name that is not declared there fails
/// the test, so a command cannot take or answer a type the UI does not know.
fn names_in(ts: &str, declared: &[String], what: &str) -> Vec<String> {
    const BUILT_IN: &[&str] = &[
        "string", "number", "boolean", "null", "Array", "Record", "Partial", "unknown",
    ];
    ts.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty() && !BUILT_IN.contains(word))
        .map(|word| {
            assert!(
                declared.iter().any(|name| name == word),
                "{what} uses `{word}`, which src-tauri/src/bindings.rs does not declare: add it there"
            );
            word.to_owned()
        })
        .collect()
}

fn jsdoc(lines: &[&str], indent: &str) -> String {
    let lines: Vec<&str> = lines.iter().map(|line| line.trim()).collect();
    match lines.as_slice() {
        [] => String::new(),
        [one] => format!("{indent}/** {one} */\n"),
        many => {
            let mut out = format!("{indent}/**\n");
            for line in many {
                out.push_str(&format!("{indent} * {line}\n").replace(" * \n", " *\n"));
            }
            out.push_str(&format!("{indent} */\n"));
            out
        }
    }
}

fn generate(commands: &[CommandSpec], declared: &[String]) -> String {
    let mut imports: Vec<String> = Vec::new();
    let mut body = String::new();
    for command in commands {
        let what = format!("the command `{}`", command.name);
        let params: Vec<(String, String)> = command
            .args
            .iter()
            .map(|arg| (camel(arg.name), ts_type(&arg.ts)))
            .collect();
        let returns = ts_type(&command.returns);
        for (_, ts) in &params {
            imports.extend(names_in(ts, declared, &what));
        }
        imports.extend(names_in(&returns, declared, &what));

        let signature: Vec<String> = params
            .iter()
            .map(|(name, ts)| format!("{name}: {ts}"))
            .collect();
        let args = if params.is_empty() {
            String::new()
        } else {
            let keys: Vec<&str> = params.iter().map(|(name, _)| name.as_str()).collect();
            format!(", {{ {} }}", keys.join(", "))
        };
        body.push('\n');
        body.push_str(&jsdoc(command.docs, ""));
        body.push_str(&format!(
            "export function {}({}): Promise<{returns}> {{\n  return call<{returns}>('{}'{args});\n}}\n",
            camel(command.name),
            signature.join(", "),
            command.name,
        ));
    }
    for event in events() {
        let payload = ts_type(&event.payload);
        imports.extend(names_in(&payload, declared, event.listener));
        body.push('\n');
        body.push_str(&jsdoc(&[event.doc], ""));
        body.push_str(&format!(
            "export function {}(handler: (payload: {payload}) => void): Promise<UnlistenFn> {{\n  \
             return listen<{payload}>('{}', (event) => handler(event.payload));\n}}\n",
            event.listener, event.name,
        ));
    }
    imports.push("CommandError".into());
    imports.sort();
    imports.dedup();

    let mut out = String::from(HEADER);
    out.push_str("import { listen, type UnlistenFn } from '@tauri-apps/api/event';\n");
    out.push_str("import { call } from './invoke';\n");
    out.push_str("import type {\n");
    for name in &imports {
        out.push_str(&format!("  {name},\n"));
    }
    out.push_str("} from './bindings';\n");
    out.push('\n');
    out.push_str("export type { CommandError };\n");
    out.push_str("export { isCommandError, toCommandError } from './invoke';\n");
    out.push_str(&body);
    out
}

#[test]
fn ipc_ts_matches_the_command_list() {
    let generated = generate(&crate::commands::surface(), &super::declared_names());
    super::check_committed("ipc.ts", &generated);
}

#[test]
fn arguments_are_camel_cased_as_tauri_does() {
    assert_eq!(camel("server_url"), "serverUrl");
    assert_eq!(camel("page_ms"), "pageMs");
    assert_eq!(camel("text"), "text");
    assert_eq!(camel("set_notification_prefs"), "setNotificationPrefs");
}

#[test]
fn every_registered_command_is_in_the_surface_once() {
    let surface = crate::commands::surface();
    let mut names: Vec<&str> = surface.iter().map(|command| command.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), surface.len(), "a command is listed twice");
    let sign_in = surface
        .iter()
        .find(|command| command.name == "sign_in")
        .expect("sign_in is a command");
    // What Tauri injects (the app handle, the shell's state) is not the UI's to send.
    let args: Vec<&str> = sign_in.args.iter().map(|arg| arg.name).collect();
    assert_eq!(args, ["server_url", "email", "password"]);
}
