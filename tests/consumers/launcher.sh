#!/bin/sh
# The consumers' compiler launcher: launcher.sh LAUNCHER... COMPILER ARGS...
# ctest --build-and-test leaves LC_ALL and LC_MESSAGES set but empty in the build's environment
# (it sets them for the build, and puts back "unset" as empty). To the C library that is the
# same as unset, but ccache hashes every one of these variables that is set, so no consumer's
# compile would ever match this build's. The empty ones are unset; then the launcher runs.
[ -n "${LC_ALL-}" ] || unset LC_ALL
[ -n "${LC_MESSAGES-}" ] || unset LC_MESSAGES
exec "$@"
