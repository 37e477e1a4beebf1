# Sourced by ./run and ./test: make .venv and install the project when pyproject.toml changed.
ensure_venv() {
    extras="$1"
    if ! command -v python3 >/dev/null 2>&1; then
        echo "Python 3.11 or newer is needed: sudo apt install python3 python3-venv" >&2
        exit 2
    fi
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "Python 3.11 or newer is needed (found $(python3 --version))." >&2
        exit 2
    fi
    if [ ! -x .venv/bin/python ]; then
        if ! python3 -m venv .venv; then
            rm -rf .venv
            echo "Could not make a virtual environment: sudo apt install python3-venv" >&2
            exit 2
        fi
    fi
    stamp=".venv/.installed${extras}"
    if [ -z "$extras" ] && [ -f ".venv/.installed[dev]" ] && [ ! pyproject.toml -nt ".venv/.installed[dev]" ]; then
        return 0  # the dev install includes the app
    fi
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "Installing balance-board${extras} into .venv (first run only)..." >&2
        .venv/bin/python -m pip install --quiet --upgrade pip >&2
        pi_extra=""
        if [ -e /dev/gpiochip0 ] && [ "$(uname -m)" != "x86_64" ]; then
            pi_extra="pi"  # lgpio for the real board
        fi
        all="$(echo "${extras}" | tr -d '[]')"
        all="$(echo "${all},${pi_extra}" | sed 's/^,//; s/,$//')"
        if [ -n "$all" ]; then
            .venv/bin/python -m pip install --quiet -e ".[${all}]" >&2
        else
            .venv/bin/python -m pip install --quiet -e . >&2
        fi
        touch "$stamp"
    fi
}
