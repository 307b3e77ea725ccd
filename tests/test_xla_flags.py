"""XLA:CPU tuning at import: added only when jaxlib knows the flag, never over the user's."""

import os
import subprocess
import sys

from jkeras.backend import xla_flags

PROBE = "import jkeras, os; print(os.environ.get('XLA_FLAGS', ''))"


def _run(env_extra):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_flag_applied_when_supported_and_respects_opt_out(tmp_path):
    supported = xla_flags.jaxlib_supports(xla_flags.YNN_FLAG)
    flags = _run({"JKERAS_HOME": str(tmp_path)})
    assert (xla_flags.YNN_FLAG in flags) == supported
    assert _run({"JKERAS_HOME": str(tmp_path), "JKERAS_XLA_TUNING": "0"}) == ""
    own = f"{xla_flags.YNN_FLAG}=eltwise"
    assert _run({"JKERAS_HOME": str(tmp_path), "XLA_FLAGS": own}) == own


def test_unknown_flag_is_not_supported():
    assert not xla_flags.jaxlib_supports("--xla_this_flag_does_not_exist_anywhere")
