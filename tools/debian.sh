# Sourced by the check scripts: install the Debian packages a check needs, or fail saying which.
need_debs() { # need_debs SCRIPT PACKAGE...: apt-get install the packages (none: nothing to do)
    local script=$1
    shift
    (($#)) || return 0
    echo "$script: installing $*"
    if ! command -v apt-get >/dev/null; then
        echo "$script: FAILED: needs the Debian packages $* and there is no apt-get here" >&2
        exit 1
    fi
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "$@" >/dev/null; } ||
        { echo "$script: FAILED: could not install $*" >&2; exit 1; }
}
