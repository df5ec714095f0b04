#!/bin/sh
# Register phaseo-mcp with the Claude Code CLI (user scope: every project on this machine).
#
#   PHASEO_API_KEY=phaseo_v1_sk_... sh configs/claude-code.sh            # uvx (published package)
#   PHASEO_API_KEY=phaseo_v1_sk_... PHASEO_MCP_CHECKOUT=$PWD sh configs/claude-code.sh checkout
#   PHASEO_MCP_TOKEN=... sh configs/claude-code.sh http                  # a running HTTP server
#
# Each form runs exactly one `claude mcp add`. Remove with: claude mcp remove phaseo -s user
# Check with: claude mcp list, then /mcp inside Claude Code. Set MCP_TOOL_TIMEOUT=120000
# before `claude` if you raise wait_for_video's budget above 60 s.
set -eu

form="${1:-uvx}"
name="${PHASEO_MCP_NAME:-phaseo}"

case "$form" in
  uvx)
    claude mcp add --transport stdio --scope user \
      --env "PHASEO_API_KEY=${PHASEO_API_KEY:?export PHASEO_API_KEY first}" \
      "$name" -- uvx phaseo-mcp
    ;;
  checkout)
    checkout="${PHASEO_MCP_CHECKOUT:-/path/to/phaseo-mcp}"
    claude mcp add --transport stdio --scope user \
      --env "PHASEO_API_KEY=${PHASEO_API_KEY:?export PHASEO_API_KEY first}" \
      "$name" -- "$checkout/.venv/bin/phaseo-mcp"
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
