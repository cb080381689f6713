#!/bin/sh
# Best effort: the Debian packages behind the offline data sets.
#   fashion-mnist: dataset-fashion-mnist (IDX files in /usr/share/datasets/fashion-mnist), the data set the
#                  shipped models, `ganstudio eval` and the real-data tests use;
#   emoji:         fonts-noto-color-emoji (the glyphs, SIL Open Font License 1.1) and unicode-data
#                  (emoji-test.txt, the Unicode group of each glyph).
# Installed with apt-get as root or through password-less sudo; anywhere else this prints how to get each
# one and succeeds, since the app and the tests work without them (the tests that need them are skipped).
FMNIST_DIR=/usr/share/datasets/fashion-mnist
EMOJI_FONT=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
EMOJI_TEST=/usr/share/unicode/emoji/emoji-test.txt

missing=""
[ -d "$FMNIST_DIR" ] || [ -n "$GANSTUDIO_DATA" ] || missing="$missing dataset-fashion-mnist"
[ -f "$EMOJI_FONT" ] || missing="$missing fonts-noto-color-emoji"
[ -f "$EMOJI_TEST" ] || missing="$missing unicode-data"
[ -z "$missing" ] && exit 0

hint() {
  for p in $missing; do
    case $p in
      dataset-fashion-mnist) echo "note: Fashion-MNIST is not installed; get it with 'sudo apt-get install $p' or set GANSTUDIO_DATA$1";;
      *) echo "note: the emoji data set needs $p, not installed; get it with 'sudo apt-get install $p'$1";;
    esac
  done
}
command -v apt-get >/dev/null 2>&1 || { hint " (no apt-get here)"; exit 0; }
if [ "$(id -u)" = 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
else hint ""; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # $missing is a list of package names
$SUDO apt-get install -y -q $missing >/dev/null 2>&1 \
  || { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q $missing >/dev/null 2>&1; } \
  || hint " (apt-get could not install it)"
exit 0
