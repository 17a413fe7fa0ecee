//! `tcpscope completions SHELL`: the completion script for bash, zsh or fish. clap_complete
//! writes options, subcommands and fixed values (lab scenarios, --source, --format) from the clap
//! definitions; this file adds what clap cannot know, per shell: state names and groups (from
//! core's one table) after `state`/`exclude`, for `explain` and `diagram --highlight`, and the
//! names of network namespaces (read from /run/netns when the user presses TAB) after --netns.

use crate::cli::install::{CompletionsArgs, ShellArg};
use crate::cli::lab::ScenarioArg;
use crate::cli::Cli;
use anyhow::Result;
use clap::{CommandFactory, ValueEnum};
use clap_complete::Shell;
use std::io::Write;
use std::process::ExitCode;
use tcpscope_core::model::state::GROUPS;
use tcpscope_core::TcpState;

pub fn run(args: &CompletionsArgs) -> Result<ExitCode> {
    let script = script(args.shell);
    std::io::stdout().lock().write_all(script.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The whole script for `shell`.
pub fn script(shell: ShellArg) -> String {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    let generator = match shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
    };
    clap_complete::generate(generator, &mut cmd, "tcpscope", &mut out);
    let generated = String::from_utf8_lossy(&out).into_owned();
    match shell {
        ShellArg::Bash => bash(generated),
        ShellArg::Zsh => zsh(&generated),
        ShellArg::Fish => fish(generated),
    }
}

/// Every word a filter's `state`/`exclude` takes: state names, then groups.
fn state_words() -> Vec<&'static str> {
    let mut words: Vec<&str> = TcpState::ALL.iter().map(|s| s.name()).collect();
    words.extend(GROUPS.iter().map(|(name, _)| *name));
    words
}

