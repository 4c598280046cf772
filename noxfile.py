"""The test matrix: `python3 -m nox` runs lint and the suite on both eras of `datasets`."""

import os

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.error_on_missing_interpreters = True
# uv builds each environment in seconds where pip takes minutes (CI installs it beside nox); pip's
# virtualenv when uv is absent. uv does not read pip's configuration: the wheels pip is told to find
# on this machine's disk (torch's CPU build among them) are passed on.
nox.options.default_venv_backend = "uv|virtualenv"
if os.environ.get("PIP_FIND_LINKS") and not os.environ.get("UV_FIND_LINKS"):
    os.environ["UV_FIND_LINKS"] = os.environ["PIP_FIND_LINKS"]

ERAS = {
    "3.6": "datasets==3.6.0",  # the last release that runs loading scripts
    "5": "datasets>=5,<6",  # the newest: scripts refused, the builder is used directly
}
# torch is a test/benchmark dependency only; 2.13.0 is the CPU build (another pin pulls a CUDA build).
# transformers, accelerate and albumentations run the README's training recipes; never runtime dependencies.
# pip and setuptools build the project offline in the test that installs it into a fresh virtual environment
# (a uv environment has no pip of its own).
TEST_TOOLS = [
    "pytest==9.0.3",
    "pytest-xdist==3.8.0",  # the suite on every core: most of its 600 tests are small and single-threaded
    "pytest-timeout==2.4.0",  # a test that hangs fails, with every thread's stack, instead of stalling CI
    "hypothesis==6.155.2",
    "torch==2.13.0",
    "transformers==5.23.0",
    "accelerate==1.15.0",
    "albumentations==2.0.8",
    "setuptools==84.2.1",
    "pip==26.3",
]


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff==0.17.6", "mkdocs==1.6.1", "mkdocs-material==9.8.2")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # The docs site: --strict fails on a dead link or anchor, or a page missing from mkdocs.yml's nav.
    site = os.path.join(session.create_tmp(), "site")
    session.run("mkdocs", "build", "--strict", "--site-dir", site, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
@nox.parametrize("era", list(ERAS))
def tests(session: nox.Session, era: str) -> None:
    session.install("-r", "requirements.txt", ERAS[era], *TEST_TOOLS)
    session.env.update(written_bytecode(session))
    # The run's header names the era (tests/conftest.py); the controller's import of `datasets` is the first,
    # and compiles its bytecode for the workers.
    # 300 s per test: the slowest (a pip install and the Python processes it ran then) took 34 s with the
    # machine's load average at 4.5, and 290 s at 7 when every process also compiled its imports. The signal
    # method fails the test where it is stuck, with every thread's stack in its report, and the run goes on;
    # the thread method's stacks were lost with the xdist worker it ends.
    # A worker is handed one test at a time (--maxschedchunk=1), the slowest first (tests/conftest.py): by
    # default it was handed tests in chunks, and a chunk queued behind a slow test left the other idle.
    xdist = ["-n", "auto", "--maxschedchunk=1"]
    session.run("pytest", *xdist, "--timeout=300", "--timeout-method=signal", *session.posargs)


def written_bytecode(session: nox.Session) -> dict:
    """Environment variables that have Python write the bytecode it compiles, into the session's folder.

    Where PYTHONDONTWRITEBYTECODE is set (it is on our CI machine) each process compiles every module it
    imports, torch's and transformers' among them: up to ~10 s of CPU more for each of the dozens of Python processes
    the suite starts. Written at first import, bytecode serves every later process; kept under the
    environment's folder (PYTHONPYCACHEPREFIX), none lands in the checkout. (uv's UV_COMPILE_BYTECODE
    compiled all 13,000 modules of the environment instead: ~95 s of CPU per environment, most never imported.)
    """
    prefix = os.path.join(session.virtualenv.location, "pycache")
    return {"PYTHONDONTWRITEBYTECODE": None, "PYTHONPYCACHEPREFIX": prefix}
