# Sourced by the other scripts: finds Python 3.13 and makes the project's venv.
# Quart 0.23 needs 3.13 (on older Pythons pip silently installs an older Quart).
shopt -s inherit_errexit

is_313() {
  "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1
}

find_python() {
  local candidate pyenv_root=""
  command -v pyenv >/dev/null 2>&1 && pyenv_root=$(pyenv root)
  for candidate in ${PYTHON:-} python3.13 ${pyenv_root:+"$pyenv_root"/versions/3.13*/bin/python3.13} python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_313 "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "Python 3.13 is needed: install it (pyenv install 3.13) or set PYTHON=/path/to/python3.13" >&2
  return 1
}

ensure_venv() {
  local venv="${VENV:-.venv}" extras="${1:-}" python
  if [ ! -x "$venv/bin/python" ]; then
    python=$(find_python)
    "$python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  fi
  "$venv/bin/python" -m pip install --quiet -e ".${extras}" -e ./plugins/twitter -e ./plugins/linkedin >&2
  echo "$venv"
}