/// bash: a wrapper around clap's `_tcpscope` that answers for the words it knows, registered in
/// its place.
fn bash(mut generated: String) -> String {
    let states = state_words().join(" ");
    generated.push_str(&format!(
        r#"
# Added by tcpscope: state names and network namespaces, which clap's script does not know.
_tcpscope_netns_names() {{
    local d
    for d in /run/netns/*; do
        [ -e "$d" ] && printf '%s\n' "${{d##*/}}"
    done
}}

_tcpscope_extra() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}"
    local prev="${{COMP_WORDS[COMP_CWORD-1]:-}}"
    local prev2=""
    [ "$COMP_CWORD" -ge 2 ] && prev2="${{COMP_WORDS[COMP_CWORD-2]}}"
    case "$prev" in
        state|exclude|explain|--highlight)
            COMPREPLY=( $(compgen -W "{states}" -- "$cur") )
            return 0
            ;;
        --netns)
            if [[ "$cur" == /* ]]; then
                COMPREPLY=( $(compgen -f -- "$cur") )
            else
                COMPREPLY=( $(compgen -W "$(_tcpscope_netns_names) pid:" -- "$cur") )
            fi
            return 0
            ;;
    esac
    if [ "$prev2" = explain ] && [[ "$prev" != -* ]]; then
        COMPREPLY=( $(compgen -W "{states}" -- "$cur") )
        return 0
    fi
    _tcpscope "$@"
}}

if [[ "${{BASH_VERSINFO[0]}}" -eq 4 && "${{BASH_VERSINFO[1]}}" -ge 4 || "${{BASH_VERSINFO[0]}}" -gt 4 ]]; then
    complete -F _tcpscope_extra -o nosort -o bashdefault -o default tcpscope
else
    complete -F _tcpscope_extra -o bashdefault -o default tcpscope
fi
"#
    ));
    generated
}

/// zsh: helper functions defined at the top of the `#compdef` file, and clap's `_default`
/// actions replaced by them for --netns, the filter, `explain`'s states and --highlight.
fn zsh(generated: &str) -> String {
    let states: Vec<String> = TcpState::ALL
        .iter()
        .map(|s| format!("'{}:{} state'", s.name(), s.display_name()))
        .chain(
            GROUPS
                .iter()
                .map(|(name, what)| format!("'{name}:{}'", zsh_quote(what))),
        )
        .collect();
    let helpers = format!(
        r#"
# Added by tcpscope: state names and network namespaces, which clap's script does not know.
_tcpscope_state_words() {{
    local -a words
    words=({states})
    _describe -t states 'TCP state or group' words
}}

_tcpscope_netns_names() {{
    local -a names
    names=(/run/netns/*(N:t))
    _alternative 'netns:network namespace:compadd -a names' 'pid:namespace of a process:(pid\:)' 'files:namespace file:_files'
}}

_tcpscope_filter_words() {{
    if [[ ${{words[CURRENT-1]}} == (state|exclude) ]]; then
        _tcpscope_state_words
    else
        _default
    fi
}}
"#,
        states = states.join(" ")
    );
    let mut out = String::with_capacity(generated.len() + helpers.len());
    for (i, line) in generated.lines().enumerate() {
        out.push_str(&zsh_action(line));
        out.push('\n');
        if i == 0 {
            out.push_str(&helpers);
        }
    }
    out
}

/// One line of clap's zsh script with its `_default` action replaced where tcpscope knows better.
fn zsh_action(line: &str) -> String {
    const DEFAULT: &str = ":_default' \\";
    let Some(head) = line.strip_suffix(DEFAULT) else {
        return line.to_string();
    };
    let trimmed = line.trim_start();
    let action = if head.ends_with(":NAME|pid:PID") || head.ends_with(":NAME|pid:PID|PATH") {
        "_tcpscope_netns_names"
    } else if trimmed.starts_with("'::filter -- ") || trimmed.starts_with("'*::filter -- ") {
        "_tcpscope_filter_words"
    } else if trimmed.starts_with("'::state -- ")
        || trimmed.starts_with("'::to -- ")
        || (trimmed.contains("--highlight=[") && head.ends_with(":STATE"))
    {
        "_tcpscope_state_words"
    } else {
        return line.to_string();
    };
    format!("{head}:{action}' \\")
}

fn zsh_quote(s: &str) -> String {
    s.replace('\'', "'\\''").replace(':', "\\:")
}

/// fish: more `complete` lines; fish offers the union of every matching line.
fn fish(mut generated: String) -> String {
    let states: Vec<String> = TcpState::ALL
        .iter()
        .map(|s| format!("{}\\t'{} state'", s.name(), s.display_name()))
        .chain(
            GROUPS
                .iter()
                .map(|(name, what)| format!("{name}\\t'{}'", what.replace('\'', "\\'"))),
        )
        .collect();
    // clap's fish script leaves lab's positional SCENARIO to file names.
    let scenarios: Vec<String> = ScenarioArg::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|v| match v.get_help() {
            Some(help) => format!(
                "{}\\t'{}'",
                v.get_name(),
                first_sentence(&help.to_string()).replace('\'', "\\'")
            ),
            None => v.get_name().to_string(),
        })
        .collect();
    generated.push_str(&format!(
        r#"
# Added by tcpscope: state names, network namespaces and lab scenarios, which clap's script does
# not know.
function __tcpscope_after_state_word
    set -l words (commandline -opc)
    contains -- $words[-1] state exclude
end

function __tcpscope_netns_names
    for d in /run/netns/*
        test -e $d; and basename $d
    end
    echo 'pid:'
end

complete -c tcpscope -n __tcpscope_after_state_word -f -a "{states}"
complete -c tcpscope -n "__fish_tcpscope_using_subcommand explain" -f -a "{states}"
complete -c tcpscope -n "__fish_tcpscope_using_subcommand diagram" -l highlight -x -a "{states}"
complete -c tcpscope -l netns -r -a "(__tcpscope_netns_names)"
complete -c tcpscope -n "__fish_tcpscope_using_subcommand lab" -f -a "{scenarios}"
"#,
        states = states.join("\n"),
        scenarios = scenarios.join("\n"),
    ));
    generated
}

/// Up to the first period: fish shows one short line per candidate.
fn first_sentence(s: &str) -> &str {
    s.split_once(". ")
        .map_or(s, |(first, _)| first)
        .trim_end_matches('.')
}
