# Sourced by the other scripts: finds Python 3.13 and makes the project's venv.
# Quart 0.23 needs 3.13 (on older Pythons pip silently installs an older Quart).
find_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for candidate in python3.13 "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/3.13"*/bin/python3.13; do
    if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return; fi
  done
  echo "Python 3.13 is needed: install it (pyenv install 3.13) or set PYTHON=/path/to/python3.13" >&2
  return 1
}

ensure_venv() {
  local venv="${VENV:-.venv}" extras="${1:-}"
  if [ ! -x "$venv/bin/python" ]; then
    "$(find_python)" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
  fi
  "$venv/bin/python" -m pip install --quiet -e ".${extras}" -e ./plugins/twitter -e ./plugins/linkedin
  echo "$venv"
}
