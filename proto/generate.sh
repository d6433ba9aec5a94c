#!/bin/sh
# Generates the protobufjs static modules and their TypeScript declarations
# from the .proto files of this folder into proto/generated/ (not committed).
set -eu
cd "$(dirname "$0")"
mkdir -p generated
../node_modules/.bin/pbjs -t static-module -w es6 --es6 --force-number \
  -o generated/shoal.js signaling.proto media.proto cluster.proto
../node_modules/.bin/pbts -o generated/shoal.d.ts generated/shoal.js
# Reflection (field names and types) for checking canonical JSON frames.
../node_modules/.bin/pbjs -t json-module -w es6 --es6 \
  -r descriptor -o generated/descriptor.js signaling.proto media.proto cluster.proto
printf '%s\n' 'import type { Root } from "protobufjs";' 'declare const root: Root;' 'export default root;' > generated/descriptor.d.ts
