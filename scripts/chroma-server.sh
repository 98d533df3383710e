#!/usr/bin/env bash
# A real Chroma server for the HTTP tests (test/http.test.ts), from PyPI in a venv of its own.
#
#   scripts/chroma-server.sh install   create .venv-chroma in the repo root and pip install chromadb 1.5.x
#   scripts/chroma-server.sh start     start `chroma run` on 127.0.0.1 with a fresh temp data dir and reset allowed;
#                                      wait until /api/v2/heartbeat answers; print the URL (only that, on stdout)
#   scripts/chroma-server.sh stop      SIGINT, wait, then SIGKILL if still alive (the server hangs on SIGTERM)
#
# Typical use:  export CHROMA_SERVER_URL="$(scripts/chroma-server.sh start)"; ...; scripts/chroma-server.sh stop
#
# Environment: CHROMA_VENV (default <repo>/.venv-chroma), CHROMA_SERVER_PORT (default: a free port),
# CHROMA_SERVER_STATE (default ${TMPDIR:-/tmp}/chromalite-chroma-server: pid, url, log, config, data),
# CHROMA_START_TIMEOUT (seconds, default 60), CHROMA_PIP_VERSION (default 1.5.9).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHROMA_VENV:-$ROOT/.venv-chroma}"
STATE="${CHROMA_SERVER_STATE:-${TMPDIR:-/tmp}/chromalite-chroma-server}"
PID_FILE="$STATE/chroma.pid"
URL_FILE="$STATE/chroma.url"
LOG_FILE="$STATE/chroma.log"
PIN="${CHROMA_PIP_VERSION:-1.5.9}"

log() { echo "chroma-server: $*" >&2; }

install() {
  local python="${PYTHON:-python3}"
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    "$python" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 || true
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "chromadb==$PIN" >&2; then
    log "chromadb==$PIN is not installable here; trying the newest 1.5.x"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "chromadb>=1.5,<1.6" >&2
  fi
  log "installed chromadb $("$VENV/bin/python" -c 'import chromadb; print(chromadb.__version__)')"
}

is_running() {
  [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

heartbeat() {
  "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/api/v2/heartbeat", timeout=2)' "$1" 2>/dev/null
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  [[ -x "$VENV/bin/chroma" ]] || { log "no chroma in $VENV; run '$0 install' first"; exit 1; }
  if is_running; then
    log "already running (pid $(cat "$PID_FILE"))"
    cat "$URL_FILE"
    return 0
  fi
  mkdir -p "$STATE"
  local port="${CHROMA_SERVER_PORT:-$(free_port)}"
  local data
  data="$(mktemp -d "$STATE/data.XXXXXX")"
  # `chroma run` takes allow_reset only from its config file (neither a flag nor ALLOW_RESET works for the Rust
  # server); the conformance suite's reset case needs it.
  cat > "$STATE/config.yaml" <<YAML
port: $port
listen_address: "127.0.0.1"
persist_path: "$data"
allow_reset: true
YAML
  local url="http://127.0.0.1:$port"
  # setsid: the server outlives this script and does not get the CI shell's signals.
  setsid "$VENV/bin/chroma" run "$STATE/config.yaml" > "$LOG_FILE" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  echo "$data" > "$STATE/data.path"
  local deadline=$((SECONDS + ${CHROMA_START_TIMEOUT:-60}))
  until heartbeat "$url"; do
    if ! is_running; then
      log "chroma run exited during startup; last lines of $LOG_FILE:"
      tail -n 30 "$LOG_FILE" >&2
      rm -f "$PID_FILE"
      exit 1
    fi
    if (( SECONDS >= deadline )); then
      log "no heartbeat from $url after ${CHROMA_START_TIMEOUT:-60} s; stopping it"
      tail -n 30 "$LOG_FILE" >&2
      stop
      exit 1
    fi
    sleep 0.2
  done
  echo "$url" > "$URL_FILE"
  log "running (pid $(cat "$PID_FILE"), data $data, log $LOG_FILE)"
  echo "$url"
}

stop() {
  if [[ ! -f "$PID_FILE" ]]; then
    log "not running"
    return 0
  fi
  local pid
  pid="$(cat "$PID_FILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ignored SIGINT for 10 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [[ -f "$STATE/data.path" ]]; then
    rm -rf "$(cat "$STATE/data.path")"
    rm -f "$STATE/data.path"
  fi
  rm -f "$PID_FILE" "$URL_FILE"
  log "stopped"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
