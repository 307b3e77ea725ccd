#!/usr/bin/env bash
# Creates the peer virtual environments the benchmark compares jkeras against.
# They live in benchmarks/.venvs/ (git-ignored) and are never dependencies of jkeras.
#
#   benchmarks/.venvs/keras3  Keras 3 (JAX and PyTorch backends) + optax + torchvision
#   benchmarks/.venvs/torch   plain PyTorch + torchvision + numpy
#
# jax/jaxlib are pinned to the versions in the project's venv so every JAX peer runs the
# same XLA. PyTorch is pinned to 2.13.0: that CPU build is on local disk here; any other
# torch spec would download several GB of CUDA wheels. torchvision 0.28.0 is the release that
# matches torch 2.13.0 (the ResNet50 and MobileNetV2 of the model-zoo benchmarks e and f).
#
# Usage: bash benchmarks/setup_peers.sh [--force]    (PYTHON=... to choose the interpreter,
#        PROJECT_PYTHON=... for the project's, whose jax versions are pinned; default .venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
venvs="$here/.venvs"
python="${PYTHON:-python3}"
torch_spec="torch==2.13.0"
torchvision_spec="torchvision==0.28.0"
force=0
[[ "${1:-}" == "--force" ]] && force=1

project_python="${PROJECT_PYTHON:-$root/.venv/bin/python}"  # PROJECT_PYTHON: e.g. from a git worktree
[[ -x "$project_python" ]] || project_python="$python"
jax_version="$("$project_python" -c 'import jax; print(jax.__version__)' 2>/dev/null || true)"
jaxlib_version="$("$project_python" -c 'import jaxlib; print(jaxlib.__version__)' 2>/dev/null || true)"
if [[ -n "$jax_version" && -n "$jaxlib_version" ]]; then
  jax_specs=("jax==$jax_version" "jaxlib==$jaxlib_version")
  echo "jax pinned to the project's: jax $jax_version, jaxlib $jaxlib_version"
else
  jax_specs=("jax" "jaxlib")
  echo "warning: no jax in the project's venv ($project_python); installing the latest jax" >&2
fi

make_venv() {  # name, packages...
  local name="$1"; shift
  local dir="$venvs/$name"
  if [[ $force == 1 ]]; then rm -rf "$dir"; fi
  local stamp="$*"  # rebuilt when what it should hold changes (e.g. the project's jax)
  if [[ -x "$dir/bin/python" ]] && "$dir/bin/python" -c "import sys; sys.exit(0)" 2>/dev/null \
     && [[ -f "$dir/.complete" ]] && [[ "$(cat "$dir/.complete")" == "$stamp" ]]; then
    echo "== $name: up to date ($dir); --force to rebuild"
    return
  fi
  echo "== $name: creating $dir"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  # (pip's warnings about this machine's optional local indexes are filtered out)
  "$dir/bin/python" -m pip install -q --upgrade pip 2> >(grep -v "is ignored: it is neither" >&2)
  "$dir/bin/python" -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither" >&2)
  echo "$stamp" > "$dir/.complete"
}

mkdir -p "$venvs"
make_venv keras3 keras "${jax_specs[@]}" optax "$torch_spec" "$torchvision_spec" numpy
make_venv torch "$torch_spec" "$torchvision_spec" numpy

echo "== versions"
"$venvs/keras3/bin/python" - <<'PY'
import importlib.metadata as md
print("keras3 venv:", ", ".join(f"{p} {md.version(p)}" for p in ("keras", "jax", "jaxlib", "optax", "torch", "torchvision", "numpy")))
PY
"$venvs/torch/bin/python" - <<'PY'
import importlib.metadata as md
print("torch venv: ", ", ".join(f"{p} {md.version(p)}" for p in ("torch", "torchvision", "numpy")))
PY
