#!/usr/bin/env bash
# The real photographs that train and test gandash's restorers besides scikit-image's (issue #22): Debian's
# mate-backgrounds, unpacked without installing it. Only its 12 nature photographs are kept: its other
# pictures, and every picture of ukui-wallpapers (looked at one by one: renders, drawings, gradients), are not
# photographs. They go to $GANDASH_HOME/data/photos-mate (default ~/.gandash), 2 MB to 5 MB each.
set -euo pipefail
home="${GANDASH_HOME:-$HOME/.gandash}"
target="$home/data/photos-mate"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && apt-get download mate-backgrounds >/dev/null)
dpkg -x "$scratch"/mate-backgrounds_*.deb "$scratch/x"
mkdir -p "$target"
cp "$scratch"/x/usr/share/backgrounds/mate/nature/*.jpg "$target/"
ls "$target" | wc -l | xargs echo "photographs in $target:"
