# The two commands of the README:
#   make book   builds the book into _build/html (executes every notebook in the "book" profile;
#               stored results in data/results are loaded, missing ones are trained)
#   make test   runs the unit tests, executes every notebook with nbval in the "smoke" profile, and
#               builds the book and reads every page in headless Chromium (tests/test_browser.py,
#               marker "browser"; it skips only where Chromium is not installed)
# Both create .venv and install requirements.txt and the package on first use.
#   make chapter NB=lambda_sweep ARGS='-p epochs 10'   one chapter re-executed by papermill with
#               ARGS (a tweak trains into the scratch store) and rendered, figures included, to
#               _build/chapters/NB.html; RESDEPTH_PROFILE=smoke make chapter NB=... takes seconds
#   make browser-test   the browser test alone, on the _build/html that `make book` left
#   make benchmark      the benchmark suite (benchmarks/run.py): tables, and CSV in benchmarks/results/
#   make report         rewrites the reproduction report's table from the experiment modules' CLAIMS

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NOTEBOOKS := $(wildcard notebooks/*.py)
# where make chapter writes (a test points it elsewhere)
CHAPTERS ?= _build/chapters
# MathJax 3 for make chapter's pages, from the pinned sphinx-mathjax-offline that the book uses (no CDN)
MATHJAX = $(wildcard $(VENV)/lib/python3*/site-packages/sphinx-mathjax-offline/static/mathjax/tex-svg-full.js)

.PHONY: book test chapter browser-test benchmark notebooks report clean

# the install needs about 8 GiB of free disk (torch is a CUDA build, 6.3 GiB in the venv); say so before pip fails half-way
INSTALL_GIB = 8

$(VENV)/.installed: requirements.txt pyproject.toml
	@free=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); [ "$$free" -ge $(INSTALL_GIB) ] || { \
		echo "error: $$free GiB free on this disk, and installing into $(VENV) needs about $(INSTALL_GIB) GiB: free some space (old clones, /tmp) and run make again" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# --all: the reproduction report pastes values glued in other pages, so every page is rebuilt.
book: $(VENV)/.installed
	RESDEPTH_PROFILE=book $(BIN)/jupyter-book build . --all -W --keep-going

notebooks: $(VENV)/.installed
	$(BIN)/jupytext --to ipynb --quiet $(NOTEBOOKS)

test: notebooks
	RESDEPTH_PROFILE=smoke $(BIN)/python -m pytest tests $(NOTEBOOKS:.py=.ipynb) --nbval-lax -p no:cacheprovider

chapter: $(VENV)/.installed
	$(if $(NB),,$(error make chapter needs NB=<notebook>, e.g. make chapter NB=training_basics ARGS='-p depth 32'))
	$(if $(wildcard notebooks/$(NB).py),,$(error no notebook notebooks/$(NB).py: NB is one of $(basename $(notdir $(NOTEBOOKS)))))
	@mkdir -p $(CHAPTERS)
	$(BIN)/jupytext --to ipynb --quiet --output $(CHAPTERS)/$(NB).source.ipynb notebooks/$(NB).py
	$(BIN)/papermill --cwd notebooks $(CHAPTERS)/$(NB).source.ipynb $(CHAPTERS)/$(NB).ipynb $(ARGS)
	$(BIN)/python -m resdepth.chapter_page $(CHAPTERS)/$(NB).ipynb
	$(if $(MATHJAX),,$(error no MathJax in $(VENV) (sphinx-mathjax-offline): reinstall with rm $(VENV)/.installed && make chapter NB=$(NB)))
	@mkdir -p $(CHAPTERS)/mathjax && cp $(MATHJAX) $(CHAPTERS)/mathjax/
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/jupyter-nbconvert --to html --log-level ERROR \
		--template-file book/_templates/chapter.html.j2 $(CHAPTERS)/$(NB).ipynb
	@echo "open $(CHAPTERS)/$(NB).html"

browser-test: $(VENV)/.installed
	RESDEPTH_BOOK_BUILT=1 $(BIN)/python -m pytest tests/test_browser.py -m browser -p no:cacheprovider -s

benchmark: $(VENV)/.installed
	cd benchmarks && ../$(BIN)/python run.py

report: $(VENV)/.installed
	$(BIN)/python -m resdepth report --write book/reproduction_report.md

clean:
	rm -rf _build notebooks/*.ipynb book/*.ipynb data/smoke-results data/checkpoints/smoke-results
