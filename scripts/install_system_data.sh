#!/bin/sh
# Best effort: Debian's Fashion-MNIST package (IDX files in /usr/share/datasets/fashion-mnist), the
# data set the shipped models, `ganstudio eval` and the real-data tests use.  Installed with apt-get
# as root or through password-less sudo; anywhere else this prints how to get it and succeeds, since
# the app and the tests work without it (the tests that need it are skipped).
DIR=/usr/share/datasets/fashion-mnist
PKG=dataset-fashion-mnist
[ -d "$DIR" ] && exit 0
[ -n "$GANSTUDIO_DATA" ] && exit 0
hint="note: Fashion-MNIST is not installed; get it with 'sudo apt-get install $PKG' or set GANSTUDIO_DATA"
command -v apt-get >/dev/null 2>&1 || { echo "$hint"; exit 0; }
if [ "$(id -u)" = 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
else echo "$hint"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q "$PKG" >/dev/null 2>&1 \
  || { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q "$PKG" >/dev/null 2>&1; } \
  || echo "$hint (apt-get could not install it)"
exit 0
