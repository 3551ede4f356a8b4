#!/bin/sh
# Seeds fuzz/corpus/parse_message with the RFC 4475 and RFC 5118 torture messages.
# The corpus is generated: fuzz/corpus is ignored by git.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${SIP_TORTURE_DIR:-$here/../testdata/sip-torture}
mkdir -p "$here/corpus/parse_message"
cp "$src"/corpus/rfc4475/*.dat "$src"/corpus/rfc5118/*.dat "$here/corpus/parse_message/"
echo "seeded $(ls "$here/corpus/parse_message" | wc -l) files from $src"
