# Sourced by the scripts that run Python from PyPI (peer clients, the browser test, the deploy check):
# venv_install PACKAGE…: the checkout's .venv, made once, with these packages in it.
venv_install() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "$@"
}
