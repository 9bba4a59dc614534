#!/usr/bin/env bash
# gandash in one command:  ./run.sh app   installs everything and starts the app
#                          ./run.sh test  installs everything the tests need and runs them
# Extra arguments go to streamlit (app) or pytest (test).
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-app}"
shift || true

system_packages="dataset-fashion-mnist"
[ "$mode" = test ] && system_packages="$system_packages chromium fonts-noto-color-emoji"
if command -v apt-get >/dev/null 2>&1 && ! dpkg -s $system_packages >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $system_packages
fi

python=$(command -v python3.11 || command -v python3)
[ -x .venv/bin/python ] || "$python" -m venv .venv
requirements=requirements.txt
[ "$mode" = test ] && requirements=requirements-dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"

case "$mode" in
  app)  exec .venv/bin/python -m gandash app "$@" ;;  # streamlit run streamlit_app.py, torch imported first
  test) exec .venv/bin/python -m pytest "$@" ;;
  *)    echo "usage: ./run.sh app|test [args]" >&2; exit 2 ;;
esac
