#!/bin/sh
# /usr/bin/trustlink: runs the bundle with the image's Node by absolute path,
# so boot-time units depend on no PATH. The bundle finds its addons beside
# itself; AWS_CRT_NODEJS_BINARY_ABSOLUTE_PATH is aws-crt's own fallback,
# named here so the installed addon is the one loaded whatever the bundle does.
export AWS_CRT_NODEJS_BINARY_ABSOLUTE_PATH="${AWS_CRT_NODEJS_BINARY_ABSOLUTE_PATH:-@LIBDIR@/trustlink/native/linux-@ARCH@/aws-crt-nodejs.node}"
exec @BINDIR@/node @LIBDIR@/trustlink/trustlink "$@"
