#!/usr/bin/env bash
# macOS: dist/TorchCanvas.app (PyInstaller BUNDLE in packaging/torchcanvas.spec) -> .dmg.
# Run on a Mac from the repository root, with the project's environment active:
#   bash packaging/macos/build_dmg.sh
# Not verified here (the project's machines run Linux); .github/workflows/installers.yml
# runs it on a hosted macOS runner. The app is unsigned: first open with right-click > Open,
# or sign and notarise it (codesign --deep -s "Developer ID Application: ..." and
# xcrun notarytool) before publishing.
set -euo pipefail
cd "$(dirname "$0")/../.."
python packaging/build.py
version=$(python -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
staging=build/dmg
rm -rf "$staging"
mkdir -p "$staging"
cp -R dist/TorchCanvas.app "$staging/"
ln -s /Applications "$staging/Applications"   # drag-to-install
hdiutil create -volname "TorchCanvas" -srcfolder "$staging" -fs HFS+ -format UDZO \
  -ov "dist/TorchCanvas-${version}-macos-$(uname -m).dmg"
rm -rf "$staging"
ls -lh dist/*.dmg
