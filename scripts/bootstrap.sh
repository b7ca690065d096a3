# Shared set-up for scripts/serve and scripts/test: system packages and the virtualenv.
# Sourced, not run. Works as root on a fresh Debian/Ubuntu machine, and is quick when
# everything is already there.

set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.venv"

apt_install() {
    # Install the Debian packages named, when any of them is missing.
    missing=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "keepgreen: please install:$missing (as root: apt-get install$missing)" >&2
        exit 1
    fi
    echo "keepgreen: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

need_python() {
    if ! command -v python3 >/dev/null 2>&1; then
        apt_install python3
    fi
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "keepgreen: needs Python 3.11 or newer; found $(python3 --version)" >&2
        exit 1
    }
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        apt_install python3-venv
    fi
    command -v git >/dev/null 2>&1 || apt_install git
    [ -x /usr/lib/git-core/git-http-backend ] || apt_install git
}

make_venv() {
    # $1: the pip requirement to install into the virtualenv, e.g. "." or ".[test]"
    need_python
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT$1"
}
