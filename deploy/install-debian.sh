#!/usr/bin/env bash
# Installs what the local stack needs on Debian 12 (bookworm) or 13 (trixie), then the Python venv.
#
# Idempotent: every step checks first, so a second run takes about a second. It installs system
# packages (mosquitto, postgresql, TimescaleDB) but never configures, starts or stops the system's own
# Mosquitto or PostgreSQL: the project runs its own instances (deploy/local_stack.py).
#
# TimescaleDB: Debian ships it as a binary only for its default PostgreSQL on trixie. When no binary
# package exists for the installed PostgreSQL (Debian 12's PostgreSQL 15), it is built from Debian 13's
# source package (Apache-2 licensed build: hypertables yes; compression, continuous aggregates and
# retention policies no; the platform detects that at run time).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
TSDB_SRC_DIR="${TLAB_TSDB_BUILD_DIR:-/var/cache/territoire-lab/timescaledb-src}"
SUDO=""
log() { printf '[install] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

missing_debs() {
    local pkg missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -gt 0 ] && printf '%s\n' "${missing[@]}"
    return 0
}

APT_UPDATED=0
apt_install() {
    [ "$#" -eq 0 ] && return 0
    if [ -z "$SUDO" ] && [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages: $* (run this script as root, or install them)"; exit 1
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"; $SUDO apt-get update -qq; APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Broker, database server, Python venv support.
# iproute2: `ss`, used by the tests to check the system services are left alone; curl: the README examples;
# libpango*, libharfbuzz-subset0: WeasyPrint's text layout and font subsetting, for the inspection reports' PDF;
# fonts-dejavu-core: their font.
mapfile -t MISSING < <(missing_debs mosquitto mosquitto-clients postgresql postgresql-contrib iproute2 curl \
    python3 python3-venv ca-certificates libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
apt_install "${MISSING[@]}"

# 1b. The browser tests (tests/browser) drive Debian's Chromium through Playwright: Playwright's own browser
# download needs a host the lab networks cannot reach, and Debian's package gets the distribution's security
# updates. Installed with the test tools for every command, as the venv's test extra is (this script does not
# know which command runs; the Docker image and the Kubernetes manifests do not use it, so a deployed platform
# carries no browser).
mapfile -t MISSING < <(missing_debs chromium)
apt_install "${MISSING[@]}"

PG_MAJOR="$(ls /usr/lib/postgresql | sort -n | tail -1)"
PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
PKGLIBDIR="/usr/lib/postgresql/$PG_MAJOR/lib"

# 2. TimescaleDB for that PostgreSQL.
if [ ! -e "$PKGLIBDIR/timescaledb.so" ]; then
    if [ "$APT_UPDATED" -eq 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
    if apt-cache show "postgresql-$PG_MAJOR-timescaledb" >/dev/null 2>&1; then
        apt_install "postgresql-$PG_MAJOR-timescaledb"
    else
        log "no TimescaleDB binary for PostgreSQL $PG_MAJOR: building Debian 13's source package"
        mapfile -t MISSING < <(missing_debs "postgresql-server-dev-$PG_MAJOR" cmake gcc make dpkg-dev \
            libkrb5-dev libssl-dev)
        apt_install "${MISSING[@]}"
        SRC_LIST=/etc/apt/sources.list.d/territoire-lab-trixie-src.sources
        if ! apt-cache showsrc timescaledb 2>/dev/null | grep -q '^Package: timescaledb'; then
            log "adding a trixie deb-src entry ($SRC_LIST) for the timescaledb source package"
            $SUDO tee "$SRC_LIST" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
            $SUDO apt-get update -qq
        fi
        $SUDO mkdir -p "$TSDB_SRC_DIR"
        (
            cd "$TSDB_SRC_DIR"
            rm -rf timescaledb-*/
            $SUDO apt-get source -qq timescaledb >/dev/null 2>&1 || apt-get source -qq timescaledb
            cd timescaledb-*/
            ./bootstrap -DPG_CONFIG="$PG_CONFIG" -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
                -DUSE_TELEMETRY=OFF -DSEND_TELEMETRY_DEFAULT=OFF -DWARNINGS_AS_ERRORS=OFF \
                -DCMAKE_BUILD_TYPE=Release >build.log 2>&1
            make -C build -j"$(nproc)" >>build.log 2>&1
            $SUDO make -C build install >>build.log 2>&1
        ) || { log "TimescaleDB build failed; see $TSDB_SRC_DIR/timescaledb-*/build.log"; exit 1; }
        log "TimescaleDB installed into $PKGLIBDIR"
    fi
fi

# 3. Python virtual environment with the project and its test tools.
PY="${TLAB_PYTHON:-python3}"
STAMP="$VENV/.tlab-installed"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/requirements-dev.lock" | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        "$PY" -m venv "$VENV"
    fi
    log "installing the project into $VENV (log: $VENV/pip.log)"
    # the pinned versions of the lock (reproducible), then the project itself without resolving again
    if ! { "$VENV/bin/python" -m pip install --upgrade pip \
        && "$VENV/bin/python" -m pip install -r "$ROOT/requirements-dev.lock" \
        && "$VENV/bin/python" -m pip install --no-deps -e "$ROOT"; } \
        >"$VENV/pip.log" 2>&1; then
        tail -30 "$VENV/pip.log" >&2; log "pip install failed; see $VENV/pip.log"; exit 1
    fi
    echo "$WANT" >"$STAMP"
fi
