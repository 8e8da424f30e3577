# Sourced by the CI steps that need more than `make test` installs: Debian packages
# (installed when missing) and PyPI tools in .tools/ci (pinned).
ci_tools_venv=.tools/ci

ci_apt() { # ci_apt COMMAND PACKAGE...: install PACKAGEs unless COMMAND exists
    local command=$1
    shift
    command -v "$command" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "ci: $command is missing and installing $* needs root" >&2
        return 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ci_pip() { # ci_pip REQUIREMENT...: install into .tools/ci (its output only on failure)
    [ -x "$ci_tools_venv/bin/python" ] || python3 -m venv "$ci_tools_venv"
    if ! "$ci_tools_venv/bin/python" -m pip install --disable-pip-version-check "$@" \
        >"$ci_tools_venv/pip.log" 2>&1; then
        cat "$ci_tools_venv/pip.log" >&2
        return 1
    fi
}
