"""The test matrix: `python3 -m nox` runs lint and the suite on both eras of `datasets`."""

import os
import sys

import nox
import nox.virtualenv

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
    "pytest-xdist==3.8.0",  # the suite on every core: most of its ~900 tests are small and single-threaded
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


# Both eras' test environments are made at this one path, one after the other, and Python writes the
# bytecode of what they import under TESTS_BYTECODE, outside them: a module file the two share (uv links
# torch's, transformers', pandas' ... files from its cache, same size and time in both) is compiled once,
# by the first era, instead of once an era (~30 s of CPU: torch's stack alone took 25 s). A file that differs
# (datasets, and what its version pins) has another time or size, so Python compiles it afresh.
TESTS_ENVIRONMENT = os.path.join(".nox", "tests")
TESTS_BYTECODE = os.path.join(".nox", "tests-bytecode")


@nox.session(venv_backend="none")
@nox.parametrize("era", list(ERAS))
def tests(session: nox.Session, era: str) -> None:
    bin_dir = fresh_environment(session, TESTS_ENVIRONMENT, ["-r", "requirements.txt", ERAS[era], *TEST_TOOLS])
    session.env.update(written_bytecode(TESTS_BYTECODE))
    session.env.update(VIRTUAL_ENV=os.path.abspath(TESTS_ENVIRONMENT), PATH=bin_dir + os.pathsep + os.environ["PATH"])
    # The run's header names the era (tests/conftest.py); the controller's import of `datasets` is the first,
    # and compiles its bytecode for the workers.
    # 300 s per test: the slowest (a pip install and the Python processes it ran then) took 34 s with the
    # machine's load average at 4.5, and 290 s at 7 when every process also compiled its imports. The signal
    # method fails the test where it is stuck, with every thread's stack in its report, and the run goes on;
    # the thread method's stacks were lost with the xdist worker it ends.
    # Tests are handed out one at a time as a worker needs more (at most three queued on it), the slowest first
    # (tests/conftest.py; --no-loadscope-reorder keeps that order instead of the biggest groups first): in
    # chunks, a chunk queued behind a slow test had left the other worker idle. The tests marked
    # training_stack are one group (--dist loadgroup), run whole by one worker: the other never imports it.
    xdist = ["-n", "auto", "--dist", "loadgroup", "--no-loadscope-reorder"]
    pytest = os.path.join(bin_dir, "pytest")
    session.run(pytest, *xdist, "--timeout=300", "--timeout-method=signal", *session.posargs, external=True)


def fresh_environment(session: nox.Session, location: str, requirements: list[str]) -> str:
    """A new virtual environment at `location` (any old one removed) holding `requirements`; its bin folder.
    Made by the uv nox itself would use (seconds, from uv's cache), else by virtualenv and pip, as nox falls
    back. One nox run at a time: two would share `location`."""
    bin_dir = os.path.abspath(os.path.join(location, "bin"))
    python = os.path.join(bin_dir, "python")
    has_uv, uv, _ = nox.virtualenv.find_uv()
    if has_uv:
        session.run(uv, "venv", "--clear", "--quiet", "--python", sys.executable, location, external=True)
        session.run(uv, "pip", "install", "--python", python, *requirements, external=True, silent=True)
    else:
        session.run(sys.executable, "-m", "virtualenv", "--clear", "--quiet", location, external=True)
        session.run(python, "-m", "pip", "install", *requirements, external=True, silent=True)
    return bin_dir


def written_bytecode(prefix: str) -> dict:
    """Environment variables that have Python write the bytecode it compiles, under `prefix`.

    Where PYTHONDONTWRITEBYTECODE is set (it is on our CI machine) each process compiles every module it
    imports, torch's and transformers' among them: up to ~10 s of CPU more for each of the dozens of Python processes
    the suite starts. Written at first import, bytecode serves every later process; kept under `prefix`
    (PYTHONPYCACHEPREFIX), none lands in the checkout or the environment. (uv's UV_COMPILE_BYTECODE
    compiled all 13,000 modules of the environment instead: ~95 s of CPU per environment, most never imported.)
    """
    prefix = os.path.abspath(prefix)
    return {"PYTHONDONTWRITEBYTECODE": None, "PYTHONPYCACHEPREFIX": prefix}
