#!/usr/bin/env sh
# The runtime artifact: the built app with production dependencies only, in DEST. The Dockerfile's
# build stage and the artifact test both run this script, so what is tested is what ships.
# Needs the dev dependencies installed here (npm ci) to compile; leaves ./dist alone.
set -eu
dest="${1:?usage: scripts/build-artifact.sh DEST}"
mkdir -p "$dest"
node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$dest/dist"
# Files the build serves or reads as written: the playground's page, the vault's SQL migrations.
node scripts/copy-assets.mjs "$dest/dist"
cp package.json package-lock.json "$dest/"
cd "$dest"
npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline
