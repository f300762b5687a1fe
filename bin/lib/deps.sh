# Sourced by bin/test and bin/demo: the Debian packages jvmm's tests and demo use, installed if missing.
# One list for both, so a fresh Debian 12 machine needs nothing but a JDK >= 22 and these commands.
JVMM_DEBIAN_PACKAGES=(
    maven                 # the build (bin/mvn runs it on the JDK found by bin/lib/jdk.sh)
    gcc nasm              # the bare-metal conformance guests
    acpica-tools          # iasl: disassembles jvmm's ACPI tables in the tests
    device-tree-compiler  # dtc: checks jvmm's arm64 flattened device trees
    qemu-system-x86 qemu-system-arm qemu-utils  # the nested rig and the peer tests
    busybox-static cpio zstd kmod e2fsprogs     # the guest kit and the rig's disk images
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

# Builds the guest kit (a Debian kernel and a busybox initramfs in .guest/ARCH) when bin/guest-kit exists.
jvmm_build_guest_kit() {
    local root=$1
    if [ -x "$root/bin/guest-kit" ]; then
        "$root/bin/guest-kit" >&2
    else
        echo "bin/guest-kit is not in this tree: tests that need the guest kit will report it." >&2
    fi
}
