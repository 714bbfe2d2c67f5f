# The two commands of the README:
#   make book   builds the book into _build/html (executes every notebook in the "book" profile;
#               stored results in data/results are loaded, missing ones are trained)
#   make test   runs the unit tests and executes every notebook with nbval in the "smoke" profile
# Both create .venv and install requirements.txt and the package on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NOTEBOOKS := $(wildcard notebooks/*.py)

.PHONY: book test notebooks clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

book: $(VENV)/.installed
	$(BIN)/jupyter-book build . -W --keep-going

notebooks: $(VENV)/.installed
	$(BIN)/jupytext --to ipynb --quiet $(NOTEBOOKS)

test: notebooks
	RESDEPTH_PROFILE=smoke $(BIN)/python -m pytest tests $(NOTEBOOKS:.py=.ipynb) --nbval-lax -p no:cacheprovider

clean:
	rm -rf _build notebooks/*.ipynb data/smoke-results data/checkpoints/smoke-results
