#!/usr/bin/env bash
# Build local stand-ins for the base images the Dockerfile and compose.yaml name,
# for a machine that has podman (or Docker) but no container registry to pull from.
#
#   deploy/container/stand-in-images.sh [--force]
#
# A machine that can pull python:3.12-slim, ghcr.io/astral-sh/uv:0.13 and
# postgres:16 never needs this: build and run as the README says.
#
# What it builds, tagged with the exact names the Dockerfile and compose.yaml use
# (the engine then finds them locally and pulls nothing):
#   python:3.12-slim           Debian 12 (debootstrap, minbase) with its python3 (3.11),
#                              python3-venv and this machine's CA bundle;
#   ghcr.io/astral-sh/uv:0.13  the uv binary of PyPI's uv 0.13 wheel at /uv;
#   postgres:16                the same Debian with the PostgreSQL 16 binaries of PyPI's
#                              pgserver wheel and an entrypoint that honours
#                              POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB as the
#                              official image does.
# Images that already exist are kept unless --force is given. Needs root (debootstrap),
# debootstrap, python3 with pip, and podman or docker (CONTAINER_ENGINE picks one).
set -euo pipefail

DEBIAN_SUITE=bookworm
UV_SPEC="uv>=0.13,<0.14"
PGSERVER_SPEC="pgserver==0.1.4"
PYTHON_IMAGE=python:3.12-slim
UV_IMAGE=ghcr.io/astral-sh/uv:0.13
POSTGRES_IMAGE=postgres:16

say() { printf 'stand-in-images: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 2
}

force=0
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    -h | --help)
        sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option '$1' (try --help)" ;;
esac

engine=${CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
    if command -v podman >/dev/null 2>&1; then engine=podman; else engine=docker; fi
fi
command -v "$engine" >/dev/null 2>&1 || die "neither podman nor docker is installed"

exists() {
    if [ "$engine" = podman ]; then
        podman image exists "$1"
    else
        docker image inspect "$1" >/dev/null 2>&1
    fi
}

wanted=()
for image in "$PYTHON_IMAGE" "$UV_IMAGE" "$POSTGRES_IMAGE"; do
    if [ "$force" = 1 ] || ! exists "$image"; then
        wanted+=("$image")
    fi
done
if [ ${#wanted[@]} -eq 0 ]; then
    say "all three images exist (use --force to rebuild)"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root: run as root (or under sudo)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"

# Debian's mirror as this machine's apt knows it (a mirror that is reachable here).
mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null |
    awk '{print $2}' | grep -E '/debian/?$' | head -n 1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
ca_bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}

work=$(mktemp -d "${TMPDIR:-/tmp}/dw-stand-ins.XXXXXX")
trap 'rm -rf "$work"' EXIT

wheel_file() { # $1 spec, $2 directory: download one binary wheel, print its path
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --dest "$2" "$1" >"$2/pip.log" 2>&1 ||
        {
            cat "$2/pip.log" >&2
            die "could not download $1 from PyPI"
        }
    ls "$2"/*.whl
}

needs() { # whether an image is among the wanted ones
    local image
    for image in "${wanted[@]}"; do [ "$image" = "$1" ] && return 0; done
    return 1
}

if needs "$PYTHON_IMAGE" || needs "$POSTGRES_IMAGE"; then
    say "debootstrap $DEBIAN_SUITE from $mirror (about a minute) ..."
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$DEBIAN_SUITE" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        {
            tail -n 20 "$work/debootstrap.log" >&2
            die "debootstrap failed"
        }
    rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
    # The registry's certificate chain may be this machine's own (a proxy): trust
    # what the host trusts, or uv inside the build cannot reach PyPI.
    cp "$ca_bundle" "$work/root/etc/ssl/certs/ca-certificates.crt"
    # The official image has python at /usr/local/bin; the Dockerfile's health check calls it.
    ln -sf /usr/bin/python3 "$work/root/usr/local/bin/python"
fi

import_root() { # $1 directory, $2 image name, then --change instructions
    local dir=$1 name=$2
    shift 2
    local changes=()
    local change
    for change in "$@"; do changes+=(--change "$change"); done
    local quiet=()
    [ "$engine" = podman ] && quiet=(--quiet)
    tar -C "$dir" -c . | "$engine" import "${quiet[@]}" "${changes[@]}" - "$name" >/dev/null
    say "built $name"
}

if needs "$PYTHON_IMAGE"; then
    import_root "$work/root" "$PYTHON_IMAGE" \
        "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
        "ENV LANG=C.UTF-8" \
        "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
        "ENV UV_SYSTEM_CERTS=1" \
        'CMD ["python3"]'
fi

if needs "$UV_IMAGE"; then
    mkdir -p "$work/uv-wheel" "$work/uv-root"
    wheel=$(wheel_file "$UV_SPEC" "$work/uv-wheel")
    python3 - "$wheel" "$work/uv-root/uv" <<'PY'
import sys, zipfile
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith(".data/scripts/uv"))
    with archive.open(name) as source, open(target, "wb") as out:
        out.write(source.read())
PY
    chmod 0755 "$work/uv-root/uv"
    import_root "$work/uv-root" "$UV_IMAGE" 'ENTRYPOINT ["/uv"]'
fi

if needs "$POSTGRES_IMAGE"; then
    mkdir -p "$work/pg-wheel"
    wheel=$(wheel_file "$PGSERVER_SPEC" "$work/pg-wheel")
    prefix=/usr/lib/postgresql/16
    python3 - "$wheel" "$work/root$prefix" <<'PY'
import os, sys, zipfile
wheel, target = sys.argv[1], sys.argv[2]
# The binaries find the wheel's own libpq through RPATH $ORIGIN/../../../pgserver.libs:
# bin/ is /usr/lib/postgresql/16/bin, so the libraries go to /usr/lib/pgserver.libs.
places = {
    "pgserver/pginstall/": target,
    "pgserver.libs/": os.path.join(target, "..", "..", "pgserver.libs"),
}
with zipfile.ZipFile(wheel) as archive:
    for info in archive.infolist():
        root = next((r for r in places if info.filename.startswith(r)), None)
        if root is None or info.is_dir():
            continue
        relative = info.filename[len(root):]
        if relative.startswith("include/"):
            continue  # headers: not needed to run a server
        path = os.path.normpath(os.path.join(places[root], relative))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with archive.open(info) as source, open(path, "wb") as out:
            out.write(source.read())
        if relative.startswith("bin/"):
            os.chmod(path, 0o755)
PY
    chroot "$work/root" /usr/sbin/groupadd --system --gid 999 postgres
    chroot "$work/root" /usr/sbin/useradd --system --uid 999 --gid 999 \
        --home-dir /var/lib/postgresql --no-create-home --shell /bin/bash postgres
    # /var/run links to /run: make the directory through the link's target, in the root.
    mkdir -p "$work/root/var/lib/postgresql/data" "$work/root/run/postgresql"
    chroot "$work/root" /bin/chown -R postgres:postgres /var/lib/postgresql /run/postgresql
    install -m 0755 "$(dirname "${BASH_SOURCE[0]}")/postgres-entrypoint.sh" \
        "$work/root/usr/local/bin/docker-entrypoint.sh"
    import_root "$work/root" "$POSTGRES_IMAGE" \
        "ENV PATH=$prefix/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
        "ENV LANG=C.UTF-8" \
        "ENV PGDATA=/var/lib/postgresql/data" \
        "EXPOSE 5432" \
        "STOPSIGNAL SIGINT" \
        'ENTRYPOINT ["docker-entrypoint.sh"]' \
        'CMD ["postgres"]'
fi
