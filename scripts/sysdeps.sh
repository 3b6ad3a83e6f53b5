#!/usr/bin/env bash
# Install the system tools the tests need: gcc with the ASan/UBSan runtimes, cppcheck, cmake,
# arm-none-eabi-gcc with newlib, and qemu-system-arm (Debian/Ubuntu; as root). Exits non-zero if any
# is still missing afterwards, so CI fails instead of skipping.
set -euo pipefail

asan_ok() {
    local d
    d=$(mktemp -d)
    printf 'int main(void){return 0;}\n' > "$d/t.c"
    gcc -fsanitize=address,undefined "$d/t.c" -o "$d/t" >/dev/null 2>&1 && "$d/t"
    local rc=$?
    rm -rf "$d"
    return $rc
}

check() {
    missing=()
    command -v gcc >/dev/null || missing+=(gcc)
    command -v gcc >/dev/null && ! asan_ok && missing+=(libasan8 libubsan1)
    command -v arm-none-eabi-gcc >/dev/null || missing+=(gcc-arm-none-eabi)
    [ -e /usr/lib/arm-none-eabi/newlib/libc.a ] || [ -e /usr/lib/arm-none-eabi/lib/libc.a ] || missing+=(libnewlib-arm-none-eabi)
    command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
    command -v cppcheck >/dev/null || missing+=(cppcheck)
    command -v make >/dev/null || missing+=(make)
    command -v cmake >/dev/null || missing+=(cmake)
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
    return 0
}

check
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "tinygen: missing system packages: ${missing[*]}; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
check
if [ ${#missing[@]} -ne 0 ]; then
    echo "tinygen: still missing after apt-get: ${missing[*]}" >&2
    exit 1
fi
