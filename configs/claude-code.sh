#!/bin/sh
# Register phaseo-mcp with the Claude Code CLI (user scope: every project on this machine).
#
#   PHASEO_API_KEY=phaseo_v1_sk_... sh configs/claude-code.sh            # uvx (published package)
#   PHASEO_API_KEY=phaseo_v1_sk_... PHASEO_MCP_CHECKOUT=$PWD sh configs/claude-code.sh checkout
#   PHASEO_MCP_TOKEN=... sh configs/claude-code.sh http                  # a running HTTP server
#
# The stdio forms also store PHASEO_OUTPUT_DIR, PHASEO_STATE_DIR, PHASEO_BASE_URL,
# PHASEO_MAX_COST_USD, PHASEO_CONFIRM_ABOVE_USD, PHASEO_REQUIRE_CONFIRMATION and
# PHASEO_LOG_LEVEL when they are set in the shell running this script.
#
# Each form runs exactly one `claude mcp add`. The server name comes before --env/--header:
# both options take several values and would swallow a name written after them.
# Remove with: claude mcp remove phaseo -s user
# Check with: claude mcp get phaseo (says "Connected"), then /mcp inside Claude Code.
# Set MCP_TOOL_TIMEOUT=120000 before `claude` if you raise wait_for_video's budget above 60 s.
set -eu

form="${1:-uvx}"
name="${PHASEO_MCP_NAME:-phaseo}"

stdio() {  # "$@" is "-- <command> [args]"; the --env options go in front of it
  for var in PHASEO_LOG_LEVEL PHASEO_MAX_COST_USD PHASEO_CONFIRM_ABOVE_USD \
    PHASEO_REQUIRE_CONFIRMATION PHASEO_BASE_URL PHASEO_STATE_DIR PHASEO_OUTPUT_DIR; do
    eval "value=\${$var:-}"
    if [ -n "$value" ]; then
      set -- --env "$var=$value" "$@"
    fi
  done
  set -- --env "PHASEO_API_KEY=${PHASEO_API_KEY:?export PHASEO_API_KEY first}" "$@"
  claude mcp add --transport stdio --scope user "$name" "$@"
}

case "$form" in
  uvx)
    stdio -- uvx phaseo-mcp
    ;;
  checkout)
    stdio -- "${PHASEO_MCP_CHECKOUT:-/path/to/phaseo-mcp}/.venv/bin/phaseo-mcp"
    ;;
  http)
    claude mcp add --transport http --scope user \
      "$name" "${PHASEO_MCP_URL:-http://127.0.0.1:8000/mcp}" \
      --header "Authorization: Bearer ${PHASEO_MCP_TOKEN:?export PHASEO_MCP_TOKEN first}"
    ;;
  *)
    echo "usage: sh configs/claude-code.sh [uvx|checkout|http]" >&2
    exit 2
    ;;
esac
