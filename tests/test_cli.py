import json
import os
import re
import subprocess
import sys
from pathlib import Path


def run_cli(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "resdepth", *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_trains_on_sample_end_to_end(isolated_store):
    book = {"RESDEPTH_PROFILE": "book"}
    out = run_cli("train", "--model", "tower", "--depth", "3", "--width", "8", "--lam", "1/sqrt(n)",
                  "--dataset", "sample", "--epochs", "1", "--batch-size", "64", "--eval-every", "10", env_extra=book)
    assert out.returncode == 0, out.stderr
    assert "final test accuracy:" in out.stdout
    assert "step" in out.stderr  # the progress bar
    assert not (isolated_store / "cli").exists()  # a CLI run goes to the scratch store, not the book's
    files = list((isolated_store.parent / "scratch-results" / "cli").glob("*.json"))
    assert len(files) == 1
    record = json.loads(files[0].read_text())
    assert record["config"]["model_args"] == {"depth": 3, "width": 8, "lam": "1/sqrt(n)", "batchnorm": False,
                                              "activation": "relu", "stem_pool": "same"}
    assert record["total_steps"] == 31 and f"{record['final']['test_acc']:.4f}" in out.stdout
    again = run_cli("train", "--model", "tower", "--depth", "3", "--width", "8", "--dataset", "sample",
                    "--epochs", "1", "--batch-size", "64", "--eval-every", "10", "--quiet", env_extra=book)
    assert again.returncode == 0 and again.stdout == out.stdout  # loaded from the store, not retrained
    to_book = run_cli("train", "--depth", "2", "--width", "4", "--dataset", "sample", "--steps", "3", "--quiet",
                      "--to-book", env_extra=book)
    assert to_book.returncode == 0 and len(list((isolated_store / "cli").glob("*.json"))) == 1


def test_cli_bad_input_is_one_line_with_the_fix():
    for args, expected in [
        (("--dataset", "svhn"), "unknown dataset 'svhn'; choose one of"),
        (("--depth", "0"), "depth must be an integer >= 1"),
        (("--depth", "4", "--lam", "big"), "lam must be a number >= 0"),
        (("--model", "vgg16"), "unknown model 'vgg16'"),
        (("--model", "repvgg_a0", "--depth", "3"), "model repvgg_a0 takes no --depth"),
        (("--depth", "2", "--epochs", "0"), "epochs/steps must be an integer >= 1; got 0"),
        (("--depth", "2", "--stem-pool", "valid"), "stem_pool must be 'same'"),
        (("--depth", "2", "--lr", "1e300"), "lr must be a number > 0 that a float32 holds"),
        (("--depth", "2", "--lam", "n^5000"), "lam must be finite and >= 0"),
        (("--depth", "2", "--steps", "1", "--device", "gpu7"), "unknown device 'gpu7'; this machine has: cpu"),
        (("--depth", "2", "--steps", "1", "--device", "cuda:7"), "device 'cuda:7' is not on this machine"),
    ]:
        out = run_cli("train", *args)
        assert out.returncode == 2
        assert out.stderr.strip().count("\n") == 0 and out.stderr.startswith("error: " + expected), out.stderr


def test_cli_missing_data_is_one_line(tmp_path):
    out = run_cli("train", "--dataset", "sample", "--depth", "2", "--width", "4", env_extra={"RESDEPTH_DATA": str(tmp_path)})
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "git checkout -- data/sample" in out.stderr


def test_cli_sweep_runs_a_grid_on_workers_then_skips_it(isolated_store):
    out = run_cli("sweep", "table1_depth_scaling", "--profile", "smoke", "--executor", "processes", "--workers", "2")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("table1_depth_scaling (smoke), part 1 of 1: 8 runs stored")  # 2 depths x 4 rows x 1 lr x 1 seed
    files = sorted((isolated_store / "table1_depth_scaling").glob("*.json"))
    assert len(files) == 8 and all(json.loads(f.read_text())["provenance"]["executor"] == "processes" for f in files)
    before = [f.read_bytes() for f in files]
    again = run_cli("sweep", "table1_depth_scaling", "--profile", "smoke", "--executor", "processes")
    assert again.returncode == 0 and again.stdout == out.stdout
    assert [f.read_bytes() for f in files] == before  # nothing re-run or rewritten


def test_cli_sweep_bad_input_is_one_line():
    for args, expected in [(("table1",), "unknown experiment 'table1' to sweep; the chapters that train are: "),
                           (("expansion_theorem",), "unknown experiment 'expansion_theorem' to sweep"),
                           (("table1_depth_scaling", "--executor", "slurm"), "unknown executor 'slurm'"),
                           (("table1_depth_scaling", "--profile", "huge"), "unknown profile 'huge'"),
                           (("table1_depth_scaling", "--profile", "smoke", "--part", "2"),
                            "--part must be 1 to 1 for table1_depth_scaling (smoke); got 2"),
                           (("linearization_napl", "--budget", "book_v2", "--part", "0"),
                            "--part must be 1 to 4 for linearization_napl (book_v2); got 0")]:
        out = run_cli("sweep", *args)
        assert out.returncode == 2 and out.stderr.strip().count("\n") == 0, out.stderr
        assert out.stderr.startswith("error: " + expected), out.stderr


def sweep_workers(pid: int) -> list:
    """The multiprocessing workers (``spawn_main``) among the processes whose parent is ``pid``."""
    found = []
    for child in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{child}/stat") as stat, open(f"/proc/{child}/cmdline") as cmdline:
                parent, command = int(stat.read().rsplit(")", 1)[1].split()[1]), cmdline.read()
        except OSError:
            continue
        if parent == pid and "spawn_main" in command:
            found.append(int(child))
    return found


def test_ctrl_c_on_a_cli_sweep_ends_with_one_line_and_status_130(isolated_store, as_terminal_job):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a book-budget
    sweep into a test store: one line that says how to resume, no traceback, exit status 130."""
    import signal
    import time

    driver = subprocess.Popen([sys.executable, "-m", "resdepth", "sweep", "lambda_sweep", "--profile", "book",
                               "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True,
                              preexec_fn=as_terminal_job)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not sweep_workers(driver.pid):
            time.sleep(0.5)  # until the worker has started
        assert sweep_workers(driver.pid), "the sweep's worker never started"
        time.sleep(3)  # training
        os.killpg(driver.pid, signal.SIGINT)
        _, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "interrupted: the finished runs are stored; re-run the same command to resume" in err


def test_make_chapter_renders_a_re_executed_chapter_with_its_figures_to_html(tmp_path):
    """Issue 14 item 1: `make chapter NB=... ARGS=...` re-executes one chapter with papermill, with a
    tweaked parameter, and renders it to one HTML page that shows the chapter's figures and loads
    nothing from another host (MathJax from the copy beside it), so that it reads offline."""
    import shutil

    import pytest

    from resdepth.files import REPO_ROOT

    venv = Path(sys.prefix)
    if shutil.which("make") is None or not (venv / ".installed").exists() or not (venv / "bin" / "jupyter-nbconvert").exists():
        pytest.skip("needs make and the README's .venv (make test creates it)")
    make = ["make", "-s", "-C", str(REPO_ROOT), f"VENV={venv}", f"CHAPTERS={tmp_path}", "chapter"]
    env = {**os.environ, "RESDEPTH_PROFILE": "smoke"}
    out = subprocess.run([*make, "NB=expansion_theorem", "ARGS=-p depth 8"], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    executed = json.loads((tmp_path / "expansion_theorem.ipynb").read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "depth = 8" in "".join(injected[0]["source"])
    html = (tmp_path / "expansion_theorem.html").read_text()
    assert html.count("data:image/png;base64") >= 3  # the chapter's three figures, inline
    remote = re.findall(r"""(?:src|href)=["']((?:https?:)?//[^"']*)""", html)
    assert not remote, f"the page loads files from other hosts, so it does not work offline: {remote}"
    assert "torch.jit.script" not in html  # standard error is left out, as the book leaves it out
    assert "{glue:figure}" not in html and "{numref}" not in html and "{cite" not in html  # MyST as plain text
    assert "<strong>Figure 1.</strong>" in html and "<strong>Table 1.</strong>" in html
    assert '<script src="mathjax/tex-svg-full.js">' in html and (tmp_path / "mathjax" / "tex-svg-full.js").is_file()
    for args, message in [([], "make chapter needs NB=<notebook>"), (["NB=nope"], "NB is one of ")]:
        bad = subprocess.run([*make, *args], capture_output=True, text=True, env=env, timeout=120)
        lines = bad.stderr.strip().splitlines()
        assert bad.returncode == 2 and len(lines) == 1 and message in lines[0], bad.stderr
