# shellcheck shell=bash
# Sourced by the stand-ins: append one line per call to $STANDIN_LOG (tab-separated argv).
# $STANDIN_STATE is a folder whose files hold the stand-ins' state (extension installed, env built...).
record() {
    local IFS=$'\t'
    printf '%s\n' "$*" >>"${STANDIN_LOG:?STANDIN_LOG must name the call log}"
}
state() { printf '%s/%s' "${STANDIN_STATE:?STANDIN_STATE must name a folder}" "$1"; }
