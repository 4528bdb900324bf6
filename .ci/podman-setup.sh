#!/usr/bin/env bash
# Sets up podman as the container engine for autocoder's container executor and builds the images
# its tests run, on a machine with no Docker daemon and no reachable image registry (CI here, or a
# developer's Debian machine, as root). Idempotent: run it again and it only does what is missing.
#
#   .ci/podman-setup.sh             install and configure podman, build the base and project images
#   .ci/podman-setup.sh image       (re)build only the project image (layers are cached: seconds)
#
# What it does (see ../shared/DESIGN.md, "Containers here"):
#   1. apt-get install podman runc debootstrap (when podman or runc is missing);
#   2. /etc/containers/containers.conf: runtime runc, cgroupfs, file events, lowered ulimits —
#      written only when absent or written by this script before (a hand-made one is left alone);
#   3. the base image localhost/debian:bookworm, made from Debian's packages with debootstrap
#      (from the mirror in apt's own sources) when it is absent — about 2 minutes, 200 MB;
#   4. the project image from the repository's Dockerfile on that base (`--build-arg BASE=...`),
#      pip reaching PyPI with the host's CA bundle mounted for the build only.
#
# Settings (environment): AUTOCODER_BASE_IMAGE (default localhost/debian:bookworm),
# AUTOCODER_TEST_IMAGE (default localhost/autocoder:test), DEBIAN_MIRROR (default: apt's own).
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE="${AUTOCODER_BASE_IMAGE:-localhost/debian:bookworm}"
IMAGE="${AUTOCODER_TEST_IMAGE:-localhost/autocoder:test}"
SUITE=bookworm
CONF=/etc/containers/containers.conf
MARKER="# written by autocoder's .ci/podman-setup.sh"
HOST_CA=/etc/ssl/certs/ca-certificates.crt

say() { printf 'podman-setup: %s\n' "$*" >&2; }

seconds_since() { echo $(($(date +%s) - $1)); }

install_packages() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || [[ -x /usr/sbin/runc ]] || missing+=(runc)
    command -v debootstrap >/dev/null || [[ -x /usr/sbin/debootstrap ]] || missing+=(debootstrap)
    if ((${#missing[@]})); then
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

configure_engine() {
    if [[ -e "$CONF" ]] && ! grep -qF "$MARKER" "$CONF"; then
        say "$CONF exists and was not written here: left as it is"
        return
    fi
    mkdir -p "$(dirname "$CONF")"
    # crun refuses the hybrid cgroup layout of these machines; raising rlimits is not permitted,
    # lowering them is.
    cat >"$CONF.tmp" <<EOF
$MARKER
[containers]
default_ulimits = ["nofile=10000:10000", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    mv "$CONF.tmp" "$CONF"
}

# The URL of the Debian archive apt itself uses for the suite (apt's view covers both
# sources.list and deb822 .sources files), else Debian's own.
debian_mirror() {
    if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
        echo "$DEBIAN_MIRROR"
        return
    fi
    local site
    site="$(apt-get indextargets --format '$(SITE) $(CODENAME)' 2>/dev/null |
        awk -v suite="$SUITE" '$2 == suite { print $1; exit }')"
    if [[ -z "$site" ]]; then
        site="$(grep -hsE "^deb (\[[^]]*\] )?[a-z]+://[^ ]+ $SUITE " /etc/apt/sources.list \
            /etc/apt/sources.list.d/*.list | awk '{ print ($2 ~ /^\[/) ? $3 : $2; exit }')"
    fi
    echo "${site:-http://deb.debian.org/debian}"
}

build_base_image() {
    if podman image exists "$BASE_IMAGE"; then
        return
    fi
    local mirror dir started
    mirror="$(debian_mirror)"
    dir="$(mktemp -d /var/tmp/autocoder-debootstrap.XXXXXX)"
    trap 'rm -rf "$dir"' RETURN
    started=$(date +%s)
    say "building $BASE_IMAGE with debootstrap from $mirror"
    debootstrap --variant=minbase "$SUITE" "$dir" "$mirror" >"$dir.log" 2>&1 || {
        tail -n 30 "$dir.log" >&2
        rm -f "$dir.log"
        return 1
    }
    rm -f "$dir.log"
    tar -C "$dir" -c . | podman import --quiet --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
    say "base image $BASE_IMAGE built in $(seconds_since "$started") s"
}

build_project_image() {
    local started
    started=$(date +%s)
    # --network=host: apt and pip reach the registries as the host does; the host's CA bundle is
    # mounted for the build's RUN steps only (not over the image's own bundle) and is in no layer.
    podman build --quiet --network=host --layers \
        --build-arg "BASE=$BASE_IMAGE" \
        --volume "$HOST_CA:/run/host-ca.crt:ro" \
        --build-arg PIP_CERT=/run/host-ca.crt \
        --tag "$IMAGE" . >/dev/null
    say "project image $IMAGE built in $(seconds_since "$started") s"
}

case "${1:-all}" in
all)
    install_packages
    configure_engine
    podman info --format '{{.Host.OCIRuntime.Name}}' >/dev/null
    build_base_image
    build_project_image
    ;;
image)
    build_project_image
    ;;
*)
    say "usage: $0 [all|image]"
    exit 2
    ;;
esac
