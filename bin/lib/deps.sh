# Sourced by bin/test and bin/demo: the Debian packages jvmm's tests and demo use, installed if missing.
# One list for both, so a fresh Debian 12 machine needs nothing but a JDK >= 22 and these commands.
JVMM_DEBIAN_PACKAGES=(
    maven                 # the build (bin/mvn runs it on the JDK found by bin/lib/jdk.sh)
    gcc nasm              # the bare-metal conformance guests
    gcc-aarch64-linux-gnu libunicorn-dev  # the arm64 guests and hvfsim, the simulated Hypervisor.framework
    acpica-tools          # iasl: disassembles jvmm's ACPI tables in the tests
    device-tree-compiler  # dtc: checks jvmm's arm64 flattened device trees
    qemu-system-x86 qemu-system-arm qemu-utils  # the nested rig and the peer tests
    busybox-static cpio zstd kmod e2fsprogs     # the guest kit and the rig's disk images
    bubblewrap            # bwrap: the Linux jail of the device helpers (--sandbox=process)
)

# Installs whichever of JVMM_DEBIAN_PACKAGES is missing: as root directly, otherwise through sudo.
jvmm_install_packages() {
    local missing=() p
    for p in "${JVMM_DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        echo "jvmm needs these Debian packages: ${missing[*]}: install them (or their equivalents) and run again." >&2
        return 1
    fi
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "Installing ${missing[*]} ..." >&2
    "${sudo[@]}" apt-get update -q >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# Lets APT fetch packages of the other guest architecture (the arm64 kit on an x86_64 host and the other
# way round): apt-get download needs the architecture known to dpkg, nothing gets installed.
jvmm_enable_foreign_arch() {
    local host other
    host=$(dpkg --print-architecture 2>/dev/null) || return 0
    case "$host" in amd64) other=arm64 ;; arm64) other=amd64 ;; *) return 0 ;; esac
    dpkg --print-foreign-architectures | grep -qx "$other" && return 0
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "Adding the $other architecture to dpkg, for the $other guest kit ..." >&2
    "${sudo[@]}" dpkg --add-architecture "$other"
    "${sudo[@]}" apt-get update -q >&2
}

# Builds the guest kit for each architecture given (x86_64, arm64) into .guest/ARCH with bin/guest-kit:
# a Debian kernel and a busybox initramfs. A kit is rebuilt only when it is missing or older than the
# kit builder's sources, so tests running meanwhile never see it replaced under them.
jvmm_build_guest_kit() {
    local root=$1 arch kit
    shift
    for arch in "$@"; do
        kit=$root/.guest/$arch/kit.properties
        if [ -f "$kit" ] && [ -z "$(find "$root/loader/src/main/java/org/jvmm/loader/kit" -newer "$kit" -print -quit)" ]; then
            continue
        fi
        "$root/bin/guest-kit" --arch "$arch" >&2
    done
}
